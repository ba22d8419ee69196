"""The walk: a tiny episodic task with gymnasium's step API and no gymnasium (notebook 9's
exercise, where the student's TD actor-critic loop must learn).

    env = Walk(seed=0)
    obs, info = env.reset()
    obs, r, terminated, truncated, info = env.step(1)      # 1 = right, 0 = left

Positions 0 to ``length`` on a line; an episode starts at 0. *Right* moves one position up,
*left* one down (at 0, left bumps into the wall and stays). Every step pays -1. Reaching
``length`` ends the episode: ``terminated`` (there is no future to bootstrap). After
``max_steps`` steps without reaching it the episode is cut: ``truncated`` (the walker is
still somewhere, and its value is not 0). The observation is the position, one-hot, as
``length + 1`` float32 numbers, like CartPole's float32 vector.

The best policy always goes right: return ``-length``. A policy that learned nothing (left
and right with probability 1/2) takes about ``length * (length + 1)`` steps on average to
reach the end, so at the defaults (length 5, 20 steps) more than half of its episodes are
cut and its mean return is about -16.5 (:data:`UNIFORM_RETURN`, measured over 200,000
episodes). The task is deterministic; ``seed`` is accepted for the API's sake.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Walk", "UNIFORM_RETURN"]

UNIFORM_RETURN = -16.5   # mean return of the uniform policy at the defaults (200,000 episodes: -16.49)


class Walk:
    """One walk with gymnasium's API: ``reset() -> (obs, info)``, ``step(action) -> (obs,
    reward, terminated, truncated, info)``. ``step`` after the end of an episode, before
    ``reset``, raises (as gymnasium's order checks do)."""

    def __init__(self, length: int = 5, max_steps: int = 20, seed: int | None = None):
        if isinstance(length, bool) or int(length) != length or length < 1:
            raise ValueError(f"length must be a positive integer, got {length!r}")
        if isinstance(max_steps, bool) or int(max_steps) != max_steps or max_steps < 1:
            raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
        self.length, self.max_steps = int(length), int(max_steps)
        self.n_obs, self.n_actions = self.length + 1, 2
        self.position, self.t, self.done = 0, 0, True

    def _obs(self) -> np.ndarray:
        obs = np.zeros(self.n_obs, dtype=np.float32)
        obs[self.position] = 1.0
        return obs

    def reset(self, *, seed: int | None = None, options=None):
        """Start an episode at position 0; returns ``(obs, {})``."""
        self.position, self.t, self.done = 0, 0, False
        return self._obs(), {}

    def step(self, action):
        """Move (1 = right, 0 = left); returns ``(obs, -1.0, terminated, truncated, {})``."""
        if self.done:
            raise RuntimeError("Walk.step: the episode has ended (terminated or truncated); "
                               "call env.reset() before the next step")
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)) \
                or action not in (0, 1):
            raise ValueError(f"Walk.step: the action must be the int 0 (left) or 1 (right), got "
                             f"{action!r} (a tensor a: pass a.item())")
        self.position = max(0, self.position + (1 if action == 1 else -1))
        self.t += 1
        terminated = self.position == self.length
        truncated = not terminated and self.t >= self.max_steps
        self.done = terminated or truncated
        return self._obs(), -1.0, terminated, truncated, {}
