"""PPO (notebook 12): the surrogate's maths on exact MDPs (acnotes/ppo.py), the pieces of the
reference file (acnotes/reference/ppo.py), and the stored CartPole runs (acnotes/stored/ppo.py).

Every check compares with an independent route: autograd through the exact J (a linear
solve) for the surrogate's gradient, sums by hand for the clipped term and GAE,
``acnotes.returns.gae`` for the reference file's GAE, sampling for the estimators' means.
"""

import json
import math

import numpy as np
import pytest
import torch

import acnotes as acn
from acnotes import ppo
from acnotes.__main__ import main
from acnotes.reference import ppo as ppo_file
from acnotes.stored import ppo as stored
from acnotes.variance import gradient_stats

MDPS = [acn.envs.random_mdp(5, 3, gamma=0.9, seed=0), acn.envs.random_mdp(4, 2, gamma=0.8, n_features=3, seed=1),
        acn.envs.two_state(gamma=0.9), ppo.lookalike()]


def _theta(mdp, seed):
    return torch.randn(mdp.n_features, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- exact maths
@pytest.mark.parametrize("mdp", MDPS, ids=lambda m: m.name)
@pytest.mark.parametrize("clip_eps", [None, 0.2])
def test_surrogate_is_zero_at_theta_old_with_the_policy_gradient_as_its_gradient(mdp, clip_eps):
    theta = _theta(mdp, 3)
    assert abs(float(ppo.surrogate(mdp, theta, theta, clip_eps))) < 1e-12
    g = ppo.surrogate_gradient(mdp, theta, theta, clip_eps)
    exact = mdp.autograd_gradient(theta)                    # autograd through J's linear solve
    assert exact.norm() > 0.01 and torch.allclose(g, exact, atol=1e-10, rtol=0)


@pytest.mark.parametrize("mdp", MDPS, ids=lambda m: m.name)
def test_performance_difference_lemma_and_the_surrogate_leaves_out_the_new_visits(mdp):
    theta_old = _theta(mdp, 3)
    theta = theta_old + 1.5 * _theta(mdp, 4)
    gain = mdp.J(theta) - mdp.J(theta_old)
    assert abs(float(ppo.performance_difference(mdp, theta, theta_old) - gain)) < 1e-10
    assert abs(float(ppo.surrogate(mdp, theta, theta_old) - gain)) > 1e-3     # L alone is not the truth


def test_surrogate_is_first_order_in_the_step():
    mdp, theta_old = MDPS[0], _theta(MDPS[0], 1)
    direction = _theta(mdp, 2)
    gap = [abs(float(mdp.J(theta_old + h * direction) - mdp.J(theta_old) - ppo.surrogate(mdp, theta_old + h * direction,
                                                                                         theta_old)))
           for h in (0.2, 0.1, 0.05)]
    assert all(3.0 < a / b < 5.0 for a, b in zip(gap, gap[1:])), gap


@pytest.mark.parametrize("rho, adv, value, slope", [
    (1.5, 2.0, 2.4, 0.0),    # A > 0, ratio past 1 + eps: clipped, no pull
    (1.5, -2.0, -3.0, -2.0),  # A < 0, ratio past 1 + eps: the worse term is kept, with its gradient
    (0.5, 2.0, 1.0, 2.0),    # A > 0, ratio below 1 - eps: kept
    (0.5, -2.0, -1.6, 0.0),  # A < 0, ratio below 1 - eps: clipped
    (1.1, 2.0, 2.2, 2.0),    # inside [0.8, 1.2]: rho A
])
def test_clipped_term_by_hand(rho, adv, value, slope):
    for fn in (lambda r, a: ppo.clipped(r, a, 0.2),
               lambda r, a: ppo_file.clipped_surrogate(torch.log(r), torch.zeros_like(r), a, 0.2)):
        r = torch.tensor(rho, dtype=torch.float64, requires_grad=True)
        out = fn(r, torch.tensor(adv, dtype=torch.float64))
        (g,) = torch.autograd.grad(out, r)
        assert float(out.detach()) == pytest.approx(value, abs=1e-12) and float(g) == pytest.approx(slope, abs=1e-12)
    assert float(ppo.clipped(torch.tensor(1.5), torch.tensor(2.0), None)) == pytest.approx(3.0)


def test_lookalike_J_by_hand():
    mdp = ppo.lookalike(gamma=0.9, cost=3.0)
    for p in (0.05, 0.3, 0.9):
        theta = torch.tensor([0.0, math.log(p / (1 - p))], dtype=torch.float64)
        assert float(mdp.J(theta)) == pytest.approx(p * (1 + 0.9 * ((1 - p) - 3 * p)), abs=1e-12)
    with pytest.raises(ValueError, match="cost"):
        ppo.lookalike(cost=float("nan"))


def test_kl_is_zero_at_theta_old_and_by_hand_on_the_lookalike():
    mdp = ppo.lookalike(gamma=0.9)
    p, q = 0.1, 0.4
    th = [torch.tensor([0.0, math.log(x / (1 - x))], dtype=torch.float64) for x in (p, q)]
    by_hand = p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))   # the same in both states
    assert ppo.kl(mdp, th[0], th[0]) == 0.0 and ppo.kl(mdp, th[0], th[1]) == pytest.approx(by_hand, abs=1e-12)


