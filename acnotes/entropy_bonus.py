"""The entropy bonus on a tabular MDP: its exact gradient, and where it pulls the policy.

Training minimizes ``actor_loss + vf_coef * critic_loss - ent_coef * entropy``, where
``entropy`` is the mean over the batch's steps of ``H(s_t) = -sum_a pi(a|s_t) log pi(a|s_t)``.
So the update adds ``beta * grad H`` (beta = ``ent_coef``) to the policy-gradient estimate,
at the states the batch visited. Its expectation is, with d(s) the state visitation,

    b(theta) = sum_s d(s) grad_theta H(s)
             = -sum_s d(s) sum_a pi(a|s) log pi(a|s) grad_theta log pi(a|s)

(``grad H(s) = -sum_a pi (1 + log pi) grad log pi``, and ``sum_a pi grad log pi = 0``).
d(s) is held fixed: the bonus asks for a more random action in the states the policy
visits now, not for visiting other states. It is zero when every visited state's policy
is uniform, the entropy's maximum.

In a bandit (one state, one step) d is constant and the update is the gradient of
``J + beta * H``, whose maximum is ``pi(a) = softmax(r / beta)``: greedy as beta -> 0,
uniform as beta -> infinity. In an MDP the ascent ``theta += lr * (grad J + beta * b)``
stops where the two balance (``ascend``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .envs import TabularMDP

__all__ = ["state_entropy", "bonus_gradient", "bonus_objective", "ascend", "bandit"]


def state_entropy(pi: Tensor) -> Tensor:
    """H(s) = -sum_a pi(a|s) log pi(a|s) for every state (pi: [S, A]); 0 log 0 = 0."""
    logp = torch.log(pi.clamp(min=torch.finfo(pi.dtype).tiny))
    return -(pi * logp).sum(-1)


def _d(mdp: TabularMDP, pi: Tensor, discounted: bool) -> Tensor:
    return mdp.visitation(pi, discounted=discounted)


def bonus_gradient(mdp: TabularMDP, theta: Tensor, discounted: bool = False) -> Tensor:
    """The expected entropy-bonus direction ``-sum_s d(s) sum_a pi log pi grad log pi``,
    from the closed form above (``mdp.score``), with d the visitation of the current policy
    (undiscounted by default, as the training's mean over sampled steps weights states)."""
    theta = torch.as_tensor(theta, dtype=torch.float64)
    pi = mdp.policy(theta)
    d = _d(mdp, pi, discounted)
    logp = torch.log(pi.clamp(min=torch.finfo(pi.dtype).tiny))
    return -torch.einsum("s,sa,sa,sad->d", d, pi, logp, mdp.score(theta))


def bonus_objective(mdp: TabularMDP, theta: Tensor, d: Tensor | None = None, discounted: bool = False) -> Tensor:
    """``sum_s d(s) H(s)`` of the policy ``theta``. With ``d`` given, d is that constant:
    the function whose gradient at the theta where d was computed ``bonus_gradient`` must
    equal. Without it, d is the visitation of ``theta`` itself (``visitation(pi,
    discounted)``), and the gradient also counts how theta moves d, which the bonus omits."""
    theta = torch.as_tensor(theta, dtype=torch.float64)
    pi = mdp.policy(theta)
    if d is None:
        d = _d(mdp, pi, discounted)
    return d @ state_entropy(pi)


def ascend(mdp: TabularMDP, theta: Tensor, beta: float, lr: float = 0.5, iters: int = 5000,
           discounted: bool = False) -> Tensor:
    """Exact gradient ascent ``theta += lr * (g + beta * bonus_gradient)`` where g is the
    exact policy gradient with the same weighting (``mdp.policy_gradient(theta,
    discounted)``). Returns the last theta."""
    theta = torch.as_tensor(theta, dtype=torch.float64).clone()
    for _ in range(iters):
        g = mdp.policy_gradient(theta, discounted=discounted)
        theta = theta + lr * (g + beta * bonus_gradient(mdp, theta, discounted))
    return theta


def bandit(rewards, gamma: float = 0.9) -> TabularMDP:
    """A one-state MDP that ends after one step: action a pays ``rewards[a]``."""
    r = torch.as_tensor(rewards, dtype=torch.float64).reshape(1, -1)
    A = r.shape[1]
    return TabularMDP(torch.zeros(1, A, 1, dtype=torch.float64), r, torch.ones(1, dtype=torch.float64),
                      gamma, name=f"bandit({A})")
