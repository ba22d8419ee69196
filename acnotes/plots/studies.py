"""The studies of notebook 8: final return against the step-size ratio, and against the
rollout length n (data from ``acnotes.stored.studies``)."""

from __future__ import annotations

import numpy as np

from . import style
from .learning import mean_and_band

__all__ = ["timescales_plot", "rollouts_plot"]

_SLICES = {"critic": "critic lr moved (actor lr fixed)", "actor": "actor lr moved (critic lr fixed)"}


def _finals(members) -> np.ndarray:
    return np.array([m["final"] or 0.0 for m in members], dtype=float)


def _points(ax, x, finals, color, label, jitter):
    """Mean over seeds with its 95% band (clipped to [0, 500]), and one dot per seed."""
    mean, lo, hi = mean_and_band(finals, axis=1)
    (line,) = ax.plot(x, mean, marker="o", linewidth=2.2, color=color, label=label)
    style.band(ax, x, lo, hi, color)
    for j in range(finals.shape[1]):
        ax.scatter(np.asarray(x) * jitter, finals[:, j], s=10, color=color, alpha=0.45, linewidths=0)
    return line


def _title(spec) -> str:
    p = spec["preset"]
    return style.name(p) if style.is_algorithm(p) else p


def timescales_plot(*datas: dict):
    """One panel per study: the final return (mean of the last 100 episodes; 0 if none)
    against critic_lr / lr on a log axis, for both slices (mean over seeds with a 95% band, one
    dot per seed), with the preset's ratio and the ratio 1 (equal step sizes) labelled."""
    fig, axes = style.figure(ncols=len(datas), height=4.6, squeeze=False, sharey=True)
    seeds = set()
    colors = style.sequence(2)
    for k, (ax, data) in enumerate(zip(axes[0], datas)):
        spec = data["spec"]
        ratios = np.asarray(spec["ratios"], dtype=float)
        for (slice_, label), color, jit in zip(_SLICES.items(), colors, (0.96, 1.04)):
            finals = np.stack([_finals([m for m in data["members"] if m["slice"] == slice_
                                        and np.isclose(m["ratio"], r)]) for r in ratios])
            seeds.add(finals.shape[1])
            _points(ax, ratios, finals, color, label, jit)
        preset_ratio = spec["critic_lr"] / spec["lr"]
        style.reference_line(ax, preset_ratio, f"preset: {preset_ratio:g}", axis="x", color=style.NEUTRAL[0],
                             linestyle="--", at="top")
        if not np.isclose(preset_ratio, 1.0):
            style.reference_line(ax, 1.0, "equal lrs", axis="x")
        ax.set_xscale("log")
        ax.set_xticks(ratios, [f"{r:g}" for r in ratios])
        ax.minorticks_off()
        style.returns_axis(ax, label=f"final return (last {data['window']} episodes)")
        if k:
            ax.set_ylabel("")
        style.solved_line(ax, data["threshold"])
        style.finish(ax, title=f"{_title(spec)}, {spec['total_steps'] // 1000}k env steps",
                     xlabel="critic lr / actor lr")
    style.legend_beside(axes[0][0], where="below")
    n = min(seeds) if seeds else 0
    fig.suptitle("Which step-size ratio learns? dots: one seed each; line and band: their mean, 95% CI"
                 f" ({n} seeds)", fontsize=style.FONT, x=0.01, ha="left")
    return fig


def rollouts_plot(data: dict):
    """Left: the final return against the rollout length n (n_envs * n = constant).
    Right: the mean learning curve over seeds for each n, labelled where it ends."""
    spec = data["spec"]
    ns = np.asarray(spec["ns"])
    fig, (ax, bx) = style.figure(ncols=2, height=4.3)
    finals = np.stack([_finals([m for m in data["members"] if m["n"] == n]) for n in ns])
    _points(ax, ns, finals, style.NEUTRAL[0], "final return", 1.0)
    style.solved_line(ax, data["threshold"])
    ax.set_xscale("log", base=2)
    per = spec["per_update"]
    ax.set_xticks(ns, [f"{n}\n({per // n})" for n in ns])
    ax.minorticks_off()
    style.returns_axis(ax, label=f"final return (last {data['window']} episodes)")
    style.finish(ax, title=f"{_title(spec)}: {per} env steps per update",
                 note=f"dots: one seed each; band: 95% CI of the mean, {finals.shape[1]} seeds",
                 xlabel="rollout length n (envs)")
    x = np.asarray(data["curve_steps"])
    colors = style.sequence(len(ns))
    lines = {}
    for i, n in enumerate(ns):
        curves = np.array([[np.nan if v is None else v for v in m["curve"]]
                           for m in data["members"] if m["n"] == n], dtype=float)
        seen = ~np.isnan(curves).all(axis=0)  # before any episode ended there is no mean
        if not seen.any():
            continue
        mean, _, _ = mean_and_band(curves[:, seen])
        (lines[f"n = {n}"],) = bx.plot(x[seen], mean, color=colors[i], linewidth=1.8, label=f"n = {n}")
    style.returns_axis(bx, label=f"return (last {data['curve_window']} episodes)")
    style.steps_axis(bx)
    style.solved_line(bx, data["threshold"])
    style.label_ends(bx, lines, gap=0.06)
    style.finish(bx, title=f"learning curves, {spec['total_steps'] // 1000}k steps in all",
                 note=f"mean over {finals.shape[1]} seeds, no band")
    return fig
