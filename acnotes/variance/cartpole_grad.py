"""Gradient estimates on CartPole-v1, against the mean of a large separate batch.

There is no exact gradient: the reference is the mean of REINFORCE-with-baseline estimates
(plain REINFORCE without a V critic) over a separate batch of episodes. The baseline adds no
bias whatever the critic and lowers the reference's noise; at the 500-step time limit the
return of REINFORCE-with-baseline bootstraps from V(s_500), as the actor-critics' returns do,
so there the reference leans on the critic too (plain REINFORCE stops at the limit).
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from ..envs import make_cartpole
from ..estimators import actor_loss, get as get_estimator, log_prob
from ..returns import discount_powers
from ..rollout import Batch, Collector
from . import values
from ._args import ESTIMATOR_NAMES, check_estimators, check_B, check_int, check_K, check_unit, threads_or_not
from .table import VarianceTable

__all__ = ["cartpole_pool", "cartpole_gradients", "measure_cartpole"]


class _PolicyLogits(nn.Module):
    """Wraps a policy so that ``forward`` returns only the logits (for functional_call)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.m = model

    def forward(self, obs: Tensor) -> Tensor:
        return self.m.logits(obs) if hasattr(self.m, "logits") else self.m(obs)


def _actor_params(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """Named parameters of the policy: ``actor_parameters()`` if the model has it."""
    wrapped = _PolicyLogits(model)
    if hasattr(model, "actor_parameters"):
        ids = {id(p) for p in model.actor_parameters()}
        return [(k, p) for k, p in wrapped.named_parameters() if id(p) in ids]
    return list(wrapped.named_parameters())


def _critic_fn(c) -> Callable[[Tensor], Tensor] | None:
    """A critic as a function of observations: a module returning (logits, critic) or a callable."""
    if c is None:
        return None
    if isinstance(c, nn.Module) and hasattr(c, "critic_kind"):
        return lambda obs: c(obs)[1]
    return c


def cartpole_pool(model: nn.Module, K: int, B: int, seed: int = 0, reward_scale: float = 1.0) -> Batch:
    """K*B whole CartPole episodes in one time-major Batch [T, K*B]: one episode per env.

    One ``Collector.episodes()`` call on ``make_cartpole(K*B)``: every env plays one episode
    with the policy; the steps after it ended are ``valid=False``. Estimate k uses columns
    k*B .. k*B+B-1.
    """
    env = make_cartpole(K * B)
    try:
        col = Collector(env, _PolicyLogits(model), seed=seed, reward_scale=reward_scale)
        with torch.no_grad():
            return col.episodes()
    finally:
        env.close()


def _per_estimate_layout(batch: Batch, psi: Tensor, w: Tensor, K: int, B: int):
    """Re-arrange [T, K*B] episodes into [K, L] rows: the valid steps of each estimate first."""
    T = batch.obs.shape[0]

    def lay(x):  # [T, K*B, ...] -> [K, B*T, ...]
        x = x.transpose(0, 1)
        return x.reshape(K, B * T, *x.shape[2:])

    valid = lay(batch.valid)
    order = torch.sort((~valid).to(torch.int8), dim=1, stable=True).indices
    L = max(int(valid.sum(1).max()), 1)
    order = order[:, :L]

    def take(x):
        x = lay(x)
        idx = order.reshape(K, L, *([1] * (x.dim() - 2))).expand(K, L, *x.shape[2:])
        return torch.gather(x, 1, idx)

    return take(batch.obs), take(batch.actions), take(psi), take(w), take(batch.valid)


def cartpole_gradients(model: nn.Module, batch: Batch, psi: Tensor, K: int, B: int, gamma: float,
                       discount_actor: bool = True, method: str = "vmap",
                       chunk_steps: int = 100_000) -> Tensor:
    """Per-estimate policy gradients [K, P] (P = number of policy parameters).

    Estimate k is minus the gradient of ``estimators.actor_loss(logp, psi, valid, w,
    n_episodes=B)`` over the episodes k*B .. k*B+B-1 of ``batch``: the per-episode form.

    ``method="vmap"`` computes all K at once with ``torch.func``: ``vmap(grad(loss))`` over
    the estimates, calling the model through ``functional_call``; ``chunk_steps`` bounds the
    number of steps in one vectorized call (memory). ``method="loop"`` runs K separate
    backward passes (the plain way, and the check).
    """
    if batch.obs.shape[1] != K * B:
        raise ValueError(f"the batch has {batch.obs.shape[1]} episodes (columns); K * B = {K * B}")
    obs, act, psi_k, w_k, valid_k = _per_estimate_layout(
        batch, psi, discount_powers(batch.t, gamma) if discount_actor else torch.ones_like(psi), K, B)
    wrapped = _PolicyLogits(model)
    named = _actor_params(model)
    if method == "vmap":
        from torch.func import functional_call, grad, vmap
        params = {k: p.detach() for k, p in named}

        def loss(p, o, a, ps, w, v):
            logp = log_prob(functional_call(wrapped, p, (o,), strict=False), a)
            return actor_loss(logp, ps, v, w, n_episodes=B)

        per_sample = vmap(grad(loss), in_dims=(None, 0, 0, 0, 0, 0))
        # Estimates differ in length: sort them by length and cut them into groups, each
        # padded only to its own longest, with at most chunk_steps steps per vmap call.
        counts = valid_k.sum(1)
        order = torch.argsort(counts)
        total = int(counts.sum())
        n_groups = max(min(K, 8), -(-K * obs.shape[1] // chunk_steps), -(-total // chunk_steps))
        out = torch.empty(K, sum(p.numel() for _, p in named), dtype=obs.dtype)
        for idx in torch.tensor_split(order, n_groups):
            if idx.numel() == 0:
                continue
            L = max(int(counts[idx].max()), 1)
            g = per_sample(params, obs[idx, :L], act[idx, :L], psi_k[idx, :L], w_k[idx, :L],
                           valid_k[idx, :L])
            out[idx] = -torch.cat([g[k].reshape(idx.numel(), -1) for k, _ in named], dim=1)
        return out
    if method == "loop":
        ps = [p for _, p in named]
        out = []
        for k in range(K):
            logp = log_prob(wrapped(obs[k]), act[k])
            loss = actor_loss(logp, psi_k[k], valid_k[k], w_k[k], n_episodes=B)
            gs = torch.autograd.grad(loss, ps)
            out.append(-torch.cat([x.reshape(-1) for x in gs]))
        return torch.stack(out)
    raise ValueError(f"method must be 'vmap' or 'loop', got {method!r}")


def measure_cartpole(policy, estimators: Sequence[str] | str | None = None, K: int = 200, B: int = 4,
                     gamma: float | None = None, lam: float = 0.95, n: int = 5,
                     discount_actor: bool = True, v_critic=None, q_critic=None,
                     reward_scale: float | None = None, ref_episodes: int | None = None,
                     ref_groups: int = 50, seed: int = 0, method: str = "vmap",
                     threads: int | None = 1) -> VarianceTable:
    """K gradient estimates of B whole CartPole episodes each, per estimator.

    Args:
        policy: an ``acnotes.train.Agent`` or an ``ActorCritic`` (any module with
            ``logits(obs)``). Its parameters are not changed.
        v_critic, q_critic: critics for Psi_t: modules returning ``(logits, critic)``
            (an ``ActorCritic`` with critic "v" / "q") or functions of observations.
            Default: the policy's own critic head. Estimators whose critic is missing are
            skipped when ``estimators`` is None, and raise a ValueError when asked for.
        gamma, reward_scale: default to the Agent's config (else 0.99 and 1.0).
        ref_episodes: episodes of the separate reference batch (default ``max(2000, 2*K*B)``),
            in ``ref_groups`` groups whose spread gives the reference's own noise.
        method: "vmap" (torch.func) or "loop" (K backward passes).
        threads: torch threads during the measurement (None: leave as is).

    Reference: the mean of the REINFORCE-with-baseline estimates of the reference batch
    (plain REINFORCE if there is no V critic): unbiased for the same gradient the estimators
    target, whatever the critic's quality. All estimators share the same K*B episodes.
    """
    cfg = getattr(policy, "config", None)
    model = getattr(policy, "model", policy)
    if not isinstance(model, nn.Module):
        raise ValueError(f"policy must be an Agent or an nn.Module, got {type(policy).__name__}")
    K, B, n = check_K(K), check_B(B), check_int("n", n)
    ref_groups = check_int("ref_groups", ref_groups)
    lam = check_unit("lam", lam)
    gamma = check_unit("gamma", gamma if gamma is not None else getattr(cfg, "gamma", 0.99))
    reward_scale = float(reward_scale if reward_scale is not None else getattr(cfg, "reward_scale", 1.0))
    ref_episodes = check_int("ref_episodes", ref_episodes if ref_episodes is not None else max(2000, 2 * K * B))
    ref_groups = min(ref_groups, ref_episodes)
    ref_episodes -= ref_episodes % ref_groups
    own = getattr(model, "critic_kind", None)
    v_fn = _critic_fn(v_critic if v_critic is not None else (model if own == "v" else None))
    q_fn = _critic_fn(q_critic if q_critic is not None else (model if own == "q" else None))
    have = {None: True, "v": v_fn is not None, "q": q_fn is not None}
    if estimators is None:
        names = [x for x in ESTIMATOR_NAMES if have[get_estimator(x).critic]]
    else:
        names = check_estimators(estimators)
        missing = [x for x in names if not have[get_estimator(x).critic]]
        if missing:
            kind = get_estimator(missing[0]).critic.upper()
            raise ValueError(f"estimators {missing} need a {kind} critic: "
                             f"pass v_critic= / q_critic= (an ActorCritic with that critic head)")
    if method not in ("vmap", "loop"):
        raise ValueError(f"method must be 'vmap' or 'loop', got {method!r}")
    with threads_or_not(threads):
        return _measure_cartpole(model, names, K, B, gamma, lam, n, discount_actor, v_fn, q_fn,
                                 reward_scale, ref_episodes, ref_groups, seed, method)


def _measure_cartpole(model, names, K, B, gamma, lam, n, discount_actor, v_fn, q_fn, reward_scale,
                      ref_episodes, ref_groups, seed, method) -> VarianceTable:
    logits_fn = _PolicyLogits(model)
    ref_name = "reinforce_baseline" if v_fn is not None else "reinforce"

    def grads_for(est, batch, k, b, cache=None):
        psi = values.psi(est, batch, gamma, lam, n, v=v_fn, q=q_fn, logits=logits_fn, cache=cache)
        return cartpole_gradients(model, batch, psi, k, b, gamma, discount_actor, method)

    t0 = time.perf_counter()
    ref_batch = cartpole_pool(model, ref_groups, ref_episodes // ref_groups, seed + 10_007, reward_scale)
    t_ref_collect = time.perf_counter() - t0
    ref_g = grads_for(get_estimator(ref_name), ref_batch, ref_groups, ref_episodes // ref_groups).double()
    ref = ref_g.mean(0)
    ref_noise = float(ref_g.var(0, unbiased=True).sum()) / ref_groups if ref_groups > 1 else 0.0
    t_ref = time.perf_counter() - t0
    t1 = time.perf_counter()
    pool = cartpole_pool(model, K, B, seed, reward_scale)
    t_collect = time.perf_counter() - t1
    table = VarianceTable(meta=dict(
        env="CartPole-v1",
        reference=f"mean of {ref_name} over {ref_episodes} separate episodes",
        reference_episodes=ref_episodes, reference_seconds=t_ref,
        reference_collect_seconds=t_ref_collect, collect_seconds=t_collect,
        episode_steps=int(pool.valid.sum()), mean_episode_length=float(pool.valid.sum()) / (K * B),
        n_params=int(ref.numel()), method=method))
    cache: dict = {}
    for name in names:
        est = get_estimator(name)
        t2 = time.perf_counter()
        grads = grads_for(est, pool, K, B, cache).double()
        secs = time.perf_counter() - t2
        table.add_estimates(est, grads, ref, secs, reference_cov_trace=ref_noise, env="CartPole-v1", K=K, B=B,
                            gamma=gamma, lam=lam, n=n, discount_actor=bool(discount_actor),
                            critic_noise=float("nan"))
    table.meta["total_seconds"] = time.perf_counter() - t0
    return table
