"""The classroom, end to end: nbgrader metadata of the series, an nbgrader round trip with exact
scores, and README's check command on the same submissions.

Submissions per notebook: ``correct`` (every solution cell as in the series), one per
exercise with a classic mistake in that exercise only (it must lose exactly that exercise's
points), and ``unsolved`` (the released notebook as it is). The round trip runs on two fast
notebooks by default, and on every notebook with exercises under ``-m classroom_all`` (which
``make test`` leaves out: about 2 minutes per notebook here).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from acnotes import classroom, exercises as ex

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BIN = Path(sys.executable).parent
FAST = ["01-reinforce", "03-baselines-a2c"]   # the quickest notebooks with two exercises each

# one classic mistake per exercise, as a text replacement in its solution cell
MISTAKES = {
    "corridor_value": ("return -2.0 * (2.0 - p)", "return 2.0 * (2.0 - p)"),     # wrong sign
    "reward_to_go": ("(terminated | truncated)", "terminated"),             # no reset at truncation
    "reinforce_loss": ("return -terms.sum()", "return terms.sum()"),          # wrong sign
    "critic_loss": ("* v_next).detach()", "* v_next)"),                       # target not detached
    "baseline_lemma_mc": (".mean(0)", ".sum(0)"),                             # sum, not mean
    "a2c_loss": ("advantage = (target - v).detach()", "advantage = target - v"),
    "td_error": ("terminated.to(r.dtype)", "(terminated | truncated).to(r.dtype)"),
    "gae": ("gamma * lam * not_done[t]", "gamma * not_done[t]"),             # lambda missing
    "episodes_needed": ("np.ceil", "np.floor"),                               # rounded down
    "relative_variance": ("(g_bar @ g_bar)", "g_bar.norm()"),                 # |g_bar|, not squared
}
MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.M)


def series_with_exercises() -> list[str]:
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb") if ex.exercises_in(
        nbformat.read(p, as_version=4), p.name))


def solutions(name: str) -> dict[str, tuple[str, str, int]]:
    """{function: (grade_id, solution source without markers, points of its check)}."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    out, current = {}, None
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            func = re.match(r"def (\w+)\(", cell.source).group(1)
            current = func
            out[func] = (meta["grade_id"], MARKERS.sub("", cell.source), 0)
        elif meta.get("grade") and current:
            gid, src, _ = out[current]
            out[current] = (gid, src, meta["points"])
    return out


def submission(released, name: str, mistake: str | None = None, solved: bool = True):
    """The released notebook with its solution cells filled in (one of them wrong)."""
    nb = nbformat.read(released, as_version=4) if not isinstance(released, nbformat.NotebookNode) else released
    nb = nbformat.from_dict(nb)
    sols = solutions(name)
    for cell in nb.cells:
        m = re.match(r"def (\w+)\(", cell.source) if cell.cell_type == "code" else None
        if not solved or m is None or m.group(1) not in sols:
            continue
        source = sols[m.group(1)][1]
        if m.group(1) == mistake:
            old, new = MISTAKES[mistake]
            assert old in source, f"{name}: the mistake for {mistake} no longer applies"
            source = source.replace(old, new)
        cell.source = source
    return nb


# --------------------------------------------------------------------------- metadata


def test_series_metadata_and_markers_agree():
    """Every marked region sits in a solution cell; every checker cell is graded and locked;
    one number in heading, stub and grade_id; the heading states the points."""
    problems, total = [], 0
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        number, func, points = None, None, None
        for i, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader", {})
            where = f"{path.name} cell {i}"
            if cell.cell_type == "markdown":
                m = re.search(r"^#+ Exercise (\d+): .*\((\d+) points?\)$", cell.source, re.M)
                if m:
                    number, points = m.group(1), int(m.group(2))
                elif "Exercise" in cell.source.split("\n")[0]:
                    problems.append(f"{where}: exercise heading without '(N points)'")
                continue
            if "### BEGIN SOLUTION" in cell.source:
                total += 1
                func = re.match(r"def (\w+)\(", cell.source).group(1)
                if not (meta.get("solution") and not meta.get("grade") and not meta.get("locked")):
                    problems.append(f"{where}: a solution region outside an nbgrader solution cell")
                if meta.get("grade_id") != f"ex{number}_{func}":
                    problems.append(f"{where}: grade_id {meta.get('grade_id')!r}, expected ex{number}_{func}")
            elif ex.CHECKER.search(cell.source):
                if not (meta.get("grade") and meta.get("locked") and not meta.get("solution")):
                    problems.append(f"{where}: a checker cell that is not an autograded, locked test cell")
                elif meta.get("grade_id") != f"ex{number}_{func}_check" or meta.get("points") != points:
                    problems.append(f"{where}: {meta.get('grade_id')} with {meta.get('points')} point(s); "
                                    f"expected ex{number}_{func}_check with the heading's {points}")
            elif meta.get("solution") or meta.get("grade"):
                problems.append(f"{where}: nbgrader metadata on a cell that is neither")
    assert total >= 9 and not problems, "\n".join(problems)


def test_stub_numbers_match_the_headings(tmp_path):
    written = ex.write_student_notebooks(tmp_path, NOTEBOOKS, quiet=True)
    numbers = [e.number for found in written.values() for e in found]
    assert numbers == [str(k) for k in range(len(numbers))], numbers   # notebook 0 has exercise 0


