"""The scripted runs of notebook 9's loop checker (:mod:`.loop`), and what an update computes on them.

A *scene* is a script of transitions (observations, rewards, terminations, truncations) that
:class:`_ScriptedEnv` plays whatever the student's actions, recording them. :func:`_replay`
computes, from the same transitions and fixed weights, what a correct update gives, and each
entry of ``_MISTAKES`` what a known mistake gives, so that the checker can name it. The
hidden tests' scenes (linear networks, float64 replays) are made here too and written into
the checker cell by :mod:`.hidden`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn


# --------------------------------------------------------------------------- the script


@dataclass
class _Scene:
    """A scripted run: step k acts from ``obs[k]``, gets ``rewards[k]`` and reaches
    ``next_obs[k]``; ``ends[k]`` is "", "terminated" or "truncated". After an end, the next
    episode starts at ``obs[k + 1]`` (returned by ``reset``)."""

    words: str
    n_steps: int
    gamma: float
    obs: np.ndarray
    next_obs: np.ndarray
    rewards: list
    ends: list
    seed: int = 0
    lr: float = 0.1
    critic_lr: float = 0.2

    @property
    def total_steps(self) -> int:
        return len(self.rewards)

    def returns(self) -> list[float]:
        out, run = [], 0.0
        for r, end in zip(self.rewards, self.ends):
            run += r
            if end:
                out.append(run)
                run = 0.0
        return out


def _scene(words, n_steps, gamma, ends, seed, dim=3):
    """Observations and rewards drawn from ``seed``; a termination reaches a state of its own
    (whose value a wrong bootstrap would use), a truncation the episode's last state, which
    is not the next episode's first."""
    g = np.random.default_rng(seed)
    T = len(ends)
    obs = np.round(g.normal(size=(T + 1, dim)), 2).astype(np.float32)
    nxt = np.round(g.normal(size=(T, dim)), 2).astype(np.float32)
    for k in range(T):
        if not ends[k]:
            nxt[k] = obs[k + 1]            # inside an episode the next state is the next step's
    rewards = [float(x) for x in np.round(g.normal(size=T), 2)]
    return _Scene(words, n_steps, gamma, obs[:T], nxt, rewards, list(ends), seed)


def _scenes() -> list[_Scene]:
    e, te, tr = "", "terminated", "truncated"
    return [
        _scene("one update of n_steps = 4 steps, one episode still running at the end.",
               4, 0.9, [e, e, e, e], 1),
        _scene("one update of n_steps = 5 steps: the episode terminates after step 1 (its "
               "reward is the last: no V(s_{t+1})); the next one is running at the end.",
               5, 0.9, [e, te, e, e, e], 2),
        _scene("one update of n_steps = 5 steps: the episode is truncated (a time limit) "
               "after step 2: it is over, but V(s_{t+1}) of the state it reached still counts.",
               5, 0.8, [e, e, tr, e, e], 3),
        _scene("three updates of n_steps = 4 steps: terminations after steps 1 and 9, a "
               "truncation after step 5 (12 steps).",
               4, 0.95, [e, te, e, e, e, tr, e, e, e, te, e, e], 4),
    ]


class _EnvMisuse(Exception):
    """The student's loop used the scripted env the wrong way."""


class _ScriptedEnv:
    """Plays a :class:`_Scene` whatever the actions, and records the actions."""

    def __init__(self, scene: _Scene):
        self.scene, self.k, self.running, self.started, self.actions = scene, 0, False, False, []

    def reset(self, *, seed=None, options=None):
        if self.running:
            raise _EnvMisuse(f"env.reset() was called in the middle of an episode (after step "
                             f"{self.k}): reset only when an episode has ended, terminated or "
                             f"truncated; otherwise keep acting from the state the step reached.")
        self.running, self.started = True, True
        obs = self.scene.obs[min(self.k, self.scene.total_steps - 1)]
        return obs.copy(), {}

    def step(self, action):
        if not self.started:
            raise _EnvMisuse("env.step() before env.reset(): start with obs, _ = env.reset().")
        if not self.running:
            raise _EnvMisuse(f"env.step() after the episode ended at step {self.k - 1} "
                             f"({self.scene.ends[self.k - 1]}): call obs, _ = env.reset() after "
                             f"an episode ends, whether terminated or truncated.")
        if self.k >= self.scene.total_steps:
            raise _EnvMisuse(f"more than total_steps = {self.scene.total_steps} calls of env.step().")
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)) \
                or action not in (0, 1):
            raise _EnvMisuse(f"env.step({action!r}): the action must be a Python int, 0 or 1 "
                             f"(for a tensor a, pass a.item()).")
        s, k = self.scene, self.k
        self.actions.append(int(action))
        self.k += 1
        self.running = not s.ends[k]
        return s.next_obs[k].copy(), s.rewards[k], s.ends[k] == "terminated", s.ends[k] == "truncated", {}


