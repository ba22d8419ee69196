"""The variance panel: move gamma, lambda or B, and the bias and variance of every estimator
are measured again on a tabular MDP and redrawn, beside the previous setting's.

    acn.widgets.variance_panel(acn.envs.short_corridor(), K=300, B=16)
"""

from __future__ import annotations

from typing import Sequence

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from torch import Tensor

from ..envs import TabularMDP
from ..plots import style
from ..plots.variance import variance_bars
from ..variance import measure_tabular
from ..variance._args import check_estimators, check_int, check_K, check_unit
from .panel import Panel

__all__ = ["variance_panel", "GAMMAS", "LAMBDAS", "BATCHES"]

# the positions of the sliders: steps that change the bars visibly (the MDP's own gamma and
# the lambda and B given are added)
GAMMAS = (0.8, 0.9, 0.95, 0.97, 0.99, 1.0)
LAMBDAS = (0.0, 0.5, 0.8, 0.9, 0.95, 1.0)
BATCHES = (1, 2, 4, 8, 16, 32, 64)


def _slider(name: str, field: str, values, value) -> W.SelectionSlider:
    values = sorted(set(values) | {value})
    return W.SelectionSlider(options=[(style.setting(field, v).split(" = ", 1)[1], v) for v in values],
                             value=value, description=name, continuous_update=False)


def _title(values: dict) -> str:
    return style.settings(gamma=values["gamma"], lam=values["lambda"]) + f", B = {values['B']}"


def variance_panel(mdp: TabularMDP, theta: Tensor | None = None, K: int = 300, B: int = 16,
                   gamma: float | None = None, lam: float = 0.95, critic_noise: float = 0.0,
                   estimators: Sequence[str] | str | None = None, seed: int = 0,
                   auto: bool = True) -> Panel:
    """A ``Panel`` with sliders "gamma", "lambda" and "B" over a few values each (``GAMMAS``,
    ``LAMBDAS``, ``BATCHES``); every change re-measures all estimators on the tabular ``mdp``
    (K estimates, ``acnotes.variance.measure_tabular``) and draws
    ``acnotes.plots.variance_bars`` of the new setting beside those of the previous one, on
    one scale. ``panel.table`` holds the last table, ``panel.previous`` the one before.
    ``theta`` defaults to zeros (the uniform policy). K = 300 redraws in about a second."""
    names = check_estimators(estimators)
    K = check_K(K)
    theta = torch.zeros(mdp.n_features, dtype=torch.float64) if theta is None else theta
    gamma = float(mdp.gamma if gamma is None else check_unit("gamma", gamma))
    controls = {
        "gamma": _slider("gamma", "gamma", GAMMAS, gamma),
        "lambda": _slider("lambda", "lam", LAMBDAS, float(check_unit("lam", lam))),
        "B": _slider("B", "n_envs", BATCHES, check_int("B", B)),
    }
    shown: list[tuple[dict, object]] = []   # (values, table) of the setting drawn last

    def draw(values, progress):
        table = measure_tabular(mdp, theta, names, K=K, B=int(values["B"]),
                                gamma=float(values["gamma"]), lam=float(values["lambda"]),
                                critic_noise=critic_noise, seed=seed)
        before = shown[-1] if shown and shown[-1][0] != values else None
        if before is None:
            fig = variance_bars(table, title=f"{_title(values)}: the MSE of each estimator (move a slider to compare)")
        else:
            mse = [float(r["variance"]) + float(r["bias_sq"]) for t in (before[1], table) for r in t]
            pos = [m for m in mse if m > 0]
            log = bool(pos) and max(pos) > 30 * min(pos)
            fig, (a0, a1) = plt.subplots(1, 2, figsize=(style.WIDTH, style.HEIGHT), dpi=style.DPI, sharey=True)
            variance_bars(before[1], ax=a0, log=log, title=f"before: {_title(before[0])}")
            variance_bars(table, ax=a1, log=log, title=f"now: {_title(values)}")
            a1.set_ylabel("")
            if a0.get_legend() is not None:
                a0.get_legend().remove()
            fig.tight_layout()
        p.previous = before[1] if before else None
        p.table = table
        shown[:] = [(dict(values), table)]
        return fig

    p = Panel(draw, controls, auto=False,
              summary="variance panel: gamma, lambda and B sliders; run the notebook to move them")
    p.table = p.previous = None
    if auto:
        p.redraw()
    return p
