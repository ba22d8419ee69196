"""Issue 28, the rest: bad input refused early and by name, the API checking what it is given,
History's formats, and a full disk on every command.

Every command is run in-process (``main(argv)``). A full disk is a patched write: the write
that fills the disk leaves half its data in the temporary file and raises
``OSError(ENOSPC)``, as a real one would. Training is made to fail loudly where a command must
refuse before any work.
"""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from acnotes import _files, envs
from acnotes import train as engine
from acnotes.config import Config
from acnotes.history import History
from cli_support import cli, modules_holding_train_population as _importers

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--steps", "100", "--n-envs", "2", "--hidden", "8", "--quiet"]
HUGE = str(2**70)  # 1180591620717411303424, the value of the issue
COMPLETE = b'{"complete": "a finished result that must survive"}\n'




def one_line_error(err: str) -> str:
    """The last line of stderr (argparse prints its usage first), checked to be an error."""
    lines = err.strip().splitlines()
    assert lines and "Traceback" not in err, err
    assert lines[-1].startswith("error:") or ": error:" in lines[-1], err
    return lines[-1]


@pytest.fixture
def no_training(monkeypatch):
    """Any training fails the test: the command had to refuse first."""
    def boom(*a, **k):
        raise AssertionError("trained before refusing")
    for mod in _importers():
        monkeypatch.setattr(mod, "train_population", boom)


def _read_only_dir() -> Path:
    """A folder nothing can be written in, even as root (a read-only file system)."""
    p = Path("/sys")
    try:
        (p / ".acnotes-probe").touch()
    except OSError:
        return p
    pytest.skip("no read-only folder on this machine")


# ============================================================================ huge numbers
@pytest.mark.parametrize("argv, option", [
    (["--seeds", HUGE], "--seeds"),
    (["--steps", "99999999999999999999999"], "--steps"),
])
def test_train_refuses_huge_numbers_before_writing(tmp_path, no_training, argv, option):
    out = tmp_path / "run"
    rc, _, err = cli("train", *TINY, *argv, "--out", out)
    assert rc == 2 and option in one_line_error(err)
    assert not out.exists()


def test_evaluate_names_the_config_with_a_huge_seed(tmp_path):
    agent, _ = engine.train(total_steps=60, n_envs=2, hidden=8, progress=False)
    d = agent.save(tmp_path / "a")
    cfg = json.loads((d / "config.json").read_text())
    cfg["seed"] = 2**70
    (d / "config.json").write_text(json.dumps(cfg))
    rc, _, err = cli("evaluate", d)
    line = one_line_error(err)
    assert rc == 2 and str(d / "config.json") in line and "seed" in line


@pytest.mark.parametrize("argv, option", [
    (["--seeds", HUGE], "--seeds"),
    (["--seeds", f"0-{HUGE}"], "--seeds"),          # a range of 2**70 seeds: refused, not built
    (["--steps", "99999999999999999999999"], "--steps"),
])
def test_sweep_spec_check_refuses_huge_numbers(tmp_path, no_training, argv, option):
    rc, _, err = cli("sweep", "--algos", "a2c", *argv, "--out", tmp_path / "s", "--backend", "local", "--quiet")
    assert rc == 2 and option in one_line_error(err)
    assert not (tmp_path / "s").exists()


def test_sweep_spec_file_with_a_huge_seed(tmp_path, no_training):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"algos": ["a2c"], "seeds": [2**70]}))
    rc, _, err = cli("sweep", "--spec", spec, "--out", tmp_path / "s", "--backend", "local")
    assert rc == 2 and "--seeds" in one_line_error(err)


