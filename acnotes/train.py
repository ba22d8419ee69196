"""The one training loop, for every algorithm and for a population of K agents.

    agent, history = acn.train.train(acn.train.preset("a2c", total_steps=50_000))
    runs = acn.train.train_population([cfg.replace(seed=s) for s in range(10)])

A *population* is K members trained as one: their networks are stacked on a leading
member axis (``models.Population``), their K*N CartPoles live in one vector env, one
forward and one backward pass serve all of them, and an elementwise optimizer keeps each
member's own state (``optim.PopulationOptimizer``). Members may differ in numeric settings
(seed, gamma, lr, ...); a single run is a population of one, and a member follows the
trajectory of its single run bit for bit (REINFORCE's members only to float rounding: a
whole-episode batch is as long as the population's longest episode, and its length changes
how the sums round, so over a long run they may part).

Each update collects a batch, computes Psi_t with the algorithm's estimator, and takes one
optimizer step on ``actor_loss + vf_coef * critic_loss - ent_coef * entropy`` per member.
With PPO's settings (``epochs``, ``batch_size``, ``clip_eps``, ``norm_adv``: the ``ppo`` preset)
it takes epochs of minibatch steps on the ratio-clipped loss instead, from the same batch and
Psi_t (``epochs.py``, which says how that reduces to the one step).
The estimators (``estimators.py``) know nothing of members: ``step_terms`` gets their
per-step terms for the whole [T, K*N] batch, and only here are they summed per member
(``member_sums``, in an order that does not depend on K), each member's gradient clipped
(``clip_per_member``) and each member checked for divergence (``members._Run``).
With separate actor and critic trunks (every preset but ``blog-tdac``) the loss replays the
actor's layers computed while acting, and for the common losses the gradient is written out
instead of taken by autograd (``backprop.py``): the same formulas, fewer ops.
This computes what the one-file algorithms of ``acnotes/reference/`` (REINFORCE, A2C with
GAE, TD-AC, PPO) compute, for K agents at once: for the same preset and seed, the same episode
returns (tests/test_reference.py; PPO's over 5,000 env steps, for the reason given there).

On Pendulum-v1 (``Config.env``, the presets ``a2c-pendulum``, ``gae-pendulum`` and ``ppo-pendulum``) the policy is
a Gaussian with a free log sigma (``models.ActorCritic(gaussian=True)``), its actions clipped
for the env outside the log-probability (``rollout.Collector``), log pi and the entropy those of
``acnotes.gaussian``; Psi_t and the critic's target are the estimators' own. That path takes
autograd through the population (no hand-written backward), and gives the episode returns of
``reference/gaussian_a2c.py`` to float rounding (the reason, and the tolerance:
tests/test_reference.py).
``Config`` (config.py), ``History`` (history.py) and ``Agent`` (agent.py) are re-exported
here, so ``acn.train.Config`` and ``acn.train.preset`` keep working.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from . import envs, epochs, estimators, gaussian, returns
from ._threads import torch_threads
from .agent import Agent, make_agent
from .config import CONTINUOUS, Config, preset
from .history import History
from .backprop import Replay, to_members, to_time
from .models import ActorCritic, Population
from .optim import PopulationOptimizer
from .members import RUNAWAY, SATURATED, _Run
from .population_checks import STRUCTURAL, check_memory, check_population, memory_estimate, split_to_fit
from .rollout import Collector

__all__ = ["Config", "History", "Agent", "preset", "make_agent", "train", "train_population",
           "StepTerms", "step_terms", "divisors", "losses", "member_sums", "update_losses", "member_grad_norms",
           "clip_per_member", "STRUCTURAL", "RUNAWAY", "SATURATED", "check_population", "check_memory",
           "memory_estimate", "split_to_fit"]



@dataclass
class StepTerms:
    """The per-step terms of one update for a [T, N] batch, each 0 where the step does not
    count (``estimators.actor_terms`` and its siblings): what the losses are sums of."""

    actor: Tensor            # w_t log pi(a_t|s_t) Psi_t
    critic: Tensor | None    # the critic's error (None without a critic)
    entropy: Tensor          # H(pi(.|s_t))
    valid: Tensor            # the steps that count
    ended: Tensor | None     # the valid steps where an episode ended (episodic estimators only)
    # what the terms were computed from (for the gradient written out, ``backprop.Replay``)
    logits: Tensor | None = None     # [T, N, A]
    actions: Tensor | None = None    # a_t
    psi: Tensor | None = None        # Psi_t
    weight: Tensor | None = None     # w_t (None: 1)
    pred: Tensor | None = None       # the critic's prediction
    target: Tensor | None = None     # and its target


def step_terms(forward: Callable, batch, *, algo: str, gamma, lam, n: int | None, discount_actor: bool = False,
               critic_loss: str = "mse", detach_target: bool = True, continuous: bool = False) -> StepTerms:
    """The per-step terms of one update: the critic's values, Psi_t and the target, then
    the actor's, the critic's and the entropy terms, all [T, N].

    ``forward(obs)`` maps observations [T+1, N, d] to ``(logits, critic)``. ``gamma`` and
    ``lam`` are numbers or [N] tensors (one value per env). ``detach_target=False`` lets the
    critic loss differentiate its target too (through V(s_{t+1})): the residual gradient
    instead of TD's semi-gradient. Psi_t stays detached. ``continuous=True``: the policy is a
    Gaussian, ``forward``'s "logits" are (mu, log sigma) concatenated, log pi(a_t|s_t) is the
    Gaussian log-density of the unclipped a_t and the entropy the Gaussian's (``acnotes.gaussian``).
    """
    est = estimators.get(algo)
    T = batch.obs.shape[0]
    logits_all, crit = forward(torch.cat([batch.obs, batch.next_obs[-1:]]))
    vals = estimators.values(est.critic, batch, logits_all, crit, detach_next=detach_target)
    logits = logits_all[:T]
    psi, target = est.apply(batch, vals, gamma=gamma, lam=lam, n=n)
    if continuous:
        mu, log_std = logits.chunk(2, -1)
        logp = gaussian.log_prob(batch.actions, mu, log_std)
        ent = torch.where(batch.valid, gaussian.entropy(log_std), 0.0)
    else:
        logp = estimators.log_prob(logits, batch.actions)
        ent = estimators.entropy_terms(logits, batch.valid)
    weight = returns.discount_powers(batch.t, gamma) if discount_actor else None
    actor = estimators.actor_terms(logp, psi, batch.valid, weight)
    critic = pred = None
    if est.critic is not None:
        pred = vals.v if est.critic == "v" else vals.q
        critic = estimators.critic_terms(pred, target, batch.valid, critic_loss, detach_target=detach_target)
    ended = (batch.terminated | batch.truncated) & batch.valid if est.episodic else None
    return StepTerms(actor, critic, ent, batch.valid, ended,
                     logits, batch.actions, psi, weight, pred, target)


def divisors(terms: StepTerms, total: Callable[[Tensor], Tensor] = torch.sum) -> tuple[Tensor, Tensor]:
    """``(n, m)``: the number of valid steps, and the actor's divisor (``n``, or for an
    episodic estimator the number of episodes that ended), each at least 1 (see ``losses``)."""
    n_valid = total(terms.valid).clamp(min=1)
    return n_valid, (n_valid if terms.ended is None else total(terms.ended).clamp(min=1))


def losses(terms: StepTerms, total: Callable[[Tensor], Tensor] = torch.sum, counts=None):
    """The three losses ``(actor, critic, entropy)`` from the per-step terms: each a sum
    (``total``) divided by the number of valid steps; the actor's, for an episodic
    estimator, by the number of episodes that ended (a sum over time, a mean over episodes).

    ``total=torch.sum`` gives one network's scalars; ``member_sums`` gives one loss per member.
    ``counts``: ``divisors(terms, total)`` if already computed (the training loop shares them
    with ``Replay.backward``).
    """
    n_valid, m = divisors(terms, total) if counts is None else counts
    a = -total(terms.actor) / m
    c = torch.zeros_like(a) if terms.critic is None else total(terms.critic) / n_valid
    return a, c, total(terms.entropy) / n_valid


def member_sums(x: Tensor, members: int) -> Tensor:
    """Sum of ``x`` [T, K*N] over time and over each member's N envs: shape [K]."""
    # each member's numbers as one contiguous row, so that its sum is computed the same way
    # whatever the number of members (a member matches its single run bit for bit)
    if members == 1:   # the same row (a view, or the same copy) without the transposition
        return x.reshape(1, -1).sum(1)
    return x.reshape(x.shape[0], members, -1).transpose(0, 1).reshape(members, -1).sum(1)


