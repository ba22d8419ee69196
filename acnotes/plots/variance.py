"""Figures of a ``VarianceTable``: the MSE of each estimator split into variance and bias^2,
one measured column against a swept setting, GAE's variance and bias against lambda, and the
variance and bias of every estimator along a CartPole training run (notebook 5).

    acn.plots.variance_bars(table)         # after acn.variance.measure(...)
    acn.plots.variance_sweep(by_B)         # after acn.variance.sweep_batch_size(...)

An estimator of Psi_t is named as its algorithm and drawn in its colour (``style``); the
parts of a bar (variance, bias^2) and the columns of a table are shown in neutral greys and
line styles, never in an algorithm's colour.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from ..variance import SWEEPABLE, VarianceTable
from . import style

__all__ = ["variance_bars", "variance_sweep", "variance_compare", "gae_lambda", "variance_training"]


def _figure(ax, **kw):
    """``(figure, ax)``: a new figure in the series' size when ``ax`` is None, else ``ax``'s own."""
    if ax is not None:
        return ax.figure, ax
    return style.figure(**kw)


_SWEEP_LABELS = {"B": "batch size B (episodes per estimate)", "gamma": "γ", "lam": "λ (GAE)",
                 "K": "K (estimates)", "n": "n", "critic_noise": "critic noise"}


def _look(name: str, k: int = 0, n: int = 8) -> tuple[str, str]:
    return style.line_look(name, k, n)


def variance_bars(table: VarianceTable, ax=None, title: str | None = None,
                  log: bool | None = None, dpi: int | None = None, legend: bool = True):
    """The MSE of each row split into its two parts: variance (solid, in the estimator's
    colour) and bias^2 (hatched, paler) stacked, so each bar's height is MSE = bias^2 +
    variance. ``log``: a logarithmic axis (default: only when the bars span more than a factor
    30). ``legend``: say which part is which, below the axes. Returns the Figure."""
    if not len(table):
        raise ValueError("the table is empty: nothing to plot")
    fig, ax = _figure(ax, width=7.0)
    names = [r["estimator"] for r in table]
    looks = [_look(n, k, len(names)) for k, n in enumerate(names)]
    var = np.array(table.column("variance"), dtype=float)
    bias_sq = np.array(table.column("bias_sq"), dtype=float)
    x = np.arange(len(names))
    colors = [c for _, c in looks]
    ax.bar(x, var, color=colors, edgecolor=colors, label="variance = tr Cov")
    ax.bar(x, bias_sq, bottom=var, color="white", edgecolor=colors, hatch="///", linewidth=1.2, label="bias$^2$")
    ax.set_xticks(x, [n.replace(" + ", "\n+ ") for n, _ in looks])
    for tick, c in zip(ax.get_xticklabels(), colors):
        tick.set_color(c)
    mse = var + bias_sq
    if log is None:
        pos = mse[mse > 0]
        log = bool(len(pos)) and pos.max() > 30 * pos.min()
    if log:
        ax.set_yscale("log")
    r0 = table[0]
    if legend:
        style.legend_beside(ax, [Patch(facecolor=style.NEUTRAL[1], edgecolor=style.NEUTRAL[1]),
                                 Patch(facecolor="white", edgecolor=style.NEUTRAL[1], hatch="///")],
                            ["variance", "bias²"], where="below")
        ax.get_legend().set_bbox_to_anchor((0.5, -0.22))
    style.finish(ax, title=title or f"{table.meta.get('env', '')}: MSE = bias² + variance",
                 note=f"K = {r0['K']}, B = {r0['B']}, {style.settings(gamma=r0['gamma'], lam=r0['lam'])}",
                 ylabel="MSE = bias² + variance", grid="y")
    return fig


def variance_compare(tables: Mapping[str, VarianceTable], title: str | None = None, log: bool | None = None):
    """``variance_bars`` of each table side by side on one y axis; ``tables`` maps a panel's
    title (what differs: "exact critics") to its table. Returns the Figure."""
    if not tables:
        raise ValueError("no tables to plot")
    fig, axes = style.figure(ncols=len(tables), height=4.4, sharey=True, squeeze=False)
    for k, (ax, (name, table)) in enumerate(zip(axes[0], tables.items())):
        variance_bars(table, ax=ax, title=name, log=log, legend=k == 0)
        if k:
            ax.set_ylabel("")
    if title:
        fig.suptitle(title, fontsize=style.FONT + 1, x=0.01, ha="left")
    return fig


def variance_sweep(table: VarianceTable, param: str | None = None, column: str = "variance",
                   ax=None, title: str | None = None, dpi: int | None = None):
    """``column`` against the swept ``param`` (default: ``table.meta["sweep"]``), one line per
    estimator in its colour, labelled where it ends. For B both axes are logarithmic, with the
    1/B line through the first point of the first estimator. Returns the Figure."""
    param = param or table.meta.get("sweep")
    if param not in SWEEPABLE:
        raise ValueError(f"param must be one of {', '.join(SWEEPABLE)}; got {param!r}")
    fig, ax = _figure(ax)
    names = list(dict.fromkeys(table.column("estimator")))
    lines = {}
    for k, name in enumerate(names):
        rows = sorted(table.select(estimator=name).rows, key=lambda r: r[param])
        label, c = _look(name, k, len(names))
        (lines[label],) = ax.plot([r[param] for r in rows], [r[column] for r in rows], "o-", color=c,
                                  linewidth=2.2, label=label)
    if param == "B" and names:
        rows = sorted(table.select(estimator=names[0]).rows, key=lambda r: r["B"])
        b = np.array([r["B"] for r in rows], dtype=float)
        ax.plot(b, rows[0][column] * b[0] / b, "--", color=style.MUTED, lw=1.2, label="1/B")
        mid = b[len(b) // 2] if len(b) > 2 else b[0]
        ax.annotate("1/B", xy=(mid, rows[0][column] * b[0] / mid), xytext=(4, 6), textcoords="offset points",
                    ha="left", va="bottom", fontsize=style.SMALL, color=style.MUTED)
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
    if param in ("gamma", "lam"):
        xs = sorted({r[param] for r in table})
        ax.set_xticks(xs, [style.number(v) for v in xs])
    ax.set_yscale("log")
    style.label_ends(ax, lines)
    env = table.meta.get("env", table[0]["env"] if len(table) else "")
    style.finish(ax, title=title or f"{env}: {column} against {_SWEEP_LABELS.get(param, param)}",
                 note=f"each point: {column} of K estimates, log scale",
                 xlabel=_SWEEP_LABELS.get(param, param), ylabel=f"total {column}" if column == "variance" else column)
    return fig


def gae_lambda(exact: VarianceTable, noisy: VarianceTable, noise: float | None = None, title: str | None = None):
    """GAE(lambda) against lambda: the variance with the exact V and with a noisy V, and the
    noisy V's bias^2 and MSE, and the bias^2 that the noise of K estimates alone would show.
    Each quantity in a neutral colour (they are no algorithms), labelled where it ends."""
    lam = np.array(exact.column("lam"), dtype=float)
    lam_n = np.array(noisy.column("lam"), dtype=float)
    noise = noise if noise is not None else noisy.meta.get("critic_noise", noisy[0].get("critic_noise"))
    err = f"V with {noise:.0%} error" if isinstance(noise, (int, float)) else "noisy V"
    seq = style.sequence(3)      # variance, bias² and MSE are no algorithms: neutral colours
    fig, ax = style.figure()
    lines = {}
    (lines["variance, exact V"],) = ax.plot(lam, exact.column("variance"), "o-", color=style.NEUTRAL[1], lw=7,
                                            markersize=12, alpha=0.55, zorder=2)   # wide, under the noisy V's
    (lines[f"variance, {err}"],) = ax.plot(lam_n, noisy.column("variance"), "s--", color=seq[0], lw=2, markersize=5,
                                           zorder=5)
    (lines[f"bias², {err}"],) = ax.plot(lam_n, noisy.column("bias_sq"), "^-", color=seq[2], lw=2)
    (lines[f"MSE, {err}"],) = ax.plot(lam_n, noisy.column("mse"), "D:", color=style.REFERENCE, lw=2.2, markersize=5)
    (lines["bias² of the noise alone"],) = ax.plot(lam_n, noisy.column("bias_sq_noise"), color=style.MUTED, lw=1.2)
    ax.set_yscale("log")
    ax.set_xticks(lam, [style.number(v) for v in lam])
    style.label_ends(ax, lines, gap=0.09)
    r0 = noisy[0]
    style.finish(ax, title=title or "GAE(λ): λ trades the critic's bias for variance",
                 note=f"log scale; B = {r0['B']}, K = {r0['K']}; the variances and the MSE nearly coincide (wide grey: exact V)",
                 xlabel="λ", ylabel="per estimate")
    return fig


def variance_training(tables: Mapping[int, VarianceTable], names=None, title: str | None = None):
    """Two panels along a training run (``tables``: env steps -> table measured there): the
    total variance of each estimator, and its bias ratio (1: no bias seen), each estimator in
    its colour, labelled where it ends; the line at 1 labelled. The measurements are evenly
    spaced on the x axis (0, 5k and 140k steps would crowd on a linear one), each labelled
    with its env steps."""
    steps = list(tables)
    where = np.arange(len(steps))
    names = list(names or next(iter(tables.values())).column("estimator"))
    fig, (ax, bx) = style.figure(ncols=2, height=4.3)
    for col, a in (("variance", ax), ("bias_ratio", bx)):
        lines = {}
        for k, name in enumerate(names):
            label, c = _look(name, k, len(names))
            (lines[label],) = a.plot(where, [t[name][col] for t in tables.values()], "o-", color=c, lw=2, label=label)
        a.set_yscale("log")
        a.set_xticks(where, [style.steps(s) for s in steps])
        a.set_xlim(-0.3, len(steps) - 0.7)
        if col == "bias_ratio":
            style.reference_line(a, 1.0, "1: no bias seen", color=style.NEUTRAL[0], linestyle="--", at="left")
        style.label_ends(a, lines, gap=0.085)
    style.finish(ax, title="total variance", note="log scale", xlabel="after this many env steps of A2C training",
                 ylabel="total variance")
    style.finish(bx, title="bias ratio", note="log scale; 1: no bias seen", xlabel="after this many env steps of A2C training",
                 ylabel="bias ratio")
    if title:
        fig.suptitle(title, fontsize=style.FONT + 1, x=0.01, ha="left")
    return fig
