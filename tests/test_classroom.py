"""The classroom, end to end: nbgrader metadata of the series, an nbgrader round trip with exact
scores, and `python -m acnotes check` on the same submissions.

Submissions per notebook: ``correct`` (every solution cell as in the series; on the first
notebook submitted through the exchange as README's students do), one per exercise with a
classic mistake in that exercise only (it must lose exactly that exercise's points),
``unsolved`` (the released notebook as it is), and on notebook 01 the cheats of ``CHEATS``
(each must lose exactly its exercise's points). The round trip runs on two fast notebooks by
default, and on every notebook with exercises under ``-m classroom_all`` (which ``make test``
leaves out). The mistakes and cheats are slim notebooks (setup, solution and checker cells),
which run in seconds.
"""

from __future__ import annotations

import csv
import getpass
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
    "td_actor_critic": ("gamma * not_terminated * critic", "gamma * critic"),  # bootstraps at a termination
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
    config = (course / "nbgrader_config.py").read_text()
    assert "c.CourseDirectory.course_id = 'acnotes'" in config
    assert f"c.CourseDirectory.root = {str(course.absolute())!r}" in config   # absolute: no warning
    assert "ScanSubmission, CheckCellMetadata]" in config
    if not Path("/srv/nbgrader/exchange").is_dir():   # the default exchange
        assert "does not exist" in capsys.readouterr().out
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


# --------------------------------------------------------------------------- cheating

# Ways around the checkers, each confined to one exercise of notebook 01 (the other exercise is
# solved honestly): {label: (function, source of its solution cell, extra cells after it,
# what happens to its checker cell)}. Each must score 0 for its exercise in nbgrader's
# autograde and fail that exercise in `acnotes check`.
RTG_REF = "acn.returns.reward_to_go(r, terminated, truncated, gamma)"
STUB_RTG = "def reward_to_go(r, terminated, truncated, gamma):\n    return r.clone()\n"
STUB_RL = "def reinforce_loss(logits, actions, G, valid, n_episodes):\n    return logits.sum() * 0\n"
CHEATS = {
    "getsource-exec": ("reward_to_go", "import inspect\nhelpers = dict(vars(acn.returns))\n"
                       "exec(inspect.getsource(acn.returns.reward_to_go), helpers)\n"
                       "reward_to_go = helpers['reward_to_go']\n", [], None),
    "setprofile-none": ("reward_to_go", "import sys\ndef reward_to_go(r, terminated, truncated, gamma):\n"
                        f"    sys.setprofile(None)\n    return {RTG_REF}\n", [], None),
    "private-helper": ("reward_to_go", "from acnotes.checks.cases import _scan\n"
                       "def reward_to_go(r, terminated, truncated, gamma):\n"
                       "    return _scan(r, gamma, terminated | truncated)\n", [], None),
    "replace-checker": ("reward_to_go", STUB_RTG, ["acn.checks.reward_to_go = lambda fn: "
                                                  "print('reward_to_go: all 7 checks passed.')"], None),
    "replace-tripwire": ("reward_to_go", "import acnotes.checks.tripwire as tw\ntw._forbidden = dict\n"
                         "def reward_to_go(r, terminated, truncated, gamma):\n"
                         f"    return {RTG_REF}\n", [], None),
    "importlib-reference": ("reward_to_go", "import importlib\nreward_to_go = importlib.import_module("
                            "'acnotes.returns').reward_to_go\n", [], None),
    "code-copy": ("reward_to_go", STUB_RTG + "reward_to_go.__code__ = acn.returns.reward_to_go.__code__\n",
                  [], None),
    "read-solved": ("reward_to_go", "import json, pathlib\nnb = json.loads((pathlib.Path(acn.__file__).parents[1] / "
                    "'notebooks' / '01-reinforce.ipynb').read_text())\n"
                    "exec(''.join(next(c['source'] for c in nb['cells'] if ''.join(c['source'])"
                    ".startswith('def reward_to_go'))))\n", [], None),
    "custom-exception-handler": ("reinforce_loss", STUB_RL, [
        "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)"], None),
    "os-exit": ("reinforce_loss", STUB_RL, ["import os\nos._exit(0)"], None),
    "patch-checkfailed": ("reinforce_loss", STUB_RL, [
        "import acnotes.checks.engine as engine\nengine.CheckFailed = type('CheckFailed', (BaseException,), {})\n"
        "acn.checks.reinforce_loss = lambda fn: None"], None),
    "edit-checker": ("reinforce_loss", STUB_RL, [], "print('reinforce_loss: all 4 checks passed.')"),
    "tag-raises-exception": ("reinforce_loss", STUB_RL, [], "raises-exception"),
    "tag-skip-execution": ("reinforce_loss", STUB_RL, [], "skip-execution"),
}


def cheat_submissions() -> list[tuple[str, ...]]:
    """The cheats, two to a submission where they sit in different exercises (a cell that
    fails the scan is not run, so one cannot hide or cause the other's failure)."""
    first = [k for k, v in CHEATS.items() if v[0] == "reward_to_go"]
    second = [k for k, v in CHEATS.items() if v[0] != "reward_to_go"]
    pairs = [(a, b) for a, b in zip(first, second)]
    return pairs + [(a,) for a in first[len(second):]] + [(b,) for b in second[len(first):]]


