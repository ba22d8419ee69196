"""PPO's update: several epochs of minibatch steps on one rollout, on the ratio-clipped loss.

Every other algorithm of the engine takes one optimizer step per rollout, on

    L = -(1/n) sum_t log pi(a_t|s_t) Psi_t  +  c_vf (1/n) sum_t (V(s_t) - y_t)^2 / 2  -  c_ent H.

PPO (Schulman et al., 2017) keeps what the engine computes for that step, the rollout, Psi_t
and the critic's target y_t (from the same estimator: GAE(lambda) in the ``ppo`` preset,
computed once with the critic of pi_old), and takes ``epochs`` passes over the rollout's valid
steps in shuffled minibatches of ``batch_size``. After its first step the policy is no longer
pi_old, which collected the rollout, so log pi becomes the ratio and the ratio is clipped:

    L_actor = -(1/n_mb) sum_{t in mb} min( rho_t Psi_t, clip(rho_t, 1 - eps, 1 + eps) Psi_t ),
    rho_t = pi_theta(a_t|s_t) / pi_old(a_t|s_t)                 (``estimators.clipped_terms``)

with Psi_t normalised over each minibatch if ``norm_adv`` (as stable-baselines3 does), and the
critic's and entropy terms as above, over the minibatch. So the table of the series stays one
engine where Psi_t is the difference: PPO adds the ratio, its clipping and the epochs.

It reduces to A2C's update: with one epoch, one minibatch (the whole rollout), no clipping and
no normalisation, the only step is taken at theta = theta_old, where rho_t = 1 and
grad rho_t = rho_t grad log pi = grad log pi, so L_actor has the gradient of A2C's actor loss
(tests/test_epochs.py checks it numerically). The engine takes its usual step then instead
(``Config.uses_epochs``), so the other presets' numbers do not depend on this file.

The gradient is taken by autograd through the loss; each side's layers are one node whose
backward is written out (``models.HandBackward``), as for ``qac``. ``backprop.Replay``'s
hand-written gradient of the whole loss does not fit: the network runs again at every step on
a new minibatch, and the clipped term's gradient is zero where the clip is active.

Minibatches in a population: member k shuffles its own ``n_k`` valid steps with its own
generator (``torch.randperm(n_k)``, the collector's generator for its actions, as
``reference/ppo.py`` does); every member's minibatch j holds the places ``j*B .. (j+1)*B - 1``
of its shuffled list, padded with masked rows, so the shapes do not depend on the other
members and a member follows its single run. A member with no more than ``j*B`` valid steps
(at least ``n_envs * n_steps - j*B`` autoreset steps in the rollout) skips that step, as the
reference's loop over its own list does: its parameters, its Adam moments and its step count
stay (``optim.PopulationOptimizer.step``; tests/test_reference.py checks a member against the
reference with minibatches of 85 of 256 steps). With ``batch_size >= n_envs * n_steps``
(rl-zoo's CartPole settings: 8 x 32 steps, minibatches of 256) there is one minibatch per
epoch and this never happens.

With a Gaussian policy (Pendulum-v1, ``Config.env``) the same loss holds with the Gaussian's
log pi: rho_t = exp(log N(a_t; mu_theta(s_t), sigma_theta^2) - log N(a_t; mu_old, sigma_old^2)),
a_t the *unclipped* sampled action (the clip to [-2, 2] is the env's, outside the
log-probability, as in the engine's one-step path and ``acnotes.gaussian``), and the entropy
the Gaussian's, sum_i log sigma_i + (1 + log 2 pi) / 2. Its rows run through ``pop(obs)`` with
autograd (the free log sigma is no layer of ``HandBackward``), as the one-step Gaussian path does.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from . import estimators, gaussian
from .backprop import to_members
from .models import HandBackward, Population

__all__ = ["forward_rows", "log_prob", "entropy_terms", "minibatch_losses", "update", "clip_bounds", "schedule"]


def forward_rows(pop: Population, obs: Tensor) -> tuple[Tensor, Tensor | None]:
    """``(logits [K, B, A], V [K, B])`` of every member on its rows ``obs`` [K, B, d], with
    autograd: each side one ``HandBackward`` node (separate trunks), else ``pop(obs)``. A
    Gaussian policy's "logits" are (mu, log sigma) concatenated, [K, B, 2 * act_dim], from
    ``pop(obs)`` (its free log sigma is no layer of ``HandBackward``)."""
    if pop.shared or pop.gaussian:
        return pop(obs)
    act = pop.template["activation"]
    logits = HandBackward.apply(lambda: pop.layers("actor", obs), act, pop.side_weights("actor"), pop.actor)
    return logits, (None if pop.critic is None else pop.critic_values(obs))


def log_prob(logits: Tensor, actions: Tensor, continuous: bool = False) -> Tensor:
    """log pi(a|s) of the actions taken: categorical from logits, or (``continuous``) the
    Gaussian log-density of the unclipped action under (mu, log sigma) = ``logits`` split in two
    (the clip to the action bound belongs to the env, ``acnotes.gaussian``)."""
    if not continuous:
        return estimators.log_prob(logits, actions)
    mu, log_std = logits.chunk(2, -1)
    return gaussian.log_prob(actions, mu, log_std)


def entropy_terms(logits: Tensor, mask: Tensor, continuous: bool = False) -> Tensor:
    """The policy's entropy on each row, 0 where ``mask`` is False: the softmax's, or the Gaussian's."""
    if not continuous:
        return estimators.entropy_terms(logits, mask)
    return torch.where(mask, gaussian.entropy(logits.chunk(2, -1)[1]), 0.0)


