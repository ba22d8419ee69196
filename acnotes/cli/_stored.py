"""What every command that writes a stored result does around its training (``ablations``,
``blogruns``): check ``--out`` before any work, and write only a complete result."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

__all__ = ["add_run_args", "train_and_store"]


def train_and_store(out: str | Path, force: bool, compute: Callable[[], dict],
                    statuses: Callable[[dict], Iterable[str]], what: str) -> Path:
    """Refuse an existing ``out`` (unless ``force``; never through a symbolic link) or a
    missing or read-only folder, then ``compute()``; an interrupted member (Ctrl-C, SIGTERM) stops here with
    exit 130 and the previous file kept; otherwise write the result atomically."""
    from .._files import check_targets, out_file
    from ..stored import save_json
    from ._common import stop_if_interrupted

    out = out_file("--out", out)   # a folder that exists and is writable, before any training
    check_targets([out], force)
    data = compute()
    stop_if_interrupted(list(statuses(data)), what)
    save_json(data, out)
    print(f"wrote {out}")
    return out


def add_run_args(p, *, steps: int, seeds: list[int], quiet: str) -> None:
    """The options every seed-by-seed stored command shares: --out, --steps, --seeds, --force, --quiet."""
    from ._common import positive_int, seed_int

    p.add_argument("--out", required=True, metavar="FILE", help="the JSON file to write")
    p.add_argument("--steps", type=positive_int, default=steps, metavar="N", help=f"env steps per run (default {steps})")
    shown = f"0 to {seeds[-1]}" if seeds == list(range(len(seeds))) and len(seeds) > 5 else " ".join(map(str, seeds))
    p.add_argument("--seeds", type=seed_int, nargs="+", default=list(seeds), metavar="SEED", help=f"seeds (default {shown})")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.add_argument("--quiet", action="store_true", help=quiet)
