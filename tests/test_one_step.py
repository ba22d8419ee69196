"""Sutton & Barto's one-step actor-critic (``acnotes/reference/one_step_ac.py``, ``acnotes.one_step``).

- Many runs at once compute, run by run, exactly what the one-run loop computes.
- The traces box with both lambdas 0 is the one-step box, number for number.
- The expected update of one episode, enumerated, with the exact critic w = v_pi: with I it
  is the gradient of J (autograd through the exact J, an independent route) to 1e-10; without
  I it is the policy gradient with undiscounted visits, ``policy_gradient(discounted=False)``,
  and not the gradient of J; the critic's expected update vanishes there (the TD fixed point),
  and elsewhere it is the TD(0) direction computed by linear algebra.
- Each of the classic mistakes (I dropped, I moved one step early, delta's sign, the critic's
  target not detached, i.e. the residual gradient) makes one of these checks fail.
- With traces, sampled episodes at fixed theta and w = v_pi average to the same vectors.
"""

import math

import numpy as np
import pytest
import torch

import acnotes as acn
from acnotes import one_step
from acnotes.reference import one_step_ac as ref
from acnotes.reference.one_step_ac import col


def mdps():
    return {"random 5x3": acn.envs.random_mdp(5, 3, gamma=0.9, p_end=0.1, seed=0),
            "random features": acn.envs.random_mdp(4, 3, gamma=0.8, p_end=0.2, n_features=5, seed=3),
            "early prize": acn.envs.early_prize(gamma=0.9)}


