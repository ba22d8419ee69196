"""Grading without a kernel: the static scan, the comparison of a student's notebook with the
series (acnotes.grading.plan), nbgrader's ScanSubmission, the hidden-test regions, and what a
student install (the wheel) contains. The kernel-executing side is in test_classroom.py."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from acnotes import exercises as ex
from acnotes import grading
from acnotes.checks import hidden
from acnotes.checks.scan import scan_source
from test_checks import LOOP_MISTAKES, td_ac_loop
from test_classroom import CHEATS, MISTAKES, NOTEBOOKS, ROOT, solutions

SERIES = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb") if "### BEGIN HIDDEN TESTS" in p.read_text())


# --------------------------------------------------------------------------- the scan


@pytest.mark.parametrize("label", sorted(CHEATS))
def test_every_cheat_of_the_round_trip_is_caught_before_it_runs(label):
    """Each cheat either fails the scan in one of its cells, or changes its checker cell
    (which the comparison catches: test_plan_catches_changed_and_tagged_checker_cells)."""
    _, source, extra, checker = CHEATS[label]
    flagged = [text for text in [source, *extra] if scan_source(text)]
    assert flagged or checker is not None, label


@pytest.mark.parametrize("source, what", [
    ("import inspect", "import inspect"),
    ("from importlib import import_module", "import importlib"),
    ("x = __import__('acnotes')", "__import__"),
    ("eval('1 + 1')", "eval"),
    ("compile('1', 'f', 'eval')", "compile"),
    ("import sys\nsys.settrace(None)", "import sys"),
    ("import threading", "import threading"),
    ("import multiprocessing", "import multiprocessing"),
    ("import pickle", "import pickle"),
    ("x = torch.load('answers.pt')", ".load"),
    ("y = np.load('a.npy', allow_pickle=True)", ".load"),
    ("f = g.__code__", "__code__"),
    ("f = getattr(acn, 'ret' + 'urns')", "getattr"),
    ("d = globals()['reward_to_go']", "globals"),
    ("import builtins", "import builtins"),
    ("torch.allclose = lambda *a, **k: True", "assignment to the attribute"),
    ("AssertionError = Exception", "new value for the name `AssertionError`"),
    ("def print(*a):\n    pass", "new definition of `print`"),
    ("_hidden_test = lambda *a: None", "new value for the name `_hidden_test`"),
    ("x = mdp.__class__", "__class__"),
    ("x = acn.returns.reward_to_go", "`acn`"),
    ("x = '{0.__globals__}'.format(f)", "__globals__"),
    ("%time x = 1", "not plain Python"),
    ("!cat ../notebooks/01-reinforce.ipynb", "not plain Python"),
    ("import torch.utils.data", "import torch.utils"),
    ("from torch import hub", "hub"),
    ("import operator\nf = operator.attrgetter('returns')", "attrgetter"),
    # modules and the IPython shell reached through attributes of allowed modules (a review found
    # these passed: a blank notebook scored 4 of 4 by swapping every later checker cell for `pass`)
    ("import torch\nip = torch.builtins.get_ipython()", "`.builtins`"),
    ("ip.input_transformers_post.append(lambda lines: lines)", "input_transformers_post"),
    ("import torch\nm = torch.importlib.import_module('acnotes.reference')", "`.importlib`"),
    ("import torch\nf = torch.inspect.currentframe().f_locals['a' + 'cn']", "`.inspect`"),
    ("import torch\ntorch.os.remove('answers')", "`.os`"),
    ("import typing\ntyping.sys.exit()", "`.sys`"),
    ("import typing\nt = typing.types.CodeType", "`.types`"),
    ("import torch\nself = torch\nself.allclose = lambda *a, **k: True", "assignment to the attribute `self.allclose`"),
])
def test_scan_rejects(source, what):
    problems = scan_source(source)
    assert any(what in p for p in problems), problems


def test_scan_accepts_every_solution_of_the_series():
    """No false alarm on honest work: every solution region of the series passes the scan."""
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                source = re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", "", cell.source, flags=re.M)
                assert scan_source(source) == [], (path.name, cell.source)


# --------------------------------------------------------------------------- the comparison


def student_01(solved: bool = True):
    series = nbformat.read(NOTEBOOKS / "01-reinforce.ipynb", as_version=4)
    student = ex.make_student_notebook(series, "01-reinforce.ipynb")
    if solved:
        sols = solutions("01-reinforce")
        for cell in student.cells:
            m = re.match(r"def (\w+)\(", cell.source)
            if m and m.group(1) in sols:
                cell.source = sols[m.group(1)][1]
    return series, student


def index_of(nb, start: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.source.startswith(start))


def test_plan_of_honest_work_restores_the_hidden_tests_and_flags_nothing():
    series, student = student_01()
    p = grading.plan(student, series)
    assert [g.problems for g in p.graded] == [[], []] and p.flagged == {}
    for g in p.graded:
        assert "### BEGIN HIDDEN TESTS" in p.run.cells[g.index].source
        assert "### BEGIN HIDDEN TESTS" not in student.cells[g.index].source
    assert not any(c.metadata.get("tags") for c in p.run.cells)   # raises-exception tags dropped


def test_plan_catches_changed_and_tagged_checker_cells():
    series, student = student_01()
    first = index_of(student, "acn.checks.reward_to_go(")
    second = index_of(student, "acn.checks.reinforce_loss(")
    student.cells[first].source = "print('reward_to_go: all 7 checks passed.')"
    for tag in ("raises-exception", "skip-execution"):
        student.cells[second].metadata["tags"] = [tag]
        p = grading.plan(student, series)
        assert "missing or was changed" in p.graded[0].problems[0]
        assert f"tagged {tag}" in p.graded[1].problems[0]
    del student.cells[second]
    assert "missing" in grading.plan(student, series).graded[1].problems[0]


def test_plan_neutralizes_a_flagged_cell_and_fails_the_next_exercise_only():
    series, student = student_01()
    at = index_of(student, "def reinforce_loss(")
    student.cells.insert(at, nbformat.v4.new_code_cell("import os\nos._exit(0)"))
    p = grading.plan(student, series)
    assert p.graded[0].problems == [] and "cell " in p.graded[1].problems[0]
    assert p.run.cells[at].source.startswith("raise RuntimeError(") and "\n# import os" in p.run.cells[at].source
    compile(p.run.cells[at].source, "cell", "exec")   # the neutralized cell is valid Python


def test_plan_scans_a_second_copy_of_a_checker_cell():
    series, student = student_01()
    first = index_of(student, "acn.checks.reward_to_go(")
    student.cells.insert(first + 1, copy.deepcopy(student.cells[first]))
    p = grading.plan(student, series)
    assert first + 1 in p.flagged


def test_check_command_rows_without_running(tmp_path):
    from acnotes.cli.check import check_notebook

    series, student = student_01()
    student.cells[index_of(student, "def reward_to_go(")].source = CHEATS["getsource-exec"][1]
    nbformat.write(student, tmp_path / "01-reinforce.ipynb")
    rows = check_notebook(tmp_path / "01-reinforce.ipynb", NOTEBOOKS, 10, 10, run=False)
    assert [(r[0], r[1], r[2]) for r in rows] == [("ex1_reward_to_go", 2, False),
                                                  ("ex2_reinforce_loss", 2, False)]
    assert "import inspect" in rows[0][3] and rows[1][3] == "not run (--no-run)"


def test_check_command_bad_input(tmp_path, capsys):
    from acnotes.__main__ import main

    for argv, what in ((["check", str(tmp_path / "none.ipynb")], "no such notebook"),
                       (["check", "--notebooks", str(tmp_path / "x"), "a.ipynb"], "--notebooks"),
                       (["check", "--timeout", "0", str(NOTEBOOKS / "01-reinforce.ipynb")], "--timeout")):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2 and what in capsys.readouterr().err
    (tmp_path / "99-unknown.ipynb").write_text("{}")
    (tmp_path / "01-reinforce.ipynb").write_text("{not json")
    for name, what in (("99-unknown.ipynb", "no series notebook"), ("01-reinforce.ipynb", "not a readable")):
        with pytest.raises(SystemExit) as e:
            main(["check", "--notebooks", str(NOTEBOOKS), str(tmp_path / name)])
        assert e.value.code == 2 and what in capsys.readouterr().err
    plain = next(p for p in sorted(NOTEBOOKS.glob("*.ipynb")) if "acn.checks." not in p.read_text()
                 or '"grade": true' not in p.read_text())
    nbformat.write(nbformat.read(plain, as_version=4), tmp_path / plain.name)
    with pytest.raises(SystemExit):
        main(["check", "--notebooks", str(NOTEBOOKS), str(tmp_path / plain.name)])
    assert "no graded exercise" in capsys.readouterr().err


# --------------------------------------------------------------------------- nbgrader's preprocessor


def test_scan_submission_preprocessor(tmp_path):
    pytest.importorskip("nbgrader")
    from traitlets.config import Config

    series, student = student_01()
    (tmp_path / "source" / "01-reinforce").mkdir(parents=True)
    nbformat.write(series, tmp_path / "source" / "01-reinforce" / "01-reinforce.ipynb")
    for cell, orig in zip(student.cells, series.cells):   # as after OverwriteCells
        cell.metadata["nbgrader"] = orig.metadata.get("nbgrader", {})
        if orig.metadata.get("nbgrader", {}).get("grade"):
            cell.source = orig.source
    at = index_of(student, "def reward_to_go(")
    student.cells[at].source = CHEATS["setprofile-none"][1]
    graded = [i for i, c in enumerate(student.cells) if c.metadata.get("nbgrader", {}).get("grade")]
    student.cells[graded[1]].metadata["tags"] = ["skip-execution"]
    c = Config()
    c.CourseDirectory.root = str(tmp_path)
    pp = grading.ScanSubmission(config=c)
    nb, _ = pp.preprocess(student, {"nbgrader": {"assignment": "01-reinforce", "notebook": "01-reinforce"}})
    assert nb.cells[at].source.startswith("raise RuntimeError(")
    first, second = (i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade"))
    assert nb.cells[first].source.startswith("raise AssertionError('acnotes scan: cell")
    assert nb.cells[second].source == series.cells[second].source   # the other exercise untouched
    assert nb.cells[second].metadata["tags"] == []   # a skipped checker would score its points


# --------------------------------------------------------------------------- hidden tests


def test_every_engine_checker_and_the_sampler_have_hidden_tests():
    text = "".join((NOTEBOOKS / f"{name}.ipynb").read_text() for name in SERIES)
    for func in hidden.HIDDEN_CHECKERS:
        assert f"_hidden_test({func}, [" in text, func


@pytest.mark.parametrize("name", SERIES)
def test_hidden_tests_in_the_notebooks_are_current(name):
    """The regions hold what acnotes.checks.hidden writes today (re-derive them with
    ``python -m acnotes.checks.hidden notebooks/NB.ipynb``)."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    fresh = copy.deepcopy(nb)
    assert hidden.update_notebook(fresh)
    assert [c.source for c in fresh.cells] == [c.source for c in nb.cells], \
        f"run python -m acnotes.checks.hidden notebooks/{name}.ipynb"


