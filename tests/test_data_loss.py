"""Issue 28, data loss: an interrupted command exits 130 and keeps the previous complete file
(or writes nothing); a file it cannot read is refused before any work; nothing is written
through a symbolic link.

Interrupts are injected in-process: ``clip_per_member`` (called once per update of the
training loop) raises KeyboardInterrupt, as Ctrl-C or SIGTERM do there, or a SIGTERM is sent
to this process at the moment a file is being saved. One test sends a real SIGTERM to a
subprocess (slow).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acnotes.stored import atlas
from acnotes import train as engine
from acnotes.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
COMPLETE = b'{"complete": "a finished result that must survive"}\n'


def _run(*args) -> int:
    try:
        return main([str(a) for a in args])
    except SystemExit as e:
        return e.code


@pytest.fixture
def interrupt_training(monkeypatch):
    """The first update of any training loop meets a KeyboardInterrupt (the loop catches it
    and returns its members marked "interrupted")."""
    def boom(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(engine, "clip_per_member", boom)


def test_sensitivity_interrupted_keeps_the_complete_map(tmp_path, interrupt_training, capsys):
    out = tmp_path / "map.json"
    out.write_bytes(COMPLETE)
    assert _run("sensitivity", "--steps", 2000, "--out", out, "--force", "--quiet") == 130
    assert out.read_bytes() == COMPLETE
    assert "interrupted" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["map.json"]   # no temporary file left


def test_sensitivity_interrupted_writes_nothing_new(tmp_path, interrupt_training):
    out = tmp_path / "map.json"
    assert _run("sensitivity", "--steps", 2000, "--out", out, "--quiet") == 130
    assert not out.exists()


@pytest.mark.parametrize("name", ["timescales-tdac", "rollouts-a2c"])
def test_study_interrupted_keeps_the_complete_file(tmp_path, interrupt_training, monkeypatch, name):
    calls = []
    real = engine.train_population
    import acnotes.stored.studies as studies
    monkeypatch.setattr(studies, "train_population", lambda *a, **k: calls.append(1) or real(*a, **k))
    out = tmp_path / "study.json"
    out.write_bytes(COMPLETE)
    assert _run("study", name, "--steps", 2000, "--out", out, "--force", "--quiet") == 130
    assert out.read_bytes() == COMPLETE
    assert len(calls) == 1          # no population trained after the interrupt


def test_variance_interrupted_training_measures_and_writes_nothing(tmp_path, interrupt_training, capsys):
    assert _run("variance", "--target", "cartpole", "--train-steps", 2000, "-K", 2, "-B", 1,
                "--out", tmp_path / "v") == 130
    assert not any((tmp_path / "v").glob("variance.*"))
    assert "(interrupted)" not in capsys.readouterr().out


def test_sigterm_during_trains_final_save_keeps_the_finished_seed(tmp_path, monkeypatch):
    """SIGTERM arrives while seed 0's weights are being saved: the save completes, run.json
    lists seed 0 as finished, the command exits 130 without starting seed 1, and --resume
    keeps seed 0."""
    from acnotes.agent import Agent
    real = Agent.save

    def save(self, directory):
        os.kill(os.getpid(), signal.SIGTERM)
        return real(self, directory)
    monkeypatch.setattr(Agent, "save", save)
    out = tmp_path / "run"
    assert _run("train", "--seeds", 0, 1, "--steps", 300, "--out", out, "--quiet") == 130
    assert (out / "agent-seed0" / "weights.pt").is_file()
    meta = json.loads((out / "run.json").read_text())
    assert meta["finished"] == [0]
    assert not (out / "history-seed1.json").exists()
    monkeypatch.setattr(Agent, "save", real)
    trained = []
    monkeypatch.setattr(engine, "train_population",
                        lambda cfgs, *a, real=engine.train_population, **k: trained.append(
                            [c.seed for c in cfgs]) or real(cfgs, *a, **k))
    assert _run("train", "--seeds", 0, 1, "--steps", 300, "--out", out, "--quiet", "--resume") == 0
    assert trained == [[1]]


def _gz(path: Path, value) -> bytes:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(value, f)
    return path.read_bytes()


@pytest.mark.parametrize("what", ["list", "other points", "bad row", "no members"])
def test_atlas_add_refuses_a_file_it_cannot_read(tmp_path, monkeypatch, capsys, what):
    def no_training(*a, **k):
        raise AssertionError("trained before refusing")
    monkeypatch.setattr(atlas, "compute", no_training)
    row = dict(config={"no_such_field": 1}, status="done", message="", curve=[0.0] * atlas.POINTS)
    value = {"list": [1, 2],
             "other points": dict(points=atlas.POINTS + 1, window=atlas.WINDOW, members=[]),
             "bad row": dict(points=atlas.POINTS, window=atlas.WINDOW, members=[row]),
             "no members": dict(points=atlas.POINTS, window=atlas.WINDOW)}[what]
    path = tmp_path / "01.json.gz"
    before = _gz(path, value)
    assert _run("atlas", "--only", "01", "--out", tmp_path, "--add", "--quiet") == 2
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert path.read_bytes() == before


def _series_notebook() -> Path:
    import nbformat

    from acnotes.exercises import exercises_in
    for p in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if exercises_in(nbformat.read(p, as_version=4), p.name):
            return p
    pytest.skip("no series notebook with exercises")


def test_course_force_never_writes_through_a_linked_folder(tmp_path, capsys):
    """DIR/source/<assignment> is a symbolic link to a folder holding the user's notebook
    (with outputs): --force refuses, naming the link, and the notebook is untouched."""
    nb = _series_notebook()
    mine, src = tmp_path / "mine", tmp_path / "src"
    mine.mkdir(), src.mkdir()
    shutil.copy(nb, mine / nb.name)
    shutil.copy(nb, src / nb.name)
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "source" / nb.stem).symlink_to(mine)
    before = (mine / nb.name).read_bytes()
    assert _run("course", course, "--notebooks", src, "--force") == 2
    err = capsys.readouterr().err
    assert str(course / "source" / nb.stem) in err and "symbolic link" in err
    assert (mine / nb.name).read_bytes() == before
    assert not (course / "nbgrader_config.py").exists()


@pytest.mark.slow
def test_sensitivity_real_sigterm_keeps_the_complete_map(tmp_path):
    out = tmp_path / "map.json"
    out.write_bytes(COMPLETE)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-m", "acnotes", "sensitivity", "--steps", "300000", "--out", str(out),
                          "--force", "--quiet"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while "training" not in (p.stdout.readline() or "") and time.time() < deadline:
        pass
    time.sleep(2)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert out.read_bytes() == COMPLETE


def test_atlas_force_interrupted_keeps_the_complete_file(tmp_path, monkeypatch):
    """--force retrains a panel; an interrupt in its second population leaves the old file
    (the checkpoint after the first population must not replace it with fewer members)."""
    spec = atlas.PanelSpec(("a2c", "tdac"), "a2c", 256, ("gamma",), seeds=(0, 1))
    monkeypatch.setitem(atlas.PANELS, "99", spec)
    path = tmp_path / "99.json.gz"
    path.write_bytes(COMPLETE)
    real, calls = engine.train_population, []

    def second_interrupted(cfgs, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(cfgs, *a, **k)
    monkeypatch.setattr(engine, "train_population", second_interrupted)
    assert _run("atlas", "--only", "99", "--out", tmp_path, "--force", "--quiet") == 130
    assert len(calls) == 2
    assert path.read_bytes() == COMPLETE


def test_sensitivity_counts_a_dangling_link_as_taken(tmp_path, capsys):
    out = tmp_path / "map.json"
    out.symlink_to(tmp_path / "nowhere.json")
    assert _run("sensitivity", "--steps", 100, "--out", out, "--quiet") == 2
    assert str(out) in capsys.readouterr().err
    assert out.is_symlink() and not (tmp_path / "nowhere.json").exists()


def test_atlas_counts_links_as_taken_and_add_refuses_them(tmp_path, monkeypatch, capsys):
    def no_training(*a, **k):
        raise AssertionError("trained before refusing")
    monkeypatch.setattr(atlas, "compute", no_training)
    link = tmp_path / "01.json.gz"
    link.symlink_to(tmp_path / "nowhere.json.gz")
    for extra in ([], ["--add"]):
        assert _run("atlas", "--only", "01", "--out", tmp_path, "--quiet", *extra) == 2
        assert str(link) in capsys.readouterr().err
        assert link.is_symlink() and not (tmp_path / "nowhere.json.gz").exists()


def test_write_all_holds_a_signal_between_its_renames(tmp_path, monkeypatch):
    """A review found a Ctrl-C between two of write_all's renames left new and old files mixed:
    a signal during the renames now waits until all are in place, then interrupts."""
    import os
    import signal

    from acnotes import _files

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    b.write_text("old b")
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        real(src, dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)   # arrives between the two renames

    monkeypatch.setattr(_files.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        _files.write_all({a: b"new a", b: b"new b"})
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
