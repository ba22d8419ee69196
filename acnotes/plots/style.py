"""The series' one visual language: every figure, panel and saved PNG draws with these.

One colour and one display name per algorithm (the Okabe-Ito palette, safe for the common
colour-vision deficiencies), one way to write each setting, sizes chosen for the JupyterLab
column, CartPole returns on a fixed [0, 500] axis, the solved line labelled in the figure,
shading that says what it is, and curves labelled where they end rather than by a legend over
the data.

    fig, ax = style.figure()
    line = ax.plot(x, y, color=style.color("a2c"))[0]
    style.band(ax, x, lo, hi, style.color("a2c"))
    style.returns_axis(ax); style.solved_line(ax)
    style.label_ends(ax, {style.name("a2c"): line})
    style.finish(ax, title="A2C learns in 100k steps", note=style.band_note(5))

Nothing here runs at import: no rcParams are changed. In a notebook, ``%config
InlineBackend.figure_formats = ["retina"]`` (the imports cell of every notebook) stores each
figure at twice its pixels, so text stays sharp on hi-dpi screens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from ..history import SOLVED

__all__ = ["PALETTE", "ALGORITHMS", "SETTINGS", "Look", "color", "name", "look", "setting", "settings",
           "number", "sci", "steps", "figure", "finish", "returns_axis", "solved_line", "band", "band_note",
           "label_ends", "legend_beside", "shades", "sequence", "steps_axis", "save", "DPI", "WIDTH",
           "HEIGHT", "FONT", "SMALL", "MIN_FONT", "SOLVED", "REFERENCE", "MUTED", "NEUTRAL", "reference_line",
           "line_look", "is_algorithm", "algorithm_of"]

# Okabe & Ito (2008), "Color universal design": eight colours told apart with every common
# colour-vision deficiency.
PALETTE = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
           "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7"}
REFERENCE = "#000000"     # exact values, the truth an estimate is compared with
MUTED = "#8C8C8C"         # reference lines (solved, zero, one) and their labels
# categories that are no algorithm (variance and bias^2, mean and seeds): greys, dark to light
NEUTRAL = ("#333333", "#8C8C8C", "#C8C8C8")


@dataclass(frozen=True)
class Look:
    """How one algorithm (or estimator of Psi_t) appears in every figure."""
    name: str      # display name, as the notebooks write it
    color: str     # its one colour


ALGORITHMS: dict[str, Look] = {
    "reinforce": Look("REINFORCE", PALETTE["blue"]),
    "reinforce_baseline": Look("REINFORCE + baseline", PALETTE["sky"]),
    "qac": Look("Q-AC", PALETTE["purple"]),
    "qac_baseline": Look("Q-AC, centred", "#882E72"),
    "a2c": Look("A2C", PALETTE["orange"]),
    "tdac": Look("TD-AC", PALETTE["green"]),
    "gae": Look("GAE(λ)", PALETTE["vermillion"]),
    "blog-tdac": Look("TD-AC (blog settings)", "#005A44"),
    "ppo": Look("PPO", "#7A4A12"),    # a dark brown: none of Okabe-Ito's eight is left for it
}
_BY_NAME = {look.name.lower(): key for key, look in ALGORITHMS.items()}

# sizes: a figure WIDTH x HEIGHT inches at DPI is WIDTH * DPI px wide as displayed (the retina
# PNG has twice the pixels and says so in its metadata), well inside JupyterLab's column at
# 1400 px; a point is DPI / 72 px, so MIN_FONT = 8 pt is 11 px on screen.
DPI = 100
WIDTH, HEIGHT = 9.0, 4.0
FONT, SMALL, MIN_FONT = 11.0, 9.5, 8.0
SOLVED = SOLVED


def algorithm_of(cfg) -> str:
    """The key in ``ALGORITHMS`` under which a run of Config ``cfg`` is drawn: its estimator
    (``cfg.algo``), or ``"ppo"`` when it trains with PPO's loss (``cfg.uses_epochs()``: the
    ``ppo`` presets are GAE(λ)'s Ψ_t with epochs of clipped updates), whatever its env."""
    return "ppo" if cfg.uses_epochs() else cfg.algo


