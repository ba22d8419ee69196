"""The sensitivity panel: choose a (gamma, lr) cell of a stored map and see its curves."""

from __future__ import annotations

import ipywidgets as W

from ..config import preset
from ..plots.sensitivity import sensitivity_map
from ..sensitivity import load
from .training import Panel

__all__ = ["sensitivity_panel"]


def sensitivity_panel(algo: str = "a2c", data: dict | None = None, auto: bool = True) -> Panel:
    """A ``Panel`` with a "gamma" and an "lr" selector over the grid of the stored map of
    ``algo`` (or ``data``, as made by ``acnotes.sensitivity.compute``). The heatmap marks the
    chosen cell and its seeds' learning curves are drawn beside it; nothing is trained, so
    a change redraws at once."""
    data = load(algo) if data is None else data
    g, lrs = data["grid"]["gammas"], data["grid"]["lrs"]
    start = preset(data["grid"]["preset"])  # start at the preset's cell, or the middle one
    controls = {
        "gamma": W.SelectionSlider(options=[(f"{x:g}", x) for x in g], description="gamma",
                                   value=start.gamma if start.gamma in g else g[len(g) // 2],
                                   continuous_update=False),
        "lr": W.SelectionSlider(options=[(f"{x:.1e}", x) for x in lrs], description="lr",
                                value=start.lr if start.lr in lrs else lrs[len(lrs) // 2],
                                continuous_update=False),
    }

    def draw(values, progress):
        return sensitivity_map(data, values["gamma"], values["lr"])

    p = Panel(draw, controls, auto=auto)
    p.data = data
    return p
