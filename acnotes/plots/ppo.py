"""The figures of notebook 12: the bias and variance of two off-policy gradient estimators as
the policy moves away from the one that collected the batch, and what several epochs on one
batch do to the true objective J against what the surrogate promises.

    acn.plots.offpolicy_bias_variance(kl, {"PPO's ratio": stats, ...}, exact_bias_sq=...)
    acn.plots.epochs_gain({"no clipping": run, "clipped (PPO)": run}, best_gain=...)
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from . import style

__all__ = ["offpolicy_bias_variance", "epochs_gain"]


def _colour(label: str, k: int) -> str:
    """PPO's colour for a label that names PPO, else the k-th neutral grey."""
    return style.color("ppo") if "PPO" in label else style.NEUTRAL[min(k, len(style.NEUTRAL) - 1)]


def offpolicy_bias_variance(kl: Sequence[float], stats: Mapping[str, Sequence[dict]],
                            exact_bias_sq: Sequence[float] | None = None, title: str | None = None):
    """Two panels against ``kl`` (how far the new policy is from the behaviour policy): the
    squared bias and the variance of each estimator (``stats[label]``: one
    ``variance.gradient_stats`` dict per point), and, with ``exact_bias_sq``, the squared
    bias the estimator named first has in exact arithmetic, as black dots. Returns the Figure."""
    if not stats:
        raise ValueError("no estimators to plot: pass {label: [gradient_stats per point]}")
    fig, axes = style.figure(ncols=2, width=style.WIDTH, height=3.8)
    x = np.asarray(kl, dtype=float)
    for ax, key, ylabel in ((axes[0], "bias_sq", "bias² against ∇J(θ)"), (axes[1], "variance", "variance (trace)")):
        lines = {}
        for k, (label, rows) in enumerate(stats.items()):
            y = np.array([r[key] for r in rows], dtype=float)
            (lines[label],) = ax.plot(x, y, marker="o", markersize=4, linewidth=1.8, color=_colour(label, k), label=label)
        if key == "bias_sq" and exact_bias_sq is not None:
            ax.plot(x, np.asarray(exact_bias_sq, dtype=float), linestyle="none", marker="o", markersize=8,
                    markerfacecolor="none", markeredgecolor=style.REFERENCE, label="_exact")
            ax.annotate("○ exact", xy=(0.02, 0.98), xycoords="axes fraction", va="top", ha="left",
                        fontsize=style.SMALL, color=style.REFERENCE)
        style.finish(ax, xlabel="KL(π_old ‖ π_θ), over the old policy's states", ylabel=ylabel)
        if key == "variance":
            style.label_ends(ax, lines)
    if title:
        fig.suptitle(title, fontsize=style.FONT + 1, x=0.01, ha="left")
    return fig


def epochs_gain(runs: Mapping[str, Mapping[str, Sequence[float]]], best_gain: float | None = None,
                title: str | None = None):
    """One panel per label, each on its own y scale: J(theta_k) - J(theta_old) after k epochs on
    one batch (solid; ``runs[label]["gain"]``) and what the batch's surrogate promised (dashed;
    ``runs[label]["promise"]``), in PPO's colour for a label that names PPO and in greys for
    the others, labelled at their ends; J(theta_old) as a dotted line and, in the panels whose
    scale shows it apart from that line (the last), ``best_gain``, the largest gain any policy
    has. Returns the Figure."""
    if not runs:
        raise ValueError("no runs to plot: pass {label: {'gain': [...], 'promise': [...]}}")
    fig, axes = style.figure(ncols=len(runs), width=style.WIDTH, height=3.8, squeeze=False)
    for k, (ax, (label, run)) in enumerate(zip(axes[0], runs.items())):
        c = _colour(label, k)
        gain, promise = (np.asarray(run[key], dtype=float) for key in ("gain", "promise"))
        epochs = np.arange(len(gain))
        name = "PPO" if "PPO" in label else label
        lines = {f"{name}: J": ax.plot(epochs, gain, linewidth=2.0, color=c, label=f"{name}: J")[0],
                 f"{name}: promise": ax.plot(epochs, promise, linewidth=1.6, linestyle="--", color=c,
                                             label=f"{name}: promise")[0]}
        style.reference_line(ax, 0.0, "J(θ_old)")
        if best_gain is not None and k == len(runs) - 1:
            style.reference_line(ax, best_gain, "the best policy")
        style.label_ends(ax, lines, gap=0.1)
        style.finish(ax, title=label, xlabel="epochs on one batch", ylabel="J(θ) - J(θ_old)" if k == 0 else None)
    fig.text(0.01, -0.02, "solid: the true change of J, exact; dashed: the batch's surrogate, the promise",
             fontsize=style.SMALL, color="#555555", ha="left", va="top")
    if title:
        fig.suptitle(title, fontsize=style.FONT + 1, x=0.01, ha="left")
    return fig
