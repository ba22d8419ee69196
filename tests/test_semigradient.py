"""TD(0)'s semi-gradient against the residual gradient; the entropy bonus; the undetached
critic target in training; the stored CartPole ablations of notebook 7."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import acnotes as acn
from acnotes.__main__ import main
from acnotes.stored import ablations as AB
from acnotes import entropy_bonus as EB
from acnotes import semigradient as SG


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def a_split() -> acn.envs.TabularMDP:
    """Sutton & Barto's Example 11.2: A goes to B or C with probability 1/2 each (reward 0);
    B pays 1 and ends, C pays 0 and ends; gamma = 1, one action."""
    P = torch.zeros(3, 1, 3, dtype=torch.float64)
    P[0, 0, 1] = P[0, 0, 2] = 0.5
    R = torch.tensor([[0.0], [1.0], [0.0]], dtype=torch.float64)
    return acn.envs.TabularMDP(P, R, torch.tensor([1.0, 0.0, 0.0]), 1.0, name="A-split")


def random_case():
    mdp = acn.envs.random_mdp(n_states=5, n_actions=3, gamma=0.9, p_end=0.1, seed=0)
    theta = torch.randn(mdp.n_features, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    return mdp, theta, mdp.policy(theta)


def test_a_split_fixed_points_are_the_hand_derived_ones():
    """By hand: TD(0) gives V = (1/2, 1, 0); the residual gradient minimises
    1/4 (V_B - V_A)^2 + 1/4 (V_C - V_A)^2 + 1/4 (1 - V_B)^2 + 1/4 V_C^2: (1/2, 3/4, 1/4)."""
    mdp = a_split()
    pi = torch.ones(3, 1, dtype=torch.float64)
    v_td, _ = SG.iterate(mdp, pi, "td")
    v_rg, _ = SG.iterate(mdp, pi, "residual")
    torch.testing.assert_close(v_td, torch.tensor([0.5, 1.0, 0.0], dtype=torch.float64), atol=1e-9, rtol=0)
    torch.testing.assert_close(v_rg, torch.tensor([0.5, 0.75, 0.25], dtype=torch.float64), atol=1e-9, rtol=0)


def test_td_converges_to_the_linear_solve_and_residual_to_the_minimum_of_the_mean_squared_error():
    mdp, _, pi = random_case()
    v_td, _ = SG.iterate(mdp, pi, "td")
    v_rg, _ = SG.iterate(mdp, pi, "residual")
    torch.testing.assert_close(v_td, mdp.V(pi), atol=1e-9, rtol=0)
    # the minimum of the quadratic L(v) by autograd: v* = -H^-1 grad L(0)
    v0 = torch.zeros(mdp.n_states, dtype=torch.float64, requires_grad=True)
    H = torch.autograd.functional.hessian(lambda v: SG.mean_squared_td_error(mdp, pi, v), v0.detach())
    (g,) = torch.autograd.grad(SG.mean_squared_td_error(mdp, pi, v0), v0)
    torch.testing.assert_close(v_rg, -torch.linalg.solve(H, g), atol=1e-8, rtol=0)
    assert (v_rg - mdp.V(pi)).abs().max() > 0.5           # a different point, far from V^pi
    assert SG.expected_td_error(mdp, pi, v_rg).abs().max() > 0.1


def test_expected_updates_are_minus_the_gradients():
    """Residual: minus the autograd gradient of L(v); TD: the same with v(s') held fixed."""
    mdp, _, pi = random_case()
    v = torch.randn(mdp.n_states, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    w = v.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(SG.mean_squared_td_error(mdp, pi, w), w)
    torch.testing.assert_close(SG.expected_update(mdp, pi, v, "residual"), -g, atol=1e-12, rtol=0)
    d = mdp.visitation(pi, discounted=False)
    P_pi = torch.einsum("sa,sat->st", pi, mdp.P)
    td = d * ((pi * mdp.R).sum(-1) + mdp.gamma * P_pi @ v - v)
    torch.testing.assert_close(SG.expected_update(mdp, pi, v, "td"), td, atol=1e-12, rtol=0)


def test_sampled_descent_lands_near_each_fixed_point():
    mdp, theta, pi = random_case()
    pool = SG.transitions(mdp, theta, 2000, torch.Generator().manual_seed(0))
    v_td, _ = SG.sampled(pool, mdp.n_states, mdp.gamma, detach_target=True)
    v_rg, _ = SG.sampled(pool, mdp.n_states, mdp.gamma, detach_target=False)
    exact_rg, _ = SG.iterate(mdp, pi, "residual")
    assert (v_td - mdp.V(pi)).abs().max() < 0.1
    assert (v_rg - exact_rg).abs().max() < 0.1
    assert (v_rg - mdp.V(pi)).abs().max() > 1.0


def test_bad_method_and_pi_are_named():
    mdp, _, pi = random_case()
    with pytest.raises(ValueError, match="method must be one of td, residual"):
        SG.iterate(mdp, pi, "full")
    with pytest.raises(ValueError, match=r"pi must have shape \[S, A\]"):
        SG.expected_update(mdp, pi[:2], torch.zeros(5), "td")


# --------------------------------------------------------------------------- entropy


def test_bonus_gradient_matches_autograd_and_finite_differences():
    mdp, theta, pi = random_case()
    b = EB.bonus_gradient(mdp, theta)
    d = mdp.visitation(pi, discounted=False)
    th = theta.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(EB.bonus_objective(mdp, th, d=d), th)
    eps = 1e-6
    fd = torch.stack([(EB.bonus_objective(mdp, theta + eps * e, d=d) - EB.bonus_objective(mdp, theta - eps * e, d=d))
                      / (2 * eps) for e in torch.eye(theta.numel(), dtype=torch.float64)])
    torch.testing.assert_close(b, auto, atol=1e-12, rtol=0)
    torch.testing.assert_close(b, fd, atol=1e-7, rtol=0)
    # with d moving with theta the gradient is another one: the bonus ignores where the states go
    moving = torch.stack([(EB.bonus_objective(mdp, theta + eps * e) - EB.bonus_objective(mdp, theta - eps * e))
                          / (2 * eps) for e in torch.eye(theta.numel(), dtype=torch.float64)])
    assert (moving - b).abs().max() > 1e-3


def test_bandit_ascent_ends_at_softmax_of_r_over_beta():
    r = torch.tensor([1.0, 0.5, -0.5], dtype=torch.float64)
    mdp = EB.bandit(r)
    for beta in (0.5, 2.0):
        theta = EB.ascend(mdp, torch.zeros(3, dtype=torch.float64), beta, lr=2.0, iters=400)
        torch.testing.assert_close(mdp.policy(theta)[0], torch.softmax(r / beta, -1), atol=1e-6, rtol=0)


def test_state_entropy_is_log_a_at_uniform_and_zero_when_deterministic():
    pi = torch.tensor([[1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(EB.state_entropy(pi), torch.tensor([np.log(3), 0.0], dtype=torch.float64))


# --------------------------------------------------------------------------- training


def _batch_and_model(algo):
    cfg = acn.train.preset("tdac", algo=algo, n_envs=4, n_steps=6, seed=0)
    model = acn.train.make_agent(cfg)
    col = acn.rollout.Collector(acn.envs.make_cartpole(cfg.n_envs), model.logits, seed=0)
    return cfg, model, col.steps(cfg.n_steps)


def _grads(model, loss):
    model.zero_grad()
    loss.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_undetached_target_changes_only_the_critic_gradient():
    cfg, model, batch = _batch_and_model("tdac")
    a1, c1, _ = acn.train.update_losses(model, cfg, batch)
    a2, c2, _ = acn.train.update_losses(model, cfg.replace(detach_target=False), batch)
    torch.testing.assert_close(c1, c2)                     # the same value...
    g1, g2 = _grads(model, c1), _grads(model, c2)
    assert any((g1[n] - g2[n]).abs().max() > 1e-6 for n in g1)   # ...another gradient
    # by hand: the residual gradient of mean 0.5 (y - v)^2 with y = r + gamma (1 - term) V(s')
    logits, v_all = model(torch.cat([batch.obs, batch.next_obs[-1:]]))
    T = batch.obs.shape[0]
    y = batch.rewards + cfg.gamma * (1 - batch.terminated.float()) * v_all[1:]
    err = torch.where(batch.valid, 0.5 * (y - v_all[:T]) ** 2, torch.zeros_like(y))
    hand = _grads(model, err.sum() / batch.valid.sum())
    for n in g2:
        torch.testing.assert_close(g2[n], hand[n], atol=1e-6, rtol=1e-5)
    ga1, ga2 = _grads(model, a1), _grads(model, a2)
    for n in ga1:
        torch.testing.assert_close(ga1[n], ga2[n])


@pytest.mark.parametrize("algo", ["qac", "a2c", "gae", "reinforce_baseline"])
def test_undetached_target_trains_every_critic(algo):
    _, h = acn.train.train(acn.train.preset("tdac", algo=algo, n_envs=4, total_steps=200, detach_target=False),
                           progress=False)
    assert h.status == "done" and len(h.critic_loss) > 0


def test_detach_target_is_validated_and_structural():
    with pytest.raises(ValueError, match="detach_target"):
        acn.Config(detach_target="no").validate()
    with pytest.raises(ValueError, match="must share detach_target"):
        acn.train.train_population([acn.Config(), acn.Config(detach_target=False)], progress=False)


# --------------------------------------------------------------------------- stored ablations


def test_stored_ablations_cover_their_studies():
    data = AB.load()
    assert set(data) == set(AB.STUDIES)
    for name, study in AB.STUDIES.items():
        assert [r["value"] for r in data[name]["runs"]] == list(study["values"])
        for run in data[name]["runs"]:
            assert [m["seed"] for m in run["members"]] == list(study["seeds"])
            for m in run["members"]:
                assert len(m["curve"]) == AB.POINTS and len(m["entropy"]) == AB.POINTS - 1
                assert 0 < m["final"] <= 500 and m["status"] == "done"


@pytest.mark.slow
def test_one_stored_setting_trained_again_gives_its_rows():
    """The detached target's 10 seeds, trained again as one population (about a minute),
    must give exactly their stored rows."""
    fresh = AB.compute(["target"], progress=False, values=[True], log=None)
    assert fresh["target"]["runs"][0]["members"] == AB.rows(AB.load(), "target", True)


def test_collapse_rule():
    assert AB.collapsed(dict(peak=300.0, last=100.0))
    assert not AB.collapsed(dict(peak=300.0, last=200.0)) and not AB.collapsed(dict(peak=120.0, last=10.0))


def test_command_refuses_to_overwrite_and_unknown_studies_are_named(tmp_path, capsys):
    out = tmp_path / "ablations.json"
    out.write_text("kept")
    with pytest.raises(SystemExit) as stop:
        main(["ablations", "--out", str(out)])
    assert stop.value.code == 2 and "--force" in capsys.readouterr().err and out.read_text() == "kept"
    with pytest.raises(ValueError, match="study must be one of target, entropy"):
        AB.compute(["lr"], progress=False, log=None)
    with pytest.raises(ValueError, match="has no setting 0.5"):
        AB.rows(AB.load(), "entropy", 0.5)
