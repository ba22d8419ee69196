"""PPO on Pendulum-v1 beside SB3's (acnotes/stored/ppo_pendulum.py, benchmarks/ppo_pendulum.py)."""

import importlib.util
import json
from pathlib import Path

import pytest

import acnotes as acn
from acnotes.stored import ppo_pendulum as pp

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "ppo_pendulum.py"


def _bench():
    spec = importlib.util.spec_from_file_location("ppo_pendulum_bench", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(seed, finals, seconds):
    return dict(seed=seed, status="done", seconds=seconds, episode_returns=finals,
                episode_steps=list(range(1, len(finals) + 1)))


def test_summary_by_hand():
    """Solved: the mean of the LAST 100 episodes >= -200 (an early bad episode drops out of it)."""
    sb3 = [_run(0, [-1000.0] + [-200.0] * 100, 10.0), _run(1, [-201.0] * 100, 30.0)]
    eng = [_run(0, [-150.0] * 50 + [-260.0] * 50, 2.0), _run(1, [-180.0] * 5, 4.0)]
    s = pp.summarize(dict(runs=dict(sb3=sb3, engine=eng)))
    assert s["sb3"] == dict(solved=1, n=2, median_steps=101.0, median_final=-200.5, median_seconds=20.0,
                            time_ratio=1.0)
    assert s["engine"]["solved"] == 1 and s["engine"]["median_final"] == pytest.approx((-205.0 - 180.0) / 2)
    assert s["engine"]["time_ratio"] == pytest.approx(3.0 / 20.0)
    assert "1 of 2" in pp.table(dict(runs=dict(sb3=sb3, engine=eng)))


def test_env_steps_to_the_bar_whole_and_lean():
    """The env steps at which the mean of the last 100 episodes first reaches -200, over the seeds
    whose FINAL return reaches it: a seed that got there and fell back does not count; a lean
    run (its last 100 returns only) keeps the same figure."""
    def run(seed, returns):
        return dict(seed=seed, status="done", seconds=1.0, episode_returns=returns,
                    episode_steps=[200 * (i + 1) for i in range(len(returns))])
    up = run(0, [-300.0] * 100 + [-100.0] * 100)        # the mean reaches -200 at the 150th episode
    late = run(1, [-300.0] * 100 + [-100.0] * 60 + [-180.0] * 100)   # at the 150th too
    fell = run(2, [-100.0] * 100 + [-300.0] * 100)      # there from the start, final -300
    assert [pp.reached_at(r) for r in (up, late, fell)] == [150 * 200, 150 * 200, 100 * 200]
    data = dict(runs=dict(engine=[up, late, fell]))
    s = pp.summarize(data)["engine"]
    assert (s["solved"], s["median_steps"]) == (2, 30_000.0)
    slim = pp.lean(data)
    assert [r["reached_at"] for r in slim["runs"]["engine"]] == [30_000, 30_000, 20_000]
    assert "episode_steps" not in slim["runs"]["engine"][0]
    assert pp.summarize(slim)["engine"] == s
    assert pp.summarize(dict(runs=dict(engine=[fell])))["engine"]["median_steps"] is None
    assert "30,000" in pp.table(data)


def test_side_by_side_over_the_common_seeds():
    """Engine runs of seeds 0-2 beside SB3's of seeds 0-1: the table over the common seeds leaves seed 2 out."""
    eng = [_run(s, [f] * 100, 1.0) for s, f in enumerate((-190.0, -210.0, -100.0))]
    sb3 = [_run(s, [f] * 100, 1.0) for s, f in enumerate((-195.0, -205.0))]
    data = dict(runs=dict(sb3=sb3, engine=eng))
    assert pp.common_seeds(data) == [0, 1]
    assert pp.summarize(data)["engine"]["solved"] == 2
    s = pp.summarize(data, pp.common_seeds(data))["engine"]
    assert (s["solved"], s["n"], s["median_final"]) == (1, 2, -200.0)


def test_preset_is_rl_zoos_budget_and_settings():
    cfg = acn.train.preset(pp.PRESET).validate()
    zoo = pp.SB3_SETTINGS
    assert cfg.env == "Pendulum-v1" and cfg.uses_epochs() and cfg.total_steps == pp.TOTAL_STEPS
    assert (cfg.n_envs, cfg.n_steps, cfg.gamma, cfg.epochs, cfg.clip_eps, cfg.lr) == (
        zoo["n_envs"], zoo["n_steps"], zoo["gamma"], zoo["n_epochs"], zoo["clip_range"], zoo["learning_rate"])


def test_preset_departs_from_rl_zoo_in_lambda_and_reward_scale_only():
    """Every setting of ppo-pendulum against rl-zoo's Pendulum-v1 PPO (SB3_SETTINGS) and SB3's
    PPO defaults: the same everywhere except the two changes presets.py names."""
    cfg, zoo = acn.train.preset(pp.PRESET), pp.SB3_SETTINGS
    same = dict(n_envs=zoo["n_envs"], n_steps=zoo["n_steps"], gamma=zoo["gamma"], epochs=zoo["n_epochs"],
                ent_coef=zoo["ent_coef"], lr=zoo["learning_rate"], clip_eps=zoo["clip_range"], total_steps=100_000,
                # SB3's defaults: minibatches of 64, 0.5 x MSE (= 1 x (V - y)^2 / 2), clipped gradient
                # norm 0.5, Adam's eps 1e-5, normalised advantages, separate 64-64 tanh nets, log sigma 0,
                # one step size, constant schedules
                batch_size=64, vf_coef=1.0, critic_loss="mse", max_grad_norm=0.5, adam_eps=1e-5, norm_adv=True,
                hidden=64, layers=2, activation="tanh", shared=False, log_std_init=0.0, critic_lr=None,
                anneal=False, optimizer="adam", algo="gae", env="Pendulum-v1")
    assert {k: getattr(cfg, k) for k in same} == same
    assert (cfg.lam, zoo["gae_lambda"]) == (0.9, 0.95) and (cfg.reward_scale, zoo.get("reward_scale", 1.0)) == (0.1, 1.0)


def test_benchmark_refuses_bad_input_before_training(tmp_path, capsys, monkeypatch):
    bench = _bench()
    monkeypatch.setattr(pp, "compute", lambda *a, **k: pytest.fail("trained before refusing"))
    out = tmp_path / "runs.json"
    out.write_text("mine")
    for argv, said in ([["--json", str(out)], "exists"], [["--no-peer", "--no-engine"], "nothing to run"],
                       [["--seeds", "0"], "--seeds"], [["--json", str(tmp_path / "no" / "x.json")], "--json"],
                       [["--lean"], "--lean"]):
        with pytest.raises(SystemExit) as e:
            bench.main(argv)
        assert e.value.code == 2 and said in capsys.readouterr().err
    assert out.read_text() == "mine"


def test_benchmark_writes_the_engines_runs(tmp_path, capsys, monkeypatch):
    """A tiny budget: the engine's population over 2 seeds, written as JSON and tabulated."""
    out = tmp_path / "runs.json"
    monkeypatch.setitem(acn.presets.PRESETS, pp.PRESET, dict(acn.presets.PRESETS[pp.PRESET], n_steps=100, batch_size=100))
    assert _bench().main(["--seeds", "2", "--steps", "1200", "--no-peer", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [r["seed"] for r in data["runs"]["engine"]] == [0, 1] and "sb3" not in data["runs"]
    assert all(len(r["episode_returns"]) == 4 for r in data["runs"]["engine"])
    assert "of 2" in capsys.readouterr().out
    slim = tmp_path / "lean.json"
    assert _bench().main(["--seeds", "1", "--steps", "1200", "--no-peer", "--json", str(slim), "--lean"]) == 0
    run = json.loads(slim.read_text())["runs"]["engine"][0]
    assert "episode_steps" not in run and run["episodes"] == 4 and run["reached_at"] is None


# ----------------------------------------------------------------------------- the stored side by side
def test_lean_keeps_the_last_100_returns_and_the_summary():
    runs = [_run(0, [float(i) for i in range(-400, -150)], 1.0)]
    runs[0]["episode_steps"] = list(range(200, 200 * 251, 200))
    data = dict(runs=dict(engine=runs))
    cut = pp.lean(data)["runs"]["engine"][0]
    assert cut["episodes"] == 250 and cut["last_end"] == 50_000 and cut["episode_returns"] == runs[0]["episode_returns"][-100:]
    assert pp.summarize(pp.lean(data)) == pp.summarize(data)


def test_stored_side_by_side_covers_its_seeds():
    data = pp.load()
    assert [r["seed"] for r in data["runs"]["engine"]] == list(range(50)) == data["seeds"]
    assert [r["seed"] for r in data["runs"]["sb3"]] == data["sb3_seeds"] == list(range(50))
    assert data["sb3"] == pp.SB3_SETTINGS and data["total_steps"] == pp.TOTAL_STEPS
    assert acn.train.Config.from_dict(data["config"]) == acn.train.preset(pp.PRESET)
    for r in data["runs"]["engine"] + data["runs"]["sb3"]:
        assert r["episodes"] >= 500 and len(r["episode_returns"]) == 100 and r["last_end"] <= 102_400
        # a solved seed got there within the budget, from its 100th episode on (200 steps each)
        solved = pp.summarize(dict(runs=dict(x=[r])))["x"]["solved"]
        assert (r["reached_at"] is not None) >= solved
        assert r["reached_at"] is None or 100 * 200 <= r["reached_at"] <= r["last_end"]


def test_the_engine_counts_the_autoreset_step_and_says_so():
    """An engine episode takes 201 env steps (its 200 and gymnasium's NEXT_STEP reset step), an SB3
    episode 200: in the 102,400 env steps of 25 rollouts (25,600 per env) the engine records 127
    episodes per env, 508, the last ending at 102,104, SB3 512 ending at 102,400; the stored runs
    hold exactly that, and the module's docstring says it."""
    data, cfg = pp.load(), acn.train.preset(pp.PRESET)
    rollout = cfg.n_envs * cfg.n_steps
    budget = -(-data["total_steps"] // rollout) * rollout          # whole rollouts: 25 x 4,096
    per_env = budget // cfg.n_envs
    engine = cfg.n_envs * (per_env // 201), cfg.n_envs * ((per_env // 201) * 201 - 1)
    sb3 = cfg.n_envs * (per_env // 200), budget
    assert (budget, per_env, engine, sb3) == (102_400, 25_600, (508, 102_104), (512, 102_400))
    assert {(r["episodes"], r["last_end"]) for r in data["runs"]["engine"]} == {engine}
    assert {(r["episodes"], r["last_end"]) for r in data["runs"]["sb3"]} == {sb3}
    doc = " ".join(pp.__doc__.split())
    for said in ("NEXT_STEP", "201 of its env steps", "127 episodes per env, 508", "102,104", "512"):
        assert said in doc, said


@pytest.mark.slow
def test_a_stored_engine_seed_starts_as_its_single_run_trained_now():
    """Seed 0 of the stored population, trained again now as a single run for its first three
    rollouts (two updates of 10 epochs; a member follows its single run bit for bit,
    tests/test_epochs.py): the same first 60 episodes, to the stored two decimals. The whole
    run is not retrained here (46 s); it was equal to the last bit when the runs were stored,
    once the env's squares were the C pow on every CPU (acnotes/pendulum.py's _square: numpy's
    vectorised pow on an AVX-512 machine had moved each seed's final return by a median of 6)."""
    stored = pp.load()["runs"]["engine"][0]
    cfg = acn.train.preset(pp.PRESET, seed=stored["seed"])
    steps = 3 * cfg.n_envs * cfg.n_steps          # the preset does not anneal: a shorter budget is the same start
    _, h = acn.train.train(cfg.replace(total_steps=steps), progress=False)
    assert len(h.episode_returns) == len(stored["first_returns"]) == pp.FIRST_EPISODES
    assert [round(r, 2) for r in h.episode_returns] == stored["first_returns"]


def test_table_header_names_the_threshold_it_counts_with(monkeypatch):
    """The table's "final >= R" column says the bar that ``summarize`` counts with
    (``PENDULUM_SOLVED``, written once), not a number of its own."""
    runs = [_run(0, [-180.0] * 100, 1.0), _run(1, [-160.0] * 100, 1.0)]
    monkeypatch.setattr(pp, "PENDULUM_SOLVED", -170.0)
    text = pp.table(dict(runs=dict(engine=runs)))
    assert "final >= -170" in text and "1 of 2" in text and "-200" not in text
