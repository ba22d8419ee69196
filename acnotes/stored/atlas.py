"""The panels' atlas: stored results for the settings a panel's sliders reach.

A training panel (``acn.widgets.learning_panel``) trains 5 seeds at its notebook's budget for
each setting, which takes 5-30 s on a laptop. So that a slider move shows its effect at
once, the settings a student reaches most are computed beforehand:

    python -m acnotes atlas                 # every notebook's panel (about an hour on 2 cores)
    python -m acnotes atlas --only 04       # one panel
    python -m acnotes atlas --only 04 --add # only the settings its file lacks

For each panel in ``PANELS`` and each of its algorithms, ``settings`` are trained: the *star*
(the default, and each control at each of its values, ``control_values``, with the other
controls at their defaults) and the *plane* (every combination of the first two controls'
values, gamma x lr in most notebooks). A panel with two sliders is thus stored whole; in a
panel with more, a setting that moves a third slider together with another is trained live.
All members of one algorithm train as one population. Of each member the atlas keeps what
the panel draws: its learning curve (the mean return of the last ``WINDOW`` episodes) on
``POINTS`` evenly spaced env steps, its status and its message. The files live in
``acnotes/data/atlas/``, one per panel.

A panel looks every setting up by its full Config, seed included, so a stored result is
used only for exactly the run it replaces. A member of a population follows its single run,
so a stored member equals the member a panel would train; ``tests/test_atlas.py`` retrains
one stored setting and compares. Settings not stored
are trained live, as before, and then kept for the session.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .._files import atomic_path
from ..config import Config, preset as _preset
from ..history import History
from . import summary

__all__ = ["PanelSpec", "PANELS", "CONTROLS", "control_values", "uses", "base_config", "star", "plane",
           "settings", "grid",
           "curves", "Stored", "key", "lookup", "compute", "save", "load", "POINTS", "WINDOW"]

POINTS, WINDOW = 101, 20   # a panel's curves: 101 points from 0 to its budget, mean of 20 episodes

# ---------------------------------------------------------------------- the controls
# control name -> Config field. The values a control offers are fixed lists (below), so that
# every position of a slider is a setting worth looking at, and can be stored.
CONTROLS: dict[str, str] = {"gamma": "gamma", "lr": "lr", "critic_lr": "critic_lr",
                            "lambda": "lam", "entropy": "ent_coef", "n_steps": "n_steps"}

GAMMAS = (0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 1.0)
LAMBDAS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.97, 0.99, 1.0)
ENTROPIES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
ROLLOUTS = (1, 2, 4, 8, 16, 32)
LR_FACTORS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)   # a learning rate: the default x these


def _round(x: float) -> float:
    """Two significant digits: what the panel's readout shows is the value used."""
    return float(f"{x:.2g}")


def control_values(name: str, cfg: Config) -> tuple:
    """The values control ``name`` offers in a panel whose default setting is ``cfg``:
    always including the default, and for the critic's learning rate also the actor's (so
    that "lower the critic's lr to the actor's" is one position)."""
    if name not in CONTROLS:
        raise ValueError(f"unknown control {name!r}; choose from {sorted(CONTROLS)}")
    field_ = CONTROLS[name]
    value = getattr(cfg, field_)
    if name == "lr":
        values = [_round(value * f) for f in LR_FACTORS]
    elif name == "critic_lr":
        value = cfg.lr if value is None else value
        values = [_round(value * f) for f in LR_FACTORS] + [cfg.lr]
    else:
        values = list({"gamma": GAMMAS, "lambda": LAMBDAS, "entropy": ENTROPIES, "n_steps": ROLLOUTS}[name])
    values.append(value)
    kind = int if name == "n_steps" else float
    return tuple(sorted({kind(v) for v in values}))


# ---------------------------------------------------------------------- the notebooks' panels
@dataclass(frozen=True)
class PanelSpec:
    """A notebook's training panel: what ``learning_panel`` is called with."""
    algos: tuple[str, ...]
    preset: str
    total_steps: int
    controls: tuple[str, ...] = ("gamma", "lr")
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    fixed: dict = field(default_factory=dict, hash=False)

    def kwargs(self) -> dict:
        """``acn.widgets.learning_panel(**panel.kwargs())`` builds this panel."""
        return dict(algos=list(self.algos), preset=self.preset, total_steps=self.total_steps,
                    seeds=list(self.seeds), controls=self.controls, **self.fixed)


