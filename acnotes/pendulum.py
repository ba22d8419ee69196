"""Pendulum-v1 for a population: K members x N copies in one numpy-vectorized env.

``Pendulums(members=K, envs_per_member=N)`` simulates K*N pendulums at once, ordered member by
member (copy j of member k is env ``k*N + j``), with the interface of ``acnotes.cartpole``'s
CartPoles: ``reset(seed=...)`` with one seed per member, ``step(actions, active=mask)``, NEXT_STEP
autoreset. It reproduces gymnasium's ``gym.make_vec("Pendulum-v1", num_envs=N,
vectorization_mode="sync")`` number for number (tested): there each copy is its own env with its
own random generator, seeded ``seed, seed + 1, ..., seed + N - 1``, so here copy j of member k
has a generator seeded ``seed_k + j``, and member k's copies behave like that vector env
seeded with ``seed_k``, whatever the other members do.

The dynamics (gymnasium's Pendulum-v1): the state is the angle theta (0 = upright) and the
angular speed theta_dot; the torque u = clip(a, -2, 2); with g = 10, m = l = 1, dt = 0.05,

    r_t = -(normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2),   normalize(x) in [-pi, pi)
    theta_dot' = clip(theta_dot + (3 g / (2 l) sin(theta) + 3 / (m l^2) u) dt, -8, 8)
    theta' = theta + theta_dot' dt

and the observation is (cos theta, sin theta, theta_dot) in float32. The episode never
*terminates*; it is *truncated* after ``max_episode_steps`` (200). The start state is uniform
in [-pi, pi] x [-1, 1]. The float32 torque enters the cost and the speed as gymnasium's does
(``0.001 * u**2`` and ``3.0 * u`` in float32, then added to float64), and squares are taken
by the C ``pow`` as in gymnasium's scalar code (``_square``, whatever the CPU), so the rewards
agree to the last bit.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .cartpole import check_sizes, member_seeds

__all__ = ["Pendulums", "angle_normalize", "MAX_TORQUE", "MAX_SPEED", "EPISODE_STEPS"]

MAX_TORQUE = 2.0
MAX_SPEED = 8
G, MASS, LENGTH, DT = 10.0, 1.0, 1.0, 0.05
EPISODE_STEPS = 200
START_HIGH = np.array([np.pi, 1.0])   # the start state is uniform in [-pi, pi] x [-1, 1]


def _square(x: np.ndarray) -> np.ndarray:
    """x ** 2 as gymnasium's scalar ``x**2`` computes it: the C library's ``pow`` (float64) or
    ``powf`` (float32), on every machine. numpy's array ops do not: ``x * x`` differs from ``pow``
    in the last bit for about 1 value in 1,500, and ``np.power`` runs a vectorised ``pow`` where
    the CPU has AVX-512 (numpy 2.4: about 1 value in 40 differs there, none elsewhere).
    float64: ``math.pow``, which is the C ``pow``, value by value. float32: the square in float64
    is exact (24 + 24 bits); rounded to float32 it is ``powf``'s result except near the midpoint
    of two float32s, where ``powf`` may round the other way; those values (within 1/64 of the
    gap of the midpoint, about 1 in 30), and any outside float32's normal range, take numpy's
    scalar ``**``, gymnasium's own expression."""
    if x.dtype == np.float64:
        return np.array([math.pow(v, 2.0) if not abs(v) >= 1e154 else math.inf   # pow overflows there
                         for v in x.tolist()], dtype=np.float64).reshape(x.shape)
    if x.dtype != np.float32:
        raise TypeError(f"_square takes float32 or float64, not {x.dtype}")
    exact = x.astype(np.float64) ** 2                         # exact: at most 48 significant bits
    with np.errstate(over="ignore", invalid="ignore"):        # inf and NaN go the scalar way below
        out = exact.astype(np.float32)
        near = out.astype(np.float64)
        toward = np.where(exact >= near, np.float32(np.inf), np.float32(-np.inf))   # the gap on exact's side
        gap = np.abs(np.nextafter(out, toward).astype(np.float64) - near)
        risky = ((np.abs(2 * np.abs(exact - near) - gap) * 64 <= 2 * gap)
                 | ~(exact <= float(np.finfo(np.float32).max)) | (exact < float(np.finfo(np.float32).tiny)))
    for i in np.flatnonzero(risky):
        out.flat[i] = x.flat[i] ** 2                          # the float32 scalar's powf
    return out


def angle_normalize(x):
    """The angle ``x`` in [-pi, pi): ((x + pi) mod 2 pi) - pi."""
    return ((x + np.pi) % (2 * np.pi)) - np.pi


