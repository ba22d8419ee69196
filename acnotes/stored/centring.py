"""Notebook 2: Q Actor-Critic with its own common part V_w(s_t) removed from Psi_t, over seeds 0-49.

``benchmarks/qac_baseline.py`` trains the ``qac`` preset (300,000 env steps, each member stopped
when its mean return over 100 episodes reaches 475) in two variants that differ in Psi_t only:

    qac           Psi_t = Q_w(s_t, a_t)
    qac_baseline  Psi_t = Q_w(s_t, a_t) - sum_a pi(a|s_t) Q_w(s_t, a)

the same critic, the same seeds. Two populations of 50 take a few minutes each, too long for a
notebook, so the notebook reads the per-member results, computed by

    python benchmarks/qac_baseline.py --seeds 0-49 --variants qac,qac_baseline --json runs/qacb/b50.json

and stored with ``python -m acnotes centring --from runs/qacb/b50.json --out
acnotes/data/qac-centring.json`` (which keeps, per member, the seed, the status, the env step at
which it solved or None, the mean return of its last 100 episodes and the best mean over 100
consecutive episodes).
"""

from __future__ import annotations

import json
from pathlib import Path

from . import read_data, save_json

__all__ = ["FILE", "load", "store"]

FILE = "qac-centring.json"
KEEP = ("seed", "status", "solved_at", "final", "best")
VARIANTS = ("qac", "qac_baseline")   # Psi_t = Q_w, and Q_w centred by the critic's own V_w


def load() -> dict[str, dict]:
    """{variant: {"steps": env steps per run, "members": [one dict per seed]}} as stored."""
    return read_data(FILE)


def store(benchmark_json: Path, out: Path) -> Path:
    """Keep of ``qac_baseline.py --json``'s output what the notebook reads (rounded), at ``out``."""
    data = {}
    for res in json.loads(Path(benchmark_json).read_text()):
        data[res["variant"]] = dict(steps=res["steps"], members=[
            {k: (round(m[k], 1) if isinstance(m[k], float) else m[k]) for k in KEEP} for m in res["members"]])
    missing = [v for v in VARIANTS if not data.get(v, {}).get("members")]
    if missing:   # the notebook compares the two: a file with one of them (or none) is not the result
        raise ValueError(f"it holds no members of {', '.join(missing)}; run qac_baseline.py with "
                         f"--variants {','.join(VARIANTS)}")
    return save_json(data, out)
