"""Parameter sweeps: algorithms x a grid of Config fields x seeds, trained in chunks.

    spec = Spec.build(algos=["a2c", "tdac"], grid={"gamma": [0.95, 0.99], "lr": "1e-4:1e-2:5log"},
                      seeds="0-4", fixed={"total_steps": 100_000})
    run_sweep(spec, "runs/sweep")                  # results.csv, histories/, sweep.json

Each member (one algorithm, one grid point, one seed) is one Config: the algorithm's preset
(or the algorithm's defaults if it has none), then ``fixed``, then the grid point, then the
seed. Members with equal structural settings (``acnotes.train.STRUCTURAL``) are trained
together as populations of at most ``chunk_size``: a *chunk*. A chunk is the unit of work,
of saving and of retrying. This module does the computation only (no argparse, no plots).

What a sweep directory holds, each file written atomically (a temporary file, then a rename):

* ``sweep.json``: the spec, and the chunks that failed (with their errors);
* ``results.csv``: one row per finished member (``COLUMNS``), rewritten after each chunk;
* ``histories/<chunk>.json``: the History of every member of that chunk, written before
  its rows, so a row always has its History.

Resuming: the members with a row in ``results.csv`` are done; running the same spec again
trains only the others. A directory holding a different spec is refused.
"""

from __future__ import annotations

import dataclasses
import csv
import io
import itertools
import json
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from . import _validate
from ._files import write_text
from .config import Config
from .history import History

__all__ = ["Spec", "Chunk", "parse_values", "parse_grid_option", "parse_seeds", "load_spec",
           "plan", "run_chunk", "member_row", "area_under_curve", "read_results", "run_sweep",
           "prepare", "COLUMNS", "METRICS", "SweepResult", "RayPool", "RayStartError", "ray_available"]

CONFIG_FIELDS = [f.name for f in dataclasses.fields(Config)]
_TYPES = {f.name: str(f.type) for f in dataclasses.fields(Config)}
# what each row says about its member, after the Config fields
METRICS = ["steps_to_target", "seconds_to_target", "final_return", "auc", "episodes",
           "env_steps", "wall_time"]
COLUMNS = ["member", "chunk", "preset"] + CONFIG_FIELDS + METRICS + ["status", "message"]


# --------------------------------------------------------------------------- parsing values


def _scalar(name: str, text: str):
    """One value of field ``name`` from text, by the field's type."""
    kind = _TYPES[name]
    t = text.strip()
    if kind.endswith("| None") and t.lower() in ("none", ""):
        return None
    try:
        if kind.startswith("int"):
            return int(t)
        if kind.startswith("float"):
            return float(t)
    except ValueError:
        raise ValueError(f"--grid {name}: {t!r} is not a number") from None
    if kind == "bool":
        if t.lower() in ("1", "true", "yes", "on"):
            return True
        if t.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"--grid {name}: expected true or false, got {t!r}")
    return t


def _range(name: str, text: str) -> list:
    """``lo:hi:N`` (N evenly spaced values), ``lo:hi:Nlog`` (N log-spaced values)."""
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"--grid {name}: a range is LO:HI:N or LO:HI:Nlog (e.g. 1e-4:1e-2:5log), got {text!r}")
    lo, hi, n = (p.strip() for p in parts)
    log = n.lower().endswith("log")
    n = n[:-3] if log else n
    try:
        lo_v, hi_v, count = float(lo), float(hi), int(n)
    except ValueError:
        raise ValueError(f"--grid {name}: a range is LO:HI:N or LO:HI:Nlog with numbers, got {text!r}") from None
    if count < 1:
        raise ValueError(f"--grid {name}: a range needs N >= 1 values, got {text!r}")
    if log and (lo_v <= 0 or hi_v <= 0):
        raise ValueError(f"--grid {name}: a log range needs LO and HI > 0, got {text!r}")
    xs = np.geomspace(lo_v, hi_v, count) if log else np.linspace(lo_v, hi_v, count)
    if _TYPES[name].startswith("int"):
        return sorted({int(round(x)) for x in xs})
    return [float(f"{x:.6g}") for x in xs]  # 1e-4:1e-2:5log -> 0.0001, 0.000316228, ...


