"""A scalar linear-quadratic regulator with a linear-Gaussian policy: a continuous-action
problem whose objective and policy gradient are known exactly (notebook 11).

The system, the reward and the policy (theta = (k, log sigma)):

    s_{t+1} = f s_t + b a_t,     r_t = -(q s_t^2 + rho a_t^2),     a_t = -k s_t + sigma eps_t,  eps_t ~ N(0, 1)

from a fixed s_0, discounted by gamma, with no end. Write m = f - b k (the closed loop).

The second moment X_t = E[s_t^2] obeys X_{t+1} = m^2 X_t + b^2 sigma^2, so, when gamma m^2 < 1,

    S = sum_t gamma^t X_t = (s_0^2 + gamma b^2 sigma^2 / (1 - gamma)) / (1 - gamma m^2)

and, since E[r_t] = -((q + rho k^2) X_t + rho sigma^2),

    J(k, log sigma) = -(q + rho k^2) S - rho sigma^2 / (1 - gamma)  =  -(P s_0^2 + c_0),

    P = (q + rho k^2) / (1 - gamma m^2),     c_0 = sigma^2 (rho + gamma b^2 P) / (1 - gamma).

The value is V(s) = -(P s^2 + c_0) (the same recursion from any s), the action value
Q(s, a) = -(q s^2 + rho a^2) + gamma V(f s + b a), and the advantage A(s, a) = Q(s, a) - V(s).
Differentiating J:

    dJ/dk         = -2 S (rho k - gamma b m P)
    dJ/d log sigma = -2 c_0

so the best gain is independent of sigma and s_0: rho k = gamma b (f - b k) P, the discounted
Riccati gain (``optimal_gain`` iterates the Riccati equation, an independent route), and any
noise costs (dJ/d log sigma < 0: the best sigma is 0).

The score of the policy (``acnotes.gaussian.score`` with mu = -k s, chained through d mu/dk = -s):

    d log pi / dk = -s eps / sigma,      d log pi / d log sigma = eps^2 - 1.

``rollouts`` samples episodes cut at ``horizon`` steps (the tail gamma^horizon is dropped:
7e-10 of the return for gamma = 0.9 and 200 steps); ``estimates`` gives K score-function
gradient estimates per Psi_t, each the mean over B episodes, and the pathwise (reparameterised)
gradient by autograd through the simulation: independent routes to dJ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from . import gaussian

__all__ = ["LQR", "closed_loop", "J", "grad", "value_coefficients", "V", "Q", "advantage", "optimal_gain",
           "rollouts", "estimates", "PSI"]


@dataclass(frozen=True)
class LQR:
    """s' = f s + b a, r = -(q s^2 + rho a^2), from s_0, discount gamma."""
    f: float = 1.1        # the open loop grows: |f| > 1, so k = 0 is unstable
    b: float = 0.5
    q: float = 1.0
    rho: float = 0.5
    gamma: float = 0.9
    s0: float = 1.0


def _exp(x):
    return torch.exp(x) if isinstance(x, torch.Tensor) else math.exp(x)


def closed_loop(lqr: LQR, k) -> float:
    """m = f - b k; J is finite when gamma m^2 < 1."""
    return lqr.f - lqr.b * k


def _check(lqr: LQR, k) -> None:
    k = float(k.detach().max() if isinstance(k, torch.Tensor) else k)
    m = closed_loop(lqr, k)
    if lqr.gamma * m ** 2 >= 1:
        raise ValueError(f"k = {k:.3g}: gamma (f - b k)^2 = {lqr.gamma * m ** 2:.3g} >= 1, the discounted "
                         f"cost is infinite; take k with |f - b k| < {1 / math.sqrt(lqr.gamma):.3g}")


