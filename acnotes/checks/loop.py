"""Checker of notebook 9's exercise: the whole TD actor-critic loop, written by the student.

The student's function::

    td_actor_critic(env, actor, critic, actor_opt, critic_opt, gamma, n_steps, total_steps)
        -> the returns of the episodes that ended, in order

takes ``total_steps`` steps of one env with gymnasium's API (``reset() -> (obs, info)``,
``step(a) -> (obs, r, terminated, truncated, info)``, ``a`` a Python int), acting with
``a ~ softmax(actor(s))`` and resetting the env when an episode ends, and after every
``n_steps`` steps makes one update from those ``n_steps`` transitions (``critic(s)`` has
shape ``[..., 1]``)::

    y_t     = r_t + gamma (1 - terminated_t) V_w(s_{t+1})    detached; s_{t+1} is the state the
                                                             step reached, also at a truncation
    delta_t = y_t - V_w(s_t)
    actor loss  = -mean_t log pi(a_t | s_t) delta_t          delta_t detached
    critic loss =  mean_t 0.5 (y_t - V_w(s_t))^2
    one step of actor_opt on the actor loss, one step of critic_opt on the critic loss,
    both losses computed before either step

The check has three parts.

1. **The update, exactly.** The env is a script (:class:`.loop_script._ScriptedEnv`): fixed observations,
   rewards and episode ends, whatever the actions, which it records. The networks start from
   fixed weights and the optimisers are plain SGD. After the student's loop, every weight of
   both networks must be within 1e-6 of the weights that :func:`.loop_script._replay` computes from the
   same transitions (the recorded actions included), and the returned episode returns must be
   the script's. A wrong result is compared with the known mistakes, each a variant of
   :func:`_replay` (``_MISTAKES``); the hint names the one that matches.
2. **Acting.** The actions must be drawn from ``softmax(actor(s))``, not picked (an ``argmax``
   loop passes part 1, which replays whatever actions were taken, and learns the walk of part
   3). The script of part 1 runs for 400 steps with an actor whose weights are 0 and whose
   biases give pi(right | s) = 0.3 in every state, and step sizes 0, so the policy never
   changes: the share of *right* must lie within 0.1 of 0.3 (4.4 standard deviations of a
   binomial share; a loop that samples with ``Categorical``, ``torch.multinomial`` or by
   inverting the CDF lands within 0.03 of it at the seed used).
3. **Learning.** The loop runs on :class:`acnotes.walk.Walk` (start at 0, the goal at 5, -1 per
   step, cut after 20 steps) for 1200 steps, with linear networks, Adam, ``n_steps = 8``,
   ``gamma = 0.9``, for seeds 0, 1, 2 (``torch.manual_seed(seed)`` before the networks are
   made, so the initial weights and torch's sampling are fixed). The mean return of each
   run's last 30 episodes must be at least -8. A policy that learned nothing (uniform) gets
   -16.5 on average, and the mean of 30 of its episodes has a standard deviation of 0.9, so
   -8 is more than 9 standard deviations above it; a loop that acts with its random initial
   policy all along (the update right, the acting with a stale copy) got -12.5, -17.1 and
   -14.5 at seeds 0, 1, 2, and at best -11.4 over seeds 0-39. A correct loop reaches about -5, the best
   return there is: over seeds 0-99, sampling with ``Categorical``, ``torch.multinomial`` or by
   inverting the CDF with ``torch.rand``, its lowest was -5.23 (``tests/test_checks.py``
   checks seeds 0-49 with two of them).

The torch random state of the notebook is restored after the check (``torch.random.fork_rng``),
and so is torch's thread count (one thread during the check: the tensors are tiny). The hidden
tests of the checker cell (:mod:`.hidden`) replay other scripted runs, with linear networks."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..walk import UNIFORM_RETURN, Walk
from .engine import CheckFailed, NotImplementedYet, _num
from .loop_script import (_MISTAKES, _EnvMisuse, _flat, _linear_nets, _nets, _replay, _scene, _Scene,
                          _ScriptedEnv, _scenes)
from .tripwire import UsedTheReference, forbid_references

__all__ = ["td_actor_critic"]

NAME = "td_actor_critic"
TOL = 1e-6                     # the largest weight difference allowed, as the exercise states
LEARN_SEEDS = (0, 1, 2)
LEARN_STEPS, LEARN_N_STEPS, LEARN_GAMMA = 1200, 8, 0.9
LEARN_LR, LEARN_CRITIC_LR = 0.05, 0.1
LEARN_LAST, LEARN_THRESHOLD = 30, -8.0
ACT_STEPS, ACT_P_RIGHT, ACT_TOL, ACT_SEED = 400, 0.3, 0.1, 5


# --------------------------------------------------------------------------- part 1


def _header(index: int, total: int, scene: _Scene) -> str:
    return (f"{NAME}: update check {index} of {total} failed.\n  case: {scene.words}\n"
            f"  inputs: gamma = {scene.gamma}, n_steps = {scene.n_steps}, total_steps = "
            f"{scene.total_steps}, SGD with lr = {scene.lr} (actor) and {scene.critic_lr} (critic)")


def _call(fn: Callable, args: list, where: str, forbid: bool = True):
    """The student's loop on ``args``; every way it can go wrong becomes a CheckFailed."""
    try:
        if forbid:
            with forbid_references([_replay, _reference]):
                return fn(*args)
        return fn(*args)
    except UsedTheReference as exc:
        raise CheckFailed(f"{NAME}: your function calls {exc}, the package's own "
                          f"implementation: implement it yourself (that is the exercise).") from None
    except _EnvMisuse as exc:
        raise CheckFailed(f"{where}\n  expected: a loop that steps the env {args[-1]} times\n"
                          f"  got:      {exc}\n  hint: {exc}") from None
    except NotImplementedError as exc:
        detail = f" ({exc})" if str(exc) else ""
        raise NotImplementedYet(
            f"{NAME}: not implemented yet: replace the `raise NotImplementedError` in "
            f"`{getattr(fn, '__name__', 'your function')}` with your code, run that cell "
            f"again, then this one.{detail}") from exc
    except CheckFailed:
        raise
    except Exception as exc:
        text = str(exc)
        hint = "read the error above; print the shapes of s, a, r and critic(s) in your loop."
        if "inplace" in text or "in-place" in text:
            hint = ("a tensor that a backward still needs was changed in place, most often the "
                    "weights by an optimiser step: compute both losses (and delta) first, then "
                    "take the steps; or call backward on a graph from before a step.")
        elif "backward through the graph a second time" in text:
            hint = ("a backward went through a graph twice: detach delta in the actor's loss "
                    "(the critic's graph is then used by the critic's backward only).")
        raise CheckFailed(f"{where}\n  expected: a list of episode returns\n"
                          f"  got:      {type(exc).__name__}: {text}\n  hint: {hint}") from exc


