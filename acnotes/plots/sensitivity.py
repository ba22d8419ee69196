"""Sensitivity maps: a gamma x lr heatmap of the final return, and the curves of one cell."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["sensitivity_map"]


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
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9.6, 3.6), dpi=80, gridspec_kw={"width_ratios": [1, 1.15]})
    im = ax.imshow(final, origin="lower", cmap="viridis", vmin=0, vmax=500, aspect="auto")
    for i in range(len(g)):
        for j in range(len(lrs)):
            v = final[i, j]
            ax.text(j, i, f"{v:.0f}\n{solved[i, j]}/{seeds}", ha="center", va="center", fontsize=7,
                    color="black" if v > 300 else "white")
    ax.set_xticks(range(len(lrs)), [f"{x:.1e}" for x in lrs], fontsize=7, rotation=30)
    ax.set_yticks(range(len(g)), [f"{x:g}" for x in g], fontsize=8)
    ax.set_xlabel("lr (actor)")
    ax.set_ylabel("gamma")
    steps = data["grid"]["total_steps"]
    ax.set_title(f"{data['algo']}: final return, seeds solved ({steps // 1000}k steps)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    gamma = g[len(g) // 2] if gamma is None else gamma
    lr = lrs[len(lrs) // 2] if lr is None else lr
    i, j = int(np.argmin(np.abs(np.subtract(g, gamma)))), int(np.argmin(np.abs(np.log(lrs) - np.log(lr))))
    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    x = np.asarray(data["curve_steps"])
    ms = [m for m in data["members"] if np.isclose(m["gamma"], g[i]) and np.isclose(m["lr"], lrs[j])]
    curves = np.array([[np.nan if v is None else v for v in m["curve"]] for m in ms], dtype=float)
    for m, c in zip(ms, curves):
        bx.plot(x, c, linewidth=1, alpha=0.6, label=f"seed {m['seed']}")
    if len(curves):
        seen = ~np.isnan(curves).all(axis=0)  # before any episode ended there is no mean
        bx.plot(x[seen], np.nanmean(curves[:, seen], axis=0), color="black", linewidth=2, label="mean")
    bx.axhline(data["threshold"], color="grey", linestyle=":", linewidth=1)
    bx.set_ylim(0, 510)
    bx.set_xlabel("env steps")
    bx.set_ylabel(f"return (mean of last {data['curve_window']})")
    bx.set_title(f"gamma={g[i]:g}, lr={lrs[j]:.1e}", fontsize=9)
    bx.legend(loc="upper left", fontsize="x-small")
    bx.grid(alpha=0.3)
    fig.tight_layout()
    return fig
