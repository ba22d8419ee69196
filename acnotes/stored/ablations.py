"""Two CartPole ablations of notebook 7, over seeds: the critic's target, and the entropy bonus.

* ``"target"``: TD Actor-Critic (the ``tdac`` preset) with the critic's target detached
  (semi-gradient TD, the default) and not detached (``detach_target=False``, the residual
  gradient of (y_t - V(s_t))^2 / 2 through both V(s_t) and V(s_{t+1})).
* ``"entropy"``: Q Actor-Critic with notebook 6's settings (the ``a2c`` preset with
  ``algo="qac"``, lr 1e-3, critic lr 1e-2) and entropy bonuses ``ent_coef`` 0, 0.01, 0.1 and 1.

Each setting's 10 seeds are trained as one population (``train_population``); a member
follows the same seed trained alone, so a test (marked slow) re-trains a stored setting and
compares its rows. Per member it keeps the
mean return of the last 100 episodes, the rolling mean return of 20 episodes on a grid of
env steps, its peak and its last value, and the policy's mean entropy per interval of that
grid (from ``History.entropy``). Training both takes a few minutes, too long for a notebook,
so the notebook reads the stored numbers, computed by

    python -m acnotes ablations --out acnotes/data/ablations.json
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from ..config import Config, preset
from ..history import History
from ..train import train_population
from . import read_data, summary

__all__ = ["STUDIES", "configs", "summarize", "compute", "load", "rows", "collapsed", "POINTS", "WINDOW"]

POINTS, WINDOW = 41, 20   # the grid of env steps (0 included) and the rolling window of the curves

STUDIES: dict[str, dict] = {
    "target": dict(base=dict(preset="tdac"), vary="detach_target", values=(True, False),
                   seeds=tuple(range(10)), total_steps=100_000),
    "entropy": dict(base=dict(preset="a2c", algo="qac", lr=1e-3, critic_lr=1e-2, max_grad_norm=None), vary="ent_coef",
                    values=(0.0, 0.01, 0.1, 1.0), seeds=tuple(range(10)), total_steps=100_000),
}


def configs(study: dict, value, seeds: Sequence[int] | None = None) -> list[Config]:
    """The population of one setting of a study: one Config per seed."""
    base = dict(study["base"])
    name = base.pop("preset")
    return [preset(name, **base, **{study["vary"]: value}, seed=s, total_steps=study["total_steps"])
            for s in (study["seeds"] if seeds is None else seeds)]


def _entropy_on_grid(h: History, grid: np.ndarray) -> list:
    """The mean of the per-update entropies in each interval (grid[i-1], grid[i]]."""
    steps, ent = np.asarray(h.steps), np.asarray(h.entropy)
    out = []
    for lo, hi in zip(grid[:-1], grid[1:]):
        sel = (steps > lo) & (steps <= hi)
        out.append(round(float(ent[sel].mean()), 4) if sel.any() else None)
    return out


def summarize(h: History, total_steps: int) -> dict:
    """What a study keeps of one run (``stored.summary``), and the policy's entropy on its grid."""
    m = summary(h, total_steps, POINTS, WINDOW)
    return dict(**{k: m[k] for k in KEEP}, entropy=_entropy_on_grid(h, np.linspace(0, total_steps, POINTS)))


KEEP = ("seed", "status", "final", "peak", "last", "curve")   # the fields of summary an ablation stores


def collapsed(row: dict, rise: float = 150.0) -> bool:
    """Notebook 6's late collapse: the rolling mean of 20 episodes rose past ``rise`` and
    ended below half of its best."""
    return row["peak"] is not None and row["peak"] > rise and row["last"] < row["peak"] / 2


def compute(names: Sequence[str] = tuple(STUDIES), progress: bool = True, values: Sequence | None = None,
            log=print) -> dict:
    """Train the named studies: every setting (``values``: only these), all seeds of a
    setting as one population."""
    out = {}
    for name in names:
        if name not in STUDIES:
            raise ValueError(f"study must be one of {', '.join(STUDIES)}; got {name!r}")
        study = STUDIES[name]
        res = []
        for value in (study["values"] if values is None else values):
            t0 = time.perf_counter()
            runs = train_population(configs(study, value), progress=progress)
            res.append(dict(value=value, seconds=round(time.perf_counter() - t0, 1),
                            members=[summarize(h, study["total_steps"]) for _, h in runs]))
            if log is not None:
                log(f"{name}: {study['vary']}={value}: {len(runs)} seeds in {res[-1]['seconds']} s")
        out[name] = dict(study={k: list(v) if isinstance(v, tuple) else v for k, v in study.items()},
                         curve_steps=np.linspace(0, study["total_steps"], POINTS).tolist(), runs=res)
    return out


def load() -> dict:
    """The stored studies (``acnotes/data/ablations.json``)."""
    return read_data("ablations.json")


def rows(data: dict, name: str, value) -> list[dict]:
    """The members (one per seed) of one setting of a stored study."""
    for run in data[name]["runs"]:
        if run["value"] == value:
            return run["members"]
    raise ValueError(f"study {name!r} has no setting {value!r}; it has "
                     f"{[r['value'] for r in data[name]['runs']]}")