def value_coefficients(lqr: LQR, k, log_sigma):
    """(P, c_0) with V(s) = -(P s^2 + c_0). Works with floats and with torch tensors (autograd)."""
    _check(lqr, k)
    m, sigma2 = closed_loop(lqr, k), _exp(2 * log_sigma)
    P = (lqr.q + lqr.rho * k ** 2) / (1 - lqr.gamma * m ** 2)
    c0 = sigma2 * (lqr.rho + lqr.gamma * lqr.b ** 2 * P) / (1 - lqr.gamma)
    return P, c0


def J(lqr: LQR, k, log_sigma):
    """The expected discounted return from s_0, -(q + rho k^2) S - rho sigma^2 / (1 - gamma), via
    the sum S of discounted second moments (floats or torch tensors)."""
    _check(lqr, k)
    m, sigma2 = closed_loop(lqr, k), _exp(2 * log_sigma)
    S = (lqr.s0 ** 2 + lqr.gamma * lqr.b ** 2 * sigma2 / (1 - lqr.gamma)) / (1 - lqr.gamma * m ** 2)
    return -(lqr.q + lqr.rho * k ** 2) * S - lqr.rho * sigma2 / (1 - lqr.gamma)


def grad(lqr: LQR, k: float, log_sigma: float) -> np.ndarray:
    """[dJ/dk, dJ/d log sigma] = [-2 S (rho k - gamma b m P), -2 c_0], derived by hand."""
    P, c0 = value_coefficients(lqr, k, log_sigma)
    m, sigma2 = closed_loop(lqr, k), math.exp(2 * log_sigma)
    S = (lqr.s0 ** 2 + lqr.gamma * lqr.b ** 2 * sigma2 / (1 - lqr.gamma)) / (1 - lqr.gamma * m ** 2)
    return np.array([-2 * S * (lqr.rho * k - lqr.gamma * lqr.b * m * P), -2 * c0])


def V(lqr: LQR, k, log_sigma, s):
    """V(s) = -(P s^2 + c_0)."""
    P, c0 = value_coefficients(lqr, k, log_sigma)
    return -(P * s ** 2 + c0)


def Q(lqr: LQR, k, log_sigma, s, a):
    """Q(s, a) = r(s, a) + gamma V(f s + b a) = -(q s^2 + rho a^2) - gamma (P (f s + b a)^2 + c_0)."""
    return -(lqr.q * s ** 2 + lqr.rho * a ** 2) + lqr.gamma * V(lqr, k, log_sigma, lqr.f * s + lqr.b * a)


def advantage(lqr: LQR, k, log_sigma, s, a):
    """A(s, a) = Q(s, a) - V(s)."""
    return Q(lqr, k, log_sigma, s, a) - V(lqr, k, log_sigma, s)


def optimal_gain(lqr: LQR, iterations: int = 10_000, tol: float = 1e-14) -> float:
    """The best gain k*, by iterating the discounted Riccati equation
    P <- q + gamma f^2 P - (gamma f b P)^2 / (rho + gamma b^2 P) to its fixed point, then
    k* = gamma b f P / (rho + gamma b^2 P). (Bertsekas, Dynamic Programming, Vol. I, Section 4.1.)"""
    f, b, q, rho, g = lqr.f, lqr.b, lqr.q, lqr.rho, lqr.gamma
    P = q
    for _ in range(iterations):
        new = q + g * f ** 2 * P - (g * f * b * P) ** 2 / (rho + g * b ** 2 * P)
        if abs(new - P) < tol * max(1.0, abs(P)):
            P = new
            break
        P = new
    return g * b * f * P / (rho + g * b ** 2 * P)


