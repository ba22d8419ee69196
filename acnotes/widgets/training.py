"""Training panels: move a slider, a population of seeds retrains, the curves redraw.

    acn.widgets.learning_panel(["a2c", "tdac"], preset="a2c", total_steps=100_000)

A panel is a row of controls, a message line (and, only while a setting trains live, a
progress bar); its plot is an ordinary output of the cell, below the controls, shown with
``IPython.display.display(fig, display_id=...)`` and replaced in place on every redraw. So a
notebook executed with its panels keeps the default view as a PNG, which a static render (or
a student before Run All) sees, and the panel's text form is one plain sentence. Every
redraw runs inside a guard: a bad value or a diverging run shows a message in the panel, and
the panel stays usable.
"""

from __future__ import annotations

import re
import time
import warnings
from typing import Sequence

import ipywidgets as W
import numpy as np

from .. import plots
from ..stored import atlas
from ..config import Config
from ..history import PENDULUM_SOLVED
from ..plots import style
from ..plots.continuous import PENDULUM_RANGE
from ..train import train_population
from .panel import _SMALL, Panel, _html

__all__ = ["Panel", "learning_panel", "control_slider", "gamma_slider", "lr_slider", "CONTROLS",
           "COLLAPSED_BELOW", "FIRST_GUESS_RATE", "EARLIER_SHOWN", "estimate_seconds", "collapsed"]


def gamma_slider(value: float = 0.99, min: float = 0.8, max: float = 1.0) -> W.FloatSlider:
    """A free discount slider in steps of 0.01 (a panel offers fixed values instead:
    ``control_slider``); its label is "gamma"."""
    return W.FloatSlider(value=value, min=min, max=max, step=0.01, description="gamma",
                         readout_format=".2f", continuous_update=False)


def lr_slider(value: float = 1e-3, min_exp: float = -5, max_exp: float = -1, description: str = "lr") -> W.FloatLogSlider:
    """A learning-rate slider (log scale, steps of 10^0.1); its label is ``description``."""
    return W.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=0.1,
                            description=description, readout_format=".1e", continuous_update=False)


# control name -> (the slider's label, the Config field whose style writes its values)
_SLIDERS = {"gamma": ("gamma", "gamma"), "lr": ("lr", "lr"), "critic_lr": ("critic lr", "critic_lr"),
            "lambda": ("lambda", "lam"), "entropy": ("entropy", "ent_coef"), "n_steps": ("n_steps", "n_steps")}
CONTROLS = tuple(_SLIDERS)

# A seed has collapsed when it diverged, or when its return at the end (the mean of its last
# 20 episodes) is below COLLAPSED_BELOW: under a random policy's return (about 22), where a
# policy that saturated on one action sits (about 9).
COLLAPSED_BELOW = 15.0
# what a panel draws differently per env: the solved line (``history.solved_threshold``: 475 on
# CartPole-v1, -200 on Pendulum-v1), the range of returns, the collapse threshold (Pendulum-v1
# has no return that marks a collapse: only divergence does)
_VIEW = {"CartPole-v1": dict(target=style.SOLVED, yrange=None, below=COLLAPSED_BELOW),
         "Pendulum-v1": dict(target=PENDULUM_SOLVED, yrange=PENDULUM_RANGE, below=None)}
