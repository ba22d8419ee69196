"""The figures of notebook 11 (continuous actions): the LQR's exact objective against Monte Carlo,
the variance of the gradient estimators against the policy's sigma, and the Pendulum-v1 runs.

    acn.plots.lqr_objective(k, {"σ = 0.37": J, ...}, mc={"σ = 0.37": (k_points, means, half_widths)}, k_star=1.1)
    acn.plots.variance_by_sigma(sigmas, {"reinforce": v1, "reinforce_baseline": v2, ...})
    acn.plots.pendulum_runs(acn.stored.pendulum.load())
    acn.plots.pendulum_engine_runs(acn.stored.pendulumruns.load(), acn.stored.pendulum.load())
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from . import style
from .learning import mean_and_band

__all__ = ["lqr_objective", "variance_by_sigma", "pendulum_runs", "pendulum_engine_runs", "PENDULUM_RANGE",
           "ESTIMATOR_NAMES"]

PENDULUM_RANGE = (-1600.0, 0.0)   # where means of many 200-step episodes lie (one episode: [-3254, 0])

# the LQR's Psi_t, named as the series names them (each in its algorithm's colour), and the
# pathwise gradient, which is no Psi_t (drawn in black)
ESTIMATOR_NAMES = {"reinforce": "REINFORCE", "baseline": "REINFORCE + baseline",
                   "advantage": "A2C's Ψ with the exact A", "pathwise": "pathwise (reparameterised)"}
_KEYS = {"reinforce": "reinforce", "baseline": "reinforce_baseline", "advantage": "a2c"}


def _estimator_look(key: str) -> tuple[str, str]:
    if key in _KEYS:
        return ESTIMATOR_NAMES[key], style.color(_KEYS[key])
    return ESTIMATOR_NAMES.get(key, key), style.REFERENCE


def lqr_objective(k, curves: Mapping[str, np.ndarray], mc: Mapping[str, tuple] | None = None,
                  k_star: float | None = None, title: str | None = None):
    """The exact J(k) for each sigma (lines, one colour per sigma), Monte Carlo means with their
    95% intervals (dots with bars, ``mc[label] = (k_points, means, half_widths)``), and the best
    gain ``k_star`` (a dotted vertical line). Returns the Figure."""
    fig, ax = style.figure()
    colors = dict(zip(curves, style.sequence(len(curves))))
    lines = {}
    for label, J in curves.items():
        (lines[label],) = ax.plot(k, J, color=colors[label], linewidth=1.8, label=label)
    for label, (kp, m, half) in (mc or {}).items():
        ax.errorbar(kp, m, yerr=half, fmt="o", color=colors[label], markersize=5, capsize=3, label="_mc")
    if k_star is not None:
        style.reference_line(ax, k_star, f"k* = {k_star:.3f}", axis="x", at="top")
    style.label_ends(ax, lines)
    style.finish(ax, title=title, note="lines: the closed form; dots: Monte Carlo means, bars: their 95% interval",
                 xlabel="gain k  (a = -k s + σ ε)", ylabel="J(k, log σ)")
    return fig


def variance_by_sigma(sigmas, variances: Mapping[str, np.ndarray], title: str | None = None, B: int | None = None,
                      what: str = "dJ/dk"):
    """The variance of one coordinate (``what``) of each estimator's estimate (keys of
    ``lqr.estimates``) against sigma, log-log, labelled where each ends. Returns the Figure."""
    fig, ax = style.figure()
    lines = {}
    for key, v in variances.items():
        name, c = _estimator_look(key)
        (lines[name],) = ax.plot(sigmas, v, "o-", color=c, linewidth=1.8, markersize=4, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(list(sigmas), [style.number(x) for x in sigmas])
    ax.minorticks_off()
    style.label_ends(ax, lines)
    note = f"the variance of the {what} part of one estimate" + (f" from B = {B} episodes" if B else "")
    style.finish(ax, title=title, note=note, xlabel="σ of the policy", ylabel=f"variance of the {what} estimate")
    return fig


def pendulum_runs(data: dict, window: int = 100, points: int = 61, title: str | None = None):
    """The stored Pendulum-v1 runs (``acnotes.stored.pendulum``): each seed's mean return of its
    last ``window`` episodes (thin grey), their mean over seeds with its 95% band (GAE(λ)'s
    colour), on [-1600, 0], where the means of a first policy and of a good one lie. Returns the Figure."""
    grid = np.linspace(0.0, float(data["total_steps"]), points)
    curves = _curves(data["runs"], grid, window)
    fig, ax = style.figure()
    for c in curves:
        ax.plot(grid, c, color=style.NEUTRAL[2], linewidth=1.0, label="_seed")
    mean, lo, hi = mean_and_band(curves)
    name = f"{style.name('gae')}, Gaussian policy"
    (line,) = ax.plot(grid, mean, color=style.color("gae"), linewidth=2.2, label=name)
    style.band(ax, grid, lo, hi, style.color("gae"), clip=PENDULUM_RANGE)
    ax.set_ylim(PENDULUM_RANGE[0], PENDULUM_RANGE[1] + 20)
    style.steps_axis(ax)
    style.label_ends(ax, {name: line})
    style.finish(ax, title=title, note=f"{style.band_note(len(curves))}; grey: each seed",
                 ylabel=f"return (mean of last {window} episodes)")
    return fig


def _curves(runs, grid, window: int) -> np.ndarray:
    """[seeds, len(grid)]: each stored run's mean return of its last ``window`` episodes on ``grid``."""
    from ..history import History, curve_on_grid

    out = []
    for run in runs:
        h = History(episode_returns=list(run["episode_returns"]), episode_steps=list(run["episode_steps"]),
                    episode_lengths=[200] * len(run["episode_returns"]), status=run["status"])
        out.append(curve_on_grid(h, grid, window))
    return np.array(out, dtype=float)