def minibatch_losses(logits: Tensor, v: Tensor | None, actions: Tensor, logp_old: Tensor, psi: Tensor,
                     target: Tensor | None, mask: Tensor, *, lo=None, hi=None, norm_adv: bool = False,
                     critic_loss: str = "mse", continuous: bool = False):
    """PPO's three losses ``(actor, critic, entropy)``, one per member [K], on minibatch rows
    [K, B] (``mask``: the rows that count): each a sum over the member's rows divided by their
    number. ``lo``/``hi`` [K, 1] clip the ratio (None: no clipping); ``norm_adv`` normalises
    Psi_t over the member's rows (mean 0, unbiased std 1, as ``torch.std``) when it has two or more;
    ``critic_loss`` is ``Config.critic_loss`` (``estimators.critic_terms``' kind). ``continuous``:
    a Gaussian policy (``log_prob``, ``entropy_terms``; ``actions`` [K, B, act_dim])."""
    count = mask.sum(1)
    n = count.clamp(min=1)
    if norm_adv:
        mean = torch.where(mask, psi, 0.0).sum(1, keepdim=True) / n[:, None]
        var = torch.where(mask, (psi - mean) ** 2, 0.0).sum(1, keepdim=True) / (count - 1).clamp(min=1)[:, None]
        psi = torch.where((count > 1)[:, None], (psi - mean) / (var.sqrt() + 1e-8), psi)
    logp = log_prob(logits, actions, continuous)
    actor = -estimators.clipped_terms(logp, logp_old, psi, mask, lo, hi).sum(1) / n
    critic = torch.zeros_like(actor) if v is None else estimators.critic_terms(v, target, mask, critic_loss).sum(1) / n
    return actor, critic, entropy_terms(logits, mask, continuous).sum(1) / n


