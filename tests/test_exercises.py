"""Student notebooks: solution regions become stubs that raise the intended error.

On a small synthetic notebook: the stub, its hint and indentation, cleared outputs, the
`raises-exception` tags, execution with nbclient, unbalanced markers. On the
real series in notebooks/ (once its notebooks have solution regions): at least 8 exercises,
every region replaced, and (slow) every student notebook runs with only its stubs raising.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from acnotes import exercises as ex

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTION_LINE = "g = r[t] + gamma * (~(terminated[t] | truncated[t])) * g"
HINT = "loop backwards over t; reset where terminated or truncated"

SOLUTION_CELL = f'''def my_rtg(r, terminated, truncated, gamma):
    """G_t, restarting at every episode end."""
    # HINT: {HINT}
    ### BEGIN SOLUTION
    G = torch.zeros_like(r)
    g = torch.zeros_like(r[0])
    for t in reversed(range(r.shape[0])):
        {SOLUTION_LINE}
        G[t] = g
    ### END SOLUTION
    return G'''


def synthetic_notebook():
    stored = new_output("stream", name="stdout", text="reward_to_go: all 7 checks passed.\n")
    cells = [
        new_markdown_cell("# 9. A test notebook\n\nThe markers `### BEGIN SOLUTION` in prose stay."),
        new_code_cell("import torch\n\nimport acnotes as acn\nimport acnotes.checks"),
        new_code_cell(SOLUTION_CELL),
        new_code_cell("acn.checks.reward_to_go(my_rtg)", outputs=[stored], execution_count=3),
        new_code_cell("G = my_rtg(torch.ones(3), torch.zeros(3, dtype=torch.bool), "
                      "torch.zeros(3, dtype=torch.bool), 0.5)"),
        new_code_cell("print(G.sum().item())"),
        new_code_cell("%matplotlib inline\nprint('independent of the exercise')"),
        new_code_cell("G = acn.returns.reward_to_go(torch.ones(3), torch.zeros(3, dtype=torch.bool), "
                      "torch.zeros(3, dtype=torch.bool), 0.5)\nprint(round(G.sum().item(), 4))"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def tags(cell):
    return cell.metadata.get("tags", [])


def run(nb, path: Path, timeout: int = 600, name: str = "notebook", slow: float = 300.0):
    """Execute ``nb`` with nbclient. If it takes longer than ``slow`` seconds, warn with where
    the time went (each cell's wall time, and the rest: kernel start and shutdown), so that a
    slow CI run says which cell or which wait made it slow."""
    cells = []
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path)}},
                            on_cell_execute=lambda cell, cell_index: cells.append([cell_index, time.monotonic()]),
                            on_cell_executed=lambda cell, cell_index, execute_reply:
                                cells[-1].append(time.monotonic()))
    t0 = time.monotonic()
    try:
        client.execute()
    finally:
        total = time.monotonic() - t0
        if total > slow:
            spans = [(c[0], c[2] - c[1]) for c in cells if len(c) == 3]
            worst = sorted(spans, key=lambda x: -x[1])[:3]
            warnings.warn(f"{name} took {total:.0f} s to run: slowest cells "
                          + ", ".join(f"{i} ({s:.0f} s)" for i, s in worst)
                          + f"; outside cells (kernel start, shutdown, waits) {total - sum(s for _, s in spans):.0f} s")
    return nb


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


# --------------------------------------------------------------------------- the generator


def test_stub_replaces_the_region_with_hint_at_its_indentation():
    nb = synthetic_notebook()
    found = []
    student = ex.make_student_notebook(nb, "09-test.ipynb", found)
    src = student.cells[2].source
    assert f'    raise NotImplementedError("Exercise 9.1: {HINT}")' in src or \
        f"    raise NotImplementedError('Exercise 9.1: {HINT}')" in src
    assert SOLUTION_LINE not in src and "BEGIN SOLUTION" not in src and "END SOLUTION" not in src
    assert f"# HINT: {HINT}" in src and src.rstrip().endswith("return G")
    assert [(e.number, e.function, e.hint) for e in found] == [("9.1", "my_rtg", HINT)]
    # the original is untouched
    assert SOLUTION_LINE in nb.cells[2].source and nb.cells[3].outputs


def test_outputs_cleared_and_callers_tagged():
    student = ex.make_student_notebook(synthetic_notebook(), "09-test.ipynb")
    for c in student.cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None
    tagged = [i for i, c in enumerate(student.cells) if ex.RAISES_TAG in tags(c)]
    # the cell that calls my_rtg, the cell that reads G (re-assigned in cell 7); never the
    # checker (cell 3): a failing check must fail the run
    assert tagged == [4, 5]
    assert "BEGIN SOLUTION" in student.cells[0].source  # markdown is never touched
    assert student.metadata["acnotes"] == {"student_version": True, "exercises": 1}


def test_generic_hint_and_nested_indentation():
    cell = ("class Agent:\n    def act(self, x):\n        if x:\n            ### BEGIN SOLUTION\n"
            "            return 1\n            ### END SOLUTION\n        return 0\n\n"
            "def other():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION\n")
    nb = new_notebook(cells=[new_code_cell(cell), new_code_cell("Agent().act(1)"),
                             new_code_cell("other()"), new_code_cell("print(1)")])
    found = []
    student = ex.make_student_notebook(nb, "x.ipynb", found)
    lines = student.cells[0].source.split("\n")
    assert f"            raise NotImplementedError('Exercise 1: {ex.GENERIC_HINT}')" in lines
    assert f"    raise NotImplementedError('Exercise 2: {ex.GENERIC_HINT}')" in lines
    compile(student.cells[0].source, "cell", "exec")
    assert [e.number for e in found] == ["1", "2"]
    assert [ex.RAISES_TAG in tags(c) for c in student.cells] == [False, True, True, False]
    assert all("nbgrader" not in c.metadata for c in student.cells)


@pytest.mark.parametrize("source, message", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "line 2: `### BEGIN SOLUTION` without a matching `### END SOLUTION`"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "line 3: `### END SOLUTION` without a `### BEGIN SOLUTION`"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n", "cannot nest"),
])
def test_unbalanced_markers_are_a_clear_error(source, message):
    nb = new_notebook(cells=[new_markdown_cell("# t"), new_code_cell(source)])
    with pytest.raises(ValueError) as info:
        ex.make_student_notebook(nb, "02-q.ipynb")
    assert message in str(info.value) and "02-q.ipynb, cell 1" in str(info.value)


def test_cli_writes_only_notebooks_with_exercises(tmp_path, capsys):
    from acnotes.__main__ import main

    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(synthetic_notebook(), src / "09-test.ipynb")
    nbformat.write(new_notebook(cells=[new_code_cell("print(1)")]), src / "10-plain.ipynb")
    out = tmp_path / "out"
    assert main(["exercises", str(out), "--notebooks", str(src)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["09-test.ipynb"]
    text = capsys.readouterr().out
    assert "1 exercise(s) in 1 notebook(s)" in text and "10-plain.ipynb" in text
    assert main(["exercises", str(out), "--notebooks", str(src), "--copy-others", "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["09-test.ipynb", "10-plain.ipynb"]


def test_cli_refuses_unbalanced_markers_and_writes_nothing(tmp_path):
    from acnotes.__main__ import main

    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(synthetic_notebook(), src / "01-ok.ipynb")
    nbformat.write(new_notebook(cells=[new_code_cell("def f():\n    ### BEGIN SOLUTION\n")]),
                   src / "02-bad.ipynb")
    with pytest.raises(SystemExit) as info:
        main(["exercises", str(tmp_path / "out"), "--notebooks", str(src)])
    assert info.value.code == 2
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- execution


@pytest.mark.notebooks
def test_solution_notebook_passes_its_checker(tmp_path):
    nb = run(synthetic_notebook(), tmp_path)
    assert nb.cells[3].outputs[0].text == "reward_to_go: all 7 checks passed.\n"


@pytest.mark.notebooks
def test_student_notebook_stops_at_the_checker_with_the_hint(tmp_path):
    student = ex.make_student_notebook(synthetic_notebook(), "09-test.ipynb")
    for c in student.cells:  # without the tags, execution stops at the first failing cell
        c.metadata.pop("tags", None)
    with pytest.raises(CellExecutionError) as info:
        run(student, tmp_path)
    text = str(info.value)
    assert "acn.checks.reward_to_go(my_rtg)" in text
    assert "NotImplementedYet" in text and "not implemented yet" in text
    assert f"Exercise 9.1: {HINT}" in text


@pytest.mark.notebooks
def test_student_notebook_runs_through_with_tags_after_the_checker(tmp_path):
    student = ex.make_student_notebook(synthetic_notebook(), "09-test.ipynb")
    student.cells[3].metadata["tags"] = [ex.RAISES_TAG]  # to see the cells after it run
    nb = run(student, tmp_path)
    (err,) = errors(nb.cells[3])
    assert err.ename == "NotImplementedYet" and f"Exercise 9.1: {HINT}" in err.evalue
    assert errors(nb.cells[4])[0].ename == "NotImplementedError"
    assert errors(nb.cells[5])[0].ename == "NameError"
    assert nb.cells[6].outputs[0].text == "independent of the exercise\n"
    assert nb.cells[7].outputs[0].text == "4.25\n"


# --------------------------------------------------------------------------- the real series


def series():
    paths = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if not p.name.startswith("."))
    if not paths:
        pytest.skip("notebooks/ holds no notebooks yet")
    return paths


def test_series_has_at_least_8_exercises_all_replaced(tmp_path):
    paths = series()
    written = ex.write_student_notebooks(tmp_path, NOTEBOOKS, quiet=True)
    total = sum(len(v) for v in written.values())
    assert total >= 8, (f"the series has {total} exercise(s) ({ {k: len(v) for k, v in written.items()} }); "
                        f"expected at least 8 solution regions across {len(paths)} notebooks")
    for name, found in written.items():
        nb = nbformat.read(tmp_path / name, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "BEGIN SOLUTION" not in code and "END SOLUTION" not in code, name
        for e in found:
            assert e.stub.strip() in nb.cells[e.cell].source
            assert e.function, f"{name}: exercise {e.number} is not inside a function"
            callers = [c for c in nb.cells[e.cell + 1:] if c.cell_type == "code"
                       and ex.CHECKER.search(c.source) and e.function in c.source]
            assert callers, f"{name}: no cell after exercise {e.number} calls {e.function} (no checker?)"
            assert ex.RAISES_TAG not in tags(callers[0]), f"{name}: checker of {e.number} is tagged"
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), name


@pytest.mark.notebooks
def test_series_student_notebooks_raise_only_at_stubs(tmp_path):
    series()
    written = ex.write_student_notebooks(tmp_path, NOTEBOOKS, quiet=True)
    if not written:
        pytest.fail("notebooks/ has notebooks but none has a solution region")
    problems = []
    for name, found in written.items():
        nb = nbformat.read(tmp_path / name, as_version=4)
        for c in nb.cells:  # run past the checkers (untagged, so that they fail the check command)
            if c.cell_type == "code" and ex.CHECKER.search(c.source):
                c.metadata["tags"] = [ex.RAISES_TAG]
        nb = run(nb, tmp_path, timeout=900, name=name)
        for i, c in enumerate(nb.cells):
            for err in errors(c):
                if ex.RAISES_TAG not in tags(c):
                    problems.append(f"{name} cell {i}: untagged cell raised {err.ename}: {err.evalue}")
                elif err.ename not in ("NotImplementedYet", "NotImplementedError", "NameError"):
                    problems.append(f"{name} cell {i}: raised {err.ename}: {err.evalue}")
        for e in found:
            checker = next((c for c in nb.cells[e.cell + 1:] if c.cell_type == "code"
                            and ex.CHECKER.search(c.source)), None)
            errs = errors(checker) if checker is not None else []
            if not errs or errs[0].ename not in ("NotImplementedYet", "NotImplementedError") \
                    or f"Exercise {e.number}:" not in errs[0].evalue:
                problems.append(f"{name}: the first cell after exercise {e.number} does not raise "
                                f"its NotImplementedError (got {[(x.ename, x.evalue) for x in errs]})")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- classroom rules


def test_numbers_come_from_the_exercise_heading_and_hidden_tests_are_stripped():
    nb = synthetic_notebook()
    nb.cells.insert(2, new_markdown_cell("## Exercise 6: the reward-to-go (2 points)"))
    nb.cells[3].metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "ex6_my_rtg"}
    nb.cells[4].source += "\n### BEGIN HIDDEN TESTS\nassert secret()\n### END HIDDEN TESTS\nprint(1)"
    found = []
    student = ex.make_student_notebook(nb, "09-test.ipynb", found)
    assert [e.number for e in found] == ["6"]
    assert "Exercise 6: " in student.cells[3].source
    assert student.cells[4].source == "acn.checks.reward_to_go(my_rtg)\nprint(1)"
    assert all("nbgrader" not in c.metadata for c in student.cells)
    nb.cells[4].source += "\n### BEGIN HIDDEN TESTS\n"
    with pytest.raises(ValueError, match="without a matching `### END HIDDEN TESTS`"):
        ex.make_student_notebook(nb, "09-test.ipynb")


def test_cli_refuses_to_overwrite_without_force(tmp_path):
    from acnotes.__main__ import main

    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(synthetic_notebook(), src / "09-test.ipynb")
    out = tmp_path / "out"
    out.mkdir()
    (out / "09-test.ipynb").write_text("my work")
    with pytest.raises(SystemExit) as info:
        main(["exercises", str(out), "--notebooks", str(src)])
    assert info.value.code == 2 and (out / "09-test.ipynb").read_text() == "my work"
    assert main(["exercises", str(out), "--notebooks", str(src), "--force"]) == 0
    assert "Exercise 9.1" in (out / "09-test.ipynb").read_text()


def test_cli_never_writes_through_a_symlink(tmp_path):
    from acnotes.__main__ import main

    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(synthetic_notebook(), src / "09-test.ipynb")
    original = (src / "09-test.ipynb").read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    (out / "09-test.ipynb").symlink_to(src / "09-test.ipynb")  # the series notebook itself
    with pytest.raises(SystemExit):
        main(["exercises", str(out), "--notebooks", str(src)])
    assert (src / "09-test.ipynb").read_bytes() == original
    assert main(["exercises", str(out), "--notebooks", str(src), "--force"]) == 0
    assert (src / "09-test.ipynb").read_bytes() == original  # the solutions are intact
    assert not (out / "09-test.ipynb").is_symlink()           # the link was replaced by a file
    assert "Exercise 9.1" in (out / "09-test.ipynb").read_text()
