"""What every command that writes a stored result does around its training (``ablations``,
``blogruns``): check ``--out`` before any work, and write only a complete result."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

__all__ = ["train_and_store"]


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
