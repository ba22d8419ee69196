"""Sensitivity maps: a gamma x lr heatmap of the final return, and the curves of one cell."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import style

__all__ = ["sensitivity_map", "MARK"]

MARK = ("black", "white")   # the chosen cell's edge, drawn twice: seen on dark and on light cells


def _grid_values(data: dict):
    g, lrs = data["grid"]["gammas"], data["grid"]["lrs"]
    final = np.full((len(g), len(lrs)), np.nan)
    solved = np.zeros((len(g), len(lrs)), dtype=int)
    seeds = len(data["grid"]["seeds"])
    for i, gamma in enumerate(g):
        for j, lr in enumerate(lrs):
            ms = [m for m in data["members"] if np.isclose(m["gamma"], gamma) and np.isclose(m["lr"], lr)]
            vals = [m["final"] for m in ms if m["final"] is not None]
            final[i, j] = np.mean(vals) if vals else np.nan
            solved[i, j] = sum(m["solved_steps"] is not None for m in ms)
    return g, lrs, final, solved, seeds


def sensitivity_map(data: dict, gamma: float | None = None, lr: float | None = None):
    """Left: the mean over seeds of the final return (last 100 episodes) for every
    (gamma, lr) cell, with how many seeds reached 475. Right: the learning curves of the
    cell (gamma, lr), marked on the left, one thin line per seed and their mean."""
    g, lrs, final, solved, seeds = _grid_values(data)
    fig, (ax, bx) = style.figure(ncols=2, height=4.3, gridspec_kw={"width_ratios": [1.25, 1]})
    im = ax.imshow(final, origin="lower", cmap="viridis", vmin=0, vmax=500, aspect="auto")
    for i in range(len(g)):
        for j in range(len(lrs)):
            v = final[i, j]
            ax.text(j, i, f"{v:.0f}\n{solved[i, j]}/{seeds}", ha="center", va="center", fontsize=style.MIN_FONT + 0.5,
                    linespacing=1.0, color="black" if v > 300 else "white")
    ax.set_xticks(range(len(lrs)), [style.sci(x) for x in lrs])
    ax.set_yticks(range(len(g)), [style.number(x) for x in g])
    steps = data["grid"]["total_steps"]
    cb = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    cb.set_label("final return (last 100 episodes)", fontsize=style.SMALL)
    cb.ax.tick_params(labelsize=style.SMALL)
    gamma = g[len(g) // 2] if gamma is None else gamma
    lr = lrs[len(lrs) // 2] if lr is None else lr
    i, j = int(np.argmin(np.abs(np.subtract(g, gamma)))), int(np.argmin(np.abs(np.log(lrs) - np.log(lr))))
    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=MARK[0], linewidth=4, gid="chosen"))
    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=MARK[1], linewidth=1.5))
    algo = style.name(data["algo"]) if style.is_algorithm(data["algo"]) else data["algo"]
    style.finish(ax, title=f"{algo}: where in (γ, lr) it learns", grid="",
                 note=f"cell: mean final return and seeds solved, {steps // 1000}k steps",
                 xlabel="lr (actor)", ylabel="γ")
    x = np.asarray(data["curve_steps"])
    ms = [m for m in data["members"] if np.isclose(m["gamma"], g[i]) and np.isclose(m["lr"], lrs[j])]
    curves = np.array([[np.nan if v is None else v for v in m["curve"]] for m in ms], dtype=float)
    c = style.color(data["algo"]) if style.is_algorithm(data["algo"]) else style.NEUTRAL[0]
    for m, curve in zip(ms, curves):
        bx.plot(x, curve, linewidth=0.9, color=c, alpha=0.35, label=f"_seed {m['seed']}")
    lines = {}
    if len(curves):
        seen = ~np.isnan(curves).all(axis=0)  # before any episode ended there is no mean
        (lines[f"{algo}, mean"],) = bx.plot(x[seen], np.nanmean(curves[:, seen], axis=0), color=c, linewidth=2.4,
                                            label=f"{algo}, mean")
    style.returns_axis(bx, label=f"return (last {data['curve_window']} episodes)")
    style.steps_axis(bx)
    style.solved_line(bx, data["threshold"])
    style.label_ends(bx, lines)
    style.finish(bx, title=f"the marked cell: {style.settings(gamma=g[i], lr=lrs[j])}",
                 note=f"thin: each of {len(ms)} seeds; thick: their mean")
    return fig
