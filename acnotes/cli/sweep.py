"""``python -m acnotes sweep``: algorithms x a grid of settings x seeds, in chunks, on Ray or here.

    python -m acnotes sweep --algos a2c,tdac --grid gamma=0.9,0.95,0.99 --grid lr=1e-4:1e-2:5log \\
        --seeds 0-29 --steps 100000 --out runs/sweep --plot
    python -m acnotes sweep --spec sweep.yaml --out runs/sweep --address HEAD_IP:6379

Writes ``results.csv`` (one row per member), ``histories/<chunk>.json`` and ``sweep.json``
into ``--out``, after each finished chunk and atomically (see ``acnotes.sweep``). Running the
same command again resumes: finished chunks are kept. The whole spec is checked before
anything runs. Exit status: 0; 1 if a chunk failed twice; 2 for bad input; 130 if interrupted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ._common import positive_int, steps_int


def _spec_from_args(args):
    from .. import sweep
    from .._files import named_path

    kw = sweep.load_spec(named_path("--spec", args.spec, "a file")) if args.spec is not None else {}
    grid = dict(kw.get("grid") or {})
    given = set()
    for text in args.grid or []:
        name, values = sweep.parse_grid_option(text)
        if name in given:
            raise ValueError(f"--grid {name} is given twice; give all its values in one --grid "
                             f"(e.g. {name}=0.9,0.99)")
        given.add(name)
        grid[name] = values  # overrides the spec file's values
    fixed = dict(kw.get("fixed") or {})
    set_here = set()
    for text in args.set or []:
        name, sep, value = text.partition("=")
        name = name.strip().replace("-", "_")
        if not sep:
            raise ValueError(f"--set expects FIELD=VALUE (e.g. critic_lr=5e-3), got {text!r}")
        if name in set_here:
            raise ValueError(f"--set {name} is given twice; keep one")
        set_here.add(name)
        values = sweep.parse_values(name, value, option="--set")
        if len(values) != 1:
            raise ValueError(f"--set {name}: one value, got {values}; use --grid for several")
        fixed[name] = values[0]
    if args.steps is not None:
        if "total_steps" in set_here and fixed["total_steps"] != args.steps:
            raise ValueError(f"--steps {args.steps} and --set total_steps={fixed['total_steps']} disagree; "
                             f"give the steps once")
        fixed["total_steps"] = args.steps
    algos = args.algos if args.algos is not None else kw.get("algos")
    seeds = args.seeds if args.seeds is not None else kw.get("seeds", "0")
    threshold = args.threshold if args.threshold is not None else kw.get("threshold")
    spec = sweep.Spec.build(algos=algos, grid=grid, seeds=seeds, fixed=fixed, threshold=threshold)
    if args.stop_at_target:   # the threshold of the members' env unless one is given
        fixed["target_return"] = spec.threshold
        spec = sweep.Spec.build(algos=algos, grid=grid, seeds=seeds, fixed=fixed, threshold=spec.threshold)
    return spec


def _backend(args) -> str:
    from ..sweep import ray_available

    if args.backend == "ray" and not ray_available():
        raise ValueError("--backend ray: Ray is not installed; pip install 'acnotes[cluster]', "
                         "or use --backend local")
    if args.address and args.backend == "local":
        raise ValueError("--address needs the ray backend; drop --backend local")
    if args.backend:
        return args.backend
    return "ray" if ray_available() else "local"


def _plots(out: Path, spec, metric: str) -> list[Path]:
    import matplotlib.pyplot as plt

    from .._files import atomic_path
    from ..plots import style, sweep_heatmap, sweep_sensitivity
    from ..plots.sweep import preset_name
    from ..sweep import read_results, record_plots

    rows = read_results(out)
    varied = [k for k, v in spec.grid.items() if len(v) > 1]
    figs = []
    if len(varied) == 1:  # one line per algorithm
        figs.append((f"sensitivity-{varied[0]}.png", sweep_sensitivity(rows, varied[0], metric)))
    for algo in spec.algos if len(varied) > 1 else []:  # per algorithm: the first two varied fields
        mine = [r for r in rows if r["preset"] == algo]
        if mine:
            x, y = varied[:2]
            figs.append((f"sensitivity-{algo}-{x}.png",
                         sweep_sensitivity(mine, x, metric, lines=y, title=f"{preset_name(algo, rows)}: against {x}")))
            figs.append((f"heatmap-{algo}-{x}-{y}.png",
                         sweep_heatmap(mine, x, y, metric, title=f"{preset_name(algo, rows)} over {x} and {y}")))
    written = []
    for name, fig in figs:
        record_plots(out, [name])  # listed before it exists: an interrupted --plot leaves no PNG unlisted
        with atomic_path(out / name) as tmp:
            style.save(fig, tmp, format="png")
        plt.close(fig)
        written.append(out / name)
    return written


def cmd_sweep(args) -> int:
    from .. import sweep

    spec = _spec_from_args(args)  # every member validated before anything runs
    backend = _backend(args)
    out, done = sweep.prepare(spec, args.out)
    todo = sweep.plan(spec, args.chunk_size, skip=done)
    n = len(spec.members())
    def count(k, word):
        return f"{k} {word}{'' if k == 1 else 's'}"

    print(f"{count(n, 'member')} ({count(len(spec.algos), 'algorithm')} x {count(len(spec.points()), 'grid point')} "
          f"x {count(len(spec.seeds), 'seed')}); {len(done)} done earlier, {len(todo)} chunks of <= {args.chunk_size} to run")
    pool = None
    if todo and backend == "ray":
        try:
            pool = sweep.RayPool(address=args.address, num_cpus=args.cpus)
        except sweep.RayStartError as e:
            if args.backend == "ray" or args.address:  # asked for explicitly: stop
                print(f"error: {e}", file=sys.stderr)
                return 1
            print(f"{e}; running in this process instead", file=sys.stderr)
            backend = "local"
    if pool is not None:
        how = f"connected to the cluster at {args.address}" if args.address else "started on this machine"
        print(f"Ray {how} in {pool.started:.1f} s ({pool.cpus} CPUs): chunks run in parallel")
    elif todo and backend == "local":
        print("running the chunks one after another in this process"
              + ("" if sweep.ray_available() else
                 " (Ray is not installed: pip install 'acnotes[cluster]' would spread them over CPUs or a cluster)"))
    t0 = time.perf_counter()
    try:
        res = sweep.run_sweep(spec, out, chunk_size=args.chunk_size, backend=backend, pool=pool,
                              progress=not args.quiet, log=lambda s: print(s, file=sys.stderr))
    finally:
        if pool is not None:
            pool.close()
    secs = time.perf_counter() - t0
    steps = sum(r["env_steps"] for r in res.rows if r["chunk"] in res.ran)
    print(f"{len(res.ran)} chunks trained in {secs:.1f} s ({steps / max(secs, 1e-9):,.0f} agent env steps/s); "
          f"{len(res.rows)} of {n} rows in {out / 'results.csv'}")
    if args.plot and res.rows:
        for p in _plots(out, spec, args.metric):
            print(f"wrote {p}")
    if res.interrupted:
        print("interrupted: finished chunks are saved; run the same command again to resume", file=sys.stderr)
        return 130
    if res.failed:
        for cid, err in res.failed.items():
            print(f"{cid} failed twice: {err}", file=sys.stderr)
        print("the other chunks finished; run the same command again to retry the failed ones", file=sys.stderr)
        return 1
    return 0


def add_cli(sub) -> None:
    from .._names import SWEEP_METRICS as METRICS  # without importing torch (acnotes.sweep does)

    s = sub.add_parser("sweep", help="train algorithms x a grid of settings x seeds, in chunks (Ray or here)",
                       description="Train every combination of algorithms, grid values and seeds as "
                                   "populations of at most --chunk-size members; write a results table "
                                   "(one row per member) and the Histories. Re-run to resume.")
    s.add_argument("--spec", metavar="FILE", default=None,
                   help="a YAML or JSON file with algos, grid, seeds, fixed, threshold (options given here override it)")
    s.add_argument("--algos", default=None, metavar="A,B",
                   help="presets or algorithms, comma-separated (a preset's settings are the starting point)")
    s.add_argument("--grid", action="append", metavar="FIELD=VALUES",
                   help="a Config field and its values: 0.9,0.99, or LO:HI:N (linear), or LO:HI:Nlog; repeat for more fields")
    s.add_argument("--set", action="append", metavar="FIELD=VALUE", help="a setting fixed for every member; repeatable")
    s.add_argument("--seeds", default=None, metavar="SEEDS", help="seeds: 0-29, or 0,3,7 (default: 0)")
    s.add_argument("--steps", type=steps_int, default=None, metavar="N", help="env steps per member, at most 10**12 (default: the preset's)")
    s.add_argument("--threshold", type=float, default=None, metavar="R",
                   help="the mean return of 100 episodes that counts as solved (default: the env's, "
                        "475 on CartPole-v1, -200 on Pendulum-v1)")
    s.add_argument("--stop-at-target", action="store_true",
                   help="stop each member once solved (faster; its final return is then about the threshold)")
    s.add_argument("--out", required=True, metavar="DIR", help="directory for the results (the same one resumes)")
    s.add_argument("--chunk-size", type=positive_int, default=25, metavar="K", help="members per population (default: 25)")
    s.add_argument("--backend", choices=["local", "ray"], default=None,
                   help="ray: chunks as Ray tasks; local: one after another here (default: ray if installed)")
    s.add_argument("--address", default=None, metavar="HOST:PORT", help="an existing Ray cluster (default: start Ray here)")
    s.add_argument("--cpus", type=positive_int, default=None, metavar="N", help="CPUs for a local Ray (default: all)")
    s.add_argument("--plot", action="store_true", help="also write sensitivity curves and heatmaps (PNG)")
    s.add_argument("--metric", choices=METRICS, default="final_return", help="what --plot shows (default: final_return)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_sweep)


__all__ = ["add_cli", "cmd_sweep"]
