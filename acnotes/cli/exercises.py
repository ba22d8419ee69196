"""``python -m acnotes exercises``: write the student versions of the notebooks
(``acnotes.exercises`` does the work)."""

from __future__ import annotations

__all__ = ["add_cli"]


def _cmd(args) -> int:
    from ..exercises import write_student_notebooks

    written = write_student_notebooks(args.outdir, args.notebooks, copy_others=args.copy_others,
                                      force=args.force)
    if not written:
        raise ValueError(f"no notebook in {args.notebooks} has a `### BEGIN SOLUTION` region")
    return 0


def add_cli(subparsers) -> None:
    """Register ``python -m acnotes exercises``."""
    p = subparsers.add_parser(
        "exercises",
        help="write student versions of the notebooks (solutions replaced by stubs)",
        description="For every notebook with solution regions (### BEGIN SOLUTION ... "
                    "### END SOLUTION), write a copy to OUTDIR where each region is replaced "
                    "by `raise NotImplementedError(\"Exercise N: hint\")`, hidden tests and nbgrader "
                    "metadata are removed, outputs are cleared, and the cells that depend on a "
                    "stub (except the checker cells) are tagged raises-exception.")
    p.add_argument("outdir", metavar="OUTDIR",
                   help="folder to write the student notebooks into (created if needed)")
    p.add_argument("--force", action="store_true",
                   help="replace files of the same name in OUTDIR (default: refuse); a symbolic "
                        "link is replaced by a file, never written through")
    p.add_argument("--notebooks", metavar="DIR", default="notebooks",
                   help="folder of the solution notebooks (default: notebooks)")
    p.add_argument("--copy-others", action="store_true",
                   help="also copy the notebooks that have no exercises, unchanged "
                        "(default: only notebooks with exercises are written)")
    p.set_defaults(func=_cmd)