def _key(label) -> str | None:
    """The key in ``ALGORITHMS`` of an algorithm's key or display name, or of a preset's name
    (``acnotes.presets``: ``"gae-pendulum"`` is GAE(λ), ``"ppo-pendulum"`` PPO); else None."""
    if label in ALGORITHMS:
        return label
    key = _BY_NAME.get(str(label).lower())
    if key is None and isinstance(label, str):
        from ..config import Config
        from ..presets import PRESETS
        if label in PRESETS:
            key = algorithm_of(Config(**PRESETS[label]))
    return key


def look(algo: str) -> Look:
    """The ``Look`` of an algorithm, by key (``"a2c"``), display name (``"A2C"``) or the name of
    one of its presets (``"a2c-pendulum"``: one algorithm, one colour and name on every env)."""
    key = _key(algo)
    if key is None:
        raise ValueError(f"no colour for {algo!r}: the series draws {', '.join(ALGORITHMS)}")
    return ALGORITHMS[key]


def is_algorithm(label) -> bool:
    """Whether ``label`` names an algorithm (by key, display name or preset)."""
    return _key(label) is not None


def line_look(label, k: int = 0, n: int = 8) -> tuple[str, str]:
    """(display name, colour) of the k-th of n curves: an algorithm's own name and colour,
    else the k-th colour of ``sequence(n)`` and the label as given (never an algorithm's colour)."""
    if is_algorithm(label):
        return name(label), color(label)
    return str(label), sequence(max(n, 1))[k % max(n, 1)]


def color(algo: str) -> str:
    """The one colour of an algorithm in every figure."""
    return look(algo).color


def name(algo: str) -> str:
    """The display name of an algorithm (REINFORCE, Q-AC, A2C, TD-AC, GAE(λ))."""
    return look(algo).name


def number(x: float) -> str:
    """A value written short and plain: 0.99, 0.001, 16, 0 (``sci`` for step sizes)."""
    x = float(x)
    return "0" if x == 0 else f"{x:.4g}"


def sci(x: float) -> str:
    """A step size in powers of ten, short: 1e-3, 2.5e-4, 0."""
    x = float(x)
    if x == 0:
        return "0"
    mant, exp = f"{x:.2e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}"


# field -> (symbol shown, how its value is written); the symbols of the notebooks' formulas
SETTINGS = {
    "gamma": ("γ", number),
    "lam": ("λ", number),
    "lr": ("lr", sci),
    "critic_lr": ("critic lr", sci),
    "ent_coef": ("entropy β", number),
    "n_steps": ("n", lambda v: str(int(v))),
    "n_envs": ("envs", lambda v: str(int(v))),
}
_ALIASES = {"lambda": "lam", "entropy": "ent_coef", "beta": "ent_coef"}


def setting(field: str, value) -> str:
    """One setting written the one way: ``setting("gamma", 0.99)`` -> ``"γ = 0.99"``."""
    field = _ALIASES.get(field, field)
    symbol, fmt = SETTINGS.get(field, (field, number))
    return f"{symbol} = {fmt(value)}"


def settings(**values) -> str:
    """Several settings, comma-separated, in the order given."""
    return ", ".join(setting(k, v) for k, v in values.items())


def steps(x: float, _pos=None) -> str:
    """A count of env steps, compact: 0, 500, 20k, 150k, 1.5M."""
    x = float(x)
    if abs(x) >= 1e6:
        return f"{x / 1e6:.3g}M"
    if abs(x) >= 1e3:
        return f"{x / 1e3:.3g}k"
    return f"{x:.0f}"


def figure(ncols: int = 1, nrows: int = 1, width: float = WIDTH, height: float = HEIGHT, **kw):
    """A new figure in the series' size, laid out so labels beside the axes fit:
    ``(fig, ax)`` for one axes, ``(fig, axes)`` otherwise (as ``plt.subplots``)."""
    kw.setdefault("squeeze", True)
    return plt.subplots(nrows, ncols, figsize=(width, height), dpi=DPI, layout="constrained", **kw)