# notebook number -> its panel (the call in the notebook must match; tests/test_atlas.py checks)
PANELS: dict[str, PanelSpec] = {
    "01": PanelSpec(("reinforce", "reinforce_baseline"), "reinforce", 50_000),
    "02": PanelSpec(("qac", "a2c"), "a2c", 50_000, ("gamma", "lr", "critic_lr"),
                    fixed=dict(lr=1e-3, critic_lr=1e-2, max_grad_norm=None)),
    "03": PanelSpec(("a2c", "reinforce_baseline"), "a2c", 100_000),
    "04": PanelSpec(("tdac", "gae", "a2c"), "tdac", 150_000, ("gamma", "lr", "critic_lr", "lambda")),
    "06": PanelSpec(("a2c", "tdac", "gae", "qac", "reinforce"), "a2c", 100_000, ("gamma", "lr", "entropy")),
    "07": PanelSpec(("qac", "a2c"), "a2c", 50_000, ("entropy", "lr"),
                    fixed=dict(lr=1e-3, critic_lr=1e-2, max_grad_norm=None)),
    # Pendulum-v1 (a Gaussian policy): one slider, the actor's lr, at a budget where learning has
    # begun; a setting trains 5 x 200k env steps, so a second slider's plane is not stored
    "11": PanelSpec(("gae", "a2c"), "gae-pendulum", 200_000, ("lr",)),
}


def uses(algo: str, field_: str) -> bool:
    """Whether ``algo``'s training depends on Config field ``field_`` (lambda matters only to
    the estimators that declare it in ``uses``, GAE; a critic's learning rate only to
    algorithms with a critic)."""
    from ..estimators import ESTIMATORS

    est = ESTIMATORS[algo]
    if field_ == "lam":
        return "lam" in est.uses
    if field_ == "critic_lr":
        return est.critic is not None
    return True


def base_config(algo: str, preset: str | None, total_steps: int, **fixed) -> Config:
    """A panel's default setting for ``algo``: the preset, ``fixed`` on top, the budget."""
    base = _preset(preset, **fixed) if preset else Config(**fixed)
    return base.replace(algo=algo, total_steps=int(total_steps)).validate()


def star(panel: PanelSpec) -> list[Config]:
    """Every setting one control move away from the panel's default, the default first, for
    each algorithm (seed 0; one Config per setting, without duplicates)."""
    out: list[Config] = []
    for algo in panel.algos:
        base = base_config(algo, panel.preset, panel.total_steps, **panel.fixed)
        out.append(base)
        for name in panel.controls:
            if not uses(algo, CONTROLS[name]):
                continue
            for v in control_values(name, base):
                cfg = base.replace(**{CONTROLS[name]: v}).validate()
                if cfg not in out:
                    out.append(cfg)
    return out


def plane(panel: PanelSpec) -> list[Config]:
    """Every combination of the values of the panel's first two controls (gamma x lr in most
    notebooks), the others at their defaults, for each algorithm that uses both fields
    (seed 0). Together with ``star`` this is every setting of a two-slider panel, and every
    setting of a larger one in which only the first two sliders moved."""
    out: list[Config] = []
    if len(panel.controls) < 2:
        return out
    first, second = panel.controls[:2]
    for algo in panel.algos:
        if not (uses(algo, CONTROLS[first]) and uses(algo, CONTROLS[second])):
            continue
        base = base_config(algo, panel.preset, panel.total_steps, **panel.fixed)
        for u in control_values(first, base):
            for v in control_values(second, base):
                cfg = base.replace(**{CONTROLS[first]: u, CONTROLS[second]: v}).validate()
                if cfg not in out:
                    out.append(cfg)
    return out


def settings(panel: PanelSpec) -> list[Config]:
    """What the atlas stores for ``panel`` (seed 0): ``star`` and then ``plane``, without
    duplicates."""
    out = star(panel)
    seen = {_key(c) for c in out}
    for cfg in plane(panel):
        if _key(cfg) not in seen:
            seen.add(_key(cfg))
            out.append(cfg)
    return out


# ---------------------------------------------------------------------- curves
def grid(total_steps: int) -> np.ndarray:
    """The env steps at which a panel draws its curves."""
    return np.linspace(0.0, float(total_steps), POINTS)


def curves(hists: Sequence[History], total_steps: int, upto: float | None = None) -> np.ndarray:
    """[members, POINTS] learning curves on ``grid(total_steps)``; NaN after ``upto`` env steps
    (for the partial curves of a run still training)."""
    g = grid(total_steps)
    out = np.stack([summary(h, total_steps, POINTS, WINDOW, digits=None)["curve"] for h in hists]) if hists \
        else np.empty((0, POINTS))
    if upto is not None:
        out[:, g > upto] = np.nan
    return out


@dataclass
class Stored:
    """What a panel keeps of one run: its curve, status and message."""
    curve: np.ndarray
    status: str
    message: str = ""


def key(cfg: Config | dict) -> str:
    """The key under which a run of ``cfg`` (seed included) is stored and looked up: its
    full Config as sorted JSON."""
    d = cfg.to_dict() if isinstance(cfg, Config) else Config(**cfg).to_dict()
    return json.dumps(d, sort_keys=True)


_key = key


# ---------------------------------------------------------------------- files
_INDEX: dict[str, Stored] | None = None


def _folder() -> Path:
    return Path(str(resources.files("acnotes") / "data" / "atlas"))   # one file per panel


