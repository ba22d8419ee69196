"""Training panels: move a slider, a population of seeds retrains, the curves redraw.

    acn.widgets.learning_panel(["a2c", "tdac"], preset="a2c", total_steps=100_000)

A panel is a row of controls, a progress bar, a message line and an Output widget that
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
from ..train import train_population

__all__ = ["Panel", "learning_panel", "gamma_slider", "lr_slider", "CONTROLS"]


def gamma_slider(value: float = 0.99, min: float = 0.8, max: float = 1.0) -> W.FloatSlider:
    """The discount slider; its label is "gamma"."""
    return W.FloatSlider(value=value, min=min, max=max, step=0.001, description="gamma",
                         readout_format=".3f", continuous_update=False)


def lr_slider(value: float = 1e-3, min_exp: float = -5, max_exp: float = -1, description: str = "lr") -> W.FloatLogSlider:
    """A learning-rate slider (log scale, steps of 10^0.1); its label is ``description``."""
    return W.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=0.1,
                            description=description, readout_format=".1e", continuous_update=False)


def _lam_slider(value: float) -> W.FloatSlider:
    return W.FloatSlider(value=value, min=0.0, max=1.0, step=0.05, description="lambda",
                         readout_format=".2f", continuous_update=False)


def _ent_slider(value: float) -> W.FloatSlider:
    return W.FloatSlider(value=value, min=0.0, max=0.1, step=0.005, description="entropy",
                         readout_format=".3f", continuous_update=False)


def _rollout_slider(value: int) -> W.IntSlider:
    return W.IntSlider(value=value, min=1, max=32, description="n_steps", continuous_update=False)


# control name -> (Config field, widget factory from the current value)
CONTROLS: dict[str, tuple[str, Callable]] = {
    "gamma": ("gamma", gamma_slider),
    "lr": ("lr", lr_slider),
    "critic_lr": ("critic_lr", lambda v: lr_slider(v, -5, -1, "critic lr")),
    "lambda": ("lam", _lam_slider),
    "entropy": ("ent_coef", _ent_slider),
    "n_steps": ("n_steps", _rollout_slider),
}


class Panel(W.VBox):
    """Controls + progress + message + plot, redrawn whenever a control changes.

    Args:
        draw: ``draw(values, progress)`` returns a Figure, or ``(figure, message)`` to show
            a message in place of "done in ..." (a warning, say). ``values`` maps each
            control's name to its value; ``progress(fraction)`` moves the progress bar, and
            ``progress(fraction, figure)`` also shows a partial result (message "training:
            N%"). It may raise ValueError (shown as a message, the old plot stays).
        controls: name -> widget; each widget's ``value`` is observed.
        buttons: extra widgets shown after the controls (not observed).
        auto: draw once now.
    """

    def __init__(self, draw: Callable, controls: dict[str, W.ValueWidget], auto: bool = True,
                 buttons: Sequence[W.Widget] = ()):
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
        row = W.HBox(list(controls.values()) + list(buttons), layout=W.Layout(flex_flow="row wrap"))
        super().__init__([row, self.progress, self.message, self.output])
        if auto:
            self.redraw()

    @property
    def values(self) -> dict:
        return {k: w.value for k, w in self.controls.items()}

    def _on_change(self, change):
        self.redraw()

    def _set_progress(self, fraction: float, figure=None):
        self.progress.value = max(0.0, min(1.0, float(fraction)))
        if figure is not None:
            self.message.value = f"<i>training: {100 * self.progress.value:.0f}%</i>"
            self._show(figure)

    def _show(self, fig):
        with self.output:
            self.output.clear_output(wait=True)
            display(fig)
        plt.close(fig)

    def redraw(self):
        """Run ``draw`` with the current values and show the result or the error."""
        t0 = time.perf_counter()
        self.progress.value = 0.0
        self.progress.bar_style = ""
        self.message.value = "<i>working...</i>"
        try:
            out = self._draw(self.values, self._set_progress)
        except ValueError as e:  # a bad setting: say which, keep the old plot
            self.progress.bar_style = "danger"
            self.message.value = f"<b style='color:#b00'>Not run:</b> {_html(str(e))}"
            return None
        except KeyboardInterrupt:
            self.progress.bar_style = "warning"
            self.message.value = "<b style='color:#b60'>Interrupted:</b> nothing was drawn"
            return None
        except Exception as e:  # anything else: report it, stay usable
            self.progress.bar_style = "danger"
            self.message.value = f"<b style='color:#b00'>Error:</b> {type(e).__name__}: {_html(str(e))}"
            return None
        fig, note = out if isinstance(out, tuple) else (out, "")
        self.seconds = time.perf_counter() - t0
        self.progress.value = 1.0
        self.message.value = note or f"done in {self.seconds:.1f} s"
        self._show(fig)
        self.figure = fig
        return fig


def _html(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _label(cfg: Config, names: Sequence[str]) -> str:
    parts = [cfg.algo]
    for name in names:
        field = CONTROLS[name][0]
        v = getattr(cfg, field)
        if field in ("lr", "critic_lr", "ent_coef"):
            parts.append(f"{name}={v:.1e}" if v else f"{name}=0")
        elif field == "n_steps":
            parts.append(f"n_steps={v}")
        else:
            parts.append(f"{name}={v:.3f}".rstrip("0").rstrip("."))
    return ", ".join(parts)


def learning_panel(algos: Sequence[str] | str = ("a2c",), preset: str | None = None,
                   seeds: Sequence[int] = range(5), total_steps: int = 100_000,
                   controls: Sequence[str] = ("gamma", "lr"), window: int = 20,
                   auto: bool = True, **fixed) -> Panel:
    """A panel that trains ``seeds`` as one population on CartPole-v1 and draws the mean
    learning curve with a 95% band.

    ``controls`` picks the sliders, from ``CONTROLS`` ("gamma", "lr", "critic_lr",
    "lambda", "entropy", "n_steps"); a menu picks the algorithm when several are given.
    Everything else comes from ``preset`` (a name from ``acnotes.presets``) or ``fixed``.
    Each setting is trained once: returning to it redraws at once. Earlier settings stay on
    the plot as faded curves until "clear" is pressed. Diverged seeds are named in the
    message line; their partial curves are drawn. ``panel.histories`` holds the Histories
    of the setting shown, ``panel.results`` every setting trained so far.
    """
    algos = [algos] if isinstance(algos, str) else list(algos)
    seeds = list(seeds)
    if len(seeds) < 1:
        raise ValueError("seeds must name at least one seed")
    unknown = [c for c in controls if c not in CONTROLS]
    if unknown:
        raise ValueError(f"unknown control(s) {unknown}; choose from {sorted(CONTROLS)}")
    base = _preset(preset, **fixed) if preset else Config(**fixed)
    base = base.replace(total_steps=int(total_steps), algo=algos[0]).validate()
    widgets: dict[str, W.ValueWidget] = {}
    for name in controls:
        field, make = CONTROLS[name]
        value = getattr(base, field)
        widgets[name] = make(base.lr if value is None else value)
    if len(algos) > 1:
        widgets["algo"] = W.Dropdown(options=algos, value=algos[0], description="algorithm")
    clear = W.Button(description="clear", tooltip="remove the faded curves of earlier settings",
                     layout=W.Layout(width="80px"))
    results: dict[tuple, list[History]] = {}
    trail: list[tuple] = []  # settings drawn before, oldest first

    def setting(values) -> Config:
        changes = {CONTROLS[n][0]: values[n] for n in controls}
        changes = {k: (int(v) if k == "n_steps" else float(v)) for k, v in changes.items()}
        return base.replace(algo=values.get("algo", algos[0]), **changes).validate()

    def draw(values, progress):
        cfg = setting(values)
        key = tuple(sorted(cfg.to_dict().items()))
        label = _label(cfg, controls_shown)
        earlier = {_label(Config(**dict(k)), controls_shown): results[k] for k in trail if k != key}
        if key not in results:
            shown, drawn = [0.0], [0.0]

            def cb(hists):  # move the bar every 2%; show the curves so far every 25%
                done = max(h.total_steps for h in hists) / cfg.total_steps
                if done - drawn[0] >= 0.25 and done < 0.9:
                    shown[0] = drawn[0] = done
                    progress(done, plots.learning_curves({label: hists}, window=window, target=475.0,
                                                         faded=earlier))
                elif done - shown[0] >= 0.02:
                    shown[0] = done
                    progress(done)
            with warnings.catch_warnings():  # divergence is reported in the panel instead
                warnings.simplefilter("ignore", RuntimeWarning)
                runs = train_population([cfg.replace(seed=s) for s in seeds], progress=False, callback=cb)
            hists = [h for _, h in runs]
            if any(h.status == "interrupted" for h in hists):
                raise KeyboardInterrupt
            results[key] = hists
        hists = results[key]
        panel.histories = hists
        if key in trail:
            trail.remove(key)
        trail.append(key)
        fig = plots.learning_curves({label: hists}, window=window, target=475.0, faded=earlier)
        bad = [h for h in hists if h.status == "diverged"]
        if bad:
            return fig, ("<b style='color:#b60'>Warning:</b> " + f"{len(bad)} of {len(hists)} seeds diverged: "
                         + _html("; ".join(h.message for h in bad[:2])))
        return fig

    controls_shown = list(controls)
    panel = Panel(draw, widgets, auto=False, buttons=[clear])

    def on_clear(_):
        del trail[:-1]
        if panel.figure is not None:
            panel.redraw()

    clear.on_click(on_clear)
    panel.clear_button = clear
    panel.histories = []
    panel.results = results
    panel.trail = trail
    if auto:
        panel.redraw()
    return panel
