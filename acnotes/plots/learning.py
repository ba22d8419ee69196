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

__all__ = ["curve_on_grid", "mean_and_band", "learning_curves", "learning_grid", "stored_curves"]

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


def _look(label: str, colors: Mapping[str, str] | None, k: int, n: int = 8) -> tuple[str, str]:
    """(display name, colour) of a curve: an algorithm's own, a colour given in ``colors``,
    or else the k-th of a sequence of ``n`` colours that are no algorithm's."""
    if colors and label in colors:
        return label, colors[label]
    return style.line_look(label, k, n)


def learning_curves(runs: Mapping[str, Sequence[History] | np.ndarray], window: int = 20, points: int = 200,
                    ax=None, title: str | None = None, target: float | None = SOLVED,
                    faded: Mapping[str, Sequence[History] | np.ndarray] | None = None,
                    grid: np.ndarray | None = None, colors: Mapping[str, str] | None = None,
                    faded_colors: Mapping[str, str] | None = None, note: str | None = None,
                    faded_styles: Mapping[str, object] | None = None, band: str = "ci", top: float = 500,
                    yrange: tuple[float, float] | None = None):
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
    with 2 seeds it is wide: that is honest, not a bug. ``band="minmax"`` shades the range
    of the seeds instead (and says so); ``top``: the largest return (500, or a shorter time
    limit's). ``yrange``: another task's range of returns instead of CartPole's [0, ``top``]
    (Pendulum-v1's [-1600, 0], ``plots.continuous.PENDULUM_RANGE``).
    """
    if band not in ("ci", "minmax"):
        raise ValueError(f"band must be 'ci' or 'minmax', got {band!r}")
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

    if yrange is None:
        style.returns_axis(ax, window, top=top)
        clip = (0.0, top)
    else:
        clip = yrange
        ax.set_ylim(yrange[0], yrange[1] + 0.01 * (yrange[1] - yrange[0]))
        ax.set_ylabel(f"return (mean of last {window} episodes)")
    style.steps_axis(ax)
    labelled = {}
    shades = style.shades("#555555", len(faded))
    for (label, hs), shade in zip(faded.items(), shades):
        if len(hs):
            mean, _, _ = mean_and_band(on_grid(hs))
            c = (faded_colors or {}).get(label, shade)
            ls = (faded_styles or {}).get(label, "-")
            (labelled[label],) = ax.plot(grid, np.clip(mean, *(clip if yrange else (0, 500))), linewidth=1.3,
                                         color=c, zorder=2,
                                         label=label, linestyle=ls)
    seeds = set()
    others = [label for label in runs if not style.is_algorithm(label) and not (colors and label in colors)]
    for label, hs in runs.items():
        if not len(hs):
            continue
        k = others.index(label) if label in others else 0
        shown, c = _look(label, colors, k, len(others))
        curves = on_grid(hs)
        seeds.add(len(curves))
        mean, lo, hi = mean_and_band(curves)
        if band == "minmax":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns before the first episode
                lo, hi = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
        (labelled[shown],) = ax.plot(grid, mean, linewidth=2.2, color=c, zorder=3, label=shown)
        style.band(ax, grid, lo, hi, c, clip=clip)
    if target is not None and target <= clip[1]:
        style.solved_line(ax, target)
    if len(labelled) > 6:
        style.legend_beside(ax, list(labelled.values()), list(labelled))
    else:
        style.label_ends(ax, labelled)
    if note is None and seeds:
        n = min(seeds)
        kind = "95% CI of the mean" if band == "ci" else "min to max"
        note = style.band_note(n, band) if len(seeds) == 1 else f"band: {kind}, {min(seeds)}-{max(seeds)} seeds"
    style.finish(ax, title=title, note=note)
    return fig


def learning_grid(runs: Mapping[str, Sequence[History] | np.ndarray], window: int = 20, points: int = 200,
                  title: str | None = None, ncols: int = 3, grid: np.ndarray | None = None):
    """One small panel per algorithm (small multiples): its mean return over seeds with the
    95% band, in its colour, and every other algorithm's mean as a thin grey line behind it,
    so that each can be compared with the rest without five bands on top of each other.
    Returns the Figure."""
    runs = {k: v for k, v in runs.items() if len(v)}
    if not runs:
        raise ValueError("no runs to plot")
    if grid is None:
        if any(isinstance(hs, np.ndarray) for hs in runs.values()):
            raise ValueError("curves given as an array need the grid they are on: pass grid=")
        last = max(h.total_steps for hs in runs.values() for h in hs)
        grid = np.linspace(0, max(last, 1), points)
    curves = {k: hs if isinstance(hs, np.ndarray) else np.stack([curve_on_grid(h, grid, window) for h in hs])
              for k, hs in runs.items()}
    nrows = -(-len(runs) // ncols)
    fig, axes = style.figure(ncols=ncols, nrows=nrows, height=2.9 * nrows + 0.6, sharex=True, sharey=True,
                             squeeze=False)
    seeds = {len(c) for c in curves.values()}
    for k, ax in enumerate(axes.flat):
        if k >= len(runs):
            ax.set_visible(False)
            continue
        label = list(runs)[k]
        shown, c = _look(label, None, k)
        for other, oc in curves.items():
            if other != label:
                ax.plot(grid, mean_and_band(oc)[0], color=style.NEUTRAL[2], linewidth=1.1, zorder=2)
        mean, lo, hi = mean_and_band(curves[label])
        ax.plot(grid, mean, color=c, linewidth=2.2, zorder=3)
        style.band(ax, grid, lo, hi, c)
        style.returns_axis(ax, label="return" if k % ncols == 0 else "")
        if k % ncols:
            ax.set_ylabel("")
        ax.axhline(SOLVED, color=style.MUTED, linestyle=":", linewidth=1.2, zorder=1)
        style.steps_axis(ax, label="env steps" if k // ncols == nrows - 1 or k + ncols >= len(runs) else "")
        ax.tick_params(labelbottom=True)
        style.finish(ax)
        ax.set_title(shown, loc="left", color=c, fontsize=style.FONT + 1, fontweight="bold")
    n = min(seeds)
    what = style.band_note(n) if len(seeds) == 1 else f"band: 95% CI of the mean, {n}-{max(seeds)} seeds"
    fig.suptitle((title + "\n" if title else "") + f"{what}; grey: the other algorithms' means; dotted: solved "
                 f"({SOLVED:g}); return: mean of last {window} episodes", fontsize=style.SMALL, x=0.01, ha="left",
                 color="#333333")
    return fig


def stored_curves(steps, groups: Mapping[str, Sequence[dict]], band: str = "minmax", start: int = 1, **kw):
    """Learning curves of stored rows (``acnotes.stored.ablations``: dicts whose ``"curve"`` is the
    rolling mean return on the grid ``steps``): ``groups`` maps a label to its seeds' rows;
    from grid point ``start`` on (where every run has a value). Other keywords go to
    ``learning_curves``; the band is the range of the seeds unless ``band="ci"``."""
    steps = np.asarray(steps, dtype=float)
    arrays = {label: np.array([[np.nan if v is None else v for v in m["curve"][start:]] for m in rows], dtype=float)
              for label, rows in groups.items()}
    kw.setdefault("window", 20)
    return learning_curves(arrays, grid=steps[start:], band=band, **kw)
