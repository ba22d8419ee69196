"""The stored-results layer (``acnotes.stored``): one summary of a run for every kind, one
threshold, one way to read and write."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

import acnotes
from acnotes import stored
from acnotes.config import Config
from acnotes.history import SOLVED, History
from acnotes.stored import ablations, atlas, sensitivity
from acnotes.sweep.chunks import member_row

PACKAGE = Path(acnotes.__file__).parent


def run() -> History:
    """Four episodes ending at env steps 10, 30, 60, 100 with returns 10, 20, 480, 490."""
    return History(config=dict(seed=7, gamma=0.9, lr=1e-3), steps=[50, 100], time=[0.5, 1.25], entropy=[0.69, 0.5],
                   episode_returns=[10.0, 20.0, 480.0, 490.0], episode_lengths=[10, 20, 30, 40],
                   episode_steps=[10, 30, 60, 100], status="done", message="ok")


def test_summary_by_hand():
    m = stored.summary(run(), total_steps=100, points=3, window=2)
    assert m["seed"] == 7 and m["status"] == "done" and m["message"] == "ok"
    assert m["episodes"] == 4 and m["env_steps"] == 100
    assert m["final"] == 250.0                      # mean of all four (fewer than 100)
    assert m["solved_steps"] is None                # the mean of 100 never reaches 475
    # rolling mean of 2 per episode: 10, 15, 250, 485; on steps 0, 50, 100: none yet, 15, 485
    assert m["curve"] == [None, 15.0, 485.0] and m["peak"] == 485.0 and m["last"] == 485.0
    # 5 episodes of 0, then 100 of 500, one step each: the mean of 100 first reaches 475 with
    # 95 of them, at the 100th episode, env step 100
    h = History(config=dict(seed=1), steps=[105], time=[2.0], episode_returns=[0.0] * 5 + [500.0] * 100,
                episode_lengths=[1] * 105, episode_steps=list(range(1, 106)), status="done")
    m = stored.summary(h, total_steps=105, points=2, window=100)
    assert (m["solved_steps"], m["solved_seconds"], m["final"]) == (100, 2.0, 500.0)
    raw = stored.summary(run(), 100, 3, 2, digits=None)["curve"]
    assert np.isnan(raw[0]) and raw[1:].tolist() == [15.0, 485.0]


def test_every_kind_keeps_the_numbers_of_the_run():
    """A map, an ablation, a sweep row and an atlas curve of the same run, against numbers worked
    by hand: the rolling mean of 20 episodes is the mean so far (10, 15, 170, 250 after the
    episodes ending at steps 10, 30, 60, 100); the final return is 250; 4 episodes never make
    the window of 100 that counts as solved."""
    h = run()
    by_hand = {0: None, 10: 10.0, 29: 10.0, 30: 15.0, 60: 170.0, 99: 170.0, 100: 250.0}

    def on_grid(curve, points):
        grid = np.linspace(0, 100, points)
        return {x: curve[int(np.flatnonzero(np.isclose(grid, x))[0])] for x in by_hand if np.isclose(grid, x).any()}

    m = sensitivity.summarize(h, 100)
    assert (m["gamma"], m["lr"], m["seed"], m["status"], m["final"], m["solved_steps"]) == \
        (0.9, 1e-3, 7, "done", 250.0, None)
    assert on_grid(m["curve"], sensitivity.CURVE_POINTS) == {x: v for x, v in by_hand.items() if x % 2.5 == 0}
    a = ablations.summarize(h, 100)
    assert (a["final"], a["peak"], a["last"], a["curve"]) == (250.0, 250.0, 250.0, m["curve"])
    assert a["entropy"][:4] == [None, None, None, None] and len(a["entropy"]) == ablations.POINTS - 1
    row = member_row(h, Config(algo="a2c", total_steps=100), member=0, chunk="chunk-00000", preset="a2c",
                     threshold=200.0)
    assert (row["steps_to_target"], row["final_return"], row["episodes"], row["env_steps"]) == (None, 250.0, 4, 100)
    curve = atlas.curves([h], 100)[0]
    assert np.isnan(curve[0])          # 101 points: the grid is the env step itself
    assert [curve[10], curve[29], curve[30], curve[60], curve[99], curve[100]] == [10.0, 10.0, 15.0, 170.0, 170.0, 250.0]


def test_one_threshold():
    """475 is written as a number once, in history.SOLVED; the rest of the package uses it."""
    found = [f"{p.relative_to(PACKAGE)}:{node.lineno}" for p in sorted(PACKAGE.rglob("*.py"))
             for node in ast.walk(ast.parse(p.read_text()))
             if isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value == 475]
    solved = next(i for i, line in enumerate((PACKAGE / "history.py").read_text().splitlines(), 1)
                  if line.startswith("SOLVED = "))
    assert found == [f"history.py:{solved}"], found
    assert stored.SOLVED == SOLVED == sensitivity.THRESHOLD == 475.0


def _minus_200(source: str) -> list[int]:
    """The lines of Python ``source`` that write -200 as a number."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float)
            and node.operand.value == 200]