@pytest.mark.parametrize("argv, option", [
    (["--seed=-1"], "--seed"),
    (["--policy-seed=-1"], "--policy-seed"),
    (["--target", "cartpole", "--seed=-1"], "--seed"),
    (["--seed", HUGE], "--seed"),
    (["-K", "100000000"], "-K"),
    (["-B", "100000000"], "-B"),
    (["--sweep", "batch", "--values", "1", "100000000"], "--values"),
])
def test_variance_refuses_bad_seeds_and_sizes(tmp_path, argv, option, monkeypatch):
    import acnotes.variance as variance
    monkeypatch.setattr(variance, "measure", lambda *a, **k: pytest.fail("measured"))
    rc, _, err = cli("variance", *argv, "--out", tmp_path / "v")
    line = one_line_error(err)
    assert rc == 2 and option in line
    if option in ("-K", "-B"):
        assert "[" in line  # the bound is stated


def test_bounds_are_stated_in_help():
    for cmd, words in [("evaluate", "at most 1,000,000"), ("variance", "in [2, 100000]"),
                       ("variance", "in [1, 10000]"), ("train", "at most 10**12")]:
        rc, text, _ = cli(cmd, "--help")
        assert rc == 0 and words in " ".join(text.split()), (cmd, words)


def test_evaluate_refuses_a_trillion_episodes_at_once(tmp_path):
    rc, _, err = cli("evaluate", tmp_path, "--episodes", 10**12)
    assert rc == 2 and "--episodes" in one_line_error(err)


# ============================================================================ --out
def _out_cases(tmp_path: Path):
    """(command argv with OUT in place of the path) for every command that writes."""
    return {
        "variance": ["variance", "--out", "OUT"],
        "exercises": ["exercises", "OUT", "--notebooks", ROOT / "notebooks"],
        "course": ["course", "OUT", "--notebooks", ROOT / "notebooks"],
        "sweep": ["sweep", "--algos", "a2c", "--steps", "100", "--out", "OUT", "--backend", "local"],
        "study": ["study", "rollouts-a2c", "--steps", "100", "--out", "OUT"],
        "sensitivity": ["sensitivity", "--steps", "100", "--out", "OUT"],
        "train": ["train", *TINY, "--out", "OUT"],
    }


@pytest.mark.parametrize("command", ["variance", "exercises", "course", "sweep", "study", "sensitivity", "train"])
@pytest.mark.parametrize("where", ["a file", "under a file", "read-only", "under read-only"])
def test_out_that_cannot_be_written_is_refused_first(tmp_path, no_training, monkeypatch, command, where):
    mine = tmp_path / "mine.txt"
    mine.write_text("mine")
    if where.endswith("read-only"):
        ro = _read_only_dir()
        target = ro if where == "read-only" else ro / "sub"
        if command in ("study", "sensitivity") and where == "read-only":
            target = ro / "x.json"
    else:
        target = mine if where == "a file" else mine / "sub"
    if command in ("study", "sensitivity") and where == "a file":
        return  # an existing file is check_targets' case (needs --force): tested in test_data_loss
    import acnotes.variance as variance
    monkeypatch.setattr(variance, "measure", lambda *a, **k: pytest.fail("measured"))
    argv = [str(target) if a == "OUT" else a for a in _out_cases(tmp_path)[command]]
    rc, text, err = cli(*argv)
    assert rc == 2, (rc, err)
    one_line_error(err)
    assert mine.read_text() == "mine"


@pytest.mark.parametrize("command", ["study", "sensitivity"])
def test_out_empty_is_refused(tmp_path, no_training, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    argv = {"study": ["study", "rollouts-a2c", "--out", ""], "sensitivity": ["sensitivity", "--out", ""]}[command]
    rc, _, err = cli(*argv)
    assert rc == 2 and "--out" in one_line_error(err)
    assert list(tmp_path.iterdir()) == []


def test_variance_replaces_its_files_only_with_force(tmp_path, monkeypatch):
    import acnotes.variance as variance
    monkeypatch.setattr(variance, "measure", lambda *a, **k: pytest.fail("measured before refusing"))
    mine = tmp_path / "mine.csv"
    mine.write_bytes(COMPLETE)
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "nowhere.csv")
    for table in (mine, link):
        rc, _, err = cli("variance", "--table", table)
        assert rc == 2 and str(table) in one_line_error(err) and "--force" in err
    assert mine.read_bytes() == COMPLETE and not (tmp_path / "nowhere.csv").exists()


