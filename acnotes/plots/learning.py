"""Learning curves with a confidence band over seeds.

Each run gives episode returns at irregular env steps; ``curve_on_grid`` puts the
rolling-mean return of one run on a common grid of env steps, and ``learning_curves``
draws the mean over seeds with a 95% confidence band (mean +- t * standard error).
"""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..history import History, curve_on_grid

__all__ = ["curve_on_grid", "mean_and_band", "learning_curves"]

# two-sided 97.5% quantiles of Student's t, by degrees of freedom (1..30); 1.96 beyond
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def mean_and_band(curves: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and the 95% t-interval of the mean over ``axis`` (NaNs ignored)."""
    curves = np.asarray(curves, dtype=float)
    n = np.sum(~np.isnan(curves), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns before the first episode
        mean = np.nanmean(curves, axis=axis) if curves.size else curves
        sd = np.nanstd(curves, axis=axis, ddof=1) if curves.shape[axis] > 1 else np.zeros_like(mean)
        t = np.array([_T975[min(k - 2, 29)] if k >= 2 else 0.0 for k in np.ravel(n)]).reshape(np.shape(n))
        half = np.where(n >= 2, t * sd / np.sqrt(np.maximum(n, 1)), 0.0)
    return mean, mean - half, mean + half


def learning_curves(runs: Mapping[str, Sequence[History] | np.ndarray], window: int = 20, points: int = 200,
                    ax=None, title: str | None = None, target: float | None = None,
                    faded: Mapping[str, Sequence[History] | np.ndarray] | None = None,
                    grid: np.ndarray | None = None):
    """Plot mean return over seeds, with a 95% band, against env steps.

    ``runs`` maps a label (an algorithm, a setting) to the Histories of its seeds.
    ``faded`` maps labels of earlier settings to theirs: drawn as thin, pale mean curves
    without band, so that a new setting can be compared with the old ones.
    With ``grid`` (env steps), the curves are drawn on it, and a value of ``runs`` or
    ``faded`` may also be an array [seeds, len(grid)] of curves already on it (what
    ``curve_on_grid`` gives); without it, the grid runs to the longest run in ``points`` steps.
    Returns the Figure. The band is a confidence interval of the mean over seeds, so
    with 2 seeds it is wide: that is honest, not a bug.
    """
    faded = dict(faded or {})
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=80)
    else:
        fig = ax.figure
    if grid is None:
        everything = list(runs.values()) + list(faded.values())
        if any(isinstance(hs, np.ndarray) for hs in everything):
            raise ValueError("curves given as an array need the grid they are on: pass grid=")
        last = max((h.total_steps for hs in everything for h in hs), default=0)
        grid = np.linspace(0, max(last, 1), points)

    def on_grid(hs):
        if isinstance(hs, np.ndarray):
            if hs.ndim != 2 or hs.shape[1] != len(grid):
                raise ValueError(f"curves of shape {hs.shape} do not fit a grid of {len(grid)} points")
            return hs
        return np.stack([curve_on_grid(h, grid, window) for h in hs])

    for label, hs in faded.items():
        if len(hs):
            mean, _, _ = mean_and_band(on_grid(hs))
            ax.plot(grid, mean, linewidth=1, alpha=0.45, label=label)
    for label, hs in runs.items():
        if not len(hs):
            continue
        curves = on_grid(hs)
        mean, lo, hi = mean_and_band(curves)
        (line,) = ax.plot(grid, mean, linewidth=2,
                          label=f"{label} ({len(hs)} seed{'' if len(hs) == 1 else 's'})")
        ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    if target is not None:
        ax.axhline(target, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("env steps")
    ax.set_ylabel(f"return (mean of last {window} episodes)")
    if title:
        ax.set_title(title)
    if runs or faded:
        ax.legend(loc="upper left", fontsize="x-small" if len(faded) > 3 else "small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
