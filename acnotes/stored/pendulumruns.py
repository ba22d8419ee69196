"""Notebook 11: the engine's A2C and GAE with a Gaussian policy on Pendulum-v1, over 5 seeds.

The presets ``a2c-pendulum`` and ``gae-pendulum`` (``acnotes/presets.py``: the settings of
``reference/gaussian_a2c.py``), each trained as one population of the 5 seeds. Notebook 11 reads
the runs stored with the package, computed once by

    python -m acnotes pendulumruns --out acnotes/data/pendulum-engine.json

Each run keeps the return (rounded to 0.01, as ``stored.pendulum`` does) and the end (in env
steps) of every episode. A member of a population follows its single run exactly, so a test
trains the first steps of one seed alone and checks that it ends the same episodes with the same
returns.
"""

from __future__ import annotations

from typing import Sequence

from ..config import preset
from ..train import train_population
from . import read_data, save_json

__all__ = ["FILE", "SEEDS", "TOTAL_STEPS", "PRESETS", "compute", "load", "save"]

FILE = "pendulum-engine.json"
SEEDS = (0, 1, 2, 3, 4)
TOTAL_STEPS = 500_000            # the budget of the reference's stored runs (stored.pendulum)
PRESETS = ("a2c-pendulum", "gae-pendulum")


def compute(seeds: Sequence[int] = SEEDS, total_steps: int = TOTAL_STEPS, presets: Sequence[str] = PRESETS,
            progress: bool = False) -> dict:
    """Train every preset as one population of ``seeds``; ``runs[preset]`` is a list with one dict
    per seed: its status, episode returns (rounded to 0.01) and episode ends (env steps)."""
    runs = {}
    for name in presets:
        cfgs = [preset(name, seed=s, total_steps=total_steps) for s in seeds]
        runs[name] = [dict(seed=h.config["seed"], status=h.status, episode_returns=[round(r, 2) for r in h.episode_returns],
                           episode_steps=[int(s) for s in h.episode_steps])
                      for _, h in train_population(cfgs, progress=progress)]
    return dict(env="Pendulum-v1", configs={name: preset(name, total_steps=total_steps).to_dict() for name in presets},
                seeds=list(seeds), total_steps=total_steps, runs=runs)


def load() -> dict:
    """The stored runs (``acnotes/data/pendulum-engine.json``)."""
    return read_data(FILE)


save = save_json   # write the runs atomically