def update_losses(model: ActorCritic, cfg: Config, batch):
    """The losses ``(actor, critic, entropy)`` of one network on a [T, N] batch (scalars)."""
    return losses(step_terms(model, batch, algo=cfg.algo, gamma=cfg.gamma, lam=cfg.lam, n=cfg.nstep or cfg.n_steps,
                             discount_actor=cfg.discount_actor, critic_loss=cfg.critic_loss,
                             detach_target=cfg.detach_target, continuous=cfg.env in CONTINUOUS))


def _member_major(pop: Population):
    """``forward`` for ``step_terms`` and the collector: [T, K*N, d] in, [T, K*N, ...] out."""
    K = pop.members

    def forward(obs):
        logits, crit = pop(to_members(obs, K))
        T = obs.shape[0]
        return to_time(logits, T), (None if crit is None else to_time(crit, T))

    def policy(obs):                          # [K*N, d] -> [K*N, A]
        # one time step: member-major is time-major, so both reshapes are views (no copies)
        return pop.logits(obs.reshape(K, obs.shape[0] // K, obs.shape[1])).reshape(obs.shape[0], -1)

    return forward, policy


def _numbers(configs: Sequence[Config], name: str, default=None, scale=None) -> torch.Tensor:
    """One float32 value per member; ``None`` becomes ``default`` (or the lr). ``scale`` (K
    numbers) multiplies them first, in float64 (a schedule's factor)."""
    vals = []
    for c in configs:
        v = getattr(c, name)
        if v is None:
            v = c.lr if default == "lr" else default
        vals.append(float(v))
    if scale is not None:
        vals = [v * float(x) for v, x in zip(vals, scale)]
    return torch.tensor(vals, dtype=torch.float32)


def train_population(configs: Sequence[Config], progress: bool = True,
                     callback: Callable[[list[History]], None] | None = None,
                     on_update: Callable | None = None) -> list[tuple[Agent, History]]:
    """Train K agents on their env (``Config.env``: CartPole-v1, or Pendulum-v1 with a Gaussian
    policy) as one population. Returns K ``(agent, history)`` pairs.

    ``configs`` may differ in numeric settings only (``STRUCTURAL`` fields must agree; a
    ValueError names the first that does not). Member k stops on its own: after
    ``total_steps`` env steps, when its ``target_return`` is reached, or when it diverges (a
    non-finite loss or gradient, runaway weights or a saturated policy, see ``RUNAWAY`` and
    ``SATURATED``: status "diverged", with a warning) while the others go on. Ctrl-C stops
    all and returns every History so far (status "interrupted"). ``callback(histories)``, if
    given, is called after every update, and ``on_update(histories, agent_of)`` too, where
    ``agent_of(k)`` copies member k out as an ``Agent`` (for checkpoints; copying costs more
    than an update, so call it rarely).
    """
    configs = check_population(configs)
    cfg, K = configs[0], len(configs)
    est = estimators.get(cfg.algo)
    with torch_threads(cfg.threads):
        pop = Population.stack([make_agent(c) for c in configs])
        params = list(pop.parameters())
        opt = PopulationOptimizer(params, pop.is_actor, _numbers(configs, "lr"),
                                  _numbers(configs, "critic_lr", "lr"), cfg.optimizer, cfg.adam_eps)
        per_env = {name: _numbers(configs, name).repeat_interleave(cfg.n_envs) for name in ("gamma", "lam")}
        continuous = cfg.env in CONTINUOUS
        settings = dict(algo=cfg.algo, n=cfg.nstep or cfg.n_steps, discount_actor=cfg.discount_actor,
                        critic_loss=cfg.critic_loss, detach_target=cfg.detach_target, **per_env)
        if continuous:
            settings["continuous"] = True
        vf_coef, ent_coef = _numbers(configs, "vf_coef"), _numbers(configs, "ent_coef")
        max_norm = _numbers(configs, "max_grad_norm", float("inf"))
        # the fast path (backprop.py); a Gaussian policy takes autograd through the population
        replay = None if pop.shared or continuous else Replay(pop)
        forward, policy = _member_major(pop) if replay is None else (replay.forward, replay.policy)
        by_hand = replay is not None and replay.by_hand(est.critic, cfg.critic_loss, cfg.detach_target)
        ppo = cfg.uses_epochs()   # PPO's epochs of minibatch steps (epochs.py), not one step per rollout
        env = envs.make_env(cfg.env, cfg.n_envs, members=K)
        col = Collector(env, policy, seed=[c.seed for c in configs],
                        reward_scale=[c.reward_scale for c in configs], block=cfg.n_steps if ppo else None)
        run = _Run(configs, col, params, saturates=not continuous)
        per_member = functools.partial(member_sums, members=K)

        def agent_of(k: int) -> Agent:
            return Agent(pop.member(k), configs[k])

        bar = _progress_bar(cfg, K) if progress else None
        try:
            while col.active.any():
                left = epochs.schedule(configs, col.member_steps) if cfg.anneal else None
                if left is not None:   # the learning rates fall linearly, as the clip range
                    opt.set_lr(_numbers(configs, "lr", scale=left), _numbers(configs, "critic_lr", "lr", scale=left))
                batch = col.episodes() if est.episodic else col.steps(cfg.n_steps)
                if ppo:   # epochs of minibatch steps on the ratio-clipped loss (epochs.py)
                    with torch.no_grad():
                        terms = step_terms(forward, batch, **settings)   # pi_old's logits, Psi_t, the target
                    lo, hi = epochs.clip_bounds([c.clip_eps for c in configs], np.ones(K) if left is None else left)
                    a, c, g, e = epochs.update(pop, opt, params, batch, terms, run, col.gens, epochs=cfg.epochs,
                                               batch_size=cfg.batch_size, lo=lo, hi=hi, norm_adv=cfg.norm_adv,
                                               vf_coef=vf_coef, ent_coef=ent_coef, max_norm=max_norm,
                                               critic_loss=cfg.critic_loss, continuous=continuous)
                    if replay is not None:
                        replay.xs = {}
                    run.after_update(col.active.copy(), params, a, c, g, e, travelled=opt.travelled)
                else:     # one step on the rollout
                    with torch.set_grad_enabled(not by_hand):
                        terms = step_terms(forward, batch, **settings)   # [T, K*N] each
                        counts = divisors(terms, per_member)
                        a, c, e = losses(terms, per_member, counts)       # [K] each: one loss per member
                        loss = a + vf_coef * c - ent_coef * e
                    run.stop_if_not_finite(loss, "loss")
                    opt.zero_grad()
                    if by_hand:   # the same gradient, written out (backprop.py)
                        replay.backward(terms, col.active, vf_coef, ent_coef, per_member, counts)
                    else:
                        run.only_active(loss).sum().backward()
                    g = clip_per_member(params, max_norm)             # [K], the norms before clipping
                    run.stop_if_not_finite(g, "gradient norm")
                    updated = col.active.copy()
                    opt.step(torch.from_numpy(updated))
                    if not by_hand:   # (by hand, the losses were computed without autograd)
                        a, c, e = a.detach(), c.detach(), e.detach()
                    run.after_update(updated, params, a, c, g, e, travelled=opt.travelled)
                if bar is not None:
                    _show(bar, run.hists, col)
                if callback is not None:
                    callback(run.hists)
                if on_update is not None:
                    on_update(run.hists, agent_of)
        except KeyboardInterrupt:
            run.interrupted()
        finally:
            if bar is not None:
                bar.close()
            env.close()
    return [(Agent(pop.member(k), configs[k]), run.hists[k]) for k in range(K)]


def member_grad_norms(params: Sequence[Tensor]) -> Tensor:
    """The gradient norm of each member over all its parameters: shape [K]."""
    # Add the parameters' sums one by one (elementwise over members): a reduction over a
    # stacked [P, K] tensor sums in an order that depends on K, so a member's norm, and then
    # its whole run, would depend on how many members share its population.
    # g * g is what g.square() computes (pow with exponent 2 multiplies), in one foreach call
    grads = [p.grad for p in params]
    total = None
    for sq in torch._foreach_mul(grads, grads):
        sq = sq.reshape(sq.shape[0], -1).sum(1)
        total = sq if total is None else total + sq
    return total.sqrt()


def clip_per_member(params: Sequence[Tensor], max_norm: Tensor) -> Tensor:
    """Scale member k's gradient so that its norm is at most ``max_norm[k]`` (inf: no
    clipping), as ``torch.nn.utils.clip_grad_norm_`` does for one network. Returns the
    norms before clipping, shape [K]."""
    norms = member_grad_norms(params)
    limit = max_norm.numpy()   # K numbers: tested in numpy, the cheaper call
    finite = np.isfinite(limit)
    if not finite.any():   # no member clips: every factor would be exactly 1
        return norms
    # norm + 1e-6 in numpy (the same float32 sum as torch's); when it is <= max_norm for every
    # member, every factor is exactly 1 and multiplying by it would change nothing (most
    # updates of some presets; a NaN norm fails the test)
    shifted = norms.numpy() + np.float32(1e-6)
    if (shifted <= limit).all():
        return norms
    coef = (max_norm / torch.from_numpy(shifted)).clamp(max=1.0)
    if not finite.all():   # (when all clip, the factors are these)
        coef = torch.where(torch.from_numpy(finite), coef, torch.ones_like(coef))
    grads = [p.grad for p in params]
    torch._foreach_mul_(grads, [coef.reshape((-1,) + (1,) * (g.dim() - 1)) for g in grads])
    return norms


def _progress_bar(cfg: Config, K: int):
    from tqdm.auto import tqdm
    name = "ppo" if cfg.uses_epochs() else cfg.algo   # PPO's presets are GAE's Psi_t with PPO's loss
    desc = name if K == 1 else f"{name} x{K}"
    return tqdm(total=cfg.total_steps, desc=desc, unit="step", leave=False)


def _show(bar, hists: list[History], col: Collector):
    bar.n = min(col.env_steps, bar.total)
    recent = [np.mean(h.episode_returns[-100:]) for h in hists if h.episode_returns]
    if recent:
        bar.set_postfix(ret=f"{np.mean(recent):.0f}", refresh=False)
    bar.update(0)


def train(cfg: Config | None = None, progress: bool = True, callback=None, on_update=None, **changes):
    """Train one agent on its env (``cfg.env``). Returns ``(agent, history)``.

    ``train(cfg)`` or ``train(algo="tdac", lr=1e-3)``. This is a population of one
    (``train_population([cfg])``): the run stops after ``cfg.total_steps`` env steps, when
    ``cfg.target_return`` is reached, when it diverges (status "diverged", with a warning),
    or on Ctrl-C (status "interrupted"); in every case the History holds everything up to
    that point. ``callback(history)``, if given, is called after every update, and
    ``on_update(history, get_agent)`` too, where ``get_agent()`` returns the agent as it is
    now (a copy: call it only when you save a checkpoint).
    """
    cfg = (cfg or Config()).replace(**changes) if changes else (cfg or Config())
    each = None if callback is None else (lambda hists: callback(hists[0]))
    hook = None if on_update is None else (lambda hists, agent_of: on_update(hists[0], lambda: agent_of(0)))
    return train_population([cfg], progress=progress, callback=each, on_update=hook)[0]
