"""The sensitivity panel: choose a (gamma, lr) cell of a stored map and see its curves."""

from __future__ import annotations

import time

import ipywidgets as W

from ..config import preset
from ..plots import style
from ..plots.sensitivity import sensitivity_map
from ..stored.sensitivity import load
from .panel import _SMALL, Panel

__all__ = ["sensitivity_panel"]


def sensitivity_panel(algo: str = "a2c", data: dict | None = None, auto: bool = True) -> Panel:
    """A ``Panel`` with a "gamma" and an "lr" selector over the grid of the stored map of
    ``algo`` (or ``data``, as made by ``acnotes.stored.sensitivity.compute``). The heatmap marks the
    chosen cell and its seeds' learning curves are drawn beside it; nothing is trained, so
    a change redraws at once (no progress bar)."""
    data = load(algo) if data is None else data
    g, lrs = data["grid"]["gammas"], data["grid"]["lrs"]
    start = preset(data["grid"]["preset"])  # start at the preset's cell, or the middle one
    controls = {
        "gamma": W.SelectionSlider(options=[(style.number(x), x) for x in g], description="gamma",
                                   value=start.gamma if start.gamma in g else g[len(g) // 2],
                                   continuous_update=False),
        "lr": W.SelectionSlider(options=[(style.sci(x), x) for x in lrs], description="lr",
                                value=start.lr if start.lr in lrs else lrs[len(lrs) // 2],
                                continuous_update=False),
    }

    def draw(values, progress):
        t0 = time.perf_counter()
        fig = sensitivity_map(data, values["gamma"], values["lr"])
        return fig, (f"{style.settings(gamma=values['gamma'], lr=values['lr'])}: a cell of the map, "
                     f"drawn in {time.perf_counter() - t0:.2f} s")

    p = Panel(draw, controls, auto=auto,
              summary=f"sensitivity panel ({style.name(algo)}): gamma and lr sliders over a stored map; "
                      f"run the notebook to move them",
              footnote=f"<div style='{_SMALL}'>Every cell of the map was trained beforehand (<code>python -m "
                       "acnotes sensitivity</code>): a move redraws at once, nothing trains.</div>")
    p.data = data
    return p