def steps_axis(ax, label: str = "env steps") -> None:
    """An x axis of env steps with compact ticks (100k, not 100000)."""
    ax.xaxis.set_major_formatter(FuncFormatter(steps))
    ax.set_xlabel(label)


def returns_axis(ax, window: int | None = None, label: str | None = None, top: float = 500) -> None:
    """CartPole-v1's return on its whole range, [0, 500] (or [0, ``top``] under a shorter
    time limit), whatever the curves do."""
    ax.set_ylim(0, top * 1.01)
    ax.set_yticks(np.linspace(0, top, 6))
    ax.set_ylabel(label or ("return" if window is None else f"return (mean of last {window} episodes)"))


def solved_line(ax, value: float = SOLVED, text: str | None = None, at: str = "left") -> None:
    """The solved threshold, dotted, labelled inside the axes at its left end (where learning
    curves start, far below it; ``at="right"`` for its right end). A negative value is written
    with the minus sign the tick labels use (Pendulum's "solved (−200)")."""
    reference_line(ax, value, text or f"solved ({value:g})".replace("-", "\N{MINUS SIGN}"), at=at)


def reference_line(ax, value: float, text: str, axis: str = "y", color: str = MUTED,
                   linestyle: str = ":", at: str = "right") -> None:
    """A reference line (zero, one, log 2, a preset's value), labelled at its end: a
    horizontal line (``axis="y"``) at its right end (``at="left"``: its left end, where the
    data leave room), a vertical one (``axis="x"``) at its foot (``at="top"``: near its top)."""
    if axis == "y":
        ax.axhline(value, color=color, linestyle=linestyle, linewidth=1.2, zorder=1)
        left = at == "left"
        ax.annotate(text, xy=(0.0 if left else 1.0, value), xycoords=("axes fraction", "data"),
                    xytext=(4 if left else -4, 3), textcoords="offset points", ha="left" if left else "right",
                    va="bottom", fontsize=SMALL, color=color)
    else:
        ax.axvline(value, color=color, linestyle=linestyle, linewidth=1.2, zorder=1)
        top = at == "top"
        ax.annotate(text, xy=(value, 0.88 if top else 0.0), xycoords=("data", "axes fraction"), xytext=(3, 0 if top else 4),
                    textcoords="offset points", ha="left", va="top" if top else "bottom", fontsize=SMALL, color=color)


