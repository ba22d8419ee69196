"""Collecting batches of experience from a vector env.

A ``Batch`` is time-major: ``obs[t, i]`` is what env i showed at step t, and
``next_obs[t, i]`` is the state that followed, ``s_{t+1}``. Two details matter:

* gymnasium's vector CartPole resets an env on the step *after* its episode ended (autoreset
  mode NEXT_STEP). That step ignores the action and links the last state of one episode to
  the first of the next. It is kept in the arrays (so they stay rectangular) but marked
  ``valid = False``, and every loss masks it out.
* Because of that, the observation returned with ``terminated`` or ``truncated`` is the true
  last state, so ``next_obs`` is right even at a truncation, where the TD target needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from gymnasium import spaces

from .cartpole import CartPoles
from .pendulum import Pendulums

__all__ = ["Batch", "Collector"]


@dataclass
class Batch:
    """T steps of N envs. Float tensors except ``actions`` (long) and the flags (bool)."""

    obs: Tensor          # [T, N, d]  s_t
    actions: Tensor      # [T, N]     a_t ([T, N, A] floats for a Gaussian policy: the unclipped a_t)
    rewards: Tensor      # [T, N]     r_t (after reward scaling)
    terminated: Tensor   # [T, N]     the episode ended for real after step t
    truncated: Tensor    # [T, N]     the episode was cut off after step t
    next_obs: Tensor     # [T, N, d]  s_{t+1}
    valid: Tensor        # [T, N]     False on autoreset steps and after an episode in episodes mode
    t: Tensor            # [T, N]     time step within the episode (0 at its first step)

    @property
    def n_valid(self) -> int:
        return int(self.valid.sum())

    def n_episodes_ended(self) -> int:
        return int(((self.terminated | self.truncated) & self.valid).sum())


@dataclass
class EpisodeLog:
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    end_steps: list[int] = field(default_factory=list)
    members: list[int] = field(default_factory=list)


class Collector:
    """Steps a vector env with a policy and returns Batches.

    Args:
        env: a vector env with NEXT_STEP autoreset (``make_cartpole``, ``make_pendulum``):
            discrete actions, or a Box of continuous ones.
        policy: a function from an observation tensor [N, d] to logits [N, A], or, for a Box
            of A action coordinates, to a Gaussian's (mu, log sigma) concatenated, [N, 2A].
        seed: seeds the first reset of the env and the action sampler. For a population
            env (``make_cartpole(n, members=K)``), a sequence of K seeds, one per member:
            member k's envs and actions then depend on ``seed[k]`` only.
        greedy: take the most probable action instead of sampling (for evaluation).
        reward_scale: rewards are multiplied by it before learning (episode returns are
            logged unscaled); one number, or one per member.
        block: steps of uniform numbers drawn at once per member (default ``BLOCK``). PPO
            draws its minibatch shuffles from the same generators between two rollouts; with
            ``block`` the rollout length, a rollout's numbers are drawn at its first step, so
            the shuffles come after them, as in ``reference/ppo.py``.

    ``steps(T)`` continues where the last call stopped: episodes run across batches.
    ``episodes()`` resets every env and runs until each has finished one whole episode.
    ``env_steps`` counts the env transitions simulated per member (N per step), autoreset
    steps included. ``log`` records every finished episode; ``log.members[i]`` says whose.
    ``active`` (K booleans) says which members still act: a stopped member's envs are
    paused (``CartPoles.step(actions, active=...)``: they do not move) and its episodes are
    no longer logged. Pausing needs a population env; a gymnasium vector env serves only
    while every member acts.

    Continuous actions (a Box): a_t = mu + sigma eps with eps ~ N(0, 1) drawn, each step, from
    member k's generator for its N envs ([N, A] at once, as ``gaussian.sample`` draws them); the
    env receives clip(a_t, low, high), the Batch keeps the unclipped a_t, whose log-probability
    the loss scores (clipping outside the log-probability: ``acnotes.gaussian``). Rewards are
    then scaled in float64 and rounded to float32 once (as ``reference/gaussian_a2c.py`` does).
    """

    BLOCK = 64  # steps of uniform numbers drawn at once per member

    def __init__(self, env, policy, seed: int | Sequence[int] = 0, reward_scale: float | Sequence[float] = 1.0,
                 greedy: bool = False, block: int | None = None):
        self.env = env
        if block is not None:
            self.BLOCK = int(block)
        self.policy = policy
        self.greedy = bool(greedy)
        seeds = [seed] if isinstance(seed, (int, np.integer)) else list(seed)
        self.members = len(seeds)
        self.n = env.num_envs
        if self.members < 1 or self.n % self.members:
            raise ValueError(f"{self.n} envs cannot be split among {self.members} members")
        self.per_member = self.n // self.members
        scale = np.broadcast_to(np.asarray(reward_scale, dtype=np.float32), (self.members,))
        self.reward_scale = np.repeat(scale, self.per_member)   # float32, applied in numpy (``_batch``)
        self.gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        # uniforms for sampling, row-major in steps: a step's K*N numbers are one contiguous row
        self._u = torch.empty(self.BLOCK, self.members * self.per_member, 1)
        self._un = self._u.numpy()   # the same memory, read by numpy
        self._pos = np.full(self.members, self.BLOCK)                    # next unused row per member
        self._row: int | None = self.BLOCK   # the next unused row while every member is at the same one
        self._seeds = [int(s) for s in seeds]
        self._member_of = np.repeat(np.arange(self.members), self.per_member)
        self.active = np.ones(self.members, dtype=bool)
        self._obs = None
        self._first_reset = True
        self.member_steps = np.zeros(self.members, dtype=np.int64)
        self.log = EpisodeLog()
        self._ep_ret = np.zeros(self.n)
        self._ep_len = np.zeros(self.n, dtype=np.int64)
        self._skip = np.zeros(self.n, dtype=bool)  # next step is an autoreset step
        self._skip_any = False                      # ... for some env (a Python bool: no numpy call)
        self._everyone = np.ones(self.n, dtype=bool)
        # numpy adds two arrays faster than an array and a Python number (0.3 us against 1 us)
        self._one_step = np.ones(self.n, dtype=np.int64)
        self._step_members = np.full(self.members, self.per_member, dtype=np.int64)
        # our own envs return new flag arrays every step; a gymnasium vector env may reuse its own
        self._fresh_flags = isinstance(env, (CartPoles, Pendulums))
        box = env.single_action_space
        self.continuous = isinstance(box, spaces.Box)
        if self.continuous:
            self._low, self._high = box.low, box.high
            self._scale64 = np.repeat(np.broadcast_to(np.asarray(reward_scale, dtype=np.float64),
                                                      (self.members,)), self.per_member)

    def reset(self) -> Tensor:
        if self._first_reset:
            seed = self._seeds[0] if self.members == 1 else self._seeds
            obs, _ = self.env.reset(seed=seed)
            self._first_reset = False
        else:
            obs, _ = self.env.reset()
        self._obs = torch.from_numpy(np.asarray(obs, dtype=np.float32))
        self._ep_ret[:] = 0.0
        self._ep_len[:] = 0
        self._skip[:] = False
        self._skip_any = False
        return self._obs

    @property
    def env_steps(self) -> int:
        """Env transitions simulated per member so far (the most of any member)."""
        return int(self.member_steps.max())

    def _fill(self, k: int) -> None:
        """The next ``BLOCK`` steps of member k's uniform numbers, from its own generator."""
        n = self.per_member
        self._u[:, k * n:(k + 1) * n, 0] = torch.rand(self.BLOCK, n, generator=self.gens[k])

    def _act(self, obs: Tensor, acting: np.ndarray, everyone: bool) -> tuple[Tensor | np.ndarray, np.ndarray]:
        """Sample a_t ~ pi(.|s_t) by inverting the CDF at a uniform number u: the action is
        the first a with u < pi(0|s) + ... + pi(a|s). Member k's numbers come from its own
        generator, in blocks of ``BLOCK`` steps, and only the members ``acting`` use one
        (``everyone``: all of them). Returns a_t for the batch (discrete actions: the numpy
        array the env receives, joined into a tensor once per batch) and what the env receives.
        Called under inference mode (``steps``, ``episodes``)."""
        logits = self.policy(obs)
        if self.continuous:
            a = self._gaussian(logits, acting)
            return a, np.clip(a.numpy(), self._low, self._high)
        if self.greedy:
            a = logits.argmax(-1).numpy()
            return a, a
        probs = torch.softmax(logits, dim=-1)
        # a cumulative sum starts with its first term as it is: two actions need no cumsum.
        # The column, the comparison and the count run in numpy: on a few floats numpy's ops
        # cost less than torch's (the same numbers: one float32 comparison per action)
        cdf = probs.numpy()[:, :1] if probs.shape[-1] == 2 else probs.cumsum(-1)[:, :-1].numpy()
        if self._row is not None and everyone:
            # the usual case: every member acts and all are at the same row (one counter)
            row = self._row
            if row >= self.BLOCK:
                for k in range(self.members):
                    self._fill(k)
                row = 0
            self._row = row + 1
            return self._count(self._un[row] >= cdf)
        pos = self._pos
        if self._row is not None:   # leave the one counter for one row per member
            pos[:], self._row = self._row, None
        if (acting & (pos >= self.BLOCK)).any():
            for k in np.flatnonzero(acting & (pos >= self.BLOCK)):
                self._fill(k)
                pos[k] = 0
        if (pos == pos[0]).all():   # every member at the same row: a view
            u = self._un[min(int(pos[0]), self.BLOCK - 1)]
        else:
            rows = np.repeat(np.minimum(pos, self.BLOCK - 1), self.per_member)
            u = self._un[rows, np.arange(self.n)]
        pos[acting] += 1
        if everyone and (pos == pos[0]).all():
            self._row = int(pos[0])       # back to the one counter
        return self._count(u >= cdf)

    @staticmethod
    def _count(hit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The actions from ``u >= cdf`` [N, A-1]: how many of the CDF's terms u passed (for two
        actions the one comparison itself, as an integer)."""
        a = hit[:, 0].astype(np.int64) if hit.shape[1] == 1 else hit.sum(-1, dtype=np.int64)
        return a, a

    def _gaussian(self, out: Tensor, acting: np.ndarray) -> Tensor:
        """a = mu + sigma eps (or mu, if greedy), eps [N, A] per acting member from its generator."""
        mu, log_std = out.chunk(2, -1)
        if self.greedy:
            return mu
        n = self.per_member
        eps = torch.zeros_like(mu)
        for k in np.flatnonzero(acting):
            eps[k * n:(k + 1) * n] = torch.randn(mu[k * n:(k + 1) * n].shape, generator=self.gens[k], dtype=mu.dtype)
        return mu + log_std.exp() * eps

    def _step(self, sent: np.ndarray, acting: np.ndarray, everyone: bool, unfinished: np.ndarray | None = None):
        """One env step with the actions ``sent``. Members not ``acting`` are paused: their
        envs do not move (``everyone``: all members act)."""
        running = self._everyone if everyone else acting[self._member_of]
        if everyone or running.all():
            nobs, r, term, trunc, _ = self.env.step(sent)
        elif isinstance(self.env, (CartPoles, Pendulums)):
            nobs, r, term, trunc, _ = self.env.step(sent, active=running)
        else:
            raise ValueError("pausing members needs a population env (acnotes.envs.make_cartpole)")
        if everyone:
            self.member_steps += self._step_members
        else:
            self.member_steps[acting] += self.per_member
        if everyone and unfinished is None and not self._skip_any:
            # the usual step: no autoreset step and every env running, so every step is valid
            # and the masks would multiply by exactly 1 (``_everyone`` is never written to)
            valid = self._everyone
            done = term | trunc
            self._ep_ret += r
            self._ep_len += self._one_step
            if not self._fresh_flags:
                term, trunc = term.copy(), trunc.copy()
        else:
            valid = ~self._skip if everyone else ~self._skip & running
            if unfinished is not None:
                valid &= unfinished
            done = (term | trunc) & valid
            self._ep_ret += r * valid
            term, trunc = term & valid, trunc & valid
            self._ep_len += valid
        length = self._ep_len.copy()   # t = length - 1, computed for the whole batch (``_batch``)
        ended = done.nonzero()[0]   # np.flatnonzero without its Python wrapper
        if ended.size:    # most steps end no episode
            for i in ended:
                k = int(self._member_of[i])
                self.log.returns.append(float(self._ep_ret[i]))
                self.log.lengths.append(int(self._ep_len[i]))
                self.log.end_steps.append(int(self.member_steps[k]))
                self.log.members.append(k)
            self._ep_ret[ended] = 0.0
            self._ep_len[ended] = 0
        if everyone:
            self._skip, self._skip_any = done, ended.size > 0
        else:
            self._skip = np.where(running, done, self._skip)
            self._skip_any = np.count_nonzero(self._skip) > 0
        return nobs, r, term, trunc, valid, length

    def steps(self, T: int) -> Batch:
        """Collect T steps from every env, continuing the running episodes."""
        if self._obs is None:
            self.reset()
        obs = self._obs
        rows = [obs.numpy()]
        acting = self.active
        everyone = np.count_nonzero(acting) == self.members   # (they do not change within a batch)
        with torch.inference_mode():    # entered once per batch, not per step
            for _ in range(T):
                a, sent = self._act(obs, acting, everyone)
                nobs, r, term, trunc, valid, length = self._step(sent, acting, everyone)
                nobs = np.asarray(nobs, dtype=np.float32)
                obs = torch.from_numpy(nobs)
                rows.append((nobs, a, r, term, trunc, valid, length))
        self._obs = obs
        return self._batch(rows)

    def episodes(self, max_steps: int = 100_000) -> Batch:
        """Reset all envs and collect until each has finished one episode.

        Steps of an env after its episode ended are marked invalid; a member whose envs
        have all finished is paused until the others finish. Used by REINFORCE, whose
        return G_t needs the whole episode.
        """
        obs = self.reset()
        finished = ~self.active[self._member_of]
        rows = [obs.numpy()]
        acting = ~finished.reshape(self.members, self.per_member).all(axis=1)
        everyone = bool(acting.all())
        with torch.inference_mode():
            for _ in range(max_steps):
                a, sent = self._act(obs, acting, everyone)
                nobs, r, term, trunc, valid, length = self._step(sent, acting, everyone, unfinished=~finished)
                ended = term | trunc
                if np.count_nonzero(ended):   # who acts changes only when an episode ends
                    finished |= ended
                    acting = ~finished.reshape(self.members, self.per_member).all(axis=1)
                    everyone = bool(acting.all())
                nobs = np.asarray(nobs, dtype=np.float32)
                obs = torch.from_numpy(nobs)
                rows.append((nobs, a, r, term, trunc, valid, length))
                if np.count_nonzero(finished) == self.n:   # (.all() costs more on a few values)
                    break
        self._obs = None  # the next call starts from a reset
        return self._batch(rows)

    def _batch(self, rows) -> Batch:
        # The rows are numpy arrays (discrete actions too), joined with np.array (np.stack's
        # values without its Python wrapper) and scaled and masked in numpy: on a few hundred
        # numbers numpy's calls cost less than torch's, and a float32 product is the same float
        obs_l = [rows[0]] + [row[0] for row in rows[1:]]
        act_l, rew_l, term_l, trunc_l, valid_l, len_l = zip(*(row[1:] for row in rows[1:]))
        obs = torch.from_numpy(np.array(obs_l))
        valid = np.array(valid_l)
        if self.continuous:   # r_t * scale in float64, rounded once (Pendulum's rewards are float64)
            rewards = (np.array(rew_l) * self._scale64).astype(np.float32)
        else:
            rewards = np.array(rew_l).astype(np.float32, copy=False) * self.reward_scale
        return Batch(
            obs=obs[:-1],
            actions=torch.stack(act_l) if self.continuous else torch.from_numpy(np.array(act_l)),
            rewards=torch.from_numpy(rewards * valid),   # 0 on invalid steps (times 1 or 0: exact)
            terminated=torch.from_numpy(np.array(term_l)),
            truncated=torch.from_numpy(np.array(trunc_l)),
            next_obs=obs[1:],
            valid=torch.from_numpy(valid),
            t=torch.from_numpy(np.maximum(np.array(len_l) - 1, 0)),   # 0 at an episode's first step
        )