def test_train_overwrite_refuses_a_linked_agent_folder(tmp_path):
    out = tmp_path / "run"
    assert cli("train", *TINY, "--out", out)[0] == 0
    mine = tmp_path / "my-agent"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    import shutil
    shutil.rmtree(out / "agent-seed0")
    (out / "agent-seed0").symlink_to(mine)
    rc, _, err = cli("train", *TINY, "--out", out, "--overwrite")
    assert rc == 2 and "symbolic link" in one_line_error(err)
    assert (out / "agent-seed0").is_symlink() and (mine / "notes.txt").read_text() == "mine"


def test_train_resume_never_saves_through_a_linked_agent_folder(tmp_path):
    """A review found `--resume` saved the new seed's agent into the folder a link pointed to."""
    out = tmp_path / "run"
    assert cli("train", *TINY, "--out", out)[0] == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "weights.pt").write_text("precious")
    (out / "agent-seed1").symlink_to(mine)
    rc, _, err = cli("train", *TINY, "--seeds", "0", "1", "--out", out, "--resume")
    assert rc == 2 and "symbolic link" in one_line_error(err)
    assert sorted(p.name for p in mine.iterdir()) == ["weights.pt"] and (mine / "weights.pt").read_text() == "precious"


def test_train_memory_refusal_comes_before_run_json_and_fits_train(tmp_path, no_training):
    out = tmp_path / "run"
    rc, _, err = cli("train", *TINY, "--hidden", "1000000", "--out", out)
    line = one_line_error(err)
    assert rc == 2 and "--hidden" in line and "chunk" not in line
    assert not out.exists()


# ============================================================================ sweep's spec
def _sweep(tmp_path, *argv):
    return cli("sweep", "--algos", "a2c", "--steps", "100", "--out", tmp_path / "s", "--backend", "local",
               "--quiet", *argv)


@pytest.mark.parametrize("argv, words", [
    (["--grid", "gamma=0.9", "--grid", "gamma=0.99"], "--grid gamma is given twice"),
    (["--set", "total_steps=1000"], "disagree"),                 # with --steps 100
    (["--set", "foo=1"], "--set: unknown field 'foo'"),
    (["--set", "seed=3"], "--set seed"),
    (["--set", "gamma=x"], "--set gamma"),
])
def test_sweep_options_refused_by_name(tmp_path, no_training, argv, words):
    rc, _, err = _sweep(tmp_path, *argv)
    assert rc == 2 and words in one_line_error(err)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("name, text", [
    ("spec.json", '{"algos": ["a2c"], "grid": {"gamma": [0.9], "gamma": [0.99]}}'),
    ("spec.json", '{"algos": ["a2c"], "algos": ["tdac"]}'),
    ("spec.yaml", "algos: [a2c]\ngrid:\n  gamma: [0.9]\n  gamma: [0.99]\n"),
])
def test_sweep_spec_with_a_key_twice_is_refused(tmp_path, no_training, name, text):
    pytest.importorskip("yaml")
    spec = tmp_path / name
    spec.write_text(text)
    rc, _, err = cli("sweep", "--spec", spec, "--out", tmp_path / "s", "--backend", "local")
    line = one_line_error(err)
    assert rc == 2 and str(spec) in line and "twice" in line


def test_sweep_spec_not_utf8_names_the_file(tmp_path, no_training):
    spec = tmp_path / "spec.json"
    spec.write_bytes(b'{"algos": ["a2c\xff"]}')
    rc, _, err = cli("sweep", "--spec", spec, "--out", tmp_path / "s", "--backend", "local")
    line = one_line_error(err)
    assert rc == 2 and str(spec) in line and "UTF-8" in line


# ============================================================================ the API
def test_config_from_dict_checks_types():
    for d, field in [({"gamma": "x"}, "gamma"), ({"seed": 2**70}, "seed"), ({"n_envs": 1.5}, "n_envs"),
                     ({"total_steps": 10**30}, "total_steps")]:
        with pytest.raises(ValueError, match=f"^{field} must"):
            Config.from_dict(d)
    assert Config.from_dict({"gamma": 0.5}).gamma == 0.5


@pytest.mark.parametrize("value, field", [
    ({"steps": "abc", "status": 5}, "steps"),
    ({"status": 5}, "status"),
    ({"episode_returns": [1.0, "x"]}, "episode_returns"),
    ({"episode_lengths": [1.5]}, "episode_lengths"),
    ({"config": [1]}, "config"),
    ({"message": 3}, "message"),
    ({"time": True}, "time"),
])
def test_history_load_names_the_bad_field_and_file(tmp_path, value, field):
    p = tmp_path / "h.json"
    p.write_text(json.dumps(value))
    with pytest.raises(ValueError) as e:
        History.load(p)
    assert str(p) in str(e.value) and field in str(e.value)


def _history() -> History:
    return History(config={"gamma": 0.9}, steps=[10, 20, 30], time=[0.5, 1.0, 1.5],
                   actor_loss=[0.1, math.nan, -math.inf], critic_loss=[math.inf, 2.0, 3.0],
                   grad_norm=[1.0, 2.0, math.nan], entropy=[0.69, 0.6, 0.5],
                   episode_returns=[9.0, 0.1 + 0.2, 1e-17, math.nan], episode_lengths=[9, 3, 1, 2],
                   episode_steps=[9, 12, 13, 15], status="diverged", message="loss became inf")


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


def test_history_json_is_strict_and_round_trips_non_finite_values(tmp_path):
    h = _history()
    p = h.save(tmp_path / "h.json")
    text = p.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert '"NaN"' in text and '"-Infinity"' in text and '"Infinity"' in text
    back = History.load(p)
    for name in ("steps", "time", "actor_loss", "critic_loss", "grad_norm", "entropy", "episode_returns",
                 "episode_lengths", "episode_steps"):
        assert _same(getattr(back, name), getattr(h, name)), name
    assert (back.status, back.message, back.config) == (h.status, h.message, h.config)


def test_history_reads_the_old_json_with_bare_nan(tmp_path):
    h = _history()
    p = tmp_path / "old.json"
    p.write_text(json.dumps(h.to_dict()))  # as History.save wrote it before: NaN, Infinity
    assert "NaN" in p.read_text() and '"NaN"' not in p.read_text()
    assert _same(History.load(p).actor_loss, h.actor_loss)


def test_history_csv_round_trips_its_columns(tmp_path):
    h = _history()
    back = History.load(h.save(tmp_path / "h.csv"))
    assert _same(back.episode_returns, h.episode_returns)  # 0.1 + 0.2 exactly, not 0.3
    assert back.episode_lengths == h.episode_lengths and back.episode_steps == h.episode_steps
    assert back.total_steps == h.episode_steps[-1]
    bad = tmp_path / "bad.csv"
    bad.write_text("episode,return,length,env_steps\n0,abc,1,1\n")
    with pytest.raises(ValueError, match="line 2"):
        History.load(bad)


@pytest.mark.parametrize("change, words", [
    (dict(R="abc"), "R must be an array of numbers"),
    (dict(R=[1.0, 2.0]), "R must have shape [S, A]"),
    (dict(R=torch.zeros(0, 2)), "R must have shape [S, A]"),
    (dict(features="phi"), "features must be an array of numbers"),
    (dict(features=torch.full((3, 2, 2), math.nan)), "features must be finite"),
    (dict(features=torch.zeros(3, 2)), "features must have shape [S, A, d]"),
    (dict(mu=[math.nan, 0.5, 0.5]), "mu must be a probability distribution"),
    (dict(gamma="0.9"), "gamma must be"),
    (dict(gamma=math.inf), "gamma must be"),
])
def test_tabular_mdp_checks_its_inputs(change, words):
    m = envs.short_corridor()
    args = dict(P=m.P, R=m.R, mu=m.mu, gamma=m.gamma, features=m.features)
    args.update(change)
    with pytest.raises(ValueError) as e:
        envs.TabularMDP(**args)
    assert words in str(e.value)


def _endless(gamma=0.9) -> envs.TabularMDP:
    """Two states that pass to each other for ever: no episode ends."""
    P = torch.zeros(2, 2, 2, dtype=torch.float64)
    P[0, :, 1] = 1.0
    P[1, :, 0] = 1.0
    return envs.TabularMDP(P, torch.ones(2, 2, dtype=torch.float64), torch.tensor([1.0, 0.0]), gamma)


def test_undiscounted_visits_message_says_what_is_wrong():
    m = _endless(0.9)
    with pytest.raises(ValueError) as e:
        m.policy_gradient(torch.zeros(m.n_features), discounted=False)
    assert "discounted=False" in str(e.value) and "gamma = 1" not in str(e.value)


def test_variance_measure_refuses_episodes_that_never_end():
    from acnotes.variance import measure
    m = _endless(0.9)
    with pytest.raises(ValueError, match="never terminates"):
        measure(m, torch.zeros(m.n_features), K=2, B=2, max_steps=20)


def test_variance_measure_reports_episodes_it_cut():
    from acnotes.variance import measure
    m = envs.short_corridor()
    theta = torch.zeros(m.n_features)
    with pytest.warns(RuntimeWarning, match="were cut"):
        t = measure(m, theta, K=8, B=8, max_steps=4, estimators=["reinforce"])
    assert 0 < t.meta["truncated_episodes"] < 64