def update(pop: Population, opt, params: Sequence[Tensor], batch, terms, run, gens: Sequence[torch.Generator], *,
           epochs: int, batch_size: int | None, lo: Tensor | None, hi: Tensor | None, norm_adv: bool,
           vf_coef: Tensor, ent_coef: Tensor, max_norm: Tensor, critic_loss: str = "mse", continuous: bool = False):
    """``epochs`` passes of minibatch steps on one rollout (the module docstring).

    ``batch`` [T, K*N] and its ``terms`` (``train.step_terms`` without autograd: pi_old's
    logits, Psi_t, the target); ``run`` (``members._Run``) says which members act and stops
    those whose loss or gradient is not finite; ``gens`` are the members' generators (the
    collector's); ``continuous``: a Gaussian policy (``minibatch_losses``). Returns the losses,
    gradient norms and entropies [K] of each member's last step.
    """
    from .train import clip_per_member   # train.py imports this module

    K = pop.members
    obs, actions = to_members(batch.obs, K), to_members(batch.actions, K)   # [K, R, d]; [K, R] ([K, R, 1] Gaussian)
    valid = to_members(batch.valid, K)
    logp_old = to_members(log_prob(terms.logits, batch.actions, continuous), K)
    psi = terms.psi if terms.weight is None else terms.psi * terms.weight
    psi = to_members(psi, K)
    target = None if terms.target is None else to_members(terms.target, K)
    R = valid.shape[1]
    B = min(batch_size or R, R)
    rows_of = [torch.nonzero(valid[k]).squeeze(1) for k in range(K)]              # in time, then env order
    counts = np.array([len(r) for r in rows_of])
    members = torch.arange(K)[:, None]
    last = [torch.zeros(K) for _ in range(4)]
    for _ in range(epochs):
        order = torch.zeros(K, R, dtype=torch.long)
        for k in np.flatnonzero(run.col.active):
            order[k, :counts[k]] = rows_of[k][torch.randperm(int(counts[k]), generator=gens[k])]
        for start in range(0, R, B):
            idx = order[:, start:start + B]
            if idx.shape[1] == 1:   # one row: torch multiplies it with another kernel for one member
                idx = torch.cat([idx, idx], 1)    # than for several (Population._linear); a masked copy
            place = torch.arange(start, start + idx.shape[1])
            mask = place[None, :] < torch.from_numpy(counts)[:, None]
            stepping = run.col.active & (counts > start)
            logits, v = forward_rows(pop, obs[members, idx])
            a, c, e = minibatch_losses(logits, v, actions[members, idx], logp_old[members, idx], psi[members, idx],
                                       None if target is None else target[members, idx], mask,
                                       lo=lo, hi=hi, norm_adv=norm_adv, critic_loss=critic_loss,
                                       continuous=continuous)
            loss = a + vf_coef * c - ent_coef * e
            run.stop_if_not_finite(torch.where(torch.from_numpy(stepping), loss, 0.0), "loss")
            stepping &= run.col.active
            opt.zero_grad()
            on = torch.from_numpy(stepping)
            torch.where(on, loss, 0.0).sum().backward()
            g = clip_per_member(params, max_norm)
            run.stop_if_not_finite(torch.where(on, g, 0.0), "gradient norm")
            stepping &= run.col.active
            on = torch.from_numpy(stepping)
            opt.step(on)
            last = [torch.where(on, x.detach(), old) for x, old in zip((a, c, g, e), last)]
    return tuple(last)


def clip_bounds(clip_eps: Sequence[float | None], left: np.ndarray) -> tuple[Tensor | None, Tensor | None]:
    """``(1 - eps_k, 1 + eps_k)`` [K, 1] for clip ranges ``eps_k * left_k`` (``left``: what is left
    of a linear schedule, 1 without one), computed in float64 and rounded once, as the one-file
    version's ``torch.clamp(ratio, 1 - eps, 1 + eps)`` does; (None, None) if no member clips.
    A member without clipping gets (-inf, inf)."""
    if all(e is None for e in clip_eps):
        return None, None
    eps = np.array([math.inf if e is None else float(e) * x for e, x in zip(clip_eps, left)])
    lo = torch.tensor(1.0 - eps, dtype=torch.float32)[:, None]
    hi = torch.tensor(1.0 + eps, dtype=torch.float32)[:, None]
    return lo, hi


def schedule(configs, member_steps: np.ndarray) -> np.ndarray:
    """What is left of a linear schedule for each member before its next rollout:
    ``max(0, 1 - steps / total_steps)`` (rl-zoo's ``lin_``), 1 for a member without ``anneal``.
    Read before the rollout, as ``reference/ppo.py`` does; SB3 reads it after the rollout, before
    its epochs, so here each update's step size and clip range are one rollout's worth higher
    (for the ``ppo`` preset, 256 of its 300,000 env steps: higher by 0.085% of their start values)."""
    return np.array([max(0.0, 1.0 - int(s) / c.total_steps) if c.anneal else 1.0
                     for c, s in zip(configs, member_steps)])