def _returns_of(out, where: str, want: list[float]) -> list[float]:
    if out is None:
        raise CheckFailed(f"{where}\n  expected: the list of the returns of the {len(want)} "
                          f"episode(s) that ended\n  got:      None\n  hint: return "
                          f"episode_returns at the end of your function.")
    try:
        got = [float(x) for x in (out.tolist() if hasattr(out, "tolist") else out)]
    except (TypeError, ValueError):
        raise CheckFailed(f"{where}\n  expected: a list of numbers (episode returns)\n"
                          f"  got:      {type(out).__name__}\n  hint: return a list of floats, one "
                          f"per episode that ended.") from None
    if len(got) != len(want) or any(abs(a - b) > 1e-4 for a, b in zip(got, want)):
        raise CheckFailed(f"{where}\n  expected: episode returns {[_num(x) for x in want]}\n"
                          f"  got:      {[_num(x) for x in got]}\n  hint: add up the rewards of each "
                          f"episode (undiscounted); record the sum and start again from 0 when "
                          f"it ends, terminated or truncated.")
    return got


def _check_update(fn: Callable, index: int, scenes: list[_Scene]) -> None:
    scene = scenes[index]
    where = _header(index + 1, len(scenes), scene)
    actor, critic = _nets(scene.seed)
    start = (copy.deepcopy(actor), copy.deepcopy(critic))
    env = _ScriptedEnv(scene)
    actor_opt = torch.optim.SGD(actor.parameters(), lr=scene.lr)
    critic_opt = torch.optim.SGD(critic.parameters(), lr=scene.critic_lr)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(scene.seed)
        out = _call(fn, [env, actor, critic, actor_opt, critic_opt, scene.gamma, scene.n_steps,
                         scene.total_steps], where)
    if env.k != scene.total_steps:
        raise CheckFailed(f"{where}\n  expected: {scene.total_steps} calls of env.step()\n"
                          f"  got:      {env.k}\n  hint: take exactly total_steps steps, counting "
                          f"every step (a reset is not a step).")
    _returns_of(out, where, scene.returns())
    got = (_flat(actor), _flat(critic))
    want = _replay(scene, env.actions, *start)
    diff = [float((g - w).abs().max()) for g, w in zip(got, want)]
    if max(diff) <= TOL:
        return
    hint = None
    for m in _MISTAKES:
        wrong = _replay(scene, env.actions, *start, **m.flags)
        if all(float((g - w).abs().max()) <= TOL for g, w in zip(got, wrong)):
            hint = m.hint
            break
    if hint is None:
        moved = [float((g - _flat(s)).abs().max()) for g, s in zip(got, start)]
        if max(moved) == 0.0:
            hint = ("the weights did not move: call actor_opt.step() and critic_opt.step() after "
                    f"each backward, once every n_steps = {scene.n_steps} steps.")
        else:
            hint = ("update after every n_steps steps, from those n_steps transitions: y_t = r_t + "
                    "gamma (1 - terminated_t) V_w(s_{t+1}) detached, delta_t = y_t - V_w(s_t), actor "
                    "loss -mean(log pi(a_t|s_t) delta_t), critic loss mean(0.5 (y_t - V_w(s_t))^2), "
                    "one step of each optimiser.")
    raise CheckFailed(f"{where}\n  expected: every weight within {TOL:g} of the reference's after "
                      f"the update(s)\n  got:      a largest difference of {diff[0]:.2g} in the "
                      f"actor and {diff[1]:.2g} in the critic\n  hint: {hint}")


