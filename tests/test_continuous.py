"""Continuous actions (notebook 11): the Gaussian policy, the scalar LQR's closed forms, and
the reference Gaussian A2C on Pendulum-v1.

Every check takes an independent route: torch.distributions and autograd for the log-density
and the score, numerical integration for the squashed density, Monte Carlo and finite
differences for the LQR's closed-form J and its gradient, a Riccati iteration for its optimum.
"""

import json
import math

import numpy as np
import pytest
import torch

from acnotes import gaussian


def _batch(seed=0, n=64, d=3):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(n, d, generator=g, dtype=torch.float64)
    log_std = 0.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
    a = mu + log_std.exp() * torch.randn(n, d, generator=g, dtype=torch.float64)
    return a, mu, log_std


# ------------------------------------------------------------------------------ the Gaussian policy
def test_log_prob_is_torch_distributions_normal():
    a, mu, log_std = _batch()
    ref = torch.distributions.Normal(mu, log_std.exp()).log_prob(a).sum(-1)
    assert torch.allclose(gaussian.log_prob(a, mu, log_std), ref, atol=1e-12)


def test_score_is_autograd_of_log_prob():
    a, mu, log_std = _batch(1)
    mu, log_std = mu.requires_grad_(True), log_std.requires_grad_(True)
    d_mu, d_log_std = torch.autograd.grad(gaussian.log_prob(a, mu, log_std).sum(), (mu, log_std))
    s_mu, s_log_std = gaussian.score(a, mu.detach(), log_std.detach())
    assert torch.allclose(s_mu, d_mu, atol=1e-12) and torch.allclose(s_log_std, d_log_std, atol=1e-12)