def test_one_pendulum_threshold():
    """Pendulum's -200 is written as a number once, in history.PENDULUM_SOLVED: the package and
    the notebooks' code cells use the name (their prose may say $-200$, printed by the code)."""
    from acnotes.history import PENDULUM_SOLVED

    found = [f"{p.relative_to(PACKAGE)}:{line}" for p in sorted(PACKAGE.rglob("*.py")) for line in _minus_200(p.read_text())]
    solved = next(i for i, line in enumerate((PACKAGE / "history.py").read_text().splitlines(), 1)
                  if line.startswith("PENDULUM_SOLVED = "))
    assert found == [f"history.py:{solved}"] and PENDULUM_SOLVED == -200, found
    in_notebooks = []
    for nb in sorted((PACKAGE.parent / "notebooks").glob("*.ipynb")):
        for k, cell in enumerate(json.loads(nb.read_text(encoding="utf-8"))["cells"]):
            if cell["cell_type"] == "code":
                code = "\n".join(line for line in "".join(cell["source"]).splitlines() if not line.startswith(("%", "!")))
                in_notebooks += [f"{nb.name} cell {k} line {line}" for line in _minus_200(code)]
    assert in_notebooks == []


def test_save_json_is_atomic_and_reads_back(tmp_path, monkeypatch):
    out = tmp_path / "x.json"
    stored.save_json({"a": [1, 2]}, out)
    assert json.loads(out.read_text()) == {"a": [1, 2]}
    import acnotes._files as files
    monkeypatch.setattr(files.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left")))
    with pytest.raises(OSError):
        stored.save_json({"b": 1}, out)
    assert json.loads(out.read_text()) == {"a": [1, 2]}      # the complete file is still there


def test_the_kinds_are_reached_from_acn_and_the_command_line():
    import acnotes as acn
    from acnotes.__main__ import build_parser
    for kind in ("atlas", "sensitivity", "studies", "ablations", "blogruns"):
        assert getattr(acn, kind) is getattr(stored, kind)
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"atlas", "sensitivity", "study", "ablations", "blogruns", "sweep"} <= commands
    with pytest.raises(AttributeError):
        stored.nothing


def test_the_commands_name_what_the_modules_hold():
    """The names ``ablations --help`` and ``blogruns --help`` offer (written out, so that --help
    needs no torch) are the modules' own."""
    from acnotes.cli import ablations as cli_ablations, blogruns as cli_blogruns
    from acnotes.stored import blogruns
    assert cli_ablations.STUDY_NAMES == tuple(ablations.STUDIES)
    assert cli_blogruns.LOSSES == blogruns.LOSSES


