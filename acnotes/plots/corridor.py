"""Figures of the short corridor (notebook 0): the value of the start state against
p = pi(right), and the total reward per episode of REINFORCE runs (Figures 13.1 and 13.2 of
Sutton & Barto).

    acn.plots.corridor_value(p, v, optimum=(p_star, v_star), marks={"eps-greedy left": 0.05})
    acn.plots.corridor_learning({"alpha = 2^-13": runs.rewards}, optimum=v_star)
"""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np

from .learning import mean_and_band

__all__ = ["corridor_value", "corridor_learning"]


def _figure(ax, dpi: int):
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(figsize=(6.4, 3.4), dpi=dpi)


def _finish(fig, ax, xlabel: str, ylabel: str, title: str | None, legend: str):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc=legend, fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def corridor_value(p, v, optimum: tuple[float, float] | None = None,
                   marks: Mapping[str, tuple[float, float]] | None = None, ax=None,
                   title: str | None = None, dpi: int = 80):
    """v(s0) against p = pi(right): the curve, the optimum as a star, and ``marks`` (label ->
    (p, v)) as labelled points. Returns the Figure."""
    p, v = np.asarray(p, dtype=float), np.asarray(v, dtype=float)
    if p.shape != v.shape or p.ndim != 1 or p.size < 2:
        raise ValueError(f"p and v must be 1-D arrays of the same length (>= 2), got shapes "
                         f"{p.shape} and {v.shape}")
    fig, ax = _figure(ax, dpi)
    ax.plot(p, v, linewidth=2, color="C0", label="v(s0), exact")
    if optimum is not None:
        ax.plot([optimum[0]], [optimum[1]], marker="*", markersize=12, color="C3", linestyle="none",
                label=f"optimum: p = {optimum[0]:.3f}, v = {optimum[1]:.2f}")
    for k, (label, (px, vx)) in enumerate((marks or {}).items()):
        ax.plot([px], [vx], marker="o", color=f"C{k + 1}", linestyle="none", label=f"{label}: {vx:.1f}")
    return _finish(fig, ax, "p = probability of right (in every state)", "value of the start state",
                   title, "lower center")


def corridor_learning(curves: Mapping[str, np.ndarray], optimum: float | None = None, ax=None,
                      title: str | None = None, dpi: int = 80):
    """Total reward per episode, averaged over runs: one line per label, with a 95% band of
    the mean over runs. ``curves`` maps a label to an array ``[runs, episodes]``;
    ``optimum`` (the best value of the start state) is drawn as a dashed line. Returns the
    Figure."""
    if not curves:
        raise ValueError("no curves to plot: pass {label: rewards [runs, episodes]}")
    fig, ax = _figure(ax, dpi)
    for label, rewards in curves.items():
        rewards = np.asarray(rewards, dtype=float)
        if rewards.ndim != 2:
            raise ValueError(f"{label}: expected rewards of shape [runs, episodes], got {rewards.shape}")
        x = np.arange(1, rewards.shape[1] + 1)
        mean, lo, hi = mean_and_band(rewards)
        (line,) = ax.plot(x, mean, linewidth=1.2, label=f"{label} ({rewards.shape[0]} runs)")
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    if optimum is not None:
        ax.axhline(optimum, color="grey", linestyle="--", linewidth=1, label=f"v* = {optimum:.2f}")
    return _finish(fig, ax, "episode", "total reward per episode", title, "lower right")
