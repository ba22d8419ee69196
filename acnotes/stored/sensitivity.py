"""Sensitivity maps: how final performance depends on gamma and the learning rate.

A map trains every (gamma, lr) cell of a grid for a few seeds, all as one population, and
keeps per member the mean return of the last 100 episodes, the env steps at which that mean
first reached 475 (None if never), and the learning curve on a coarse grid of env steps.

Training a 5 x 5 x 3 map takes about a minute, too long for a notebook cell, so the maps
that the notebooks show are computed once by

    python -m acnotes sensitivity --algo a2c --out acnotes/data/sensitivity-a2c.json

and stored with the package (``load("a2c")``). A test re-trains one cell and checks that it
matches the stored numbers exactly (a population member follows its single run).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..config import Config, preset
from ..history import History
from ..train import train_population
from . import SOLVED, FINAL_WINDOW, read_data, save_json, summary

__all__ = ["GRIDS", "configs", "summarize", "compute", "load", "cell", "THRESHOLD", "WINDOW"]

THRESHOLD, WINDOW = SOLVED, FINAL_WINDOW   # CartPole-v1 counts as solved at a mean of 475 over 100 episodes
CURVE_POINTS, CURVE_WINDOW = 41, 20

# The grids of the stored maps: the preset's lr in the middle, steps of 2.5x; the critic's
# lr stays at the preset's value, so only the actor's step size moves.
GRIDS: dict[str, dict] = {
    "a2c": dict(preset="a2c", gammas=(0.9, 0.95, 0.98, 0.99, 0.999),
                lrs=(3.2e-4, 8e-4, 2e-3, 5e-3, 1.25e-2), seeds=(0, 1, 2), total_steps=100_000),
    "tdac": dict(preset="tdac", gammas=(0.9, 0.95, 0.98, 0.99, 0.999),
                 lrs=(6.4e-5, 1.6e-4, 4e-4, 1e-3, 2.5e-3), seeds=(0, 1, 2), total_steps=150_000),
}


def configs(grid: dict) -> list[Config]:
    """One Config per (gamma, lr, seed), gamma outermost."""
    return [preset(grid["preset"], gamma=g, lr=lr, seed=s, total_steps=grid["total_steps"])
            for g in grid["gammas"] for lr in grid["lrs"] for s in grid["seeds"]]


def summarize(h: History, total_steps: int) -> dict:
    """What a map keeps of one run (``stored.summary``)."""
    m = summary(h, total_steps, CURVE_POINTS, CURVE_WINDOW)
    return dict(gamma=h.config["gamma"], lr=h.config["lr"], **{k: m[k] for k in KEEP})


KEEP = ("seed", "status", "final", "solved_steps", "curve")   # the fields of summary a map stores


def compute(algo: str, grid: dict | None = None, progress: bool = True, subset: Sequence[tuple] | None = None) -> dict:
    """Train the map of ``algo`` (its grid from ``GRIDS`` unless given) as one population.
    ``subset``: only these (gamma, lr) cells."""
    grid = dict(GRIDS[algo] if grid is None else grid)
    cfgs = configs(grid)
    if subset is not None:
        keep = {(float(g), float(lr)) for g, lr in subset}
        cfgs = [c for c in cfgs if (c.gamma, c.lr) in keep]
        if not cfgs:
            raise ValueError(f"no cell of the grid matches {list(subset)}")
    runs = train_population(cfgs, progress=progress)
    members = [summarize(h, grid["total_steps"]) for _, h in runs]
    return dict(algo=algo, grid=grid, threshold=THRESHOLD, window=WINDOW, curve_window=CURVE_WINDOW,
                curve_steps=np.linspace(0, grid["total_steps"], CURVE_POINTS).tolist(), members=members)


def load(algo: str) -> dict:
    """The stored map of ``algo`` ("a2c" or "tdac")."""
    if algo not in GRIDS:
        raise ValueError(f"there is a stored map for {', '.join(GRIDS)} only, not {algo!r}")
    return read_data(f"sensitivity-{algo}.json")


save = save_json   # write a map (or a study) atomically


def cell(data: dict, gamma: float, lr: float) -> list[dict]:
    """The members of one (gamma, lr) cell of a map."""
    out = [m for m in data["members"] if np.isclose(m["gamma"], gamma) and np.isclose(m["lr"], lr)]
    if not out:
        raise ValueError(f"the map has no cell gamma={gamma}, lr={lr}; gammas {data['grid']['gammas']}, "
                         f"lrs {data['grid']['lrs']}")
    return out
