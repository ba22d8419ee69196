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
comment stays), else a generic one. Exercises are numbered ``<notebook number>.<k>`` when the
file name starts with a number (``01-reinforce.ipynb`` gives 1.1, 1.2, ...), else ``k``.

Every output and execution count is cleared. The stub cell only *defines* the function, so it
runs; the error comes from the cells that call it. Those cells get the tag
``raises-exception`` (honoured by nbval, nbmake, nbclient and JupyterLab's "Run All"), so the
student notebook runs from top to bottom and "fails" only where the student has work to do.
Which cells: found by a name analysis of the code, in order. A function whose body holds a
stub is *tainted*; a later code cell that reads a tainted name is tagged, and every name it
assigns becomes tainted too (it may never be assigned, so later readers may fail with a
NameError); a cell that re-assigns a tainted name without reading one cleans it. The tagging
errs on the side of tagging: a tagged cell need not raise. Notebook authors can keep the
rest of a notebook runnable by using the package function (``acn.returns.reward_to_go``)
after the checker, rather than the student's function.

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

__all__ = ["Exercise", "make_student_notebook", "exercises_in", "replace_regions",
           "write_student_notebooks", "add_cli", "RAISES_TAG"]

BEGIN = re.compile(r"^(?P<indent>[ \t]*)###[ \t]*BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*###[ \t]*END SOLUTION[ \t]*$")
HINT = re.compile(r"^[ \t]*#[ \t]*HINT:[ \t]*(?P<hint>.*?)[ \t]*$")
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


# --------------------------------------------------------------------------- name analysis


_MAGIC = re.compile(r"^([ \t]*)([%!].*)$", re.M)


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(_MAGIC.sub(r"\1pass", source))
    except SyntaxError:
        return None


def _reads_and_writes(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Global names a statement reads and names it assigns, with a rough idea of scopes:
    inside a function, lambda or comprehension, names bound there are local, so only the
    free ones count as reads (at definition time a function body reads nothing; counting
    its free names is the conservative choice, since calling it later will read them)."""
    reads: set[str] = set()
    writes: set[str] = set()

    def local_scope(nodes, bound: set[str]) -> set[str]:
        r, w = set(), set(bound)
        for n in nodes:
            rr, ww = _reads_and_writes(n)
            r |= rr
            w |= ww
        return r - w

    def visit(node) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            params = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
            params |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
            for d in a.defaults + [k for k in a.kw_defaults if k is not None]:
                visit(d)
            if isinstance(node, ast.Lambda):
                reads.update(local_scope([node.body], params))
                return
            for d in node.decorator_list:
                visit(d)
            writes.add(node.name)
            reads.update(local_scope(node.body, params | {node.name}))
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            targets = set()
            for gen in node.generators:
                targets |= _reads_and_writes(gen.target)[1]
            parts = [g.iter for g in node.generators] + [c for g in node.generators for c in g.ifs]
            parts += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            reads.update(local_scope(parts, targets))
        elif isinstance(node, ast.ClassDef):
            writes.add(node.name)
            for n in node.bases + node.keywords + node.decorator_list:
                visit(n)
            reads.update(local_scope(node.body, set()))
        elif isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else writes).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                writes.add((a.asname or a.name).split(".")[0])
        else:
            for child in ast.iter_child_nodes(node):
                visit(child)

    visit(tree)
    return reads, writes


def _stubbed_functions(tree: ast.Module) -> tuple[list[str], bool]:
    """Names of the top-level definitions that contain a stub, and whether a stub sits at the
    top level of the cell (outside any definition)."""
    names, top = [], False

    def has_stub(node) -> bool:
        for n in ast.walk(node):
            if (isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call)
                    and isinstance(n.exc.func, ast.Name) and n.exc.func.id == "NotImplementedError"
                    and n.exc.args and isinstance(n.exc.args[0], ast.Constant)
                    and str(n.exc.args[0].value).startswith(STUB_PREFIX)):
                return True
        return False

    for stmt in tree.body:
        if not has_stub(stmt):
            continue
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(stmt.name)
        else:
            top = True
    return names, top


def _tag(cell) -> None:
    tags = list(cell.metadata.get("tags", []))
    if RAISES_TAG not in tags:
        tags.append(RAISES_TAG)
    cell.metadata["tags"] = tags


# --------------------------------------------------------------------------- notebooks


def _prefix_of(name: str | None) -> str:
    m = re.match(r"^0*(\d+)", Path(name).name) if name else None
    return f"{m.group(1)}." if m else ""


def make_student_notebook(nb, name: str | None = None, exercises: list | None = None):
    """A student copy of ``nb`` (an nbformat v4 notebook; ``nb`` itself is not changed).

    Solution regions become ``raise NotImplementedError("Exercise N: hint")`` stubs, outputs
    and execution counts are cleared, and the cells that call a stubbed function are tagged
    ``raises-exception``. ``name`` (the file name) sets the exercise prefix ("01-..." gives
    "1.1"). If ``exercises`` is a list, the :class:`Exercise` records are appended to it.
    Raises ValueError for unbalanced markers.
    """
    nb = copy.deepcopy(nb)
    prefix = _prefix_of(name)
    where = f"{Path(name).name}, " if name else ""
    counter = iter(range(1, 10_000))
    numbers = (f"{prefix}{k}" for k in counter)
    found: list[Exercise] = []
    tainted: set[str] = set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        new, regions = replace_regions(cell.source, numbers, where=where, cell=index)
        tree = _parse(new)
        if regions:
            cell.source = new
            funcs, top = _stubbed_functions(tree) if tree is not None else ([], False)
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
        if tag:
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
                            copy_others: bool = False, quiet: bool = False) -> dict[str, list[Exercise]]:
    """Write the student version of every notebook in ``notebooks`` that has exercises into
    ``outdir``; returns ``{file name: [Exercise, ...]}`` of those written.

    All notebooks are converted before anything is written, so an error (unbalanced markers)
    leaves ``outdir`` untouched. Notebooks without exercises are copied unchanged only with
    ``copy_others``.
    """
    src = Path(notebooks)
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
    out.mkdir(parents=True, exist_ok=True)
    for fname, (student, found) in converted.items():
        nbformat.write(student, out / fname)
        if not quiet:
            tagged = sum(RAISES_TAG in c.metadata.get("tags", []) for c in student.cells)
            print(f"{out / fname}: {len(found)} exercise(s) "
                  f"({', '.join(e.number + (' ' + e.function if e.function else '') for e in found)}); "
                  f"{tagged} cell(s) tagged {RAISES_TAG}")
    for p in others:
        if copy_others:
            (out / p.name).write_bytes(p.read_bytes())
    if not quiet:
        n = sum(len(f) for _, f in converted.values())
        print(f"{n} exercise(s) in {len(converted)} notebook(s) written to {out}/")
        if others:
            verb = "copied unchanged" if copy_others else "not copied (no exercises; use --copy-others)"
            print(f"{len(others)} notebook(s) {verb}: {', '.join(p.name for p in others)}")
    return {k: f for k, (_, f) in converted.items()}


# --------------------------------------------------------------------------- command line


def _cmd(args) -> int:
    written = write_student_notebooks(args.outdir, args.notebooks, copy_others=args.copy_others)
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
                    "by `raise NotImplementedError(\"Exercise N: hint\")`, outputs are cleared, "
                    "and the cells that call a stubbed function are tagged raises-exception.")
    p.add_argument("outdir", metavar="OUTDIR",
                   help="folder to write the student notebooks into (created if needed; files "
                        "of the same name are overwritten)")
    p.add_argument("--notebooks", metavar="DIR", default="notebooks",
                   help="folder of the solution notebooks (default: notebooks)")
    p.add_argument("--copy-others", action="store_true",
                   help="also copy the notebooks that have no exercises, unchanged "
                        "(default: only notebooks with exercises are written)")
    p.set_defaults(func=_cmd)
