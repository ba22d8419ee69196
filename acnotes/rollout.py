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

import numpy as np
import torch
from torch import Tensor

__all__ = ["Batch", "Collector"]


@dataclass
class Batch:
    """T steps of N envs. Float tensors except ``actions`` (long) and the flags (bool)."""

    obs: Tensor          # [T, N, d]  s_t
    actions: Tensor      # [T, N]     a_t
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


class Collector:
    """Steps a vector env with a policy and returns Batches.

    Args:
        env: a gymnasium vector env with discrete actions (NEXT_STEP autoreset).
        policy: a function from an observation tensor [N, d] to logits [N, A].
        seed: seeds the first reset of the env and the action sampler.
        reward_scale: rewards are multiplied by it before learning (episode returns are
            logged unscaled).

    ``steps(T)`` continues where the last call stopped: episodes run across batches.
    ``episodes()`` resets every env and runs until each has finished one whole episode.
    ``env_steps`` counts every env transition simulated, autoreset steps included.
    """

    def __init__(self, env, policy, seed: int = 0, reward_scale: float = 1.0):
        self.env = env
        self.policy = policy
        self.reward_scale = float(reward_scale)
        self.n = env.num_envs
        self.gen = torch.Generator().manual_seed(int(seed))
        self._seed = int(seed)
        self._obs = None
        self._first_reset = True
        self.env_steps = 0
        self.log = EpisodeLog()
        self._ep_ret = np.zeros(self.n)
        self._ep_len = np.zeros(self.n, dtype=np.int64)
        self._skip = np.zeros(self.n, dtype=bool)  # next step is an autoreset step

    def reset(self) -> Tensor:
        if self._first_reset:
            obs, _ = self.env.reset(seed=self._seed)
            self._first_reset = False
        else:
            obs, _ = self.env.reset()
        self._obs = torch.from_numpy(np.asarray(obs, dtype=np.float32))
        self._ep_ret[:] = 0.0
        self._ep_len[:] = 0
        self._skip[:] = False
        return self._obs

    @torch.no_grad()
    def _act(self, obs: Tensor) -> Tensor:
        probs = torch.softmax(self.policy(obs), dim=-1)
        return torch.multinomial(probs, 1, generator=self.gen).squeeze(-1)

    def _step(self, actions: Tensor, active: np.ndarray | None = None):
        nobs, r, term, trunc, _ = self.env.step(actions.numpy())
        self.env_steps += self.n
        valid = ~self._skip if active is None else ~self._skip & active
        done = (term | trunc) & valid
        self._ep_ret += r * valid
        self._ep_len += valid
        for i in np.flatnonzero(done):
            self.log.returns.append(float(self._ep_ret[i]))
            self.log.lengths.append(int(self._ep_len[i]))
            self.log.end_steps.append(self.env_steps)
        t = self._ep_len - 1
        self._ep_ret[done] = 0.0
        self._ep_len[done] = 0
        self._skip = done
        return nobs, r, term & valid, trunc & valid, valid, t

    def steps(self, T: int) -> Batch:
        """Collect T steps from every env, continuing the running episodes."""
        if self._obs is None:
            self.reset()
        obs_l, act_l, rew_l, term_l, trunc_l, valid_l, t_l = [], [], [], [], [], [], []
        obs = self._obs
        obs_l.append(obs)
        for _ in range(T):
            a = self._act(obs)
            nobs, r, term, trunc, valid, t = self._step(a)
            obs = torch.from_numpy(np.asarray(nobs, dtype=np.float32))
            obs_l.append(obs)
            act_l.append(a)
            rew_l.append(r)
            term_l.append(term)
            trunc_l.append(trunc)
            valid_l.append(valid)
            t_l.append(t)
        self._obs = obs
        return self._batch(obs_l, act_l, rew_l, term_l, trunc_l, valid_l, t_l)

    def episodes(self, max_steps: int = 100_000) -> Batch:
        """Reset all envs and collect until each has finished one episode.

        Steps of an env after its episode ended are marked invalid. Used by REINFORCE,
        whose return G_t needs the whole episode.
        """
        obs = self.reset()
        finished = np.zeros(self.n, dtype=bool)
        obs_l, act_l, rew_l, term_l, trunc_l, valid_l, t_l = [obs], [], [], [], [], [], []
        for _ in range(max_steps):
            a = self._act(obs)
            nobs, r, term, trunc, valid, t = self._step(a, active=~finished)
            finished |= term | trunc
            obs = torch.from_numpy(np.asarray(nobs, dtype=np.float32))
            obs_l.append(obs)
            act_l.append(a)
            rew_l.append(r)
            term_l.append(term)
            trunc_l.append(trunc)
            valid_l.append(valid)
            t_l.append(t)
            if finished.all():
                break
        self._obs = None  # the next call starts from a reset
        return self._batch(obs_l, act_l, rew_l, term_l, trunc_l, valid_l, t_l)

    def _batch(self, obs_l, act_l, rew_l, term_l, trunc_l, valid_l, t_l) -> Batch:
        obs = torch.stack(obs_l)
        valid = torch.from_numpy(np.stack(valid_l))
        rewards = torch.from_numpy(np.stack(rew_l).astype(np.float32)) * self.reward_scale
        return Batch(
            obs=obs[:-1],
            actions=torch.stack(act_l),
            rewards=rewards * valid,
            terminated=torch.from_numpy(np.stack(term_l)),
            truncated=torch.from_numpy(np.stack(trunc_l)),
            next_obs=obs[1:],
            valid=valid,
            t=torch.from_numpy(np.stack(t_l)).clamp(min=0),
        )
