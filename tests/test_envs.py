"""acnotes.envs: exact tabular solutions against their definitions and Monte Carlo, and the
vectorized CartPole factory."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from torch.testing import assert_close

from acnotes import envs

F64 = torch.float64



def rand_theta(mdp, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(mdp.n_features, generator=g, dtype=F64)


MDPS = {
    "short_corridor": lambda: envs.short_corridor(0.9),
    "two_state": lambda: envs.two_state(0.9),
    "random": lambda: envs.random_mdp(5, 3, gamma=0.9, seed=0),
    "random_features": lambda: envs.random_mdp(6, 3, gamma=0.8, n_features=4, seed=1),
}


@pytest.fixture(params=list(MDPS))
def mdp(request):
    return MDPS[request.param]()


# ----------------------------------------------------------------------------- exact values
def test_two_state_values_by_hand():
    mdp = envs.two_state(0.9)
    pi = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=F64)  # always action 0
    # V(0) = 1 + 0.9 * 0.9 * V(0);  V(1) = 2 (then terminate)
    assert_close(mdp.V(pi), torch.tensor([1 / (1 - 0.81), 2.0], dtype=F64))
    pi = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=F64)  # go to state 1, take the 2
    assert_close(mdp.V(pi), torch.tensor([0.9 * 2.0, 2.0], dtype=F64))
    assert_close(mdp.Q(pi), torch.tensor([[1 + 0.81 * 1.8, 1.8], [2.0, 0.5 + 0.72 * 2.0]], dtype=F64))


def test_V_solves_bellman_equation(mdp):
    pi = mdp.policy(rand_theta(mdp))
    V = mdp.V(pi)
    P_pi = torch.einsum("sa,sat->st", pi, mdp.P)
    r_pi = (pi * mdp.R).sum(-1)
    assert_close(V, r_pi + mdp.gamma * P_pi @ V)
    # theta and pi give the same answer
    assert_close(mdp.V(rand_theta(mdp)), V)


def test_Q_and_advantage(mdp):
    pi = mdp.policy(rand_theta(mdp))
    V, Q, A = mdp.V(pi), mdp.Q(pi), mdp.advantage(pi)
    assert Q.shape == (mdp.n_states, mdp.n_actions) == A.shape
    assert_close(Q, mdp.R + mdp.gamma * torch.einsum("sat,t->sa", mdp.P, V))
    assert_close((pi * Q).sum(-1), V)
    assert_close((pi * A).sum(-1), torch.zeros(mdp.n_states, dtype=F64))  # E_pi[A] = 0
    assert A.abs().max() > 1e-3  # not trivially zero


def test_J_is_mu_dot_V(mdp):
    theta = rand_theta(mdp)
    assert_close(mdp.J(theta), mdp.mu @ mdp.V(theta))


def test_discounted_visitation(mdp):
    pi = mdp.policy(rand_theta(mdp))
    d = mdp.visitation(pi)
    # J = sum_s d(s) r_pi(s), and d solves d = mu + gamma d P_pi
    P_pi = torch.einsum("sa,sat->st", pi, mdp.P)
    assert_close(d, mdp.mu + mdp.gamma * d @ P_pi)
    assert_close(d @ (pi * mdp.R).sum(-1), mdp.mu @ mdp.V(pi))
    if mdp.gamma < 1:
        assert float(d.sum()) <= 1 / (1 - mdp.gamma) + 1e-9


def test_visitation_gamma_one_is_expected_length_monte_carlo():
    """For gamma = 1, sum_s d(s) is the expected episode length. Monte Carlo with 2000
    episodes (seed 0) must agree within 4 standard errors."""
    mdp = envs.random_mdp(5, 3, gamma=1.0, p_end=0.2, seed=2)
    theta = rand_theta(mdp, seed=3)
    d = mdp.visitation(theta)
    ep = mdp.sample_episodes(theta, 2000, torch.Generator().manual_seed(0))
    lengths = ep["valid"].sum(0).double()
    assert not ep["truncated"].any()
    se = lengths.std() / math.sqrt(lengths.numel())
    assert abs(float(d.sum()) - float(lengths.mean())) < 4 * float(se)
    # with p_end = 0.2 after every step the length is geometric with mean 5
    assert_close(d.sum(), torch.tensor(5.0, dtype=F64))
    # per-state counts too
    visits = torch.stack([((ep["s"] == s) & ep["valid"]).sum(0) for s in range(mdp.n_states)]).double()
    se_s = visits.std(1) / math.sqrt(visits.shape[1])
    assert ((visits.mean(1) - d).abs() < 4 * se_s + 1e-9).all()


def test_undiscounted_visitation_ignores_gamma():
    mdp = envs.random_mdp(4, 2, gamma=0.7, seed=0)
    theta = rand_theta(mdp)
    assert_close(mdp.visitation(theta, discounted=False), mdp.with_gamma(1.0).visitation(theta))


def test_gamma_one_never_terminating_raises():
    P = torch.zeros(2, 1, 2, dtype=F64)
    P[0, 0, 1] = P[1, 0, 0] = 1.0
    mdp = envs.TabularMDP(P, torch.ones(2, 1), torch.tensor([1.0, 0.0]), gamma=1.0)
    with pytest.raises(ValueError, match="gamma"):
        mdp.V(torch.zeros(mdp.n_features))
    assert_close(mdp.with_gamma(0.5).V(torch.zeros(mdp.n_features)), torch.full((2,), 2.0, dtype=F64))


# ----------------------------------------------------------------------------- gradients
def test_score_is_grad_log_pi():
    mdp = envs.random_mdp(3, 3, n_features=4, seed=5)
    theta = rand_theta(mdp).requires_grad_(True)
    score = mdp.score(theta.detach())
    for s in range(mdp.n_states):
        for a in range(mdp.n_actions):
            (g,) = torch.autograd.grad(torch.log(mdp.policy(theta)[s, a]), theta)
            assert_close(score[s, a], g)


@pytest.mark.parametrize("seed", [0, 1])
def test_policy_gradient_matches_autograd(mdp, seed):
    theta = rand_theta(mdp, seed=seed)
    pg = mdp.policy_gradient(theta)
    ag = mdp.autograd_gradient(theta)
    assert pg.shape == (mdp.n_features,)
    assert ag.norm() > 1e-4
    assert_close(pg, ag, rtol=1e-8, atol=1e-10)


def test_policy_gradient_matches_finite_differences():
    mdp = envs.short_corridor(0.9)
    theta = torch.tensor([0.3, -0.2], dtype=F64)
    eps = 1e-6
    fd = torch.stack([(mdp.J(theta + eps * e) - mdp.J(theta - eps * e)) / (2 * eps) for e in torch.eye(2, dtype=F64)])
    assert_close(mdp.policy_gradient(theta), fd, rtol=1e-6, atol=1e-8)


def test_undiscounted_gradient_differs_when_gamma_below_one(mdp):
    theta = rand_theta(mdp)
    g, u = mdp.policy_gradient(theta), mdp.policy_gradient(theta, discounted=False)
    assert (g - u).norm() > 1e-3 * g.norm()
    one = mdp.with_gamma(1.0)
    assert_close(one.policy_gradient(theta), one.policy_gradient(theta, discounted=False))


def _right(p):
    """theta of the short corridor giving probability p of 'right' in every state."""
    return torch.tensor([0.0, math.log(p / (1 - p))], dtype=F64)


def test_short_corridor_by_hand():
    """S&B Example 13.1 (gamma = 1): J(p) = -(4 - 2p) / (p (1 - p)), maximal at
    p* = 2 - sqrt(2) ~ 0.586 with J(p*) ~ -11.66, where the exact gradient vanishes."""
    mdp = envs.short_corridor(1.0)
    for p in (0.2, 0.5, 0.8):
        assert_close(mdp.J(_right(p)), torch.tensor(-(4 - 2 * p) / (p * (1 - p)), dtype=F64))
    p_star = 2 - math.sqrt(2)
    assert_close(mdp.J(_right(p_star)), torch.tensor(-11.656854249, dtype=F64))
    assert mdp.policy_gradient(_right(p_star)).abs().max() < 1e-9
    assert mdp.policy_gradient(_right(0.5))[1] > 0.1  # more 'right' is better at 0.5


# ----------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("name", ["two_state", "random_features"])
def test_sample_episodes_monte_carlo_J(name):
    """Mean discounted return of 2000 sampled episodes (seed 0) is within 4 standard
    errors of the exact J."""
    mdp = MDPS[name]()
    theta = rand_theta(mdp, seed=4)
    ep = mdp.sample_episodes(theta, 2000, torch.Generator().manual_seed(0))
    T, n = ep["r"].shape
    for k in ("s", "a", "r", "terminated", "truncated", "s_next", "valid", "t"):
        assert ep[k].shape == (T, n), k
    disc = mdp.gamma ** ep["t"].double()
    G = (disc * ep["r"] * ep["valid"]).sum(0)
    se = G.std() / math.sqrt(n)
    assert abs(float(G.mean() - mdp.J(theta))) < 4 * float(se)


def test_sample_episodes_structure():
    mdp = envs.two_state(0.9)
    ep = mdp.sample_episodes(torch.zeros(mdp.n_features, dtype=F64), 200, torch.Generator().manual_seed(1))
    valid, term, trunc = ep["valid"], ep["terminated"], ep["truncated"]
    # each episode: a valid prefix ending in exactly one termination
    assert (term.sum(0) == 1).all() and not trunc.any()
    assert (term <= valid).all()
    length = valid.sum(0)
    assert (valid == (torch.arange(valid.shape[0])[:, None] < length)).all()
    assert (ep["r"][~valid] == 0).all()
    # s_next[t] = s[t+1] while the episode runs
    cont = valid[:-1] & ~term[:-1]
    assert (ep["s_next"][:-1][cont] == ep["s"][1:][cont]).all()
    assert (ep["s"][0] == 0).all()  # mu = [1, 0]


def test_sample_episodes_truncates_at_max_steps():
    mdp = envs.two_state(0.9)
    ep = mdp.sample_episodes(torch.zeros(mdp.n_features, dtype=F64), 300, torch.Generator().manual_seed(0), max_steps=3)
    assert ep["r"].shape[0] == 3
    ended = ep["terminated"] | ep["truncated"]
    assert (ended.sum(0) == 1).all()
    assert ep["truncated"].any()
    assert not (ep["terminated"] & ep["truncated"]).any()
    assert (ep["truncated"][:2] == False).all()  # noqa: E712


def test_sample_episodes_reproducible():
    mdp = envs.random_mdp(seed=0)
    theta = rand_theta(mdp)
    a = mdp.sample_episodes(theta, 50, torch.Generator().manual_seed(7))
    b = mdp.sample_episodes(theta, 50, torch.Generator().manual_seed(7))
    for k in a:
        assert torch.equal(a[k], b[k]), k


# ----------------------------------------------------------------------------- validation
def _parts():
    mdp = envs.two_state(0.9)
    return mdp.P.clone(), mdp.R.clone(), mdp.mu.clone()


@pytest.mark.parametrize("gamma", [-0.1, 1.5, float("nan")])
def test_bad_gamma(gamma):
    P, R, mu = _parts()
    with pytest.raises(ValueError, match="gamma"):
        envs.TabularMDP(P, R, mu, gamma)


def test_bad_P():
    P, R, mu = _parts()
    for bad in (P[:, :, :1], -P, 2 * P + 0.1, P.clone().fill_(float("nan"))):
        with pytest.raises(ValueError, match="P"):
            envs.TabularMDP(bad, R, mu, 0.9)


def test_bad_mu():
    P, R, mu = _parts()
    for bad in (torch.tensor([0.5, 0.4], dtype=F64), torch.tensor([1.5, -0.5], dtype=F64),
                torch.tensor([1.0], dtype=F64), torch.tensor([float("nan"), 1.0], dtype=F64)):
        with pytest.raises(ValueError, match="mu"):
            envs.TabularMDP(P, R, bad, 0.9)


def test_bad_features_and_p_end():
    P, R, mu = _parts()
    with pytest.raises(ValueError, match="features"):
        envs.TabularMDP(P, R, mu, 0.9, features=torch.zeros(3, 2, 4))
    with pytest.raises(ValueError, match="p_end"):
        envs.random_mdp(p_end=0.0)


def test_default_features_are_one_hot():
    mdp = envs.two_state()
    assert mdp.features.shape == (2, 2, 4)
    assert_close(mdp.features.reshape(4, 4), torch.eye(4, dtype=F64))
    assert_close(mdp.policy(torch.zeros(4)), torch.full((2, 2), 0.5, dtype=F64))


# ----------------------------------------------------------------------------- CartPole
def test_make_cartpole():
    env = envs.make_cartpole(3)
    try:
        assert env.num_envs == 3
        assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
        obs, _ = env.reset(seed=0)
        assert obs.shape == (3, 4) and obs.dtype == np.float32
        obs, r, term, trunc, _ = env.step(np.array([0, 1, 0]))
        assert obs.shape == (3, 4) and r.shape == term.shape == trunc.shape == (3,)
    finally:
        env.close()


def test_make_cartpole_max_episode_steps():
    env = envs.make_cartpole(2, max_episode_steps=7)
    try:
        env.reset(seed=0)
        for k in range(7):
            _, _, term, trunc, _ = env.step(np.array([0, 1]))
        assert trunc.all() and not term.any()  # 7 steps: no fall yet, cut off
    finally:
        env.close()


@pytest.mark.parametrize("n", [0, -2, 2.5])
def test_make_cartpole_bad_num_envs(n):
    with pytest.raises(ValueError, match="num_envs"):
        envs.make_cartpole(n)
