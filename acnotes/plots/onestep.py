"""The figure of notebook 9: the exact value J(theta) of the policy each run holds, episode by
episode, averaged over runs with a 95% band, against exact reference values.

    acn.plots.value_curves({"with I": J_with, "without I": J_without},
                           references={"J* = 10 (p = 1)": 10.0}, title="...")
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from . import style
from .learning import mean_and_band

__all__ = ["value_curves"]


def value_curves(curves: Mapping[str, np.ndarray], references: Mapping[str, float] | None = None,
                 ax=None, title: str | None = None, ylabel: str = "J(θ) of the run's policy, exact",
                 ylim: tuple[float, float] | None = None):
    """One line per label: the mean over runs of ``curves[label]`` (shape ``[runs, episodes]``)
    with the 95% band of the mean, labelled where it ends. A label naming an algorithm
    (``"REINFORCE + baseline"``) takes its colour; the others, settings of one algorithm, a
    sequence of colours. ``references`` (text -> value) are dotted lines labelled at their left
    end, where the curves start. Returns the Figure."""
    if not curves:
        raise ValueError("no curves to plot: pass {label: values [runs, episodes]}")
    fig, ax = (ax.figure, ax) if ax is not None else style.figure()
    settings = [label for label in curves if not style.is_algorithm(label)]
    lines, runs = {}, set()
    for label, values in curves.items():
        values = np.asarray(values, dtype=float)
        if values.ndim != 2:
            raise ValueError(f"{label}: expected values of shape [runs, episodes], got {values.shape}")
        if style.is_algorithm(label):
            name, c = style.name(label), style.color(label)
        else:
            name, c = label, style.sequence(len(settings))[settings.index(label)]
        x = np.arange(1, values.shape[1] + 1)
        mean, lo, hi = mean_and_band(values)
        (lines[name],) = ax.plot(x, mean, linewidth=1.8, color=c, label=name)
        style.band(ax, x, lo, hi, c, clip=None, alpha=0.22)
        runs.add(values.shape[0])
    for text, value in (references or {}).items():
        style.reference_line(ax, value, text, at="left")
    if ylim is not None:
        ax.set_ylim(*ylim)
    elif references:                 # room above the highest reference for its label, under the note
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, max(hi, max(references.values()) + 0.12 * (hi - lo)))
    style.label_ends(ax, lines)
    note = style.band_note(min(runs), over="runs") if len(runs) == 1 else \
        f"band: 95% CI of the mean, {min(runs)}-{max(runs)} runs"
    style.finish(ax, title=title, note=note, xlabel="episode", ylabel=ylabel)
    return fig
