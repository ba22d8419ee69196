"""The engine's fast path: the actor replays what acting computed, and the common losses'
gradient is written out, so an update builds no autograd graph.

``train.train_population`` trains a population with separate actor and critic trunks
through a ``Replay``:

* ``Replay.policy`` is the collector's policy. It keeps the input of every actor layer at each
  step: the parameters do not change while a batch is collected, so these are the numbers
  a second forward pass in the loss would compute. The loss uses them (the actor runs once
  per step, on s_0..s_{T-1}: T rows, not T+1), and the critic runs once on s_0..s_T.
* ``Replay.forward`` gives ``step_terms`` the logits and the critic's values. With autograd,
  each side is one node whose backward is written out (``models.HandBackward``).
* For the common losses (``Replay.by_hand``: no critic or a V critic, squared error, a
  detached target; every preset but ``qac`` and ``blog-tdac``), ``Replay.backward`` writes
  the loss's gradient with respect to the logits and V(s_t) out as well, and sends it
  through both sides with ``models.backprop``: no autograd at all.

    d loss / d logits = -(w_t Psi_t / M) (onehot(a_t) - pi) + (c_ent / n) pi (log pi + H)
    d loss / d V(s_t) = (c_vf / n) (V(s_t) - y_t)

for each valid step of an active member, 0 elsewhere (M: the actor's divisor, n: the valid
steps; see ``train.losses``). tests/test_backprop.py compares both with autograd.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .models import HandBackward, Population, backprop

__all__ = ["Replay", "to_members", "to_time"]


def to_members(x: Tensor, K: int) -> Tensor:
    """[T, K*N, ...] (time-major) -> [K, T*N, ...] (member-major)."""
    T, KN = x.shape[:2]
    if K == 1:   # one member: time-major is member-major already (the same view or copy)
        return x.reshape(1, T * KN, *x.shape[2:])
    return x.reshape(T, K, KN // K, *x.shape[2:]).transpose(0, 1).reshape(K, T * (KN // K), *x.shape[2:])


def to_time(y: Tensor, T: int) -> Tensor:
    """[K, T*N, ...] -> [T, K*N, ...]."""
    K, TN = y.shape[:2]
    if K == 1:
        return y.reshape(T, TN // T, *y.shape[2:])
    return y.reshape(K, T, TN // T, *y.shape[2:]).transpose(0, 1).reshape(T, K * (TN // T), *y.shape[2:])


class Replay:
    """The collector's ``policy`` and ``step_terms``'s ``forward`` for a population with
    separate trunks (see the module docstring)."""

    def __init__(self, pop: Population):
        if pop.shared:
            raise ValueError("Replay needs separate actor and critic trunks")
        self.pop, self.K = pop, pop.members
        self.kept: list[tuple[list[Tensor], Tensor]] = []   # per acting step: (layer inputs, logits)
        self.xs: dict[str, list[Tensor]] = {}                # the layer inputs of the last forward

    def by_hand(self, critic: str | None, critic_loss: str, detach_target: bool) -> bool:
        """Whether ``backward`` can write these losses' gradient out."""
        return critic in (None, "v") and critic_loss == "mse" and detach_target

    def policy(self, obs: Tensor) -> Tensor:
        """[K*N, d] -> logits [K*N, A], keeping the actor's layers for the loss."""
        xs, logits = self.pop.layers("actor", obs.reshape(self.K, obs.shape[0] // self.K, obs.shape[1]))
        self.kept.append((xs, logits))
        return logits.reshape(obs.shape[0], -1)

    def _replay(self):
        """The kept layers as [K, T*N, ...], in time-then-env order within a member."""
        kept, self.kept = self.kept, []
        # each step's [K, N, ...] joined on axis 1: [K, T*N, ...], time then env (one call, not stack and flatten)
        xs = [torch.cat([x[i] for x, _ in kept], 1) for i in range(len(kept[0][0]))]
        self.xs["actor"] = xs
        return xs, torch.cat([y for _, y in kept], 1)

    def _critic(self):
        xs, c = self.pop.layers("critic", self._obs)
        self.xs["critic"] = xs
        return xs, c

    def forward(self, obs: Tensor):
        """``(logits [T, K*N, A], critic [T+1, K*N, ...])`` for ``obs`` [T+1, K*N, d]: the
        logits of the T acting steps (and, for a Q critic only, pi at s_T without gradient,
        which its expected SARSA target needs). Under autograd each side is one
        ``HandBackward`` node; without (``torch.no_grad``), plain tensors for ``backward``."""
        T1, pop = obs.shape[0], self.pop
        if len(self.kept) != T1 - 1:
            raise RuntimeError(f"the batch has {T1 - 1} steps but {len(self.kept)} acting steps were kept")
        grad = torch.is_grad_enabled()
        act = pop.template["activation"]
        logits = HandBackward.apply(self._replay, act, pop.side_weights("actor"), pop.actor) if grad \
            else self._replay()[1]
        logits = to_time(logits, T1 - 1)
        if pop.critic_kind is None:
            return logits, None
        self._obs = to_members(obs, self.K)
        crit = HandBackward.apply(self._critic, act, pop.side_weights("critic"), pop.critic) if grad \
            else self._critic()[1]
        self._obs = None
        crit = to_time(crit.squeeze(-1) if pop.critic_kind == "v" else crit, T1)
        if pop.critic_kind == "q":
            with torch.no_grad():
                last = pop.logits(obs[-1].reshape(self.K, obs.shape[1] // self.K, -1)).reshape(1, obs.shape[1], -1)
            logits = torch.cat([logits, last])
        return logits, crit

    @torch.no_grad()
    def backward(self, terms, active: np.ndarray, vf_coef: Tensor, ent_coef: Tensor, member_sums,
                 counts=None) -> None:
        """Set the gradient of ``sum over active members of actor + vf_coef critic - ent_coef
        entropy`` (``train.losses``' three losses) on ``pop.actor`` and ``pop.critic``, from the
        ``terms`` of a forward without autograd (the formulas: the module docstring).
        ``counts``: ``train.divisors(terms, member_sums)`` if the caller has them already."""
        pop, K = self.pop, self.K
        T, KN = terms.valid.shape
        per_env = KN // K
        # [T, K*N]; when every member is active, the mask would be valid & True
        on = terms.valid if active.all() else terms.valid & torch.from_numpy(np.repeat(active, per_env))

        def each_env(x: Tensor) -> Tensor:                                    # [K] -> [K*N]
            return torch.from_numpy(np.repeat(x.numpy(), per_env))          # (K numbers: numpy's call is cheaper)

        if counts is None:
            from .train import divisors   # train.py imports this module
            counts = divisors(terms, member_sums)
        n, m = counts
        psi = terms.psi if terms.weight is None else terms.psi * terms.weight
        p = torch.softmax(terms.logits, -1)
        # onehot(a_t) - pi as -pi with 1 added at a_t: 1 + (-pi_a) is 1 - pi_a, the same float
        onehot_minus_p = p.neg().scatter_(-1, terms.actions.unsqueeze(-1), 1.0, reduce="add")
        dlogits = torch.where(on, -psi / each_env(m), 0.0).unsqueeze(-1) * onehot_minus_p
        if (ent_coef.numpy() > 0).any():
            logp = torch.log_softmax(terms.logits, -1)
            h = -(p * logp).sum(-1, keepdim=True)
            dlogits = dlogits + torch.where(on, each_env(ent_coef / n), 0.0).unsqueeze(-1) * p * (logp + h)
        act = pop.template["activation"]
        pop.actor.grad = backprop(self.xs["actor"], pop.side_weights("actor"), to_members(dlogits, K), act)
        if pop.critic is not None:
            dv = torch.where(on, each_env(vf_coef / n) * (terms.pred - terms.target), 0.0)
            dv = torch.cat([dv, torch.zeros_like(dv[:1])])                     # V(s_T) is detached
            pop.critic.grad = backprop(self.xs["critic"], pop.side_weights("critic"),
                                       to_members(dv, K).unsqueeze(-1), act)
        self.xs = {}