# ----------------------------------------------------------------------------- sampled estimators
def test_ratio_estimator_is_the_gradient_of_the_batch_surrogate():
    """The closed-form score route (tabular_gradients) against autograd through batch_surrogate."""
    mdp = MDPS[1]
    theta_old, theta = _theta(mdp, 1), _theta(mdp, 1) + 0.5 * _theta(mdp, 2)
    eps = mdp.sample_episodes(theta_old, 8, torch.Generator().manual_seed(0))
    g = ppo.off_policy_gradients(mdp, theta, theta_old, eps, B=8, weighting="ratio")[0]
    th = theta.clone().requires_grad_(True)
    adv = mdp.advantage(theta_old)[eps["s"], eps["a"]]
    (auto,) = torch.autograd.grad(ppo.batch_surrogate(mdp, th, theta_old, eps, adv), th)
    assert torch.allclose(g, auto, atol=1e-12, rtol=0)


def test_ratio_estimator_means_grad_L_and_the_whole_episode_ratio_is_unbiased():
    mdp = MDPS[0]
    theta_old = _theta(mdp, 1)
    theta = theta_old + 2.0 * mdp.autograd_gradient(theta_old) / mdp.autograd_gradient(theta_old).norm()
    K, B = 400, 16
    eps = mdp.sample_episodes(theta_old, K * B, torch.Generator().manual_seed(0))
    ratio = ppo.off_policy_gradients(mdp, theta, theta_old, eps, B, "ratio")
    whole = ppo.off_policy_gradients(mdp, theta, theta_old, eps, B, "trajectory")
    grad_J, grad_L = mdp.autograd_gradient(theta), ppo.surrogate_gradient(mdp, theta, theta_old)
    assert gradient_stats(ratio, grad_L)["bias_p"] > 1e-3
    assert gradient_stats(ratio, grad_J)["bias_p"] < 1e-6
    assert gradient_stats(whole, grad_J)["bias_p"] > 1e-3
    with pytest.raises(ValueError, match="weighting"):
        ppo.off_policy_gradients(mdp, theta, theta_old, eps, B, "per-step")


# ----------------------------------------------------------------------------- epochs on one batch
def _lookalike_batch(seed=0):
    mdp = ppo.lookalike(gamma=0.9, cost=3.0)
    theta_old = torch.tensor([0.0, math.log(0.1 / 0.9)], dtype=torch.float64)
    batch = mdp.sample_episodes(theta_old, 16, torch.Generator().manual_seed(seed))
    return mdp, theta_old, batch, mdp.advantage(theta_old)[batch["s"], batch["a"]]


