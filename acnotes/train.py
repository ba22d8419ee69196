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
This computes what the one-file algorithms of ``acnotes/reference/`` (REINFORCE, A2C with
GAE, TD-AC) compute, for K agents at once: for the same preset and seed, the same episode
returns (tests/test_reference.py).
``Config`` (config.py), ``History`` (history.py) and ``Agent`` (agent.py) are re-exported
here, so ``acn.train.Config`` and ``acn.train.preset`` keep working.
"""

from __future__ import annotations

import time
import warnings
from typing import Callable, Sequence

import numpy as np
import torch

from . import envs, estimators, returns
from ._threads import torch_threads
from .agent import Agent, make_agent
from .config import Config, preset
from .history import History
from .models import ActorCritic, Population
from .optim import PopulationOptimizer, clip_per_member
from .rollout import Collector

__all__ = ["Config", "History", "Agent", "preset", "make_agent", "train", "train_population",
           "update_losses", "losses", "STRUCTURAL", "RUNAWAY", "SATURATED"]

# Settings that fix the shape of the computation: equal for every member of a population.
STRUCTURAL = ("algo", "n_envs", "n_steps", "nstep", "hidden", "layers", "shared", "activation",
              "critic_loss", "optimizer", "discount_actor", "detach_target", "total_steps", "threads")
# Divergence without NaN. A member has diverged, even if every number is still finite, when
# its parameter norm grows beyond RUNAWAY times its initial norm (Adam with lr 1e6 does this),
# or when its policy saturates: a mean entropy below SATURATED nats means pi(a|s) is 0 or 1 to
# float precision, so grad log pi is about 0 and the policy can no longer learn (Adam with
# lr 0.1 on CartPole ends there, pushing the cart one way, with returns near 9).
RUNAWAY = 100.0
SATURATED = 1e-6


def losses(forward: Callable, batch, *, algo: str, gamma, lam, n: int | None, discount_actor: bool = False,
           critic_loss: str = "mse", members: int | None = None, detach_target: bool = True):
    """The three losses of one update: ``(actor, critic, entropy)``.

    ``forward(obs)`` maps observations [T+1, N, d] to ``(logits, critic)``. ``gamma`` and
    ``lam`` are numbers or [N] tensors (one value per env). With ``members=K`` the N envs
    are K members' side by side and each loss is a [K] vector; otherwise a scalar.
    ``detach_target=False`` lets the critic loss differentiate its target too (through
    V(s_{t+1})): the residual gradient instead of TD's semi-gradient. Psi_t stays detached.
    """
    est = estimators.get(algo)
    T = batch.obs.shape[0]
    logits_all, crit = forward(torch.cat([batch.obs, batch.next_obs[-1:]]))
    vals = estimators.values(est.critic, batch, logits_all, crit, detach_next=detach_target)
    logits = logits_all[:T]
    psi, target = est.compute(batch, vals, gamma=gamma, lam=lam, n=n)
    logp = estimators.log_prob(logits, batch.actions)
    weight = returns.discount_powers(batch.t, gamma) if discount_actor else None
    n_ep = None
    if est.episodic:
        ended = (batch.terminated | batch.truncated) & batch.valid
        n_ep = estimators.per_member(ended, members).clamp(min=1)
    a_loss = estimators.actor_loss(logp, psi, batch.valid, weight, n_episodes=n_ep, members=members)
    if est.critic is None:
        c_loss = torch.zeros_like(a_loss)
    else:
        pred = vals.v if est.critic == "v" else vals.q
        c_loss = estimators.critic_loss(pred, target, batch.valid, critic_loss, members=members,
                                        detach_target=detach_target)
    ent = estimators.entropy(logits, batch.valid, members=members)
    return a_loss, c_loss, ent


def update_losses(model: ActorCritic, cfg: Config, batch):
    """The losses ``(actor, critic, entropy)`` of one network on a [T, N] batch."""
    return losses(model, batch, algo=cfg.algo, gamma=cfg.gamma, lam=cfg.lam, n=cfg.nstep or cfg.n_steps,
                  discount_actor=cfg.discount_actor, critic_loss=cfg.critic_loss, detach_target=cfg.detach_target)


def _member_major(pop: Population):
    """``forward`` for ``losses`` and the collector: [T, K*N, d] in, [T, K*N, ...] out."""
    K = pop.members

    def to_members(x):                        # [T, K*N, ...] -> [K, T*N, ...]
        T, KN = x.shape[:2]
        return x.reshape(T, K, KN // K, *x.shape[2:]).transpose(0, 1).reshape(K, T * (KN // K), *x.shape[2:])

    def to_time(y, T):                        # [K, T*N, ...] -> [T, K*N, ...]
        N = y.shape[1] // T
        return y.reshape(K, T, N, *y.shape[2:]).transpose(0, 1).reshape(T, K * N, *y.shape[2:])

    def forward(obs):
        logits, crit = pop(to_members(obs))
        T = obs.shape[0]
        return to_time(logits, T), (None if crit is None else to_time(crit, T))

    def policy(obs):                          # [K*N, d] -> [K*N, A]
        # one time step: member-major is time-major, so both reshapes are views (no copies)
        return pop.logits(obs.reshape(K, obs.shape[0] // K, obs.shape[1])).reshape(obs.shape[0], -1)

    return forward, policy


def check_population(configs: Sequence[Config]) -> list[Config]:
    """Validate every member and check that the structural settings agree."""
    configs = list(configs)
    if not configs:
        raise ValueError("a population needs at least one member; got K = 0 configs")
    for k, c in enumerate(configs):
        if not isinstance(c, Config):
            raise ValueError(f"member {k} must be a Config, got {type(c).__name__}")
        try:
            c.validate()
        except ValueError as e:
            raise ValueError(f"member {k}: {e}" if len(configs) > 1 else str(e)) from None
    first = configs[0]
    for name in STRUCTURAL:
        for k, c in enumerate(configs):
            if getattr(c, name) != getattr(first, name):
                raise ValueError(
                    f"population members must share {name}: member 0 has {getattr(first, name)!r}, member {k} "
                    f"has {getattr(c, name)!r}. Members may differ only in numeric settings (seed, gamma, lr, "
                    f"critic_lr, lam, ...); train the others as a separate population")
    check_memory(configs)
    return configs


def memory_estimate(configs: Sequence[Config]) -> int:
    """Rough bytes needed to train ``configs`` as one population (parameters, gradients,
    optimizer state, the largest batch and its activations)."""
    c = configs[0]
    obs_dim, width, depth = 4, c.hidden, c.layers
    n_params = 2 * (obs_dim * width + (depth - 1) * width * width + width * 3 + depth * width)
    steps = 501 if estimators.get(c.algo).episodic else c.n_steps + 1
    rows = steps * c.n_envs
    per_member = 4 * (5 * n_params + rows * width * depth * 2 * 6 + rows * 16)
    return len(configs) * per_member


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_memory(configs: Sequence[Config],
                 advice: str = "train fewer members at once (split the grid into chunks)") -> None:
    """Refuse (ValueError) a population that would not fit in the free memory; ``advice``
    says what to change (the command line names its own options)."""
    need, have = memory_estimate(configs), _available_memory()
    if have is not None and need > 0.8 * have:
        per = need / len(configs)
        raise ValueError(
            f"a population of {len(configs)} members needs about {need / 2**30:.1f} GiB "
            f"({per / 2**20:.0f} MiB per member), but only {have / 2**30:.1f} GiB are available: "
            f"{advice}")


def _numbers(configs: Sequence[Config], name: str, default=None) -> torch.Tensor:
    """One float32 value per member; ``None`` becomes ``default`` (or the lr)."""
    vals = []
    for c in configs:
        v = getattr(c, name)
        if v is None:
            v = c.lr if default == "lr" else default
        vals.append(float(v))
    return torch.tensor(vals, dtype=torch.float32)


class _Run:
    """The state of one population run: members, histories, what each member still does."""

    def __init__(self, configs: list[Config]):
        self.configs = configs
        self.K = len(configs)
        self.hists = [History(config=c.to_dict()) for c in configs]
        self.t0 = time.perf_counter()
        self.n_logged = 0

    def stop(self, col: Collector, k: int, status: str, message: str = "", warn: bool = False):
        col.active[k] = False
        self.hists[k].status = status
        self.hists[k].message = message
        if warn:
            warnings.warn(message, RuntimeWarning, stacklevel=4)

    def diverge(self, col: Collector, k: int, what: str):
        c = self.configs[k]
        who = "" if self.K == 1 else f"member {k} (seed {c.seed}, gamma {c.gamma:g}, lr {c.lr:g}): "
        self.stop(col, k, "diverged", f"{who}{what} after {col.member_steps[k]} env steps; "
                                      f"try a smaller lr (now {c.lr:g}) or gradient clipping", warn=True)

    def log_update(self, col: Collector, updated: np.ndarray, a, c, g, e):
        now = time.perf_counter() - self.t0
        a, c, g, e = (x.tolist() for x in (a, c, g, e))
        for k in np.flatnonzero(updated):
            h = self.hists[k]
            h.steps.append(int(col.member_steps[k]))
            h.time.append(now)
            h.actor_loss.append(a[k])
            h.critic_loss.append(c[k])
            h.grad_norm.append(g[k])
            h.entropy.append(e[k])
        log = col.log
        for i in range(self.n_logged, len(log.returns)):
            h = self.hists[log.members[i]]
            h.episode_returns.append(log.returns[i])
            h.episode_lengths.append(log.lengths[i])
            h.episode_steps.append(log.end_steps[i])
        self.n_logged = len(log.returns)

    def finish_members(self, col: Collector):
        """Stop members that reached their target or their step budget."""
        for k in np.flatnonzero(col.active):
            c, h = self.configs[k], self.hists[k]
            if (c.target_return is not None and len(h.episode_returns) >= 100
                    and np.mean(h.episode_returns[-100:]) >= c.target_return):
                self.stop(col, k, "target reached")
            elif col.member_steps[k] >= c.total_steps:
                self.stop(col, k, "done")


def train_population(configs: Sequence[Config], progress: bool = True,
                     callback: Callable[[list[History]], None] | None = None,
                     on_update: Callable | None = None) -> list[tuple[Agent, History]]:
    """Train K agents on CartPole-v1 as one population. Returns K ``(agent, history)`` pairs.

    ``configs`` may differ in numeric settings only (``STRUCTURAL`` fields must agree; a
    ValueError names the first that does not). Member k stops on its own: after
    ``total_steps`` env steps, when its ``target_return`` is reached, or when it diverges (a
    non-finite loss or gradient, runaway weights or a saturated policy, see ``RUNAWAY`` and
    ``SATURATED``: status "diverged", with a warning) while the others go on. Ctrl-C stops all and returns every History so far (status
    "interrupted"). ``callback(histories)``, if given, is called after every update, and
    ``on_update(histories, agent_of)`` too, where ``agent_of(k)`` copies member k out as an
    ``Agent`` (for checkpoints; copying costs more than an update, so call it rarely).
    """
    configs = check_population(configs)
    cfg, K = configs[0], len(configs)
    est = estimators.get(cfg.algo)
    run = _Run(configs)
    with torch_threads(cfg.threads):
        pop = Population.stack([make_agent(c) for c in configs])
        params = list(pop.parameters())
        opt = PopulationOptimizer(params, pop.is_actor, _numbers(configs, "lr"),
                                  _numbers(configs, "critic_lr", "lr"), cfg.optimizer)
        N = cfg.n_envs
        per_env = {name: _numbers(configs, name).repeat_interleave(N) for name in ("gamma", "lam")}
        vf_coef, ent_coef = _numbers(configs, "vf_coef"), _numbers(configs, "ent_coef")
        max_norm = _numbers(configs, "max_grad_norm", float("inf"))
        forward, policy = _member_major(pop)
        env = envs.make_cartpole(N, members=K)
        col = Collector(env, policy, seed=[c.seed for c in configs],
                        reward_scale=[c.reward_scale for c in configs])
        with torch.no_grad():
            start_norm = _param_norms(params)
        bar = _progress_bar(cfg, K) if progress else None
        try:
            while col.active.any():
                batch = col.episodes() if est.episodic else col.steps(cfg.n_steps)
                a, c, e = losses(forward, batch, algo=cfg.algo, n=cfg.nstep or cfg.n_steps,
                                 discount_actor=cfg.discount_actor, critic_loss=cfg.critic_loss,
                                 members=K, detach_target=cfg.detach_target, **per_env)
                loss = a + vf_coef * c - ent_coef * e
                # the checks read each [K] tensor once, as numpy (the same numbers, fewer small ops)
                bad = col.active & ~np.isfinite(loss.detach().numpy())
                for k in np.flatnonzero(bad):
                    run.diverge(col, k, f"loss became {loss[k].item()}")
                opt.zero_grad()
                (torch.where(torch.from_numpy(col.active.copy()), loss, torch.zeros_like(loss)) if bad.any() or
                 not col.active.all() else loss).sum().backward()
                g = clip_per_member(params, max_norm)
                for k in np.flatnonzero(col.active & ~np.isfinite(g.numpy())):
                    run.diverge(col, k, f"gradient norm became {g[k].item()}")
                updated = col.active.copy()
                opt.step(torch.from_numpy(updated))
                with torch.no_grad():
                    grown = (_param_norms(params) > RUNAWAY * start_norm).numpy()
                a, c, e = a.detach(), c.detach(), e.detach()
                run.log_update(col, updated, a, c, g, e)
                for k in np.flatnonzero(updated & grown):
                    run.diverge(col, k, f"the weights grew past {RUNAWAY:g} times their initial norm")
                for k in np.flatnonzero(col.active & (e.numpy() < SATURATED)):
                    run.diverge(col, k, f"the policy saturated (mean entropy {e[k].item():.1e} nats: pi(a|s) is "
                                        f"0 or 1, so it can no longer learn)")
                run.finish_members(col)
                if bar is not None:
                    _show(bar, run.hists, col)
                if callback is not None:
                    callback(run.hists)
                if on_update is not None:
                    on_update(run.hists, lambda k: Agent(pop.member(k), configs[k]))
        except KeyboardInterrupt:
            for k in np.flatnonzero(col.active):
                run.stop(col, k, "interrupted",
                         f"interrupted after {col.member_steps[k]} env steps; the History so far is returned")
        finally:
            if bar is not None:
                bar.close()
            env.close()
    return [(Agent(pop.member(k), configs[k]), run.hists[k]) for k in range(K)]


def _param_norms(params) -> torch.Tensor:
    """The norm of all of each member's parameters: shape [K]."""
    # p * p is what p.square() computes (pow with exponent 2 multiplies), in one foreach call
    sq = torch._foreach_mul(params, params)
    return torch.stack([s.reshape(s.shape[0], -1).sum(1) for s in sq]).sum(0).sqrt()


def _progress_bar(cfg: Config, K: int):
    from tqdm.auto import tqdm
    desc = cfg.algo if K == 1 else f"{cfg.algo} x{K}"
    return tqdm(total=cfg.total_steps, desc=desc, unit="step", leave=False)


def _show(bar, hists: list[History], col: Collector):
    bar.n = min(col.env_steps, bar.total)
    recent = [np.mean(h.episode_returns[-100:]) for h in hists if h.episode_returns]
    if recent:
        bar.set_postfix(ret=f"{np.mean(recent):.0f}", refresh=False)
    bar.update(0)


def train(cfg: Config | None = None, progress: bool = True, callback=None, on_update=None, **changes):
    """Train one agent on CartPole-v1. Returns ``(agent, history)``.

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
