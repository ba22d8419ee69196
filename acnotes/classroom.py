"""An nbgrader course from the series: ``python -m acnotes course DIR``.

    python -m acnotes course mycourse                 # from notebooks/
    cd mycourse && nbgrader generate_assignment 03-baselines-a2c

writes ``DIR/nbgrader_config.py`` and ``DIR/source/<assignment>/<notebook>.ipynb``, one
assignment per notebook that has exercises (the assignment is named after the notebook,
``03-baselines-a2c``). The series notebooks already carry nbgrader's cell metadata: each
solution cell is a solution cell (``grade_id`` ``ex5_a2c_loss``), each checker cell an
autograded, locked test cell with the points of its exercise. The copies in ``source/`` are
the series notebooks with their outputs and widget state removed; nbgrader's own
``generate_assignment`` makes the student versions (it replaces the solution regions and
strips hidden tests). Needs the ``classroom`` extra (``pip install acnotes[classroom]``) to
run nbgrader, not to write the course.

Writing follows the rules of ``python -m acnotes exercises``: nothing is replaced without
``--force``, a symbolic link is never written through, and everything is checked before
anything is written.
"""

from __future__ import annotations

from pathlib import Path

from ._files import check_targets, named_path, notebook_bytes, out_dir, write_all

# nbformat (and acnotes.exercises, which imports it) are imported by write_course: the Jupyter
# stack takes seconds to import, too long for `python -m acnotes --help`

__all__ = ["CONFIG", "graded_cells", "write_course", "add_cli"]

CONFIG = '''\
# nbgrader configuration of the acnotes course (written by `python -m acnotes course`).
# Run nbgrader from this folder: nbgrader generate_assignment 01-reinforce, and so on.
import os
import sys

from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds,
                                    OverwriteCells, OverwriteKernelspec)

from acnotes.grading import ScanSubmission

c = get_config()  # noqa: F821 (nbgrader provides it)

# The course id students give to fetch and submit (--course acnotes, or
# c.CourseDirectory.course_id in their own ~/.jupyter/nbgrader_config.py).
c.CourseDirectory.course_id = {course_id!r}
# The course folder, absolute (a relative root makes every nbgrader command warn).
c.CourseDirectory.root = {root!r}

# Time allowed per cell when autograding: the longest cell of the series takes a few seconds,
# so 120 s leaves room for a loaded machine and stops a stuck submission early.
c.ExecutePreprocessor.timeout = 120

# Autograde: after nbgrader has put back the instructor's checker cells (hidden tests
# included), the static scan of acnotes.grading.ScanSubmission reads every cell the student
# wrote, outside the student's kernel; a cell that fails it is not run and the exercise of the
# next checker cell scores 0 (python -m acnotes check --help lists the rules).
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                      OverwriteCells, ScanSubmission, CheckCellMetadata]

# nbgrader scores 0 for a graded cell with any text on stderr, so a warning that an honest
# solution triggers in a checker cell (a torch or numpy UserWarning) would cost its points. A
# checker signals failure by raising, never by stderr: drop the warnings after execution.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\\w*Warning: "

# Where release_assignment puts assignments, collect finds submissions and release_feedback
# puts feedback: a folder the instructor and the students share (students set the same path:
# --Exchange.root=...). It must exist: the commands that use it stop here if it does not,
# rather than let nbgrader create it (world-writable, when run as root).
c.Exchange.root = {exchange!r}
_EXCHANGE_COMMANDS = {{"release_assignment", "collect", "release_feedback", "list",
                      "fetch_assignment", "submit", "fetch_feedback"}}
if _EXCHANGE_COMMANDS & set(sys.argv[1:2]) and not os.path.isdir(c.Exchange.root):
    raise SystemExit(f"nbgrader_config.py: the exchange folder {{c.Exchange.root}} does not exist; "
                     f"create it, shared with the students (for example mkdir -p DIR and "
                     f"chmod 1777 DIR), or change c.Exchange.root")
'''


def graded_cells(nb) -> list[tuple[str, int]]:
    """``[(grade_id, points)]`` of the autograded cells of a notebook, in order."""
    out = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            out.append((meta["grade_id"], meta.get("points", 0)))
    return out