def band(ax, x, lo, hi, color: str, clip: tuple[float, float] | None = (0.0, 500.0), alpha: float = 0.18):
    """A shaded band between ``lo`` and ``hi``, clipped to what the quantity can be."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if clip is not None:
        lo, hi = np.clip(lo, *clip), np.clip(hi, *clip)
    return ax.fill_between(x, lo, hi, color=color, alpha=alpha, linewidth=0)


def band_note(seeds: int, kind: str = "ci", over: str = "seeds") -> str:
    """What a band means, said in the figure: ``"band: 95% CI of the mean, 5 seeds"``."""
    what = {"ci": "95% CI of the mean", "minmax": "min to max", "sd": "± 1 standard deviation"}[kind]
    return f"band: {what}, {seeds} {over[:-1] if seeds == 1 else over}"


def shades(color_: str, n: int, lightest: float = 0.72, darkest: float = 0.28, toward: str = "#ffffff") -> list[str]:
    """``n`` muted versions of ``color_`` for earlier settings, oldest palest, each told apart
    from its neighbours (blended with ``toward``, white, from ``lightest`` to ``darkest``, 72% to
    28%; blended with ``MUTED`` grey instead, the shades stay legible as text on white)."""
    import matplotlib.colors as mc
    rgb, to = np.array(mc.to_rgb(color_)), np.array(mc.to_rgb(toward))
    if n <= 0:
        return []
    mix = np.linspace(lightest, darkest, n) if n > 1 else np.array([(lightest + darkest) / 2])
    return [mc.to_hex(rgb * (1 - m) + to * m) for m in mix]


def sequence(n: int, cmap: str = "viridis") -> list[str]:
    """``n`` colours in order (for a swept setting: n, gamma, a ratio), not algorithm colours:
    viridis from dark purple to green, stopping before its pale yellow end (too faint on white);
    ordered in lightness, so the order reads in grey and with every colour-vision deficiency,
    and its neighbours stay apart (cividis, tried before, is grey in its middle third)."""
    import matplotlib.colors as mc
    cm = plt.get_cmap(cmap)
    return [mc.to_hex(cm(v)) for v in np.linspace(0.0, 0.82, max(n, 1))][:n]


def _last(line) -> tuple[float, float] | None:
    x, y = (np.asarray(v, dtype=float) for v in line.get_data())
    ok = np.isfinite(x) & np.isfinite(y)
    return (float(x[ok][-1]), float(y[ok][-1])) if ok.any() else None


def label_ends(ax, lines: Mapping[str, object], gap: float = 0.075) -> None:
    """Write each line's label just right of where it ends, in its colour, moved apart
    vertically so no two overlap (``gap``: the least distance, a fraction of the axes' height)."""
    ends = []
    ax.get_ylim()                            # settle the limits, then place in axes fractions (log axes too)
    to_axes = ax.transData + ax.transAxes.inverted()
    for label, line in lines.items():
        end = _last(line)
        pos = float(to_axes.transform(end)[1]) if end is not None else np.nan
        if np.isfinite(pos):                 # (a zero on a log axis has no place)
            ends.append([min(max(pos, 0.0), 1.0), label, line.get_color()])
    ends.sort(key=lambda e: e[0])
    for i in range(1, len(ends)):            # push up what sits too close to the one below
        ends[i][0] = max(ends[i][0], ends[i - 1][0] + gap)
    top = 1.0
    for e in reversed(ends):                 # then down from the top edge
        e[0] = min(e[0], top)
        top = e[0] - gap
    for pos, label, c in ends:
        ax.annotate(label, xy=(1.0, pos), xycoords="axes fraction", xytext=(6, 0),
                    textcoords="offset points", va="center", ha="left", fontsize=FONT - 1, color=c,
                    fontweight="bold", annotation_clip=False)


def legend_beside(ax, handles=None, labels=None, title: str | None = None, where: str = "right"):
    """A legend outside the axes (right of them, or below with ``where="below"``), never on
    the data."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    if where == "below":
        return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=min(len(handles), 4),
                         fontsize=SMALL, title=title, title_fontsize=SMALL, frameon=False)
    return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=SMALL,
                     title=title, title_fontsize=SMALL, frameon=False, borderaxespad=0)


def finish(ax, title: str | None = None, note: str | None = None, xlabel: str | None = None,
           ylabel: str | None = None, grid: str = "both") -> None:
    """Sizes, grid and title in the series' style. ``title`` says what to look at; ``note``
    (a second, smaller grey line) says what the shading or the marks are."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    ax.xaxis.label.set_fontsize(FONT)
    ax.yaxis.label.set_fontsize(FONT)
    ax.tick_params(labelsize=SMALL)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if grid:
        ax.grid(alpha=0.25, axis=grid)
    if title or note:
        ax.set_title(title or "", fontsize=FONT + 1, loc="left")
        if note:
            ax.text(0.0, 1.0, note, transform=ax.transAxes, fontsize=SMALL, color="#555555",
                    ha="left", va="bottom")
            if title:  # the note sits under the title: lift the title by one line
                ax.title.set_position((0.0, 1.0))
                ax.set_title(title, fontsize=FONT + 1, loc="left", pad=4 + 1.6 * SMALL)
    for t in ax.texts:
        if t.get_fontsize() < MIN_FONT:
            t.set_fontsize(MIN_FONT)


def save(fig, path, dpi: int = 2 * DPI, **kw) -> None:
    """Write ``fig`` as a PNG at twice the display pixels (as a retina notebook stores it);
    other keywords (``format="png"`` for a file name without a suffix) go to ``savefig``."""
    fig.savefig(path, dpi=dpi, bbox_inches="tight", **kw)
