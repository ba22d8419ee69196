"""The variance panel: move gamma, lambda or B, and the bias and variance of every estimator
are measured again on a tabular MDP and redrawn.

    acn.widgets.variance_panel(acn.envs.short_corridor(), K=300, B=16)
"""

from __future__ import annotations

from typing import Sequence

import ipywidgets as W
import torch
from torch import Tensor

from ..envs import TabularMDP
from ..plots.variance import variance_bars
from ..variance import measure_tabular
from ..variance._args import check_estimators, check_int, check_K, check_unit
from .training import Panel, gamma_slider

__all__ = ["variance_panel"]


def variance_panel(mdp: TabularMDP, theta: Tensor | None = None, K: int = 300, B: int = 16,
                   gamma: float | None = None, lam: float = 0.95, critic_noise: float = 0.0,
                   estimators: Sequence[str] | str | None = None, seed: int = 0,
                   auto: bool = True) -> Panel:
    """A ``Panel`` with sliders "gamma", "lambda" and "B"; every change re-measures all
    estimators on the tabular ``mdp`` (K estimates, ``acnotes.variance.measure_tabular``)
    and redraws ``acnotes.plots.variance_bars``. ``panel.table`` holds the last table.
    ``theta`` defaults to zeros (the uniform policy). K = 300 redraws in about a second."""
    names = check_estimators(estimators)
    K = check_K(K)
    theta = torch.zeros(mdp.n_features, dtype=torch.float64) if theta is None else theta
    gamma = float(mdp.gamma if gamma is None else check_unit("gamma", gamma))
    controls = {
        "gamma": gamma_slider(gamma),
        "lambda": W.FloatSlider(value=check_unit("lam", lam), min=0.0, max=1.0, step=0.05,
                                description="lambda", readout_format=".2f", continuous_update=False),
        "B": W.IntSlider(value=check_int("B", B), min=1, max=64, description="B",
                         continuous_update=False),
    }

    def draw(values, progress):
        table = measure_tabular(mdp, theta, names, K=K, B=int(values["B"]),
                                gamma=float(values["gamma"]), lam=float(values["lambda"]),
                                critic_noise=critic_noise, seed=seed)
        p.table = table
        progress(1.0)
        return variance_bars(table)

    p = Panel(draw, controls, auto=False)
    p.table = None
    if auto:
        p.redraw()
    return p
