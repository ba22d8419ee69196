"""Returns, TD errors, n-step targets and GAE as pure tensor functions.

Every function takes time-major tensors of shape ``[T]`` or ``[T, N]`` (T steps of N
parallel environments) and the two episode-end flags kept apart. ``gamma`` and ``lam`` are
numbers, or tensors of shape ``[N]`` when the envs belong to a population whose members
each have their own:

* ``terminated[t]``: the episode really ended after step t (the pole fell). There is no
  future, so nothing is bootstrapped: the continuation value is 0.
* ``truncated[t]``: the episode was cut off after step t (CartPole-v1 stops at 500 steps).
  The future exists but is not observed, so the continuation value is ``V(s_{t+1})``.

``v_next[t]`` is always the value of the state that followed step t, ``s_{t+1}``. At a
truncation that is the last state of the episode, not the first state of the next one.
The last step of a batch that ended neither way is treated like a truncation: its
return is bootstrapped from ``v_next[T-1]``.

Notation (used the same way in the notebooks):

    delta_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t)
    G_t     = r_t + gamma * (1 - done_t) * G_{t+1} + gamma * truncated_t * V(s_{t+1})
    A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}      (GAE)

with ``done_t = terminated_t or truncated_t``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "reward_to_go",
    "td_error",
    "td_target",
    "nstep_targets",
    "gae",
    "lambda_returns",
    "discount_powers",
]


def _float(x: Tensor, like: Tensor) -> Tensor:
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


def _check_unit(name: str, x) -> None:
    """``x`` (a number, or a tensor of them: one per env of a population) lies in [0, 1]."""
    # numpy's calls on a few numbers cost less than torch's (the engine checks every update);
    # force=True: detached and on the CPU, in one call
    v = x.numpy(force=True) if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)
    if not ((v >= 0.0) & (v <= 1.0)).all():
        raise ValueError(f"{name} must be in [0, 1], got {x}")


def _check_gamma(gamma) -> None:
    _check_unit("gamma", gamma)


def td_target(r: Tensor, v_next: Tensor, terminated: Tensor, gamma: float) -> Tensor:
    """One-step TD target ``y_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1})``.

    Truncation does not appear: at a time limit the target bootstraps from ``V(s_{t+1})``
    like any other step. Detach ``v_next`` (or compute it under ``torch.no_grad``) before
    regressing a critic onto this target. (Sutton & Barto, 2018, eq. 6.2.)
    """
    _check_gamma(gamma)
    return r + gamma * (1.0 - _float(terminated, r)) * v_next


def td_error(r: Tensor, v: Tensor, v_next: Tensor, terminated: Tensor, gamma: float) -> Tensor:
    """TD error ``delta_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t)``.

    With the true V, ``E[delta_t | s_t, a_t] = A(s_t, a_t)``, which is why TD Actor-Critic
    may use it in place of the advantage.
    """
    return td_target(r, v_next, terminated, gamma) - v


def reward_to_go(
    r: Tensor,
    terminated: Tensor,
    truncated: Tensor,
    gamma: float,
    v_next: Tensor | None = None,
) -> Tensor:
    """Discounted reward-to-go ``G_t = sum_{k>=0} gamma^k r_{t+k}``, up to the episode's end.

    The sum restarts at every episode boundary (``terminated`` or ``truncated``). Where an
    episode was truncated, or is still running at the end of the batch, the tail
    ``gamma * V(s_{t+1})`` is added if ``v_next`` is given; without ``v_next`` the return
    simply stops there (the Monte Carlo return of REINFORCE).
    """
    _check_gamma(gamma)
    term = _float(terminated, r)
    trunc = _float(truncated, r)
    done = torch.clamp(term + trunc, max=1.0)
    boot = trunc.clone() * (1.0 - term)
    boot[-1] = 1.0 - term[-1]  # the batch ends: bootstrap unless the episode terminated
    tail = torch.zeros_like(r) if v_next is None else boot * v_next
    g = torch.zeros_like(r[0])
    # g_t = r_t + gamma * ((1 - done_t) * g_{t+1} + tail_t); the elementwise parts that do
    # not depend on g are computed for every t at once (the same numbers, fewer small ops)
    keep, rs, tails = (1.0 - done).unbind(0), r.unbind(0), tail.unbind(0)
    out = []
    for t in range(r.shape[0] - 1, -1, -1):
        g = rs[t] + gamma * (keep[t] * g + tails[t])
        out.append(g)
    return torch.stack(out[::-1]) if out else torch.empty_like(r)


def gae(
    r: Tensor,
    v: Tensor,
    v_next: Tensor,
    terminated: Tensor,
    truncated: Tensor,
    gamma: float,
    lam: float,
) -> Tensor:
    """Generalized advantage estimate ``A_t = sum_k (gamma lambda)^k delta_{t+k}``.

    The sum stops at the end of the episode (either flag) and at the end of the batch.
    ``lam = 0`` gives the TD error; ``lam = 1`` gives ``G_t - V(s_t)`` with the return
    bootstrapped at truncation. (Schulman et al., 2016, eq. 16.)
    """
    _check_gamma(gamma)
    _check_unit("lam", lam)
    delta = td_error(r, v, v_next, terminated, gamma)
    done = torch.clamp(_float(terminated, r) + _float(truncated, r), max=1.0)
    a = torch.zeros_like(delta[0])
    # a_t = delta_t + ((gamma * lam) * (1 - done_t)) * a_{t+1}, evaluated in that order, with
    # the factor that does not depend on a computed for every t at once
    decay, deltas = ((gamma * lam) * (1.0 - done)).unbind(0), delta.unbind(0)
    out = []
    for t in range(delta.shape[0] - 1, -1, -1):
        a = deltas[t] + decay[t] * a
        out.append(a)
    return torch.stack(out[::-1]) if out else torch.empty_like(delta)


def lambda_returns(r, v, v_next, terminated, truncated, gamma: float, lam: float) -> Tensor:
    """The lambda-return ``G^lambda_t = A_t + V(s_t)``: the critic's target under GAE."""
    return gae(r, v, v_next, terminated, truncated, gamma, lam) + v


