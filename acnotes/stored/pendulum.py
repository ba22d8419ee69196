"""Notebook 11: A2C/GAE with a Gaussian policy on Pendulum-v1, over a few seeds.

``acnotes/reference/gaussian_a2c.py`` trains one agent at about 3,000-4,000 env steps a second
on one core here: 500,000 env steps per seed take two to three minutes, too long for a notebook
cell. The notebook reads the runs stored with the package, computed once by

    python -m acnotes pendulum --out acnotes/data/pendulum-gaussian-a2c.json

(one seed after the other, one torch thread). Each run keeps the return and the end (in env
steps) of every episode. A test trains the first steps of one seed again and checks that it ends
the same episodes with the same returns (to the stored rounding).
"""

from __future__ import annotations

from typing import Callable, Sequence

from . import read_data, save_json

__all__ = ["FILE", "SEEDS", "TOTAL_STEPS", "SETTINGS", "compute", "load", "save", "train_one"]

FILE = "pendulum-gaussian-a2c.json"
SEEDS = (0, 1, 2, 3, 4)
TOTAL_STEPS = 500_000
# the settings of the stored runs: gaussian_a2c.train's keyword defaults, written out so the file
# says what it holds (a change of the defaults then shows in the test that trains again)
SETTINGS = dict(lr=1e-3, critic_lr=3e-3, gamma=0.9, lam=0.9, n_envs=16, n_steps=32, hidden=64, log_std_init=-0.5,
                reward_scale=0.1, max_grad_norm=1.0, vf_coef=0.5, ent_coef=0.0)


def train_one(seed: int, total_steps: int, **settings) -> dict:
    """One run of the reference Gaussian A2C on one torch thread; its episodes (returns rounded
    to 0.01)."""
    import torch

    from ..reference import gaussian_a2c

    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # the runs are small; one thread is fastest and reproducible
    try:
        returns, ends = gaussian_a2c.train(total_steps=total_steps, seed=seed, **{**SETTINGS, **settings})
    finally:
        torch.set_num_threads(threads)
    return dict(seed=seed, status="done", episode_returns=[round(r, 2) for r in returns], episode_steps=ends)


def compute(seeds: Sequence[int] = SEEDS, total_steps: int = TOTAL_STEPS,
            report: Callable[[str], None] | None = print) -> dict:
    """Train every seed, one after the other; ``runs`` is a list with one dict per seed."""
    runs = []
    for s in seeds:
        runs.append(train_one(s, total_steps))
        if report:
            tail = runs[-1]["episode_returns"][-100:]
            report(f"seed {s}: {len(runs[-1]['episode_returns'])} episodes, mean of the last 100 "
                   f"{sum(tail) / max(len(tail), 1):.1f}")
    return dict(env="Pendulum-v1", settings=SETTINGS, seeds=list(seeds), total_steps=total_steps, runs=runs)


def load() -> dict:
    """The stored runs (``acnotes/data/pendulum-gaussian-a2c.json``)."""
    return read_data(FILE)


save = save_json   # write the runs atomically
