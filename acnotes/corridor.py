"""REINFORCE on Sutton & Barto's short corridor (Example 13.1), many runs at once.

The corridor (``acn.envs.short_corridor``): states 0, 1, 2 and the goal; the start is state 0;
every step pays -1; ``left`` in state 0 bumps into the wall; in state 1 the actions are
reversed (``right`` moves left, ``left`` moves right); ``right`` in state 2 reaches the goal.
gamma = 1 (the book's setting): the return of an episode is minus its length.

The policy sees no state. With the book's features x(s, right) = [1, 0] and
x(s, left) = [0, 1] for every s, and theta = [theta_right, theta_left],

    p = pi(right | s) = exp(theta_right) / (exp(theta_right) + exp(theta_left))
      = sigmoid(theta_right - theta_left)                  (the same in every state)

    grad log pi(a | s) = x(s, a) - sum_b pi(b | s) x(s, b) = (1[a = right] - p) * [1, -1].

REINFORCE (S&B Section 13.3, the box on p. 328; gamma = 1) runs one episode with the current
theta, then for t = 0, ..., T-1:

    G_t = -(T - t)                                           (the rewards after t)
    theta <- theta + alpha * G_t * grad log pi(A_t | theta)

REINFORCE with a baseline (Section 13.4, p. 330) learns a state value v(s, w) = w (one
number: the states look alike, so its feature is 1 in every state) and uses delta_t:

    delta_t = G_t - w
    w       <- w + alpha_w * delta_t
    theta   <- theta + alpha_theta * delta_t * grad log pi(A_t | theta)

Plain REINFORCE is the same loop with w = 0 and alpha_w = 0, which is how both are run here.

One choice the box leaves open: here every score grad log pi(A_t | theta) is taken at the
theta that generated the episode, so the episode's whole update is alpha times the unbiased
Monte Carlo estimate of the gradient of notebook 1. Re-evaluating it at the theta already
moved by the earlier steps of the same episode (a literal reading of the box) compounds at
gamma = 1: in a version written that way, one 574-step episode (seed 0, alpha = 2^-13, run
78 of 100, episode 21) pushed pi(right) from 0.06 to 1.0, where the episode never ends and the
score (1 - p) is 0, so the run never recovered. Shangtong Zhang's widely used reproduction of
the book's figures avoids that by keeping both probabilities at least 0.05; we keep the policy
unclipped and evaluate the scores at the episode's theta instead. w is updated
step by step as in the box (that recursion is solved in closed form below).

Runs are a batch dimension: each run has its own theta (and w), the episode loop steps all the
unfinished runs at once (8 steps per array operation, through a table of 8-step paths), and
the updates of all runs are computed together as arrays [runs, T].
Step sizes may differ per group of runs (``alpha=[2**-12, 2**-13, 2**-14]``), so the three
curves of Figure 13.1 are one call. Randomness: run r draws its actions from its own stream,
``np.random.default_rng(np.random.SeedSequence(seed).spawn(runs)[r])``, one uniform u per
step, action right when u < p. Every group uses the same streams (common random numbers), and
a single run written as a plain loop with that generator reproduces run r exactly.

Episodes that never end: a policy with p near 0 (left forever in state 0) or near 1 (right
bounces between states 0 and 1) makes episodes arbitrarily long, and p = 0 or 1 never ends.
Each episode is therefore cut after ``max_steps`` steps. A cut episode is treated as if it had
ended there (its returns are then too small in size, a bias), and counted in
``Runs.truncated``. With the book's settings no episode comes near the default cap: the
longest in Figures 13.1 and 13.2 (seed 0, 400 runs of 1000 episodes) took 577 steps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .corridor_episodes import _episode, _Uniforms
from .envs import short_corridor

__all__ = ["BOOK_THETA0", "P_STAR", "V_STAR", "Runs", "policy_right", "start_value",
           "golden_section_max", "reinforce", "reinforce_with_baseline"]

#: The initial policy of the book's Figures 13.1 and 13.2: pi(right) = 0.05, the policy of
#: epsilon-greedy "left" with epsilon = 0.1 (its value, about -82, is where the book's curves
#: start). The book does not print theta_0; this theta_0 = [-ln(19)/2, ln(19)/2] gives it.
BOOK_THETA0 = np.array([-0.5 * math.log(19.0), 0.5 * math.log(19.0)])

#: The best probability of right and the best value of the start state, from the closed form
#: derived in notebook 0: v(s0) = -2 (2 - p) / (p (1 - p)) is largest where p^2 - 4p + 2 = 0.
P_STAR = 2.0 - math.sqrt(2.0)
V_STAR = -(6.0 + 4.0 * math.sqrt(2.0))

def policy_right(theta) -> np.ndarray:
    """p = pi(right) for theta = [..., (theta_right, theta_left)]: sigmoid of the difference."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape[-1:] != (2,):
        raise ValueError(f"theta must end in a dimension of 2 (theta_right, theta_left), "
                         f"got shape {theta.shape}")
    h = theta[..., 0] - theta[..., 1]
    return 0.5 * (1.0 + np.tanh(0.5 * h))     # sigmoid(h), without overflow for large |h|


