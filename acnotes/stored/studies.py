"""Studies on CartPole-v1: the actor/critic step-size ratio, and the rollout length.

* ``timescales-tdac``, ``timescales-a2c``: final performance against ``critic_lr / lr``.
  Two slices through the preset's point: the actor's lr fixed at the preset's and the
  critic's moved ("critic" slice), and the critic's fixed and the actor's moved ("actor"
  slice). Every (slice, ratio, seed) is a member of one population.
* ``rollouts-a2c``: A2C against the rollout length n (``n_steps``, the steps each env takes
  between two updates) at a fixed number of env steps per update, ``n_envs * n_steps``.
  ``n_steps`` and ``n_envs`` fix the shape of the computation, so each n is a population of
  its own. With ``nstep`` unset, A2C's return is bootstrapped at the rollout's end: step t of
  a rollout of length n uses n - t rewards, and n = 1 is the TD error of TD-AC.

Per member a study keeps what a sensitivity map keeps (``sensitivity.summarize``): the mean
return of the last 100 episodes, the env steps at which that mean first reached 475, a
coarse learning curve. They take minutes, so the notebooks read stored copies, made by

    nice python -m acnotes study timescales-tdac --out acnotes/data/timescales-tdac.json

and a test trains a few members again and checks that they match the stored numbers
exactly (a population member follows its single run).
"""

from __future__ import annotations

import itertools
import time
from typing import Sequence

import numpy as np

from ..config import Config, preset
from ..train import train_population
from . import read_data
from .sensitivity import CURVE_POINTS, CURVE_WINDOW, THRESHOLD, WINDOW, save, summarize

__all__ = ["STUDIES", "points", "configs", "compute", "load", "save", "select", "table", "permutation_p"]

SEEDS = (0, 1, 2, 3, 4, 5)

# The ratios are critic_lr / lr. Each slice passes through the preset's (lr, critic_lr).
STUDIES: dict[str, dict] = {
    "timescales-tdac": dict(kind="timescales", preset="tdac", lr=4e-4, critic_lr=5e-3,
                            ratios=(0.25, 0.5, 1.0, 2.5, 5.0, 12.5, 25.0, 50.0, 100.0),
                            seeds=SEEDS, total_steps=150_000),
    # The A2C studies were made when the a2c preset did not clip the gradient norm; they keep
    # that setting (``fixed``), so that the stored runs stay the runs these configs train.
    "timescales-a2c": dict(kind="timescales", preset="a2c", lr=2e-3, critic_lr=4e-3,
                           ratios=(0.25, 0.5, 1.0, 2.0, 5.0, 12.5, 25.0, 50.0),
                           seeds=SEEDS, total_steps=100_000, fixed=dict(max_grad_norm=None)),
    "rollouts-a2c": dict(kind="rollouts", preset="a2c", per_update=128, ns=(1, 2, 4, 8, 16, 32),
                         seeds=SEEDS, total_steps=100_000, fixed=dict(max_grad_norm=None)),
}


def _lrs(spec: dict, slice_: str, ratio: float) -> tuple[float, float]:
    """(lr, critic_lr) of one point of a timescales slice."""
    if slice_ == "critic":            # the actor's lr is the preset's; the critic moves
        return spec["lr"], spec["lr"] * ratio
    if slice_ == "actor":             # the critic's lr is the preset's; the actor moves
        return spec["critic_lr"] / ratio, spec["critic_lr"]
    raise ValueError(f"slice must be 'critic' or 'actor', got {slice_!r}")


def points(spec: dict) -> list[tuple]:
    """The points of a study: (slice, ratio) for timescales, n for rollouts."""
    if spec["kind"] == "timescales":
        return [(s, float(r)) for s in ("critic", "actor") for r in spec["ratios"]]
    return [int(n) for n in spec["ns"]]


def configs(spec: dict, point, seeds: Sequence[int] | None = None) -> list[Config]:
    """The members of one point of a study, one per seed."""
    seeds = spec["seeds"] if seeds is None else seeds
    if spec["kind"] == "timescales":
        lr, critic_lr = _lrs(spec, *point)
        return [preset(spec["preset"], lr=lr, critic_lr=critic_lr, seed=s, total_steps=spec["total_steps"],
                       **spec.get("fixed", {})) for s in seeds]
    n, per = int(point), spec["per_update"]
    if per % n:
        raise ValueError(f"n = {n} does not divide the env steps per update ({per})")
    return [preset(spec["preset"], n_envs=per // n, n_steps=n, seed=s, total_steps=spec["total_steps"],
                   **spec.get("fixed", {})) for s in seeds]


def _record(spec: dict, point, h) -> dict:
    m = summarize(h, spec["total_steps"])
    m["critic_lr"] = h.config["critic_lr"]
    if spec["kind"] == "timescales":
        m["slice"], m["ratio"] = point
    else:
        m["n"], m["n_envs"] = int(point), h.config["n_envs"]
    return m