def _nets(seed: int, dim: int = 3, hidden: int = 8):
    """A small tanh actor (2 logits) and critic (one value), from ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        actor = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 2))
        critic = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    return actor, critic


def _flat(module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()])


# --------------------------------------------------------------------------- the reference


def _replay(scene: _Scene, actions: list[int], actor, critic, *, detach_target=True,
            stop="terminated", next_at_end="reached", actor_sign=1.0, critic_sign=1.0,
            reduce="mean", half=True, zero_grad=True, critic_first=False, keep_dim=False,
            detach_delta=True):
    """The weights (actor, critic) after the updates of ``scene`` with these ``actions``,
    from copies of ``actor`` and ``critic`` with SGD. The keywords at their defaults are the
    exercise; each other value is a known mistake (``_MISTAKES``)."""
    actor, critic = copy.deepcopy(actor), copy.deepcopy(critic)
    actor_opt = torch.optim.SGD(actor.parameters(), lr=scene.lr)
    critic_opt = torch.optim.SGD(critic.parameters(), lr=scene.critic_lr)
    T = scene.total_steps
    next_obs = scene.next_obs.copy()
    if next_at_end == "reset":        # s_{t+1} taken after env.reset(): the next start
        for k in range(T):
            if scene.ends[k] and k + 1 < T:
                next_obs[k] = scene.obs[k + 1]
    ends = {"terminated": [e == "terminated" for e in scene.ends], "none": [False] * T,
            "either": [bool(e) for e in scene.ends]}[stop]
    mean = (lambda x: x.mean()) if reduce == "mean" else (lambda x: x.sum())
    for start in range(0, T - scene.n_steps + 1, scene.n_steps):
        sl = slice(start, start + scene.n_steps)
        s, s_next = torch.as_tensor(scene.obs[sl]), torch.as_tensor(next_obs[sl])
        a = torch.tensor(actions[sl])
        r = torch.tensor(scene.rewards[sl], dtype=torch.float32)
        not_end = 1.0 - torch.tensor(ends[sl], dtype=torch.float32)
        v, v_next = critic(s), critic(s_next)
        if not keep_dim:               # kept, [n, 1] against [n]: everything broadcasts to [n, n]
            v, v_next = v.squeeze(-1), v_next.squeeze(-1)
        y = r + scene.gamma * not_end * v_next
        if detach_target:
            y = y.detach()
        critic_loss = critic_sign * mean((0.5 if half else 1.0) * (y - v) ** 2)
        log_pi = torch.log_softmax(actor(s), -1).gather(-1, a.unsqueeze(-1)).squeeze(-1)
        if critic_first:               # the critic steps, then delta is computed with it
            if zero_grad:
                critic_opt.zero_grad()
            critic_loss.backward()
            critic_opt.step()
            with torch.no_grad():
                delta = r + scene.gamma * not_end * critic(s_next).squeeze(-1) - critic(s).squeeze(-1)
        else:
            delta = y.detach() - v
            if detach_delta:
                delta = delta.detach()
        actor_loss = -actor_sign * mean(log_pi * delta)
        if zero_grad:
            actor_opt.zero_grad()
            if not critic_first:
                critic_opt.zero_grad()
        if critic_first or detach_delta:
            actor_loss.backward()
            if not critic_first:
                critic_loss.backward()
        else:                          # one backward of the sum: the actor's loss reaches V_w
            (actor_loss + critic_loss).backward()
        actor_opt.step()
        if not critic_first:
            critic_opt.step()
    return _flat(actor), _flat(critic)


@dataclass
class _Mistake:
    flags: dict
    hint: str


_MISTAKES = [
    _Mistake(dict(detach_target=False),
             "the critic's target is not detached: its gradient flows into V_w(s_{t+1}), so the "
             "critic also moves its own target (notebook 7's residual gradient). Compute "
             "y = r + gamma (1 - terminated) V_w(s_{t+1}) under torch.no_grad() or .detach() it."),
    _Mistake(dict(stop="none"),
             "you bootstrap through a termination: after the last step of an episode that "
             "really ended there is no future, so y = r alone; multiply gamma V_w(s_{t+1}) by "
             "(1 - terminated)."),
    _Mistake(dict(stop="either"),
             "you stop the bootstrap at a truncation too: a time limit cuts the episode, the "
             "state it reached still has a value, so y = r + gamma V_w(s_{t+1}) there. Only "
             "`terminated` zeroes the bootstrap; `truncated` only means: reset the env."),
    _Mistake(dict(next_at_end="reset"),
             "at the end of an episode you stored as s_{t+1} the first state of the NEXT episode "
             "(the observation env.reset() returned). Store the observation env.step() "
             "returned, and reset only for the next step's state."),
    _Mistake(dict(actor_sign=-1.0),
             "wrong sign in the actor's loss (or in delta): the optimiser minimises, and a "
             "positive delta_t must make a_t more likely, so actor loss = -mean(log pi(a_t|s_t) "
             "* delta_t) with delta_t = y_t - V_w(s_t)."),
    _Mistake(dict(critic_sign=-1.0),
             "wrong sign in the critic's loss: it is +mean(0.5 (y_t - V_w(s_t))^2), which the "
             "optimiser minimises."),
    _Mistake(dict(detach_delta=False),
             "delta_t is not detached in the actor's loss, and your backward of the actor's "
             "loss reaches the critic: the critic then also follows the actor's loss. Use "
             "delta.detach() (or compute it from detached values)."),
    _Mistake(dict(critic_first=True),
             "you computed delta_t for the actor after the critic's step: compute both losses "
             "from the same weights, then take the two optimiser steps."),
    _Mistake(dict(half=False),
             "the critic's loss is twice the expected one: it is mean(0.5 (y_t - V_w(s_t))^2), "
             "whose gradient is (V_w(s_t) - y_t) grad V_w(s_t) (F.mse_loss has no 0.5)."),
    _Mistake(dict(reduce="sum"),
             "you summed over the n_steps transitions; both losses are means over the batch."),
    _Mistake(dict(keep_dim=True),
             "critic(s) has shape [n_steps, 1]: subtracting a [n_steps] tensor from it (or "
             "adding one) broadcasts to [n_steps, n_steps]. Take critic(s).squeeze(-1)."),
    _Mistake(dict(zero_grad=False),
             "the gradients add up over the updates: call actor_opt.zero_grad() and "
             "critic_opt.zero_grad() before each backward (or after each step)."),
]


# --------------------------------------------------------------------------- hidden tests


def _hidden_scenes() -> list[tuple[_Scene, bool]]:
    """Scenes of the hidden tests (not the public ones), with linear networks: ``(scene,
    whether the actor is compared)``. With one update, the actor's step is a sum of one term
    per step that depends on that step's action only (delta_t does not depend on actions), so
    the cell holds one term per step and action; over two updates only the critic, whose
    steps depend on no action, is compared."""
    e, te, tr = "", "terminated", "truncated"
    return [(_scene("", 6, 0.9, [e, te, e, tr, e, e], 11), True),
            (_scene("", 5, 0.85, [e, e, e, e, e], 12), True),
            (_scene("", 3, 0.9, [e, tr, e, te, e, e], 13), False)]


def _linear_nets(seed: int, dim: int = 3):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Linear(dim, 2), nn.Linear(dim, 1)


def _hidden_cases() -> list[tuple]:
    """The hidden tests' data: per scene, ``(gamma, n_steps, obs, next_obs, rewards, ends
    (0, 1 terminated, 2 truncated), returns, (lr, critic_lr), actor0, critic0, per-step
    actor terms [t][a] or None, critic after)``, as Python lists of floats."""
    out = []
    for scene, with_actor in _hidden_scenes():
        actor, critic = _linear_nets(scene.seed)
        terms = None
        if with_actor:                 # d theta = lr / n * delta_t * grad log pi(a | s_t), at theta_0
            a64, c64 = copy.deepcopy(actor).double(), copy.deepcopy(critic).double()
            s, s_next = torch.as_tensor(scene.obs).double(), torch.as_tensor(scene.next_obs).double()
            not_end = torch.tensor([e != "terminated" for e in scene.ends], dtype=torch.float64)
            with torch.no_grad():
                delta = (torch.tensor(scene.rewards, dtype=torch.float64)
                         + scene.gamma * not_end * c64(s_next).squeeze(-1) - c64(s).squeeze(-1))
            terms = []
            for t in range(scene.total_steps):
                row = []
                for a in (0, 1):
                    log_pi = torch.log_softmax(a64(s[t]), -1)[a]
                    grads = torch.autograd.grad(log_pi, list(a64.parameters()))
                    g = torch.cat([x.reshape(-1) for x in grads])
                    row.append((scene.lr / scene.n_steps * delta[t] * g).tolist())
                terms.append(row)
        # in float64, so that the digits written into the cell do not depend on float32 rounding
        scene64 = replace(scene, obs=scene.obs.astype(np.float64), next_obs=scene.next_obs.astype(np.float64))
        critic_after = _replay(scene64, [0] * scene.total_steps, copy.deepcopy(actor).double(),
                               copy.deepcopy(critic).double())[1]
        out.append((scene.gamma, scene.n_steps, scene.obs.tolist(), scene.next_obs.tolist(),
                    scene.rewards, [("", "terminated", "truncated").index(e) for e in scene.ends],
                    scene.returns(), (scene.lr, scene.critic_lr), _flat(actor).tolist(),
                    _flat(critic).tolist(), terms, critic_after.tolist()))
    return out