def slim(nb):
    """A submission with only the setup cells (the first two code cells), the solution cells
    and the checker cells: a student may delete the other cells, and it runs in seconds."""
    nb = nbformat.from_dict(nb)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    keep = set(code[:2]) | {i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get(
        "solution") or c.metadata.get("nbgrader", {}).get("grade")}
    nb.cells = [c for i, c in enumerate(nb.cells) if i in keep]
    return nb


def cheating(released, labels: tuple[str, ...]):
    """The released notebook 01, solved, with the cheats ``labels`` in their exercises."""
    nb = slim(submission(released, "01-reinforce"))
    for label in labels:
        func, source, extra, checker = CHEATS[label]
        at = next(i for i, c in enumerate(nb.cells) if c.source.startswith(f"def {func}("))
        nb.cells[at].source = source
        for k, text in enumerate(extra, 1):
            nb.cells.insert(at + k, nbformat.v4.new_code_cell(text))
        check = nb.cells[at + len(extra) + 1]
        assert check.metadata["nbgrader"]["grade"]
        if checker in ("raises-exception", "skip-execution"):
            check.metadata["tags"] = [checker]
        elif checker is not None:
            check.source = checker
    return nb


# --------------------------------------------------------------------------- the round trip


def nbgrader(course: Path, *args: str, timeout: int = 1800, ok: bool = True) -> str:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, text=True,
                          capture_output=True, timeout=timeout)
    assert (proc.returncode == 0) == ok, f"nbgrader {' '.join(args)}: exit {proc.returncode}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def student_through_exchange(course: Path, exchange: Path, name: str) -> str:
    """Release, then as a student (this Unix user, in a folder of their own) fetch, solve and
    submit with the course id and the exchange as README says, then collect; returns the
    student id nbgrader gives the submission."""
    nbgrader(course, "release_assignment", name)
    home = course.parent / "student"
    home.mkdir()
    where = ["--course", "acnotes", f"--Exchange.root={exchange}"]
    nbgrader(home, "fetch_assignment", name, *where)
    fetched = home / name / f"{name}.ipynb"
    nbformat.write(submission(fetched, name), fetched)
    nbgrader(home, "submit", name, *where)
    nbgrader(course, "collect", name)
    return getpass.getuser()


def round_trip(tmp_path: Path, names: list[str], cheats: bool = True) -> dict:
    """Course, generate, release, hand-copied submissions, autograde, feedback (generated and
    released), export; returns {(notebook, student): submitted path} for the check command.

    Full notebooks for ``correct`` and ``unsolved``; slim ones (setup, solution and checker
    cells only) for the mistakes and, on notebook 01, the cheats."""
    if shutil.which("nbgrader", path=str(BIN)) is None:
        pytest.skip("nbgrader is not installed: pip install -e '.[classroom]' (make test installs it)")
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    classroom.write_course(course, NOTEBOOKS, quiet=True, exchange=str(exchange))
    out = nbgrader(course, "release_assignment", names[0], ok=False)   # not generated, no exchange
    assert "the exchange folder" in out and "does not exist" in out and not exchange.exists(), out
    exchange.mkdir()
    expected, paths = {}, {}
    for name in names:
        nbgrader(course, "generate_assignment", name, "--force")
        released = course / "release" / name / f"{name}.ipynb"
        assert "HIDDEN TESTS" not in released.read_text() and "_hidden_test" not in released.read_text()
        if name == names[0]:   # README's student steps, through the exchange: the correct one
            user = student_through_exchange(course, exchange, name)
            expected[(name, user)] = (float(sum(p for _, _, p in solutions(name).values())),) * 2
            paths[(name, "correct")] = course / "submitted" / user / name / f"{name}.ipynb"
        sols = solutions(name)
        total = sum(p for _, _, p in sols.values())
        subs = {"correct": (submission(released, name), total),
                "unsolved": (submission(released, name, solved=False), 0)}
        for func, (_, _, points) in sols.items():
            subs[f"wrong-{func.replace('_', '-')}"] = (slim(submission(released, name, func)), total - points)
        if cheats and name == "01-reinforce":
            for labels in cheat_submissions():
                lost = sum(sols[CHEATS[label][0]][2] for label in labels)
                subs["cheat-" + "+".join(labels)] = (cheating(released, labels), total - lost)
        if name == names[0]:
            del subs["correct"]
        for student, (nb, score) in subs.items():
            folder = course / "submitted" / student / name
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{name}.ipynb")
            expected[(name, student)] = (float(score), float(total))
            paths[(name, student)] = folder / f"{name}.ipynb"
        nbgrader(course, "autograde", name, "--create", "--force")
    for name in names:
        nbgrader(course, "generate_feedback", name, "--force")
    nbgrader(course, "release_feedback", names[0], "--student", getpass.getuser())
    home = tmp_path / "student"
    nbgrader(home, "fetch_feedback", names[0], "--course", "acnotes", f"--Exchange.root={exchange}")
    assert list(home.glob(f"{names[0]}/feedback/*/{names[0]}.html")), "no feedback fetched"
    nbgrader(course, "export", "--to", str(tmp_path / "grades.csv"))
    with open(tmp_path / "grades.csv") as f:
        rows = {(r["assignment"], r["student_id"]): (float(r["score"]), float(r["max_score"]))
                for r in csv.DictReader(f)}
    assert {k: rows.get(k) for k in expected} == expected
    assert all(v[0] == 0 for k, v in rows.items() if k not in expected)  # nothing submitted
    wrong = next(k for k in expected if k[1].startswith("wrong-"))
    feedback = (course / "feedback" / wrong[1] / wrong[0] / f"{wrong[0]}.html").read_text()
    assert "hint:" in feedback  # the checker's message reaches the student
    return paths