def start_value(p) -> np.ndarray:
    """The exact value v(s0) of the start state when every state goes right with probability p.

    Solved by linear algebra (``TabularMDP.V`` of ``acn.envs.short_corridor(gamma=1.0)``), one
    solve per p. ``p`` is a number or an array of numbers, each strictly between 0 and 1: at
    p = 0 or 1 the episode never ends and the value is minus infinity.
    """
    arr = np.asarray(p, dtype=np.float64)
    if not np.all((arr > 0.0) & (arr < 1.0)):   # NaN fails too
        raise ValueError("p = pi(right) must be strictly between 0 and 1: at p = 0 or 1 an "
                         "episode never ends, and v(s0) is minus infinity")
    mdp = short_corridor(gamma=1.0)
    out = np.empty(arr.shape)
    for i, q in np.ndenumerate(arr):
        pi = np.tile([1.0 - q, q], (mdp.n_states, 1))    # columns: left, right
        out[i] = float(mdp.V(pi)[0])
    return out if out.ndim else float(out)


def golden_section_max(f: Callable[[float], float], lo: float, hi: float,
                       tol: float = 1e-10) -> tuple[float, float]:
    """``(x, f(x))`` at the maximum of a unimodal f on [lo, hi], by golden-section search
    (each step keeps the 0.618 of the interval that holds the maximum)."""
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"need finite lo < hi, got lo = {lo}, hi = {hi}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    r = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - r * (b - a), a + r * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc > fd:              # the maximum is in [a, d]
            b, d, fd = d, c, fc
            c = b - r * (b - a)
            fc = f(c)
        else:                    # in [c, b]
            a, c, fc = c, d, fd
            d = a + r * (b - a)
            fd = f(d)
    x = 0.5 * (a + b)
    return x, f(x)


@dataclass
class Runs:
    """What a batch of runs did. Leading axes: [groups,] runs (groups only when a list of
    step sizes was given).

    Attributes:
        rewards: total reward of each episode, ``[..., runs, episodes]`` (minus its length).
        p_right: pi(right) at the start of each episode, ``[..., runs, episodes]``.
        theta: the final parameters, ``[..., runs, 2]`` (theta_right, theta_left).
        w: the final baseline, ``[..., runs]`` (0 for plain REINFORCE).
        truncated: episodes cut at ``max_steps``, per run, ``[..., runs]``.
        steps: env steps taken, in total.
        seconds: wall-clock time of the call.
    """

    rewards: np.ndarray
    p_right: np.ndarray
    theta: np.ndarray
    w: np.ndarray
    truncated: np.ndarray
    steps: int
    seconds: float


