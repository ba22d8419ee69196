"""Sweep results stored with the package, for the notebooks: load them, re-run a grid point.

A parameter study takes minutes, too long for a notebook cell, so the notebooks read a stored
copy of a sweep's ``results.csv`` (``acnotes/data/sweep-<name>.csv``) and its spec
(``acnotes/data/sweep-<name>.json``, the sweep's ``sweep.json``). ``STUDIES`` gives the
command that made each one; copy its two files into ``acnotes/data/`` to replace a study.
Every row holds all the Config fields of its member, so ``rerun`` can train a grid point
again from the stored rows alone, even after a preset has changed.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Sequence

from ..config import Config
from ..sweep.chunks import Chunk, run_chunk
from ..sweep.spec import CONFIG_FIELDS
from . import SOLVED

__all__ = ["STUDIES", "load_study", "point_rows", "rerun", "DETERMINISTIC"]

STUDIES = {
    "lr": ("python -m acnotes sweep --algos reinforce,reinforce_baseline,qac,a2c,tdac,gae "
           "--grid lr=1e-4:1e-2:5log --seeds 0-4 --steps 100000 --chunk-size 25 --out runs/sweep-lr"),
}

# the columns that a re-run reproduces exactly (times differ from run to run)
DETERMINISTIC = ("steps_to_target", "final_return", "auc", "episodes", "env_steps", "status")


def load_study(name: str = "lr") -> tuple[dict, list[dict]]:
    """The spec (as in ``sweep.json``) and the typed rows of the stored study ``name``."""
    from ..sweep import _read_rows

    if name not in STUDIES:
        raise ValueError(f"there is a stored study for {', '.join(STUDIES)} only, not {name!r}")
    data = resources.files("acnotes").joinpath("data")
    spec = json.loads(data.joinpath(f"sweep-{name}.json").read_text())["spec"]
    rows = _read_rows(data.joinpath(f"sweep-{name}.csv").read_text(), f"sweep-{name}.csv")
    return spec, rows


def point_rows(rows: Sequence[dict], preset: str, **point) -> list[dict]:
    """The rows (one per seed) of one grid point, e.g. ``point_rows(rows, "a2c", lr=1e-3)``."""
    out = [r for r in rows if r["preset"] == preset and all(r[k] == v for k, v in point.items())]
    if not out:
        where = ", ".join(f"{k}={v}" for k, v in point.items())
        raise ValueError(f"the study has no rows for {preset} at {where}")
    return out


def rerun(rows: Sequence[dict], threshold: float = SOLVED) -> list[dict]:
    """Train the members of ``rows`` again as one population (their Configs from the rows) and
    return their new rows. A member follows its single run whatever the other members are, so
    the deterministic columns must come out equal; REINFORCE's members only to rounding
    (``train.py``: an update's batch is as long as the population's longest episode), so
    give its rows with the chunk they were trained in."""
    configs = [Config(**{f: r[f] for f in CONFIG_FIELDS}).validate() for r in rows]
    chunk = Chunk("rerun", [r["member"] for r in rows], [r["preset"] for r in rows], configs)
    new, _ = run_chunk(chunk, threshold)
    return new
