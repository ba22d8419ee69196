"""``python -m acnotes centring``: store notebook 2's centring result from benchmarks/qac_baseline.py's
output (acnotes/stored/centring.py)."""

from __future__ import annotations

__all__ = ["add_cli", "cmd_centring"]


def cmd_centring(args) -> int:
    from pathlib import Path

    from .._files import check_targets, out_file
    from ..stored import centring

    source = Path(args.source)
    if not source.is_file():
        raise ValueError(f"--from {source}: no such file; give the --json file of benchmarks/qac_baseline.py")
    out = out_file("--out", args.out)
    check_targets([out], args.force)
    try:
        centring.store(source, out)
    except (KeyError, TypeError, ValueError) as e:   # not qac_baseline.py's output
        raise ValueError(f"--from {source} is not the --json output of benchmarks/qac_baseline.py ({e})") from None
    print(f"wrote {out}")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("centring", help="store notebook 2's Q-AC centring result from benchmarks/qac_baseline.py",
                       description="Keep, of the --json output of benchmarks/qac_baseline.py (the qac and "
                                   "qac_baseline variants over seeds 0-49), what notebook 2 reads: per member the "
                                   "seed, status, env steps to 475, final and best mean return "
                                   "(acnotes/data/qac-centring.json).")
    p.add_argument("--from", dest="source", required=True, metavar="BENCHMARK_JSON",
                   help="the --json file of benchmarks/qac_baseline.py")
    p.add_argument("--out", required=True, metavar="FILE", help="the JSON file to write")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(func=cmd_centring)