def test_course_command_writes_the_layout_and_refuses_to_overwrite(tmp_path, capsys):
    from acnotes.__main__ import main

    course = tmp_path / "course"
    assert main(["course", str(course), "--notebooks", str(NOTEBOOKS)]) == 0
    names = series_with_exercises()
    assert sorted(p.name for p in (course / "source").iterdir()) == names
    for name in names:
        nb = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
        assert classroom.graded_cells(nb) and all(not c.get("outputs") for c in nb.cells
                                                  if c.cell_type == "code")
    assert "c.CourseDirectory.course_id" in (course / "nbgrader_config.py").read_text()
    before = (course / "nbgrader_config.py").read_text()
    with pytest.raises(SystemExit):
        main(["course", str(course), "--notebooks", str(NOTEBOOKS)])
    link = course / "source" / names[0] / f"{names[0]}.ipynb"
    link.unlink()
    link.symlink_to(NOTEBOOKS / f"{names[0]}.ipynb")
    original = (NOTEBOOKS / f"{names[0]}.ipynb").read_bytes()
    with pytest.raises(SystemExit):
        main(["course", str(course), "--notebooks", str(NOTEBOOKS)])
    assert main(["course", str(course), "--notebooks", str(NOTEBOOKS), "--force"]) == 0
    assert not link.is_symlink() and (NOTEBOOKS / f"{names[0]}.ipynb").read_bytes() == original
    assert (course / "nbgrader_config.py").read_text() == before


# --------------------------------------------------------------------------- the round trip


def nbgrader(course: Path, *args: str, timeout: int = 1800) -> str:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, text=True,
                          capture_output=True, timeout=timeout)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def round_trip(tmp_path: Path, names: list[str]) -> None:
    if shutil.which("nbgrader", path=str(BIN)) is None:
        pytest.skip("nbgrader is not installed: pip install -e '.[classroom]' (make test installs it)")
    course = tmp_path / "course"
    classroom.write_course(course, NOTEBOOKS, quiet=True, exchange=str(tmp_path / "exchange"))
    expected = {}
    for name in names:
        nbgrader(course, "generate_assignment", name, "--force")
        released = course / "release" / name / f"{name}.ipynb"
        sols = solutions(name)
        total = sum(p for _, _, p in sols.values())
        subs = {"correct": (None, True, total), "unsolved": (None, False, 0)}
        for func, (_, _, points) in sols.items():
            subs[f"wrong-{func.replace('_', '-')}"] = (func, True, total - points)
        for student, (mistake, solved, score) in subs.items():
            folder = course / "submitted" / student / name
            folder.mkdir(parents=True)
            nbformat.write(submission(released, name, mistake, solved), folder / f"{name}.ipynb")
            expected[(name, student)] = (float(score), float(total))
        nbgrader(course, "autograde", name, "--create", "--force")
    for name in names:
        nbgrader(course, "generate_feedback", name, "--force")
    nbgrader(course, "export", "--to", str(tmp_path / "grades.csv"))
    with open(tmp_path / "grades.csv") as f:
        rows = {(r["assignment"], r["student_id"]): (float(r["score"]), float(r["max_score"]))
                for r in csv.DictReader(f)}
    assert {k: rows.get(k) for k in expected} == expected
    assert all(v[0] == 0 for k, v in rows.items() if k not in expected)  # nothing submitted
    wrong = next(k for k in expected if k[1].startswith("wrong-"))
    feedback = (course / "feedback" / wrong[1] / wrong[0] / f"{wrong[0]}.html").read_text()
    assert "hint:" in feedback  # the checker's message reaches the student


@pytest.mark.notebooks
def test_nbgrader_round_trip_two_notebooks(tmp_path):
    round_trip(tmp_path, FAST)


@pytest.mark.notebooks
@pytest.mark.classroom_all
def test_nbgrader_round_trip_every_notebook(tmp_path):
    round_trip(tmp_path, series_with_exercises())


# --------------------------------------------------------------------------- the check command


def check_command(paths: list[Path]) -> tuple[set[str], str]:
    """README's check command, pytest --nbval-lax, on several notebooks in one run: the names
    of the notebooks with a failing cell, and the output."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider",
                           "--nbval-lax", "--nbval-current-env", *map(str, paths)],
                          capture_output=True, text=True, cwd=paths[0].parents[1], timeout=3600,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    failed = set(re.findall(r"^FAILED (\S+?\.ipynb)::", proc.stdout, re.M))
    assert (proc.returncode == 0) == (not failed), proc.stdout[-4000:]
    return {str(Path(f).parent.name + "/" + Path(f).name) for f in failed}, proc.stdout


def check_submissions(tmp_path: Path, names: list[str], every_mistake: bool) -> None:
    """The check command fails the unsolved submission and a wrong one (each mistake with
    ``every_mistake``, else the first exercise's), and passes the correct one."""
    ex.write_student_notebooks(tmp_path / "student", NOTEBOOKS, quiet=True)
    should_fail, paths = set(), []
    for name in names:
        student = nbformat.read(tmp_path / "student" / f"{name}.ipynb", as_version=4)
        funcs = list(solutions(name))
        subs = [("correct", None, True), ("unsolved", None, False)]
        subs += [(f"wrong-{f}", f, True) for f in (funcs if every_mistake else funcs[:1])]
        for label, mistake, solved in subs:
            path = tmp_path / "subs" / label / f"{name}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(submission(student, name, mistake, solved), path)
            paths.append(path)
            if label != "correct":
                should_fail.add(f"{label}/{name}.ipynb")
    failed, text = check_command(paths)
    assert failed == should_fail, text[-4000:]
    assert text.count("NotImplementedYet") >= len(names) and "hint:" in text, text[-4000:]


@pytest.mark.notebooks
def test_check_command_on_two_notebooks(tmp_path):
    check_submissions(tmp_path, FAST, every_mistake=False)


@pytest.mark.notebooks
@pytest.mark.classroom_all
def test_check_command_on_every_notebook(tmp_path):
    check_submissions(tmp_path, series_with_exercises(), every_mistake=True)
