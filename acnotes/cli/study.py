"""``python -m acnotes study``: train one of the stored studies (acnotes/stored/studies.py) as JSON."""

from __future__ import annotations


__all__ = ["add_cli", "cmd_study"]


def cmd_study(args) -> int:
    from ..stored import studies
    from .._files import check_targets, out_file
    from ._common import stop_if_interrupted

    out = out_file("--out", args.out if args.out is not None else f"{args.name}.json")  # '' is refused
    check_targets([out], args.force)
    spec = dict(studies.STUDIES[args.name])
    if args.steps:
        spec["total_steps"] = args.steps
    n = len(studies.points(spec)) * len(spec["seeds"])
    print(f"training {n} members of {args.name} ({spec['total_steps']} env steps each)")
    data = studies.compute(args.name, spec, progress=not args.quiet)
    stop_if_interrupted([m["status"] for m in data["members"]], "the study")  # keep the old file
    studies.save(data, out)
    solved = sum(m["solved_steps"] is not None for m in data["members"])
    print(f"wrote {out}: {n} members, {solved} reached {data['threshold']:g} over {data['window']} episodes, "
          f"in {data['seconds']:.0f} s")
    return 0


def add_cli(sub) -> None:
    from .._names import STUDY_NAMES as STUDIES  # the studies' names, without importing torch
    from ._common import steps_int

    p = sub.add_parser("study", help="train a stored study (step-size ratio, rollout length) and write it as JSON",
                       description="Train every member of a study (see acnotes/stored/studies.py) and write the final "
                                   "returns, steps to 475 and learning curves as JSON (notebook 08 reads "
                                   "acnotes/data/NAME.json).")
    p.add_argument("name", choices=sorted(STUDIES), help="the study")
    p.add_argument("--out", metavar="FILE", help="where to write (default: NAME.json)")
    p.add_argument("--steps", type=steps_int, metavar="N", help="env steps per member, at most 10**12 (default: the study's)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_study)
