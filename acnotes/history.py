"""``History``: what happened during a training run, per update and per episode."""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._files import read_json, write_text

__all__ = ["History", "curve_on_grid", "SOLVED", "PENDULUM_SOLVED", "solved_threshold"]

STATUSES = ("running", "done", "target reached", "diverged", "interrupted")
_INT_LISTS = ("steps", "episode_lengths", "episode_steps")
_FLOAT_LISTS = ("time", "actor_loss", "critic_loss", "grad_norm", "entropy", "episode_returns")
# strict JSON has no NaN or infinity: History.save writes them as these strings
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_CSV_HEADER = "episode,return,length,env_steps"

# CartPole-v1 counts as solved at a mean return of 475 over 100 consecutive episodes
# (gymnasium's reward_threshold for v1); the one place the number is written.
SOLVED = 475.0
# Pendulum-v1 has no reward_threshold in gymnasium; a swing-up held from every start is usually
# reported at about -200 per 200-step episode or better (notebook 11's bar for its seeds)
PENDULUM_SOLVED = -200.0
_SOLVED_BY_ENV = {"CartPole-v1": SOLVED, "Pendulum-v1": PENDULUM_SOLVED}


def solved_threshold(env: str) -> float:
    """The mean return of 100 episodes that counts as solved on ``env``."""
    return _SOLVED_BY_ENV[env]


@dataclass
class History:
    """What happened during a run.

    Per update: ``steps`` (env steps so far), ``time`` (wall seconds so far),
    ``actor_loss``, ``critic_loss``, ``grad_norm`` (before clipping), ``entropy`` (the
    policy's mean entropy over the batch). Per finished episode:
    ``episode_returns``, ``episode_lengths``, ``episode_steps`` (env steps when it ended).
    ``status`` is "done", "target reached", "diverged" or "interrupted".
    """

    config: dict = field(default_factory=dict)
    steps: list[int] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    actor_loss: list[float] = field(default_factory=list)
    critic_loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    entropy: list[float] = field(default_factory=list)
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    episode_steps: list[int] = field(default_factory=list)
    status: str = "running"
    message: str = ""

    @property
    def total_steps(self) -> int:
        return self.steps[-1] if self.steps else 0

    @property
    def wall_time(self) -> float:
        return self.time[-1] if self.time else 0.0

    def rolling_return(self, window: int = 100) -> np.ndarray:
        """Mean return of the last ``window`` episodes (fewer at the start), per episode."""
        r = np.asarray(self.episode_returns, dtype=float)
        if r.size == 0:
            return r
        c = np.cumsum(np.insert(r, 0, 0.0))
        i = np.arange(1, r.size + 1)
        lo = np.maximum(0, i - window)
        return (c[i] - c[lo]) / (i - lo)

    def solved_at(self, threshold: float = SOLVED, window: int = 100) -> tuple[int, float] | None:
        """(env steps, wall seconds) when the mean of the last ``window`` episodes first
        reached ``threshold`` with at least ``window`` episodes played; None if never."""
        roll = self.rolling_return(window)
        ok = np.flatnonzero((roll >= threshold) & (np.arange(roll.size) >= window - 1))
        if ok.size == 0:
            return None
        step = self.episode_steps[ok[0]]
        k = int(np.searchsorted(self.steps, step))
        secs = self.time[min(k, len(self.time) - 1)] if self.time else float("nan")
        return step, secs

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> Path:
        """Write the History to ``path``, atomically; the suffix chooses the format.

        ``.json``: every field, as strict JSON (RFC 8259 has no NaN or infinity): a
        non-finite number in a list of numbers (a loss that diverged, say) is written as the
        string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``, and ``load`` turns it back into
        the float. ``config`` must hold finite numbers only.

        ``.csv``: one row per episode, ``episode,return,length,env_steps`` (a return exact: 500
        for a whole number, else all the digits it needs); ``load`` reads back those columns, and ``steps`` as the
        env steps at the last episode. Per-update fields and the status are not in a CSV.
        """
        path = Path(path)
        if path.suffix == ".csv":
            rows = [_CSV_HEADER + "\n"]
            for i, (r, n, s) in enumerate(zip(self.episode_returns, self.episode_lengths, self.episode_steps)):
                rows.append(f"{i},{_csv_number(float(r))},{int(n)},{int(s)}\n")
            text = "".join(rows)
        elif path.suffix == ".json":
            d = self.to_dict()
            for k in _FLOAT_LISTS:
                d[k] = [_encode(x) for x in d[k]]
            try:
                text = json.dumps(d, allow_nan=False)
            except ValueError:
                raise ValueError(f"History.config holds a non-finite number; it cannot be saved as "
                                 f"JSON: {self.config!r}") from None
        else:
            raise ValueError(f"history file must end in .json or .csv, got {path.name!r}")
        return write_text(path, text)

    @classmethod
    def load(cls, path: str | Path) -> "History":
        """Read a History written by ``save`` (``.json`` or ``.csv``, by the suffix).

        Also reads JSON written before non-finite numbers were encoded (bare ``NaN``). A
        ValueError names the file, and the field that is wrong.
        """
        path = Path(path)
        if path.suffix == ".csv":
            return _load_csv(cls, path)
        try:
            d = read_json(path)
        except ValueError as e:
            raise ValueError(f"cannot read a History from {path}: {e}") from None
        names = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(d, dict) or set(d) - set(names):
            extra = sorted(set(d) - set(names)) if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"{path} is not a History saved by History.save (.json): "
                             f"unexpected {extra}; expected keys {names}")
        return cls(**_checked(d, path))


