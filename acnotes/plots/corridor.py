"""Figures of the short corridor (notebook 0): the value of the start state against
p = pi(right), and the total reward per episode of REINFORCE runs (Figures 13.1 and 13.2 of
Sutton & Barto).

    acn.plots.corridor_value(p, v, optimum=(p_star, v_star), marks={"eps-greedy left": 0.05})
    acn.plots.corridor_learning({r"$\alpha = 2^{-13}$": runs.rewards}, optimum=v_star, algo="reinforce")
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from . import style
from .learning import mean_and_band

__all__ = ["corridor_value", "corridor_learning"]


def _figure(ax):
    if ax is not None:
        return ax.figure, ax
    return style.figure()


def corridor_value(p, v, optimum: tuple[float, float] | None = None,
                   marks: Mapping[str, tuple[float, float]] | None = None, ax=None,
                   title: str | None = None, dpi: int | None = None):
    """v(s0) against p = pi(right): the curve, the optimum as a star, and ``marks`` (label ->
    (p, v)) as labelled points, each named beside it. Returns the Figure. (``dpi`` is
    ignored: the series' size is ``style.DPI``.)"""
    p, v = np.asarray(p, dtype=float), np.asarray(v, dtype=float)
    if p.shape != v.shape or p.ndim != 1 or p.size < 2:
        raise ValueError(f"p and v must be 1-D arrays of the same length (>= 2), got shapes "
                         f"{p.shape} and {v.shape}")
    fig, ax = _figure(ax)
    ax.plot(p, v, linewidth=2.2, color=style.REFERENCE, label="v(s0), exact")
    if optimum is not None:
        ax.plot([optimum[0]], [optimum[1]], marker="*", markersize=14, color=style.REFERENCE,
                linestyle="none")
        ax.annotate(f"optimum: p = {optimum[0]:.3f}, v = {optimum[1]:.2f}", xy=optimum, xytext=(0, 10),
                    textcoords="offset points", ha="center", va="bottom", fontsize=style.SMALL,
                    color=style.REFERENCE)
    for k, (label, (px, vx)) in enumerate((marks or {}).items()):
        ax.plot([px], [vx], marker="o", markersize=7, color=style.NEUTRAL[0], linestyle="none")
        right = px < 0.5
        ax.annotate(f"{label}: {vx:.1f}", xy=(px, vx), xytext=(8 if right else -8, 0), textcoords="offset points",
                    ha="left" if right else "right", va="center", fontsize=style.SMALL, color=style.NEUTRAL[0])
    ax.margins(y=0.15)  # room for the optimum's label
    style.finish(ax, title=title or "The value of the start state has one best p, in the middle",
                 xlabel="p = probability of right (in every state)", ylabel="v(s0), exact")
    return fig


def corridor_learning(curves: Mapping[str, np.ndarray], optimum: float | None = None, ax=None,
                      title: str | None = None, dpi: int | None = None,
                      algo: str | Sequence[str] | None = None):
    """Total reward per episode, averaged over runs: one line per label, with a 95% band of
    the mean over runs, labelled where it ends. ``curves`` maps a label to an array
    ``[runs, episodes]``; ``optimum`` (the best value of the start state) is a labelled
    reference line. ``algo`` says which algorithm drew the curves: one key for all of them
    (``"reinforce"``: its colour, in shades from dark to light when there are several settings)
    or one key per curve; without it the labels are settings and their colours a sequence.
    Returns the Figure."""
    if not curves:
        raise ValueError("no curves to plot: pass {label: rewards [runs, episodes]}")
    fig, ax = _figure(ax)
    lines, runs = {}, set()
    for (label, rewards), c in zip(curves.items(), _colors(len(curves), algo)):
        rewards = np.asarray(rewards, dtype=float)
        if rewards.ndim != 2:
            raise ValueError(f"{label}: expected rewards of shape [runs, episodes], got {rewards.shape}")
        x = np.arange(1, rewards.shape[1] + 1)
        mean, lo, hi = mean_and_band(rewards)
        (lines[label],) = ax.plot(x, mean, linewidth=1.6, color=c, label=label)
        style.band(ax, x, lo, hi, c, clip=None, alpha=0.22)
        runs.add(rewards.shape[0])
    if optimum is not None:
        style.reference_line(ax, optimum, f"v* = {optimum:.2f}", at="left")   # the curves start far below it
    if max(len(k) for k in curves) > 24:        # long labels: below the axes
        style.legend_beside(ax, where="below")
    else:
        style.label_ends(ax, lines)
    note = style.band_note(min(runs), over="runs") if len(runs) == 1 else \
        f"band: 95% CI of the mean, {min(runs)}-{max(runs)} runs"
    style.finish(ax, title=title, note=note, xlabel="episode", ylabel="total reward per episode")
    return fig


def _colors(n: int, algo: str | Sequence[str] | None) -> list[str]:
    """The curves' colours: each algorithm's own (shades of it when it draws several curves),
    or a sequence when the curves are settings of no named algorithm."""
    if algo is None:
        return style.sequence(n)
    algos = [algo] * n if isinstance(algo, str) else list(algo)
    if len(algos) != n:
        raise ValueError(f"algo names {len(algos)} algorithms for {n} curves: give one key, or one per curve")
    out, seen = [], {}
    for a in algos:
        k = sum(1 for b in algos if b == a)
        tones = [style.color(a)] if k == 1 else style.shades(style.color(a), k, lightest=0.5, darkest=0.0)[::-1]
        out.append(tones[seen.get(a, 0)])
        seen[a] = seen.get(a, 0) + 1
    return out