def test_epochs_record_what_the_public_functions_compute():
    mdp, theta_old, batch, adv = _lookalike_batch()
    run = ppo.epochs(mdp, theta_old, batch, adv, n_epochs=3, lr=0.5, optimizer="sgd")
    assert run["theta"].shape == (4, 2) and torch.equal(run["theta"][0], theta_old)
    for k, th in enumerate(run["theta"]):
        assert float(run["expected"][k]) == pytest.approx(float(ppo.surrogate(mdp, th, theta_old)), abs=1e-12)
        assert float(run["kl"][k]) == pytest.approx(ppo.kl(mdp, theta_old, th), abs=1e-12)
        assert float(run["gain"][k]) == pytest.approx(float(mdp.J(th) - mdp.J(theta_old)), abs=1e-12)
        assert float(run["promise"][k]) == pytest.approx(float(ppo.batch_surrogate(mdp, th, theta_old, batch, adv)), abs=1e-12)
    short = ppo.epochs(mdp, theta_old, batch, adv, n_epochs=3, lr=0.5, optimizer="sgd", every=False)
    assert torch.equal(short["theta"], run["theta"][[0, -1]])
    with pytest.raises(ValueError, match="optimizer"):
        ppo.epochs(mdp, theta_old, batch, adv, n_epochs=1, lr=0.5, optimizer="rmsprop")


def test_many_epochs_without_clipping_lower_J_and_clipping_keeps_a_gain():
    mdp, theta_old, batch, adv = _lookalike_batch()
    free = ppo.epochs(mdp, theta_old, batch, adv, n_epochs=30, lr=2.0, optimizer="sgd")
    clip = ppo.epochs(mdp, theta_old, batch, adv, n_epochs=30, lr=2.0, clip_eps=0.2, optimizer="sgd")
    assert (free["promise"].diff() > 0).all() and free["gain"][-1] < -1.0 < 0 < free["promise"][-1]
    assert clip["gain"][-1] > 0.05


# ----------------------------------------------------------------------------- the reference file's pieces
@pytest.mark.parametrize("end", ["terminated", "truncated", "neither"])
def test_reference_gae_bootstraps_at_a_truncation_and_not_at_a_termination(end):
    R = torch.tensor([[1.0], [2.0], [3.0]])
    V = torch.tensor([[0.5], [0.25], [1.0]])
    V_next = torch.tensor([[0.25], [4.0], [2.0]])             # V(s_2) = 4 after step 1, whatever ends there
    term = torch.tensor([[False], [end == "terminated"], [False]])
    trunc = torch.tensor([[False], [end == "truncated"], [False]])
    gamma, lam = 0.9, 0.8
    got = ppo_file.gae(R, V, V_next, term, trunc, gamma, lam)
    assert torch.allclose(got, acn.returns.gae(R, V, V_next, term, trunc, gamma, lam), atol=1e-6)
    # by hand, at step 1
    d1 = 2.0 + (0.0 if end == "terminated" else gamma * 4.0) - 0.25
    a2 = 3.0 + gamma * 2.0 - 1.0
    expected_1 = d1 + (0.0 if end != "neither" else gamma * lam * a2)
    assert float(got[1, 0]) == pytest.approx(expected_1, abs=1e-5)


def test_reference_masks_the_autoreset_step_and_sees_truncations(monkeypatch):
    """CartPole cut at 20 steps: gae sees truncations (not terminations) at the cuts, and the
    step after any end (gymnasium's NEXT_STEP reset, which ignores the action) has no reward
    and no end: it is masked. Every episode's return counts its own steps only."""
    make_vec, seen = ppo_file.gym.make_vec, []
    monkeypatch.setattr(ppo_file.gym, "make_vec", lambda *a, **k: make_vec(*a, max_episode_steps=20, **k))
    gae, surrogate, rows = ppo_file.gae, ppo_file.clipped_surrogate, []
    monkeypatch.setattr(ppo_file, "gae", lambda R, V, V_next, term, trunc, *a: seen.append((R, term, trunc)) or
                        gae(R, V, V_next, term, trunc, *a))
    monkeypatch.setattr(ppo_file, "clipped_surrogate", lambda log_pi, *a: rows.append(len(log_pi)) or surrogate(log_pi, *a))
    returns, ends = ppo_file.train(total_steps=2_000, seed=0, n_envs=4, n_steps=16, n_epochs=2)
    assert max(returns) == 20 and min(returns) >= 1 and np.all(np.diff(ends) >= 0)
    # one minibatch per epoch (64 steps per batch): the losses see every step but the reset steps,
    # one after every end except the ends at the run's last step
    taken = 32 * 64
    assert sum(rows) / 2 == taken - sum(e < taken for e in ends)
    cuts = 0
    for R, term, trunc in seen:
        ended = term | trunc
        assert (R[1:][ended[:-1]] == 0).all() and not (ended[1:] & ended[:-1]).any()
        cuts += int(trunc.sum())                      # a pole that falls at the cut: both flags
    assert cuts == sum(r == 20 for r in returns) > 0