def nstep_targets(
    r: Tensor,
    v_next: Tensor,
    terminated: Tensor,
    truncated: Tensor,
    gamma: float,
    n: int,
) -> Tensor:
    """n-step target ``G^(n)_t = sum_{k<m} gamma^k r_{t+k} + gamma^m V(s_{t+m})``.

    ``m = min(n, steps to the end of the episode or the batch)``. The bootstrap term is
    dropped when the episode terminated within those m steps, and kept at a truncation.
    ``n = 1`` is the TD target; ``n >= T`` gives the A2C target "up to t_max" steps.
    """
    _check_gamma(gamma)
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    T = r.shape[0]
    term = _float(terminated, r)
    done = torch.clamp(term + _float(truncated, r), max=1.0)
    out = torch.empty_like(r)
    for t in range(T):
        g = torch.zeros_like(r[0])
        disc = torch.ones_like(r[0])
        alive = torch.ones_like(r[0])  # 1 while still inside the episode of step t
        boot = torch.zeros_like(r[0])
        for k in range(min(n, T - t)):
            s = t + k
            g = g + alive * disc * r[s]
            disc_next = disc * gamma
            last = (k == n - 1) or (s == T - 1)
            # bootstrap where the window stops: at its end, or at a truncation
            stop_here = alive * done[s] if not last else alive
            boot = boot + stop_here * disc_next * (1.0 - term[s]) * v_next[s]
            alive = alive * (1.0 - done[s])
            disc = disc_next
        out[t] = g + boot
    return out


def discount_powers(t: Tensor, gamma: float, dtype: torch.dtype = torch.float32) -> Tensor:
    """``gamma ** t`` for the time index t within each episode (the factor REINFORCE needs
    to be the gradient of the discounted objective, and that most code drops), in ``dtype``
    (float32 for networks; float64 for the exact tabular computations)."""
    _check_gamma(gamma)
    return torch.as_tensor(gamma, dtype=dtype) ** t.to(dtype)