class Pendulums(VectorEnv):
    """K members x N copies of Pendulum-v1 (see the module docstring).

    Args:
        members: K, the number of independently seeded groups.
        envs_per_member: N, the copies of each member.
        max_episode_steps: the time limit (truncation), 200 for Pendulum-v1.

    ``reset(seed=s)`` seeds copy j of member k with ``s[k] + j`` (``s`` a sequence of K seeds)
    or, for one member, with ``s + j``. ``step(actions, active=mask)``: ``actions`` are K*N
    torques (shape [K*N, 1] or [K*N]); the envs where ``mask`` (K*N booleans) is False are paused.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, members: int = 1, envs_per_member: int = 8, max_episode_steps: int = EPISODE_STEPS):
        check_sizes(members=members, envs_per_member=envs_per_member, max_episode_steps=max_episode_steps)
        self.members = int(members)
        self.envs_per_member = int(envs_per_member)
        self.num_envs = self.members * self.envs_per_member
        self.max_episode_steps = int(max_episode_steps)
        high = np.array([1.0, 1.0, MAX_SPEED], dtype=np.float32)
        self.single_observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.single_action_space = spaces.Box(-MAX_TORQUE, MAX_TORQUE, shape=(1,), dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.theta = self.theta_dot = None                  # [K*N] each, float64
        self.steps = np.zeros(self.num_envs, dtype=np.int32)
        self.prev_done = np.zeros(self.num_envs, dtype=bool)
        self._rngs: list[np.random.Generator] = []

    def _env_seeds(self, seed) -> list:
        """Copy j of member k is seeded seed_k + j (gymnasium's sync vector env: seed, seed + 1, ...)."""
        return [None if s is None else s + j for s in member_seeds(seed, self.members) for j in range(self.envs_per_member)]

    def _start(self, idx: np.ndarray) -> None:
        """New start states for the envs ``idx``, each from its own generator (as gymnasium's reset)."""
        for i in idx:
            self.theta[i], self.theta_dot[i] = self._rngs[i].uniform(low=-START_HIGH, high=START_HIGH)

    def _obs(self) -> np.ndarray:
        return np.stack([np.cos(self.theta), np.sin(self.theta), self.theta_dot], axis=1).astype(np.float32)

    def reset(self, *, seed: int | Sequence[int] | None = None, options=None):
        if seed is not None or not self._rngs:
            # the generator gymnasium makes from an integer seed, one per copy
            self._rngs = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(s)))
                          for s in self._env_seeds(seed)]
        self.theta, self.theta_dot = np.zeros(self.num_envs), np.zeros(self.num_envs)
        self._start(np.arange(self.num_envs))
        self.steps[:] = 0
        self.prev_done[:] = False
        return self._obs(), {}

    def step(self, actions, active=None):
        """One step of every env with torques ``actions``; ``active`` (K*N booleans, default all
        True) pauses the envs where it is False: a paused env keeps its state, its step count and
        its pending reset, and returns reward 0 and both flags False."""
        if self.theta is None:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(actions, dtype=np.float32)
        if a.shape not in ((self.num_envs,), (self.num_envs, 1)):
            raise ValueError(f"actions must be {self.num_envs} torques (shape [{self.num_envs}, 1]), got shape {a.shape}")
        run = np.ones(self.num_envs, dtype=bool) if active is None else np.asarray(active)
        if run.shape != (self.num_envs,) or run.dtype != bool:
            raise ValueError(f"active must be {self.num_envs} booleans, got {active!r}")
        u = np.clip(a.reshape(-1), -MAX_TORQUE, MAX_TORQUE)        # float32, as gymnasium's
        th, thdot = self.theta, self.theta_dot
        costs = _square(angle_normalize(th)) + 0.1 * _square(thdot) + 0.001 * _square(u)
        new_thdot = thdot + (3 * G / (2 * LENGTH) * np.sin(th) + 3.0 / (MASS * LENGTH ** 2) * u) * DT
        new_thdot = np.clip(new_thdot, -MAX_SPEED, MAX_SPEED)
        new_th = th + new_thdot * DT
        self.theta = np.where(run, new_th, th)
        self.theta_dot = np.where(run, new_thdot, thdot)
        reward = np.where(run, -costs, 0.0)
        self.steps += run
        terminated = np.zeros(self.num_envs, dtype=bool)          # Pendulum never terminates
        truncated = (self.steps >= self.max_episode_steps) & run
        # NEXT_STEP autoreset: envs whose episode ended on the previous step start anew
        restart = self.prev_done & run
        if restart.any():
            self._start(np.flatnonzero(restart))
            self.steps[restart] = 0
            reward[restart] = 0.0
            truncated[restart] = False
        self.prev_done = np.where(run, truncated, self.prev_done)
        return self._obs(), reward, terminated, truncated, {}

    def close(self, **kwargs):
        self.theta = self.theta_dot = None
