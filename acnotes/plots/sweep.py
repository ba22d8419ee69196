"""Figures of a sweep's results table (``acnotes.sweep.read_results``): a heatmap of a metric
over two fields, and sensitivity curves (a metric against one field, one line per value of
another, with a 95% band over seeds).

A row is one member; rows that share the plotted fields' values (seeds, and any field not
plotted) are pooled. An empty metric (a member that never reached the threshold has no
``steps_to_target``) counts as missing, and the number of such members is shown.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from ..history import solved_threshold
from . import style
from .continuous import PENDULUM_RANGE
from .learning import mean_and_band

__all__ = ["sweep_heatmap", "sweep_sensitivity", "preset_name", "METRIC_LABELS"]

# a metric's column name -> what an axis says
METRIC_LABELS = {"final_return": "final return (last 100 episodes)", "steps_to_target": "env steps to solve",
                 "seconds_to_target": "seconds to solve", "auc": "area under the learning curve",
                 "episodes": "episodes", "env_steps": "env steps", "wall_time": "seconds"}
_RETURNS = ("final_return",)
_STEPS = ("steps_to_target", "env_steps")


_RETURN_RANGE = {"CartPole-v1": (0.0, 500.0), "Pendulum-v1": PENDULUM_RANGE}
_ENV_NAMES = {"Pendulum-v1": "Pendulum"}   # what a figure adds to a name, "GAE(λ) on Pendulum", beside CartPole runs


def _env(row: dict) -> str:
    return row.get("env") or "CartPole-v1"


def _returns_view(rows: Sequence[dict]) -> tuple[float, float, float | None]:
    """Where the rows' env's returns lie, and its solved threshold (``history.solved_threshold``;
    None for rows of several envs, whose ranges are joined)."""
    envs = {_env(r) for r in rows}
    lo, hi = min(_RETURN_RANGE[e][0] for e in envs), max(_RETURN_RANGE[e][1] for e in envs)
    return lo, hi, (solved_threshold(envs.pop()) if len(envs) == 1 else None)


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


def preset_name(preset: str, rows: Sequence[dict]) -> str:
    """How a figure of ``rows`` names ``preset``: its algorithm's one name (``style.name``, by
    preset: ``gae-pendulum`` is GAE(λ), ``ppo`` and ``ppo-pendulum`` PPO), followed by " on
    Pendulum" when ``rows`` hold runs on more than one env and the preset's are Pendulum-v1's;
    a name that is no algorithm's as given."""
    shown = style.name(preset) if style.is_algorithm(preset) else str(preset)
    envs = {_env(r) for r in rows}
    mine = {_env(r) for r in rows if r.get("preset") == preset}
    if len(envs) > 1 and len(mine) == 1 and mine <= set(_ENV_NAMES):
        shown += f" on {_ENV_NAMES[mine.pop()]}"
    return shown


def _tick(field: str, v, rows: Sequence[dict] = ()) -> str:
    """A value of ``field`` written the series' one way (lr 1e-3, gamma 0.99; a preset by
    ``preset_name``)."""
    if field == "preset" and style.is_algorithm(v):
        return preset_name(v, rows)
    if field == "algo" and style.is_algorithm(v):
        return style.name(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool) and field in style.SETTINGS:
        return style.setting(field, v).split(" = ", 1)[1]
    return f"{v:g}" if isinstance(v, float) else str(v)


def _label(field: str) -> str:
    return style.SETTINGS.get(field, (field,))[0] if field in style.SETTINGS else field.replace("_", " ")


def _show(metric: str, v: float) -> str:
    """A heatmap cell's value: env steps compact (100k), a return of 1000 or more in size whole
    (Pendulum's -1240, not -1.24e+03), other values to 3 significant digits."""
    if metric in _STEPS:
        return style.steps(v)
    return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.3g}"


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
        fig, ax = style.figure(width=min(style.WIDTH, 2.5 + 1.1 * len(xs)), height=min(5.0, 1.6 + 0.6 * len(ys)))
    else:
        fig = ax.figure
    kw = dict(zip(("vmin", "vmax"), _returns_view(rows)[:2])) if metric in _RETURNS else {}
    im = ax.imshow(mean, origin="lower", aspect="auto", cmap="viridis", **kw)
    cb = fig.colorbar(im, ax=ax)
    cb.set_label(f"mean {METRIC_LABELS.get(metric, metric)}", fontsize=style.SMALL)
    cb.ax.tick_params(labelsize=style.SMALL)
    if metric in _STEPS:
        cb.ax.yaxis.set_major_formatter(FuncFormatter(style.steps))
    ax.set_xticks(range(len(xs)), [_tick(x, v, rows) for v in xs])
    ax.set_yticks(range(len(ys)), [_tick(y, v, rows) for v in ys])
    for field, values, ticks in ((x, xs, ax.get_xticklabels()), (y, ys, ax.get_yticklabels())):
        for t, v in zip(ticks, values):                      # an algorithm's name in its colour
            if field in ("preset", "algo") and style.is_algorithm(v):
                t.set_color(style.color(v))
    lo, hi = im.get_clim()
    for i in range(len(ys)):
        for j in range(len(xs)):
            text = "" if np.isnan(mean[i, j]) else _show(metric, mean[i, j])
            if missing[i, j]:
                text += f"\n({missing[i, j]} none)"
            dark = not np.isnan(mean[i, j]) and (mean[i, j] - lo) < 0.6 * (hi - lo)   # an empty cell is white
            ax.text(j, i, text.strip("\n"), ha="center", va="center", fontsize=style.MIN_FONT + 0.5, linespacing=1.0,
                    color="white" if dark else "black")
    style.finish(ax, title=title or f"{METRIC_LABELS.get(metric, metric)} over {_label(x)} and {_label(y)}",
                 note="cell: mean over seeds", xlabel=_label(x), ylabel=_label(y), grid="")
    return fig


