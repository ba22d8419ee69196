"""The weights Psi_t of the policy gradient, one per algorithm, and the losses.

Every algorithm of the series estimates

    grad J(theta) = E[ sum_t  w_t * grad log pi_theta(a_t | s_t) * Psi_t ]

and they differ only in ``Psi_t`` (and in the critic they learn to compute it):

    ==================  ====================================  =========
    name                Psi_t                                 critic
    ==================  ====================================  =========
    reinforce           G_t                                   none
    reinforce_baseline  G_t - V(s_t)                          V
    qac                 Q(s_t, a_t)                           Q
    a2c                 G^(n)_t - V(s_t)   (n-step advantage) V
    tdac                r_t + gamma V(s_{t+1}) - V(s_t)       V
    gae                 sum_k (gamma lambda)^k delta_{t+k}    V
    ==================  ====================================  =========

``w_t = gamma^t`` makes the estimator the gradient of the discounted objective J; most code
uses ``w_t = 1`` (``discount_actor=False``), which is not the gradient of any objective in
general but has lower variance and works well in practice.

An ``Estimator`` is a plain record of those choices. The critic's values arrive in a
``Values`` record that the training loop (or the variance lab) computes; Psi_t and the
critic target are computed from it, with the critic's values detached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from . import returns as R

__all__ = ["Values", "Estimator", "ESTIMATORS", "get", "actor_loss", "critic_loss", "log_prob"]


@dataclass
class Values:
    """What Psi_t may need from the critic, for a batch of shape [T, N].

    ``v``: V(s_t), with gradient (the critic's prediction).
    ``v_next``: V(s_{t+1}), detached. For a Q critic, the expected value
        ``sum_a pi(a|s_{t+1}) Q(s_{t+1}, a)`` (expected SARSA).
    ``q``: Q(s_t, a_t), with gradient (only for a Q critic).
    """

    v: Tensor | None = None
    v_next: Tensor | None = None
    q: Tensor | None = None


@dataclass(frozen=True)
class Estimator:
    """One row of the table: how to get Psi_t and what the critic regresses onto.

    ``psi(batch, values, gamma, lam, n)`` returns Psi_t (no gradient).
    ``target(batch, values, gamma, lam, n)`` returns the critic's target (no gradient), or
    None when there is no critic. ``critic`` is None, "v" or "q". ``episodic`` estimators
    need whole episodes (REINFORCE's return cannot be cut).
    """

    name: str
    label: str
    psi_formula: str
    critic: str | None
    episodic: bool
    psi: Callable[..., Tensor]
    target: Callable[..., Tensor | None]


def _rtg(b, gamma):
    return R.reward_to_go(b.rewards, b.terminated, b.truncated, gamma)


def _nstep(b, vals, gamma, n):
    T = b.rewards.shape[0]
    if n is None or n >= T:  # "up to t_max": the bootstrapped return, computed in O(T)
        return R.reward_to_go(b.rewards, b.terminated, b.truncated, gamma, v_next=vals.v_next)
    return R.nstep_targets(b.rewards, vals.v_next, b.terminated, b.truncated, gamma, n)


def _td(b, vals, gamma):
    return R.td_target(b.rewards, vals.v_next, b.terminated, gamma)


def _gae(b, vals, gamma, lam):
    return R.gae(b.rewards, vals.v.detach(), vals.v_next, b.terminated, b.truncated, gamma, lam)


ESTIMATORS: dict[str, Estimator] = {}


def _register(e: Estimator) -> Estimator:
    ESTIMATORS[e.name] = e
    return e


_register(Estimator(
    "reinforce", "REINFORCE", "G_t", None, True,
    psi=lambda b, vals, gamma, lam, n: _rtg(b, gamma),
    target=lambda b, vals, gamma, lam, n: None,
))
_register(Estimator(
    "reinforce_baseline", "REINFORCE + baseline", "G_t - V(s_t)", "v", True,
    psi=lambda b, vals, gamma, lam, n: _rtg(b, gamma) - vals.v.detach(),
    target=lambda b, vals, gamma, lam, n: _rtg(b, gamma),
))
_register(Estimator(
    "qac", "Q Actor-Critic", "Q_w(s_t, a_t)", "q", False,
    psi=lambda b, vals, gamma, lam, n: vals.q.detach(),
    target=lambda b, vals, gamma, lam, n: _td(b, vals, gamma),
))
_register(Estimator(
    "a2c", "A2C", "G^(n)_t - V(s_t)", "v", False,
    psi=lambda b, vals, gamma, lam, n: _nstep(b, vals, gamma, n) - vals.v.detach(),
    target=lambda b, vals, gamma, lam, n: _nstep(b, vals, gamma, n),
))
_register(Estimator(
    "tdac", "TD Actor-Critic", "r_t + gamma V(s_{t+1}) - V(s_t)", "v", False,
    psi=lambda b, vals, gamma, lam, n: _td(b, vals, gamma) - vals.v.detach(),
    target=lambda b, vals, gamma, lam, n: _td(b, vals, gamma),
))
_register(Estimator(
    "gae", "GAE(lambda)", "sum_k (gamma lambda)^k delta_{t+k}", "v", False,
    psi=lambda b, vals, gamma, lam, n: _gae(b, vals, gamma, lam),
    target=lambda b, vals, gamma, lam, n: _gae(b, vals, gamma, lam) + vals.v.detach(),
))


def get(name: str) -> Estimator:
    """The estimator called ``name``; a ValueError lists the valid names."""
    try:
        return ESTIMATORS[name]
    except KeyError:
        raise ValueError(f"algo must be one of {', '.join(ESTIMATORS)}; got {name!r}") from None


def log_prob(logits: Tensor, actions: Tensor) -> Tensor:
    """log pi(a_t|s_t) from logits: ``log_softmax`` then pick the action taken."""
    return torch.log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


def actor_loss(logp: Tensor, psi: Tensor, valid: Tensor, weight: Tensor | None = None,
               n_episodes: int | None = None) -> Tensor:
    """Surrogate loss whose gradient is minus the policy-gradient estimate.

    ``L = -(1/M) sum_{t valid} w_t * log pi(a_t|s_t) * Psi_t`` with Psi_t detached.
    M is the number of episodes when given (the gradient of J per episode, as REINFORCE
    derives it: sum over time, mean over episodes), else the number of valid steps.
    """
    psi = psi.detach()
    terms = logp * psi if weight is None else logp * psi * weight
    terms = torch.where(valid, terms, torch.zeros_like(terms))
    m = n_episodes if n_episodes is not None else valid.sum().clamp(min=1)
    return -terms.sum() / m


def critic_loss(pred: Tensor, target: Tensor, valid: Tensor, kind: str = "mse") -> Tensor:
    """Mean over valid steps of (pred - target)^2 / 2, or the smooth-L1 (Huber) loss.

    The target is detached: the critic moves towards it, the target does not move
    towards the critic (a semi-gradient, as in TD(0)).
    """
    target = target.detach()
    if kind == "mse":
        err = 0.5 * (pred - target) ** 2
    elif kind == "smooth_l1":
        err = F.smooth_l1_loss(pred, target, reduction="none")
    else:
        raise ValueError(f"critic_loss must be 'mse' or 'smooth_l1', got {kind!r}")
    err = torch.where(valid, err, torch.zeros_like(err))
    return err.sum() / valid.sum().clamp(min=1)
