"""Grading a student's notebook against the series: what is the student's, what is checked,
what runs.

A student's notebook is compared with the series notebook it comes from (the instructor's
version, with solutions and hidden tests):

* **checker cells** (nbgrader's autograded cells): each must be present, once, with the source
  of the student version (the series source without its hidden tests) and no
  ``raises-exception`` or ``skip-execution`` tag. What runs is the instructor's version,
  hidden tests included, whatever the student's copy says.
* **trusted cells**: a code cell whose source is that of a cell of the series (not a solution
  cell) is the instructor's and runs as it is.
* **the student's cells**: every other code cell (the solution cells, cells the student added
  or changed) is scanned by :func:`acnotes.checks.scan.scan_source`. A cell that fails the scan
  is *not run* (its source is commented out under a ``raise`` that says why) and fails the
  exercise whose checker cell comes next.

:func:`plan` does the comparison (no kernel); ``python -m acnotes check`` runs the plan in a
fresh kernel (:mod:`acnotes.cli.check`); :class:`ScanSubmission` applies the same scan inside
nbgrader's ``autograde``, before the submission runs (the course's ``nbgrader_config.py``
registers it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Graded", "Plan", "plan", "neutralized", "checker_cells", "ScanSubmission"]

_TAGS = ("raises-exception", "skip-execution")
_HIDDEN = re.compile(r"^[ \t]*###[ \t]*BEGIN HIDDEN TESTS.*?^[ \t]*###[ \t]*END HIDDEN TESTS[ \t]*\n?",
                     re.M | re.S)


def _public(source: str) -> str:
    """A checker cell as the student sees it: without hidden tests, trailing space removed."""
    return _HIDDEN.sub("", source).rstrip()


@dataclass
class Graded:
    """One exercise: its checker cell in the series, its points, and what was found."""

    grade_id: str
    points: float
    source: str                  # the instructor's checker cell, hidden tests included
    index: int | None = None     # the checker's cell in the student's notebook (None: missing)
    problems: list[str] = field(default_factory=list)   # found before running

    @property
    def name(self) -> str:
        return re.sub(r"_check$", "", self.grade_id)


@dataclass
class Plan:
    graded: list[Graded]
    run: object                  # the notebook to execute (an nbformat notebook)
    flagged: dict[int, list[str]]   # student cell index -> scan problems


def checker_cells(series) -> list[Graded]:
    """The autograded cells of a series notebook, in order."""
    out = []
    for cell in series.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            out.append(Graded(meta["grade_id"], meta.get("points", 0), cell.source))
    return out


def neutralized(source: str, problems: list[str]) -> str:
    """A cell that is not run: a ``raise`` saying why, then the student's code commented out."""
    message = ("this cell was not run: it does what graded code may not (python -m acnotes "
               "check --help lists the rules): " + "; ".join(problems))
    head = f"raise RuntimeError({message!r})"
    return head + "\n" + "\n".join("# " + line for line in source.split("\n"))


def plan(student, series):
    """Compare a student's notebook with its series notebook; returns a :class:`Plan` whose
    ``run`` notebook is what to execute: trusted and clean cells as they are, the checker
    cells in the instructor's version, flagged cells neutralized, no tags."""
    import copy

    from .checks.scan import scan_source

    graded = checker_cells(series)
    by_public: dict[str, list[Graded]] = {}
    for g in graded:
        by_public.setdefault(_public(g.source), []).append(g)
    trusted = {c.source.strip() for c in series.cells if c.cell_type == "code"
               and not any(c.metadata.get("nbgrader", {}).get(k) for k in ("solution", "grade"))
               and "### BEGIN SOLUTION" not in c.source}
    run = copy.deepcopy(student)
    flagged: dict[int, list[str]] = {}
    pending: list[str] = []          # problems waiting for the next checker cell
    for i, cell in enumerate(run.cells):
        tags = cell.metadata.get("tags", [])
        cell.metadata.pop("tags", None)
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        candidates = [g for g in by_public.get(_public(cell.source), []) if g.index is None]
        if candidates and _public(cell.source):
            g = candidates[0]
            g.index = i
            bad = [t for t in tags if t in _TAGS]
            if bad:
                g.problems.append(f"the checker cell is tagged {', '.join(bad)}")
            g.problems += pending
            pending = []
            cell.source = g.source
            continue
        if cell.source.strip() in trusted:
            continue
        problems = scan_source(cell.source)
        if problems:
            flagged[i] = problems
            pending.append(f"cell {i} was not run: {problems[0]}" + (
                f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
            cell.source = neutralized(cell.source, problems)
    for g in graded:
        if g.index is None:
            g.problems.append("its checker cell is missing or was changed (it must stay as "
                              "released)")
    return Plan(graded, run, flagged)


# --------------------------------------------------------------------------- nbgrader

try:
    from nbgrader.preprocessors import NbGraderPreprocessor as _Base
except ImportError:   # nbgrader is the optional `classroom` extra
    _Base = object


class ScanSubmission(_Base):
    """nbgrader preprocessor (autograde, after ``OverwriteCells``): the static scan of every
    cell the student wrote, outside the student's kernel.

    A code cell whose source is not that of a non-solution code cell of the instructor's
    ``source/<assignment>/<notebook>.ipynb`` is scanned; a cell that fails is commented out
    under a ``raise`` (so it never runs), and the next autograded cell gets a first line
    ``raise AssertionError(...)`` naming the problem, so that exercise scores 0. The tags
    ``skip-execution`` and ``raises-exception`` are removed from every cell (nbgrader keeps the
    student's tags, and the executor would skip a checker cell tagged ``skip-execution``).
    """

    def preprocess(self, nb, resources):
        import os

        import nbformat

        from .checks.scan import scan_source

        info = resources["nbgrader"]
        root = self.config.CourseDirectory.get("root", ".")
        src_dir = self.config.CourseDirectory.get("source_directory", "source")
        path = os.path.join(root, src_dir, info["assignment"], info["notebook"] + ".ipynb")
        series = nbformat.read(path, as_version=4)
        trusted = {c.source.strip() for c in series.cells if c.cell_type == "code" and not any(
            c.metadata.get("nbgrader", {}).get(k) for k in ("solution", "grade"))}
        checkers = {c.source.strip() for c in series.cells if c.metadata.get("nbgrader", {}).get("grade")}
        pending: list[str] = []
        for i, cell in enumerate(nb.cells):
            tags = cell.metadata.get("tags", [])
            if any(t in _TAGS for t in tags):   # nbclient would skip a skip-execution cell
                cell.metadata["tags"] = [t for t in tags if t not in _TAGS]
            if cell.cell_type != "code":
                continue
            text = cell.source.strip()
            if text in trusted:
                continue
            if text in checkers:   # the instructor's, from the gradebook; a second copy is scanned
                checkers.discard(text)
                if pending and cell.metadata.get("nbgrader", {}).get("grade"):
                    reason = "; ".join(pending)
                    cell.source = (f"raise AssertionError({('acnotes scan: ' + reason)!r})\n"
                                   + cell.source)
                    pending = []
                continue
            problems = scan_source(cell.source)
            if problems:
                self.log.warning("%s cell %d fails the scan: %s", info["notebook"], i, problems)
                pending.append(f"cell {i} was not run: {problems[0]}")
                cell.source = neutralized(cell.source, problems)
        return nb, resources
