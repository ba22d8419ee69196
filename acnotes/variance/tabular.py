"""Gradient estimates on a tabular MDP, against the exact policy gradient.

All estimators share the same K*B sampled episodes (common random numbers), and the critic
is exact or exact plus a known error (``tabular_critic``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from ..estimators import Estimator, actor_loss, get as get_estimator, log_prob
from ..envs import TabularMDP
from ..returns import discount_powers
from . import values
from ._args import check_estimators, check_B, check_int, check_K, check_nonneg, check_unit, threads_or_not
from .table import VarianceTable

__all__ = ["TabularCritic", "tabular_critic", "episodes_batch", "tabular_psi", "tabular_gradients",
           "measure_tabular"]


@dataclass
class TabularCritic:
    """A tabular critic: ``V[s]`` and ``Q[s, a]`` (float64)."""

    V: Tensor
    Q: Tensor


def tabular_critic(mdp: TabularMDP, theta: Tensor, noise: float = 0.0, seed: int = 0) -> TabularCritic:
    """The exact V and Q of the policy, plus a fixed random error of relative size ``noise``.

    ``V_w = V + noise * |V| * z / |z|`` with z standard normal (seeded), and the same for Q
    with its own z: so ``|V_w - V| / |V| = noise`` exactly. ``noise=0`` is the exact critic;
    a noisy critic stands for a learned one of known quality.
    """
    noise = check_nonneg("critic_noise", noise)
    pi = mdp.policy(theta)
    V, Q = mdp.V(pi), mdp.Q(pi)
    if noise > 0:
        g = torch.Generator().manual_seed(int(seed))
        zv = torch.randn(V.shape, generator=g, dtype=torch.float64)
        zq = torch.randn(Q.shape, generator=g, dtype=torch.float64)
        V = V + noise * V.norm() * zv / zv.norm()
        Q = Q + noise * Q.norm() * zq / zq.norm()
    return TabularCritic(V, Q)


@dataclass
class _TabularBatch:
    """Tabular episodes [T, N] under the field names of ``rollout.Batch`` (obs: state indices)."""

    obs: Tensor
    actions: Tensor
    rewards: Tensor
    terminated: Tensor
    truncated: Tensor
    next_obs: Tensor
    valid: Tensor
    t: Tensor


def episodes_batch(episodes: dict) -> _TabularBatch:
    """The dict of ``TabularMDP.sample_episodes`` as a batch with ``rollout.Batch``'s fields."""
    e = episodes
    return _TabularBatch(e["s"], e["a"], e["r"], e["terminated"], e["truncated"], e["s_next"],
                         e["valid"], e["t"])


def tabular_psi(mdp: TabularMDP, theta: Tensor, episodes: dict, est: Estimator,
                critic: TabularCritic, gamma: float, lam: float, n: int,
                cache: dict | None = None) -> Tensor:
    """Psi_t [T, N] of ``est`` on sampled ``episodes``, with the tables of ``critic``
    (a Q critic's next value is the expected SARSA value under the policy ``theta``)."""
    logits = mdp.features @ torch.as_tensor(theta, dtype=torch.float64)  # pi = softmax(logits) = mdp.policy(theta)
    return values.psi(est, episodes_batch(episodes), gamma, lam, n, v=critic.V.__getitem__,
                      q=critic.Q.__getitem__, logits=logits.__getitem__, cache=cache)


def tabular_gradients(mdp: TabularMDP, theta: Tensor, episodes: dict, psi: Tensor, B: int,
                      discount_actor: bool = True, method: str = "score") -> Tensor:
    """Per-estimate gradients [K, d] from N = K*B sampled episodes (columns of ``episodes``).

    Estimate k uses episodes k*B .. k*B+B-1. ``method="score"`` uses the closed form
    grad log pi(a|s) = phi(s, a) - E_pi phi(s, .) (``mdp.score``) and no autograd;
    ``method="autograd"`` differentiates ``estimators.actor_loss`` of a ``TabularSoftmax``
    once per estimate (slow; the check that both agree).
    """
    s, a, valid, t = episodes["s"], episodes["a"], episodes["valid"], episodes["t"]
    T, N = s.shape
    if N % B:
        raise ValueError(f"the number of episodes ({N}) must be a multiple of B ({B})")
    K = N // B
    theta = torch.as_tensor(theta, dtype=torch.float64)
    w = discount_powers(t, mdp.gamma, dtype=torch.float64) if discount_actor else torch.ones_like(psi)
    if method == "score":
        S, A, d = mdp.n_states, mdp.n_actions, mdp.n_features
        coef = torch.where(valid, w * psi, torch.zeros_like(psi))          # [T, N]
        counts = torch.zeros(N, S * A, dtype=torch.float64)
        counts.scatter_add_(1, (s * A + a).T, coef.T)                      # sum_t coef over (s, a)
        per_episode = counts @ mdp.score(theta).reshape(S * A, d)          # [N, d]
        return per_episode.reshape(K, B, d).mean(1)
    if method == "autograd":
        from ..models import TabularSoftmax
        model = TabularSoftmax(mdp.features, theta)
        out = []
        for k in range(K):
            cols = slice(k * B, (k + 1) * B)
            logp = log_prob(model(s[:, cols]), a[:, cols])
            loss = actor_loss(logp, psi[:, cols], valid[:, cols],
                              w[:, cols] if discount_actor else None, n_episodes=B)
            (g,) = torch.autograd.grad(loss, model.theta)
            out.append(-g)
        return torch.stack(out)
    raise ValueError(f"method must be 'score' or 'autograd', got {method!r}")