@pytest.mark.parametrize("name", SERIES)
def test_hidden_tests_pass_the_solution_and_fail_each_mistake(name, capsys):
    import numpy as np
    import torch

    import acnotes as acn

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    sols = solutions(name)
    for cell in nb.cells:
        if "### BEGIN HIDDEN TESTS" not in cell.source:
            continue
        region = cell.source[cell.source.index("### BEGIN HIDDEN TESTS"):]
        func = re.search(r"_hidden_test\((\w+), \[", region).group(1)
        for mistake in (None, func):
            ns = {"torch": torch, "np": np, "acn": acn}
            source = sols[func][1]
            if mistake:
                source = source.replace(*MISTAKES[func])
            exec(source, ns)
            if mistake:
                with pytest.raises(AssertionError, match="hidden test"):
                    exec(region, ns)
            else:
                exec(region, ns)
                assert "_hidden_test" not in ns and capsys.readouterr().out == ""


def _region_of(func: str) -> str:
    """The hidden-test region of ``func``'s checker cell, as the series notebook holds it."""
    for name in SERIES:
        for cell in nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells:
            if f"_hidden_test({func}, [" in cell.source:
                return cell.source[cell.source.index("### BEGIN HIDDEN TESTS"):]
    raise AssertionError(f"no hidden tests for {func}")