# --------------------------------------------------------------------------- part 2


def _check_acting(fn: Callable) -> None:
    """The share of *right* under a fixed policy with pi(right | s) = 0.3 (step sizes 0)."""
    scene = replace(_scene(f"{ACT_STEPS} steps of one episode with step sizes 0: the policy stays "
                           f"pi(right | s) = {ACT_P_RIGHT} in every state.", 8, 0.9, [""] * ACT_STEPS, ACT_SEED),
                    lr=0.0, critic_lr=0.0)
    where = (f"{NAME}: the acting check failed.\n  case: {scene.words}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(scene.seed)
        actor, critic = _linear_nets(scene.seed)
        with torch.no_grad():
            actor.weight.zero_()
            actor.bias.copy_(torch.tensor([0.0, float(np.log(ACT_P_RIGHT / (1 - ACT_P_RIGHT)))]))
        env = _ScriptedEnv(scene)
        actor_opt = torch.optim.SGD(actor.parameters(), lr=scene.lr)
        critic_opt = torch.optim.SGD(critic.parameters(), lr=scene.critic_lr)
        _call(fn, [env, actor, critic, actor_opt, critic_opt, scene.gamma, scene.n_steps, scene.total_steps], where)
    share = sum(env.actions) / max(len(env.actions), 1)
    if abs(share - ACT_P_RIGHT) > ACT_TOL:
        raise CheckFailed(f"{where}\n  expected: right in about {ACT_P_RIGHT:.0%} of the steps (within "
                          f"{ACT_TOL:g})\n  got:      right in {share:.1%} of {len(env.actions)} steps\n  hint: "
                          f"sample a_t from softmax(actor(s_t)) (torch.distributions.Categorical(logits=...)"
                          f".sample()); do not take the most likely action (argmax).")


# --------------------------------------------------------------------------- part 3


class _CountingWalk(Walk):
    """The walk, counting the steps and the returns of the episodes that end."""

    def __init__(self):
        super().__init__()
        self.steps, self.returns, self.running = 0, [], 0.0

    def step(self, action):
        out = super().step(action)
        self.steps += 1
        self.running += out[1]
        if out[2] or out[3]:
            self.returns.append(self.running)
            self.running = 0.0
        return out


def learning_run(fn: Callable, seed: int, total_steps: int = LEARN_STEPS):
    """One run of ``fn`` on the walk as the check makes it: returns (the env, what fn returned)."""
    env = _CountingWalk()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        actor, critic = nn.Linear(env.n_obs, 2), nn.Linear(env.n_obs, 1)
        actor_opt = torch.optim.Adam(actor.parameters(), lr=LEARN_LR)
        critic_opt = torch.optim.Adam(critic.parameters(), lr=LEARN_CRITIC_LR)
        where = (f"{NAME}: the learning check failed.\n  case: the walk (acnotes.walk.Walk), seed "
                 f"{seed}, {total_steps} steps, n_steps = {LEARN_N_STEPS}, gamma = {LEARN_GAMMA}")
        out = _call(fn, [env, actor, critic, actor_opt, critic_opt, LEARN_GAMMA, LEARN_N_STEPS,
                         total_steps], where, forbid=False)
    return env, out, where


def _check_learning(fn: Callable) -> list[float]:
    means = []
    for seed in LEARN_SEEDS:
        env, out, where = learning_run(fn, seed)
        if env.steps != LEARN_STEPS:
            raise CheckFailed(f"{where}\n  expected: {LEARN_STEPS} calls of env.step()\n  got:      "
                              f"{env.steps}\n  hint: take exactly total_steps steps.")
        got = _returns_of(out, where, env.returns)
        last = got[-LEARN_LAST:]
        means.append(sum(last) / max(len(last), 1))
        if len(last) < LEARN_LAST or means[-1] < LEARN_THRESHOLD:
            raise CheckFailed(
                f"{where}\n  expected: a mean return of at least {LEARN_THRESHOLD:g} over the last "
                f"{LEARN_LAST} episodes (a uniform policy gets {UNIFORM_RETURN:g}, the reference "
                f"about -5)\n  got:      {_num(means[-1])} over the last {len(last)} episode(s)\n"
                f"  hint: the update checks passed, so look at the acting: sample a_t from "
                f"softmax(actor(s_t)) (torch.distributions.Categorical(logits=...)), with the "
                f"current weights, and act from the state the last step reached.")
    return means


def td_actor_critic(fn: Callable) -> None:
    """Check ``fn(env, actor, critic, actor_opt, critic_opt, gamma, n_steps, total_steps) ->
    episode returns``: the update against the reference to 1e-6 on scripted runs, then learning
    on the walk (this module's docstring has the details)."""
    if not callable(fn):
        raise CheckFailed(f"{NAME}: expected a function, got {type(fn).__name__}: pass the "
                          f"function itself, without calling it (no parentheses).")
    scenes = _scenes()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # the tensors are tiny: one thread is several times faster here
    try:
        for i in range(len(scenes)):
            _check_update(fn, i, scenes)
        _check_acting(fn)
        means = _check_learning(fn)
    finally:
        torch.set_num_threads(threads)
    print(f"{NAME}: all {len(scenes)} update checks passed (every weight within {TOL:g} of the "
          f"reference's); on the walk, after {LEARN_STEPS} steps, the last {LEARN_LAST} episodes of seeds "
          f"{', '.join(map(str, LEARN_SEEDS))} average {', '.join(f'{m:.1f}' for m in means)} "
          f"(at least {LEARN_THRESHOLD:g}; a uniform policy gets {UNIFORM_RETURN:g}).")


# --------------------------------------------------------------------------- the reference loop


def _reference(env, actor, critic, actor_opt, critic_opt, gamma, n_steps, total_steps):
    """The exercise solved, as a student would write it (used by the tests and to measure the
    learning check's margin)."""
    returns, episode_return, batch = [], 0.0, []
    obs, _ = env.reset()
    for _ in range(total_steps):
        s = torch.as_tensor(obs)
        with torch.no_grad():
            a = torch.distributions.Categorical(logits=actor(s)).sample().item()
        obs, r, terminated, truncated, _ = env.step(a)
        batch.append((s, a, r, torch.as_tensor(obs), terminated))
        episode_return += r
        if terminated or truncated:
            returns.append(episode_return)
            episode_return = 0.0
            obs, _ = env.reset()
        if len(batch) == n_steps:
            s, a, r, s_next, term = zip(*batch)
            s, s_next = torch.stack(s), torch.stack(s_next)
            a, r = torch.tensor(a), torch.tensor(r, dtype=torch.float32)
            term = torch.tensor(term, dtype=torch.float32)
            v = critic(s).squeeze(-1)
            with torch.no_grad():
                y = r + gamma * (1.0 - term) * critic(s_next).squeeze(-1)
            delta = y - v.detach()
            log_pi = torch.log_softmax(actor(s), -1).gather(-1, a.unsqueeze(-1)).squeeze(-1)
            actor_loss = -(log_pi * delta).mean()
            critic_loss = (0.5 * (y - v) ** 2).mean()
            actor_opt.zero_grad()
            actor_loss.backward()
            actor_opt.step()
            critic_opt.zero_grad()
            critic_loss.backward()
            critic_opt.step()
            batch = []
    return returns
