"""Sutton & Barto's one-step actor-critic (notebook 9): many runs at once, its exact expected
update, and the exact value of every policy a run held.

The algorithm itself is ``acnotes/reference/one_step_ac.py`` (one run, the book's boxes line by
line). ``train`` here steps many independent runs together with the same update functions, each
run its own theta, w, I and traces: run r of group g computes exactly what
``one_step_ac.train`` computes with the generator ``np.random.default_rng(
np.random.SeedSequence(seed).spawn(runs)[r])`` and group g's settings (tests/test_one_step.py).
Settings given as lists make groups (one per entry, ``runs`` runs each, the same random
streams in every group: common random numbers), all in one batch.

``expected_update`` is the mean of one episode's updates at a fixed theta and w, computed by
enumerating every (t, S_t, A_t, S_{t+1}) with its probability: no sampling and no linear
solve, so it can be compared with the exact gradient of ``TabularMDP`` (a linear solve and
autograd) as an independent route. ``frozen_updates`` sums the updates of sampled episodes at
a fixed theta and w, traces included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .envs import TabularMDP
from .reference.one_step_ac import Env, Linear, col, one_step_update, sample, trace_update

__all__ = ["Runs", "train", "values", "expected_update", "frozen_updates"]

_BLOCK = 1024     # uniforms drawn per run at a time, three per step (the same numbers as per step)


@dataclass
class Runs:
    """What a batch of runs did. Leading axes: [groups,] runs (groups only when a setting
    was given as a list).

    Attributes:
        returns: total reward of each episode, ``[..., runs, episodes]``.
        thetas: theta at the start of each episode, ``[..., runs, episodes, d]``.
        theta, w: the final parameters, ``[..., runs, d]`` and ``[..., runs, k]``.
        cut: episodes cut at ``max_steps``, per run.
        steps: env steps taken, in total; seconds: wall-clock time of the call.
    """

    returns: np.ndarray
    thetas: np.ndarray
    theta: np.ndarray
    w: np.ndarray
    cut: np.ndarray
    steps: int
    seconds: float


def _settings(**given) -> tuple[dict[str, np.ndarray], int | None]:
    """Each setting as an array [G] (lists) or a number; G, or None when none is a list."""
    lengths = {k: len(v) for k, v in given.items() if isinstance(v, (list, tuple, np.ndarray))}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"settings given as lists must have the same length, got {lengths}")
    G = next(iter(lengths.values()), None)
    out = {}
    for k, v in given.items():
        arr = np.asarray(v, dtype=float) if k != "use_I" else np.asarray(v, dtype=bool)
        if arr.ndim > 1 or (k != "use_I" and not np.all(np.isfinite(arr) & (arr >= 0))):
            raise ValueError(f"{k} must be a non-negative number or a list of them, got {v!r}")
        out[k] = np.broadcast_to(arr, (G or 1,)).copy()
    return out, G


def train(mdp: TabularMDP, episodes: int, *, alpha_theta, alpha_w, use_I=True, lam_theta=0.0, lam_w=0.0,
          runs: int = 100, seed: int = 0, theta0=None, critic_features=None, max_steps: int = 10_000) -> Runs:
    """``runs`` independent runs of ``one_step_ac.train``, stepped together.

    ``alpha_theta``, ``alpha_w``, ``use_I``, ``lam_theta``, ``lam_w``: a value, or a list (one
    group of ``runs`` runs per entry; lists must have the same length). Every run starts from
    ``theta0`` (default 0) and w = 0.
    """
    for name, value, low in (("episodes", episodes, 1), ("runs", runs, 1), ("max_steps", max_steps, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    cfg, G = _settings(alpha_theta=alpha_theta, alpha_w=alpha_w, use_I=use_I, lam_theta=lam_theta, lam_w=lam_w)
    start = time.perf_counter()
    f, env = Linear(mdp, critic_features), Env(mdp)
    d, k = f.phi.shape[-1], f.x.shape[1]
    if theta0 is not None and (np.shape(theta0) != (d,) or not np.all(np.isfinite(theta0))):
        raise ValueError(f"theta0 must be {d} finite numbers (one per policy feature), got {theta0!r}")
    N = (G or 1) * runs
    per_run = {name: np.repeat(v, runs) for name, v in cfg.items()}     # run n = g * runs + r
    children = np.random.SeedSequence(int(seed)).spawn(runs)
    gens = [np.random.default_rng(children[n % runs]) for n in range(N)]
    first = np.array([g.random() for g in gens])                         # each run's first uniform
    U = np.stack([g.random((_BLOCK, 3)) for g in gens])                  # then three per step
    ptr = np.zeros(N, dtype=np.int64)

    theta = np.tile(np.zeros(d) if theta0 is None else np.asarray(theta0, dtype=float), (N, 1))
    w = np.zeros((N, k))
    z_theta, z_w, I = np.zeros((N, d)), np.zeros((N, k)), np.ones(N)
    s = sample(env.mu, first)
    episode = np.zeros(N, dtype=np.int64)                                # the episode each run is in
    t_in = np.zeros(N, dtype=np.int64)                                   # its steps so far
    returns, thetas = np.zeros((N, episodes)), np.zeros((N, episodes, d))
    thetas[:, 0] = theta
    cut = np.zeros(N, dtype=np.int64)
    live = np.arange(N)
    steps = 0
    while live.size:
        at = slice(None) if live.size == N else live         # all runs still going: a view, no copies
        refill = live[ptr[live] == _BLOCK]
        for n in refill:
            U[n], ptr[n] = gens[n].random((_BLOCK, 3)), 0
        u = U[live, ptr[live]]
        ptr[at] += 1
        sl = s[at]
        a = sample(f.pi(theta[at], sl), u[:, 0])
        s_next, r = sample(env.P[sl, a], u[:, 1]), env.R[sl, a]
        c = {name: v[at] for name, v in per_run.items()}
        theta[at], w[at], I[at], z_theta[at], z_w[at] = trace_update(
            f, theta[at], w[at], I[at], z_theta[at], z_w[at], sl, a, r, s_next, gamma=mdp.gamma,
            alpha_theta=c["alpha_theta"], alpha_w=c["alpha_w"], lam_theta=c["lam_theta"], lam_w=c["lam_w"],
            use_I=c["use_I"])
        returns[live, episode[live]] += r
        t_in[at] += 1
        steps += live.size
        over = t_in[at] >= max_steps
        ended = (s_next == env.terminal) | over
        s[at] = np.where(ended, sample(env.mu, u[:, 2]), s_next)
        done = live[ended]
        cut[live[over & (s_next != env.terminal)]] += 1
        episode[done] += 1
        t_in[done], I[done], z_theta[done], z_w[done] = 0, 1.0, 0.0, 0.0
        more = done[episode[done] < episodes]
        thetas[more, episode[more]] = theta[more]
        live = live[episode[live] < episodes]
    shape = (G, runs) if G is not None else (runs,)
    return Runs(returns=returns.reshape(*shape, episodes), thetas=thetas.reshape(*shape, episodes, d),
                theta=theta.reshape(*shape, d), w=w.reshape(*shape, k), cut=cut.reshape(shape), steps=steps,
                seconds=time.perf_counter() - start)


def values(mdp: TabularMDP, thetas) -> np.ndarray:
    """J(theta) = sum_s mu(s) v_pi(s) for every theta of ``thetas`` (shape [..., d]): one batched
    linear solve of the Bellman equations (``TabularMDP.J``, many at once)."""
    thetas = np.asarray(thetas, dtype=float)
    flat = thetas.reshape(-1, thetas.shape[-1])
    phi, P, R = mdp.features.numpy(), mdp.P.numpy(), mdp.R.numpy()
    h = np.einsum("sad,nd->nsa", phi, flat)
    pi = np.exp(h - h.max(-1, keepdims=True))
    pi /= pi.sum(-1, keepdims=True)
    P_pi = np.einsum("nsa,sat->nst", pi, P)
    r_pi = (pi * R).sum(-1)
    v = np.linalg.solve(np.eye(mdp.n_states) - mdp.gamma * P_pi, r_pi[..., None])[..., 0]
    return (v @ mdp.mu.numpy()).reshape(thetas.shape[:-1])


def expected_update(mdp: TabularMDP, theta, w, *, use_I: bool = True, critic_features=None,
                    tol: float = 1e-16, max_t: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """E[sum over one episode of the box's increments], with theta and w held fixed, per unit
    step size: ``(E[sum_t I_t delta_t grad log pi(A_t|S_t)], E[sum_t delta_t x(S_t)])``.

    Enumerated: p_t(s) = Pr(S_t = s, the episode still running) starts at mu and moves by
    p_{t+1}(s') = sum_{s, a} p_t(s) pi(a|s) P(s'|s, a); at each t every (s, a, s') (terminal
    included) gets the increments of ``one_step_update`` with alpha = 1, weighted by its
    probability; I_t is the I the update hands on (1, gamma, gamma^2, ... in the box). Stops
    once the mass left is below ``tol``.
    """
    f, env = Linear(mdp, critic_features), Env(mdp)
    S, A = mdp.n_states, mdp.n_actions
    s, a, s_next = (x.ravel() for x in np.meshgrid(np.arange(S), np.arange(A), np.arange(S + 1), indexing="ij"))
    pi = f.pi(np.asarray(theta, dtype=float), np.arange(S))             # pi(.|s) for every s
    theta = np.broadcast_to(np.asarray(theta, dtype=float), (s.size, f.phi.shape[-1]))
    w = np.broadcast_to(np.asarray(w, dtype=float), (s.size, f.x.shape[1]))
    step = pi[s, a] * env.P[s, a, s_next]                                # Pr(a, s' | s)
    p_t, I_t = env.mu.copy(), 1.0
    g_theta, g_w = np.zeros(theta.shape[1]), np.zeros(w.shape[1])
    for _ in range(max_t):
        new_theta, new_w, I_next = one_step_update(f, theta, w, np.full(s.size, I_t), s, a, env.R[s, a], s_next,
                                                   gamma=mdp.gamma, alpha_theta=1.0, alpha_w=1.0, use_I=use_I)
        prob = p_t[s] * step
        g_theta += prob @ (new_theta - theta)
        g_w += prob @ (new_w - w)
        p_t = np.bincount(s_next, weights=prob, minlength=S + 1)[:S]     # the mass that goes on
        I_t = float(I_next[0])                                           # the same for every (s, a, s')
        if p_t.sum() < tol:                                              # (the critic's sum has no I)
            return g_theta, g_w
    raise ValueError(f"the episode has not ended after max_t = {max_t} steps: use gamma < 1 or a policy that ends")


def frozen_updates(mdp: TabularMDP, theta, w, episodes: dict, *, use_I: bool = True, lam_theta: float = 0.0,
                   lam_w: float = 0.0, critic_features=None) -> tuple[np.ndarray, np.ndarray]:
    """The summed increments of ``trace_update`` (alpha = 1) over each sampled episode, with
    theta and w held fixed: ``([n, d], [n, k])``. ``episodes`` is ``TabularMDP.sample_episodes``'s
    time-major dict (no episode may be cut)."""
    if bool(episodes["truncated"].any()):
        raise ValueError("an episode was cut at max_steps: sample with a larger max_steps")
    f = Linear(mdp, critic_features)
    s, a = episodes["s"].numpy(), episodes["a"].numpy()
    r, valid = episodes["r"].numpy(), episodes["valid"].numpy()
    s_next = np.where(episodes["terminated"].numpy(), mdp.n_states, episodes["s_next"].numpy())
    T, n = s.shape
    theta = np.broadcast_to(np.asarray(theta, dtype=float), (n, f.phi.shape[-1]))
    w = np.broadcast_to(np.asarray(w, dtype=float), (n, f.x.shape[1]))
    I, z_theta, z_w = np.ones(n), np.zeros(theta.shape), np.zeros(w.shape)
    g_theta, g_w = np.zeros(theta.shape), np.zeros(w.shape)
    for t in range(T):
        new_theta, new_w, I_next, z_t, z_v = trace_update(f, theta, w, I, z_theta, z_w, s[t], a[t], r[t], s_next[t],
                                                          gamma=mdp.gamma, alpha_theta=1.0, alpha_w=1.0,
                                                          lam_theta=lam_theta, lam_w=lam_w, use_I=use_I)
        on = col(valid[t])
        g_theta += np.where(on, new_theta - theta, 0.0)
        g_w += np.where(on, new_w - w, 0.0)
        I, z_theta, z_w = I_next, z_t, z_v
    return g_theta, g_w
