"""Figures of a sweep's results table (``acnotes.sweep.read_results``): a heatmap of a metric
over two fields, and sensitivity curves (a metric against one field, one line per value of
another, with a 95% band over seeds).

A row is one member; rows that share the plotted fields' values (seeds, and any field not
plotted) are pooled. An empty metric (a member that never reached the threshold has no
``steps_to_target``) counts as missing, and the number of such members is shown.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from .learning import mean_and_band

__all__ = ["sweep_heatmap", "sweep_sensitivity"]


def _values(rows: Sequence[dict], name: str) -> list:
    vals = {r[name] for r in rows}
    try:
        return sorted(vals)
    except TypeError:  # mixed None and numbers
        return sorted(vals, key=str)


def _metric(rows: Sequence[dict], metric: str) -> np.ndarray:
    return np.array([np.nan if r[metric] is None else float(r[metric]) for r in rows])


def _check(rows: Sequence[dict], *names: str) -> None:
    if not rows:
        raise ValueError("no rows to plot: the sweep has no finished members yet")
    for n in names:
        if n not in rows[0]:
            raise ValueError(f"{n!r} is not a column of the results; columns: {', '.join(rows[0])}")


def sweep_heatmap(rows: Sequence[dict], x: str, y: str, metric: str = "final_return", *,
                  ax=None, title: str | None = None):
    """Mean of ``metric`` over seeds for each (``x``, ``y``) cell; the count of members with
    no value (e.g. never solved) is written in the cell. Returns the Figure."""
    _check(rows, x, y, metric)
    xs, ys = _values(rows, x), _values(rows, y)
    mean = np.full((len(ys), len(xs)), np.nan)
    missing = np.zeros((len(ys), len(xs)), dtype=int)
    for i, yv in enumerate(ys):
        for j, xv in enumerate(xs):
            m = _metric([r for r in rows if r[x] == xv and r[y] == yv], metric)
            missing[i, j] = int(np.isnan(m).sum())
            if np.isfinite(m).any():
                mean[i, j] = np.nanmean(m)
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(xs), 0.8 + 0.6 * len(ys)), dpi=80)
    else:
        fig = ax.figure
    im = ax.imshow(mean, origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(im, ax=ax, label=f"mean {metric}")
    ax.set_xticks(range(len(xs)), [f"{v:g}" if isinstance(v, float) else str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" if isinstance(v, float) else str(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    for i in range(len(ys)):
        for j in range(len(xs)):
            text = "" if np.isnan(mean[i, j]) else f"{mean[i, j]:.3g}"
            if missing[i, j]:
                text += f"\n({missing[i, j]} none)"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="w")
    ax.set_title(title or f"{metric} over {x} and {y}")
    fig.tight_layout()
    return fig


def sweep_sensitivity(rows: Sequence[dict], x: str, metric: str = "final_return", *,
                      lines: str = "preset", ax=None, log_x: bool | None = None, title: str | None = None):
    """``metric`` against ``x``: one line per value of ``lines``, mean and 95% band over the
    members of each point (seeds). ``log_x`` defaults to a log axis when ``x`` spans more than
    a factor of 20. Returns the Figure."""
    _check(rows, x, lines, metric)
    xs = _values(rows, x)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs)
    where = xs if numeric else list(range(len(xs)))  # e.g. max_grad_norm 0.5, 1, None: evenly spaced
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=80)
    else:
        fig = ax.figure
    for lv in _values(rows, lines):
        mine = [r for r in rows if r[lines] == lv]
        groups = [_metric([r for r in mine if r[x] == xv], metric) for xv in xs]
        width = max(len(g) for g in groups)
        table = np.full((width, len(xs)), np.nan)
        for j, g in enumerate(groups):
            table[:len(g), j] = g
        mean, lo, hi = mean_and_band(table)
        label = f"{lines}={lv:g}" if isinstance(lv, float) else f"{lines}={lv}" if lines != "preset" else str(lv)
        (line,) = ax.plot(where, mean, marker="o", label=label)
        ax.fill_between(where, lo, hi, color=line.get_color(), alpha=0.2)
    if not numeric:
        ax.set_xticks(where, [str(v) for v in xs])
        log_x = False
    if log_x is None:
        log_x = numeric and min(xs) > 0 and max(xs) / min(xs) > 20
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
    ax.set_title(title or f"{metric} against {x} (mean and 95% band over seeds)")
    fig.tight_layout()
    return fig