def compute(name: str, spec: dict | None = None, progress: bool = True, subset: Sequence | None = None,
            seeds: Sequence[int] | None = None) -> dict:
    """Train a study (its spec from ``STUDIES`` unless given).

    ``subset``: only these points ((slice, ratio) pairs, or values of n); ``seeds``: only
    these seeds. A timescales study trains its members as one population; a rollouts study
    trains one population per n (a member follows the same trajectory in any population, and
    alone)."""
    if name not in STUDIES and spec is None:
        raise ValueError(f"study must be one of {', '.join(STUDIES)}; got {name!r}")
    spec = dict(STUDIES[name] if spec is None else spec)
    pts = points(spec)
    if subset is not None:
        want = [tuple(p) if isinstance(p, (list, tuple)) else p for p in subset]
        pts = [p for p in pts if any(_same(p, q) for q in want)]
        if not pts:
            raise ValueError(f"no point of {name} matches {list(subset)}; its points: {points(spec)}")
    start = time.perf_counter()
    members = []
    if spec["kind"] == "timescales":
        cfgs = [c for p in pts for c in configs(spec, p, seeds)]
        runs = train_population(cfgs, progress=progress)
        per = len(runs) // len(pts)
        for i, p in enumerate(pts):
            members += [_record(spec, p, h) for _, h in runs[i * per:(i + 1) * per]]
    else:
        for p in pts:
            members += [_record(spec, p, h) for _, h in train_population(configs(spec, p, seeds), progress=progress)]
            if any(m["status"] == "interrupted" for m in members):
                break   # Ctrl-C or SIGTERM: train no further population (the caller sees the statuses)
    spec_out = {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()}
    return dict(study=name, spec=spec_out, threshold=THRESHOLD, window=WINDOW, curve_window=CURVE_WINDOW,
                curve_steps=np.linspace(0, spec["total_steps"], CURVE_POINTS).tolist(),
                seconds=round(time.perf_counter() - start, 1), members=members)


def _same(p, q) -> bool:
    if isinstance(p, tuple):
        return isinstance(q, tuple) and len(q) == 2 and p[0] == q[0] and np.isclose(p[1], float(q[1]))
    return not isinstance(q, tuple) and int(q) == p


def load(name: str) -> dict:
    """The stored study ``name`` (one of ``STUDIES``)."""
    if name not in STUDIES:
        raise ValueError(f"there is a stored study for {', '.join(STUDIES)} only, not {name!r}")
    return read_data(f"{name}.json")


def select(data: dict, **where) -> list[dict]:
    """The members whose fields equal ``where`` (numbers compared with ``np.isclose``)."""
    def match(m):
        return all(np.isclose(m[k], v) if isinstance(v, float) else m.get(k) == v for k, v in where.items())
    out = [m for m in data["members"] if match(m)]
    if not out:
        raise ValueError(f"no member of {data['study']} has {where}")
    return out


def table(data: dict, slice_: str | None = None) -> list[dict]:
    """One row per point: the x value, the seeds' final returns, their mean and median, how
    many reached 475 and the median steps to get there (None when fewer than half did).

    A member that never finished an episode in its last window (or diverged before any)
    counts with a final return of 0."""
    spec = data["spec"]
    if spec["kind"] == "timescales":
        if slice_ not in ("critic", "actor"):
            raise ValueError("a timescales study has two slices: give slice_='critic' or 'actor'")
        groups = [(r, select(data, slice=slice_, ratio=float(r))) for r in spec["ratios"]]
    else:
        groups = [(n, select(data, n=n)) for n in spec["ns"]]
    rows = []
    for x, ms in groups:
        finals = np.array([m["final"] or 0.0 for m in ms])
        steps = sorted(m["solved_steps"] if m["solved_steps"] is not None else np.inf for m in ms)
        med = float(np.median(steps))
        rows.append(dict(x=x, finals=finals.tolist(), mean=float(finals.mean()), median=float(np.median(finals)),
                         solved=int(np.isfinite(steps).sum()), seeds=len(ms),
                         median_steps=None if not np.isfinite(med) else med,
                         diverged=sum(m["status"] == "diverged" for m in ms)))
    return rows



def permutation_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided exact permutation test of "a and b come from the same distribution", on the
    difference of their means: the fraction of all ways to split the pooled values into groups
    of len(a) and len(b) whose |mean difference| is at least the observed one.

    With 6 seeds against 6 there are C(12, 6) = 924 splits; when every value of one group lies
    above every value of the other, only that split and its mirror reach the observed
    difference, so p = 2/924, about 0.002: the smallest p that 6 seeds against 6 can give."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 1 or len(b) < 1:
        raise ValueError("both groups need at least one value")
    if len(a) + len(b) > 20:
        raise ValueError(f"{len(a)} + {len(b)} values: too many splits to enumerate (at most 20 values)")
    pooled, total = np.concatenate([a, b]), a.sum() + b.sum()
    observed = abs(a.mean() - b.mean())
    hits = count = 0
    for idx in itertools.combinations(range(len(pooled)), len(a)):
        sa = pooled[list(idx)].sum()
        diff = abs(sa / len(a) - (total - sa) / len(b))
        hits += diff >= observed - 1e-9 * max(1.0, observed)
        count += 1
    return hits / count