def pendulum_engine_runs(engine: dict, reference: dict | None = None, window: int = 100, points: int = 61,
                         title: str | None = None):
    """The engine's stored Pendulum-v1 runs (``acnotes.stored.pendulumruns``): for each preset the
    mean over seeds of the mean return of the last ``window`` episodes, with its 95% band, in its
    algorithm's colour and under its name; beside them, if given, the mean of the reference file's
    runs (``acnotes.stored.pendulum``, GAE(λ) too: its colour, dashed, no band). On [-1600, 0], to
    the longer of the two budgets. Returns the Figure."""
    total = max(engine["total_steps"], reference["total_steps"] if reference else 0)
    grid = np.linspace(0.0, float(total), points)
    fig, ax = style.figure()
    lines = {}
    for preset, runs in engine["runs"].items():
        algo = engine["configs"][preset]["algo"]
        curves = _curves(runs, grid, window)
        mean, lo, hi = mean_and_band(curves)
        name = f"{style.name(algo)}, engine"
        (lines[name],) = ax.plot(grid, mean, color=style.color(algo), linewidth=2.2, label=name)
        style.band(ax, grid, lo, hi, style.color(algo), clip=PENDULUM_RANGE)
    if reference is not None:
        mean, _, _ = mean_and_band(_curves(reference["runs"], grid, window))
        name = f"{style.name('gae')}, reference file"
        (lines[name],) = ax.plot(grid, mean, color=style.color("gae"), linewidth=1.6, linestyle="--", label=name)
    ax.set_ylim(PENDULUM_RANGE[0], PENDULUM_RANGE[1] + 20)
    style.steps_axis(ax)
    style.label_ends(ax, lines)
    n = len(next(iter(engine["runs"].values())))
    note = style.band_note(n) + ("; dashed: the reference file's mean, no band" if reference is not None else "")
    style.finish(ax, title=title, note=note, ylabel=f"return (mean of last {window} episodes)")
    return fig