@pytest.mark.parametrize("func", [f for f in hidden.HIDDEN_CHECKERS
                                  if f not in ("baseline_lemma_mc", "td_actor_critic")])
def test_hidden_tests_fail_every_known_mistake_of_the_checker(func):
    """Each wrong variant the public checker knows (its _Mistake list) fails the hidden test
    alone, without the public checker; the checker's reference passes it."""
    spec = hidden._spec(func)
    region = _region_of(func)
    exec(region, {func: spec.reference})
    for mistake in spec.mistakes:
        with pytest.raises(AssertionError, match="hidden test"):
            exec(region, {func: mistake.fn})


@pytest.mark.parametrize("switch, words", LOOP_MISTAKES, ids=[w for _, w in LOOP_MISTAKES])
def test_hidden_tests_of_the_loop_fail_each_named_mistake(switch, words):
    """Notebook 9's loop: a correct loop passes the hidden region alone, and each wrong variant
    of the public checker's named mistakes (test_checks.LOOP_MISTAKES) fails it."""
    region = _region_of("td_actor_critic")
    for sample in ("categorical", "cdf", "multinomial"):
        exec(region, {"td_actor_critic": td_ac_loop(sample=sample)})
    with pytest.raises(AssertionError, match="hidden test"):
        exec(region, {"td_actor_critic": td_ac_loop(**switch)})


