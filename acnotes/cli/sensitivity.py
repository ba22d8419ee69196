"""``python -m acnotes sensitivity``: train a gamma x lr sensitivity map and store it as JSON."""

from __future__ import annotations

from pathlib import Path

__all__ = ["add_cli", "cmd_sensitivity"]


def cmd_sensitivity(args) -> int:
    from ..stored import sensitivity
    from .._files import check_targets, out_file
    from ._common import stop_if_interrupted

    out = Path(args.out) if args.out is not None else Path(f"sensitivity-{args.algo}.json")
    if out.is_dir():
        raise ValueError(f"--out {out} is a directory; give a file name such as {out / f'sensitivity-{args.algo}.json'}")
    check_targets([out], args.force)  # a symbolic link counts as existing, even a dangling one
    out_file("--out", args.out if args.out is not None else out)  # '', a missing or read-only folder
    grid = dict(sensitivity.GRIDS[args.algo])
    if args.steps:
        grid["total_steps"] = args.steps
    n = len(grid["gammas"]) * len(grid["lrs"]) * len(grid["seeds"])
    print(f"training {n} members of {args.algo} ({grid['total_steps']} env steps each) as one population")
    data = sensitivity.compute(args.algo, grid, progress=not args.quiet)
    stop_if_interrupted([m["status"] for m in data["members"]], "the map")  # keep the old file
    sensitivity.save(data, out)
    solved = sum(m["solved_steps"] is not None for m in data["members"])
    print(f"wrote {out}: {n} members, {solved} reached {data['threshold']:g} over {data['window']} episodes")
    return 0


def add_cli(sub) -> None:
    from .._names import SENSITIVITY_ALGOS as GRIDS  # the grids' names, without importing torch
    from ._common import steps_int

    p = sub.add_parser("sensitivity", help="train a gamma x lr sensitivity map (one population) and store it",
                       description="Train every (gamma, lr) cell of the algorithm's grid for 3 seeds as one "
                                   "population, and write the final returns, steps to 475 and learning curves "
                                   "as JSON (the notebooks' heatmaps read acnotes/data/sensitivity-ALGO.json).")
    p.add_argument("--algo", choices=sorted(GRIDS), default="a2c", help="the algorithm (default: a2c)")
    p.add_argument("--out", metavar="FILE", help="where to write (default: sensitivity-ALGO.json)")
    p.add_argument("--steps", type=steps_int, metavar="N", help="env steps per member, at most 10**12 (default: the grid's)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sensitivity)
