"""Figures of a ``VarianceTable``: the MSE of each estimator split into variance and bias^2,
and one measured column against a swept setting.

    acn.plots.variance_bars(table)         # after acn.variance.measure(...)
    acn.plots.variance_sweep(by_B)         # after acn.variance.sweep_batch_size(...)
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..variance import SWEEPABLE, VarianceTable

__all__ = ["variance_bars", "variance_sweep"]


def _figure(ax, dpi: int):
    """``(figure, ax)``: a new 6.4 x 3.4 inch figure when ``ax`` is None, else ``ax``'s own."""
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(figsize=(6.4, 3.4), dpi=dpi)


_SWEEP_LABELS = {"B": "batch size B (episodes per estimate)", "gamma": "gamma", "lam": "lambda (GAE)",
                 "K": "K", "n": "n", "critic_noise": "critic noise"}


def variance_bars(table: VarianceTable, ax=None, title: str | None = None,
                  log: bool | None = None, dpi: int = 80):
    """The MSE of each row split into its two parts: variance (solid) and bias^2 (hatched)
    stacked, so each bar's height is MSE = bias^2 + variance. ``log``: a logarithmic axis
    (default: only when the bars span more than a factor 30). Returns the Figure."""
    if not len(table):
        raise ValueError("the table is empty: nothing to plot")
    fig, ax = _figure(ax, dpi)
    names = [r["estimator"] for r in table]
    var = np.array(table.column("variance"), dtype=float)
    bias_sq = np.array(table.column("bias_sq"), dtype=float)
    x = np.arange(len(names))
    ax.bar(x, var, color="C0", label="variance = tr Cov")
    ax.bar(x, bias_sq, bottom=var, color="C3", hatch="//", alpha=0.7, label="bias$^2$")
    ax.set_xticks(x, names, rotation=25, ha="right", fontsize="small")
    mse = var + bias_sq
    if log is None:
        pos = mse[mse > 0]
        log = bool(len(pos)) and pos.max() > 30 * pos.min()
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("MSE = bias$^2$ + variance")
    r0 = table[0]
    ax.set_title(title or f"{table.meta.get('env', '')}: K={r0['K']}, B={r0['B']}, "
                          f"gamma={r0['gamma']:g}, lam={r0['lam']:g}", fontsize="medium")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def variance_sweep(table: VarianceTable, param: str | None = None, column: str = "variance",
                   ax=None, title: str | None = None, dpi: int = 80):
    """``column`` against the swept ``param`` (default: ``table.meta["sweep"]``), one line per
    estimator. For B both axes are logarithmic, with the 1/B line through the first point
    of the first estimator. Returns the Figure."""
    param = param or table.meta.get("sweep")
    if param not in SWEEPABLE:
        raise ValueError(f"param must be one of {', '.join(SWEEPABLE)}; got {param!r}")
    fig, ax = _figure(ax, dpi)
    names = list(dict.fromkeys(table.column("estimator")))
    for name in names:
        rows = sorted(table.select(estimator=name).rows, key=lambda r: r[param])
        ax.plot([r[param] for r in rows], [r[column] for r in rows], "o-", label=name)
    if param == "B" and names:
        rows = sorted(table.select(estimator=names[0]).rows, key=lambda r: r["B"])
        b = np.array([r["B"] for r in rows], dtype=float)
        ax.plot(b, rows[0][column] * b[0] / b, "k--", lw=1, label="1/B")
        ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set(xlabel=_SWEEP_LABELS.get(param, param), ylabel=column)
    ax.set_title(title or f"{table.meta.get('env', table[0]['env'] if len(table) else '')}: "
                          f"{column} against {param}", fontsize="medium")
    ax.legend(fontsize="small", ncol=2)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig
