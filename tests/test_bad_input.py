"""Bad input and lost work: every case gets a clear error, and nothing done is lost.

The command line is run in-process (``main(argv)``) to keep this file fast; one test runs
it in a subprocess, because only a real process can receive SIGTERM. The property-based
tests (hypothesis) draw Config fields and command-line values, decide from the documented
rules whether each is valid, and check: a valid value gives a run, a bad one a one-line
error naming the field (API) or the option (command line); never a traceback.
"""

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acnotes import envs
from acnotes.agent import Agent
from acnotes.config import Config
from acnotes.history import History
from acnotes.train import train
from cli_support import cli

TINY = ["--steps", "100", "--n-envs", "2", "--hidden", "8", "--quiet"]




def files(d: Path) -> dict:
    """{relative path: bytes} of every file under d."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


# ============================================================================ data loss
def test_out_holding_another_run_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "run"
    assert cli("train", *TINY, "--seeds", "0", "1", "--out", out)[0] == 0
    before = files(out)
    rc, _, err = cli("train", *TINY, "--algo", "tdac", "--seeds", "0", "--out", out)
    assert rc == 2 and "holds another run" in err and "--overwrite" in err and "--resume" in err
    assert files(out) == before


def test_overwrite_removes_the_old_run_first(tmp_path):
    out = tmp_path / "run"
    assert cli("train", *TINY, "--seeds", "0", "1", "--out", out)[0] == 0
    assert cli("train", *TINY, "--algo", "tdac", "--seeds", "0", "--out", out, "--overwrite")[0] == 0
    assert not (out / "agent-seed1").exists() and not (out / "history-seed1.json").exists()
    assert json.loads((out / "run.json").read_text())["seeds"] == [0]
    rc, text, _ = cli("evaluate", out, "--episodes", "2")
    assert rc == 0 and text.count("mean return") == 1  # one algorithm, not two mixed


def test_resume_trains_only_the_seeds_not_finished(tmp_path):
    out = tmp_path / "run"
    assert cli("train", *TINY, "--seeds", "0", "1", "--out", out)[0] == 0
    full = History.load(out / "history-seed1.json")
    # make it look like a run stopped during seed 1
    meta = json.loads((out / "run.json").read_text())
    meta["finished"], meta["status"] = [0], {"0": "done", "1": "interrupted"}
    (out / "run.json").write_text(json.dumps(meta))
    (out / "history-seed1.json").unlink()
    seed0 = files(out / "agent-seed0")
    rc, text, err = cli("train", *TINY, "--seeds", "0", "1", "--out", out, "--resume")
    assert rc == 0, err
    assert "seed 0: done earlier, kept" in text and "seed 1: done" in text
    assert files(out / "agent-seed0") == seed0
    again = History.load(out / "history-seed1.json")
    assert again.episode_returns == full.episode_returns  # the same seeded run, redone
    assert json.loads((out / "run.json").read_text())["finished"] == [0, 1]
    # other settings cannot resume this run
    rc, _, err = cli("train", *TINY, "--lr", "0.01", "--out", out, "--resume")
    assert rc == 2 and "--lr (run: 0.001, now: 0.01)" in err


def test_unwritable_out_is_refused_before_any_training():
    if os.access("/sys", os.W_OK) and not Path("/sys/class").is_dir():
        pytest.skip("no read-only directory to try")
    t0 = time.perf_counter()
    rc, text, err = cli("train", "--steps", "100000", "--quiet", "--out", "/sys")
    assert rc == 2 and "not writable" in err and "seed 0" not in text
    assert time.perf_counter() - t0 < 20  # no 100000-step run happened first


@pytest.mark.parametrize("argv, words", [
    (["--seeds", "0", "-1"], "--seeds: expected an integer in [0, 4294967295], got '-1'"),
    (["--seeds", "0", "0"], "--seeds must be distinct"),
    (["--n-envs", "0"], "--n-envs must be an integer >= 1, got 0"),
    (["--steps", "abc"], "--steps: expected an integer in [1, 1000000000000], got 'abc'"),
    (["--target-return", "abc"], "--target-return: expected a number, got 'abc'"),
    (["--gamma", "nan"], "--gamma must be in [0, 1], got nan"),
])
def test_bad_options_are_refused_before_anything_is_written(tmp_path, argv, words):
    rc, text, err = cli("train", *TINY, *argv, "--out", tmp_path / "new")
    assert rc == 2 and words in err and "_positive_int" not in err
    assert "seed 0" not in text and not (tmp_path / "new").exists()


def test_out_empty_a_file_or_under_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, _, err = cli("train", *TINY, "--out", "")
    assert rc == 2 and "--out must name a directory" in err and list(tmp_path.iterdir()) == []
    f = tmp_path / "notes.txt"
    f.write_text("mine")
    rc, _, err = cli("train", *TINY, "--out", f)
    assert rc == 2 and "is a file" in err
    rc, _, err = cli("train", *TINY, "--out", f / "run")
    assert rc == 2 and "is a file, not a directory" in err
    rc, _, err = cli("train", *TINY, "--out", tmp_path, "--overwrite")  # holds notes.txt
    assert rc == 2 and "not from a run" in err
    assert f.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_target_return_is_checked_before_training():
    with pytest.raises(ValueError, match="^target_return must be a finite number"):
        train(total_steps=200, n_envs=2, target_return="abc", progress=False)


def test_each_finished_seed_and_checkpoints_are_saved_at_once(tmp_path, monkeypatch):
    saved = []
    real = History.save
    monkeypatch.setattr(History, "save", lambda self, p: (saved.append((Path(p).name, self.total_steps, self.status)), real(self, p))[1])
    rc, _, _ = cli("train", *TINY, "--steps", "400", "--checkpoint-every", "100", "--seeds", "3", "--out", tmp_path / "r")
    assert rc == 0
    assert [s for _, s, _ in saved[:4]] == [100, 200, 300, 400]  # every 100 env steps
    assert [st_ for _, _, st_ in saved[:3]] == ["running"] * 3
    assert saved[-1] == ("history-seed3.json", 400, "done")


def test_sigterm_keeps_the_current_seed(tmp_path):
    """As a scheduler or `timeout` would: SIGTERM a real process mid-run."""
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "acnotes", "train", "--steps", "10000000", "--n-envs", "2",
                          "--quiet", "--seeds", "0", "1", "--checkpoint-every", "200", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    try:
        deadline = time.time() + 120
        while not (out / "history-seed0.json").exists() and time.time() < deadline and p.poll() is None:
            time.sleep(0.2)
        assert (out / "history-seed0.json").exists()
        p.send_signal(signal.SIGTERM)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    h = History.load(out / "history-seed0.json")
    assert h.status == "interrupted" and h.total_steps >= 200
    assert json.loads((out / "run.json").read_text())["status"] == {"0": "interrupted"}
    assert (out / "learning_curve.png").exists()
    Agent.load(out / "agent-seed0")


def test_writes_are_atomic(tmp_path, monkeypatch):
    agent, hist = train(total_steps=100, n_envs=2, hidden=8, progress=False)
    d = agent.save(tmp_path / "a")
    weights = (d / "weights.pt").read_bytes()
    hist.save(tmp_path / "h.json")
    text = (tmp_path / "h.json").read_text()

    def torn(obj, f, *a, **k):  # a disk that fills up half-way through
        Path(f).write_bytes(b"half")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(torch, "save", torn)
    with pytest.raises(OSError):
        agent.save(d)
    assert (d / "weights.pt").read_bytes() == weights

    real_write = Path.write_text

    def torn_text(self, data, *a, **k):
        real_write(self, data[: len(data) // 2])
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(Path, "write_text", torn_text)
    with pytest.raises(OSError):
        hist.save(tmp_path / "h.json")
    monkeypatch.undo()
    assert (tmp_path / "h.json").read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "h.json"]  # no temp files left
    assert sorted(p.name for p in d.iterdir()) == ["config.json", "weights.pt"]


# ============================================================================ silent nonsense
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    agent, _ = train(total_steps=100, n_envs=2, hidden=8, progress=False)
    return agent, agent.save(tmp_path_factory.mktemp("agent") / "a")


def _copy(saved, tmp_path) -> Path:
    agent, _ = saved
    return agent.save(tmp_path / "a")


def test_nan_weights_are_not_evaluated(saved, tmp_path):
    d = _copy(saved, tmp_path)
    state = torch.load(d / "weights.pt", weights_only=True)
    torch.save({k: torch.full_like(v, float("nan")) for k, v in state.items()}, d / "weights.pt")
    with pytest.raises(ValueError, match="NaN or inf"):
        Agent.load(d).evaluate(3)
    for extra in ([], ["--sample"]):
        rc, text, err = cli("evaluate", d, "--episodes", "2", *extra)
        assert rc == 2 and str(d) in err and "NaN" in err and "mean return" not in text


def test_diverged_run_exits_non_zero(tmp_path):
    # rewards scaled beyond float32: the critic's loss is inf at the first update
    rc, text, err = cli("train", *TINY, "--algo", "tdac", "--reward-scale", "1e39", "--out", tmp_path / "d")
    assert rc == 1 and "seed 0: diverged" in text and "diverged" in err


@pytest.mark.parametrize("content, words", [
    ("null", "mapping"),
    (None, "missing setting(s) ['activation']"),
    ('{"algo": ["a2c"]}', "algo"),
    ("{not json", "config.json"),
])
def test_bad_config_json_names_the_file(saved, tmp_path, content, words):
    d = _copy(saved, tmp_path)
    if content is None:  # a key missing: it must not load with today's default
        cfg = json.loads((d / "config.json").read_text())
        del cfg["activation"]
        content = json.dumps(cfg)
    elif content.startswith('{"algo"'):
        cfg = json.loads((d / "config.json").read_text())
        cfg["algo"] = ["a2c"]
        content = json.dumps(cfg)
    (d / "config.json").write_text(content)
    with pytest.raises(ValueError) as e:
        Agent.load(d)
    assert str(d / "config.json") in str(e.value) and words in str(e.value)
    rc, _, err = cli("evaluate", d)
    assert rc == 2 and str(d / "config.json") in err


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_unsafe_pickle_message_never_suggests_weights_only_false(saved, tmp_path):
    d = _copy(saved, tmp_path)
    torch.save({"x": _Evil()}, d / "weights.pt")
    with pytest.raises(ValueError) as e:
        Agent.load(d)
    msg = str(e.value)
    assert str(d / "weights.pt") in msg and "weights_only" not in msg and "False" not in msg


def test_corrupt_weights_and_history_name_the_file(saved, tmp_path):
    d = _copy(saved, tmp_path)
    (d / "weights.pt").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match=str(d / "weights.pt")):
        Agent.load(d)
    bad = tmp_path / "h.json"
    for text in ("{oops", "[1, 2]", '{"steps": [], "colour": 1}'):
        bad.write_text(text)
        with pytest.raises(ValueError, match=str(bad)):
            History.load(bad)


def test_numbers_numpy_and_bool():
    cfg = Config(n_envs=np.int64(2), gamma=np.float32(0.5), lr=np.float64(1e-3), seed=np.int32(4)).validate()
    assert type(cfg.n_envs) is int and type(cfg.gamma) is float and type(cfg.seed) is int
    json.dumps(cfg.to_dict())  # numpy numbers would not serialize
    for name, v in [("gamma", True), ("n_envs", np.True_), ("lr", False), ("shared", 1), ("seed", -1)]:
        with pytest.raises(ValueError, match=f"^{name} must"):
            Config(**{name: v}).validate()


def test_tabular_mdp_refuses_non_finite_rewards():
    m = envs.two_state()
    for bad in (float("nan"), float("inf")):
        R = m.R.clone()
        R[0, 0] = bad
        with pytest.raises(ValueError, match="R must be finite"):
            envs.TabularMDP(m.P, R, m.mu, m.gamma)


def test_evaluate_runs_episodes_in_bounded_chunks(saved, monkeypatch):
    agent, _ = saved
    sizes = []
    real = envs.make_cartpole
    monkeypatch.setattr(envs, "make_cartpole", lambda n, *a, **k: (sizes.append(n), real(n, *a, **k))[1])
    r = agent.evaluate(70, seed=2)
    assert r.shape == (70,) and max(sizes) <= 32 and sum(sizes) == 70
    np.testing.assert_array_equal(agent.evaluate(70, seed=2), r)  # deterministic


# ============================================================================ properties
# Counts over the whole file, printed at the end (run with -s to see them).
# ACNOTES_PROPERTY_SCALE=5 tries five times as many examples (a longer, more thorough run).
SCALE = int(os.environ.get("ACNOTES_PROPERTY_SCALE", "1"))
COUNT = {"bad tried": 0, "bad handled cleanly": 0, "valid tried": 0, "valid ran": 0}


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print(f"\nproperty tests: {COUNT}")


def _rule(name):
    """The documented rule of a Config field: a predicate on a value (None if not a check)."""
    def real(v, lo=None, hi=None, open_=False):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            return False
        x = float(v)
        return math.isfinite(x) and (lo is None or (x > lo if open_ else x >= lo)) and (hi is None or x <= hi)

    def whole(v, lo):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= lo
    rules = {
        "gamma": lambda v: real(v, 0, 1), "lam": lambda v: real(v, 0, 1),
        "lr": lambda v: real(v, 0, open_=True), "reward_scale": lambda v: real(v, 0, open_=True),
        "critic_lr": lambda v: v is None or real(v, 0, open_=True),
        "max_grad_norm": lambda v: v is None or real(v, 0, open_=True),
        "vf_coef": lambda v: real(v, 0), "ent_coef": lambda v: real(v, 0),
        "target_return": lambda v: v is None or real(v),
        "n_envs": lambda v: whole(v, 1), "n_steps": lambda v: whole(v, 1), "hidden": lambda v: whole(v, 1),
        "layers": lambda v: whole(v, 1), "total_steps": lambda v: whole(v, 1), "threads": lambda v: whole(v, 1),
        "nstep": lambda v: v is None or whole(v, 1), "seed": lambda v: whole(v, 0),
        "algo": lambda v: v in ("reinforce", "reinforce_baseline", "qac", "a2c", "tdac", "gae")
        if isinstance(v, str) else False,
        "env": lambda v: isinstance(v, str) and v in ("CartPole-v1", "Pendulum-v1"),
        "log_std_init": lambda v: real(v, -20, 2),
        "activation": lambda v: v in ("tanh", "relu"), "critic_loss": lambda v: v in ("mse", "smooth_l1"),
        "optimizer": lambda v: v in ("adam", "rmsprop"),
        "shared": lambda v: isinstance(v, (bool, np.bool_)), "discount_actor": lambda v: isinstance(v, (bool, np.bool_)),
        "detach_target": lambda v: isinstance(v, (bool, np.bool_)),
        "epochs": lambda v: whole(v, 1), "batch_size": lambda v: v is None or whole(v, 1),
        "clip_eps": lambda v: v is None or real(v, 0, open_=True), "adam_eps": lambda v: real(v, 0, open_=True),
        "norm_adv": lambda v: isinstance(v, (bool, np.bool_)), "anneal": lambda v: isinstance(v, (bool, np.bool_)),
    }
    return rules[name]


# values small enough that a valid one trains in well under a second
_VALUES = st.one_of(
    st.integers(-3, 4), st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, 0.5, 1.0, 1e-3, -1e-3, 1.0000001, 1e39, float("nan"), float("inf")]),
    st.booleans(), st.none(), st.text(max_size=6),
    st.sampled_from(["a2c", "tdac", "gae", "reinforce", "relu", "tanh", "mse", "smooth_l1", "rmsprop", "adam"]),
    st.sampled_from([np.int64(2), np.int32(-1), np.float32(0.5), np.float64(2.0), np.bool_(True)]),
    st.lists(st.integers(0, 3), max_size=2),
)
_FIELDS = [f for f in Config.__dataclass_fields__]


def _small(field, value):
    """Keep valid runs tiny: sizes and step counts are capped (a cap is not a rule)."""
    caps = {"n_envs": 4, "n_steps": 4, "hidden": 16, "layers": 3, "total_steps": 200, "threads": 2, "nstep": 4, "epochs": 4}
    return field not in caps or not _rule(field)(value) or value is None or value <= caps[field]


def _record(valid, ok):
    COUNT["valid tried" if valid else "bad tried"] += 1
    if ok:
        COUNT["valid ran" if valid else "bad handled cleanly"] += 1


@settings(derandomize=True, max_examples=45 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(_FIELDS), value=_VALUES)
def test_property_config_field_gives_a_run_or_a_clean_error(field, value):
    if not _small(field, value):
        return
    base = dict(total_steps=60, n_envs=2, hidden=8, n_steps=3)
    base[field] = value
    valid = _rule(field)(value)
    try:
        agent, h = train(Config(**base), progress=False)
    except ValueError as e:
        _record(valid, not valid and str(e).startswith(f"{field} must"))
        assert not valid, f"{field}={value!r} is valid but was refused: {e}"
        assert str(e).startswith(f"{field} must"), str(e)
        return
    _record(valid, valid)
    assert valid, f"{field}={value!r} is invalid but was accepted"
    assert h.status in ("done", "target reached", "diverged")


_OPTIONS = {  # option -> Config field (None: an option of the command only)
    "--gamma": "gamma", "--lr": "lr", "--critic-lr": "critic_lr", "--lam": "lam", "--n-envs": "n_envs",
    "--n-steps": "n_steps", "--nstep": "nstep", "--hidden": "hidden", "--layers": "layers",
    "--shared": "shared", "--activation": "activation", "--vf-coef": "vf_coef", "--ent-coef": "ent_coef",
    "--max-grad-norm": "max_grad_norm", "--reward-scale": "reward_scale", "--target-return": "target_return",
    "--threads": "threads", "--optimizer": "optimizer", "--algo": "algo", "--steps": "total_steps",
    "--seeds": "seed", "--checkpoint-every": None,
}
_TOKENS = st.one_of(
    st.sampled_from(["0", "1", "2", "-1", "0.5", "1.5", "1e-3", "nan", "inf", "-inf", "abc", "", " ", "none",
                     "true", "false", "maybe", "1e999", "0x10", "3.", "a2c", "tdac", "relu", "rmsprop", "1_0"]),
    st.integers(-3, 5).map(str), st.floats(allow_nan=False, width=32).map(repr), st.text(max_size=4),
)


def _parse_token(field, s):
    """What the option means, decided here independently: (ok, value)."""
    t = s.strip()
    kinds = {"shared": "bool", "discount_actor": "bool", "detach_target": "bool", "activation": "str", "critic_loss": "str",
             "optimizer": "str", "algo": "str", "critic_lr": "float?", "max_grad_norm": "float?",
             "target_return": "float?", "nstep": "int?", "gamma": "float", "lr": "float", "lam": "float",
             "vf_coef": "float", "ent_coef": "float", "reward_scale": "float"}
    kind = kinds.get(field, "int")
    if kind.endswith("?") and t.lower() in ("none", ""):
        return True, None
    kind = kind.rstrip("?")
    try:
        if kind == "bool":
            words = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
            return t.lower() in words, words.get(t.lower())
        if kind == "str":
            return True, s
        return True, (float(t) if kind == "float" else int(t))
    except ValueError:
        return False, None


@settings(derandomize=True, max_examples=40 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(option=st.sampled_from(sorted(_OPTIONS)), token=_TOKENS)
def test_property_cli_option_gives_a_run_or_a_clean_error(option, token):
    field = _OPTIONS[option]
    if field is None:  # --checkpoint-every: an integer >= 1
        ok, v = _parse_token("n_envs", token)
        valid = ok and v >= 1
    else:
        ok, v = _parse_token(field, token)
        valid = ok and _rule(field)(v)
        if valid and not _small(field, v):
            return
    with tempfile.TemporaryDirectory() as d:
        argv = ["train", *TINY, "--out", Path(d) / "r"]
        if option == "--steps":
            argv[2] = token
        else:  # OPTION=VALUE, the form that also takes a value starting with "-" (argparse
            argv += [f"{option}={token}"]  # reads "--x -1e16" as two options)
        rc, text, err = cli(*argv)
    last = (err.strip().splitlines() or [""])[-1]  # argparse prints its usage lines first
    clean = rc == 2 and "error:" in last and option in last and "Traceback" not in err
    _record(valid, (rc in (0, 1)) if valid else clean)
    if valid:
        assert rc in (0, 1), f"{option} {token!r} is valid but: {err}"
        assert "env steps, " in text  # a seed trained and said so
    else:
        assert clean, f"{option} {token!r} is invalid but gave exit {rc}: {err}"


@settings(derandomize=True, max_examples=15 * SCALE, deadline=None)
@given(seeds=st.lists(st.one_of(st.integers(-2, 3).map(str), st.sampled_from(["x", "1.0", "", "01"])), min_size=1, max_size=3))
def test_property_seeds(seeds):
    parsed = [int(s) if s.strip().lstrip("-").isdigit() else None for s in seeds]
    valid = None not in parsed and min(parsed) >= 0 and len(set(parsed)) == len(parsed)
    with tempfile.TemporaryDirectory() as d:
        rc, text, err = cli("train", *TINY, "--steps", "20", "--out", Path(d) / "r", "--seeds", *seeds)
    clean = rc == 2 and "--seeds" in (err.strip().splitlines() or [""])[-1]
    _record(valid, rc == 0 if valid else clean)
    assert (rc == 0) if valid else clean, (seeds, rc, err)


@settings(derandomize=True, max_examples=20 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(option=st.sampled_from(["--episodes", "--seed"]), token=_TOKENS)
def test_property_evaluate_options(saved, option, token):
    ok, v = _parse_token("n_envs", token)  # both are integers
    valid = ok and v >= (1 if option == "--episodes" else 0) and v <= 40  # a cap to stay fast, not a rule
    if ok and v > 40:
        return
    rc, text, err = cli("evaluate", saved[1], option, token)
    last = (err.strip().splitlines() or [""])[-1]
    clean = rc == 2 and "error:" in last and option in last
    _record(valid, rc == 0 if valid else clean)
    assert ("mean return" in text and rc == 0) if valid else clean, (option, token, rc, err)
