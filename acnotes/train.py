"""One training loop for every algorithm, the configuration and the History.

    cfg = acn.train.Config(algo="a2c", gamma=0.99, lr=1e-3, total_steps=50_000)
    agent, history = acn.train.train(cfg)

Each update collects a batch, computes Psi_t with the chosen estimator, and takes one
optimizer step on ``actor_loss + vf_coef * critic_loss - ent_coef * entropy``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from . import envs, estimators
from .models import ActorCritic
from .rollout import Collector

__all__ = ["Config", "History", "train", "preset", "make_agent", "Agent"]


@dataclass
class Config:
    """Every setting of a training run. Each field is also a command-line option."""

    algo: str = field(default="a2c", metadata={"help": "estimator: " + ", ".join(estimators.ESTIMATORS)})
    gamma: float = field(default=0.99, metadata={"help": "discount factor, in [0, 1]"})
    lr: float = field(default=1e-3, metadata={"help": "learning rate of the actor, > 0"})
    critic_lr: float | None = field(default=None, metadata={"help": "learning rate of the critic, > 0 (default: lr)"})
    lam: float = field(default=0.95, metadata={"help": "GAE lambda, in [0, 1] (algo gae only)"})
    n_envs: int = field(default=8, metadata={"help": "parallel CartPole copies, >= 1"})
    n_steps: int = field(default=5, metadata={"help": "steps per env between updates, >= 1 (REINFORCE uses whole episodes)"})
    nstep: int | None = field(default=None, metadata={"help": "n of the A2C n-step return (default: n_steps)"})
    hidden: int = field(default=64, metadata={"help": "width of the hidden layers, >= 1"})
    layers: int = field(default=2, metadata={"help": "number of hidden layers, >= 1"})
    shared: bool = field(default=False, metadata={"help": "one trunk for actor and critic"})
    activation: str = field(default="tanh", metadata={"help": "tanh or relu"})
    critic_loss: str = field(default="mse", metadata={"help": "mse or smooth_l1"})
    vf_coef: float = field(default=0.5, metadata={"help": "weight of the critic loss, >= 0"})
    ent_coef: float = field(default=0.0, metadata={"help": "weight of the entropy bonus, >= 0"})
    max_grad_norm: float | None = field(default=0.5, metadata={"help": "clip the gradient norm to this, > 0 (none: no clipping)"})
    reward_scale: float = field(default=1.0, metadata={"help": "multiply rewards by this before learning, > 0"})
    discount_actor: bool = field(default=False, metadata={"help": "weight each term by gamma^t (the true gradient of J)"})
    optimizer: str = field(default="adam", metadata={"help": "adam or rmsprop"})
    total_steps: int = field(default=100_000, metadata={"help": "env steps to train for, >= 1"})
    target_return: float | None = field(default=None, metadata={"help": "stop once the mean return of the last 100 episodes reaches this"})
    seed: int = field(default=0, metadata={"help": "seed of the env, the weights and the action sampler"})
    threads: int = field(default=1, metadata={"help": "torch threads; 1 is fastest for these small nets"})

    def validate(self) -> "Config":
        """Raise a ValueError naming the first bad field and its valid range."""
        def bad(name, rng):
            raise ValueError(f"{name} must be {rng}, got {getattr(self, name)!r}")
        estimators.get(self.algo)
        for name in ("gamma", "lam"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                bad(name, "in [0, 1]")
        for name in ("lr", "reward_scale"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not (v > 0 and math.isfinite(v)):
                bad(name, "a finite number > 0")
        for name in ("critic_lr", "max_grad_norm"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or not (v > 0 and math.isfinite(v))):
                bad(name, "a finite number > 0, or None")
        for name in ("vf_coef", "ent_coef"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not (v >= 0 and math.isfinite(v)):
                bad(name, "a finite number >= 0")
        for name in ("n_envs", "n_steps", "hidden", "layers", "total_steps", "threads"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                bad(name, "an integer >= 1")
        if self.nstep is not None and (not isinstance(self.nstep, int) or self.nstep < 1):
            bad("nstep", "an integer >= 1, or None")
        if not isinstance(self.seed, int):
            bad("seed", "an integer")
        if self.activation not in ("tanh", "relu"):
            bad("activation", "'tanh' or 'relu'")
        if self.critic_loss not in ("mse", "smooth_l1"):
            bad("critic_loss", "'mse' or 'smooth_l1'")
        if self.optimizer not in ("adam", "rmsprop"):
            bad("optimizer", "'adam' or 'rmsprop'")
        return self

    def replace(self, **changes) -> "Config":
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {[f.name for f in fields(self)]}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {sorted(names)}")
        return cls(**d)


def preset(name: str, **changes) -> Config:
    """A copy of the named preset (see ``acnotes.presets``), with any fields changed."""
    from .presets import PRESETS
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {name!r}")
    return Config(**PRESETS[name]).replace(**changes)


# ---------------------------------------------------------------------------- History
@dataclass
class History:
    """What happened during a run.

    Per update: ``steps`` (env steps so far), ``time`` (wall seconds so far),
    ``actor_loss``, ``critic_loss``, ``grad_norm``. Per finished episode:
    ``episode_returns``, ``episode_lengths``, ``episode_steps`` (env steps when it ended).
    ``status`` is "done", "target reached", "diverged" or "interrupted".
    """

    config: dict = field(default_factory=dict)
    steps: list[int] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    actor_loss: list[float] = field(default_factory=list)
    critic_loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    episode_steps: list[int] = field(default_factory=list)
    status: str = "running"
    message: str = ""

    @property
    def total_steps(self) -> int:
        return self.steps[-1] if self.steps else 0

    @property
    def wall_time(self) -> float:
        return self.time[-1] if self.time else 0.0

    def rolling_return(self, window: int = 100) -> np.ndarray:
        """Mean return of the last ``window`` episodes (fewer at the start), per episode."""
        r = np.asarray(self.episode_returns, dtype=float)
        if r.size == 0:
            return r
        c = np.cumsum(np.insert(r, 0, 0.0))
        i = np.arange(1, r.size + 1)
        lo = np.maximum(0, i - window)
        return (c[i] - c[lo]) / (i - lo)

    def solved_at(self, threshold: float = 475.0, window: int = 100) -> tuple[int, float] | None:
        """(env steps, wall seconds) when the mean of the last ``window`` episodes first
        reached ``threshold`` with at least ``window`` episodes played; None if never."""
        roll = self.rolling_return(window)
        ok = np.flatnonzero((roll >= threshold) & (np.arange(roll.size) >= window - 1))
        if ok.size == 0:
            return None
        step = self.episode_steps[ok[0]]
        k = int(np.searchsorted(self.steps, step))
        secs = self.time[min(k, len(self.time) - 1)] if self.time else float("nan")
        return step, secs

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> Path:
        """Write JSON (``.json``) or, for ``.csv``, one row per episode."""
        path = Path(path)
        if path.suffix == ".csv":
            with open(path, "w") as f:
                f.write("episode,return,length,env_steps\n")
                for i, (r, n, s) in enumerate(zip(self.episode_returns, self.episode_lengths, self.episode_steps)):
                    f.write(f"{i},{r:g},{n},{s}\n")
        elif path.suffix == ".json":
            path.write_text(json.dumps(self.to_dict()))
        else:
            raise ValueError(f"history file must end in .json or .csv, got {path.name!r}")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "History":
        return cls(**json.loads(Path(path).read_text()))


# ---------------------------------------------------------------------------- agent
def make_agent(cfg: Config, obs_dim: int = 4, n_actions: int = 2) -> ActorCritic:
    """The network for ``cfg``, initialized from ``cfg.seed`` (global RNG untouched)."""
    est = estimators.get(cfg.algo)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return ActorCritic(obs_dim, n_actions, cfg.hidden, cfg.layers, critic=est.critic,
                           shared=cfg.shared, activation=cfg.activation)


class _Threads:
    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.old = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)


def _values(est, batch, logits_all, crit):
    """Critic outputs for Psi_t from the forward pass over s_0..s_T.

    ``next_obs[t] = obs[t+1]`` for every valid step (NEXT_STEP autoreset), so V(s_{t+1})
    is the next row. V(s_t) keeps its gradient; V(s_{t+1}) is detached.
    """
    T = batch.obs.shape[0]
    if est.critic is None:
        return estimators.Values()
    if est.critic == "v":
        return estimators.Values(v=crit[:T], v_next=crit.detach()[1:])
    # Q critic: Q(s_t, a_t), and the expected SARSA value sum_a pi(a|s) Q(s, a) of s_{t+1}
    q = crit[:T].gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
    with torch.no_grad():
        v_all = (torch.softmax(logits_all, dim=-1) * crit).sum(-1)
    return estimators.Values(q=q, v_next=v_all[1:])


def update_losses(model: ActorCritic, cfg: Config, batch):
    """The three losses of one update on ``batch``: (actor, critic, entropy)."""
    est = estimators.get(cfg.algo)
    T = batch.obs.shape[0]
    logits_all, crit = model(torch.cat([batch.obs, batch.next_obs[-1:]]))
    vals = _values(est, batch, logits_all, crit)
    logits = logits_all[:T]
    n = cfg.nstep or cfg.n_steps
    psi = est.psi(batch, vals, cfg.gamma, cfg.lam, n)
    logp = estimators.log_prob(logits, batch.actions)
    weight = cfg.gamma ** batch.t.float() if cfg.discount_actor else None
    n_ep = max(batch.n_episodes_ended(), 1) if est.episodic else None
    a_loss = estimators.actor_loss(logp, psi, batch.valid, weight, n_episodes=n_ep)
    if est.critic is None:
        c_loss = torch.zeros(())
    else:
        pred = vals.v if est.critic == "v" else vals.q
        c_loss = estimators.critic_loss(pred, est.target(batch, vals, cfg.gamma, cfg.lam, n), batch.valid, cfg.critic_loss)
    logp_all = torch.log_softmax(logits, -1)
    ent = -(logp_all.exp() * logp_all).sum(-1)
    ent = (ent * batch.valid).sum() / batch.valid.sum().clamp(min=1)
    return a_loss, c_loss, ent


def _optimizer(model: ActorCritic, cfg: Config):
    groups = [{"params": model.actor_parameters(), "lr": cfg.lr}]
    if model.critic_head is not None:
        groups.append({"params": model.critic_parameters(), "lr": cfg.critic_lr or cfg.lr})
    # foreach: one fused loop over the tensors instead of one per tensor; on CPU torch
    # defaults to the per-tensor loop. Same numbers, bit for bit, about 5% less time per run.
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, foreach=True)
    return torch.optim.RMSprop(groups, alpha=0.99, eps=1e-5, foreach=True)


def train(cfg: Config | None = None, progress: bool = True, callback=None, **changes):
    """Train an agent on CartPole-v1. Returns ``(agent, history)``.

    ``train(cfg)`` or ``train(algo="tdac", lr=1e-3)``. The run stops after
    ``cfg.total_steps`` env steps, when ``cfg.target_return`` is reached, when a loss
    becomes NaN or infinite (status "diverged", with a warning), or on Ctrl-C (status
    "interrupted"); in every case the History holds everything up to that point.
    ``callback(history)``, if given, is called after every update.
    """
    cfg = (cfg or Config()).replace(**changes) if changes else (cfg or Config())
    cfg.validate()
    est = estimators.get(cfg.algo)
    hist = History(config=cfg.to_dict())
    with _Threads(cfg.threads):
        model = make_agent(cfg)
        opt = _optimizer(model, cfg)
        env = envs.make_cartpole(cfg.n_envs)
        col = Collector(env, model.logits, seed=cfg.seed, reward_scale=cfg.reward_scale)
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=cfg.total_steps, desc=cfg.algo, unit="step", leave=False)
        t0 = time.perf_counter()
        n_logged = 0
        params = list(model.parameters())
        try:
            while col.env_steps < cfg.total_steps:
                batch = col.episodes() if est.episodic else col.steps(cfg.n_steps)
                a_loss, c_loss, ent = update_losses(model, cfg, batch)
                loss = a_loss + cfg.vf_coef * c_loss - cfg.ent_coef * ent
                if not torch.isfinite(loss):
                    hist.status = "diverged"
                    hist.message = (f"loss became {loss.item()} after {col.env_steps} env steps; "
                                    f"try a smaller lr (now {cfg.lr:g}) or gradient clipping")
                    warnings.warn(hist.message, RuntimeWarning, stacklevel=2)
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.max_grad_norm is not None:
                    gn = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                else:
                    gn = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params if p.grad is not None]))
                if not torch.isfinite(gn):
                    hist.status = "diverged"
                    hist.message = f"gradient norm became {gn.item()} after {col.env_steps} env steps; try a smaller lr"
                    warnings.warn(hist.message, RuntimeWarning, stacklevel=2)
                    break
                opt.step()
                hist.steps.append(col.env_steps)
                hist.time.append(time.perf_counter() - t0)
                hist.actor_loss.append(a_loss.item())
                hist.critic_loss.append(c_loss.item())
                hist.grad_norm.append(gn.item())
                if len(col.log.returns) > n_logged:
                    hist.episode_returns.extend(col.log.returns[n_logged:])
                    hist.episode_lengths.extend(col.log.lengths[n_logged:])
                    hist.episode_steps.extend(col.log.end_steps[n_logged:])
                    n_logged = len(col.log.returns)
                    if bar is not None:
                        bar.set_postfix(ret=f"{np.mean(hist.episode_returns[-100:]):.0f}", refresh=False)
                if bar is not None:
                    bar.n = min(col.env_steps, cfg.total_steps)
                    bar.update(0)
                if callback is not None:
                    callback(hist)
                if (cfg.target_return is not None and len(hist.episode_returns) >= 100
                        and np.mean(hist.episode_returns[-100:]) >= cfg.target_return):
                    hist.status = "target reached"
                    break
            else:
                hist.status = "done"
        except KeyboardInterrupt:
            hist.status = "interrupted"
            hist.message = f"interrupted after {col.env_steps} env steps; the History so far is returned"
        finally:
            if bar is not None:
                bar.close()
            env.close()
    return Agent(model, cfg), hist


# ---------------------------------------------------------------------------- Agent
class Agent:
    """A trained network with its Config; saves to and loads from a directory.

    The directory holds ``config.json`` and ``weights.safetensors``-like ``weights.pt``
    (a plain tensor dict, loaded with ``torch.load(weights_only=True)``: no arbitrary
    pickle is ever executed).
    """

    def __init__(self, model: ActorCritic, cfg: Config):
        self.model = model
        self.config = cfg

    @torch.no_grad()
    def act(self, obs, greedy: bool = True, generator: torch.Generator | None = None) -> np.ndarray:
        """Actions for a batch of observations [N, d] (or one observation [d])."""
        x = torch.as_tensor(np.asarray(obs, dtype=np.float32))
        single = x.dim() == 1
        logits = self.model.logits(x[None] if single else x)
        if greedy:
            a = logits.argmax(-1)
        else:
            a = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(-1)
        a = a.numpy()
        return a[0] if single else a

    def save(self, directory: str | Path) -> Path:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / "config.json").write_text(json.dumps(self.config.to_dict(), indent=2))
        torch.save(self.model.state_dict(), d / "weights.pt")
        return d

    @classmethod
    def load(cls, directory: str | Path) -> "Agent":
        d = Path(directory)
        if not (d / "config.json").is_file() or not (d / "weights.pt").is_file():
            raise ValueError(f"{d} is not a saved agent: it needs config.json and weights.pt "
                             f"(written by Agent.save or `python -m acnotes train --out DIR`)")
        cfg = Config.from_dict(json.loads((d / "config.json").read_text())).validate()
        model = make_agent(cfg)
        try:
            state = torch.load(d / "weights.pt", map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as e:  # a corrupt or foreign file
            raise ValueError(f"could not load weights from {d / 'weights.pt'}: {e}") from None
        return cls(model, cfg)

    def evaluate(self, episodes: int = 10, seed: int = 0, greedy: bool = True) -> np.ndarray:
        """Returns of ``episodes`` full episodes on CartPole-v1."""
        if int(episodes) != episodes or episodes < 1:
            raise ValueError(f"episodes must be an integer >= 1, got {episodes}")
        env = envs.make_cartpole(int(episodes))
        col = Collector(env, self.model.logits, seed=seed)
        if greedy:
            col._act = lambda obs: self.model.logits(obs).argmax(-1)
        with torch.no_grad():
            col.episodes()
        env.close()
        return np.asarray(col.log.returns)
