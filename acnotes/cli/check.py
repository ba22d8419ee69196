"""``python -m acnotes check NOTEBOOK...``: grade student notebooks as the course does.

For each notebook: compare it with the series notebook of the same name (``--notebooks``),
scan the student's cells (:mod:`acnotes.checks.scan`), then EXECUTE it in a fresh kernel,
with the instructor's checker cells (hidden tests included) in place of the student's copies,
the cells that fail the scan not run, a time limit per cell and for the whole notebook. A
kernel that dies (``os._exit``, a crash) or a cell that runs too long fails the exercises not
reached, and the check goes on with the next notebook. Prints one row per exercise (points,
passed or failed, the checker's message), then the messages in full; exit status 0 only if
every exercise of every notebook passes, 1 otherwise, 2 for bad input.

The Jupyter stack is imported inside the command, so ``--help`` stays quick.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

__all__ = ["add_cli", "check_notebook", "execute"]

WARNING = ("acnotes check executes the code of each notebook it checks (in a fresh Jupyter "
           "kernel, as your user, in a temporary folder): run it only where that is safe.")


def execute(nb, cell_timeout: float, total_timeout: float, cwd: str) -> dict[int, str]:
    """Run the code cells of ``nb`` in order in a fresh kernel; returns ``{cell index: error}``
    for the cells that raised, timed out or were not reached. Errors do not stop the run; a
    dead kernel or the total time limit does (every later cell is marked)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    client = NotebookClient(nb, timeout=int(cell_timeout), kernel_name="python3",
                            allow_errors=False, interrupt_on_timeout=True,
                            skip_cells_with_tag="\0never", record_timing=False,
                            resources={"metadata": {"path": cwd}},
                            error_on_timeout={"ename": "Timeout", "evalue": f"the cell ran longer "
                                              f"than {cell_timeout:g} s", "traceback": []})
    errors: dict[int, str] = {}
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    stop = None
    try:
        with client.setup_kernel():
            deadline = time.monotonic() + total_timeout   # from the kernel's start
            for i in code:
                if stop is None and time.monotonic() >= deadline:
                    stop = f"not run: the notebook ran longer than {total_timeout:g} s"
                if stop is not None:
                    errors[i] = stop
                    continue
                left = deadline - time.monotonic()
                client.timeout = max(1, math.ceil(min(cell_timeout, left)))
                try:
                    client.execute_cell(nb.cells[i], i)
                except CellExecutionError as e:
                    errors[i] = f"{e.ename}: {e.evalue}"
                    if e.ename == "Timeout" and left < cell_timeout:
                        errors[i] = f"Timeout: the notebook ran longer than {total_timeout:g} s"
                        stop = "not run: the notebook ran out of time in an earlier cell"
                except DeadKernelError:
                    errors[i] = "the kernel died in this cell (os._exit, a crash or out of memory)"
                    stop = "not run: the kernel died in an earlier cell"
    except DeadKernelError:   # died while shutting down: what ran is recorded
        pass
    return errors


def check_notebook(path: Path, series_dir: Path, cell_timeout: float, total_timeout: float,
                   run: bool = True) -> list[tuple[str, float, bool, str]]:
    """``[(exercise, points, passed, message)]`` for one student notebook."""
    import tempfile

    import nbformat

    from ..grading import plan

    student = nbformat.read(path, as_version=4)
    series = nbformat.read(series_dir / path.name, as_version=4)
    p = plan(student, series)
    errors: dict[int, str] = {}
    if run:
        with tempfile.TemporaryDirectory(prefix="acnotes-check-") as cwd:
            errors = execute(p.run, cell_timeout, total_timeout, cwd)
    rows = []
    for g in p.graded:
        problems = list(g.problems)
        if g.index is not None and g.index in errors:
            problems.append(errors[g.index])
        elif g.index is not None and not run:
            problems.append("not run (--no-run)")
        rows.append((g.name, g.points, not problems, "; ".join(problems) or _passed(p.run, g.index)))
    return rows


def _passed(nb, index) -> str:
    text = "".join(o.get("text", "") for o in nb.cells[index].get("outputs", [])
                   if o.get("output_type") == "stream")
    return text.strip().split("\n")[0] if text.strip() else "passed"