def theta_of(mdp, seed=1):
    return torch.randn(mdp.n_features, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def td_direction(mdp, theta, w):
    """The expected TD(0) update of a tabular critic over one episode, by linear algebra:
    sum_s d_1(s) x(s) (r_pi(s) + gamma sum_s' P_pi(s, s') w(s') - w(s))."""
    pi = mdp.policy(theta)
    P_pi, r_pi = torch.einsum("sa,sat->st", pi, mdp.P), (pi * mdp.R).sum(-1)
    w = torch.as_tensor(w, dtype=torch.float64)
    return (mdp.visitation(pi, discounted=False) * (r_pi + mdp.gamma * P_pi @ w - w)).numpy()


def errors(mdp, theta):
    """Max differences: (E[actor update] with I - grad J, E[actor update] without I - g_1, both
    with the exact critic w = v_pi; E[critic update] at w = v_pi (0 there); E[critic update] at
    another w - the TD direction)."""
    v = mdp.V(theta).numpy()
    g_I, g_w = one_step.expected_update(mdp, theta.numpy(), v, use_I=True)
    g_1, _ = one_step.expected_update(mdp, theta.numpy(), v, use_I=False)
    w = v + np.linspace(-1.0, 1.0, v.size)
    _, g_w_off = one_step.expected_update(mdp, theta.numpy(), w, use_I=True)
    return (np.abs(g_I - mdp.autograd_gradient(theta).numpy()).max(),
            np.abs(g_1 - mdp.policy_gradient(theta, discounted=False).numpy()).max(),
            np.abs(g_w).max(), np.abs(g_w_off - td_direction(mdp, theta, w)).max())


# ----------------------------------------------------------------------------- exact
@pytest.mark.parametrize("name", list(mdps()))
def test_expected_update_is_the_gradient_with_I_and_g1_without(name):
    mdp = mdps()[name]
    theta = theta_of(mdp)
    assert max(errors(mdp, theta)) < 1e-10
    v = mdp.V(theta).numpy()
    g_1, _ = one_step.expected_update(mdp, theta.numpy(), v, use_I=False)
    assert np.abs(g_1 - mdp.autograd_gradient(theta).numpy()).max() > 1e-2    # without I: not grad J


def test_at_gamma_1_I_changes_nothing():
    mdp = acn.envs.short_corridor(gamma=1.0)
    theta = torch.tensor([0.4, -0.3], dtype=torch.float64)
    v = mdp.V(theta).numpy()
    g_I, _ = one_step.expected_update(mdp, theta.numpy(), v, use_I=True)
    g_1, _ = one_step.expected_update(mdp, theta.numpy(), v, use_I=False)
    assert np.array_equal(g_I, g_1) and np.abs(g_I - mdp.autograd_gradient(theta).numpy()).max() < 1e-10
    runs = one_step.train(mdp, 20, alpha_theta=0.05, alpha_w=0.1, use_I=[True, False], runs=3, seed=1)
    assert np.array_equal(runs.returns[0], runs.returns[1]) and np.array_equal(runs.thetas[0], runs.thetas[1])


def test_early_prize_by_hand():
    """d_gamma(s1) = gamma / (1 - gamma stay), d_1(s1) = 1 / (1 - stay); the update along
    h = theta_right - theta_left is p (1 - p) (prize - d(s1)) with either visit count."""
    mdp = acn.envs.early_prize(gamma=0.9, prize=10.0, stay=0.95)
    for p in (0.2, 0.5, 0.9):
        theta = torch.tensor([0.0, math.log(p / (1 - p))], dtype=torch.float64)
        v = mdp.V(theta).numpy()
        for use_I, d1 in ((True, 0.9 / (1 - 0.9 * 0.95)), (False, 1 / 0.05)):
            g, _ = one_step.expected_update(mdp, theta.numpy(), v, use_I=use_I)
            assert g == pytest.approx(p * (1 - p) * (10.0 - d1) * np.array([-1.0, 1.0]), abs=1e-10)


def test_values_are_the_exact_J():
    mdp = mdps()["random features"]
    thetas = torch.randn(3, 2, mdp.n_features, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    got = one_step.values(mdp, thetas.numpy())
    assert got.shape == (3, 2)
    assert got == pytest.approx(np.array([[mdp.J(t).item() for t in row] for row in thetas]), abs=1e-12)


# ----------------------------------------------------------------------------- the mistakes fail
def _delta(f, w, s, r, s_next, gamma):
    return r + gamma * f.v(w, s_next) - f.v(w, s)


def i_dropped(f, theta, w, I, s, a, r, s_next, *, gamma, alpha_theta, alpha_w, use_I=True):
    return ref.one_step_update(f, theta, w, I, s, a, r, s_next, gamma=gamma, alpha_theta=alpha_theta,
                               alpha_w=alpha_w, use_I=False)


def i_one_step_early(f, theta, w, I, s, a, r, s_next, *, gamma, alpha_theta, alpha_w, use_I=True):
    I = I * np.where(use_I, gamma, 1.0)                  # I <- gamma I before the actor's update
    theta, w, _ = ref.one_step_update(f, theta, w, I, s, a, r, s_next, gamma=gamma, alpha_theta=alpha_theta,
                                      alpha_w=alpha_w, use_I=use_I)
    return theta, w, I


def delta_sign(f, theta, w, I, s, a, r, s_next, *, gamma, alpha_theta, alpha_w, use_I=True):
    delta = -_delta(f, w, s, r, s_next, gamma)
    return (theta + col(alpha_theta * delta) * (col(I) * f.grad_log_pi(theta, s, a)),
            w + col(alpha_w * delta) * f.x[s], I * np.where(use_I, gamma, 1.0))


def residual_critic(f, theta, w, I, s, a, r, s_next, *, gamma, alpha_theta, alpha_w, use_I=True):
    """The critic's loss delta^2 / 2 differentiated through v(S', w) too: target not detached."""
    delta = _delta(f, w, s, r, s_next, gamma)
    return (theta + col(alpha_theta * delta) * (col(I) * f.grad_log_pi(theta, s, a)),
            w + col(alpha_w * delta) * (f.x[s] - gamma * f.x[s_next]), I * np.where(use_I, gamma, 1.0))


@pytest.mark.parametrize("mistake, which", [(i_dropped, 0), (i_one_step_early, 0), (delta_sign, 0),
                                            (delta_sign, 3), (residual_critic, 2)],
                         ids=["I dropped", "I one step early", "delta's sign (actor)", "delta's sign (critic)",
                              "target not detached"])
def test_each_mistake_breaks_an_exact_check(monkeypatch, mistake, which):
    mdp = mdps()["random 5x3"]
    theta = theta_of(mdp)
    assert max(errors(mdp, theta)) < 1e-10
    monkeypatch.setattr(one_step, "one_step_update", mistake)
    assert errors(mdp, theta)[which] > 1e-3


# ----------------------------------------------------------------------------- the code paths agree
def test_many_runs_at_once_equal_the_one_run_loop():
    mdp = acn.envs.random_mdp(4, 2, gamma=0.95, p_end=0.1, seed=2)
    settings = [dict(use_I=True, lam_theta=0.0, lam_w=0.0, alpha_theta=0.1),
                dict(use_I=False, lam_theta=0.7, lam_w=0.4, alpha_theta=0.05)]
    runs = one_step.train(mdp, 25, alpha_theta=[c["alpha_theta"] for c in settings], alpha_w=0.2,
                          use_I=[c["use_I"] for c in settings], lam_theta=[c["lam_theta"] for c in settings],
                          lam_w=[c["lam_w"] for c in settings], runs=4, seed=7)
    assert runs.returns.shape == (2, 4, 25) and runs.thetas.shape == (2, 4, 25, mdp.n_features)
    children = np.random.SeedSequence(7).spawn(4)
    for g, c in enumerate(settings):
        for r in range(4):
            returns, thetas = ref.train(mdp, 25, alpha_w=0.2, rng=np.random.default_rng(children[r]), **c)
            assert np.array_equal(returns, runs.returns[g, r]) and np.array_equal(thetas, runs.thetas[g, r])
    assert not np.array_equal(runs.returns[0], runs.returns[1])


def test_traces_with_lambda_0_are_the_one_step_box():
    mdp = mdps()["random features"]
    f = ref.Linear(mdp)
    rng = np.random.default_rng(0)
    n = 6
    theta, w = rng.normal(size=(n, mdp.n_features)), rng.normal(size=(n, mdp.n_states))
    s, a = rng.integers(0, mdp.n_states, n), rng.integers(0, mdp.n_actions, n)
    s_next, r, I = rng.integers(0, mdp.n_states + 1, n), rng.normal(size=n), rng.random(n)
    kw = dict(gamma=0.8, alpha_theta=0.3, alpha_w=0.2)
    one = ref.one_step_update(f, theta, w, I, s, a, r, s_next, **kw)
    tr = ref.trace_update(f, theta, w, I, rng.normal(size=theta.shape), rng.normal(size=w.shape), s, a, r, s_next,
                          lam_theta=0.0, lam_w=0.0, **kw)
    for x, y in zip(one, tr[:3]):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("use_I, lam", [(True, 0.0), (True, 0.8), (False, 0.8)])
def test_sampled_episodes_at_fixed_theta_average_to_the_exact_vectors(use_I, lam):
    """With traces, sum_t delta_t z_t = sum_k I_k grad log pi_k sum_{t>=k} (gamma lambda)^(t-k) delta_t,
    whose mean with the exact critic is again grad J (with I) or g_1 (without)."""
    mdp = mdps()["random 5x3"]
    theta = theta_of(mdp)
    target = mdp.autograd_gradient(theta) if use_I else mdp.policy_gradient(theta, discounted=False)
    eps = mdp.sample_episodes(theta, 3000, generator=torch.Generator().manual_seed(0), max_steps=2000)
    g, _ = one_step.frozen_updates(mdp, theta.numpy(), mdp.V(theta).numpy(), eps, use_I=use_I, lam_theta=lam,
                                   lam_w=lam)
    z = (g.mean(0) - target.numpy()) / (g.std(0, ddof=1) / math.sqrt(len(g)))
    assert np.abs(z).max() < 4.5
    if use_I:          # and not the other vector
        other = mdp.policy_gradient(theta, discounted=False).numpy()
        assert np.abs((g.mean(0) - other) / (g.std(0, ddof=1) / math.sqrt(len(g)))).max() > 10


def test_learning_on_the_early_prize_goes_up_with_I_and_down_without():
    mdp = acn.envs.early_prize()
    runs = one_step.train(mdp, 120, alpha_theta=0.05, alpha_w=0.1, use_I=[True, False], runs=20, seed=0)
    final = one_step.values(mdp, runs.thetas[:, :, -1])
    assert final[0].mean() > 9.5 and final[1].mean() < 6.6 and runs.cut.sum() == 0


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kw, message", [(dict(alpha_theta=[0.1, 0.2], alpha_w=[0.1, 0.2, 0.3]), "same length"),
                                         (dict(alpha_theta=-0.1, alpha_w=0.1), "alpha_theta"),
                                         (dict(alpha_theta=0.1, alpha_w=0.1, runs=0), "runs"),
                                         (dict(alpha_theta=0.1, alpha_w=float("nan")), "alpha_w"),
                                         (dict(alpha_theta=0.1, alpha_w=0.1, theta0=[0.0, 0.0, 1.0]), "theta0")])
def test_bad_settings_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        one_step.train(acn.envs.early_prize(), 3, **kw)


def test_early_prize_refuses_an_endless_stay():
    with pytest.raises(ValueError, match="stay"):
        acn.envs.early_prize(stay=1.0)
