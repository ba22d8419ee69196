"""Student versions of the notebooks: solution regions become stubs.

    python -m acnotes exercises OUTDIR                    # from notebooks/
    python -m acnotes exercises OUTDIR --notebooks DIR

In a notebook, an exercise is a solution region inside a function body, between two lines
``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markers), optionally preceded
by a hint line, and followed by a checker cell::

    def my_reward_to_go(r, terminated, truncated, gamma):
        # HINT: loop backwards over t and reset where terminated or truncated
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

    acn.checks.reward_to_go(my_reward_to_go)          # the next cell

The student version keeps everything but the region, which becomes one line at the region's
indentation::

        raise NotImplementedError("Exercise 1.1: loop backwards over t and reset where ...")

The hint is the text of a ``# HINT:`` comment directly above ``### BEGIN SOLUTION`` (the
comment stays), else a generic one. An exercise takes its number from the nearest markdown
heading above it that reads ``Exercise N`` (the same number as the heading and the nbgrader
``grade_id``, ``ex6_td_error``); without such a heading, exercises are numbered
``<notebook number>.<k>`` when the file name starts with a number, else ``k``.

Every output and execution count is cleared, nbgrader's cell metadata is removed, and
``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions are deleted. The stub cell
only *defines* the function, so it runs; the error comes from the cells that call it.

The checker cells (``acn.checks.<exercise>(...)``) are left untagged, so an unsolved or wrong
exercise fails the notebook's run (a student running all cells sees the checker's message).
To grade, use ``python -m acnotes check`` (:mod:`acnotes.cli.check`), which does not trust the
notebook's cells or tags. Other cells that depend on a stub get the tag ``raises-exception`` (honoured by
nbval, nbmake, nbclient), so that they do not count as failures of their own.
Which cells: found by a name analysis of the code, in order. A function whose body holds a
stub is *tainted*; a later code cell that reads a tainted name is tagged, and every name it
assigns becomes tainted too (it may never be assigned, so later readers may fail with a
NameError); a cell that re-assigns a tainted name without reading one cleans it. The tagging
errs on the side of tagging: a tagged cell need not raise. Notebook authors can keep the
rest of a notebook runnable by using the package function (``acn.returns.reward_to_go``)
after the checker, rather than the student's function.

Why not nbgrader's own preprocessors (``ClearSolutions``, ``ClearHiddenTests``): nbgrader is
an optional extra (``acnotes[classroom]``), and this path is for classes without it; its stub
is the same ``raise NotImplementedError()`` for every exercise, without the number and the
hint; and it does not know which later cells depend on a stub. With nbgrader, use
``python -m acnotes course`` and nbgrader's ``generate_assignment`` instead.

Writing never clobbers: an existing file is replaced only with ``force``, a symbolic link is
never written through (with ``force`` the link itself is replaced by a file), and each file
is written to a temporary name first, then renamed.

A notebook with a ``### BEGIN SOLUTION`` that has no ``### END SOLUTION`` (or the reverse, or
nested regions) is an error (``ValueError``): nothing is written for it.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ._cellnames import _parse, _reads_and_writes, _stubbed_functions
from ._files import check_targets, named_path, notebook_bytes, out_dir, write_all, write_file, write_notebook

__all__ = ["Exercise", "make_student_notebook", "exercises_in", "replace_regions",
           "strip_hidden_tests", "write_student_notebooks", "check_targets", "write_file",
           "write_notebook", "RAISES_TAG"]

BEGIN = re.compile(r"^(?P<indent>[ \t]*)###[ \t]*BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*###[ \t]*END SOLUTION[ \t]*$")
HINT = re.compile(r"^[ \t]*#[ \t]*HINT:[ \t]*(?P<hint>.*?)[ \t]*$")
HIDDEN_BEGIN = re.compile(r"^[ \t]*###[ \t]*BEGIN HIDDEN TESTS[ \t]*$")
HIDDEN_END = re.compile(r"^[ \t]*###[ \t]*END HIDDEN TESTS[ \t]*$")
HEADING = re.compile(r"^#+[ \t]*Exercise[ \t]+(?P<n>\d+)\b", re.M)
CHECKER = re.compile(r"\bchecks\.(?!claim\b)[A-Za-z_]\w*\(")
RAISES_TAG = "raises-exception"
GENERIC_HINT = "write your solution here, in place of this line"
STUB_PREFIX = "Exercise "


@dataclass
class Exercise:
    """One solution region of a notebook, after it was replaced."""

    number: str           # "1.2", or "2" when the notebook's name has no number
    cell: int             # index of the cell in the notebook
    line: int             # 1-based line of ``### BEGIN SOLUTION`` in the original cell
    hint: str
    function: str | None  # the enclosing top-level function, if found
    stub: str             # the line that replaced the region


def _location(where: str, cell: int, line: int) -> str:
    return f"{where}cell {cell}, line {line}"


def replace_regions(source: str, numbers, *, where: str = "", cell: int = 0) -> tuple[str, list[tuple[int, str, str]]]:
    """Replace every solution region of one cell's ``source``.

    ``numbers`` is an iterator yielding the exercise numbers to use. Returns the new source
    and, per region, ``(line of BEGIN, hint, stub line)``. Raises ValueError for a BEGIN
    without END, an END without BEGIN, or nested regions.
    """
    lines = source.split("\n")
    out: list[str] = []
    found: list[tuple[int, str, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if END.match(line):
            raise ValueError(f"{_location(where, cell, i + 1)}: `### END SOLUTION` without a "
                             f"`### BEGIN SOLUTION` before it")
        m = BEGIN.match(line)
        if not m:
            out.append(line)
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            if BEGIN.match(lines[j]):
                raise ValueError(f"{_location(where, cell, j + 1)}: `### BEGIN SOLUTION` inside "
                                 f"the region opened at line {i + 1} (regions cannot nest; is "
                                 f"an `### END SOLUTION` missing?)")
            j += 1
        if j == len(lines):
            raise ValueError(f"{_location(where, cell, i + 1)}: `### BEGIN SOLUTION` without a "
                             f"matching `### END SOLUTION`")
        h = HINT.match(lines[i - 1]) if i > 0 else None
        hint = h.group("hint") if h and h.group("hint") else GENERIC_HINT
        text = f"{STUB_PREFIX}{next(numbers)}: {hint}"
        stub = f"{m.group('indent')}raise NotImplementedError({text!r})"
        out.append(stub)
        found.append((i + 1, hint, stub))
        i = j + 1
    return "\n".join(out), found


# --------------------------------------------------------------------------- tags


def _tag(cell) -> None:
    tags = list(cell.metadata.get("tags", []))
    if RAISES_TAG not in tags:
        tags.append(RAISES_TAG)
    cell.metadata["tags"] = tags


# --------------------------------------------------------------------------- notebooks


def _prefix_of(name: str | None) -> str:
    m = re.match(r"^0*(\d+)", Path(name).name) if name else None
    return f"{m.group(1)}." if m else ""


class _Numbers:
    """Exercise numbers: the number of the last ``Exercise N`` heading not used yet, else
    ``<prefix><k>`` counting the exercises of the notebook."""

    def __init__(self, prefix: str):
        self.prefix, self.k, self.heading = prefix, 0, None

    def see(self, markdown: str) -> None:
        found = HEADING.findall(markdown)
        if found:
            self.heading = found[-1]

    def __iter__(self):
        return self

    def __next__(self) -> str:
        self.k += 1
        number, self.heading = self.heading, None
        return number if number is not None else f"{self.prefix}{self.k}"


def strip_hidden_tests(source: str, *, where: str = "", cell: int = 0) -> str:
    """``source`` without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions
    (markers included). Raises ValueError for an unbalanced marker."""
    out, inside = [], None
    for i, line in enumerate(source.split("\n"), 1):
        if HIDDEN_BEGIN.match(line):
            if inside is not None:
                raise ValueError(f"{_location(where, cell, i)}: `### BEGIN HIDDEN TESTS` inside "
                                 f"the region opened at line {inside}")
            inside = i
        elif HIDDEN_END.match(line):
            if inside is None:
                raise ValueError(f"{_location(where, cell, i)}: `### END HIDDEN TESTS` without a "
                                 f"`### BEGIN HIDDEN TESTS` before it")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise ValueError(f"{_location(where, cell, inside)}: `### BEGIN HIDDEN TESTS` without a "
                         f"matching `### END HIDDEN TESTS`")
    return "\n".join(out)


def make_student_notebook(nb, name: str | None = None, exercises: list | None = None):
    """A student copy of ``nb`` (an nbformat v4 notebook; ``nb`` itself is not changed).

    Solution regions become ``raise NotImplementedError("Exercise N: hint")`` stubs, hidden
    tests and nbgrader metadata are removed, outputs and execution counts are cleared, and
    the cells that depend on a stubbed function, except the checker cells, are tagged
    ``raises-exception``. ``N`` comes from the ``Exercise N`` heading above the region, else
    from ``name`` (the file name: "01-..." gives "1.1"). If ``exercises`` is a list, the
    :class:`Exercise` records are appended to it. Raises ValueError for unbalanced markers.
    """
    nb = copy.deepcopy(nb)
    where = f"{Path(name).name}, " if name else ""
    numbers = _Numbers(_prefix_of(name))
    found: list[Exercise] = []
    tainted: set[str] = set()
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "markdown":
            numbers.see(cell.source)
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.source = strip_hidden_tests(cell.source, where=where, cell=index)
        new, regions = replace_regions(cell.source, numbers, where=where, cell=index)
        tree = _parse(new)
        if regions:
            cell.source = new
            funcs, top = _stubbed_functions(tree, STUB_PREFIX) if tree is not None else ([], False)
            for line, hint, stub in regions:
                m = re.search(r"NotImplementedError\((.*)\)$", stub)
                number = ast.literal_eval(m.group(1))[len(STUB_PREFIX):].split(":", 1)[0]
                found.append(Exercise(number, index, line, hint, funcs[0] if len(funcs) == 1 else
                                      (", ".join(funcs) or None), stub))
            tainted |= set(funcs)
            if top:  # the cell itself raises: whatever it defines may be missing afterwards
                _tag(cell)
                if tree is not None:
                    tainted |= _reads_and_writes(tree)[1]
            continue
        if tree is None or not tainted:
            continue
        # statement by statement: once one reads a tainted name, the cell may stop there, so
        # everything assigned from there on may be missing afterwards
        tag = False
        for stmt in tree.body:
            reads, writes = _reads_and_writes(ast.Module(body=[stmt], type_ignores=[]))
            if tag or reads & tainted:
                tag = True
                tainted |= writes
            else:
                tainted -= writes
        if tag and not CHECKER.search(cell.source):  # a failing check must fail the run
            _tag(cell)
    nb.metadata.pop("widgets", None)
    nb.metadata["acnotes"] = {"student_version": True, "exercises": len(found)}
    if exercises is not None:
        exercises.extend(found)
    return nb


def exercises_in(nb, name: str | None = None) -> list[Exercise]:
    """The exercises a notebook holds (by generating its student version and discarding it)."""
    found: list[Exercise] = []
    make_student_notebook(nb, name, found)
    return found


def write_student_notebooks(outdir: str | Path, notebooks: str | Path = "notebooks",
                            copy_others: bool = False, quiet: bool = False,
                            force: bool = False) -> dict[str, list[Exercise]]:
    """Write the student version of every notebook in ``notebooks`` that has exercises into
    ``outdir``; returns ``{file name: [Exercise, ...]}`` of those written.

    All notebooks are converted, and every target checked, before anything is written, so an
    error (unbalanced markers, a file that exists without ``force``) leaves ``outdir``
    untouched. Notebooks without exercises are copied unchanged only with ``copy_others``.
    """
    named_path("OUTDIR", outdir, "a directory")   # '' would mean the current folder
    src = named_path("--notebooks", notebooks, "a folder of notebooks")
    if not src.is_dir():
        raise ValueError(f"{src} is not a folder of notebooks")
    paths = sorted(p for p in src.glob("*.ipynb") if not p.name.startswith("."))
    if not paths:
        raise ValueError(f"{src} holds no notebooks (*.ipynb)")
    out = Path(outdir)
    if out.resolve() == src.resolve():
        raise ValueError("OUTDIR must differ from the notebooks folder (it would overwrite the solutions)")
    converted, others = {}, []
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        found: list[Exercise] = []
        student = make_student_notebook(nb, p.name, found)
        if found:
            converted[p.name] = (student, found)
        else:
            others.append(p)
    check_targets([out / f for f in converted] + [out / p.name for p in others if copy_others], force)
    out_dir("OUTDIR", outdir)
    files = {out / fname: notebook_bytes(student) for fname, (student, _) in converted.items()}
    files.update({out / p.name: p.read_bytes() for p in others if copy_others})
    write_all(files)  # all or none: a full disk leaves no notebook half-way, and no re-run needs --force
    for fname, (student, found) in converted.items():
        if not quiet:
            tagged = sum(RAISES_TAG in c.metadata.get("tags", []) for c in student.cells)
            print(f"{out / fname}: {len(found)} exercise(s) "
                  f"({', '.join(e.number + (' ' + e.function if e.function else '') for e in found)}); "
                  f"{tagged} cell(s) tagged {RAISES_TAG}")
    if not quiet:
        n = sum(len(f) for _, f in converted.values())
        print(f"{n} exercise(s) in {len(converted)} notebook(s) written to {out}/")
        if others:
            verb = "copied unchanged" if copy_others else "not copied (no exercises; use --copy-others)"
            print(f"{len(others)} notebook(s) {verb}: {', '.join(p.name for p in others)}")
    return {k: f for k, (_, f) in converted.items()}
