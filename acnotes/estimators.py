"""The weights Psi_t of the policy gradient, one per algorithm, and the losses.

Every algorithm of the series estimates

    grad J(theta) = E[ sum_t  w_t * grad log pi_theta(a_t | s_t) * Psi_t ]

and they differ only in ``Psi_t`` (and in the critic they learn to compute it):

    ==================  ====================================  =========
    name                Psi_t                                 critic
    ==================  ====================================  =========
    reinforce           G_t                                   none
    reinforce_baseline  G_t - V(s_t)                          V
    qac                 Q(s_t, a_t)                           Q
    a2c                 G^(n)_t - V(s_t)   (n-step advantage) V
    tdac                r_t + gamma V(s_{t+1}) - V(s_t)       V
    gae                 sum_k (gamma lambda)^k delta_{t+k}    V
    ==================  ====================================  =========

PPO (the ``ppo`` preset) is not a row of its own: its Psi_t is ``gae``'s, and what it changes is
the loss around Psi_t (the ratio pi/pi_old and its clip, ``clipped_terms``) and the loop
(several epochs of minibatch steps on one batch, ``epochs.py``).

``w_t = gamma^t`` makes the estimator the gradient of the discounted objective J; most code
uses ``w_t = 1`` (``discount_actor=False``), which is not the gradient of any objective in
general but has lower variance and works well in practice.

Each row is one named function, ``psi, target = a2c(batch, values, gamma=..., n=...)``,
registered with ``@estimator``, which also records the settings it reads (``uses``: a2c reads
gamma and n, gae gamma and lam). The critic's values arrive in a ``Values`` record (built by
``values``); Psi_t and the critic target are computed from it, with the critic's values
detached (``Config.detach_target=False`` keeps the target's gradient, for a comparison only).

Everything here is for one batch layout, [T, N] (time, envs), and one network: the losses
come as per-step terms (``actor_terms``, ``critic_terms``, ``entropy_terms``, zero on the
steps that do not count) and as their means over the batch (``actor_loss``, ``critic_loss``,
``entropy``). Training many agents at once only changes how the terms are summed, and that
is done in ``train.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from . import returns

__all__ = ["Values", "Estimator", "ESTIMATORS", "SETTINGS", "estimator", "values", "get", "log_prob",
           "actor_terms", "clipped_terms", "critic_terms", "entropy_terms", "actor_loss", "critic_loss", "entropy"]

# the settings an estimator may read, as keyword arguments of its function
SETTINGS = ("gamma", "lam", "n")


@dataclass
class Values:
    """What Psi_t may need from the critic, for a batch of shape [T, N].

    ``v``: V(s_t), with gradient (the critic's prediction). For a Q critic, the policy's
        average ``sum_a pi(a|s_t) Q(s_t, a)``, detached (that critic learns Q, not V; v is
        there for a baseline, as in benchmarks/qac_baseline.py).
    ``v_next``: V(s_{t+1}), detached. For a Q critic, the expected value
        ``sum_a pi(a|s_{t+1}) Q(s_{t+1}, a)`` (expected SARSA).
    ``q``: Q(s_t, a_t), with gradient (only for a Q critic).
    """

    v: Tensor | None = None
    v_next: Tensor | None = None
    q: Tensor | None = None


@dataclass(frozen=True)
class Estimator:
    """One row of the table: a named function that computes Psi_t and the critic's target.

    ``compute(batch, values, **settings)`` returns ``(psi, target)``: Psi_t and what the
    critic regresses onto (None without a critic), both without gradient. It takes as
    keywords exactly the settings named in ``uses`` (from ``SETTINGS``: ``gamma``, ``lam``,
    ``n``); ``apply`` picks them out of all three. ``critic`` is None, "v" or "q".
    ``episodic`` estimators need whole episodes (REINFORCE's return cannot be cut).
    ``gamma`` and ``lam`` may be numbers or tensors that broadcast against the batch (one
    value per env).
    """

    name: str
    label: str
    psi_formula: str
    critic: str | None
    episodic: bool
    uses: tuple[str, ...]
    compute: Callable[..., tuple[Tensor, Tensor | None]]

    def apply(self, batch, values: "Values", *, gamma, lam=None, n=None) -> tuple[Tensor, Tensor | None]:
        """``(psi, target)``, given every setting; only those in ``uses`` are passed on."""
        given = {"gamma": gamma, "lam": lam, "n": n}
        return self.compute(batch, values, **{name: given[name] for name in self.uses})

    def psi(self, batch, values: "Values", gamma, lam, n) -> Tensor:
        """Psi_t alone (positional form, as the variance lab calls it)."""
        return self.apply(batch, values, gamma=gamma, lam=lam, n=n)[0]

    def target(self, batch, values: "Values", gamma, lam, n) -> Tensor | None:
        """The critic's target alone (positional form, as notebook 1 calls it)."""
        return self.apply(batch, values, gamma=gamma, lam=lam, n=n)[1]


ESTIMATORS: dict[str, Estimator] = {}


def estimator(*, label: str, psi_formula: str, critic: str | None, uses: tuple[str, ...], episodic: bool = False):
    """Register the decorated function as the estimator named after it. ``uses`` names the
    settings (from ``SETTINGS``) it takes as keyword arguments."""
    unknown = [u for u in uses if u not in SETTINGS]
    if unknown:
        raise ValueError(f"uses must name settings from {SETTINGS}; got {unknown}")

    def register(fn):
        name = fn.__name__.rstrip("_")
        ESTIMATORS[name] = Estimator(name, label, psi_formula, critic, episodic, tuple(uses), fn)
        return fn
    return register


def _reward_to_go(b, gamma, v_next=None):
    return returns.reward_to_go(b.rewards, b.terminated, b.truncated, gamma, v_next=v_next)


def _td_target(b, vals, gamma):
    return returns.td_target(b.rewards, vals.v_next, b.terminated, gamma)


@estimator(label="REINFORCE", psi_formula="G_t", critic=None, uses=("gamma",), episodic=True)
def reinforce(b, vals, *, gamma):
    """Psi_t = G_t, the Monte Carlo return to the end of the episode (not bootstrapped)."""
    return _reward_to_go(b, gamma), None


@estimator(label="REINFORCE + baseline", psi_formula="G_t - V(s_t)", critic="v", uses=("gamma",),
           episodic=True)
def reinforce_baseline(b, vals, *, gamma):
    """Psi_t = G_t - V(s_t); V regresses onto G_t.

    G_t bootstraps with gamma V(s_{t+1}) where the episode is cut (a time limit, or the end
    of the batch for an episode still running; on whole episodes only the time limit), like
    the other critics: the limit is an interruption, not part of the task. It stops at a
    termination."""
    g = _reward_to_go(b, gamma, v_next=vals.v_next)
    return g - vals.v.detach(), g


@estimator(label="Q Actor-Critic", psi_formula="Q_w(s_t, a_t)", critic="q", uses=("gamma",))
def qac(b, vals, *, gamma):
    """Psi_t = Q_w(s_t, a_t); Q regresses onto the (expected SARSA) TD target."""
    return vals.q.detach(), _td_target(b, vals, gamma)


@estimator(label="A2C", psi_formula="G^(n)_t - V(s_t)", critic="v", uses=("gamma", "n"))
def a2c(b, vals, *, gamma, n):
    """Psi_t = G^(n)_t - V(s_t), the n-step advantage; V regresses onto G^(n)_t.

    With n at least the batch length, G^(n)_t is the return bootstrapped at the batch's
    end ("up to t_max" in Mnih et al., 2016), computed in O(T)."""
    if n is None or n >= b.rewards.shape[0]:
        g = _reward_to_go(b, gamma, v_next=vals.v_next)
    else:
        g = returns.nstep_targets(b.rewards, vals.v_next, b.terminated, b.truncated, gamma, n)
    return g - vals.v.detach(), g


@estimator(label="TD Actor-Critic", psi_formula="r_t + gamma V(s_{t+1}) - V(s_t)", critic="v",
           uses=("gamma",))
def tdac(b, vals, *, gamma):
    """Psi_t = delta_t = r_t + gamma V(s_{t+1}) - V(s_t); V regresses onto the TD target."""
    y = _td_target(b, vals, gamma)
    return y - vals.v.detach(), y


@estimator(label="GAE(lambda)", psi_formula="sum_k (gamma lambda)^k delta_{t+k}", critic="v",
           uses=("gamma", "lam"))
def gae(b, vals, *, gamma, lam):
    """Psi_t = A^GAE_t; V regresses onto the lambda-return A^GAE_t + V(s_t)."""
    a = returns.gae(b.rewards, vals.v.detach(), vals.v_next, b.terminated, b.truncated, gamma, lam)
    return a, a + vals.v.detach()


def values(critic: str | None, batch, logits_all: Tensor, crit: Tensor | None,
           detach_next: bool = True) -> Values:
    """The critic's ``Values`` from one forward pass over s_0..s_T (``T+1`` rows in time).

    ``next_obs[t] = obs[t+1]`` for every valid step (NEXT_STEP autoreset), so V(s_{t+1})
    is the next row. V(s_t) and Q(s_t, a_t) keep their gradient; V(s_{t+1}) is detached,
    unless ``detach_next=False`` (then it keeps the critic's gradient, never the policy's:
    the undetached target of ``Config.detach_target=False``).
    For a Q critic, V(s_{t+1}) is the expected SARSA value sum_a pi(a|s_{t+1}) Q(s_{t+1}, a),
    and V(s_t) the same average at s_t, detached.
    """
    T = batch.obs.shape[0]
    if critic is None:
        return Values()
    if critic == "v":
        return Values(v=crit[:T], v_next=(crit.detach() if detach_next else crit)[1:])
    q = crit[:T].gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
    with torch.set_grad_enabled(torch.is_grad_enabled() and not detach_next):
        v_all = (torch.softmax(logits_all.detach(), dim=-1) * crit).sum(-1)
    return Values(q=q, v=v_all[:T].detach(), v_next=v_all[1:])


def get(name: str) -> Estimator:
    """The estimator called ``name``; a ValueError lists the valid names."""
    try:
        return ESTIMATORS[name]
    except KeyError:
        raise ValueError(f"algo must be one of {', '.join(ESTIMATORS)}; got {name!r}") from None


def log_prob(logits: Tensor, actions: Tensor) -> Tensor:
    """log pi(a_t|s_t) from logits: ``log_softmax`` then pick the action taken."""
    return torch.log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


def actor_terms(logp: Tensor, psi: Tensor, valid: Tensor, weight: Tensor | None = None) -> Tensor:
    """The per-step terms ``w_t * log pi(a_t|s_t) * Psi_t`` [T, N], with Psi_t detached and
    0 on the steps that are not ``valid``. ``weight`` is w_t (None: 1)."""
    psi = psi.detach()
    terms = logp * psi if weight is None else logp * psi * weight
    return torch.where(valid, terms, 0.0)


def clipped_terms(logp: Tensor, logp_old: Tensor, psi: Tensor, valid: Tensor, lo=None, hi=None) -> Tensor:
    """PPO's per-step terms ``min(rho_t Psi_t, clip(rho_t, lo, hi) Psi_t)`` with the ratio
    ``rho_t = pi(a_t|s_t) / pi_old(a_t|s_t) = exp(log pi - log pi_old)``, Psi_t detached, 0 on
    the steps that are not ``valid`` (Schulman et al., 2017, eq. 7). ``lo``/``hi`` are
    ``1 - eps``/``1 + eps``, numbers or tensors that broadcast (one per member); ``None``: the
    plain ``rho_t Psi_t``. At theta = theta_old, rho_t = 1 and grad rho_t = grad log pi, so
    the gradient of the sum of these terms is that of ``actor_terms``' (A2C's) sum."""
    psi = psi.detach()
    ratio = torch.exp(logp - logp_old.detach())
    terms = ratio * psi
    if lo is not None:
        terms = torch.min(terms, torch.clamp(ratio, lo, hi) * psi)
    return torch.where(valid, terms, 0.0)


def actor_loss(logp: Tensor, psi: Tensor, valid: Tensor, weight: Tensor | None = None,
               n_episodes: int | Tensor | None = None) -> Tensor:
    """Surrogate loss whose gradient is minus the policy-gradient estimate.

    ``L = -(1/M) sum_{t valid} w_t * log pi(a_t|s_t) * Psi_t`` with Psi_t detached.
    M is the number of episodes when given (the gradient of J per episode, as REINFORCE
    derives it: sum over time, mean over episodes), else the number of valid steps.
    """
    m = n_episodes if n_episodes is not None else valid.sum().clamp(min=1)
    return -actor_terms(logp, psi, valid, weight).sum() / m


def critic_terms(pred: Tensor, target: Tensor, valid: Tensor, kind: str = "mse",
                 detach_target: bool = True) -> Tensor:
    """The per-step errors ``(pred - target)^2 / 2`` (``kind="mse"``) or smooth-L1 (Huber)
    [T, N], 0 on the steps that are not ``valid``.

    The target is detached: the critic moves towards it, the target does not move
    towards the critic (a semi-gradient, as in TD(0)). ``detach_target=False`` keeps the
    target's gradient (the residual gradient; only for notebook 7's ablation).
    """
    if detach_target:
        target = target.detach()
    if kind == "mse":
        err = 0.5 * (pred - target) ** 2
    elif kind == "smooth_l1":
        err = F.smooth_l1_loss(pred, target, reduction="none")
    else:
        raise ValueError(f"critic_loss must be 'mse' or 'smooth_l1', got {kind!r}")
    return torch.where(valid, err, 0.0)


def critic_loss(pred: Tensor, target: Tensor, valid: Tensor, kind: str = "mse",
                detach_target: bool = True) -> Tensor:
    """Mean over valid steps of (pred - target)^2 / 2, or the smooth-L1 (Huber) loss, with
    the target detached (see ``critic_terms``)."""
    return critic_terms(pred, target, valid, kind, detach_target).sum() / valid.sum().clamp(min=1)


def entropy_terms(logits: Tensor, valid: Tensor) -> Tensor:
    """The policy's entropy H = -sum_a pi(a|s_t) log pi(a|s_t) at each step [T, N], 0 on
    the steps that are not ``valid``."""
    logp_all = torch.log_softmax(logits, -1)
    h = -(logp_all.exp() * logp_all).sum(-1)
    return torch.where(valid, h, 0.0)


def entropy(logits: Tensor, valid: Tensor) -> Tensor:
    """Mean over valid steps of the policy's entropy (see ``entropy_terms``)."""
    return entropy_terms(logits, valid).sum() / valid.sum().clamp(min=1)