def sweep_sensitivity(rows: Sequence[dict], x: str, metric: str = "final_return", *,
                      lines: str = "preset", ax=None, log_x: bool | None = None, title: str | None = None):
    """``metric`` against ``x``: one line per value of ``lines``, mean and 95% band over the
    members of each point (seeds), labelled where it ends; with more than three lines the
    interval is a bar at each point (lines moved a little apart), as bands would cover each other. A line per preset (``lines=
    "preset"``) is drawn in its algorithm's colour under its name (``preset_name``: ``gae-pendulum``
    as GAE(λ)); other lines in a sequence of colours.
    ``log_x`` defaults to a log axis when ``x`` spans more than a factor of 20. Returns the Figure."""
    _check(rows, x, lines, metric)
    xs = _values(rows, x)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs)
    where = xs if numeric else list(range(len(xs)))  # e.g. max_grad_norm 0.5, 1, None: evenly spaced
    if ax is None:
        fig, ax = style.figure()
    else:
        fig = ax.figure
    groups_of = _values(rows, lines)
    drawn, seeds = {}, set()
    if log_x is None:
        log_x = numeric and min(xs) > 0 and max(xs) / min(xs) > 20
    bars = len(groups_of) > 3      # many lines: the 95% CI as a bar at each point, side by side, not as bands
    low, high, solved = _returns_view(rows)

    def beside(k):                 # the k-th line's points, moved a little to the side so bars do not overlap
        d = (k - (len(groups_of) - 1) / 2) * 0.6 / max(len(groups_of), 1)
        if log_x:
            step = np.min(np.diff(np.log10(where))) if len(where) > 1 else 1.0
            return np.asarray(where, dtype=float) * 10 ** (d * 0.5 * step)
        step = np.min(np.diff(where)) if len(where) > 1 else 1.0
        return np.asarray(where, dtype=float) + d * 0.5 * step

    for k, lv in enumerate(groups_of):
        mine = [r for r in rows if r[lines] == lv]
        groups = [_metric([r for r in mine if r[x] == xv], metric) for xv in xs]
        width = max(len(g) for g in groups)
        seeds.add(width)
        table = np.full((width, len(xs)), np.nan)
        for j, g in enumerate(groups):
            table[:len(g), j] = g
        mean, lo, hi = mean_and_band(table)
        if lines == "preset":
            label, c = preset_name(lv, rows), style.line_look(lv, k, len(groups_of))[1]
        else:
            label, c = style.setting(lines, lv) if lines in style.SETTINGS else f"{lines} = {lv}", \
                style.sequence(len(groups_of))[k]
        if bars:
            at = beside(k)
            (drawn[label],) = ax.plot(at, mean, marker="o", linewidth=2.0, color=c, label=label)
            if metric in _RETURNS:
                lo, hi = np.clip(lo, low, high), np.clip(hi, low, high)
            ax.vlines(at, lo, hi, color=c, linewidth=2.5, alpha=0.45)
        else:
            (drawn[label],) = ax.plot(where, mean, marker="o", linewidth=2.2, color=c, label=label)
            style.band(ax, where, lo, hi, c, clip=(low, high) if metric in _RETURNS else None)
    if log_x:
        ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(where))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: next((_tick(x, xv, rows) for xv, w in zip(xs, where)
                                                                   if np.isclose(w, v)), "")))
    ax.xaxis.set_minor_locator(NullLocator())
    if metric in _RETURNS and (low, high) == (0.0, 500.0):
        style.returns_axis(ax, label=METRIC_LABELS[metric])
    elif metric in _RETURNS:
        ax.set_ylim(low, high + 20)
        ax.set_ylabel(METRIC_LABELS[metric])
    if metric in _RETURNS and solved is not None:
        style.solved_line(ax, solved)
    else:
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        if metric in _STEPS:
            ax.yaxis.set_major_formatter(FuncFormatter(style.steps))
    if len(drawn) > 6:
        style.legend_beside(ax)
    else:
        style.label_ends(ax, drawn)
    n = min(seeds)
    note = style.band_note(n) if len(seeds) == 1 else f"band: 95% CI of the mean, {n}-{max(seeds)} seeds"
    if bars:
        note = note.replace("band:", "bars:", 1)
    style.finish(ax, title=title or f"{METRIC_LABELS.get(metric, metric)} against {_label(x)}", note=note,
                 xlabel=_label(x) if x not in ("lr",) else "lr (actor)")
    return fig