def parse_values(name: str, spec) -> list:
    """The values of one grid field: a list, one value, ``"a,b,c"``, ``"lo:hi:N"`` or ``"lo:hi:Nlog"``."""
    if name not in CONFIG_FIELDS:
        raise ValueError(f"--grid: unknown field {name!r}; valid fields: {', '.join(CONFIG_FIELDS)}")
    if name == "seed":
        raise ValueError("--grid seed: give the seeds with --seeds (e.g. --seeds 0-29)")
    if isinstance(spec, str):
        items = [s for s in spec.split(",") if s.strip()]
        out = []
        for s in items:
            out.extend(_range(name, s) if ":" in s else [_scalar(name, s)])
    elif isinstance(spec, (list, tuple)):
        out = [_scalar(name, v) if isinstance(v, str) else v for v in spec]
    else:
        out = [spec]
    if not out:
        raise ValueError(f"--grid {name}: the grid is empty; give at least one value (e.g. {name}=0.9,0.99)")
    dup = [v for i, v in enumerate(out) if v in out[:i]]
    if dup:
        raise ValueError(f"--grid {name}: {dup[0]!r} is listed twice")
    return out


def parse_grid_option(text: str) -> tuple[str, list]:
    """``"gamma=0.9,0.99"`` -> ``("gamma", [0.9, 0.99])``."""
    name, sep, values = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--grid expects FIELD=VALUES (e.g. gamma=0.9,0.99 or lr=1e-4:1e-2:5log), got {text!r}")
    name = name.strip().replace("-", "_")
    return name, parse_values(name, values)


def parse_seeds(spec) -> list[int]:
    """``"0-29"``, ``"0,3,7"``, ``"0-4,10"``, an int N (seeds 0..N-1 is *not* meant: one seed) or a list."""
    if isinstance(spec, str):
        out = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            lo, dash, hi = part.partition("-")
            try:
                out.extend(range(int(lo), int(hi) + 1) if dash else [int(lo)])
            except ValueError:
                raise ValueError(f"--seeds: expected integers or ranges such as 0-29, got {part!r}") from None
    elif isinstance(spec, int) and not isinstance(spec, bool):
        out = [spec]
    else:
        out = spec
    try:
        return _validate.seeds("--seeds", out)
    except _validate.BadValue as e:
        raise ValueError(str(e)) from None


# --------------------------------------------------------------------------- the spec


@dataclass
class Spec:
    """What a sweep trains: ``algos`` x product of ``grid`` x ``seeds``, on top of ``fixed``.

    ``algos``: preset names (``acnotes.presets``) or estimator names (their defaults).
    ``grid``: {Config field: [values]}; ``fixed``: {Config field: value} for every member;
    ``threshold``: the return counted as solved in ``steps_to_target``.
    """

    algos: list[str]
    grid: dict[str, list] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    fixed: dict = field(default_factory=dict)
    threshold: float = 475.0

    @classmethod
    def build(cls, algos, grid=None, seeds=(0,), fixed=None, threshold: float = 475.0) -> "Spec":
        """Parse and check every part; ``grid`` values may be lists or strings (see ``parse_values``)."""
        from .estimators import ESTIMATORS
        from .presets import PRESETS

        if isinstance(algos, str):
            algos = [a.strip() for a in algos.split(",") if a.strip()]
        algos = list(algos or [])
        if not algos:
            raise ValueError("--algos: give at least one algorithm or preset (e.g. --algos a2c,tdac)")
        for a in algos:
            if a not in PRESETS and a not in ESTIMATORS:
                raise ValueError(f"--algos: {a!r} is neither a preset ({', '.join(PRESETS)}) "
                                 f"nor an algorithm ({', '.join(ESTIMATORS)})")
        if len(set(algos)) != len(algos):
            raise ValueError(f"--algos: an algorithm is listed twice in {algos}")
        grid = {str(k).replace("-", "_"): parse_values(str(k).replace("-", "_"), v) for k, v in (grid or {}).items()}
        fixed = dict(fixed or {})
        for k in fixed:
            if k not in CONFIG_FIELDS or k in ("seed", "algo"):
                raise ValueError(f"fixed setting {k!r} is not a Config field one can fix "
                                 f"(seeds come from --seeds, algorithms from --algos)")
        if "algo" in grid:
            raise ValueError("--grid algo: give the algorithms with --algos")
        both = sorted(set(grid) & set(fixed))
        if both:
            raise ValueError(f"{both[0]} is both fixed and in the grid; choose one")
        threshold = _validate.number("threshold", threshold)
        spec = cls(algos=algos, grid=grid, seeds=parse_seeds(seeds), fixed=fixed, threshold=threshold)
        spec.members()  # validates every Config
        return spec

    def points(self) -> list[dict]:
        """Every grid point, in order (the last field varies fastest)."""
        names = list(self.grid)
        return [dict(zip(names, vals)) for vals in itertools.product(*(self.grid[n] for n in names))]

    def members(self) -> list[tuple[str, Config]]:
        """(algorithm, Config) of every member, validated; the error names the grid point."""
        from .presets import PRESETS

        out = []
        for algo in self.algos:
            base = dict(PRESETS[algo]) if algo in PRESETS else {"algo": algo}
            base.update(self.fixed)
            for point in self.points():
                settings = {**base, **point}
                try:
                    cfg = Config(**settings).validate()
                except ValueError as e:
                    where = ", ".join(f"{k}={v}" for k, v in point.items()) or "(no grid)"
                    raise ValueError(f"grid point {algo}: {where}: {e}") from None
                out.extend((algo, cfg.replace(seed=s)) for s in self.seeds)
        return out

    def to_dict(self) -> dict:
        """The spec as stored in sweep.json. The grid is a list of [field, values] pairs: its
        order fixes the members' order, so two grids in another order are different sweeps."""
        return {"algos": self.algos, "grid": [[k, v] for k, v in self.grid.items()], "seeds": self.seeds,
                "fixed": self.fixed, "threshold": self.threshold}


