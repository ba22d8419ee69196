"""The blog post's own settings, measured: the ``blog-tdac`` preset over a few seeds, with
its smooth-L1 critic loss and with a squared error instead.

One CartPole, an update every 5 steps and a learning rate of 2e-4: 100,000 env steps are
20,000 updates, several minutes of training on this machine, too long for a notebook cell.
Notebook 10 reads the runs stored with the package, computed once by

    python -m acnotes blogruns --out acnotes/data/blog-tdac.json

Each critic loss is one population of the 5 seeds, trained on its own. The stored file was
made faster, with ``--loss smooth_l1`` and ``--loss mse`` as two processes side by side (20
minutes on 2 shared cores), their ``runs`` put into one file: the same numbers. A test trains
the first steps of one member again and checks that they give the stored episodes exactly
(a population member follows its single run).
"""

from __future__ import annotations

from typing import Sequence

from ..config import preset
from ..history import History
from ..train import train_population
from . import read_data, save_json

__all__ = ["SEEDS", "TOTAL_STEPS", "LOSSES", "compute", "load", "save", "history"]

SEEDS = (0, 1, 2, 3, 4)
TOTAL_STEPS = 100_000            # the preset's budget
LOSSES = ("smooth_l1", "mse")    # the blog's critic loss, and the squared error of the other presets


def compute(seeds: Sequence[int] = SEEDS, total_steps: int = TOTAL_STEPS, losses: Sequence[str] = LOSSES,
            progress: bool = False) -> dict:
    """Train ``blog-tdac`` for every seed and critic loss. For each run keep the return and
    the end (in env steps) of every episode: ``runs[loss]`` is a list with one dict per seed."""
    runs = {}
    for loss in losses:
        cfgs = [preset("blog-tdac", seed=s, total_steps=total_steps, critic_loss=loss) for s in seeds]
        runs[loss] = [dict(seed=h.config["seed"], status=h.status, episode_returns=[float(r) for r in h.episode_returns],
                           episode_steps=[int(s) for s in h.episode_steps])
                      for _, h in train_population(cfgs, progress=progress)]
    return dict(preset="blog-tdac", config=preset("blog-tdac", total_steps=total_steps).to_dict(),
                seeds=list(seeds), total_steps=total_steps, runs=runs)


def load() -> dict:
    """The stored runs (``acnotes/data/blog-tdac.json``)."""
    return read_data("blog-tdac.json")


def history(run: dict) -> History:
    """A stored run as a ``History`` (its episodes only), for ``rolling_return``, ``solved_at``
    and ``curve_on_grid``."""
    return History(episode_returns=list(run["episode_returns"]), episode_steps=list(run["episode_steps"]),
                   episode_lengths=[int(r) for r in run["episode_returns"]], status=run["status"])


save = save_json   # write the runs atomically