def _source_copy(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return nb


def write_course(course: str | Path, notebooks: str | Path = "notebooks", *, force: bool = False,
                 exchange: str = "/srv/nbgrader/exchange", quiet: bool = False) -> dict[str, int]:
    """Write the course layout into ``course``; returns ``{assignment: total points}``.

    Raises ValueError if ``notebooks`` has no notebook with graded cells, if a notebook's
    solution regions lack nbgrader metadata, or if a target exists and ``force`` is off.
    """
    import nbformat

    from .exercises import exercises_in

    course = named_path("DIR", course, "a directory")   # '' would mean the current folder
    src = named_path("--notebooks", notebooks, "a folder of notebooks")
    if not src.is_dir():
        raise ValueError(f"{src} is not a folder of notebooks")
    plan = {}
    for path in sorted(p for p in src.glob("*.ipynb") if not p.name.startswith(".")):
        nb = nbformat.read(path, as_version=4)
        found = exercises_in(nb, path.name)
        if not found:
            continue
        graded = graded_cells(nb)
        solutions = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells
                     if c.metadata.get("nbgrader", {}).get("solution")}
        if len(solutions - {None}) < len(found) or not graded:
            raise ValueError(f"{path.name}: {len(found)} exercise(s) but {len(solutions - {None})} "
                             f"nbgrader solution cell(s) and {len(graded)} graded cell(s); every "
                             f"cell with `### BEGIN SOLUTION` needs nbgrader metadata "
                             f"(see CONTRIBUTING.md)")
        plan[path.stem] = (path.name, _source_copy(nb), sum(p for _, p in graded))
    if not plan:
        raise ValueError(f"no notebook in {src} has exercises")
    config = course / "nbgrader_config.py"
    targets = [course / "source" / a / name for a, (name, _, _) in plan.items()]
    check_targets([config, *targets], force, under=course)
    out_dir("DIR", course)
    files = {target: notebook_bytes(nb) for target, (_, nb, _) in zip(targets, plan.values())}
    files[config] = CONFIG.format(exchange=str(Path(exchange).absolute()), course_id="acnotes",
                                  root=str(course.absolute())).encode()
    write_all(files)  # all or none: a full disk leaves no assignment half-written
    if not quiet:
        for a, (_, _, points) in plan.items():
            print(f"{course / 'source' / a}/: {points} point(s)")
        print(f"wrote {config} and {len(plan)} assignment(s); next: cd {course} && "
              f"nbgrader generate_assignment {next(iter(plan))}")
        if not Path(exchange).is_dir():
            print(f"note: the exchange folder {exchange} does not exist; create it, shared with "
                  f"the students, before release_assignment (the nbgrader commands that use it "
                  f"stop until it exists), or copy submissions by hand (README)")
    return {a: p for a, (_, _, p) in plan.items()}


def _cmd(args) -> int:
    write_course(args.dir, args.notebooks, force=args.force, exchange=args.exchange)
    return 0


def add_cli(subparsers) -> None:
    """Register ``python -m acnotes course``."""
    p = subparsers.add_parser(
        "course", help="write an nbgrader course (one assignment per notebook with exercises)",
        description="Write DIR/nbgrader_config.py and DIR/source/<assignment>/<notebook>.ipynb "
                    "for every notebook with exercises; then run nbgrader in DIR "
                    "(generate_assignment, release_assignment, collect, autograde, "
                    "generate_feedback, export). nbgrader comes with `pip install acnotes[classroom]`.")
    p.add_argument("dir", metavar="DIR", help="the course folder (created if needed)")
    p.add_argument("--notebooks", metavar="DIR", default="notebooks",
                   help="folder of the solution notebooks (default: notebooks)")
    p.add_argument("--exchange", metavar="DIR", default="/srv/nbgrader/exchange",
                   help="nbgrader's exchange folder for release and collect (default: "
                        "/srv/nbgrader/exchange)")
    p.add_argument("--force", action="store_true",
                   help="replace files that exist (default: refuse); a symbolic link is "
                        "replaced by a file, never written through")
    p.set_defaults(func=_cmd)
