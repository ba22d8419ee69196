"""The figure of notebook 10's stored runs of the blog's TD Actor-Critic (``acnotes.stored.blogruns``):
every seed's learning curve, with the smooth-L1 critic loss and with the squared error."""

from __future__ import annotations

import numpy as np

from . import style
from .learning import curve_on_grid

__all__ = ["blog_runs"]

_LOSSES = {"smooth_l1": ("smooth-L1", "-", 2.0), "mse": ("squared error", ":", 1.4)}


def blog_runs(blog: dict, window: int = 20, points: int = 201, title: str | None = None):
    """One line per seed and critic loss (smooth-L1 solid, squared error dotted on top of
    it), a seed's colour from a sequence (seeds are no algorithm), each seed labelled where it
    ends; the solved line labelled. ``blog``: ``acnotes.stored.blogruns.load()``."""
    from ..stored.blogruns import history   # the stored runs' reader; imported here, as only this figure needs it

    grid = np.linspace(0, blog["total_steps"], points)
    fig, ax = style.figure()
    seeds = [run["seed"] for run in blog["runs"]["smooth_l1"]]
    colors = dict(zip(seeds, style.sequence(len(seeds))))
    lines = {}
    for loss, (_, ls, lw) in _LOSSES.items():
        for run in blog["runs"].get(loss, []):
            (line,) = ax.plot(grid, curve_on_grid(history(run), grid, window=window), ls, color=colors[run["seed"]],
                              linewidth=lw, zorder=3 if loss == "mse" else 2)
            if loss == "smooth_l1":
                lines[f"seed {run['seed']}"] = line
    style.returns_axis(ax, window)
    style.steps_axis(ax)
    style.solved_line(ax)
    style.label_ends(ax, lines, gap=0.065)
    style.finish(ax, title=title or f"{style.name('blog-tdac')}: no seed's mean of 100 episodes reaches "
                                    f"{style.SOLVED:g} in {style.steps(blog['total_steps'])} steps",
                 note=f"lines: mean of {window} episodes; solid: smooth-L1 critic loss, dotted: squared error (the same runs)")
    return fig