def load_spec(path: str | Path) -> dict:
    """The keyword arguments of ``Spec.build`` from a YAML or JSON file.

    Keys: ``algos`` (list or "a2c,tdac"), ``grid`` ({field: list or "lo:hi:Nlog"}),
    ``seeds`` ("0-29" or a list), ``fixed`` ({field: value}), ``threshold``.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ValueError(f"--spec {path}: cannot be read ({e.strerror})") from None
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ValueError("--spec: reading YAML needs pyyaml (pip install pyyaml), or give a .json file") from None
        try:
            d = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ValueError(f"--spec {path} is not valid YAML: {e}") from None
    else:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"--spec {path} is not valid JSON ({e}); YAML files must end in .yaml") from None
    keys = {"algos", "grid", "seeds", "fixed", "threshold"}
    if not isinstance(d, dict) or set(d) - keys:
        extra = sorted(set(d) - keys) if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"--spec {path}: expected a mapping with keys {sorted(keys)}, found {extra}")
    return d


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
    from .train import STRUCTURAL

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
    """The results row of one trained member."""
    solved = h.solved_at(threshold, 100)
    last = h.episode_returns[-100:]
    row = {"member": member, "chunk": chunk, "preset": preset, **cfg.to_dict()}
    row.update(steps_to_target=solved[0] if solved else None,
               seconds_to_target=round(solved[1], 3) if solved else None,
               final_return=round(float(np.mean(last)), 3) if last else None,
               auc=round(area_under_curve(h, cfg.total_steps), 3),
               episodes=len(h.episode_returns), env_steps=h.total_steps,
               wall_time=round(h.wall_time, 3), status=h.status, message=h.message)
    return row


def run_chunk(chunk: Chunk, threshold: float = 475.0) -> tuple[list[dict], dict]:
    """Train one chunk as a population: (its rows, {member index: History dict}).

    An interrupt (Ctrl-C, SIGTERM) is raised again, so a half-trained chunk is never saved.
    """
    from .train import train_population

    pairs = train_population(chunk.configs, progress=False)
    if any(h.status == "interrupted" for _, h in pairs):
        raise KeyboardInterrupt("interrupted during " + chunk.id)
    rows = [member_row(h, c, member=m, chunk=chunk.id, preset=a, threshold=threshold)
            for (_, h), c, m, a in zip(pairs, chunk.configs, chunk.members, chunk.algos)]
    return rows, {str(m): h.to_dict() for (_, h), m in zip(pairs, chunk.members)}


# --------------------------------------------------------------------------- the results table


def _to_text(v) -> str:
    return "" if v is None else str(v)


def _from_text(name: str, text: str):
    if name in CONFIG_FIELDS:
        return _scalar(name, text) if text != "" else None
    if name in ("member", "episodes", "env_steps", "steps_to_target"):
        return int(text) if text != "" else None
    if name in ("seconds_to_target", "final_return", "auc", "wall_time"):
        return float(text) if text != "" else None
    return text


def read_results(out: str | Path) -> list[dict]:
    """The rows of ``out/results.csv`` with typed values (None for an empty cell)."""
    f = Path(out) / "results.csv"
    if not f.is_file():
        return []
    with open(f, newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != COLUMNS:
            raise ValueError(f"{f} does not have the columns of this version of `sweep`; "
                             f"choose another --out")
        return [{k: _from_text(k, v) for k, v in r.items()} for r in reader]


def _write_results(out: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in sorted(rows, key=lambda r: r["member"]):
        w.writerow({k: _to_text(r[k]) for k in COLUMNS})
    write_text(out / "results.csv", buf.getvalue())


# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    """What ``run_sweep`` did: rows (all, old and new), chunks run now, kept, failed."""

    rows: list[dict]
    ran: list[str]
    kept: int
    failed: dict[str, str]
    interrupted: bool = False


def _is_sweep_file(p: Path) -> bool:
    return p.name in ("sweep.json", "results.csv", "histories") or p.suffix == ".png" or p.name.startswith(".tmp-")


def prepare(spec: Spec, out: str | Path) -> tuple[Path, set[int]]:
    """Check ``out`` for this spec: (directory, member indices already done).

    A new or empty directory starts the sweep; one holding the same spec resumes it; one
    holding another spec, or other files, is refused.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a directory; choose a directory")
    out.mkdir(parents=True, exist_ok=True)
    entries = list(out.iterdir())
    others = sorted(p.name for p in entries if not _is_sweep_file(p))
    if others:
        raise ValueError(f"--out {out} holds files that are not from a sweep ({', '.join(others[:3])}); "
                         f"choose a new or empty directory")
    meta_file = out / "sweep.json"
    if not meta_file.is_file():
        if any(p.name in ("results.csv", "histories") for p in entries):
            raise ValueError(f"--out {out} holds results without sweep.json; choose a new or empty directory")
        write_text(meta_file, json.dumps({"spec": spec.to_dict(), "failed": {}}, indent=1))
        return out, set()
    try:
        old = json.loads(meta_file.read_text())["spec"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"--out {out}: {meta_file.name} cannot be read ({e}); choose another directory") from None
    new = json.loads(json.dumps(spec.to_dict()))  # the same JSON round trip as the stored one
    if old != new:
        diff = [f"{k} (stored: {old.get(k)!r}, now: {new[k]!r})" for k in new if old.get(k) != new[k]]
        raise ValueError(f"--out {out} holds a different sweep; these differ: {'; '.join(diff)}. "
                         f"Re-run the stored command to resume it, or choose another --out")
    n = len(spec.members())
    return out, {r["member"] for r in read_results(out) if 0 <= r["member"] < n}


