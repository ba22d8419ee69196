"""Interactive panels for the notebooks: move a slider, the agent retrains, the plot redraws.

    acn.widgets.learning_panel(["a2c", "tdac"], preset="a2c")

A panel is a column of controls, a progress bar, a message line and an Output widget that
holds the plot. Every redraw runs inside a guard: a bad value or a diverging run shows a
message in the panel, and the panel stays usable.
"""

from __future__ import annotations

import time
import warnings
from typing import Callable, Sequence

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import display

from .. import plots
from ..config import Config, preset as _preset
from ..history import History
from ..train import train

__all__ = ["Panel", "learning_panel", "gamma_slider", "lr_slider"]


def gamma_slider(value: float = 0.99, min: float = 0.8, max: float = 1.0) -> W.FloatSlider:
    """The discount slider; its label is "gamma"."""
    return W.FloatSlider(value=value, min=min, max=max, step=0.005, description="gamma",
                         readout_format=".3f", continuous_update=False)


def lr_slider(value: float = 1e-3, min_exp: float = -5, max_exp: float = -1) -> W.FloatLogSlider:
    """The learning-rate slider (log scale); its label is "lr"."""
    return W.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=0.1,
                            description="lr", readout_format=".1e", continuous_update=False)


class Panel(W.VBox):
    """Controls + progress + message + plot, redrawn whenever a control changes.

    Args:
        draw: ``draw(values, progress) -> Figure``. ``values`` maps each control's name to
            its value; ``progress(fraction)`` moves the progress bar. It may raise
            ValueError (shown as a message) or return a Figure.
        controls: name -> widget; each widget's ``value`` is observed.
        auto: draw once now.
    """

    def __init__(self, draw: Callable, controls: dict[str, W.ValueWidget], auto: bool = True):
        self._draw = draw
        self.controls = controls
        self.progress = W.FloatProgress(value=0.0, min=0.0, max=1.0, description="progress",
                                        layout=W.Layout(width="60%"))
        self.message = W.HTML(value="")
        self.output = W.Output()
        self.seconds = float("nan")  # wall time of the last redraw
        self.figure = None
        for w in controls.values():
            w.observe(self._on_change, names="value")
        super().__init__([W.HBox(list(controls.values()), layout=W.Layout(flex_flow="row wrap")),
                          self.progress, self.message, self.output])
        if auto:
            self.redraw()

    @property
    def values(self) -> dict:
        return {k: w.value for k, w in self.controls.items()}

    def _on_change(self, change):
        self.redraw()

    def _set_progress(self, fraction: float):
        self.progress.value = max(0.0, min(1.0, float(fraction)))

    def redraw(self):
        """Run ``draw`` with the current values and show the result or the error."""
        t0 = time.perf_counter()
        self.progress.value = 0.0
        self.progress.bar_style = ""
        self.message.value = "<i>working...</i>"
        try:
            fig = self._draw(self.values, self._set_progress)
        except ValueError as e:  # a bad setting: say which, keep the old plot
            self.progress.bar_style = "danger"
            self.message.value = f"<b style='color:#b00'>Not run:</b> {_html(str(e))}"
            return None
        except Exception as e:  # anything else: report it, stay usable
            self.progress.bar_style = "danger"
            self.message.value = f"<b style='color:#b00'>Error:</b> {type(e).__name__}: {_html(str(e))}"
            return None
        self.seconds = time.perf_counter() - t0
        self.progress.value = 1.0
        note = getattr(fig, "_acn_message", "")
        self.message.value = note or f"done in {self.seconds:.1f} s"
        with self.output:
            self.output.clear_output(wait=True)
            display(fig)
        plt.close(fig)
        self.figure = fig
        return fig


def _html(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def learning_panel(algos: Sequence[str] | str = ("a2c",), preset: str | None = None,
                   seeds: Sequence[int] = (0, 1), total_steps: int = 20_000,
                   gamma: float | None = None, lr: float | None = None, window: int = 20,
                   auto: bool = True, **fixed) -> Panel:
    """A panel that trains on CartPole-v1 and draws the learning curves over ``seeds``.

    The sliders set gamma and lr (and a menu picks the algorithm when several are given);
    everything else comes from ``preset`` (a name from ``acnotes.presets``) or ``fixed``.
    A run that diverges is reported in the message line; its partial curve is drawn.
    ``panel.histories`` holds the Histories of the last redraw.
    """
    algos = [algos] if isinstance(algos, str) else list(algos)
    base = _preset(preset, **fixed) if preset else Config(**fixed)
    base = base.replace(total_steps=int(total_steps))
    controls: dict[str, W.ValueWidget] = {
        "gamma": gamma_slider(base.gamma if gamma is None else gamma),
        "lr": lr_slider(base.lr if lr is None else lr),
    }
    if len(algos) > 1:
        controls["algo"] = W.Dropdown(options=algos, value=algos[0], description="algorithm")
    seeds = list(seeds)

    def draw(values, progress):
        cfg = base.replace(algo=values.get("algo", algos[0]), gamma=float(values["gamma"]),
                           lr=float(values["lr"])).validate()
        hists, notes = [], []
        for i, s in enumerate(seeds):
            def cb(h, i=i):
                progress((i + h.total_steps / cfg.total_steps) / len(seeds))
            with warnings.catch_warnings():  # divergence is reported in the panel instead
                warnings.simplefilter("ignore", RuntimeWarning)
                _, h = train(cfg.replace(seed=s), progress=False, callback=cb)
            hists.append(h)
            if h.status == "diverged":
                notes.append(f"seed {s} diverged: {h.message}")
        panel.histories = hists
        label = f"{cfg.algo}, gamma={cfg.gamma:.3f}, lr={cfg.lr:.1e}"
        fig = plots.learning_curves({label: hists}, window=window, target=475.0)
        if notes:
            fig._acn_message = "<b style='color:#b60'>Warning:</b> " + _html("; ".join(notes))
        return fig

    panel = Panel(draw, controls, auto=False)
    panel.histories: list[History] = []
    if auto:
        panel.redraw()
    return panel