# ----------------------------------------------------------------------------- stored runs
def test_stored_runs_cover_every_seed_of_the_three_implementations():
    data = stored.load()
    assert data["seeds"] == list(stored.SEEDS) and data["total_steps"] == stored.TOTAL_STEPS
    assert sorted(data["runs"]) == ["engine", "reference", "sb3"] and data["sb3"] == stored.SB3_SETTINGS
    for name, runs in data["runs"].items():
        assert [r["seed"] for r in runs] == list(stored.SEEDS), name
        for r in runs:
            steps, rets = np.asarray(r["episode_steps"]), np.asarray(r["episode_returns"])
            assert r["status"] == "done" and len(steps) == len(rets) > 100 and r["seconds"] > 0
            assert (np.diff(steps) >= 0).all() and steps[-1] <= stored.TOTAL_STEPS + 8 * 32
            assert ((rets >= 1) & (rets <= 500)).all()


def test_summary_by_hand():
    solved = [500.0] * 100                                     # its mean over 100 episodes reaches 475 at once
    runs = {"reference": [dict(seed=0, status="done", seconds=4.0, episode_returns=[10.0] + solved,
                               episode_steps=list(range(10, 1020, 10))),
                          dict(seed=1, status="done", seconds=6.0, episode_returns=[20.0] * 101,
                               episode_steps=list(range(10, 1020, 10)))],
            "sb3": [dict(seed=0, status="done", seconds=10.0, episode_returns=solved, episode_steps=list(range(5, 505, 5))),
                    dict(seed=1, status="done", seconds=10.0, episode_returns=solved, episode_steps=list(range(7, 707, 7)))]}
    s = stored.summarize(dict(runs=runs))
    assert s["reference"]["solved"] == 1 and s["reference"]["median_steps"] == 1000   # (10 + 99 x 500) / 100 >= 475
    assert s["reference"]["median_final"] == pytest.approx((500.0 + 20.0) / 2)
    assert s["reference"]["time_ratio"] == pytest.approx(5.0 / 10.0)
    assert s["sb3"]["solved"] == 2 and s["sb3"]["median_steps"] == pytest.approx((500 + 700) / 2)
    assert s["reference"]["steps_ratio"] == pytest.approx(1000 / 600)
    assert "1 of 2" in stored.table(dict(runs=runs))


@pytest.mark.slow
def test_a_stored_run_starts_as_a_run_trained_now():
    """Seed 1 of the stored reference runs, its first 5,000 env steps trained again (with the
    schedules of the whole run): the same episodes with the same returns."""
    run = next(r for r in stored.load()["runs"]["reference"] if r["seed"] == 1)
    torch.set_num_threads(1)
    returns, ends = ppo_file.train(total_steps=5_000, seed=1, anneal_over=stored.TOTAL_STEPS)
    n = len(returns)
    assert n > 50 and returns == run["episode_returns"][:n] and ends == run["episode_steps"][:n]