def test_centring_keeps_the_benchmark_members_and_refuses_to_replace(tmp_path, monkeypatch, capsys):
    """acn.stored.centring: the stored file holds both variants over the same seeds; ``store``
    keeps the benchmark's fields; the command refuses a missing input and an existing target."""
    from acnotes.stored import centring
    data = centring.load()
    assert set(data) == {"qac", "qac_baseline"}
    assert [m["seed"] for m in data["qac"]["members"]] == [m["seed"] for m in data["qac_baseline"]["members"]]
    bench = tmp_path / "b.json"
    member = dict(seed=3, status="done", solved_at=None, final=12.345, best=20.0, extra=1)
    bench.write_text(json.dumps([dict(variant=v, steps=10, seeds=[3], tau=None, seconds=1.0, members=[member])
                                 for v in ("qac", "qac_baseline")]))
    out = centring.store(bench, tmp_path / "out.json")
    kept = {"steps": 10, "members": [dict(seed=3, status="done", solved_at=None, final=12.3, best=20.0)]}
    assert json.loads(out.read_text()) == {"qac": kept, "qac_baseline": kept}
    one, empty = tmp_path / "one.json", tmp_path / "empty.json"
    one.write_text(json.dumps(json.loads(bench.read_text())[:1]))
    empty.write_text("[]")
    from acnotes.__main__ import main
    for argv, said in ([["--from", str(tmp_path / "missing.json"), "--out", str(out)], "qac_baseline.py"],
                       [["--from", str(bench), "--out", str(out)], "--force"],          # it exists
                       [["--from", str(out), "--out", str(tmp_path / "o2.json")], "not the --json output"],
                       [["--from", str(one), "--out", str(out), "--force"], "no members of qac_baseline"],
                       [["--from", str(empty), "--out", str(out), "--force"], "no members of qac, qac_baseline"]):
        with pytest.raises(SystemExit) as stop:
            main(["centring", *argv])
        assert stop.value.code == 2 and said in capsys.readouterr().err
    assert json.loads(out.read_text()) == {"qac": kept, "qac_baseline": kept}   # refused: the file as it was
    assert main(["centring", "--from", str(bench), "--out", str(out), "--force"]) == 0


def test_stored_commands_check_out_before_training(tmp_path, monkeypatch, capsys):
    """ablations, blogruns, pendulum and pporuns refuse a missing folder, a file in place of the folder and a
    folder that cannot be written for --out before any training (a review found a read-only
    folder met only after the whole run)."""
    import tempfile

    from acnotes import _files
    from acnotes.__main__ import main
    from acnotes.stored import blogruns, pendulum, ppo

    monkeypatch.setattr(blogruns, "compute", lambda *a, **k: pytest.fail("trained before checking --out"))
    monkeypatch.setattr(pendulum, "compute", lambda *a, **k: pytest.fail("trained before checking --out"))
    monkeypatch.setattr(ppo, "compute", lambda *a, **k: pytest.fail("trained before checking --out"))
    monkeypatch.setattr(ablations, "compute", lambda *a, **k: pytest.fail("trained before checking --out"))
    (tmp_path / "file").write_text("")
    ro = tmp_path / "ro"
    ro.mkdir()
    real = tempfile.mkstemp

    def mkstemp(*a, dir=None, **k):   # a read-only folder, also when the tests run as root
        if dir is not None and Path(dir) == ro:
            raise PermissionError(13, "Permission denied")
        return real(*a, dir=dir, **k)

    monkeypatch.setattr(_files.tempfile, "mkstemp", mkstemp)
    for command in ("ablations", "blogruns", "pendulum", "pporuns"):
        for out, said in ((tmp_path / "missing" / "x.json", "does not exist"),
                          (tmp_path / "file" / "x.json", "is a file, not a folder"), (ro / "x.json", "not writable")):
            with pytest.raises(SystemExit) as stop:
                main([command, "--out", str(out)])
            assert stop.value.code == 2 and said in capsys.readouterr().err, (command, out)