@pytest.mark.parametrize("sample", ["argmax", "never"])
def test_hidden_tests_of_the_loop_fail_a_loop_that_does_not_sample(sample):
    """The update on scripted runs cannot see how actions are chosen (it replays the student's
    own actions); the acting part of the region can: the likeliest action, or always the same
    one, gives a share of *right* far from pi(right | s) = 0.3."""
    region = _region_of("td_actor_critic")
    with pytest.raises(AssertionError, match="hidden test: right in"):
        exec(region, {"td_actor_critic": td_ac_loop(sample=sample)})


def test_hidden_tests_of_the_measurements_take_one_number():
    """Notebook 5's answers: a one-element tensor or a numpy number is a number, as for the
    public checker; several numbers, a bool or a B that is not whole fail."""
    import numpy as np
    import torch

    exec(_region_of("relative_variance"),
         {"relative_variance": lambda g: (((g - g.mean(0)) ** 2).sum(1).mean() / (g.mean(0) @ g.mean(0))).reshape(1)})
    ref = hidden._spec("episodes_needed").reference
    exec(_region_of("episodes_needed"), {"episodes_needed": lambda rows, t: np.float64(ref(rows, t))})
    for wrong in (lambda rows, t: torch.tensor([ref(rows, t)] * 2), lambda rows, t: True,
                  lambda rows, t: ref(rows, t) - 0.5):
        with pytest.raises(AssertionError, match="hidden test 1"):
            exec(_region_of("episodes_needed"), {"episodes_needed": wrong})


def test_student_versions_have_no_hidden_tests(tmp_path):
    ex.write_student_notebooks(tmp_path, NOTEBOOKS, quiet=True)
    for path in tmp_path.glob("*.ipynb"):
        text = path.read_text()
        assert "HIDDEN TESTS" not in text and "_hidden_test" not in text, path.name


# --------------------------------------------------------------------------- the student install


def test_the_wheel_holds_no_notebook_solution_or_hidden_test(tmp_path):
    """README's student install: the wheel has the package and its data, but no notebook, no
    solution region and no hidden-test fixture."""
    src = tmp_path / "src"   # a copy, so that the build leaves nothing in the checkout
    shutil.copytree(ROOT / "acnotes", src / "acnotes", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(tmp_path), str(src)], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = tmp_path.glob("acnotes-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert not [n for n in names if n.endswith(".ipynb") or n.startswith("notebooks/")]
        for n in names:
            text = z.read(n).decode("utf-8", "replace") if not n.endswith(".gz") else ""
            for marker in ("### BEGIN SOLUTION\n", "### BEGIN HIDDEN TESTS\n", "_hidden_test("):
                assert marker not in text or n == "acnotes/checks/hidden.py" or n.startswith(
                    ("acnotes/exercises.py", "acnotes/grading.py")), (n, marker)
        assert "acnotes/checks/scan.py" in names and "acnotes/cli/check.py" in names


# --------------------------------------------------------------------------- running (a kernel)


@pytest.mark.notebooks
def test_execute_survives_a_hang_and_a_dead_kernel(tmp_path):
    """A cell that runs too long is interrupted and the run goes on; a cell that kills the
    kernel (os._exit) is reported, and the cells after it are marked, without a hang; the
    total time limit stops the run."""
    from acnotes.cli.check import execute

    cells = ["x = 41", "while True:\n    pass", "x += 1\nprint(x)", "import os\nos._exit(0)", "print(1)"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    errors = execute(nb, cell_timeout=3, total_timeout=300, cwd=str(tmp_path))
    assert set(errors) == {1, 3, 4}, errors
    assert errors[1].startswith("Timeout") and nb.cells[2].outputs[0]["text"] == "42\n"
    assert "kernel died" in errors[3] and "not run" in errors[4]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells[1:3]])
    errors = execute(nb, cell_timeout=300, total_timeout=3, cwd=str(tmp_path))
    assert "notebook ran longer" in errors[0] and "not run" in errors[1], errors