def test_the_side_by_side_has_the_engines_runs_equal_to_the_reference_files():
    """benchmarks/ppo_cartpole.py's three columns: the engine's ppo preset beside the reference
    file gives the same episodes (tests/test_reference.py: over runs of 5,000 env steps)."""
    data = stored.compute([0, 1], 1_500, peer=False, engine=True, log=None)
    assert list(data["runs"]) == ["engine", "reference"]
    for ours, ref in zip(data["runs"]["engine"], data["runs"]["reference"]):
        assert len(ours["episode_returns"]) > 20
        assert ours["episode_returns"] == ref["episode_returns"] and ours["episode_steps"] == ref["episode_steps"]
    assert data["runs"]["engine"][0]["episode_returns"] != data["runs"]["engine"][1]["episode_returns"]
    assert "engine's ppo preset" in stored.table(data)


def test_command_writes_runs_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "p.json"
    assert main(["pporuns", "--out", str(out), "--steps", "300", "--seeds", "3", "--no-peer", "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert data["seeds"] == [3] and list(data["runs"]) == ["engine", "reference"] and data["total_steps"] == 300 and data["sb3"] is None
    assert data["runs"]["reference"][0]["episode_steps"][-1] <= 300 + 8 * 32   # the last rollout is whole
    before = out.read_text()
    with pytest.raises(SystemExit) as stop:
        main(["pporuns", "--out", str(out), "--steps", "300", "--no-peer"])
    assert stop.value.code == 2 and "--force" in capsys.readouterr().err and out.read_text() == before
    with pytest.raises(SystemExit) as stop:
        main(["pporuns", "--out", str(tmp_path / "q.json"), "--steps", "0"])
    assert stop.value.code == 2 and not (tmp_path / "q.json").exists()


def test_command_without_sb3_says_what_to_do(tmp_path, capsys, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "stable_baselines3" else real(name, *a))
    with pytest.raises(SystemExit) as stop:
        main(["pporuns", "--out", str(tmp_path / "p.json"), "--steps", "300", "--seeds", "0"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--no-peer" in err and not (tmp_path / "p.json").exists()


# ----------------------------------------------------------------------------- the ppo preset over 50 seeds
def test_preset_summary_by_hand():
    solved = [500.0] * 100
    runs = [dict(seed=0, status="target reached", seconds=1.0, episode_returns=[10.0] + solved,
                 episode_steps=list(range(10, 1020, 10))),
            dict(seed=4, status="done", seconds=1.0, episode_returns=[20.0] * 101, episode_steps=list(range(10, 1020, 10))),
            dict(seed=7, status="target reached", seconds=1.0, episode_returns=solved, episode_steps=list(range(5, 505, 5)))]
    s = stored.preset_summary(dict(runs=runs))
    assert s == dict(solved=2, n=3, median_steps=pytest.approx((1000 + 500) / 2), worst_steps=1000, unsolved=[4])


def test_stored_preset_population_covers_its_seeds():
    data = stored.load_preset()
    assert data["seeds"] == list(stored.PRESET_SEEDS) and data["total_steps"] == stored.PRESET_STEPS
    # a file stored before Config's later fields (env, log_std_init) reads with their defaults
    assert acn.train.Config.from_dict(data["config"]) == acn.train.preset("ppo", total_steps=stored.PRESET_STEPS)
    assert [r["seed"] for r in data["runs"]] == list(stored.PRESET_SEEDS)
    for r in data["runs"]:
        assert r["status"] in ("target reached", "done") and len(r["episode_returns"]) > 100
        assert r["episode_steps"][-1] <= stored.PRESET_STEPS + 8 * 32


@pytest.mark.slow
def test_a_stored_preset_member_is_its_single_run_trained_now():
    """The member that solved first, trained again now as a single run (a member follows its
    single run bit for bit, tests/test_epochs.py): the same episodes, solved at the same step."""
    data = stored.load_preset()
    first = min(data["runs"], key=lambda r: stored.history(r).solved_at(475, 100)[0])
    cfg = acn.train.preset("ppo", seed=first["seed"], total_steps=data["total_steps"], target_return=475.0)
    _, h = acn.train.train(cfg, progress=False)
    assert h.status == "target reached" == first["status"]
    assert h.episode_returns == first["episode_returns"] and h.episode_steps == first["episode_steps"]


def test_preset_command_writes_a_population(tmp_path):
    out = tmp_path / "p.json"
    assert main(["pporuns", "--preset", "--out", str(out), "--steps", "600", "--seeds", "2", "5", "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert data["seeds"] == [2, 5] and data["total_steps"] == 600 and data["config"]["epochs"] == 20
    single = acn.train.train(acn.train.preset("ppo", seed=5, total_steps=600, target_return=475.0), progress=False)[1]
    assert data["runs"][1]["episode_returns"] == single.episode_returns != data["runs"][0]["episode_returns"]


@pytest.mark.parametrize("preset, want", [(True, (list(stored.PRESET_SEEDS), stored.PRESET_STEPS)),
                                          (False, (list(range(10)), 100_000))])
def test_pporuns_defaults_are_those_of_its_stored_file(tmp_path, monkeypatch, preset, want):
    """Without --steps and --seeds, ``pporuns --preset`` trains what acnotes/data/ppo-preset.json
    holds (seeds 0-49, 300k env steps), and ``pporuns`` what ppo-cartpole.json holds."""
    seen = []
    fake = {"runs": {}, "seeds": []}
    monkeypatch.setattr(stored, "compute_preset", lambda seeds, steps, log=None: seen.append((list(seeds), steps)) or {"runs": []})
    monkeypatch.setattr(stored, "compute", lambda seeds, steps, peer=True, log=None, engine=False: seen.append((list(seeds), steps)) or fake)
    assert main(["pporuns", "--out", str(tmp_path / "p.json"), "--quiet"] + (["--preset"] if preset else [])) == 0
    assert seen == [want]


@pytest.mark.parametrize("flag, engine", [([], True), (["--no-engine"], False)])
def test_pporuns_trains_the_engine_beside_the_others_unless_told(tmp_path, monkeypatch, flag, engine):
    """ppo-cartpole.json holds the engine's single runs beside the reference's and SB3's, so
    the command that made it trains all three by default."""
    seen = []
    monkeypatch.setattr(stored, "compute", lambda seeds, steps, peer=True, log=None, engine=False:
                        seen.append((peer, engine)) or {"runs": {}, "seeds": []})
    assert main(["pporuns", "--out", str(tmp_path / "p.json"), "--quiet"] + flag) == 0
    assert seen == [(True, engine)]


def test_stored_runs_hold_the_engine_beside_the_reference_and_sb3():
    """The engine's preset and the reference file give the same episodes for the same seed until
    float rounding parts them (tests/test_reference.py: over 5,000 env steps), so each stored
    engine run starts as its seed's reference run, and no two seeds start alike."""
    data = stored.load()
    assert list(data["runs"]) == ["engine", "reference", "sb3"]
    for name, runs in data["runs"].items():
        assert [r["seed"] for r in runs] == data["seeds"], name
    for ours, ref in zip(data["runs"]["engine"], data["runs"]["reference"]):
        assert ours["episode_returns"][:20] == ref["episode_returns"][:20]
    assert len({tuple(r["episode_returns"][:20]) for r in data["runs"]["engine"]}) == len(data["seeds"])


@pytest.mark.slow
def test_a_stored_engine_run_is_a_run_trained_now():
    """Seed 0 of the stored engine runs, trained again now (100,000 env steps, about 25 s)."""
    run = stored.load()["runs"]["engine"][0]
    torch.set_num_threads(1)
    again = stored.run_engine(run["seed"], stored.load()["total_steps"])
    assert again["episode_returns"] == run["episode_returns"] and again["episode_steps"] == run["episode_steps"]


def test_pporuns_preset_refuses_no_engine_before_training(tmp_path, monkeypatch, capsys):
    """``--preset`` trains only the engine's ppo preset, so ``--no-engine`` beside it contradicts
    it: refused by name (exit 2) before any training, not silently ignored."""
    monkeypatch.setattr(stored, "compute_preset", lambda *a, **k: pytest.fail("trained before refusing"))
    out = tmp_path / "p.json"
    with pytest.raises(SystemExit) as stop:
        main(["pporuns", "--preset", "--no-engine", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--no-engine" in err and "--preset" in err and not out.exists()
