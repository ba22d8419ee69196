"""``python -m acnotes gallery DIR``: every figure of the series (and each panel's default
view) as PNGs in DIR, with an index.html that says where each comes from."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ._common import positive_int

__all__ = ["add_cli", "cmd_gallery"]


def cmd_gallery(args) -> int:
    from .. import gallery

    src = Path(args.notebooks)
    notebooks = sorted(p for p in src.glob("*.ipynb") if not p.name.startswith(".")) if src.is_dir() else [src]
    if not notebooks or not all(p.exists() for p in notebooks):
        raise ValueError(f"--notebooks {src}: no notebooks there")
    if args.only:
        notebooks = [p for p in notebooks if any(p.name.startswith(k) for k in args.only)]
    with tempfile.TemporaryDirectory(prefix="acnotes-gallery-") as tmp:
        if args.execute:
            notebooks = gallery.execute_copies(notebooks, Path(tmp), timeout=args.timeout)
        figs = gallery.write_gallery(notebooks, args.dir, force=args.force)
    panels = sum(f.panel for f in figs)
    print(f"wrote {args.dir}/index.html: {len(figs)} figures ({panels} from panels) from {len(notebooks)} notebooks")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("gallery", help="every figure of the series as PNGs in one folder, with an index.html",
                       description="Write every figure of the executed notebooks (and each panel's default view) "
                                   "as PNGs into DIR, with an index.html giving each one's notebook, cell and the "
                                   "line that draws it.")
    p.add_argument("dir", metavar="DIR", help="the folder to write (made if missing)")
    p.add_argument("--notebooks", default="notebooks", metavar="PATH",
                   help="a folder of executed notebooks, or one notebook (default: notebooks)")
    p.add_argument("--only", nargs="+", metavar="PREFIX", help="only the notebooks whose names start so (e.g. 04 05)")
    p.add_argument("--execute", action="store_true",
                   help="execute copies of the notebooks first (in a temporary folder; the originals are untouched)")
    p.add_argument("--timeout", type=positive_int, default=1800, metavar="S", help="seconds allowed per cell with --execute")
    p.add_argument("--force", action="store_true", help="replace a gallery already in DIR")
    p.set_defaults(func=cmd_gallery)