def save(members: list[tuple[Config, Stored]], path: str | Path) -> Path:
    """Write ``members`` as gzip-compressed JSON, atomically."""
    rows = [dict(config=cfg.to_dict(), status=s.status, message=s.message,
                 curve=[None if np.isnan(v) else round(float(v), 3) for v in s.curve])
            for cfg, s in members]
    text = json.dumps(dict(points=POINTS, window=WINDOW, members=rows), separators=(",", ":"))
    path = Path(path)
    with atomic_path(path) as tmp:
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            f.write(text)
    return path


def load(path: str | Path, strict: bool = False) -> dict[str, Stored]:
    """One atlas file: Config key -> Stored. Rows whose Config is no longer valid are skipped,
    and a file of other ``points`` or ``window`` reads as empty; with ``strict`` both raise a
    ValueError instead (for ``atlas --add``, which must not take a file it cannot read for an
    empty one and replace it)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or not isinstance(data.get("members"), list):
        raise ValueError("not an object with a list of members")
    if data.get("points") != POINTS or data.get("window") != WINDOW:
        if strict:
            raise ValueError(f"its curves have points={data.get('points')!r}, window={data.get('window')!r}; "
                             f"this version stores points={POINTS}, window={WINDOW}")
        return {}
    out = {}
    names = set(Config.__dataclass_fields__)
    for i, row in enumerate(data["members"]):
        if not (isinstance(row, dict) and isinstance(row.get("config"), dict)
                and isinstance(row.get("curve"), list) and "status" in row):
            raise ValueError(f"member {i} is not a row of config, status and curve")
        cfg = row["config"]
        try:   # written by save (Config.to_dict): the same fields need no second validation
            key = json.dumps(cfg, sort_keys=True) if set(cfg) == names else _key(cfg)
        except (TypeError, ValueError) as e:   # a field that no longer exists: not this package's run
            if strict:
                raise ValueError(f"member {i}'s config is not valid here ({e})") from None
            continue
        curve = np.array([np.nan if v is None else v for v in row["curve"]], dtype=float)
        out[key] = Stored(curve, row["status"], row.get("message", ""))
    return out


def lookup(cfgs: Sequence[Config]) -> list[Stored] | None:
    """The stored results of ``cfgs`` (one per member), or None unless all are stored."""
    global _INDEX
    if _INDEX is None:
        index: dict[str, Stored] = {}
        folder = _folder()
        if folder.is_dir():
            for p in sorted(folder.glob("*.json.gz")):
                index.update(load(p))
        _INDEX = index
    found = [_INDEX.get(_key(c)) for c in cfgs]
    return None if any(s is None for s in found) else found


def _chunks(cfgs: list[Config], share: float = 0.4) -> list[list[Config]]:
    """``cfgs`` split into populations that fit in ``share`` of the free memory
    (``population_checks.split_to_fit``)."""
    from ..population_checks import split_to_fit

    return split_to_fit(cfgs, share)


def compute(panel: PanelSpec, progress: bool = True, log: Callable[[str], None] = print,
            have: dict[str, Stored] | None = None,
            checkpoint: Callable[[list[tuple[Config, Stored]]], None] | None = None) -> list[tuple[Config, Stored]]:
    """Train ``settings(panel)`` for the panel's seeds, one population per algorithm (split
    into several when one would not fit in memory).

    Members whose Config is a key of ``have`` (from ``load``) are not trained again: they are
    returned as stored, so that adding settings to a panel trains only the new ones (a member
    of a population follows its single run). ``checkpoint(members)``,
    if given, is called after each population with everything known so far (what was
    trained, and all of ``have``), so that an interrupted run loses at most one population."""
    from ..train import train_population

    have = dict(have or {})
    out: list[tuple[Config, Stored]] = []
    todo = settings(panel)
    for algo in panel.algos:
        cfgs = [c.replace(seed=s) for c in todo if c.algo == algo for s in panel.seeds]
        old = [c for c in cfgs if _key(c) in have]
        new = [c for c in cfgs if _key(c) not in have]
        out += [(c, have.pop(_key(c))) for c in old]
        if not new:
            log(f"{algo}: all {len(cfgs)} members stored")
            continue
        chunks, wanted = _chunks(new), {_key(c) for c in new}
        log(f"{algo}: {len(new)} members to train ({len(old)} stored), {panel.total_steps} env steps each"
            + (f", in {len(chunks)} populations" if len(chunks) > 1 else ""))
        for chunk in chunks:
            runs = train_population(chunk, progress=progress)
            for cfg, (_, h) in zip(chunk, runs):
                if h.status == "interrupted":
                    raise KeyboardInterrupt
                if _key(cfg) in wanted:
                    out.append((cfg, Stored(curves([h], panel.total_steps)[0], h.status, h.message)))
            if checkpoint is not None:
                checkpoint(out + _members(have))
    return out + _members(have)


def _members(stored: dict[str, Stored]) -> list[tuple[Config, Stored]]:
    """``load``'s dict back as ``(Config, Stored)`` pairs, as ``save`` takes them."""
    return [(Config(**json.loads(k)), s) for k, s in stored.items()]