# env steps per second of a panel's population (5 seeds) before one was timed in this session:
# measured on 2 cores at 32k (REINFORCE, long episodes) to 76k (A2C); the lower end, so the
# first estimate is not too short
FIRST_GUESS_RATE = 35_000.0
_RATES: dict[str, float] = {}   # algorithm -> env steps per second of its last live training
EARLIER_SHOWN = 5               # earlier settings drawn beside the current one (the newest)
_DASHES = ("--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)))   # their line styles, one per look


def estimate_seconds(algo: str, env_steps: int) -> float:
    """How long training ``env_steps`` env steps (over all seeds) of ``algo`` will take: at the
    rate of the last live training of ``algo`` in this session, else of any algorithm, else
    ``FIRST_GUESS_RATE``."""
    rate = _RATES.get(algo) or (list(_RATES.values())[-1] if _RATES else FIRST_GUESS_RATE)
    return env_steps / rate


def _value_text(name: str, value) -> str:
    return style.setting(_SLIDERS[name][1], value).split(" = ", 1)[1]


def control_slider(name: str, base: Config) -> W.SelectionSlider:
    """The slider of control ``name`` for a panel whose default setting is ``base``: its
    positions are ``acn.atlas.control_values(name, base)`` (written as ``style.setting``
    writes them: 0.99, 1e-3), its value the default's."""
    label, _ = _SLIDERS[name]
    values = atlas.control_values(name, base)
    value = getattr(base, atlas.CONTROLS[name])
    value = base.lr if value is None else value
    return W.SelectionSlider(options=[(_value_text(name, v), v) for v in values], value=value, description=label,
                             continuous_update=False)


def _parts(cfg: Config, names: Sequence[str]) -> list[str]:
    """A setting written the one way (``style.setting``): ["A2C", "γ = 0.99", "lr = 1e-3"],
    only the panel's controls that ``cfg.algo`` uses."""
    parts = [style.name(cfg.algo)]
    for name in names:
        field_ = atlas.CONTROLS[name]
        if atlas.uses(cfg.algo, field_):
            v = getattr(cfg, field_)
            parts.append(style.setting(field_, cfg.lr if v is None else v))
    return parts


def _describe(cfg: Config, names: Sequence[str]) -> str:
    """A setting in words: "A2C, γ = 0.99, lr = 1e-3"."""
    return ", ".join(_parts(cfg, names))


_MEMBER = re.compile(r"^member \d+ \([^)]*\):\s*")
_AFTER = re.compile(r"\s*after (\d+) env steps.*$", re.S)


def _final(curve: np.ndarray) -> float:
    ok = np.isfinite(curve)
    return float(curve[ok][-1]) if ok.any() else float("nan")


def collapsed(runs: Sequence[atlas.Stored], seeds: Sequence[int], below: float | None = COLLAPSED_BELOW) -> list[str]:
    """What happened to each collapsed seed, in plain words with its seed number: a seed
    collapsed when it diverged, or when its return at the end (the mean of its last 20
    episodes) is below ``below`` (``COLLAPSED_BELOW``; None: only divergence)."""
    out = []
    for seed, r in zip(seeds, runs):
        if r.status == "diverged":
            msg = _MEMBER.sub("", r.message or "")
            when = _AFTER.search(msg)
            what = _AFTER.sub("", msg).strip()
            out.append(f"seed {seed} diverged" + (f" ({what})" if what else "")
                       + (f" after {style.steps(int(when.group(1)))} env steps" if when else ""))
        elif below is not None and _final(r.curve) < below:
            out.append(f"seed {seed} ended at a return of {_final(r.curve):.1f}")
    return out


def learning_panel(algos: Sequence[str] | str = ("a2c",), preset: str | None = None,
                   seeds: Sequence[int] = range(5), total_steps: int = 100_000,
                   controls: Sequence[str] = ("gamma", "lr"), auto: bool = True, **fixed) -> Panel:
    """A panel that trains ``seeds`` as one population on the preset's env (CartPole-v1, or Pendulum-v1
    with ``a2c-pendulum`` or ``gae-pendulum``: returns on [-1600, 0], the solved line at -200) and draws the mean
    learning curve (the mean return of the last 20 episodes) with a 95% band.

    ``controls`` picks the sliders, from ``CONTROLS`` ("gamma", "lr", "critic_lr",
    "lambda", "entropy", "n_steps"); each offers the values ``acn.atlas.control_values``
    lists. A menu picks the algorithm when several are given; a slider the chosen algorithm
    does not use (lambda but for GAE, a critic's lr without a critic) is disabled. Everything
    else comes from ``preset`` (a name from ``acnotes.presets``) or ``fixed``.

    The setting of the sliders is drawn solid, in its algorithm's colour, with its band; the
    ``EARLIER_SHOWN`` settings drawn before it stay as thin curves in muted shades of their
    algorithm's colour and line styles, each labelled with its setting; a setting keeps its
    look for the session ("clear" removes the thin curves, and changes no colour).
    A setting is trained once: returning to it redraws at once. A notebook panel's settings
    one slider move from its default, and every combination of its first two sliders, are
    stored with the package (``acn.atlas``) and drawn without training and without a
    progress bar. Before a setting trains live the message says how long it will take
    (``estimate_seconds``). Collapsed seeds (diverged, or a final return below
    ``COLLAPSED_BELOW``) are counted and named by seed in the message line.
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
    panel = _LearningPanel(algos, base, seeds, tuple(controls)).panel
    if auto:
        panel.redraw()
    return panel


class _LearningPanel:
    """What a learning panel remembers between redraws, and how it draws a setting: from
    this session's memo, from the stored atlas, or trained live."""

    def __init__(self, algos: list[str], base: Config, seeds: list[int], controls: tuple[str, ...]):
        self.algos, self.base, self.seeds, self.controls = algos, base, seeds, controls
        self.total = base.total_steps
        self.grid = atlas.grid(self.total)
        widgets: dict[str, W.ValueWidget] = {name: control_slider(name, base) for name in controls}
        if len(algos) > 1:
            widgets["algo"] = W.Dropdown(options=[(style.name(a), a) for a in algos], value=algos[0],
                                         description="algorithm")
        self.widgets = widgets
        self.results: dict[str, tuple[Config, list[atlas.Stored]]] = {}   # setting -> (Config, runs)
        self.trail: list[str] = []   # settings drawn before, oldest first
        self.looks: dict[str, tuple[str, str]] = {}   # setting -> (colour, line style) while it is drawn thin
        self.counts: dict[str, int] = {}              # algorithm -> looks handed out so far
        self.told = False            # the first stored setting says where stored runs come from
        clear = W.Button(description="clear", tooltip="remove the thin curves of earlier settings",
                         layout=W.Layout(width="80px"))
        panel = Panel(self.draw, widgets, auto=False, buttons=[clear], summary=self.summary())
        self.panel = panel
        self.enable(algos[0])
        clear.on_click(self.on_clear)
        panel.clear_button = clear
        panel.histories, panel.runs, panel.source = [], [], None
        panel.results = self.results
        panel.trail = self.trail

    def summary(self) -> str:
        names = ", ".join(_SLIDERS[c][0] for c in self.controls) + (" slider" if len(self.controls) == 1 else " sliders")
        summary = (f"learning panel ({' or '.join(style.name(a) for a in self.algos)}): {names}; "
                   f"run the notebook to move them")
        return summary if len(summary) <= 110 else f"learning panel: {names}; run the notebook to move them"

    def on_clear(self, _):
        del self.trail[:-1]
        if self.panel.figure is not None:
            self.panel.redraw()

    def setting(self, values) -> Config:
        algo = values.get("algo", self.algos[0])
        # a field the algorithm ignores keeps its default
        changes = {atlas.CONTROLS[n]: values[n] for n in self.controls}
        changes = {k: v for k, v in changes.items() if atlas.uses(algo, k)}
        return self.base.replace(algo=algo, **changes).validate()

    def enable(self, algo: str):
        for name in self.controls:
            used = atlas.uses(algo, atlas.CONTROLS[name])
            self.widgets[name].disabled = not used
            self.widgets[name].tooltip = None if used else f"{style.name(algo)} does not use {_SLIDERS[name][0]}"

    def look(self, key: str, algo: str, taken: set) -> tuple[str, object]:
        """A thin curve's (colour, line style): the next of its algorithm's looks, kept for the
        session; only if another thin curve on the plot has it already, the first free one."""
        colours = style.shades(style.color(algo), EARLIER_SHOWN, lightest=0.6, darkest=0.15, toward=style.MUTED)
        options = list(zip(colours, _DASHES))    # EARLIER_SHOWN looks per algorithm
        if key not in self.looks:
            k = self.counts.get(algo, 0)
            self.counts[algo] = k + 1
            self.looks[key] = options[k % EARLIER_SHOWN]
        if self.looks[key] in taken:
            self.looks[key] = next(o for o in options if o not in taken)
        taken.add(self.looks[key])
        return self.looks[key]

    def figure(self, cfg: Config, curves: np.ndarray, earlier_keys: list[str]):
        # what all drawn settings share goes in the title; each curve is labelled by the rest
        results = self.results
        cfgs = [results[k][0] for k in earlier_keys] + [cfg]
        parts = [_parts(c, self.controls) for c in cfgs]
        shared = [p for p in parts[-1] if all(p in q for q in parts)]
        label_of = lambda q: ", ".join(p for p in q if p not in shared) or q[0]   # else the algorithm's name
        label = label_of(parts[-1])
        faded, fcolors, fstyles, taken = {}, {}, {}, set()
        for k, q in zip(earlier_keys, parts):
            lab = label_of(q)
            faded[lab] = np.stack([r.curve for r in results[k][1]])
            fcolors[lab], fstyles[lab] = self.look(k, results[k][0].algo, taken)
        note = style.band_note(len(curves)) + ("; thin: earlier settings" if faded else "")
        title = ", ".join(shared + [f"{style.steps(self.total)} env steps"])
        view = _VIEW[self.base.env]
        return plots.learning_curves({label: curves}, grid=self.grid, target=view["target"], yrange=view["yrange"],
                                     faded=faded,
                                     colors={label: style.color(cfg.algo)}, faded_colors=fcolors,
                                     faded_styles=fstyles, note=note, title=title)

    def train_live(self, cfg: Config, earlier: list[str], progress) -> list:
        """Train the panel's seeds of ``cfg`` now, with a progress bar and the curves so far
        every 25%; keep what is drawn of them in ``results``. Returns their Histories."""
        seeds, total = self.seeds, self.total
        shown, drawn = [0.0], [0.0]
        guess = estimate_seconds(cfg.algo, len(seeds) * total)
        self.panel.message.value = _html(f"training {len(seeds)} seeds live, about {guess:.0f} s")
        progress(0.0)

        def cb(hs):  # move the bar every 2%; show the curves so far every 25%
            done = max(h.total_steps for h in hs) / total
            if done - drawn[0] >= 0.25 and done < 0.9:
                shown[0] = drawn[0] = done
                progress(done, self.figure(cfg, atlas.curves(hs, total, upto=done * total), earlier))
            elif done - shown[0] >= 0.02:
                shown[0] = done
                progress(done)
        t1 = time.perf_counter()
        with warnings.catch_warnings():  # divergence is reported in the panel instead
            warnings.simplefilter("ignore", RuntimeWarning)
            runs = train_population([cfg.replace(seed=s) for s in seeds], progress=False, callback=cb)
        hists = [h for _, h in runs]
        if any(h.status == "interrupted" for h in hists):
            raise KeyboardInterrupt
        took = time.perf_counter() - t1
        _RATES[cfg.algo] = sum(h.total_steps for h in hists) / max(took, 1e-3)
        self.results[atlas.key(cfg)] = (cfg, [atlas.Stored(c, h.status, h.message)
                                              for c, h in zip(atlas.curves(hists, total), hists)])
        return hists

    def draw(self, values, progress):
        t0 = time.perf_counter()
        cfg = self.setting(values)
        self.enable(cfg.algo)
        key = atlas.key(cfg)
        earlier = [k for k in self.trail if k != key][-EARLIER_SHOWN:]
        hists = []
        if key in self.results:
            source = "memo"
        elif (stored := atlas.lookup([cfg.replace(seed=s) for s in self.seeds])) is not None:
            source, self.results[key] = "stored", (cfg, stored)
        else:
            source, hists = "trained", self.train_live(cfg, earlier, progress)
        runs = self.results[key][1]
        panel = self.panel
        panel.runs, panel.histories, panel.source = runs, hists, source
        if key in self.trail:
            self.trail.remove(key)
        self.trail.append(key)
        fig = self.figure(cfg, np.stack([r.curve for r in runs]), earlier)
        return fig, self.message(cfg, source, runs, time.perf_counter() - t0)

    def message(self, cfg: Config, source: str, runs: list, seconds: float) -> str:
        """The message line: where the curves come from, and which seeds collapsed."""
        what = _describe(cfg, self.controls)
        if source == "stored":
            text = f"{what}: from the stored runs, drawn in {seconds:.2f} s"
            if not self.told:
                self.told = True
                self.panel.footnote.value = (
                    f"<div style='{_SMALL}'>Stored runs: every setting one slider move from "
                    "the default, and every pair of the first two sliders' values, was "
                    "trained beforehand (<code>python -m acnotes atlas</code>) and is drawn "
                    "at once; any other setting trains live.</div>")
                self.panel.footnote.layout.display = "flex"
        elif source == "memo":
            text = f"{what}: drawn before in this session, redrawn in {seconds:.2f} s"
        else:
            text = f"{what}: trained now, {len(self.seeds)} seeds in {seconds:.1f} s"
        text = _html(text)
        below = _VIEW[self.base.env]["below"]
        bad = collapsed(runs, self.seeds, below)
        if bad:
            rule = "diverged" if below is None else f"diverged, or a final return below {below:g}"
            text = (f"<b style='color:#b60'>{len(bad)} of {len(runs)} seeds collapsed:</b> "
                    + _html("; ".join(bad)) + f" <small>(collapsed: {rule})</small><br>" + text)
        return text
