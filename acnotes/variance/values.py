"""The critic's values and Psi_t on an episodes batch: the one place the variance lab builds them.

Tabular episodes and CartPole episodes both arrive as a time-major batch [T, N] with the
fields of ``acnotes.rollout.Batch`` (``obs``, ``actions``, ``next_obs``, ``valid``,
``rewards``, ``terminated``, ``truncated``, ``t``; tabular ``obs`` are state indices), and
the critic as plain functions of observations. ``critic_values`` builds the
``estimators.Values`` from them, as the training loop does; ``psi`` hands them to the
estimator. (When the training engine gets one shared Values builder, this is the function
it replaces.)
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from .. import estimators

__all__ = ["critic_values", "psi"]

Fn = Callable[[Tensor], Tensor]


def _on_valid(fn: Fn, x: Tensor, valid: Tensor) -> Tensor:
    """``fn(x)`` on the valid steps only (zeros elsewhere): the padding after each episode
    can be most of a [T, N] episodes batch, and is never used."""
    y = fn(x[valid])
    out = torch.zeros(*valid.shape, *y.shape[1:], dtype=y.dtype)
    out[valid] = y
    return out


def critic_values(kind: str | None, batch, *, v: Fn | None = None, q: Fn | None = None,
                  pi: Fn | None = None, cache: dict | None = None) -> estimators.Values:
    """The ``Values`` that Psi_t reads, for the critic ``kind`` (None, "v" or "q"); no gradient.

    Args:
        kind: the estimator's ``critic``.
        batch: episodes [T, N] with ``obs``, ``actions``, ``next_obs`` and ``valid``.
        v: ``v(obs) -> V(s)`` [M], for a V critic.
        q: ``q(obs) -> Q(s, .)`` [M, A], for a Q critic; with it
        pi: ``pi(obs) -> pi(.|s)`` [M, A], the policy's probabilities.
        cache: a dict that keeps the values per kind, for estimators sharing a critic.

    V critic: ``v = V(s_t)``, ``v_next = V(s_{t+1})``. Q critic: ``q = Q(s_t, a_t)`` and the
    expected-SARSA value ``v_next = sum_a pi(a|s_{t+1}) Q(s_{t+1}, a)``. Only valid steps are
    evaluated; the others hold 0 (every episode ends with a terminated or truncated step, so
    Psi_t of a valid step never reads them).
    """
    cache = {} if cache is None else cache
    if kind is None:
        return estimators.Values()
    if kind in cache:
        return cache[kind]
    need = v if kind == "v" else q
    if need is None or (kind == "q" and pi is None):
        raise ValueError(f"a {kind.upper()} critic needs " + ("v=" if kind == "v" else "q= and pi="))
    with torch.no_grad():
        if kind == "v":
            vals = estimators.Values(v=_on_valid(v, batch.obs, batch.valid),
                                     v_next=_on_valid(v, batch.next_obs, batch.valid))
        else:
            q_all = _on_valid(q, batch.obs, batch.valid)

            def v_of_q(o):
                return (pi(o) * q(o)).sum(-1)

            vals = estimators.Values(q=q_all.gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1),
                                     v_next=_on_valid(v_of_q, batch.next_obs, batch.valid))
    cache[kind] = vals
    return vals


def psi(est: estimators.Estimator, batch, gamma: float, lam: float, n: int, **critic) -> Tensor:
    """Psi_t of estimator ``est`` on ``batch`` [T, N] (detached); ``critic``: the keywords of
    ``critic_values`` (v, q, pi, cache)."""
    vals = critic_values(est.critic, batch, **critic)
    return est.psi(batch, vals, gamma, lam, n).detach()
