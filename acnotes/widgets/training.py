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
import numpy as np
from IPython.display import display

from .. import atlas, plots
from ..config import Config
from ..train import train_population

__all__ = ["Panel", "learning_panel", "control_slider", "gamma_slider", "lr_slider", "CONTROLS"]


def gamma_slider(value: float = 0.99, min: float = 0.8, max: float = 1.0) -> W.FloatSlider:
    """The discount slider; its label is "gamma"."""
    return W.FloatSlider(value=value, min=min, max=max, step=0.001, description="gamma",
                         readout_format=".3f", continuous_update=False)


def lr_slider(value: float = 1e-3, min_exp: float = -5, max_exp: float = -1, description: str = "lr") -> W.FloatLogSlider:
    """A learning-rate slider (log scale, steps of 10^0.1); its label is ``description``."""
    return W.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=0.1,
                            description=description, readout_format=".1e", continuous_update=False)


# control name -> (the slider's label, the readout format of its values)
_SLIDERS = {"gamma": ("gamma", "{:.3f}"), "lr": ("lr", "{:.1e}"), "critic_lr": ("critic lr", "{:.1e}"),
            "lambda": ("lambda", "{:.2f}"), "entropy": ("entropy", "{:g}"), "n_steps": ("n_steps", "{:d}")}
CONTROLS = tuple(_SLIDERS)


def control_slider(name: str, base: Config) -> W.SelectionSlider:
    """The slider of control ``name`` for a panel whose default setting is ``base``: its
    positions are ``acn.atlas.control_values(name, base)``, its value the default's."""
    label, fmt = _SLIDERS[name]
    values = atlas.control_values(name, base)
    value = getattr(base, atlas.CONTROLS[name])
    value = base.lr if value is None else value
    return W.SelectionSlider(options=[(fmt.format(v), v) for v in values], value=value, description=label,
                             continuous_update=False)


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
        field = atlas.CONTROLS[name]
        if not atlas.uses(cfg.algo, field):
            continue
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
                   controls: Sequence[str] = ("gamma", "lr"), auto: bool = True, **fixed) -> Panel:
    """A panel that trains ``seeds`` as one population on CartPole-v1 and draws the mean
    learning curve (the mean return of the last 20 episodes) with a 95% band.

    ``controls`` picks the sliders, from ``CONTROLS`` ("gamma", "lr", "critic_lr",
    "lambda", "entropy", "n_steps"); each offers the values ``acn.atlas.control_values``
    lists. A menu picks the algorithm when several are given. Everything else comes from
    ``preset`` (a name from ``acnotes.presets``) or ``fixed``.

    A setting is trained once: returning to it redraws at once. A notebook panel's settings
    one slider move from its default, and every combination of its first two sliders, are
    stored with the package (``acn.atlas``) and drawn without training. Earlier settings
    stay on the plot as faded curves until "clear" is pressed.
    Diverged seeds are named in the message line; their partial curves are drawn.
    ``panel.runs`` holds what is drawn of each seed of the setting shown (``atlas.Stored``),
    ``panel.histories`` their Histories when they were trained in this session (else []),
    ``panel.source`` says which ("trained", "stored" or "memo"), ``panel.results`` holds every
    setting drawn so far.
    """
    algos = [algos] if isinstance(algos, str) else list(algos)
    seeds = list(seeds)
    if len(seeds) < 1:
        raise ValueError("seeds must name at least one seed")
    if "window" in fixed:
        raise ValueError(f"window={fixed['window']!r}: a panel draws the mean of the last {atlas.WINDOW} "
                         f"episodes, fixed so that stored settings match; for another window, train with "
                         f"acn.train.train_population and draw with acn.plots.learning_curves(..., window=...)")
    unknown = [c for c in controls if c not in CONTROLS]
    if unknown:
        raise ValueError(f"unknown control(s) {unknown}; choose from {sorted(CONTROLS)}")
    base = atlas.base_config(algos[0], preset, total_steps, **fixed)
    total = base.total_steps
    widgets: dict[str, W.ValueWidget] = {name: control_slider(name, base) for name in controls}
    if len(algos) > 1:
        widgets["algo"] = W.Dropdown(options=algos, value=algos[0], description="algorithm")
    clear = W.Button(description="clear", tooltip="remove the faded curves of earlier settings",
                     layout=W.Layout(width="80px"))
    results: dict[str, tuple[str, list[atlas.Stored]]] = {}   # setting -> (label, runs)
    trail: list[str] = []  # settings drawn before, oldest first
    sources = {"trained": " (trained now)", "stored": " (stored: computed by <code>python -m acnotes atlas</code>)",
               "memo": " (drawn before)"}

    def setting(values) -> Config:
        algo = values.get("algo", algos[0])
        changes = {atlas.CONTROLS[n]: values[n] for n in controls}  # a field the algorithm ignores keeps its default
        changes = {k: v for k, v in changes.items() if atlas.uses(algo, k)}
        return base.replace(algo=algo, **changes).validate()

    def draw(values, progress):
        t0 = time.perf_counter()
        cfg = setting(values)
        key = atlas._key(cfg)
        label = _label(cfg, controls)
        earlier = {results[k][0]: np.stack([r.curve for r in results[k][1]]) for k in trail if k != key}
        cfgs = [cfg.replace(seed=s) for s in seeds]
        hists = []
        if key in results:
            source = "memo"
        elif (stored := atlas.lookup(cfgs)) is not None:
            source, results[key] = "stored", (label, stored)
        else:
            source, shown, drawn = "trained", [0.0], [0.0]

            def cb(hs):  # move the bar every 2%; show the curves so far every 25%
                done = max(h.total_steps for h in hs) / total
                if done - drawn[0] >= 0.25 and done < 0.9:
                    shown[0] = drawn[0] = done
                    now = atlas.curves(hs, total, upto=done * total)
                    progress(done, plots.learning_curves({label: now}, grid=grid, target=475.0, faded=earlier))
                elif done - shown[0] >= 0.02:
                    shown[0] = done
                    progress(done)
            with warnings.catch_warnings():  # divergence is reported in the panel instead
                warnings.simplefilter("ignore", RuntimeWarning)
                runs = train_population(cfgs, progress=False, callback=cb)
            hists = [h for _, h in runs]
            if any(h.status == "interrupted" for h in hists):
                raise KeyboardInterrupt
            results[key] = (label, [atlas.Stored(c, h.status, h.message)
                                    for c, h in zip(atlas.curves(hists, total), hists)])
        runs_ = results[key][1]
        panel.runs, panel.histories, panel.source = runs_, hists, source
        if key in trail:
            trail.remove(key)
        trail.append(key)
        fig = plots.learning_curves({label: np.stack([r.curve for r in runs_])}, grid=grid, target=475.0,
                                    faded=earlier)
        bad = [r for r in runs_ if r.status == "diverged"]
        if bad:
            return fig, ("<b style='color:#b60'>Warning:</b> " + f"{len(bad)} of {len(runs_)} seeds diverged: "
                         + _html("; ".join(r.message for r in bad[:2])) + sources[source])
        return fig, f"done in {time.perf_counter() - t0:.1f} s{sources[source]}"

    grid = atlas.grid(total)
    panel = Panel(draw, widgets, auto=False, buttons=[clear])

    def on_clear(_):
        del trail[:-1]
        if panel.figure is not None:
            panel.redraw()

    clear.on_click(on_clear)
    panel.clear_button = clear
    panel.histories, panel.runs, panel.source = [], [], None
    panel.results = results
    panel.trail = trail
    if auto:
        panel.redraw()
    return panel
