"""Policy evaluation on a tabular MDP: TD(0)'s semi-gradient against the residual gradient.

A tabular critic is a vector ``v`` (one value per state). On a transition (s, a, r, s') the
TD error is ``delta = r + gamma (1 - terminated) v[s'] - v[s]``, and both methods descend
the squared error ``delta^2 / 2``:

* **TD(0), semi-gradient**: the target ``y = r + gamma v[s']`` is treated as a constant
  (detached), so ``v[s] += alpha * delta``. Its expected update is zero exactly where
  ``E[delta | s] = 0`` in every visited state: the Bellman equation, whose solution is V^pi.
* **Residual gradient, one sample**: the full gradient of ``delta^2 / 2`` moves both ends,
  ``v[s] += alpha * delta`` and ``v[s'] -= alpha * gamma * delta``. On average it descends

      L(v) = 1/2 sum_s d(s) E[delta^2 | s]
           = 1/2 sum_s d(s) ( E[delta | s]^2 + Var[delta | s] ),

  which also pays for the variance of ``r + gamma v[s']`` over actions and next states: with
  a stochastic transition its minimum is not V^pi (Baird, 1995; Sutton & Barto, 2018,
  Example 11.2 "A-split").

``d(s)`` is the expected number of visits to s per episode (``mdp.visitation(pi,
discounted=False)``): the states that on-policy data contains, in proportion. Rewards are
the expected rewards R[s, a], as ``TabularMDP.sample_episodes`` pays them.

    v_td = iterate(mdp, pi, "td")               # exact expected updates, until they stop
    v_rg = iterate(mdp, pi, "residual")
    pool = transitions(mdp, theta, 2000, generator)  # sampled episodes, flattened
    v_td_s, _ = sampled(pool, mdp.n_states, mdp.gamma, detach_target=True)
"""

from __future__ import annotations

import torch
from torch import Tensor

from .envs import TabularMDP

__all__ = ["METHODS", "expected_td_error", "expected_update", "iterate", "mean_squared_td_error",
           "transitions", "sampled"]

METHODS = ("td", "residual")


def _pi(mdp: TabularMDP, pi: Tensor) -> Tensor:
    pi = torch.as_tensor(pi, dtype=torch.float64)
    if pi.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"pi must have shape [S, A] = {(mdp.n_states, mdp.n_actions)}, got {tuple(pi.shape)}")
    return pi


def expected_td_error(mdp: TabularMDP, pi: Tensor, v: Tensor) -> Tensor:
    """``E[delta | s] = r_pi(s) + gamma sum_s' P_pi(s, s') v(s') - v(s)`` for every state
    (the Bellman error of v; zero for v = V^pi)."""
    pi = _pi(mdp, pi)
    r_pi = (pi * mdp.R).sum(-1)
    P_pi = torch.einsum("sa,sat->st", pi, mdp.P)
    return r_pi + mdp.gamma * P_pi @ v - v


def _update(mdp: TabularMDP, pi: Tensor, d: Tensor, v: Tensor, method: str) -> Tensor:
    u = d * expected_td_error(mdp, pi, v)
    if method == "residual":
        # delta of (s, a, s'), weighted by how often it happens: d(s) pi(a|s) P(s'|s,a)
        delta = mdp.R[:, :, None] + mdp.gamma * v[None, None, :] - v[:, None, None]
        u = u - mdp.gamma * torch.einsum("s,sa,sat,sat->t", d, pi, mdp.P, delta)
    return u


def _method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    return method


def expected_update(mdp: TabularMDP, pi: Tensor, v: Tensor, method: str) -> Tensor:
    """The expected update direction ``E[Delta v]`` per unit step size, over on-policy data.

    ``"td"``: ``d(s) E[delta | s]`` in component s. ``"residual"``: that, minus ``gamma``
    times the expected ``delta`` of every transition that lands in s', in component s'
    (a terminating transition has no s' and moves only v[s]). Written out from P, R and pi,
    without autograd.
    """
    pi, v = _pi(mdp, pi), torch.as_tensor(v, dtype=torch.float64)
    return _update(mdp, pi, mdp.visitation(pi, discounted=False), v, _method(method))