def measure_tabular(mdp: TabularMDP, theta: Tensor, estimators: Sequence[str] | str | None = None,
                    K: int = 1000, B: int = 16, gamma: float | None = None, lam: float = 0.95,
                    n: int = 5, discount_actor: bool = True, critic_noise: float = 0.0,
                    critic: TabularCritic | None = None, seed: int = 0,
                    max_steps: int = 1000, threads: int | None = 1) -> VarianceTable:
    """K gradient estimates of B episodes each, per estimator, on a tabular MDP.

    Args:
        mdp, theta: the MDP and the softmax policy's parameters (shape [d]).
        estimators: names from ``acnotes.estimators.ESTIMATORS`` (default: all six).
        K: number of independent estimates (at least 2); B: episodes per estimate.
        gamma: discount (default: ``mdp.gamma``); the MDP is re-solved with it.
        lam: GAE lambda; n: the n of A2C's n-step return.
        discount_actor: weight term t by gamma^t. The reference is then the exact grad J;
            without it, ``mdp.policy_gradient(theta, discounted=False)``.
        critic_noise: relative size of the critic's error (``tabular_critic``); 0 = exact.
        critic: a ``TabularCritic`` to use instead (critic_noise is then ignored).
        seed: seeds the episodes (and the critic's error).
        threads: torch threads during the measurement (None: leave as is).

    All estimators share the same K*B episodes (common random numbers: differences between
    rows are not sampling luck). Returns a ``VarianceTable``.
    """
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    names = check_estimators(estimators)
    K, B, n = check_K(K), check_B(B), check_int("n", n)
    lam = check_unit("lam", lam)
    critic_noise = check_nonneg("critic_noise", critic_noise)
    max_steps = check_int("max_steps", max_steps)
    gamma = None if gamma is None else check_unit("gamma", gamma)
    theta = torch.as_tensor(theta, dtype=torch.float64)
    if theta.shape != (mdp.n_features,):
        raise ValueError(f"theta must have shape [{mdp.n_features}], got {tuple(theta.shape)}")
    with threads_or_not(threads):
        return _measure_tabular(mdp, theta, names, K, B, gamma, lam, n, discount_actor,
                                critic_noise, critic, seed, max_steps)


def _truncated(cut: int, n: int, max_steps: int) -> None:
    """Episodes cut at ``max_steps``: their estimates are not of whole episodes, while the
    exact gradient is; refuse when none ended, say so plainly when some did not."""
    if cut == n:
        raise ValueError(f"none of the {n} sampled episodes ended within max_steps={max_steps}: in this "
                         f"MDP the policy (almost) never terminates, so the estimates would be of cut "
                         f"episodes and the bias against the exact gradient would mean nothing; use an MDP "
                         f"whose episodes end")
    warnings.warn(f"{cut} of {n} sampled episodes did not end within max_steps={max_steps} and were cut: "
                  f"the estimates are biased by the cut (see the table's meta['truncated_episodes']); "
                  f"raise max_steps", RuntimeWarning, stacklevel=3)


def _measure_tabular(mdp, theta, names, K, B, gamma, lam, n, discount_actor, critic_noise, critic,
                     seed, max_steps) -> VarianceTable:
    if gamma is not None:
        mdp = mdp.with_gamma(gamma)
    gamma = float(mdp.gamma)
    if critic is None:
        critic = tabular_critic(mdp, theta, critic_noise, seed)
    ref = mdp.policy_gradient(theta, discounted=discount_actor)
    gen = torch.Generator().manual_seed(int(seed))
    t0 = time.perf_counter()
    eps = mdp.sample_episodes(theta, K * B, gen, max_steps=max_steps)
    t_sample = time.perf_counter() - t0
    cut = int(eps["truncated"].any(0).sum())
    if cut:
        _truncated(cut, K * B, max_steps)
    table = VarianceTable(meta=dict(
        env=mdp.name, reference="exact policy gradient" + ("" if discount_actor else
                                                           " without gamma^t (discounted=False)"),
        episode_steps=int(eps["valid"].sum()), sample_seconds=t_sample, truncated_episodes=cut))
    cache: dict = {}
    for name in names:
        est = get_estimator(name)
        t1 = time.perf_counter()
        psi = tabular_psi(mdp, theta, eps, est, critic, gamma, lam, n, cache)
        grads = tabular_gradients(mdp, theta, eps, psi, B, discount_actor)
        secs = time.perf_counter() - t1
        table.add_estimates(est, grads, ref, secs, env=mdp.name, K=K, B=B, gamma=gamma, lam=lam, n=n,
                            discount_actor=bool(discount_actor), critic_noise=critic_noise)
    return table
