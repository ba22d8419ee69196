"""``History``: what happened during a training run, per update and per episode."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._files import read_json, write_text

__all__ = ["History", "curve_on_grid", "SOLVED"]

# CartPole-v1 counts as solved at a mean return of 475 over 100 consecutive episodes
# (gymnasium's reward_threshold for v1); the one place the number is written.
SOLVED = 475.0


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
        """Write JSON (``.json``) or, for ``.csv``, one row per episode; atomically."""
        path = Path(path)
        if path.suffix == ".csv":
            rows = ["episode,return,length,env_steps\n"]
            for i, (r, n, s) in enumerate(zip(self.episode_returns, self.episode_lengths, self.episode_steps)):
                rows.append(f"{i},{r:g},{n},{s}\n")
            text = "".join(rows)
        elif path.suffix == ".json":
            text = json.dumps(self.to_dict())
        else:
            raise ValueError(f"history file must end in .json or .csv, got {path.name!r}")
        return write_text(path, text)

    @classmethod
    def load(cls, path: str | Path) -> "History":
        """Read a History saved as JSON; a ValueError names the file if it is not one."""
        path = Path(path)
        try:
            d = read_json(path)
        except ValueError as e:
            raise ValueError(f"cannot read a History from {path}: {e}") from None
        names = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(d, dict) or set(d) - set(names):
            extra = sorted(set(d) - set(names)) if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"{path} is not a History saved by History.save (.json): "
                             f"unexpected {extra}; expected keys {names}")
        return cls(**d)


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
