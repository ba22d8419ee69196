"""Figures of notebook 7's stored ablations (``acnotes.stored.ablations``): the entropy bonus's
effect on the policy's entropy and on the return. The rows are plain dicts (one per seed),
so this module needs no training code."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from . import style

__all__ = ["entropy_plot"]


def _array(rows, key: str, start: int = 0) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in m[key][start:]] for m in rows], dtype=float)


def entropy_plot(curve_steps, rows_by_beta: Mapping[float, Sequence[dict]], algo: str = "qac",
                 title: str | None = None):
    """Left: the policy's mean entropy per interval of env steps, one line per entropy bonus
    beta, with log 2 (the uniform policy over two actions) labelled. Right: the mean return
    (20-episode rolling mean). Betas are a swept setting: a sequence of colours, each line
    labelled where it ends. ``rows_by_beta`` maps beta to its seeds' stored rows."""
    steps = np.asarray(curve_steps, dtype=float)
    mids = (steps[:-1] + steps[1:]) / 2
    fig, (ax, bx) = style.figure(ncols=2, height=4.3)
    colors = style.sequence(len(rows_by_beta))
    ent_lines, ret_lines, seeds = {}, {}, set()
    for (beta, rows), c in zip(rows_by_beta.items(), colors):
        label = style.setting("ent_coef", beta)
        seeds.add(len(rows))
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            (ent_lines[label],) = ax.plot(mids, np.nanmean(_array(rows, "entropy"), 0), color=c, lw=2)
        (ret_lines[label],) = bx.plot(steps[1:], _array(rows, "curve", 1).mean(0), color=c, lw=2)
    style.reference_line(ax, float(np.log(2)), "log 2: uniform")
    ax.set_ylim(bottom=0)
    style.steps_axis(ax)
    style.label_ends(ax, ent_lines)
    style.returns_axis(bx, 20)
    style.steps_axis(bx)
    style.solved_line(bx)
    style.label_ends(bx, ret_lines)
    n = min(seeds) if seeds else 0
    style.finish(ax, title="policy entropy", note=f"mean over {n} seeds", ylabel="entropy (nats)")
    style.finish(bx, title=f"{style.name(algo)}'s return", note=f"mean over {n} seeds, no band")
    if title:
        fig.suptitle(title, fontsize=style.FONT + 1, x=0.01, ha="left")
    return fig