def _csv_number(x: float) -> str:
    """``x`` as CSV text that reads back exactly: 500 for a whole number, else Python's shortest
    exact form (0.30000000000000004, nan, inf)."""
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 else repr(x)


def _encode(x):
    """A number for strict JSON: a non-finite float as "NaN", "Infinity" or "-Infinity"."""
    if isinstance(x, numbers.Real) and not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    return x


def _checked(d: dict, path: Path) -> dict:
    """The fields of a History read from ``path``, checked (and non-finite numbers decoded)."""
    def bad(name, rule, value):
        text = repr(value)
        raise ValueError(f"{path}: {name} must be {rule}, got {text[:60]}{'...' if len(text) > 60 else ''}")

    def is_int(x):
        return isinstance(x, int) and not isinstance(x, bool)

    out = dict(d)
    for k in _INT_LISTS:
        if k in d and not (isinstance(d[k], list) and all(is_int(x) for x in d[k])):
            bad(k, "a list of integers", d[k])
    for k in _FLOAT_LISTS:
        if k not in d:
            continue
        v = d[k]
        ok = isinstance(v, list) and all(
            (isinstance(x, (int, float)) and not isinstance(x, bool)) or x in _NON_FINITE for x in v)
        if not ok:
            bad(k, 'a list of numbers ("NaN", "Infinity", "-Infinity" for non-finite ones)', v)
        out[k] = [_NON_FINITE[x] if isinstance(x, str) else float(x) for x in v]
    if "config" in d and not isinstance(d["config"], dict):
        bad("config", "a mapping of settings", d["config"])
    if "status" in d and d["status"] not in STATUSES:
        bad("status", "one of " + ", ".join(STATUSES), d["status"])
    if "message" in d and not isinstance(d["message"], str):
        bad("message", "a string", d["message"])
    return out


def _load_csv(cls, path: Path) -> "History":
    """The episode columns of a History saved as CSV."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read a History from {path}: {e}") from None
    if not lines or lines[0].strip() != _CSV_HEADER:
        raise ValueError(f"{path} is not a History saved by History.save (.csv): the first line must be "
                         f"{_CSV_HEADER!r}")
    h = cls()
    for i, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            _, r, n, s = line.split(",")
            h.episode_returns.append(float(r))
            h.episode_lengths.append(int(n))
            h.episode_steps.append(int(s))
        except ValueError:
            raise ValueError(f"{path}, line {i}: expected episode,return,length,env_steps, got {line!r}") from None
    h.steps = h.episode_steps[-1:]
    return h


def curve_on_grid(h: History, grid: np.ndarray, window: int = 20) -> np.ndarray:
    """Rolling mean return of the last ``window`` episodes, as known at each grid step.

    Before the first episode ends the value is NaN. After the run ends it stays at the
    last value (a run that stopped early because it reached its target keeps that level).
    """
    roll = h.rolling_return(window)
    if roll.size == 0:
        return np.full(len(grid), np.nan)
    idx = np.searchsorted(np.asarray(h.episode_steps), grid, side="right") - 1
    out = np.where(idx >= 0, roll[np.clip(idx, 0, None)], np.nan)
    return out