def _local(chunks, threshold):
    """Run the chunks one after another in this process: yields (chunk, result or exception)."""
    for ch in chunks:
        try:
            yield ch, run_chunk(ch, threshold)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - a failed chunk is reported, the sweep goes on
            yield ch, e


def run_sweep(spec: Spec, out: str | Path, *, chunk_size: int = 25, backend: str = "local",
              pool=None, progress: bool = False, log: Callable[[str], None] = lambda s: None) -> SweepResult:
    """Train every member of ``spec`` not yet in ``out``, chunk by chunk; see the module doc.

    ``backend`` "local" runs the chunks in this process; "ray" submits them through ``pool``
    (a started ``RayPool``). A chunk that raises is run once
    more; if it fails again its error is stored in sweep.json and the others go on. Ctrl-C
    stops the sweep with every finished chunk saved (``interrupted`` is True).
    """
    out, done = prepare(spec, out)
    chunks = plan(spec, chunk_size, skip=done)
    _check_chunk_memory(chunks, chunk_size)
    rows = read_results(out)
    meta = json.loads((out / "sweep.json").read_text())
    failed: dict[str, str] = {}
    result = SweepResult(rows=rows, ran=[], kept=len(done), failed=failed)
    if done:
        log(f"resuming: {len(done)} members already done, {len(chunks)} chunks to run")
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(chunks), desc="chunks", unit="chunk")
    (out / "histories").mkdir(exist_ok=True)

    if backend == "ray" and pool is None and chunks:
        raise ValueError("backend 'ray' needs a started RayPool (pool=RayPool(...))")

    def attempts(chs):
        if not chs:
            return iter(())
        if backend == "ray":
            return pool.run(chs, spec.threshold)
        return _local(chs, spec.threshold)

    def save(ch, res):
        new_rows, hists = res
        write_text(out / "histories" / f"{ch.id}.json", json.dumps(hists))  # before its rows
        rows.extend(new_rows)
        _write_results(out, rows)
        result.ran.append(ch.id)
        if bar is not None:
            bar.update(1)

    try:
        retry = []
        for ch, res in attempts(chunks):
            if isinstance(res, BaseException):
                log(f"{ch.id} failed ({_one_line(res)}); retrying it once")
                retry.append(ch)
            else:
                save(ch, res)
        for ch, res in attempts(retry):
            if isinstance(res, BaseException):
                failed[ch.id] = _one_line(res)
                if bar is not None:
                    bar.update(1)
            else:
                save(ch, res)
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if bar is not None:
            bar.close()
        meta["failed"] = {**{k: v for k, v in meta.get("failed", {}).items() if k not in result.ran}, **failed}
        write_text(out / "sweep.json", json.dumps(meta, indent=1))
    return result


