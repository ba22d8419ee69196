"""Test-case data shared by the checkers: small rollouts with episode ends, policy batches,
and the scans the known mistakes are built from."""

from __future__ import annotations

import torch
from torch import Tensor


def _t(x, dtype=torch.float32) -> Tensor:
    return torch.tensor(x, dtype=dtype)


def _b(x) -> Tensor:
    return torch.tensor(x, dtype=torch.bool)


def _series() -> list[dict]:
    """Small rollouts: r, v, v_next, terminated, truncated, gamma, and a description.

    ``v_next[t]`` is V(s_{t+1}): equal to ``v[t+1]`` inside an episode, the last state's value
    at a truncation, and a nonzero value at a termination (so that bootstrapping there shows).
    """
    out = []

    def add(words, r, v, v_next, term, trunc, gamma, dtype=torch.float32):
        out.append(dict(words=words, r=_t(r, dtype), v=_t(v, dtype), v_next=_t(v_next, dtype),
                        terminated=_b(term), truncated=_b(trunc), gamma=gamma))

    add("[T] = [5], gamma = 0.9: one episode that is still running when the batch ends "
        "(no flag set).",
        [1.0, 0.5, -1.0, 2.0, 1.5], [3.0, 2.5, 2.0, 2.6, 1.2], [2.5, 2.0, 2.6, 1.2, 0.8],
        [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], 0.9)
    add("[T] = [6], gamma = 0.9: the episode terminates after t = 2; a new one starts at t = 3 "
        "and is still running when the batch ends.",
        [1.0, 2.0, -0.5, 1.0, 0.5, 2.0], [2.0, 1.5, 0.7, 3.0, 2.2, 1.9],
        [1.5, 0.7, 1.3, 2.2, 1.9, 1.1], [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0], 0.9)
    add("[T] = [6], gamma = 0.9: the episode is truncated (time limit) after t = 3; a new one "
        "starts at t = 4.",
        [0.5, 1.0, 1.5, -1.0, 2.0, 1.0], [2.0, 1.8, 1.1, 0.4, 2.5, 1.6],
        [1.8, 1.1, 0.4, 0.9, 1.6, 1.4], [0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0], 0.9)
    # three environments, time-major [7, 3]
    r = [[1.0, 0.5, 2.0], [-1.0, 1.0, 0.5], [2.0, 1.5, -0.5], [0.5, 0.5, 1.0],
         [1.5, -1.0, 1.0], [1.0, 2.0, 0.5], [-0.5, 1.0, 1.5]]
    v = [[2.0, 1.0, 3.0], [1.0, 1.4, 2.1], [2.2, 0.9, 2.4], [1.7, 2.6, 1.8],
         [0.8, 1.9, 1.3], [2.4, 1.1, 0.6], [1.9, 0.7, 2.8]]
    term = [[0, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0]]
    trunc = [[0, 0, 0], [0, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]]
    vn = [[v[t + 1][n] if t + 1 < 7 else 1.3 for n in range(3)] for t in range(7)]
    vn[1][0], vn[4][0] = 1.6, 0.9     # terminated: any value; it must not be used
    vn[2][1] = 1.2                    # truncated: the last state's value, not the next start's
    vn[5][2] = 2.2                    # both flags: terminated wins, no bootstrap
    add("[T, N] = [7, 3], gamma = 0.9: env 0 terminates after t = 1 and after t = 4, env 1 is "
        "truncated after t = 2, env 2 is terminated and truncated at once after t = 5; every "
        "env is mid-episode when the batch ends.", r, v, vn, term, trunc, 0.9)
    add("[T, N] = [5, 2], float64, gamma = 0.5: the batch ends exactly at an episode end "
        "(env 0 terminated at the last step, env 1 truncated at the last step).",
        [[1.0, 2.0], [0.5, -1.0], [2.0, 1.0], [-1.0, 0.5], [1.5, 1.0]],
        [[1.0, 2.0], [1.5, 0.5], [0.5, 1.5], [2.0, 1.0], [1.0, 0.5]],
        [[1.5, 0.5], [0.5, 1.5], [2.0, 1.0], [1.0, 0.5], [0.7, 1.7]],
        [[0, 0], [0, 0], [0, 0], [0, 0], [1, 0]], [[0, 0], [0, 0], [0, 0], [0, 0], [0, 1]],
        0.5, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    T, N = 16, 4
    rr = torch.round(torch.randn(T, N, generator=g) * 100) / 100
    vv = torch.round(torch.randn(T, N, generator=g) * 100) / 100 + 1.0
    ends = torch.rand(T, N, generator=g)
    tm, tr = ends < 0.12, (ends >= 0.12) & (ends < 0.2)
    vnn = torch.cat([vv[1:], torch.ones(1, N)])
    vnn = torch.where(tm | tr, torch.round(torch.randn(T, N, generator=g) * 100) / 100 + 1.0, vnn)
    out.append(dict(words="[T, N] = [16, 4], gamma = 0.95: random rewards, values and episode "
                          "ends (seed 0; terminations and truncations in every env).",
                    r=rr, v=vv, v_next=vnn, terminated=tm, truncated=tr, gamma=0.95))
    return out


def _f(x: Tensor, like: Tensor) -> Tensor:
    return x.to(like.dtype)


def _scan(x: Tensor, factor: float, stop: Tensor, forward: bool = False) -> Tensor:
    """y_t = x_t + factor * (1 - stop_t) * y_{t+1} (backwards), or the same forwards in time
    (y_t = x_t + factor * (1 - stop_{t-1}) * y_{t-1})."""
    out = torch.zeros_like(x)
    acc = torch.zeros_like(x[0])
    T = x.shape[0]
    if forward:
        for t in range(T):
            keep = 1.0 if t == 0 else (1.0 - _f(stop[t - 1], x))
            acc = x[t] + factor * keep * acc
            out[t] = acc
    else:
        for t in range(T - 1, -1, -1):
            acc = x[t] + factor * (1.0 - _f(stop[t], x)) * acc
            out[t] = acc
    return out


def _step_in_episode(done: Tensor) -> Tensor:
    """0, 1, 2, ... within each episode (the batch start counts as an episode start)."""
    k = torch.zeros(done.shape, dtype=torch.float64)
    for t in range(1, done.shape[0]):
        k[t] = torch.where(done[t - 1], torch.zeros_like(k[t]), k[t - 1] + 1)
    return k


def _policy_batch(T: int, N: int, A: int, seed: int, valid_upto: list[int] | None):
    g = torch.Generator().manual_seed(seed)
    logits = torch.round(torch.randn(T, N, A, generator=g) * 100) / 100
    actions = torch.randint(0, A, (T, N), generator=g)
    G = torch.round(torch.randn(T, N, generator=g) * 200) / 100 + 1.0
    valid = torch.ones(T, N, dtype=torch.bool)
    if valid_upto is not None:
        for n, k in enumerate(valid_upto):
            valid[k:, n] = False
    return logits, actions, G, valid

