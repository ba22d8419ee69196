"""What each member of a population run still does, and the checks that stop one on its own.

``train.train_population`` keeps one ``_Run``: the members' Histories, which members still
train (``Collector.active``), and after every update the checks that stop a member while the
others go on: a loss or gradient that is not finite, weights that ran away, a saturated
policy (each with its message and a RuntimeWarning), the target return, the step budget.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
from torch import Tensor

from .config import Config
from .history import History
from .rollout import Collector

__all__ = ["RUNAWAY", "SATURATED"]

# Divergence without NaN. A member has diverged, even if every number is still finite, when
# its parameter norm grows beyond RUNAWAY times its initial norm (Adam with lr 1e6 does this),
# or when its policy saturates: a mean entropy below SATURATED nats means pi(a|s) is 0 or 1 to
# float precision, so grad log pi is about 0 and the policy can no longer learn (Adam with
# lr 0.1 on CartPole ends there, pushing the cart one way, with returns near 9).
RUNAWAY = 100.0
SATURATED = 1e-6


class _Run:
    """The state of one population run: members, histories, what each member still does,
    and the checks that stop a member on its own (divergence, target, budget)."""

    def __init__(self, configs: list[Config], col: Collector, params: list[Tensor], saturates: bool = True):
        self.configs = configs
        # a softmax policy saturates at entropy 0; a Gaussian's (differential) entropy may be
        # below 0 and still learn: the check is for discrete actions only
        self.saturates = saturates
        self.K = len(configs)
        self.col = col
        self.hists = [History(config=c.to_dict()) for c in configs]
        self.t0 = time.perf_counter()
        self.n_logged = 0
        with torch.no_grad():
            self.start_norm = _param_norms(params)
        self.limit = RUNAWAY * self.start_norm   # the runaway threshold, computed once
        # the norms last computed, and the optimizer's ``travelled`` then (see ``after_update``)
        self._last_norm, self._travelled_then = self.start_norm.numpy().astype(np.float64), 0.0
        self._half_limit = self.limit.numpy() / 2
        self.total_steps = np.array([c.total_steps for c in configs])
        self.targets = any(c.target_return is not None for c in configs)

    def stop(self, k: int, status: str, message: str = "", warn: bool = False):
        self.col.active[k] = False
        self.hists[k].status = status
        self.hists[k].message = message
        if warn:   # the caller of train_population (stop <- diverge <- a check <- train_population)
            warnings.warn(message, RuntimeWarning, stacklevel=5)

    def diverge(self, k: int, what: str):
        c = self.configs[k]
        who = "" if self.K == 1 else f"member {k} (seed {c.seed}, gamma {c.gamma:g}, lr {c.lr:g}): "
        self.stop(k, "diverged", f"{who}{what} after {self.col.member_steps[k]} env steps; "
                                 f"try a smaller lr (now {c.lr:g}) or gradient clipping", warn=True)

    def stop_if_not_finite(self, x: Tensor, what: str):
        """Stop each active member whose ``x[k]`` (a loss, a gradient norm) is NaN or inf."""
        # the checks read each [K] tensor once, as numpy (the same numbers, fewer small ops);
        # most updates have every number finite, and then one test says so
        finite = np.isfinite(x.detach().numpy())
        if finite.all():
            return
        for k in (self.col.active & ~finite).nonzero()[0]:
            self.diverge(k, f"{what} became {x[k].item()}")

    def only_active(self, loss: Tensor) -> Tensor:
        """``loss`` [K] with the stopped members' entries replaced by 0 (as it is when all act:
        the mask would multiply by exactly 1)."""
        active = self.col.active
        return loss if active.all() else torch.where(torch.from_numpy(active.copy()), loss, torch.zeros_like(loss))

    def after_update(self, updated: np.ndarray, params: list[Tensor], a, c, g, e, travelled=None):
        """Log the update of the members ``updated``, then stop those whose weights ran away
        or whose policy saturated, and those that reached their target or budget. ``travelled``:
        the optimizer's bound on how far each member's weights have moved so far
        (``PopulationOptimizer.travelled``; without it the norms are computed every update)."""
        # A member's norm is at most the one last computed plus the distance travelled since.
        # While that is below half the limit for every member updated (the half leaves room for
        # the norms' rounding), none can have crossed it and the norms are not computed: the
        # same members stop at the same update as when they are computed every time.
        grown = None
        bound = None if travelled is None else self._last_norm + (travelled - self._travelled_then)
        if bound is None or not (bound < self._half_limit)[updated].all():
            with torch.no_grad():
                norms = _param_norms(params)
            grown = (norms > self.limit).numpy()
            self._last_norm = norms.numpy().astype(np.float64)
            self._travelled_then = 0.0 if travelled is None else travelled.copy()
        self.log_update(updated, a, c, g, e)
        # each loop only when some member is concerned (most updates: none)
        if grown is not None and grown.any():
            for k in (updated & grown).nonzero()[0]:
                self.diverge(k, f"the weights grew past {RUNAWAY:g} times their initial norm")
        saturated = e.numpy() < SATURATED if self.saturates else None
        if saturated is not None and saturated.any():
            for k in (self.col.active & saturated).nonzero()[0]:
                self.diverge(k, f"the policy saturated (mean entropy {e[k].item():.1e} nats: pi(a|s) is "
                                f"0 or 1, so it can no longer learn)")
        self.finish_members()

    def log_update(self, updated: np.ndarray, a, c, g, e):
        now = time.perf_counter() - self.t0
        a, c, g, e = (x.tolist() for x in (a, c, g, e))
        steps = self.col.member_steps.tolist()
        for k in updated.nonzero()[0].tolist():
            h = self.hists[k]
            h.steps.append(steps[k])
            h.time.append(now)
            h.actor_loss.append(a[k])
            h.critic_loss.append(c[k])
            h.grad_norm.append(g[k])
            h.entropy.append(e[k])
        log = self.col.log
        for i in range(self.n_logged, len(log.returns)):
            h = self.hists[log.members[i]]
            h.episode_returns.append(log.returns[i])
            h.episode_lengths.append(log.lengths[i])
            h.episode_steps.append(log.end_steps[i])
        self.n_logged = len(log.returns)

    def finish_members(self):
        """Stop members that reached their target or their step budget."""
        active = self.col.active
        if not self.targets and not (active & (self.col.member_steps >= self.total_steps)).any():
            return   # no target to test and no budget reached (most updates)
        for k in active.nonzero()[0]:
            c, h = self.configs[k], self.hists[k]
            if (c.target_return is not None and len(h.episode_returns) >= 100
                    and np.mean(h.episode_returns[-100:]) >= c.target_return):
                self.stop(k, "target reached")
            elif self.col.member_steps[k] >= c.total_steps:
                self.stop(k, "done")

    def interrupted(self):
        for k in np.flatnonzero(self.col.active):
            self.stop(k, "interrupted",
                      f"interrupted after {self.col.member_steps[k]} env steps; the History so far is returned")


def _param_norms(params) -> Tensor:
    """The norm of all of each member's parameters: shape [K]."""
    # p * p is what p.square() computes (pow with exponent 2 multiplies), in one foreach call
    sq = torch._foreach_mul(params, params)
    return torch.stack([s.reshape(s.shape[0], -1).sum(1) for s in sq]).sum(0).sqrt()
