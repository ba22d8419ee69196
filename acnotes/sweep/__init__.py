"""Parameter sweeps: algorithms x a grid of Config fields x seeds, trained in chunks.

    spec = Spec.build(algos=["a2c", "tdac"], grid={"gamma": [0.95, 0.99], "lr": "1e-4:1e-2:5log"},
                      seeds="0-4", fixed={"total_steps": 100_000})
    run_sweep(spec, "runs/sweep")                  # results.csv, histories/, sweep.json

Each member (one algorithm, one grid point, one seed) is one Config: the algorithm's preset
(or the algorithm's defaults if it has none), then ``fixed``, then the grid point, then the
seed. Members with equal structural settings (``acnotes.population_checks.STRUCTURAL``) are trained
together as populations of at most ``chunk_size``: a *chunk*. A chunk is the unit of work,
of saving and of retrying. This package does the computation only (no argparse, no plots):
``spec`` parses and checks the spec, ``chunks`` splits it into populations and trains one,
``raypool`` runs chunks as Ray tasks; ``acnotes.stored.sweeps`` loads the studies stored with
the package for the notebooks, and this module runs the sweep and keeps its table.

What a sweep directory holds, each file written atomically (a temporary file, then a rename):

* ``sweep.json``: the spec, the chunks that failed (with their errors) and the PNGs that
  ``--plot`` wrote (only those may be replaced: a user's own PNG stops the sweep at the start);
* ``results.csv``: one row per finished member (``COLUMNS``), rewritten after each chunk;
* ``histories/<chunk>.json``: the History of every member of that chunk, written before
  its rows, so a row always has its History.

Resuming: the members with a row in ``results.csv`` are done; running the same spec again
trains only the others. A directory holding a different spec is refused.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .._files import out_dir, write_text
from ..config import ADDED_LATER, Config
from .chunks import Chunk, _one_line, area_under_curve, member_row, plan, run_chunk
from .raypool import RayPool, RayStartError, ray_available
from .spec import CONFIG_FIELDS, Spec, _scalar, load_spec, parse_grid_option, parse_seeds, parse_values

# the stored studies (``acnotes.stored.sweeps``, which imports this package's chunks and spec) are
# named here too, and imported the first time one is used: imported here at once, they made an
# import cycle (``import acnotes.stored.sweeps`` in a fresh interpreter failed)
_STORED = ("STUDIES", "DETERMINISTIC", "load_study", "point_rows", "rerun")


def __getattr__(name: str):
    """``sweep.load_study`` and the other names of ``acnotes.stored.sweeps``, imported when first used."""
    if name in _STORED:
        from ..stored import sweeps as stored

        return getattr(stored, name)
    raise AttributeError(f"module 'acnotes.sweep' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_STORED))

__all__ = ["Spec", "Chunk", "parse_values", "parse_grid_option", "parse_seeds", "load_spec",
           "plan", "run_chunk", "member_row", "area_under_curve", "read_results", "run_sweep",
           "prepare", "COLUMNS", "METRICS", "SweepResult", "RayPool", "RayStartError", "ray_available",
           "STUDIES", "DETERMINISTIC", "load_study", "point_rows", "rerun"]

# what each row says about its member, after the Config fields
METRICS = ["steps_to_target", "seconds_to_target", "final_return", "auc", "episodes",
           "env_steps", "wall_time"]
COLUMNS = ["member", "chunk", "preset"] + CONFIG_FIELDS + METRICS + ["status", "message"]
_EARLIER_COLUMNS = [c for c in COLUMNS if c not in ADDED_LATER]   # a table written before them



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


def _read_rows(text: str, name: str) -> list[dict]:
    """The typed rows of a results table given as CSV text; ``name`` says where it came from.
    A table written before the Config fields ``ADDED_LATER`` existed (CartPole runs) is read
    with their defaults."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames not in (COLUMNS, _EARLIER_COLUMNS):
        raise ValueError(f"{name} does not have the columns of this version of `sweep`; "
                         f"choose another --out")
    later = {f.name: f.default for f in dataclasses.fields(Config) if f.name in ADDED_LATER}
    return [{k: _from_text(k, r[k]) if k in r else later[k] for k in COLUMNS} for r in reader]


def read_results(out: str | Path) -> list[dict]:
    """The rows of ``out/results.csv`` with typed values (None for an empty cell)."""
    f = Path(out) / "results.csv"
    if not f.is_file():
        return []
    with open(f, newline="") as fh:
        return _read_rows(fh.read(), str(f))


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


PLOT_NAMES = ("sensitivity-*.png", "heatmap-*.png")  # what ``python -m acnotes sweep --plot`` writes


def _is_sweep_file(p: Path, plots: set[str] | None) -> bool:
    """A file a sweep wrote. ``plots``: the PNGs sweep.json lists (None: a sweep.json from
    before that list, whose PNGs are recognised by their names)."""
    if p.suffix == ".png":
        return p.name in plots if plots is not None else any(p.match(g) for g in PLOT_NAMES)
    return p.name in ("sweep.json", "results.csv", "histories") or p.name.startswith(".tmp-")


def _stored_plots(out: Path) -> set[str] | None:
    try:
        plots = json.loads((out / "sweep.json").read_text()).get("plots")
    except (OSError, ValueError, AttributeError):
        return set()  # no (readable) sweep.json: no PNG is the sweep's
    return None if plots is None else set(plots)


def record_plots(out: str | Path, names: Sequence[str]) -> None:
    """Add ``names`` to the PNGs sweep.json lists: a later ``--plot`` may replace only those."""
    meta_file = Path(out) / "sweep.json"
    meta = json.loads(meta_file.read_text())
    meta["plots"] = sorted(set(meta.get("plots") or []) | set(names))
    write_text(meta_file, json.dumps(meta, indent=1))


def prepare(spec: Spec, out: str | Path) -> tuple[Path, set[int]]:
    """Check ``out`` for this spec: (directory, member indices already done).

    A new or empty directory starts the sweep; one holding the same spec resumes it; one
    holding another spec, or other files, is refused.
    """
    out = out_dir("--out", out)  # not a file, created, writable: checked before any work
    entries = list(out.iterdir())
    plots = _stored_plots(out)
    others = sorted(p.name for p in entries if not _is_sweep_file(p, plots))
    if others:
        raise ValueError(f"--out {out} holds files that are not from a sweep ({', '.join(others[:3])}); "
                         f"move them away, or choose a new or empty directory")
    links = sorted(p.name for p in entries if p.is_symlink())
    if links:   # resuming would write histories or plots through them, into a user's own files
        raise ValueError(f"--out {out} holds symbolic links ({', '.join(links[:3])}); a sweep never writes "
                         f"through them: remove them yourself, or choose another directory")
    meta_file = out / "sweep.json"
    if not meta_file.is_file():
        if any(p.name in ("results.csv", "histories") for p in entries):
            raise ValueError(f"--out {out} holds results without sweep.json; choose a new or empty directory")
        write_text(meta_file, json.dumps({"spec": spec.to_dict(), "failed": {}, "plots": []}, indent=1))
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


def _check_chunk_memory(chunks: Sequence[Chunk], chunk_size: int) -> None:
    from ..population_checks import check_memory

    for ch in chunks:
        check_memory(ch.configs, advice=f"use a smaller --chunk-size (now {chunk_size})", what=ch.id)
