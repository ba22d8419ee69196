"""Chunks: the members of a sweep split into populations, and one chunk trained."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .. import _validate
from ..config import Config
from ..history import SOLVED, History
from .spec import Spec

# --------------------------------------------------------------------------- chunks


@dataclass
class Chunk:
    """One population: member indices into ``Spec.members()``, their algorithms and Configs."""

    id: str
    members: list[int]
    algos: list[str]
    configs: list[Config]


def plan(spec: Spec, chunk_size: int, skip: Iterable[int] = ()) -> list[Chunk]:
    """Split the members not in ``skip`` into chunks of at most ``chunk_size`` members with
    equal structural settings. A chunk's id is ``chunk-<its first member index>``."""
    from ..population_checks import STRUCTURAL

    chunk_size = _validate.integer("--chunk-size", chunk_size, lo=1)
    skip = set(skip)
    groups: dict[tuple, list[int]] = {}
    members = spec.members()
    for i, (_, cfg) in enumerate(members):
        if i not in skip:
            groups.setdefault(tuple(getattr(cfg, n) for n in STRUCTURAL), []).append(i)
    chunks = []
    for idx in groups.values():
        for j in range(0, len(idx), chunk_size):
            part = idx[j:j + chunk_size]
            chunks.append(Chunk(f"chunk-{part[0]:05d}", part, [members[i][0] for i in part],
                                [members[i][1] for i in part]))
    return chunks


def area_under_curve(h: History, budget: int, window: int = 100) -> float:
    """Mean of the rolling ``window``-episode return over env steps 0..``budget``.

    The area under the curve of the rolling mean return against env steps, divided by the
    budget, so it is in return units: 500 means solved from the first step. Before the first
    episode ends the curve is 0; after the run stops (a reached target) it keeps its last value.
    """
    roll = h.rolling_return(window)
    if roll.size == 0 or budget <= 0:
        return 0.0
    ends = np.minimum(np.asarray(h.episode_steps, dtype=float), budget)
    widths = np.diff(np.append(ends, float(budget)))
    return float(np.sum(roll * widths) / budget)


def member_row(h: History, cfg: Config, *, member: int, chunk: str, preset: str, threshold: float) -> dict:
    """The results row of one trained member (``stored.summary``, and the area under its curve)."""
    from ..stored import summary

    m = summary(h, cfg.total_steps, 2, 100, threshold=threshold)
    row = {"member": member, "chunk": chunk, "preset": preset, **cfg.to_dict()}
    row.update(steps_to_target=m["solved_steps"], seconds_to_target=m["solved_seconds"],
               final_return=m["final"], auc=round(area_under_curve(h, cfg.total_steps), 3),
               episodes=m["episodes"], env_steps=m["env_steps"],
               wall_time=round(h.wall_time, 3), status=m["status"], message=m["message"])
    return row


def run_chunk(chunk: Chunk, threshold: float = SOLVED) -> tuple[list[dict], dict]:
    """Train one chunk as a population: (its rows, {member index: History dict}).

    An interrupt (Ctrl-C, SIGTERM) is raised again, so a half-trained chunk is never saved.
    """
    from ..train import train_population

    pairs = train_population(chunk.configs, progress=False)
    if any(h.status == "interrupted" for _, h in pairs):
        raise KeyboardInterrupt("interrupted during " + chunk.id)
    rows = [member_row(h, c, member=m, chunk=chunk.id, preset=a, threshold=threshold)
            for (_, h), c, m, a in zip(pairs, chunk.configs, chunk.members, chunk.algos)]
    return rows, {str(m): h.to_dict() for (_, h), m in zip(pairs, chunk.members)}



def _one_line(e: BaseException) -> str:
    cause = getattr(e, "cause", None)  # a Ray task error carries the original exception
    e = cause if isinstance(cause, BaseException) else e
    last = traceback.format_exception_only(type(e), e)[-1].strip()
    return last.splitlines()[0] if last else type(e).__name__