def _first_line(text: str, width: int = 70) -> str:
    line = text.strip().split("\n")[0]
    return line if len(line) <= width else line[:width - 3] + "..."


def _cmd(args) -> int:
    series_dir = Path(args.notebooks)
    if not series_dir.is_dir():
        raise ValueError(f"--notebooks {series_dir}: not a folder; give the folder of the series "
                         f"notebooks (with solutions)")
    paths = [Path(p) for p in args.notebook]
    for p in paths:
        if not p.is_file():
            raise ValueError(f"{p}: no such notebook")
        if not (series_dir / p.name).is_file():
            raise ValueError(f"{p}: no series notebook {series_dir / p.name} of the same name "
                             f"(the student's notebook keeps the series' file name)")
    for value, name in ((args.cell_timeout, "--cell-timeout"), (args.timeout, "--timeout")):
        if not value > 0:
            raise ValueError(f"{name}: expected a number of seconds > 0, got {value:g}")
    import nbformat

    from ..grading import checker_cells

    for p in paths:
        try:
            nbformat.read(p, as_version=4)
        except Exception as e:
            raise ValueError(f"{p}: not a readable notebook ({type(e).__name__}: {e})") from None
        if not checker_cells(nbformat.read(series_dir / p.name, as_version=4)):
            raise ValueError(f"{p}: the series notebook {series_dir / p.name} has no graded "
                             f"exercise to check")
    print(WARNING)
    ok = True
    for path in paths:
        rows = check_notebook(path, series_dir, args.cell_timeout, args.timeout)
        width = max(len("exercise"), *(len(r[0]) for r in rows)) if rows else 8
        print(f"\n{path}")
        print(f"  {'exercise':<{width}}  points  result  message")
        for name, points, passed, message in rows:
            print(f"  {name:<{width}}  {points:>6g}  {'passed' if passed else 'FAILED':<6}  "
                  f"{_first_line(message)}")
        score = sum(r[1] for r in rows if r[2])
        print(f"  total: {score:g} of {sum(r[1] for r in rows):g} point(s)")
        for name, _, passed, message in rows:
            if not passed and "\n" in message.strip():
                print(f"\n  {name}:\n    " + message.strip().replace("\n", "\n    "))
        ok &= all(r[2] for r in rows)
    return 0 if ok else 1


def add_cli(subparsers) -> None:
    """Register ``python -m acnotes check``."""
    p = subparsers.add_parser(
        "check", help="grade student notebooks (compare with the series, scan, EXECUTE in a "
                      "kernel); exit 0 only if every exercise passes",
        description="Check student notebooks as the course grades them. Each NOTEBOOK is "
                    "compared with the series notebook of the same name in --notebooks: every "
                    "checker cell must be there unchanged and untagged; the cells the student "
                    "wrote (solutions, added or changed cells) are scanned, and one that "
                    "imports anything but torch/numpy/math-like modules, uses acn/acnotes, "
                    "exec/eval/compile/open/getattr/globals/get_ipython, a dunder or private "
                    "name, torch.load/np.load and the like, or assigns an attribute or a "
                    "builtin's name, is not run and fails its exercise. Then the notebook is "
                    "EXECUTED (this runs its code: do it where that is safe) in a fresh "
                    "kernel, with the instructor's checker cells (hidden tests included) and a "
                    "time limit per cell and in total; a dead kernel fails what was not reached. "
                    "Prints per exercise: points, passed/failed, the checker's message. Exit "
                    "status 0 if everything passes, 1 if not, 2 for bad input.")
    p.add_argument("notebook", nargs="+", metavar="NOTEBOOK", help="student notebook(s) (.ipynb)")
    p.add_argument("--notebooks", metavar="DIR", default="notebooks",
                   help="folder of the series notebooks, with solutions and hidden tests "
                        "(default: notebooks)")
    p.add_argument("--cell-timeout", type=float, default=120, metavar="S",
                   help="seconds one cell may run (default: 120)")
    p.add_argument("--timeout", type=float, default=900, metavar="S",
                   help="seconds the whole notebook may run (default: 900)")
    p.set_defaults(func=_cmd)
