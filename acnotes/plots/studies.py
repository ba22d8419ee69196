"""The studies of notebook 8: final return against the step-size ratio, and against the
rollout length n (data from ``acnotes.studies``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .learning import mean_and_band

__all__ = ["timescales_plot", "rollouts_plot"]

_SLICES = {"critic": "actor lr fixed, critic lr moved", "actor": "critic lr fixed, actor lr moved"}


def _finals(members) -> np.ndarray:
    return np.array([m["final"] or 0.0 for m in members], dtype=float)


def _points(ax, x, finals, color, label, jitter):
    """Mean over seeds with its 95% band, and one dot per seed."""
    mean, lo, hi = mean_and_band(finals, axis=1)
    (line,) = ax.plot(x, mean, marker="o", linewidth=2, color=color, label=f"{label} ({finals.shape[1]} seeds)")
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    for j in range(finals.shape[1]):
        ax.scatter(np.asarray(x) * jitter, finals[:, j], s=8, color=line.get_color(), alpha=0.45, linewidths=0)


def timescales_plot(*datas: dict):
    """One panel per study: the final return (mean of the last 100 episodes; 0 if none)
    against critic_lr / lr on a log axis, for both slices (mean over seeds with a 95% band, one
    dot per seed), with the preset's ratio marked."""
    fig, axes = plt.subplots(1, len(datas), figsize=(4.9 * len(datas), 3.5), dpi=80, squeeze=False)
    for ax, data in zip(axes[0], datas):
        spec = data["spec"]
        ratios = np.asarray(spec["ratios"], dtype=float)
        for (slice_, label), color, jit in zip(_SLICES.items(), ("C0", "C1"), (0.96, 1.04)):
            finals = np.stack([_finals([m for m in data["members"] if m["slice"] == slice_
                                        and np.isclose(m["ratio"], r)]) for r in ratios])
            _points(ax, ratios, finals, color, label, jit)
        preset_ratio = spec["critic_lr"] / spec["lr"]
        ax.axvline(preset_ratio, color="black", linestyle="--", linewidth=1, label=f"preset, {preset_ratio:g}")
        ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
        ax.axhline(data["threshold"], color="grey", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set_xticks(ratios, [f"{r:g}" for r in ratios], fontsize=7)
        ax.minorticks_off()
        ax.set_ylim(0, 510)
        ax.set_xlabel("critic_lr / lr")
        ax.set_ylabel(f"final return (last {data['window']} episodes)")
        ax.set_title(f"{spec['preset']}: {spec['total_steps'] // 1000}k env steps", fontsize=9)
        ax.legend(loc="upper left", fontsize="x-small")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def rollouts_plot(data: dict):
    """Left: the final return against the rollout length n (n_envs * n = constant).
    Right: the mean learning curve over seeds for each n."""
    spec = data["spec"]
    ns = np.asarray(spec["ns"])
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9.6, 3.5), dpi=80)
    finals = np.stack([_finals([m for m in data["members"] if m["n"] == n]) for n in ns])
    _points(ax, ns, finals, "C0", "final return", 1.0)
    ax.axhline(data["threshold"], color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log", base=2)
    per = spec["per_update"]
    ax.set_xticks(ns, [f"{n}\n({per // n} envs)" for n in ns], fontsize=7)
    ax.minorticks_off()
    ax.set_ylim(0, 510)
    ax.set_xlabel("rollout length n (envs)")
    ax.set_ylabel(f"final return (last {data['window']} episodes)")
    ax.set_title(f"{spec['preset']}: {per} env steps per update, {spec['total_steps'] // 1000}k in all",
                 fontsize=9)
    ax.legend(loc="lower left", fontsize="x-small")
    ax.grid(alpha=0.3)
    x = np.asarray(data["curve_steps"])
    cmap = plt.get_cmap("viridis")
    for i, n in enumerate(ns):
        curves = np.array([[np.nan if v is None else v for v in m["curve"]]
                           for m in data["members"] if m["n"] == n], dtype=float)
        seen = ~np.isnan(curves).all(axis=0)  # before any episode ended there is no mean
        if not seen.any():
            continue
        mean, _, _ = mean_and_band(curves[:, seen])
        bx.plot(x[seen], mean, color=cmap(i / max(len(ns) - 1, 1)), linewidth=1.6, label=f"n = {n}")
    bx.axhline(data["threshold"], color="grey", linestyle=":", linewidth=1)
    bx.set_ylim(0, 510)
    bx.set_xlabel("env steps")
    bx.set_ylabel(f"return (mean of last {data['curve_window']})")
    bx.set_title("mean over seeds", fontsize=9)
    bx.legend(loc="upper left", fontsize="x-small")
    bx.grid(alpha=0.3)
    fig.tight_layout()
    return fig
