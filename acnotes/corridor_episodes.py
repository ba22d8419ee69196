"""The short corridor's episodes for many runs at once (``acnotes/corridor.py`` learns from them).

Every run steps together, ``_K`` steps at a time: a table (``_CHUNK``) gives the states after
each of ``_K`` steps for every pattern of actions, so a chunk costs a few array operations
instead of ``_K``. Each run draws its uniform numbers from its own generator, ``_BLOCK`` at a
time: the same numbers as one draw per step.
"""

from __future__ import annotations

import numpy as np

from .envs import short_corridor

_GOAL = 3
_BLOCK = 1024    # uniforms drawn per run at a time (the same numbers as one draw per step)


def _step_table() -> np.ndarray:
    """next_state[s, a] (a: 0 = left, 1 = right; 3 = the goal), read off the package's MDP."""
    mdp = short_corridor(gamma=1.0)
    P = mdp.P.numpy()
    table = np.full((mdp.n_states, mdp.n_actions), _GOAL, dtype=np.int64)
    for s in range(mdp.n_states):
        for a in range(mdp.n_actions):
            if P[s, a].sum() > 0.5:
                table[s, a] = int(P[s, a].argmax())
    return table


_NEXT = _step_table()


def _chunk_table(K: int) -> np.ndarray:
    """states[pattern, s, k]: the state after k + 1 steps from s, when the k-th bit of
    ``pattern`` says right (1) or left (0). The goal absorbs. Lets the rollout take K steps
    of every run with a few array operations instead of K."""
    patterns = np.arange(2 ** K)
    out = np.empty((2 ** K, _GOAL + 1, K), dtype=np.int64)
    s = np.broadcast_to(np.arange(_GOAL + 1), (2 ** K, _GOAL + 1)).copy()
    table = np.vstack([_NEXT, [_GOAL, _GOAL]])             # the goal row: stay
    for k in range(K):
        a = (patterns >> k) & 1
        s = table[s, a[:, None]]
        out[:, :, k] = s
    return out


_K = 8
_CHUNK = _chunk_table(_K)
_BITS = 1 << np.arange(_K)


class _Uniforms:
    """Each run's stream of uniform numbers, ``_BLOCK`` at a time: ``U[n, ptr[n]]`` is run n's
    next one."""

    def __init__(self, gens: list[np.random.Generator]):
        self.gens = gens
        self.U = np.stack([g.random(_BLOCK) for g in gens])
        self.ptr = np.zeros(len(gens), dtype=np.int64)

    def refill(self, live: np.ndarray):
        """Make sure each run of ``live`` has ``_K`` unused numbers: keep the unused ones, draw more."""
        U, ptr = self.U, self.ptr
        for n in live[ptr[live] > _BLOCK - _K]:
            U[n] = np.concatenate([U[n, ptr[n]:], self.gens[n].random(ptr[n])])
            ptr[n] = 0


def _episode(p: np.ndarray, uniforms: _Uniforms, max_steps: int, truncated: np.ndarray):
    """One episode per run with pi(right) = ``p``; all runs step together, ``_K`` steps at a
    time. Returns each run's length T and its actions [N, max T] (True: right). An episode
    cut at ``max_steps`` counts in ``truncated``."""
    N = p.size
    U, ptr = uniforms.U, uniforms.ptr
    s = np.zeros(N, dtype=np.int64)
    T = np.zeros(N, dtype=np.int64)
    chunks = []                                         # (runs, first step, actions [L, _K])
    live = np.arange(N)
    t = 0
    while live.size:
        uniforms.refill(live)
        k = min(_K, max_steps - t)                      # steps allowed in this chunk
        right = U[live[:, None], ptr[live][:, None] + np.arange(_K)] < p[live][:, None]
        path = _CHUNK[right @ _BITS, s[live]][:, :k]    # the states after each step
        at_goal = path == _GOAL
        ended = at_goal[:, -1]
        taken = np.where(ended, at_goal.argmax(axis=1) + 1, k)
        ptr[live] += taken                              # one uniform per step taken
        chunks.append((live, t, right))
        s[live] = path[:, -1]
        t += k
        T[live[ended]] = t - k + taken[ended]
        live = live[~ended]
        if t >= max_steps and live.size:
            T[live] = t
            truncated[live] += 1
            live = live[:0]
    acts = np.zeros((N, t))
    for rows, t0, right in chunks:
        acts[rows, t0:t0 + right.shape[1]] = right[:, : t - t0]
    return T, acts