def _one_line(e: BaseException) -> str:
    cause = getattr(e, "cause", None)  # a Ray task error carries the original exception
    e = cause if isinstance(cause, BaseException) else e
    last = traceback.format_exception_only(type(e), e)[-1].strip()
    return last.splitlines()[0] if last else type(e).__name__


def _check_chunk_memory(chunks: Sequence[Chunk], chunk_size: int) -> None:
    from .train import _available_memory, memory_estimate

    have = _available_memory()
    for ch in chunks:
        need = memory_estimate(ch.configs)
        if have is not None and need > 0.8 * have:
            raise ValueError(f"{ch.id} ({len(ch.members)} members) needs about {need / 2**30:.1f} GiB but "
                             f"{have / 2**30:.1f} GiB are available; use a smaller --chunk-size (now {chunk_size})")


def ray_available() -> bool:
    """True if Ray can be imported (``pip install 'acnotes[cluster]'``)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _warm_up() -> None:
    import time

    from . import train  # noqa: F401 - imports torch and gymnasium in the worker
    time.sleep(0.2)  # hold the CPU briefly, so that the next warm-up goes to another worker


def _ray_chunk(chunk: Chunk, threshold: float):
    """The body of a Ray task: one chunk, in a worker process."""
    return run_chunk(chunk, threshold)


class RayStartError(RuntimeError):
    """Ray did not start (or the cluster could not be reached)."""


class RayPool:
    """Chunks as Ray tasks, one CPU each, on a local Ray instance or an existing cluster.

    ``RayPool(address=None, num_cpus=2)`` starts Ray on this machine (no dashboard, worker
    logs not copied to the terminal); ``RayPool(address="HOST:6379")`` joins a cluster
    started with ``ray start --head``. ``started`` is the seconds Ray took to start.
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        import time

        import ray

        t0 = time.perf_counter()
        if address is None:
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private local instance
            kw = dict(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False)
        else:
            kw = dict(address=address)
        for attempt in (1, 2):
            try:
                ray.init(log_to_driver=False, configure_logging=False, **kw)
                break
            except Exception as e:  # noqa: BLE001 - Ray raises plain Exceptions at start-up
                ray.shutdown()
                if attempt == 2 or address is not None:
                    where = f"the cluster at {address}" if address else "Ray on this machine"
                    raise RayStartError(
                        f"could not start {where}: {_one_line(e)} (Ray's own logs are in "
                        f"/tmp/ray/session_latest/logs; on a busy machine its agents can miss a "
                        f"start-up timeout). Try again, or use --backend local") from None
        self.ray = ray
        self.task = ray.remote(num_cpus=1, max_retries=0)(_ray_chunk)
        self.cpus = int(ray.cluster_resources().get("CPU", 0))
        # start the workers and import torch in each now, so that it counts as start-up
        warm = ray.remote(num_cpus=1)(_warm_up)
        ray.get([warm.remote() for _ in range(self.cpus)])
        self.started = time.perf_counter() - t0

    def run(self, chunks: Sequence[Chunk], threshold: float):
        """Submit every chunk; yield (chunk, (rows, histories) or the exception) as each ends."""
        ray = self.ray
        pending = {self.task.remote(ch, threshold): ch for ch in chunks}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    ch = pending.pop(ref)
                    try:
                        yield ch, ray.get(ref)
                    except (ray.exceptions.RayError, Exception) as e:  # noqa: BLE001
                        yield ch, e
        finally:
            for ref in pending:  # interrupted: stop the rest
                ray.cancel(ref, force=True)

    def close(self) -> None:
        self.ray.shutdown()
