"""Stored results: runs too long for a notebook cell, computed once and shipped in
``acnotes/data/``.

Every kind is one module of this package, and every kind works the same way:

    kind                    what it stores                                  made by (python -m acnotes ...)
    ``stored.atlas``        the panels' settings: a curve per seed          atlas [--only NB] [--add]
    ``stored.sensitivity``  gamma x lr maps of A2C and TD-AC                sensitivity ALGO --out FILE
    ``stored.studies``      critic_lr / lr, and the rollout length n        study NAME --out FILE
    ``stored.ablations``    notebook 7: the critic's target, entropy        ablations --out FILE
    ``stored.blogruns``     notebook 10: the blog post's own settings       blogruns --out FILE
    ``stored.sweeps``       notebook 6: the lr sweep of every algorithm     sweep ... (then copy its files)
    ``stored.centring``     notebook 2: Q-AC with and without centring      centring --from BENCHMARK_JSON --out FILE
    ``stored.pendulum``     notebook 11: Gaussian A2C on Pendulum-v1        pendulum --out FILE
    ``stored.pendulumruns`` notebook 11: the engine's a2c/gae-pendulum      pendulumruns --out FILE
    ``stored.ppo``          notebook 12: PPO and SB3's PPO on CartPole      pporuns --out FILE
                            and the ppo preset over seeds 0-49              pporuns --preset --out FILE
    ``stored.ppo_pendulum`` notebook 12: PPO and SB3's PPO on Pendulum-v1    benchmarks/ppo_pendulum.py --json OUT
                            (each run's last 100 returns, ``lean``)

* **compute**: ``compute(...)`` trains the members with ``train.train_population``, as few
  populations as fit in memory (``population_checks.check_memory``), and keeps of each run what
  ``summary`` says (one function for every kind; each keeps the fields it draws). ``ppo``'s
  side-by-side is the exception: it runs ``reference/ppo.py`` and SB3, seed by seed, to time
  them alike (its ``--preset`` population is the engine's).
* **store**: ``save(data, path)`` writes atomically; the command refuses to replace a file
  without ``--force`` and, interrupted, exits 130 and keeps the previous file.
* **load**: ``load(...)`` reads the copy shipped with the package.
* **re-check**: a member of a population follows its single run exactly, so a stored member
  is what training its Config again gives; each kind's tests (``tests/test_atlas.py``,
  ``test_sensitivity.py``, ``test_studies.py``, ``test_semigradient.py``, ``test_blogruns.py``,
  ``test_sweep_study.py``, ``test_ppo.py``) retrain one stored case and compare it field by field.
  (``pendulum`` is the exception: its runs come from ``reference/gaussian_a2c.py``, one seed at
  a time, and ``tests/test_continuous.py`` retrains the start of one; ``pendulumruns`` holds the
  engine's runs of the same settings.)

``SOLVED`` (475, CartPole-v1's threshold over 100 episodes) is the one threshold of them all.
"""

from __future__ import annotations

import importlib
import math

import numpy as np

from ..history import SOLVED, History, curve_on_grid

__all__ = ["SOLVED", "FINAL_WINDOW", "summary", "read_data", "save_json", "KINDS"]

KINDS = ("atlas", "sensitivity", "studies", "ablations", "blogruns", "sweeps", "centring", "pendulum", "pendulumruns", "ppo",
         "ppo_pendulum")
FINAL_WINDOW = 100   # "final return": the mean of the last 100 episodes, CartPole-v1's own window


def summary(h: History, total_steps: int, points: int, window: int, digits: int | None = 2,
            threshold: float = SOLVED) -> dict:
    """What a stored result keeps of one run (each kind picks the fields it needs):

    * ``seed``, ``status``, ``message``, ``episodes``, ``env_steps``;
    * ``final``: the mean return of the last 100 episodes (None before any episode ended);
    * ``solved_steps`` / ``solved_seconds``: when that mean first reached ``threshold`` (None if never);
    * ``curve``: the mean return of the last ``window`` episodes on ``points`` evenly spaced env
      steps from 0 to ``total_steps`` (``history.curve_on_grid``), rounded to ``digits`` (None
      before the first episode ends; ``digits=None``: a float array, NaN there);
    * ``peak`` / ``last``: the highest and the last value of that rolling mean, per episode.
    """
    curve = curve_on_grid(h, np.linspace(0.0, float(total_steps), points), window)
    roll = h.rolling_return(window)
    last = h.episode_returns[-FINAL_WINDOW:]
    solved = h.solved_at(threshold, FINAL_WINDOW)
    return dict(seed=h.config.get("seed"), status=h.status, message=h.message,
                episodes=len(h.episode_returns), env_steps=h.total_steps,
                final=round(float(np.mean(last)), 3) if last else None,
                solved_steps=None if solved is None else int(solved[0]),
                solved_seconds=None if solved is None else round(solved[1], 3),
                curve=curve if digits is None else [None if math.isnan(v) else round(float(v), digits) for v in curve],
                peak=round(float(roll.max()), 3) if roll.size else None,
                last=round(float(roll[-1]), 3) if roll.size else None)


def __getattr__(name: str):
    """``stored.atlas`` and the other kinds import their module the first time they are used."""
    if name in KINDS:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'acnotes.stored' has no attribute {name!r}")


def read_data(filename: str):
    """The JSON file ``filename`` shipped in ``acnotes/data/``, parsed."""
    import json
    from importlib import resources

    return json.loads(resources.files("acnotes").joinpath("data", filename).read_text(encoding="utf-8"))


def save_json(data, path):
    """Write ``data`` as compact JSON to ``path``, atomically (a complete file or none); returns the Path."""
    import json
    from pathlib import Path

    from .._files import write_text

    path = Path(path)
    write_text(path, json.dumps(data, separators=(",", ":")) + "\n")
    return path
