"""Adam and RMSprop for a population: elementwise updates on stacked parameters.

Both optimizers act on each number separately, so one optimizer over tensors with a
leading member axis is K independent optimizers, each with its own state, provided that
the loss is a sum over members and that clipping is done per member (``train.clip_per_member``). Here each member
also has its own learning rates: ``lr[k]`` for the actor's parameters and ``critic_lr[k]``
for the critic's. The formulas are those of ``torch.optim.Adam`` and ``torch.optim.RMSprop``
with their defaults (Kingma & Ba, 2015; Tieleman & Hinton, 2012).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = ["PopulationOptimizer", "max_step"]


def max_step(kind: str, eps: float) -> float:
    """How far one step can move a number, in units of its learning rate, whatever the gradients.

    Adam: |m_hat| / (sqrt(v_hat) + eps) <= (1 - b1) / sqrt((1 - b2) (1 - b1^2 / b2)) = 7.27, by
    Cauchy-Schwarz on the two averages of the same gradients (the bias corrections only lower
    it). RMSprop: |g| / (sqrt(v) + eps) <= 1 / sqrt(1 - alpha) = 10, as v >= (1 - alpha) g^2.
    The margins cover the floats' rounding, and Adam's gradients so small that their squares
    underflow (at most 1e-16 / eps more); with eps below 1e-12 no bound is claimed (inf).
    """
    if kind == "rmsprop":
        return 10.5
    return 7.5 if eps >= 1e-12 else math.inf


def _per_member(x: Tensor, p: Tensor) -> Tensor:
    """[K] -> [K, 1, ..., 1], broadcastable against the stacked parameter ``p``."""
    return x.reshape((-1,) + (1,) * (p.dim() - 1))


class PopulationOptimizer:
    """Adam (``kind="adam"``) or RMSprop (``kind="rmsprop"``) over stacked parameters.

    Args:
        params: the stacked parameters, each [K, ...].
        is_actor: for each parameter, True if it belongs to the actor (learning rate
            ``lr``), False for the critic (``critic_lr``).
        lr, critic_lr: K learning rates each.
        eps: Adam's epsilon (added to the root of its second moment).

    ``step(active)`` updates only the members where ``active`` is True; the others keep
    their parameters and their state: their moments do not decay and their step count ``t[k]``
    stays, as when torch's optimizer of a single run is not stepped (PPO's empty minibatches,
    ``epochs.py``).

    ``travelled[k]`` bounds how far member k's parameters, as one vector, have moved since the
    start (the sum of the steps' norms), for the runaway check of ``members._Run``: a step moves
    each number by at most ``max_step * lr``, and rounding the new value by as much again.
    """

    def __init__(self, params: Sequence[Tensor], is_actor: Sequence[bool], lr: Tensor, critic_lr: Tensor,
                 kind: str = "adam", eps: float = 1e-8):
        if kind not in ("adam", "rmsprop"):
            raise ValueError(f"optimizer must be 'adam' or 'rmsprop', got {kind!r}")
        self.params = list(params)
        self.kind = kind
        self.is_actor = list(is_actor)
        self.adam_eps = eps
        self.set_lr(lr, critic_lr)
        self.t = np.zeros(self.params[0].shape[0], dtype=np.int64)   # each member's step count
        self.travelled = np.zeros(self.params[0].shape[0])
        self.m = [torch.zeros_like(p) for p in self.params] if kind == "adam" else None
        self.v = [torch.zeros_like(p) for p in self.params]

    def set_lr(self, lr: Tensor, critic_lr: Tensor) -> None:
        """The K learning rates of the actor and of the critic from now on (a schedule)."""
        self.lrs = [_per_member(lr if a else critic_lr, p).to(p.dtype) for p, a in zip(self.params, self.is_actor)]
        # the distinct lr tensors, each shaped for its parameters (one per shape and side)
        shared: dict = {}
        for i, (p, a) in enumerate(zip(self.params, self.is_actor)):
            self.lrs[i] = shared.setdefault((a, p.dim(), str(p.dtype)), self.lrs[i])
        self._distinct = list({id(lr): lr for lr in self.lrs}.values())
        # each member's bound on a step's norm (float64): 2 max_step sqrt(sum over parameters of size * lr^2)
        sq = sum(p.numel() // p.shape[0] * lr.numpy().reshape(-1).astype(np.float64) ** 2
                 for p, lr in zip(self.params, self.lrs))
        self._reach = 2 * max_step(self.kind, self.adam_eps) * np.sqrt(sq)
        self._scaled = (None, {})   # Adam's lr / -(1 - b1^t) for the last t (see ``step``)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, active: Tensor) -> None:
        stepping = active.numpy()
        every = bool(stepping.all())
        if every:
            self.t += 1
            self.travelled += self._reach
        else:
            self.t[stepping] += 1
            self.travelled[stepping] += self._reach[stepping]
        ps = self.params
        if every:
            gs, lrs, distinct, kept = [p.grad for p in ps], self.lrs, self._distinct, None
        else:  # a member that does not step keeps its parameters and state; a NaN gradient stays out
            ons = [_per_member(active, p) for p in ps]
            gs = [torch.where(on, p.grad, torch.zeros_like(p.grad)) for on, p in zip(ons, ps)]
            lrs = distinct = [lr * on for lr, on in zip(self.lrs, ons)]
            kept = [[x.clone() for x in state] for state in (self.m, self.v) if state is not None]
        if self.kind == "adam":
            b1, b2, eps = 0.9, 0.999, self.adam_eps
            torch._foreach_lerp_(self.m, gs, 1 - b1)
            torch._foreach_mul_(self.v, b2)
            torch._foreach_addcmul_(self.v, gs, gs, value=1 - b2)
            bc1, bc2_sqrt = self._bias_corrections(stepping, b1, b2)
            denom = torch._foreach_sqrt(self.v)
            torch._foreach_div_(denom, bc2_sqrt)
            torch._foreach_add_(denom, eps)
            # lr / -bc1 once per distinct lr tensor (two when all members step: actor, critic);
            # 1 - b1^t is exactly 1 after a few hundred steps, so the last ones are kept for it
            if kept is None and isinstance(bc1, float) and self._scaled[0] == bc1:
                scaled = self._scaled[1]
            else:
                scaled = {id(lr): lr / (-bc1 if isinstance(bc1, float) else -_per_member(bc1, lr))
                          for lr in distinct}
                if kept is None and isinstance(bc1, float):
                    self._scaled = (bc1, scaled)
            numer = torch._foreach_mul(self.m, [scaled[id(lr)] for lr in lrs])
        else:
            alpha, eps = 0.99, 1e-5
            torch._foreach_mul_(self.v, alpha)
            torch._foreach_addcmul_(self.v, gs, gs, value=1 - alpha)
            denom = torch._foreach_sqrt(self.v)
            torch._foreach_add_(denom, eps)
            scaled = {id(lr): -lr for lr in distinct}
            numer = torch._foreach_mul(gs, [scaled[id(lr)] for lr in lrs])
        if kept is not None:
            for state, old in zip((x for x in (self.m, self.v) if x is not None), kept):
                for x, x_old, on_p in zip(state, old, ons):
                    x.copy_(torch.where(on_p, x, x_old))
        torch._foreach_addcdiv_(ps, numer, denom)

    def _bias_corrections(self, stepping: np.ndarray, b1: float, b2: float):
        """Adam's ``1 - b1^t`` and ``sqrt(1 - b2^t)``: two numbers when the stepping members have
        taken the same number of steps, else one per member [K] (float32, each rounded once as the
        number would be), since a member's PPO minibatch may have been empty (``epochs.py``)."""
        ts = set(self.t[stepping].tolist())
        if len(ts) <= 1:
            t = max(ts, default=1)
            return 1 - b1 ** t, math.sqrt(1 - b2 ** t)
        t = np.maximum(self.t, 1)        # a member that has never stepped gets lr 0 here anyway
        bc1 = torch.tensor([1 - b1 ** int(x) for x in t], dtype=torch.float32)
        bc2 = torch.tensor([math.sqrt(1 - b2 ** int(x)) for x in t], dtype=torch.float32)
        return bc1, [_per_member(bc2, p) for p in self.params]
