"""CartPole-v1 for a population: K members x N copies in one numpy-vectorized env.

``CartPoles(members=K, envs_per_member=N)`` simulates K*N carts at once, ordered member by
member (copy j of member k is env ``k*N + j``). Each member has its own random generator for
the start states, seeded from its own seed, so member k's copies behave exactly like a
``CartPoles(members=1, envs_per_member=N)`` seeded with the same seed, whatever the other
members do. With one member it reproduces gymnasium's vectorized CartPole-v1 (tested).

The dynamics are those of CartPole-v1 (Barto, Sutton & Anderson, 1983; the corrected
equations of Florian, 2007) with an explicit Euler step of 0.02 s: the episode *terminates*
when |x| > 2.4 or |theta| > 12 degrees and is *truncated* after ``max_episode_steps``.
Autoreset mode is NEXT_STEP: the step after an episode ends ignores the action, returns the
first observation of the next episode, reward 0 and both flags False.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

__all__ = ["CartPoles", "check_sizes", "member_seeds"]

GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
HALF_LENGTH = 0.5          # half the pole's length
FORCE = 10.0
TAU = 0.02                 # seconds per step
X_LIMIT = 2.4
THETA_LIMIT = 12 * 2 * math.pi / 360
START_LOW, START_HIGH = -0.05, 0.05
_FORCES = np.array([-FORCE, FORCE])
# The constants of the step as 0-d float64 arrays: numpy multiplies an array of 8 floats by a
# 0-d array faster than by a Python float (0.33 against 0.53 us; the same float64 product)
_TOTAL_MASS = np.array(MASS_POLE + MASS_CART)
_POLE_ML = np.array(MASS_POLE * HALF_LENGTH)
_GRAVITY, _MASS_POLE, _HALF_LENGTH, _TAU = (np.array(c) for c in (GRAVITY, MASS_POLE, HALF_LENGTH, TAU))
_FOUR_THIRDS = np.array(4.0 / 3.0)
_LIMITS = np.array([[X_LIMIT], [THETA_LIMIT]])   # |x| and |theta|'s limits, as a column


def check_sizes(**sizes) -> None:
    """A ValueError naming the first of ``sizes`` (members, envs_per_member, ...) that is not a
    positive integer."""
    for name, v in sizes.items():
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


def member_seeds(seed, members: int) -> list:
    """``reset(seed=...)``'s argument as one seed per member: K seeds, or one integer for one
    member, or None (K times)."""
    if seed is None:
        return [None] * members
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if members != 1:
            raise ValueError(f"reset(seed=...) needs one seed per member ({members}), got one integer")
        return [int(seed)]
    seeds = list(seed)
    if len(seeds) != members:
        raise ValueError(f"reset(seed=...) needs one seed per member ({members}), got {len(seeds)}")
    return [int(s) for s in seeds]


class CartPoles(VectorEnv):
    """K members x N copies of CartPole-v1 (see the module docstring).

    Args:
        members: K, the number of independently seeded groups.
        envs_per_member: N, the copies of each member.
        max_episode_steps: the time limit (truncation), 500 for CartPole-v1.

    ``reset(seed=s)`` seeds member k with ``s[k]`` (a sequence of K seeds) or, for one
    member, with the integer ``s``. ``step(actions, active=mask)`` moves only the envs where
    ``mask`` (K*N booleans) is True; the others are paused (see ``step``).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, members: int = 1, envs_per_member: int = 8, max_episode_steps: int = 500):
        check_sizes(members=members, envs_per_member=envs_per_member, max_episode_steps=max_episode_steps)
        self.members = int(members)
        self.envs_per_member = int(envs_per_member)
        self.num_envs = self.members * self.envs_per_member
        self.max_episode_steps = int(max_episode_steps)
        high = np.array([2 * X_LIMIT, np.inf, 2 * THETA_LIMIT, np.inf], dtype=np.float32)
        self.single_observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.single_action_space = spaces.Discrete(2)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.state = None                                   # [4, K*N], float64
        self.steps = np.zeros(self.num_envs, dtype=np.int32)
        self.prev_done = np.zeros(self.num_envs, dtype=bool)
        self._all = np.ones(self.num_envs, dtype=bool)
        self._ones = np.ones(self.num_envs, dtype=np.float32)   # the rewards of a step, copied
        self._one_step = np.ones(self.num_envs, dtype=np.int32)  # (adding an array: cheaper than 1)
        self._rngs: list[np.random.Generator] = []

    def _starts(self, k: int, n: int) -> np.ndarray:
        """``n`` start states of member k, shape [4, n], from member k's generator."""
        return self._rngs[k].uniform(low=START_LOW, high=START_HIGH, size=(4, n))

    def reset(self, *, seed: int | Sequence[int] | None = None, options=None):
        if seed is not None or not self._rngs:
            # the same generator gymnasium makes from an integer seed
            self._rngs = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(s)))
                          for s in member_seeds(seed, self.members)]
        N = self.envs_per_member
        self.state = np.concatenate([self._starts(k, N) for k in range(self.members)], axis=1)
        self.steps[:] = 0
        self.prev_done[:] = False
        return self.state.T.astype(np.float32), {}

    def step(self, actions, active=None):
        """One step of every env with ``actions`` (K*N values in {0, 1}).

        ``active`` (K*N booleans, default all True) pauses the envs where it is False: a
        paused env keeps its state, its step count and its pending reset, and returns reward
        0 and both flags False (its action is ignored). A population pauses a member that
        has stopped, or that has finished its episode while the others still play theirs.
        """
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(actions)
        force = self._forces(a)
        if active is None:
            run = self._all
        else:
            run = np.asarray(active)
            if run.shape != (self.num_envs,) or run.dtype != bool:
                raise ValueError(f"active must be {self.num_envs} booleans, got {active!r}")
        paused = active is not None and np.count_nonzero(run) < self.num_envs
        old = self.state
        x, x_dot, theta, theta_dot = old
        cos, sin = np.cos(theta), np.sin(theta)
        temp = (force + _POLE_ML * np.square(theta_dot) * sin) / _TOTAL_MASS
        theta_acc = (_GRAVITY * sin - cos * temp) / (
            _HALF_LENGTH * (_FOUR_THIRDS - _MASS_POLE * np.square(cos) / _TOTAL_MASS))
        x_acc = temp - _POLE_ML * theta_acc * cos / _TOTAL_MASS
        # the Euler step of all four rows at once: x + TAU x_dot, x_dot + TAU x_acc, ... (the
        # same products and sums, element by element, as one row at a time)
        self.state = old + _TAU * np.array((x_dot, x_acc, theta_dot, theta_acc))
        out = np.abs(self.state[::2]) > _LIMITS     # rows x and theta against their limits
        terminated = out[0] | out[1]
        if paused:  # a paused env keeps its state, its step count and its pending reset
            self.state[:, ~run] = old[:, ~run]
            terminated &= run
            self.steps += run
            truncated = (self.steps >= self.max_episode_steps) & run
            reward = run.astype(np.float32)
            restart = self.prev_done & run
        else:
            self.steps += self._one_step
            truncated = self.steps >= self.max_episode_steps
            reward = self._ones.copy()
            restart = self.prev_done

        # NEXT_STEP autoreset: envs whose episode ended on the previous step start anew
        if np.count_nonzero(restart):   # .any() costs more on a few values
            N = self.envs_per_member
            for k in (0,) if self.members == 1 else np.unique(restart.nonzero()[0] // N):
                idx = k * N + restart[k * N:(k + 1) * N].nonzero()[0]
                self.state[:, idx] = self._starts(k, idx.size)
            kept = ~restart
            self.steps *= kept
            reward *= kept
            terminated &= kept
            truncated &= kept
        self.prev_done = np.where(run, terminated | truncated, self.prev_done) if paused else terminated | truncated
        return self.state.T.astype(np.float32), reward, terminated, truncated, {}

    def _forces(self, a: np.ndarray) -> np.ndarray:
        """The force of each action (-FORCE for 0, FORCE for 1); a ValueError unless ``a`` is
        K*N values in {0, 1}. For int64 actions one shift checks both ends: ``a >> 1`` is 0
        for 0 and 1 only (a negative action shifts to a negative number)."""
        if a.shape != (self.num_envs,) or (np.count_nonzero(a >> 1) if a.dtype == np.int64
                                           else a.min() < 0 or a.max() > 1):
            raise ValueError(f"actions must be {self.num_envs} values in {{0, 1}}, got {a!r}")
        return _FORCES[a if a.dtype == np.intp else a.astype(np.intp)]

    def close(self, **kwargs):
        self.state = None