def test_score_has_mean_zero_and_sampling_is_gaussian():
    mu, log_std = torch.tensor([[0.3, -1.0]], dtype=torch.float64), torch.tensor([[-0.5, 0.4]], dtype=torch.float64)
    a = gaussian.sample(mu.expand(200_000, 2), log_std.expand(200_000, 2), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(a.mean(0), mu[0], atol=4 * log_std.exp()[0].max().item() / math.sqrt(200_000))
    assert torch.allclose(a.std(0).log(), log_std[0], atol=0.01)
    for s in gaussian.score(a, mu, log_std):
        se = s.std(0) / math.sqrt(len(s))
        assert (s.mean(0).abs() < 4 * se).all()


def test_entropy_is_torch_distributions_entropy():
    _, mu, log_std = _batch(2)
    ref = torch.distributions.Normal(mu, log_std.exp()).entropy().sum(-1)
    assert torch.allclose(gaussian.entropy(log_std), ref, atol=1e-12)


def test_tanh_log_det_is_autograd_and_stable():
    u = torch.linspace(-8, 8, 101, dtype=torch.float64).requires_grad_(True)
    (du,) = torch.autograd.grad(torch.tanh(u).sum(), u)
    assert torch.allclose(gaussian.tanh_log_det(u.detach()), du.log(), atol=1e-9)
    big = gaussian.tanh_log_det(torch.tensor([30.0, -30.0]))   # float32: 1 - tanh^2 rounds to 0 here
    assert torch.isfinite(big).all() and torch.allclose(big, torch.tensor(2 * math.log(2) - 60.0), atol=1e-4)


def test_squashed_log_prob_is_torch_transformed_distribution():
    u, mu, log_std = _batch(3, d=1)
    low, high = -2.0, 2.0
    base = torch.distributions.Normal(mu, log_std.exp())
    dist = torch.distributions.TransformedDistribution(base, [torch.distributions.TanhTransform(),
                                                             torch.distributions.AffineTransform(0.0, 2.0)])
    a = gaussian.squash(u, low, high)
    assert (a.abs() < 2).all()
    assert torch.allclose(gaussian.squashed_log_prob(u, mu, log_std, low, high), dist.log_prob(a).sum(-1), atol=1e-8)


def test_squashed_density_integrates_to_one_and_without_the_correction_does_not():
    """The density of a = c + h tanh(u), by quadrature over (low, high): 1 with the log-det term,
    not 1 without it."""
    mu, log_std, low, high = torch.tensor([0.7], dtype=torch.float64), torch.tensor([0.2], dtype=torch.float64), 0.0, 2.0
    a = torch.linspace(low, high, 400_001, dtype=torch.float64)[1:-1]
    u = torch.atanh(a - 1.0)
    corrected = gaussian.squashed_log_prob(u[:, None], mu, log_std, low, high).exp()
    naive = gaussian.log_prob(u[:, None], mu, log_std).exp()
    assert abs(torch.trapezoid(corrected, a).item() - 1) < 1e-4
    assert abs(torch.trapezoid(naive, a).item() - 1) > 0.1


@pytest.mark.parametrize("state_dependent", [False, True])
def test_policy_heads(state_dependent):
    torch.manual_seed(0)
    pi = gaussian.GaussianPolicy(3, 2, hidden=16, log_std_init=-0.5, state_dependent_std=state_dependent)
    mu, log_std = pi(torch.randn(5, 3))
    assert mu.shape == log_std.shape == (5, 2)
    assert mu.abs().max() < 0.05 and torch.allclose(log_std, torch.full((5, 2), -0.5), atol=0.05)
    (mu.sum() + log_std.sum()).backward()
    assert all(p.grad is not None for p in pi.parameters())


def test_clip_action_keeps_the_bound():
    a = torch.tensor([-3.0, -1.0, 0.5, 2.5])
    assert torch.equal(gaussian.clip_action(a, -2.0, 2.0), torch.tensor([-2.0, -1.0, 0.5, 2.0]))


# ------------------------------------------------------------------------------ the scalar LQR
from acnotes import lqr  # noqa: E402

LQR = lqr.LQR()
POINTS = [(1.0, -0.5), (0.6, 0.2), (1.6, -1.0)]


@pytest.mark.parametrize("k, log_sigma", POINTS)
def test_lqr_gradient_by_hand_is_autograd_and_finite_differences(k, log_sigma):
    kt = torch.tensor(k, dtype=torch.float64, requires_grad=True)
    lt = torch.tensor(log_sigma, dtype=torch.float64, requires_grad=True)
    auto = torch.stack(torch.autograd.grad(lqr.J(LQR, kt, lt), (kt, lt))).numpy()
    h = 1e-6
    fd = [(lqr.J(LQR, k + h, log_sigma) - lqr.J(LQR, k - h, log_sigma)) / (2 * h),
          (lqr.J(LQR, k, log_sigma + h) - lqr.J(LQR, k, log_sigma - h)) / (2 * h)]
    by_hand = lqr.grad(LQR, k, log_sigma)
    assert abs(by_hand - auto).max() < 1e-10 and abs(by_hand - fd).max() < 1e-6


@pytest.mark.parametrize("k, log_sigma", POINTS)
def test_lqr_J_is_the_mean_sampled_return(k, log_sigma):
    ep = lqr.rollouts(LQR, k, log_sigma, 20_000, generator=torch.Generator().manual_seed(0))
    se = ep["ret"].std().item() / math.sqrt(20_000)
    assert abs(ep["ret"].mean().item() - lqr.J(LQR, k, log_sigma)) < 4 * se


def test_lqr_J_is_the_summed_second_moments():
    """J from iterating X_{t+1} = m^2 X_t + b^2 sigma^2 (no closed form for S)."""
    k, log_sigma = 0.8, -0.3
    m, s2 = LQR.f - LQR.b * k, math.exp(2 * log_sigma)
    X, total = LQR.s0 ** 2, 0.0
    for t in range(2000):
        total += LQR.gamma ** t * (-(LQR.q + LQR.rho * k ** 2) * X - LQR.rho * s2)
        X = m ** 2 * X + LQR.b ** 2 * s2
    assert abs(total - lqr.J(LQR, k, log_sigma)) < 1e-10


def test_lqr_values_satisfy_the_bellman_equation():
    """V(s) = E[r + gamma V(s')] with the expectation over eps by Gauss-Hermite quadrature, and
    E_a[A(s, a)] = 0; J = V(s_0)."""
    k, log_sigma = 1.2, -0.4
    x, w = np.polynomial.hermite_e.hermegauss(20)
    w = w / w.sum()
    for s in (-2.0, 0.3, 1.5):
        a = -k * s + math.exp(log_sigma) * x
        q = lqr.Q(LQR, k, log_sigma, s, a)
        assert abs((w * q).sum() - lqr.V(LQR, k, log_sigma, s)) < 1e-10
        assert abs((w * lqr.advantage(LQR, k, log_sigma, s, a)).sum()) < 1e-10
    assert abs(lqr.V(LQR, k, log_sigma, LQR.s0) - lqr.J(LQR, k, log_sigma)) < 1e-12


def test_lqr_optimal_gain_is_where_the_gradient_vanishes():
    k_star = lqr.optimal_gain(LQR)
    for log_sigma in (-2.0, 0.0):
        assert abs(lqr.grad(LQR, k_star, log_sigma)[0]) < 1e-10
        assert lqr.grad(LQR, k_star, log_sigma)[1] < 0
    assert all(lqr.J(LQR, k_star, -1.0) > lqr.J(LQR, k_star + d, -1.0) for d in (-0.05, 0.05))


def test_lqr_an_unstable_gain_is_refused():
    with pytest.raises(ValueError, match="infinite"):
        lqr.J(LQR, 0.0, 0.0)


def test_lqr_estimators_are_unbiased_and_ordered_in_variance():
    k, log_sigma = 1.0, -0.5
    est = lqr.estimates(LQR, k, log_sigma, K=400, B=8, seed=1, pathwise=True)
    exact = lqr.grad(LQR, k, log_sigma)
    var = {}
    for name, g in est.items():
        se = g.std(0, ddof=1) / math.sqrt(len(g))
        assert (abs(g.mean(0) - exact) < 4 * se).all(), name
        var[name] = ((g - g.mean(0)) ** 2).sum(1).mean()
    assert var["pathwise"] < var["advantage"] < var["baseline"] < var["reinforce"]


def test_lqr_estimates_use_the_unclipped_chain_rule():
    """The score of k is -s eps / sigma: with the sign flipped, the estimators point the wrong way."""
    k, log_sigma = 0.6, -0.5                  # far from k*, so dJ/dk is large
    est = lqr.estimates(LQR, k, log_sigma, K=50, B=8, seed=2, psi=("advantage",))["advantage"]
    assert np.sign(est[:, 0].mean()) == np.sign(lqr.grad(LQR, k, log_sigma)[0]) != 0


# ------------------------------------------------------------------------------ Pendulum-v1
from acnotes.reference import gaussian_a2c  # noqa: E402
from acnotes.stored import pendulum  # noqa: E402


def test_stored_pendulum_runs_are_complete():
    data = pendulum.load()
    assert data["seeds"] == list(pendulum.SEEDS) and data["total_steps"] == pendulum.TOTAL_STEPS
    assert data["settings"] == pendulum.SETTINGS
    for run, seed in zip(data["runs"], pendulum.SEEDS):
        steps = np.array(run["episode_steps"])
        assert run["seed"] == seed and run["status"] == "done"
        assert len(run["episode_returns"]) == len(steps) > 1000
        assert (np.diff(steps) >= 0).all() and steps[-1] <= pendulum.TOTAL_STEPS
        assert all(-16.3 * 200 < r <= 0 for r in run["episode_returns"])    # r_t in [-16.3, 0]


def test_the_reference_defaults_are_the_stored_settings():
    import inspect
    defaults = {k: p.default for k, p in inspect.signature(gaussian_a2c.train).parameters.items()}
    assert {k: defaults[k] for k in pendulum.SETTINGS} == pendulum.SETTINGS


@pytest.mark.slow
def test_a_stored_run_starts_as_a_run_trained_now():
    """Seed 1 trained again for its first 10,000 env steps ends the same episodes with the same
    returns (to the stored 0.01). Any change to the algorithm fails it: for one, treating the
    200-step truncation as a termination (no bootstrap there) did."""
    stored = next(r for r in pendulum.load()["runs"] if r["seed"] == 1)
    now = pendulum.train_one(1, 10_000)
    n = len(now["episode_returns"])
    assert n >= 48
    assert now["episode_returns"] == stored["episode_returns"][:n]
    assert now["episode_steps"] == stored["episode_steps"][:n]


def test_pendulum_only_truncates_and_the_clip_is_outside_the_log_prob(monkeypatch):
    """Every Pendulum episode is truncated at 200 steps, never terminated (so the TD target always
    bootstraps), and the env receives the clipped action while the loss scores the unclipped one."""
    import gymnasium as gym
    seen, scored = [], []
    real_step = gym.vector.SyncVectorEnv.step

    def step(self, actions):
        seen.append(np.array(actions))
        out = real_step(self, actions)
        assert not out[2].any()                      # no termination, ever
        return out
    real_log_prob = gaussian_a2c.log_prob

    def log_prob(a, mu, log_std):
        scored.append(a.detach().clone())
        return real_log_prob(a, mu, log_std)
    monkeypatch.setattr(gym.vector.SyncVectorEnv, "step", step)
    monkeypatch.setattr(gaussian_a2c, "log_prob", log_prob)
    returns, ends = gaussian_a2c.train(total_steps=16 * 32 * 7, seed=0, n_envs=16, n_steps=32, log_std_init=1.0)
    sent, sampled = np.concatenate(seen), torch.cat(scored).reshape(-1, 1).numpy()
    assert np.abs(sent).max() <= 2.0 and np.abs(sampled).max() > 2.0   # sigma = e: many beyond the bound
    assert ends == [16 * 200] * 16                                       # every env's episode ends at step 200


def test_pendulum_command_writes_and_never_overwrites(tmp_path, capsys):
    from acnotes.__main__ import main
    out = tmp_path / "p.json"
    assert main(["pendulum", "--out", str(out), "--steps", "640", "--seeds", "3", "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert data["seeds"] == [3] and data["total_steps"] == 640 and len(data["runs"]) == 1
    before = out.read_text()
    with pytest.raises(SystemExit) as stop:
        main(["pendulum", "--out", str(out), "--steps", "640"])
    assert stop.value.code == 2 and "--force" in capsys.readouterr().err and out.read_text() == before
