"""The Gaussian policy for continuous actions: its log-probability, its score function, and two
ways to respect an action bound (notebook 11).

A Gaussian policy draws each action coordinate from N(mu_theta(s), sigma_theta(s)^2):

    a = mu + sigma * eps,   eps ~ N(0, 1),     log sigma = the log-std head (or one parameter)

    log pi(a|s) = sum_i [ -(a_i - mu_i)^2 / (2 sigma_i^2) - log sigma_i - log(2 pi) / 2 ]

and its score function, with respect to the two heads' outputs (chain the rest by autograd):

    d log pi / d mu_i        = (a_i - mu_i) / sigma_i^2   = eps_i / sigma_i
    d log pi / d log sigma_i = (a_i - mu_i)^2 / sigma_i^2 - 1 = eps_i^2 - 1

Both have mean 0 under pi (E[eps] = 0, E[eps^2] = 1): the baseline lemma of notebook 3 holds
for continuous actions too. (Sutton & Barto, Section 13.7; Williams, 1992.)

Bounded actions (Pendulum-v1's torque lies in [-2, 2]), two correct ways:

* **clip outside the log-probability** (``clip_action``): sample the unbounded a, send
  clip(a, low, high) to the environment, and score the *unclipped* a with ``log_prob``. The clip
  is then part of the environment; the estimator stays unbiased for the clipped task. Scoring
  the clipped action with the Gaussian density is wrong (the clipped action has a point mass at
  each bound, not that density).
* **squash** (``squash``, ``squashed_log_prob``): a = c + h tanh(u), u ~ N(mu, sigma^2), with
  c, h the bound's centre and half-width. The density of a needs the change-of-variables
  correction  log pi(a) = log N(u; mu, sigma) - sum_i log(h_i (1 - tanh(u_i)^2)),  computed
  here stably as  log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))  (Haarnoja et al., 2018,
  Appendix C).

``GaussianPolicy`` is a small torch module with a mean head and a log-std head (a free parameter
per action by default, as in A2C/PPO implementations; ``state_dependent_std=True`` makes it a
head on the trunk). ``acnotes/reference/gaussian_a2c.py`` trains it on Pendulum-v1.

    policy = GaussianPolicy(obs_dim=3, act_dim=1)
    mu, log_std = policy(obs)
    a = sample(mu, log_std, generator=g)
    logp = log_prob(a, mu, log_std)                       # [batch]
    env_action = clip_action(a, -2.0, 2.0)                # what the environment receives
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["GaussianPolicy", "sample", "log_prob", "score", "entropy", "clip_action", "squash",
           "squashed_log_prob", "tanh_log_det", "LOG_2PI"]

LOG_2PI = math.log(2 * math.pi)


def sample(mu: Tensor, log_std: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """a = mu + sigma * eps with eps ~ N(0, 1) from ``generator``; no gradient flows through a
    (the score-function estimator differentiates log pi(a|s), not a)."""
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
    return (mu + log_std.exp() * eps).detach()


def log_prob(a: Tensor, mu: Tensor, log_std: Tensor) -> Tensor:
    """log pi(a|s) of a diagonal Gaussian, summed over the last (action) axis:
    sum_i -(a_i - mu_i)^2 / (2 sigma_i^2) - log sigma_i - log(2 pi)/2."""
    z = (a - mu) * torch.exp(-log_std)
    return (-0.5 * z ** 2 - log_std - 0.5 * LOG_2PI).sum(-1)


def score(a: Tensor, mu: Tensor, log_std: Tensor) -> tuple[Tensor, Tensor]:
    """The score with respect to the heads' outputs, per coordinate:
    (d log pi / d mu, d log pi / d log sigma) = ((a - mu) / sigma^2, (a - mu)^2 / sigma^2 - 1)."""
    z = (a - mu) * torch.exp(-log_std)
    return z * torch.exp(-log_std), z ** 2 - 1


def entropy(log_std: Tensor) -> Tensor:
    """The differential entropy of the diagonal Gaussian, sum_i log sigma_i + (1 + log 2 pi) / 2."""
    return (log_std + 0.5 * (1.0 + LOG_2PI)).sum(-1)


def clip_action(a: Tensor, low, high) -> Tensor:
    """What the environment receives: clip(a, low, high). Score the unclipped ``a`` with
    ``log_prob``; the clip belongs to the environment."""
    return torch.clamp(a, torch.as_tensor(low, dtype=a.dtype), torch.as_tensor(high, dtype=a.dtype))


def tanh_log_det(u: Tensor) -> Tensor:
    """log |d tanh(u) / du| = log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), per coordinate;
    stable for large |u|, where 1 - tanh(u)^2 rounds to 0."""
    return 2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))


def squash(u: Tensor, low, high) -> Tensor:
    """a = c + h tanh(u), with c = (high + low)/2 and h = (high - low)/2: always inside the bound."""
    low, high = torch.as_tensor(low, dtype=u.dtype), torch.as_tensor(high, dtype=u.dtype)
    return (high + low) / 2 + (high - low) / 2 * torch.tanh(u)


def squashed_log_prob(u: Tensor, mu: Tensor, log_std: Tensor, low, high) -> Tensor:
    """log pi(a|s) of the squashed action a = squash(u), given the pre-squash sample u:
    log N(u; mu, sigma) - sum_i [log h_i + log(1 - tanh(u_i)^2)]  (change of variables)."""
    half = (torch.as_tensor(high, dtype=u.dtype) - torch.as_tensor(low, dtype=u.dtype)) / 2
    return log_prob(u, mu, log_std) - (torch.log(half) + tanh_log_det(u)).sum(-1)


class GaussianPolicy(nn.Module):
    """pi_theta(a|s) = N(mu_theta(s), diag sigma_theta(s)^2): a tanh trunk, a mean head and a
    log-std head.

    ``state_dependent_std=False`` (the default): log sigma is one free parameter per action
    coordinate, started at ``log_std_init``; True: a linear head on the trunk (its bias started
    at ``log_std_init``). The mean head's weights are scaled by 0.01 at the start, so every state
    starts with mu near 0: the first policy is nearly the same everywhere, as the CartPole
    policies start nearly uniform. ``forward(obs)`` returns ``(mu, log_std)``, each [..., act_dim].
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden: int = 64, log_std_init: float = 0.0,
                 state_dependent_std: bool = False):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.mu = nn.Linear(hidden, act_dim)
        with torch.no_grad():
            self.mu.weight.mul_(0.01)
            self.mu.bias.zero_()
        self.state_dependent_std = state_dependent_std
        if state_dependent_std:
            self.log_std = nn.Linear(hidden, act_dim)
            with torch.no_grad():
                self.log_std.weight.mul_(0.01)
                self.log_std.bias.fill_(log_std_init)
        else:
            self.log_std = nn.Parameter(torch.full((act_dim,), float(log_std_init)))

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        h = self.trunk(obs)
        mu = self.mu(h)
        log_std = self.log_std(h) if self.state_dependent_std else self.log_std.expand_as(mu)
        return mu, log_std
