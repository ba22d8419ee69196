"""Property tests at the edges: every command's argument parsing, and Config, History and
TabularMDP, fed huge integers, non-finite floats, strings, empty and one-element arrays, and
paths that are files, links or read-only.

The commands run in-process (``main(argv)``) with their work replaced by a sentinel: a bad
value must end in exit 2 and a one-line message naming the option or the path, before any
work. Counts of what was tried are printed at the end (``pytest -s``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acnotes import envs
from acnotes.config import Config
from acnotes.history import History
from cli_support import cli, modules_holding_train_population

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = settings(derandomize=True, max_examples=int(os.environ.get("ACNOTES_PROPERTY_EXAMPLES", "25")),
                    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                          HealthCheck.too_slow])
TRIED: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print(f"\nproperty inputs tried: {dict(sorted(TRIED.items()))}, total {sum(TRIED.values())}")


class _Ran(BaseException):
    """Raised where a command would start its work: a bad value got through."""


@pytest.fixture
def no_work(monkeypatch):
    import acnotes.variance as variance
    import acnotes._files as files

    def ran(*a, **k):
        raise _Ran
    for mod in modules_holding_train_population():
        monkeypatch.setattr(mod, "train_population", ran)
    for mod, name in [(variance, "measure"), (variance, "sweep"), (files, "write_all")]:
        monkeypatch.setattr(mod, name, ran)


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    """Paths a user might give by mistake."""
    d = tmp_path_factory.mktemp("paths")
    f = d / "a-file.txt"
    f.write_text("mine")
    (d / "link-to-file").symlink_to(f)
    (d / "dangling").symlink_to(d / "nowhere")
    ro = Path("/sys")
    try:
        (ro / ".probe").touch()
        ro = None
    except OSError:
        pass
    out = {"a file": f, "under a file": f / "sub", "link to a file": d / "link-to-file",
           "dangling link": d / "dangling", "empty": ""}
    if ro is not None:
        out["read-only"] = ro
        out["under read-only"] = ro / "sub" / "deeper"
    return out




def _refused(command: str, argv: list, names: list[str]) -> None:
    """``argv`` must end in exit 2 with one error line naming one of ``names``; no work done."""
    TRIED[command] = TRIED.get(command, 0) + 1
    try:
        rc, _, err = cli(*argv)
    except _Ran:
        pytest.fail(f"{argv}: the work started; the bad value was not refused")
    lines = err.strip().splitlines()
    assert rc == 2, (argv, rc, err)
    assert lines and "Traceback" not in err, (argv, err)
    last = lines[-1]
    assert "error:" in last and any(n in last for n in names), (argv, err)


# ---------------------------------------------------------------------- bad values
HUGE = st.integers(min_value=2**40, max_value=2**90)
NEGATIVE = st.integers(max_value=-1, min_value=-2**70)
NOT_A_NUMBER = st.sampled_from(["abc", "", " ", "1.5", "nan", "inf", "-inf", "1e999", "0x10", "١٢", "None",
                                "1_0_", "\x00"])  # "--" is argparse's: --opt=-- reads as no value
NON_FINITE = st.sampled_from(["nan", "inf", "-inf", "NaN", "1e999", "-1e999"])


def tokens(*parts):
    return st.one_of(*parts).map(str)


BAD_SEED = tokens(st.integers(min_value=2**32, max_value=2**90), NEGATIVE, NOT_A_NUMBER)
BAD_COUNT = tokens(st.integers(min_value=10**12 + 1, max_value=2**90), st.integers(max_value=0, min_value=-10**6),
                   NOT_A_NUMBER)
BAD_UNIT = tokens(NON_FINITE, st.floats(min_value=1.0, exclude_min=True, allow_infinity=False),
                  st.floats(max_value=0.0, exclude_max=True, allow_infinity=False), st.sampled_from(["abc", "", "x1"]))

# option -> strategy of bad values, per command (numbers the parser or the check refuses)
BAD_OPTIONS = {
    "train": {"--seeds": BAD_SEED, "--steps": BAD_COUNT, "--n-envs": tokens(NEGATIVE, NOT_A_NUMBER, st.just(0)),
              "--hidden": tokens(HUGE.map(lambda v: v * 10**6), NEGATIVE, NOT_A_NUMBER),
              "--checkpoint-every": tokens(NEGATIVE, NOT_A_NUMBER), "--gamma": BAD_UNIT, "--lr": tokens(NON_FINITE)},
    "evaluate": {"--episodes": tokens(st.integers(min_value=10**6 + 1, max_value=2**90), NEGATIVE, NOT_A_NUMBER),
                 "--seed": BAD_SEED},
    "variance": {"-K": tokens(st.integers(min_value=100_001, max_value=2**90), st.integers(max_value=1, min_value=-5),
                              NOT_A_NUMBER),
                 "-B": tokens(st.integers(min_value=10_001, max_value=2**90), NEGATIVE, NOT_A_NUMBER),
                 "--seed": BAD_SEED, "--policy-seed": BAD_SEED, "--gamma": BAD_UNIT, "--lam": BAD_UNIT,
                 "--critic-noise": tokens(NON_FINITE, st.sampled_from(["-1", "abc"])), "--n": tokens(NEGATIVE, NOT_A_NUMBER)},
    "sensitivity": {"--steps": BAD_COUNT},
    "study": {"--steps": BAD_COUNT},
    "sweep": {"--seeds": tokens(HUGE, NEGATIVE.map(lambda v: f"0,{v}"), st.sampled_from(["x", "0-", "1-0x", "0,0"]),
                                HUGE.map(lambda v: f"0-{v}")),
              "--steps": BAD_COUNT, "--chunk-size": tokens(NEGATIVE, NOT_A_NUMBER),
              "--threshold": tokens(NON_FINITE)},
}
# the argv of each command around the option, and the words its error may use
BASE = {
    "train": lambda tmp: ["train", "--quiet", "--out", tmp / "r"],
    "evaluate": lambda tmp: ["evaluate", tmp],
    "variance": lambda tmp: ["variance"],
    "sensitivity": lambda tmp: ["sensitivity", "--out", tmp / "m.json", "--quiet"],
    "study": lambda tmp: ["study", "rollouts-a2c", "--out", tmp / "s.json", "--quiet"],
    "sweep": lambda tmp: ["sweep", "--algos", "a2c", "--out", tmp / "s", "--backend", "local", "--quiet"],
}
CASES = [(c, o) for c, opts in BAD_OPTIONS.items() for o in opts]


@pytest.mark.parametrize("command, option", CASES, ids=[f"{c} {o}" for c, o in CASES])
def test_property_bad_option_values_are_refused_by_name(no_work, command, option):
    @SETTINGS
    @given(value=BAD_OPTIONS[command][option])
    def check(value):
        with tempfile.TemporaryDirectory() as d:
            argv = BASE[command](Path(d)) + [f"{option}={value}"]
            _refused(command, argv, [option, option.lstrip("-"), option.lstrip("-").replace("-", "_")])
            assert not (Path(d) / "r").exists() and not (Path(d) / "s").exists()
    check()


OUT_ARGS = {  # command -> argv with OUT for an output that must be a folder ("dir") or a file
    "train": (["train", "--quiet", "--out", "OUT"], "dir"),
    "variance": (["variance", "--out", "OUT"], "dir"),
    "variance --table": (["variance", "--table", "OUT/t.csv"], "dir"),
    "sweep": (["sweep", "--algos", "a2c", "--out", "OUT", "--backend", "local"], "dir"),
    "exercises": (["exercises", "OUT", "--notebooks", ROOT / "notebooks"], "dir"),
    "course": (["course", "OUT", "--notebooks", ROOT / "notebooks"], "dir"),
    "study": (["study", "rollouts-a2c", "--out", "OUT"], "file"),
    "sensitivity": (["sensitivity", "--out", "OUT"], "file"),
}


@pytest.mark.parametrize("command", sorted(OUT_ARGS))
def test_property_bad_output_paths_are_refused(no_work, paths, command):
    argv0, kind = OUT_ARGS[command]
    keys = sorted(paths)

    @SETTINGS
    @given(which=st.sampled_from(keys))
    def check(which):
        p = paths[which]
        if kind == "dir" and which in ("dangling link",):
            return  # a dangling link as a folder to create: mkdir refuses, tested below by name
        if command == "variance --table" and which == "empty":
            return  # "/t.csv": the root folder, not a mistake of this kind
        before = {k: (v.read_bytes() if isinstance(v, Path) and v.is_file() else None) for k, v in paths.items()}
        argv = [str(a).replace("OUT", str(p)) if "OUT" in str(a) else a for a in argv0]
        _refused(command, argv, ["--out", "--table", "OUTDIR", "DIR", str(p) or "''", "exist"])
        after = {k: (v.read_bytes() if isinstance(v, Path) and v.is_file() else None) for k, v in paths.items()}
        assert after == before
    check()


def test_property_input_paths_are_refused(no_work, paths):
    @SETTINGS
    @given(which=st.sampled_from(sorted(paths)), command=st.sampled_from(["evaluate", "exercises", "course",
                                                                          "sweep --spec", "atlas --out"]))
    def check(which, command):
        p = paths[which]
        with tempfile.TemporaryDirectory() as d:
            argv = {"evaluate": ["evaluate", p],
                    "exercises": ["exercises", Path(d) / "o", "--notebooks", p],
                    "course": ["course", Path(d) / "o", "--notebooks", p],
                    "sweep --spec": ["sweep", "--spec", p, "--out", Path(d) / "s", "--backend", "local"],
                    "atlas --out": ["atlas", "--only", "01", "--out", p, "--add", "--quiet"]}[command]
            if command == "atlas --out" and which in ("empty",):
                return   # "" is the package's default folder for atlas
            _refused(command.split()[0], argv, [str(p) or "''", "--spec", "--out", "folder", "notebooks", "agent"])
    check()


# ---------------------------------------------------------------------- Config
EDGE_VALUES = st.one_of(
    HUGE, NEGATIVE, st.integers(-2, 3), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1.0, 1.5, -0.0, 2**70 * 1.0]),
    st.text(max_size=5), st.booleans(), st.none(), st.lists(st.integers(0, 2), max_size=1),
    st.sampled_from(["a2c", "tdac", "relu", "adam", "mse"]))
_INT_FIELDS = {"n_envs": 1, "n_steps": 1, "hidden": 1, "layers": 1, "threads": 1, "nstep": 1,
               "total_steps": 1, "seed": 0, "epochs": 1, "batch_size": 1}
_HI = {"total_steps": 10**12, "seed": 2**32 - 1}


def _config_value_ok(field, v) -> bool:
    """The documented rule of a field, decided here independently."""
    number = isinstance(v, (int, float)) and not isinstance(v, bool)
    if field in _INT_FIELDS:
        if field in ("nstep", "batch_size") and v is None:
            return True
        return isinstance(v, int) and not isinstance(v, bool) and _INT_FIELDS[field] <= v <= _HI.get(field, math.inf)
    if field in ("gamma", "lam"):
        return number and 0 <= v <= 1
    if field in ("lr", "reward_scale", "critic_lr", "max_grad_norm", "clip_eps", "adam_eps"):
        return (v is None and field in ("critic_lr", "max_grad_norm", "clip_eps")) or (number and math.isfinite(v) and v > 0)
    if field in ("vf_coef", "ent_coef"):
        return number and math.isfinite(v) and v >= 0
    if field == "target_return":
        return v is None or (number and math.isfinite(v))
    if field == "log_std_init":
        return number and math.isfinite(v) and -20 <= v <= 2
    if field in ("shared", "discount_actor", "detach_target", "norm_adv", "anneal"):
        return isinstance(v, bool)
    choices = {"algo": ("reinforce", "reinforce_baseline", "qac", "a2c", "tdac", "gae"), "activation": ("tanh", "relu"),
               "critic_loss": ("mse", "smooth_l1"), "optimizer": ("adam", "rmsprop"),
               "env": ("CartPole-v1", "Pendulum-v1")}
    return isinstance(v, str) and v in choices[field]


@SETTINGS
@given(field=st.sampled_from(sorted(Config.__dataclass_fields__)), value=EDGE_VALUES)
def test_property_config_from_dict(field, value):
    TRIED["Config"] = TRIED.get("Config", 0) + 1
    ok = _config_value_ok(field, value)
    try:
        cfg = Config.from_dict({field: value})
    except ValueError as e:
        assert not ok, f"{field}={value!r} is valid but refused: {e}"
        assert str(e).startswith(f"{field} must"), str(e)
        return
    assert ok, f"{field}={value!r} is invalid but accepted"
    json.dumps(cfg.to_dict(), allow_nan=False)


# ---------------------------------------------------------------------- History
_FLOATS = st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=4)
_INTS = st.lists(st.integers(0, 2**40), max_size=4)


@SETTINGS
@given(returns=_FLOATS, losses=_FLOATS, steps=_INTS, status=st.sampled_from(["done", "diverged", "interrupted"]),
       message=st.text(max_size=8))
def test_property_history_round_trips_strict_json_and_csv(returns, losses, steps, status, message):
    TRIED["History"] = TRIED.get("History", 0) + 1
    n = len(returns)
    h = History(config={"gamma": 0.9}, steps=steps, actor_loss=losses, episode_returns=returns,
                episode_lengths=list(range(n)), episode_steps=list(range(n)), status=status, message=message)
    with tempfile.TemporaryDirectory() as d:
        p = h.save(Path(d) / "h.json")
        json.loads(p.read_text(), parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
        back = History.load(p)
        assert _same(back.episode_returns, returns) and _same(back.actor_loss, losses)
        assert back.steps == steps and back.status == status and back.message == message
        back = History.load(h.save(Path(d) / "h.csv"))
        assert _same(back.episode_returns, returns) and back.episode_lengths == list(range(n))


def _same(a, b):
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


_JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2, 2**70), st.text(max_size=4),
                         st.floats(allow_nan=False, allow_infinity=False),
                         st.lists(st.one_of(st.integers(-1, 3), st.text(max_size=2), st.floats(allow_nan=False),
                                            st.sampled_from(["NaN", "Infinity", "-Infinity", "nan"])), max_size=3),
                         st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@SETTINGS
@given(d=st.dictionaries(st.sampled_from(["steps", "time", "actor_loss", "episode_returns", "episode_lengths",
                                          "status", "message", "config", "colour"]), _JSON_VALUES, max_size=3))
def test_property_history_load_returns_a_valid_history_or_names_the_file(d):
    TRIED["History.load"] = TRIED.get("History.load", 0) + 1
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "h.json"
        p.write_text(json.dumps(d))
        try:
            h = History.load(p)
        except ValueError as e:
            assert str(p) in str(e)
            return
    for name in ("steps", "episode_lengths", "episode_steps"):
        assert all(isinstance(x, int) and not isinstance(x, bool) for x in getattr(h, name))
    for name in ("time", "actor_loss", "episode_returns"):
        assert all(isinstance(x, float) for x in getattr(h, name))
    assert isinstance(h.status, str) and isinstance(h.message, str) and isinstance(h.config, dict)
    h.total_steps, h.rolling_return()  # usable


# ---------------------------------------------------------------------- TabularMDP
def _arrays(shape_max=3):
    dims = st.lists(st.integers(0, shape_max), min_size=0, max_size=4)
    fill = st.sampled_from([0.0, 0.5, 1.0, math.nan, math.inf, -1.0])
    return st.one_of(dims.map(lambda s: torch.full(tuple(s), 0.5, dtype=torch.float64)),
                     st.tuples(dims, fill).map(lambda t: torch.full(tuple(t[0]), t[1], dtype=torch.float64)),
                     st.sampled_from(["abc", None, [[1, "x"]], [], [[]], 3.0]))


@SETTINGS
@given(which=st.sampled_from(["P", "R", "mu", "features", "gamma"]), value=st.one_of(_arrays(), EDGE_VALUES))
def test_property_tabular_mdp_builds_or_says_why(which, value):
    TRIED["TabularMDP"] = TRIED.get("TabularMDP", 0) + 1
    m = envs.short_corridor()
    args = dict(P=m.P, R=m.R, mu=m.mu, gamma=m.gamma, features=m.features)
    args[which] = value
    try:
        mdp = envs.TabularMDP(**args)
    except ValueError as e:
        assert which in str(e) or "shape" in str(e), str(e)
        return
    # what was accepted works
    theta = torch.zeros(mdp.n_features, dtype=torch.float64)
    assert torch.isfinite(mdp.policy(theta)).all()