def _positive(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or a list of numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return arr


def _count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def reinforce(alpha, *, runs: int = 100, episodes: int = 1000, seed: int = 0,
              theta0=BOOK_THETA0, max_steps: int = 10_000) -> Runs:
    """REINFORCE on the short corridor (Figure 13.1), ``runs`` independent runs at once.

    ``alpha`` is one step size or a list of them (one group of ``runs`` runs each, all groups
    in one batch). ``theta0`` is the initial [theta_right, theta_left] of every run (default:
    the book's initial policy, pi(right) = 0.05). gamma = 1.
    """
    alpha = _positive("alpha", alpha)
    return _learn(alpha, np.zeros_like(alpha), runs=runs, episodes=episodes, seed=seed,
                  theta0=theta0, w0=0.0, max_steps=max_steps)


def reinforce_with_baseline(alpha_theta, alpha_w, *, runs: int = 100, episodes: int = 1000,
                            seed: int = 0, theta0=BOOK_THETA0, w0: float = 0.0,
                            max_steps: int = 10_000) -> Runs:
    """REINFORCE with a learned state-value baseline v(s, w) = w (Figure 13.2).

    ``alpha_theta`` and ``alpha_w`` are numbers or lists of the same length (one group each).
    The book's Figure 13.2 uses alpha_theta = 2^-9 and alpha_w = 2^-6, w0 = 0.
    """
    a_t, a_w = _positive("alpha_theta", alpha_theta), _positive("alpha_w", alpha_w)
    if a_t.shape != a_w.shape:
        raise ValueError(f"alpha_theta and alpha_w must have the same length, got "
                         f"{a_t.size} and {a_w.size}")
    if not math.isfinite(float(w0)):
        raise ValueError(f"w0 must be finite, got {w0!r}")
    return _learn(a_t, a_w, runs=runs, episodes=episodes, seed=seed, theta0=theta0,
                  w0=float(w0), max_steps=max_steps)


def _update(theta: np.ndarray, w: np.ndarray, p: np.ndarray, T: np.ndarray, acts: np.ndarray,
            a_theta: np.ndarray, a_w: np.ndarray) -> None:
    """The update of every run from its whole episode (see the module docstring), in place:
    w step by step (solved in closed form), theta with the scores at the episode's theta."""
    N, t = acts.shape
    ts = np.arange(t)
    valid = ts < T[:, None]
    G_t = (ts - T[:, None]).astype(np.float64)          # -(T - t): the rewards after t
    learns_w = a_w > 0
    w_t = np.broadcast_to(w[:, None], (N, t)).copy()
    if learns_w.any():                                  # w_{t+1} = w_t + alpha_w (G_t - w_t)
        a = a_w[learns_w, None]
        c_t = np.exp(ts * np.log1p(-a))                 # c^t, c = 1 - a; solved: w_t = (w0 + T + 1/a) c^t - T - 1/a + t
        w_t[learns_w] = ((w[learns_w, None] + T[learns_w, None] + 1.0 / a) * c_t
                         - T[learns_w, None] - 1.0 / a + ts)
        w[learns_w] = ((w[learns_w] + T[learns_w] + 1.0 / a[:, 0]) * (1.0 - a[:, 0]) ** T[learns_w]
                       - 1.0 / a[:, 0])
    delta = np.where(valid, G_t - w_t, 0.0)
    step = a_theta * (delta * (acts - p[:, None])).sum(axis=1)
    theta[:, 0] += step
    theta[:, 1] -= step


def _learn(alpha_theta: np.ndarray, alpha_w: np.ndarray, *, runs, episodes, seed, theta0, w0,
           max_steps) -> Runs:
    """Every run's ``episodes`` episodes, each followed by its update (the module docstring)."""
    runs = _count("runs", runs)
    episodes = _count("episodes", episodes)
    max_steps = _count("max_steps", max_steps)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, got {seed!r}")
    theta0 = np.asarray(theta0, dtype=np.float64)
    if theta0.shape != (2,) or not np.all(np.isfinite(theta0)):
        raise ValueError(f"theta0 must be two finite numbers [theta_right, theta_left], got {theta0!r}")
    start = time.perf_counter()
    grouped = alpha_theta.ndim == 1
    G = alpha_theta.size
    N = G * runs
    a_theta = np.repeat(alpha_theta.reshape(-1), runs)     # run n = g * runs + r
    a_w = np.repeat(alpha_w.reshape(-1), runs)
    children = np.random.SeedSequence(int(seed)).spawn(runs)
    uniforms = _Uniforms([np.random.default_rng(children[n % runs]) for n in range(N)])

    theta = np.tile(theta0, (N, 1))
    w = np.full(N, w0)
    rewards = np.empty((N, episodes))
    p_hist = np.empty((N, episodes))
    truncated = np.zeros(N, dtype=np.int64)
    steps = 0
    for e in range(episodes):
        p = policy_right(theta)
        p_hist[:, e] = p
        T, right = _episode(p, uniforms, max_steps, truncated)
        steps += int(T.sum())
        rewards[:, e] = -T
        _update(theta, w, p, T, right, a_theta, a_w)
    shape = (G, runs) if grouped else (runs,)
    return Runs(rewards=rewards.reshape(*shape, episodes), p_right=p_hist.reshape(*shape, episodes),
                theta=theta.reshape(*shape, 2), w=w.reshape(shape),
                truncated=truncated.reshape(shape), steps=steps,
                seconds=time.perf_counter() - start)
