"""Learning curves with a confidence band over seeds.

Each run gives episode returns at irregular env steps; ``curve_on_grid`` puts the
rolling-mean return of one run on a common grid of env steps, and ``learning_curves``
draws the mean over seeds with a 95% confidence band (mean +- t * standard error).
"""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np

from ..history import SOLVED, History, curve_on_grid
from . import style

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


def _look(label: str, colors: Mapping[str, str] | None, k: int) -> tuple[str, str]:
    """(display name, colour) of a curve: an algorithm's own, a colour given in ``colors``,
    or else the k-th of a sequence that is no algorithm's."""
    if colors and label in colors:
        return label, colors[label]
    try:
        return style.name(label), style.color(label)
    except ValueError:
        return label, style.sequence(8)[k % 8]


def learning_curves(runs: Mapping[str, Sequence[History] | np.ndarray], window: int = 20, points: int = 200,
                    ax=None, title: str | None = None, target: float | None = SOLVED,
                    faded: Mapping[str, Sequence[History] | np.ndarray] | None = None,
                    grid: np.ndarray | None = None, colors: Mapping[str, str] | None = None,
                    faded_colors: Mapping[str, str] | None = None, note: str | None = None,
                    faded_styles: Mapping[str, object] | None = None):
    """Plot mean return over seeds, with a 95% band, against env steps.

    ``runs`` maps a label to the Histories of its seeds. A label that names an algorithm
    (``"a2c"`` or ``"A2C"``) is drawn in that algorithm's colour under its display name
    (``acnotes.plots.style``); other labels take their colour from ``colors`` (label ->
    colour). ``faded`` maps labels of earlier settings to theirs: thin mean curves without
    band, in ``faded_colors`` (default: muted shades of grey), so that a new setting can be
    compared with the old ones; ``faded_styles`` (label -> matplotlib line style) tells them
    apart further. Every curve is labelled where it ends (beside the axes; a
    legend beside them when there are more than six); the band is named in the figure, and
    the solved line (``target``; None for none) is labelled.
    With ``grid`` (env steps), the curves are drawn on it, and a value of ``runs`` or
    ``faded`` may also be an array [seeds, len(grid)] of curves already on it (what
    ``curve_on_grid`` gives); without it, the grid runs to the longest run in ``points`` steps.
    Returns the Figure. The band is a confidence interval of the mean over seeds, so
    with 2 seeds it is wide: that is honest, not a bug.
    """
    faded = dict(faded or {})
    if ax is None:
        fig, ax = style.figure()
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

    style.returns_axis(ax, window)
    style.steps_axis(ax)
    labelled = {}
    shades = style.shades("#555555", len(faded))
    for (label, hs), shade in zip(faded.items(), shades):
        if len(hs):
            mean, _, _ = mean_and_band(on_grid(hs))
            c = (faded_colors or {}).get(label, shade)
            ls = (faded_styles or {}).get(label, "-")
            (labelled[label],) = ax.plot(grid, np.clip(mean, 0, 500), linewidth=1.3, color=c, zorder=2,
                                         label=label, linestyle=ls)
    seeds = set()
    for k, (label, hs) in enumerate(runs.items()):
        if not len(hs):
            continue
        shown, c = _look(label, colors, k)
        curves = on_grid(hs)
        seeds.add(len(curves))
        mean, lo, hi = mean_and_band(curves)
        (labelled[shown],) = ax.plot(grid, mean, linewidth=2.2, color=c, zorder=3, label=shown)
        style.band(ax, grid, lo, hi, c)
    if target is not None:
        style.solved_line(ax, target)
    if len(labelled) > 6:
        style.legend_beside(ax, list(labelled.values()), list(labelled))
    else:
        style.label_ends(ax, labelled)
    if note is None and seeds:
        n = min(seeds)
        note = style.band_note(n) if len(seeds) == 1 else f"band: 95% CI of the mean, {min(seeds)}-{max(seeds)} seeds"
    style.finish(ax, title=title, note=note)
    return fig