def rollouts(lqr: LQR, k, log_sigma, episodes: int, horizon: int = 200,
             generator: torch.Generator | None = None) -> dict:
    """``episodes`` episodes of ``horizon`` steps, in float64, as tensors [episodes, horizon]:
    ``s``, ``a``, ``eps``, ``r``, and ``ret`` [episodes], the discounted return sum_t gamma^t r_t.
    ``k`` and ``log_sigma`` may be tensors that require grad: the returns are then differentiable
    (the pathwise route, eps held fixed)."""
    k = torch.as_tensor(k, dtype=torch.float64)
    log_sigma = torch.as_tensor(log_sigma, dtype=torch.float64)
    eps = torch.randn(episodes, horizon, generator=generator, dtype=torch.float64)
    s = torch.full((episodes,), float(lqr.s0), dtype=torch.float64)
    S, A, Rw = [], [], []
    for t in range(horizon):
        a = -k * s + torch.exp(log_sigma) * eps[:, t]
        S.append(s)
        A.append(a)
        Rw.append(-(lqr.q * s ** 2 + lqr.rho * a ** 2))
        s = lqr.f * s + lqr.b * a
    s, a, r = torch.stack(S, 1), torch.stack(A, 1), torch.stack(Rw, 1)
    disc = lqr.gamma ** torch.arange(horizon, dtype=torch.float64)
    return dict(s=s, a=a, eps=eps, r=r, ret=(disc * r).sum(1), disc=disc)


# Psi_t, each multiplying gamma^t grad log pi(a_t|s_t) (notebook 1's general form)
PSI = ("reinforce", "baseline", "advantage")


def _reward_to_go(r: torch.Tensor, gamma: float) -> torch.Tensor:
    G, out = torch.zeros_like(r[:, 0]), torch.empty_like(r)
    for t in reversed(range(r.shape[1])):
        G = r[:, t] + gamma * G
        out[:, t] = G
    return out


def estimates(lqr: LQR, k: float, log_sigma: float, *, K: int, B: int, horizon: int = 200,
              seed: int = 0, psi=PSI, pathwise: bool = False) -> dict[str, np.ndarray]:
    """K independent gradient estimates [K, 2] of [dJ/dk, dJ/d log sigma] per Psi_t in ``psi``,
    each the mean over B episodes of sum_t gamma^t grad log pi(a_t|s_t) Psi_t, all from the same
    episodes:

        "reinforce"  Psi_t = G_t, the discounted reward-to-go
        "baseline"   Psi_t = G_t - V(s_t), the exact V
        "advantage"  Psi_t = A(s_t, a_t), the exact advantage

    With ``pathwise=True`` also "pathwise": the gradient of each batch's mean return by autograd
    through the simulation (eps held fixed), the reparameterisation route."""
    g = torch.Generator().manual_seed(seed)
    # one copy of (k, log sigma) per batch, so one backward pass gives every batch's gradient
    kt = torch.full((K,), float(k), dtype=torch.float64, requires_grad=pathwise)
    lt = torch.full((K,), float(log_sigma), dtype=torch.float64, requires_grad=pathwise)
    ep = rollouts(lqr, kt.repeat_interleave(B), lt.repeat_interleave(B), K * B, horizon, generator=g)
    out = {}
    if pathwise:
        dk, dl = torch.autograd.grad(ep["ret"].reshape(K, B).mean(1).sum(), (kt, lt))
        out["pathwise"] = torch.stack([dk, dl], -1).numpy()
    s, a, r = ep["s"].detach(), ep["a"].detach(), ep["r"].detach()
    mu, log_std = -float(k) * s, torch.full_like(s, float(log_sigma))
    d_mu, d_log_std = gaussian.score(a, mu, log_std)                    # per step
    score = torch.stack([d_mu * -s, d_log_std], -1)                      # chain d mu / dk = -s
    weights = {}
    if "reinforce" in psi or "baseline" in psi:
        G = _reward_to_go(r, lqr.gamma)
        weights["reinforce"] = G
        weights["baseline"] = G - V(lqr, float(k), float(log_sigma), s)
    weights["advantage"] = advantage(lqr, float(k), float(log_sigma), s, a)
    for name in psi:
        per_episode = (ep["disc"][None, :, None] * score * weights[name][..., None]).sum(1)   # [K*B, 2]
        out[name] = per_episode.reshape(K, B, 2).mean(1).numpy()
    return out