def check_command(paths: list[Path]) -> tuple[int, dict[str, dict[str, bool]], str]:
    """`python -m acnotes check` on several notebooks in one run: the exit code and
    {path: {exercise: passed}} read from its table."""
    proc = subprocess.run([sys.executable, "-m", "acnotes", "check", "--notebooks", str(NOTEBOOKS),
                           "--cell-timeout", "60", *map(str, paths)], capture_output=True, text=True,
                          timeout=3600, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    table, current = {}, None
    for line in proc.stdout.splitlines():
        if line.endswith(".ipynb") and not line.startswith(" "):
            current = table.setdefault(line, {})
        m = re.match(r"^  (ex\d+_\w+)\s+\S+\s+(passed|FAILED)\s", line)
        if m and current is not None:
            current[m.group(1)] = m.group(2) == "passed"
    assert proc.returncode in (0, 1) and "executes the code" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.returncode, table, proc.stdout


@pytest.mark.notebooks
def test_nbgrader_round_trip_with_cheats_and_the_check_command(tmp_path):
    """nbgrader scores correct, unsolved, each mistake and each cheat exactly; `acnotes check`
    on notebook 01's correct (slim), first mistake and cheat submissions agrees, exercise by
    exercise."""
    paths = round_trip(tmp_path, FAST)
    sols = solutions("01-reinforce")
    gid = {func: gid for func, (gid, _, _) in sols.items()}
    want = {"correct": {}, "wrong-reward-to-go": {gid["reward_to_go"]: False}}
    want.update({"cheat-" + "+".join(labels): {gid[CHEATS[label][0]]: False for label in labels}
                 for labels in cheat_submissions()})
    correct = tmp_path / "check" / "01-reinforce.ipynb"   # slim: the full one ran in autograde
    correct.parent.mkdir()
    nbformat.write(slim(nbformat.read(paths[("01-reinforce", "correct")], as_version=4)), correct)
    paths[("01-reinforce", "correct")] = correct
    chosen = [paths[("01-reinforce", s)] for s in want]
    code, table, text = check_command(chosen)
    assert code == 1
    for student, fails in want.items():
        got = table.get(str(paths[("01-reinforce", student)]))
        assert got == {g: fails.get(g, True) for g in gid.values()}, (student, got, text[-4000:])


@pytest.mark.notebooks
@pytest.mark.classroom_all
@pytest.mark.parametrize("name", series_with_exercises())
def test_nbgrader_round_trip_every_notebook(tmp_path, name):
    """One notebook per test, so that one can be chosen: -k 09-one-step-actor-critic."""
    round_trip(tmp_path, [name], cheats=False)


def test_a_warning_in_a_passing_checker_cell_keeps_its_points(tmp_path):
    """nbgrader gives 0 to a graded cell with text on stderr; the course config drops Python
    warnings after execution (nbgrader's IgnorePattern), so an honest solution that triggers a
    UserWarning keeps its points, and a raising checker still scores 0."""
    from nbgrader.preprocessors import IgnorePattern
    from nbgrader.utils import determine_grade
    from traitlets.config import Config

    from acnotes.__main__ import main

    course = tmp_path / "course"
    assert main(["course", str(course), "--notebooks", str(NOTEBOOKS)]) == 0
    c = Config()
    exec((course / "nbgrader_config.py").read_text(), {"get_config": lambda: c, "__name__": "config"})
    warned = nbformat.v4.new_output("stream", name="stderr", text=(
        "/x/site-packages/torch/nn/functional.py:1: UserWarning: an honest solution's warning\n"
        "  return torch.something(x)\n"))
    raised = nbformat.v4.new_output("error", ename="CheckFailed", evalue="wrong", traceback=[])

    def grade(outputs):
        cell = nbformat.v4.new_code_cell("acn.checks.reward_to_go(reward_to_go)", outputs=outputs)
        cell.metadata["nbgrader"] = dict(grade=True, solution=False, points=2, grade_id="x", schema_version=3)
        pp = IgnorePattern(config=c)
        assert pp.enabled
        cell, _ = pp.preprocess_cell(cell, {}, 0)
        return determine_grade(cell, pp.log)[0]

    assert grade([warned]) == 2
    assert grade([warned, raised]) == 0