# ============================================================================ a full disk
class FullDisk:
    """Writes succeed until the ``at``-th (1-based), which writes half its data and raises
    ENOSPC, as every write after it does. ``n`` counts the writes tried."""

    def __init__(self, monkeypatch, at: int = 1):
        import importlib

        from acnotes.__main__ import build_parser
        build_parser()  # import every command now: a later `from _files import` would keep the patch
        for name in ("acnotes.agent", "acnotes.stored.atlas", "acnotes.gallery", "acnotes.sweep"):
            importlib.import_module(name)
        self.at, self.n = at, 0
        real_atomic, real_fill = _files.atomic_path, _files._fill
        disk = self

        @contextmanager
        def atomic_path(path):
            with real_atomic(path) as tmp:
                yield tmp
                disk.hit(tmp, path)

        def fill(fd, data):
            disk.n += 1
            if disk.n >= disk.at:
                real_fill(fd, data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device", None)
            real_fill(fd, data)

        for mod in list(sys.modules.values()):
            if getattr(mod, "__name__", "").startswith("acnotes") and getattr(mod, "atomic_path", None) is real_atomic:
                monkeypatch.setattr(mod, "atomic_path", atomic_path)
        monkeypatch.setattr(_files, "_fill", fill)

    def hit(self, tmp: Path, path):
        self.n += 1
        if self.n >= self.at:
            data = tmp.read_bytes() if tmp.exists() else b""
            tmp.write_bytes(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device", str(path))


def _snapshot(d: Path) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _no_temporary_files(d: Path) -> None:
    left = [p for p in d.rglob(".tmp-*")]
    assert not left, left


def _disk_full_line(err: str) -> str:
    line = one_line_error(err)
    assert "disk is full" in line, err
    return line


@pytest.mark.parametrize("at", [1, 2, 3, 4])   # run.json, History, weights' config, weights
def test_full_disk_in_train_then_resume(tmp_path, monkeypatch, at):
    out = tmp_path / "run"
    disk = FullDisk(monkeypatch, at)
    rc, _, err = cli("train", *TINY, "--seeds", "0", "--out", out)
    assert rc == 1 and disk.n >= at
    _disk_full_line(err)
    _no_temporary_files(out)
    monkeypatch.undo()
    rc, _, err = cli("train", *TINY, "--seeds", "0", "--out", out, *(["--resume"] if at > 1 else []))
    assert rc == 0, err


def test_full_disk_at_trains_png_keeps_the_seeds_and_resume_completes(tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert cli("train", *TINY, "--seeds", "0", "--out", out)[0] == 0
    png = (out / "learning_curve.png").read_bytes()
    meta = json.loads((out / "run.json").read_text())
    (out / "learning_curve.png").unlink()
    # make the curve the only write left: seed 0 is done, --resume keeps it
    disk = FullDisk(monkeypatch, at=2)          # 1: run.json, 2: the PNG
    rc, _, err = cli("train", *TINY, "--seeds", "0", "--out", out, "--resume")
    assert rc == 1 and disk.n == 2
    _disk_full_line(err)
    assert not (out / "learning_curve.png").exists() and json.loads((out / "run.json").read_text()) == meta
    _no_temporary_files(out)
    monkeypatch.undo()
    assert cli("train", *TINY, "--seeds", "0", "--out", out, "--resume")[0] == 0
    assert (out / "learning_curve.png").read_bytes()[:8] == png[:8]



@pytest.mark.parametrize("command", ["variance-table", "variance-plot", "sensitivity", "study"])
def test_full_disk_keeps_the_complete_file(tmp_path, monkeypatch, command):
    out = tmp_path / ("v" if command.startswith("variance") else "r.json")
    if command.startswith("variance"):
        out.mkdir()
        (out / "variance.csv").write_bytes(COMPLETE)
        (out / "variance.png").write_bytes(COMPLETE)
        argv = ["variance", "-K", 2, "-B", 1, "--estimators", "reinforce", "--out", out, "--force"]
        at = 1 if command == "variance-table" else 2
    else:
        out.write_bytes(COMPLETE)
        argv = {"sensitivity": ["sensitivity", "--steps", 40, "--out", out, "--force", "--quiet"],
                "study": ["study", "rollouts-a2c", "--steps", 40, "--out", out, "--force", "--quiet"]}[command]
        at = 1
        _shrink_studies(monkeypatch)
    before = _snapshot(tmp_path)
    FullDisk(monkeypatch, at)
    rc, _, err = cli(*argv)
    assert rc == 1
    _disk_full_line(err)
    after = _snapshot(tmp_path)
    for name, data in before.items():   # every complete file as it was, or the new one whole
        assert after[name] == data or command == "variance-plot" and name.endswith(".csv"), name
    _no_temporary_files(tmp_path)


def _shrink_studies(monkeypatch):
    """Two members each, so that the full-disk tests of study and sensitivity stay fast."""
    import acnotes.stored.sensitivity as sensitivity
    import acnotes.stored.studies as studies
    for key, grid in list(sensitivity.GRIDS.items()):
        monkeypatch.setitem(sensitivity.GRIDS, key, {**grid, "gammas": grid["gammas"][:1],
                                                      "lrs": grid["lrs"][:1], "seeds": grid["seeds"][:2]})
    for key, spec in list(studies.STUDIES.items()):
        small = dict(spec, seeds=spec["seeds"][:2])
        for k, v in spec.items():
            if isinstance(v, (list, tuple)) and k != "seeds" and len(v) > 1 and all(
                    isinstance(x, (int, float)) for x in v):
                small[k] = list(v[:1])
        monkeypatch.setitem(studies.STUDIES, key, small)


@pytest.mark.parametrize("command", ["exercises", "course"])
@pytest.mark.parametrize("at", [1, 2])
def test_full_disk_writes_no_notebook_and_a_rerun_needs_no_force(tmp_path, monkeypatch, command, at):
    out = tmp_path / "out"
    argv = [command, out, "--notebooks", ROOT / "notebooks"]
    disk = FullDisk(monkeypatch, at)
    rc, _, err = cli(*argv)
    assert rc == 1 and disk.n == at
    _disk_full_line(err)
    assert not [p for p in out.rglob("*") if p.is_file()]   # all or none: none
    monkeypatch.undo()
    rc, _, err = cli(*argv)            # no --force needed
    assert rc == 0, err


def test_full_disk_in_sweep_keeps_finished_chunks(tmp_path, monkeypatch):
    out = tmp_path / "s"
    argv = ["sweep", "--algos", "a2c", "--grid", "gamma=0.9,0.99", "--steps", 60, "--chunk-size", 1,
            "--out", out, "--backend", "local", "--quiet", "--set", "n_envs=2", "--set", "hidden=8"]
    FullDisk(monkeypatch, at=4)   # sweep.json, chunk 1's histories and rows, then chunk 2's histories
    rc, _, err = cli(*argv)
    assert rc == 1
    _disk_full_line(err)
    _no_temporary_files(out)
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 2  # the header and chunk 1's member
    monkeypatch.undo()
    rc, text, err = cli(*argv)
    assert rc == 0, err
    assert "1 done earlier" in text and len((out / "results.csv").read_text().splitlines()) == 3


def test_full_disk_message_for_other_os_errors_is_one_line(tmp_path, monkeypatch):
    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "x"))
    monkeypatch.setattr(_files, "_fill", denied)
    rc, _, err = cli("exercises", tmp_path / "out", "--notebooks", ROOT / "notebooks")
    line = one_line_error(err)
    assert rc == 1 and "Permission denied" in line


# ============================================================================ SIGTERM during a save
class SigtermInWrite(FullDisk):
    """At the ``at``-th write, SIGTERM arrives half-way through it (as `timeout` or a scheduler
    would send it)."""

    def __init__(self, monkeypatch, at: int = 1):
        real_fill = _files._fill
        super().__init__(monkeypatch, at)
        disk = self

        def fill(fd, data):
            disk.n += 1
            if disk.n == disk.at:
                real_fill(fd, data[: len(data) // 2])
                os.kill(os.getpid(), signal.SIGTERM)
            real_fill(fd, data)
        monkeypatch.setattr(_files, "_fill", fill)

    def hit(self, tmp: Path, path):
        self.n += 1
        if self.n == self.at:
            data = tmp.read_bytes() if tmp.exists() else b""
            tmp.write_bytes(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGTERM)


SAVES = {  # command -> (argv with OUT, the file(s) it writes under OUT, writes to let pass first)
    "variance": (["variance", "-K", 2, "-B", 1, "--estimators", "reinforce", "--out", "OUT", "--force"],
                 ["variance.csv"], 0),
    "sensitivity": (["sensitivity", "--steps", 40, "--out", "OUT/r.json", "--force", "--quiet"], ["r.json"], 0),
    "study": (["study", "rollouts-a2c", "--steps", 40, "--out", "OUT/r.json", "--force", "--quiet"], ["r.json"], 0),
    "exercises": (["exercises", "OUT", "--notebooks", ROOT / "notebooks", "--force"], None, 1),
    "course": (["course", "OUT", "--notebooks", ROOT / "notebooks", "--force"], None, 1),
    "sweep": (["sweep", "--algos", "a2c", "--steps", 60, "--out", "OUT", "--backend", "local", "--quiet",
               "--set", "n_envs=2", "--set", "hidden=8"], ["results.csv"], 2),
}


@pytest.mark.parametrize("command", sorted(SAVES))
def test_sigterm_during_the_save_keeps_complete_files(tmp_path, monkeypatch, command):
    """Exit 130; every file is the complete old one or a complete new one, none half-written,
    no temporary file left."""
    argv0, names, skip = SAVES[command]
    out = tmp_path / "out"
    out.mkdir()
    _shrink_studies(monkeypatch)
    for name in names or []:
        (out / name).write_bytes(COMPLETE)
    if command == "sweep":
        (out / "results.csv").unlink()   # a sweep folder holds only what a sweep wrote
    if names is None:                     # the notebooks written by a first run are the old files
        assert cli(*[str(a).replace("OUT", str(out)) for a in argv0])[0] == 0
    before = _snapshot(out)
    SigtermInWrite(monkeypatch, at=skip + 1)
    rc, _, err = cli(*[str(a).replace("OUT", str(out)) for a in argv0])
    assert rc == 130, err
    assert "Traceback" not in err
    after = _snapshot(out)
    for name, data in before.items():                    # every old file still there, unchanged
        assert after.get(name) == data, name
    _no_temporary_files(out)


# ============================================================================ Ray
@pytest.mark.slow
def test_local_ray_listens_on_loopback_keeps_token_auth_and_sigterm_exits_130(tmp_path):
    """A sweep on a local Ray: every port of every Ray process is on 127.0.0.1, token
    authentication is on, and SIGTERM ends it with exit 130 keeping the finished chunks."""
    pytest.importorskip("ray")
    psutil = pytest.importorskip("psutil")
    import subprocess
    import time

    out = tmp_path / "s"
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
    env.update(PYTHONPATH=str(ROOT), MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    p = subprocess.Popen([sys.executable, "-m", "acnotes", "sweep", "--algos", "a2c", "--grid", "gamma=0.9,0.99",
                          "--seeds", "0-3", "--chunk-size", "1", "--steps", "5000", "--backend", "ray", "--cpus", "1",
                          "--set", "n_envs=2", "--set", "hidden=8", "--out", str(out), "--quiet"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 150
        while "Ray started" not in (line := p.stdout.readline()) and time.time() < deadline and line:
            pass
        assert "Ray started" in line, p.stderr.read() if p.poll() is not None else "Ray did not start"
        listening = []
        for child in psutil.Process(p.pid).children(recursive=True) + [psutil.Process(p.pid)]:
            try:
                listening += [(child.name(), c.laddr.ip) for c in child.net_connections("inet")
                              if c.status == psutil.CONN_LISTEN]
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        assert listening and all(ip in ("127.0.0.1", "::1", "::ffff:127.0.0.1") for _, ip in listening), listening
        token = Path.home() / ".ray" / "auth_token"
        assert token.is_file() or os.environ.get("RAY_AUTH_TOKEN"), "no Ray token: authentication is off"
        while not (out / "results.csv").is_file() and time.time() < deadline and p.poll() is None:
            time.sleep(0.2)    # the first chunk finished
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 130, err
    assert "Traceback" not in err and "Aborted" not in err
    rows = (out / "results.csv").read_text().splitlines()
    assert 2 <= len(rows) < 9      # the header, the finished chunks kept, not all 8 members


@pytest.fixture
def tiny_panel(monkeypatch):
    """An atlas panel of two small members, as "99"."""
    from acnotes.stored import atlas
    monkeypatch.setitem(atlas.PANELS, "99", atlas.PanelSpec(("a2c",), "a2c", 128, ("gamma",), seeds=(0, 1)))


@pytest.mark.parametrize("fault", ["full disk", "SIGTERM"])
def test_atlas_and_gallery_faults_keep_the_complete_files(tmp_path, monkeypatch, tiny_panel, fault):
    panel = tmp_path / "atlas" / "99.json.gz"
    panel.parent.mkdir()
    panel.write_bytes(COMPLETE)
    gallery = tmp_path / "gallery"
    assert cli("gallery", gallery, "--notebooks", ROOT / "notebooks", "--only", "01")[0] == 0
    before = _snapshot(tmp_path)
    inject = FullDisk if fault == "full disk" else SigtermInWrite
    for argv, at in [(["atlas", "--only", "99", "--out", panel.parent, "--force", "--quiet"], 1),
                     (["gallery", gallery, "--notebooks", ROOT / "notebooks", "--only", "01", "--force"], 2)]:
        with monkeypatch.context() as m:
            inject(m, at)
            rc, _, err = cli(*argv)
        assert rc == (1 if fault == "full disk" else 130), err
        if fault == "full disk":
            _disk_full_line(err)
        assert "Traceback" not in err
    assert _snapshot(tmp_path) == before
    _no_temporary_files(tmp_path)