def iterate(mdp: TabularMDP, pi: Tensor, method: str, alpha: float | None = None, tol: float = 1e-12,
            max_iters: int = 100_000) -> tuple[Tensor, int]:
    """Apply the exact expected update ``v += alpha * expected_update(v)`` from v = 0 until
    the largest change is below ``tol``. Returns ``(v, iterations)``; a ValueError if it has
    not converged after ``max_iters`` (try a smaller ``alpha``).

    ``alpha`` defaults to ``0.5 / max_s d(s)``, small enough for both methods here."""
    pi, method = _pi(mdp, pi), _method(method)
    d = mdp.visitation(pi, discounted=False)
    if alpha is None:
        alpha = 0.5 / float(d.max())
    v = torch.zeros(mdp.n_states, dtype=torch.float64)
    for i in range(1, max_iters + 1):
        step = alpha * _update(mdp, pi, d, v, method)
        v = v + step
        if not torch.isfinite(v).all():
            raise ValueError(f"{method} diverged after {i} iterations with alpha = {alpha:g}: use a smaller alpha")
        if step.abs().max() < tol:
            return v, i
    raise ValueError(f"{method} did not converge in {max_iters} iterations with alpha = {alpha:g}; "
                     f"raise max_iters or change alpha")


def mean_squared_td_error(mdp: TabularMDP, pi: Tensor, v: Tensor) -> Tensor:
    """``L(v) = 1/2 sum_s d(s) E[delta^2 | s]``, the objective the single-sample residual
    gradient descends (differentiable in v). A terminating transition has delta = r - v(s)."""
    pi = _pi(mdp, pi)
    d = mdp.visitation(pi, discounted=False)
    delta = mdp.R[:, :, None] + mdp.gamma * v[None, None, :] - v[:, None, None]      # [S, A, S']
    p_end = (1.0 - mdp.P.sum(-1)).clamp(min=0.0)                                       # [S, A]
    sq = (mdp.P * delta ** 2).sum(-1) + p_end * (mdp.R - v[:, None]) ** 2              # E[delta^2 | s, a]
    return 0.5 * (d * (pi * sq).sum(-1)).sum()


def transitions(mdp: TabularMDP, theta: Tensor, n_episodes: int, generator: torch.Generator) -> dict[str, Tensor]:
    """The valid transitions of ``n_episodes`` sampled episodes, flattened: ``s``, ``r``,
    ``terminated``, ``s_next`` (1-D tensors of equal length)."""
    ep = mdp.sample_episodes(theta, n_episodes, generator=generator)
    ok = ep["valid"]
    return {k: ep[k][ok] for k in ("s", "r", "terminated", "s_next")}


def sampled(pool: dict[str, Tensor], n_states: int, gamma: float, *, detach_target: bool,
            tol: float = 1e-10, max_iters: int = 20_000) -> tuple[Tensor, int]:
    """Gradient descent on the mean of ``delta^2 / 2`` over the sampled transitions of
    ``pool`` (``transitions``), differentiated by autograd, with the TD target detached
    (TD(0)) or not (the residual gradient), from v = 0 until the largest change is below
    ``tol``. Returns ``(v, iterations)``.

    Each transition carries its own single sample of s', so the residual gradient pays for
    the variance of v(s') here as in ``mean_squared_td_error``. The step size is
    ``0.5 / (largest share of the transitions that start in one state)``."""
    s, s_next, r = pool["s"], pool["s_next"], pool["r"].to(torch.float64)
    keep = 1.0 - pool["terminated"].to(torch.float64)
    share = torch.bincount(s, minlength=n_states).max().item() / s.shape[0]
    alpha = 0.5 / share
    at, at_next = (torch.nn.functional.one_hot(x, n_states).to(torch.float64) for x in (s, s_next))
    v = torch.zeros(n_states, dtype=torch.float64, requires_grad=True)
    for i in range(1, max_iters + 1):
        y = r + gamma * keep * (at_next @ v)                # v(s'), as a product with one-hot rows
        if detach_target:
            y = y.detach()
        loss = 0.5 * ((y - at @ v) ** 2).mean()
        (g,) = torch.autograd.grad(loss, v)
        with torch.no_grad():
            v -= alpha * g
        if (alpha * g).abs().max() < tol:
            return v.detach(), i
    raise ValueError(f"did not converge in {max_iters} iterations; raise max_iters")
