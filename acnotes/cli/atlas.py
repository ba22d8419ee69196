"""``python -m acnotes atlas``: precompute the training panels' settings (``acnotes.stored.atlas``)."""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["add_cli", "cmd_atlas"]


def cmd_atlas(args) -> int:
    from ..stored import atlas

    names = args.only or sorted(atlas.PANELS)
    unknown = [n for n in names if n not in atlas.PANELS]
    if unknown:
        raise ValueError(f"--only {', '.join(unknown)}: no such panel; choose from {', '.join(sorted(atlas.PANELS))}")
    out = Path(args.out) if args.out else atlas._folder()
    if not out.is_dir():
        raise ValueError(f"--out {out}: not a folder (create it first)")
    todo = [(n, out / f"{n}.json.gz") for n in names]
    exists = [str(p) for _, p in todo if p.exists() or p.is_symlink()]   # a link counts, even a dangling one
    links = [str(p) for _, p in todo if p.is_symlink()]
    if args.add and links:
        raise ValueError(f"{', '.join(links)}: a symbolic link; --add writes no file through a link "
                         f"(copy the file there, or use --force to replace the link itself)")
    if args.force and args.add:
        raise ValueError("--force and --add exclude each other: --force retrains everything, "
                         "--add only the settings a file lacks")
    if exists and not (args.force or args.add):
        raise ValueError(f"{', '.join(exists)} exist(s); add --force to replace, or --add to train only "
                         f"the settings missing from it")
    stored = {path: _stored(atlas, path) for _, path in todo if args.add and path.exists()}  # all read first
    for name, path in todo:   # rewritten after each population: what is done is kept (resume with --add)
        panel = atlas.PANELS[name]
        t0 = time.perf_counter()
        have = stored.get(path, {})
        print(f"panel {name}: {len(atlas.settings(panel))} settings x {len(panel.seeds)} seeds")
        # a checkpoint holds what is done so far: it may grow a file (--add) or start one, but
        # never replace a complete file that --force is retraining (an interrupt keeps that one)
        keep_old = args.force and (path.exists() or path.is_symlink())
        members = atlas.compute(panel, progress=not args.quiet, have=have,
                                checkpoint=None if keep_old else lambda done, path=path: atlas.save(done, path))
        atlas.save(members, path)
        print(f"wrote {path}: {len(members)} members in {time.perf_counter() - t0:.0f} s")
    return 0


def _stored(atlas, path: Path) -> dict:
    try:
        return atlas.load(path, strict=True)
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{path} is not an atlas file ({type(e).__name__}: {e}); move it away, or "
                         f"use --force to replace it") from None


def add_cli(sub) -> None:
    p = sub.add_parser("atlas", help="precompute the training panels' settings",
                       description="Train, for each notebook's training panel, every setting one control "
                                   "move from its default and every combination of its first two controls "
                                   "(5 seeds each, one population per algorithm) and store the learning "
                                   "curves in acnotes/data/atlas/, so that the panels redraw at once.")
    p.add_argument("--only", nargs="+", metavar="NB", help="only these panels (notebook numbers, e.g. 04)")
    p.add_argument("--out", metavar="DIR", help="the folder to write to (default: the package's data/atlas)")
    p.add_argument("--force", action="store_true", help="replace existing files")
    p.add_argument("--add", action="store_true",
                   help="keep what existing files hold and train only the settings they lack")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_atlas)
