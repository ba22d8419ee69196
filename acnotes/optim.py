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

import torch
from torch import Tensor

__all__ = ["PopulationOptimizer"]


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
    their parameters.
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
        self.t = 0
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

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, active: Tensor) -> None:
        self.t += 1
        ps = self.params
        if bool(active.all()):
            gs, lrs, distinct = [p.grad for p in ps], self.lrs, self._distinct
        else:  # a stopped member keeps its parameters; its NaN gradient stays out of the state
            ons = [_per_member(active, p) for p in ps]
            gs = [torch.where(on, p.grad, torch.zeros_like(p.grad)) for on, p in zip(ons, ps)]
            lrs = distinct = [lr * on for lr, on in zip(self.lrs, ons)]
        if self.kind == "adam":
            b1, b2, eps = 0.9, 0.999, self.adam_eps
            torch._foreach_lerp_(self.m, gs, 1 - b1)
            torch._foreach_mul_(self.v, b2)
            torch._foreach_addcmul_(self.v, gs, gs, value=1 - b2)
            bc1, bc2_sqrt = 1 - b1 ** self.t, math.sqrt(1 - b2 ** self.t)
            denom = torch._foreach_sqrt(self.v)
            torch._foreach_div_(denom, bc2_sqrt)
            torch._foreach_add_(denom, eps)
            # lr / -bc1 once per distinct lr tensor (two when all members step: actor, critic)
            scaled = {id(lr): lr / -bc1 for lr in distinct}
            numer = torch._foreach_mul(self.m, [scaled[id(lr)] for lr in lrs])
        else:
            alpha, eps = 0.99, 1e-5
            torch._foreach_mul_(self.v, alpha)
            torch._foreach_addcmul_(self.v, gs, gs, value=1 - alpha)
            denom = torch._foreach_sqrt(self.v)
            torch._foreach_add_(denom, eps)
            scaled = {id(lr): -lr for lr in distinct}
            numer = torch._foreach_mul(gs, [scaled[id(lr)] for lr in lrs])
        torch._foreach_addcdiv_(ps, numer, denom)
