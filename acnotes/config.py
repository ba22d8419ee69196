"""The settings of a training run: ``Config`` and the named presets.

    cfg = acn.train.preset("a2c", seed=3)          # or acn.Config(algo="a2c", lr=1e-3)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields

from . import estimators

__all__ = ["Config", "preset"]


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
