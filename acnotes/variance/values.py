"""The critic's values and Psi_t on an episodes batch, for the variance lab.

Tabular episodes and CartPole episodes both arrive as a time-major batch [T, N] with the
fields of ``acnotes.rollout.Batch`` (``obs``, ``actions``, ``next_obs``, ``valid``,
``rewards``, ``terminated``, ``truncated``, ``t``; tabular ``obs`` are state indices), and
the critic as plain functions of observations. ``critic_values`` evaluates them on the
states s_0..s_T and hands the rows to ``acnotes.estimators.values``, the builder the
training loop uses; ``psi`` hands the result to the estimator.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from .. import estimators

__all__ = ["critic_values", "psi"]

Fn = Callable[[Tensor], Tensor]


def _on_rows(fn: Fn, x: Tensor, used: Tensor) -> Tensor:
    """``fn(x)`` on the ``used`` rows only (zeros elsewhere): the padding after each episode
    can be most of a [T, N] episodes batch, and is never read."""
    y = fn(x[used])
    out = torch.zeros(*used.shape, *y.shape[1:], dtype=y.dtype)
    out[used] = y
    return out


def _states(batch) -> tuple[Tensor, Tensor]:
    """s_0..s_T as T+1 rows, and which rows a Psi_t of a valid step reads: s_t of a valid
    step, and the state after it. A ValueError if ``next_obs[t]`` is not ``obs[t+1]``."""
    valid = batch.valid
    step = valid[:-1]
    if not torch.equal(batch.next_obs[:-1][step], batch.obs[1:][step]):
        raise ValueError("an episodes batch needs next_obs[t] == obs[t+1] on every valid step "
                         "(as Collector.episodes and TabularMDP.sample_episodes give)")
    used = torch.cat([valid, valid[-1:]])
    used[1:] |= valid
    return torch.cat([batch.obs, batch.next_obs[-1:]]), used


def critic_values(kind: str | None, batch, *, v: Fn | None = None, q: Fn | None = None,
                  logits: Fn | None = None, cache: dict | None = None) -> estimators.Values:
    """The ``Values`` that Psi_t reads, for the critic ``kind`` (None, "v" or "q"); no gradient.

    Args:
        kind: the estimator's ``critic``.
        batch: episodes [T, N] with ``obs``, ``actions``, ``next_obs`` and ``valid``.
        v: ``v(obs) -> V(s)`` [M], for a V critic.
        q: ``q(obs) -> Q(s, .)`` [M, A], for a Q critic; with it
        logits: ``logits(obs) -> [M, A]``, the policy's logits (pi = their softmax).
        cache: a dict that keeps the values per kind, for estimators sharing a critic.

    As ``estimators.values``: V critic, ``v = V(s_t)``, ``v_next = V(s_{t+1})``; Q critic,
    ``q = Q(s_t, a_t)`` and the expected-SARSA value ``v_next = sum_a pi(a|s_{t+1}) Q(s_{t+1}, a)``.
    Only the states that a valid step reads are evaluated; the others hold 0 (every episode
    ends with a terminated or truncated step, so Psi_t of a valid step never reads them).
    """
    cache = {} if cache is None else cache
    if kind is None:
        return estimators.Values()
    if kind in cache:
        return cache[kind]
    fn = v if kind == "v" else q
    if fn is None or (kind == "q" and logits is None):
        raise ValueError(f"a {kind.upper()} critic needs " + ("v=" if kind == "v" else "q= and logits="))
    rows, used = _states(batch)
    with torch.no_grad():
        logits_all = _on_rows(logits, rows, used) if kind == "q" else None
        vals = estimators.values(kind, batch, logits_all, _on_rows(fn, rows, used))
    cache[kind] = vals
    return vals


def psi(est: estimators.Estimator, batch, gamma: float, lam: float, n: int, **critic) -> Tensor:
    """Psi_t of estimator ``est`` on ``batch`` [T, N] (detached); ``critic``: the keywords of
    ``critic_values`` (v, q, logits, cache)."""
    vals = critic_values(est.critic, batch, **critic)
    return est.psi(batch, vals, gamma, lam, n).detach()
