"""The settings of a training run: ``Config`` and the named presets.

    cfg = acn.train.preset("a2c", seed=3)          # or acn.Config(algo="a2c", lr=1e-3)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

import numpy as np

from . import _validate
from ._names import ESTIMATOR_NAMES

__all__ = ["Config", "preset", "CONTINUOUS", "ADDED_LATER"]

# the environments with continuous actions (a Gaussian policy); the others have two actions
CONTINUOUS = ("Pendulum-v1",)
# Fields added after runs had been saved: a file without them ran with their defaults (CartPole,
# one step per rollout, Adam's usual epsilon), so reading it fills them in (``from_dict``'s strict).
ADDED_LATER = ("env", "log_std_init", "epochs", "batch_size", "clip_eps", "norm_adv", "anneal", "adam_eps")


@dataclass
class Config:
    """Every setting of a training run. Each field is also a command-line option.

    Three names that look alike (kept as they are: the notebooks and the command line use them):
    ``n_steps`` is the rollout length, the steps each env takes between two updates;
    ``nstep`` is the n of A2C's n-step return G^(n)_t (the variance lab calls it ``n``);
    ``lam`` is GAE's lambda, shown as "lambda" on the panels' sliders.
    """

    algo: str = field(default="a2c", metadata={"help": "estimator: " + ", ".join(ESTIMATOR_NAMES)})
    env: str = field(default="CartPole-v1", metadata={"help": "CartPole-v1 (two actions, a softmax policy) or Pendulum-v1 (a torque in [-2, 2], a Gaussian policy clipped outside its log-probability; estimators with a V critic or none, PPO's settings too)"})
    gamma: float = field(default=0.99, metadata={"help": "discount factor, in [0, 1]"})
    lr: float = field(default=1e-3, metadata={"help": "learning rate of the actor, > 0"})
    critic_lr: float | None = field(default=None, metadata={"help": "learning rate of the critic, > 0 (default: lr)"})
    lam: float = field(default=0.95, metadata={"help": "GAE's lambda (the 'lambda' slider of the panels), in [0, 1]: 0 is the TD error, 1 the bootstrapped return minus V (algo gae only)"})
    n_envs: int = field(default=8, metadata={"help": "parallel copies of the env, >= 1"})
    n_steps: int = field(default=5, metadata={"help": "rollout length: steps each env takes between two updates, >= 1 (REINFORCE and REINFORCE + baseline use whole episodes instead); not nstep"})
    nstep: int | None = field(default=None, metadata={"help": "n of the n-step return G^(n)_t of A2C, >= 1 (default: n_steps, the return bootstrapped at the rollout's end); not the rollout length"})
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
    detach_target: bool = field(default=True, metadata={"help": "detach the critic's target (semi-gradient TD); False also sends the critic loss's gradient through V(s_{t+1}) in the target (the residual gradient: notebook 7 shows what it does)"})
    optimizer: str = field(default="adam", metadata={"help": "adam or rmsprop"})
    # PPO's settings (Schulman et al., 2017; acnotes/epochs.py): their defaults are the one
    # step per rollout of every other algorithm
    epochs: int = field(default=1, metadata={"help": "passes over each rollout, in minibatches of batch_size, each step on the ratio-weighted loss (PPO: several); 1 with no batch_size, clip_eps or norm_adv: one step on the rollout, as every algorithm but PPO, >= 1"})
    batch_size: int | None = field(default=None, metadata={"help": "minibatch size of those passes, >= 1 (default: the whole rollout)"})
    clip_eps: float | None = field(default=None, metadata={"help": "PPO's clip range eps: the ratio pi/pi_old is clipped to [1 - eps, 1 + eps] in the loss, > 0 (none: no clipping)"})
    norm_adv: bool = field(default=False, metadata={"help": "normalise Psi_t over each minibatch (mean 0, std 1), as stable-baselines3's PPO"})
    anneal: bool = field(default=False, metadata={"help": "let the learning rates and clip_eps fall linearly to 0 over total_steps"})
    adam_eps: float = field(default=1e-8, metadata={"help": "Adam's epsilon, > 0 (stable-baselines3's PPO uses 1e-5); optimizer adam only (RMSprop's is fixed at 1e-5)"})
    total_steps: int = field(default=100_000, metadata={"help": "env steps to train for, in [1, 10**12]"})
    target_return: float | None = field(default=None, metadata={"help": "stop once the mean return of the last 100 episodes reaches this"})
    log_std_init: float = field(default=-0.5, metadata={"help": "the Gaussian policy's starting log sigma (Pendulum-v1 only)"})
    seed: int = field(default=0, metadata={"help": "seed of the env, the weights and the action sampler, in [0, 2**32 - 1]"})
    threads: int = field(default=1, metadata={"help": "torch threads; 1 is fastest for these small nets"})

    def validate(self) -> "Config":
        """Check every field; raise a ValueError naming the first bad one and its rule.

        numpy numbers are accepted and turned into Python numbers (so the Config can be
        saved as JSON); a bool is never accepted where a number is meant. Returns self.
        """
        from . import estimators  # torch: imported when a Config is checked, not for --help

        v = _validate
        checked = {
            "algo": v.choice("algo", self.algo, estimators.ESTIMATORS),
            "env": v.choice("env", self.env, CONTINUOUS + ("CartPole-v1",)),
            "log_std_init": v.number("log_std_init", self.log_std_init, lo=-20.0, hi=2.0),
            "gamma": v.number("gamma", self.gamma, lo=0.0, hi=1.0),
            "lam": v.number("lam", self.lam, lo=0.0, hi=1.0),
            "lr": v.number("lr", self.lr, lo=0.0, lo_open=True),
            "critic_lr": v.number("critic_lr", self.critic_lr, lo=0.0, lo_open=True, none=True),
            "n_envs": v.integer("n_envs", self.n_envs, lo=1),
            "n_steps": v.integer("n_steps", self.n_steps, lo=1),
            "nstep": v.integer("nstep", self.nstep, lo=1, none=True),
            "hidden": v.integer("hidden", self.hidden, lo=1),
            "layers": v.integer("layers", self.layers, lo=1),
            "activation": v.choice("activation", self.activation, ("tanh", "relu")),
            "critic_loss": v.choice("critic_loss", self.critic_loss, ("mse", "smooth_l1")),
            "vf_coef": v.number("vf_coef", self.vf_coef, lo=0.0),
            "ent_coef": v.number("ent_coef", self.ent_coef, lo=0.0),
            "max_grad_norm": v.number("max_grad_norm", self.max_grad_norm, lo=0.0, lo_open=True, none=True),
            "reward_scale": v.number("reward_scale", self.reward_scale, lo=0.0, lo_open=True),
            "optimizer": v.choice("optimizer", self.optimizer, ("adam", "rmsprop")),
            "epochs": v.integer("epochs", self.epochs, lo=1),
            "batch_size": v.integer("batch_size", self.batch_size, lo=1, none=True),
            "clip_eps": v.number("clip_eps", self.clip_eps, lo=0.0, lo_open=True, none=True),
            "adam_eps": v.number("adam_eps", self.adam_eps, lo=0.0, lo_open=True),
            "total_steps": v.integer("total_steps", self.total_steps, lo=1, hi=v.MAX_STEPS),
            "target_return": v.number("target_return", self.target_return, none=True),
            "seed": v.integer("seed", self.seed, lo=0, hi=v.MAX_SEED),
            "threads": v.integer("threads", self.threads, lo=1),
        }
        if checked["env"] in CONTINUOUS and estimators.get(checked["algo"]).critic == "q":
            raise ValueError(f"algo {checked['algo']} learns Q(s, a) for each of a few discrete actions, so it "
                             f"cannot train on {checked['env']} (continuous actions); use a2c, gae, tdac, "
                             f"reinforce or reinforce_baseline")
        adam_eps_default = next(f.default for f in fields(self) if f.name == "adam_eps")
        if checked["optimizer"] == "rmsprop" and checked["adam_eps"] != adam_eps_default:
            raise ValueError(f"adam_eps={checked['adam_eps']:g} is Adam's epsilon, but optimizer is rmsprop (whose "
                             f"epsilon is fixed at 1e-5): set adam_eps to {adam_eps_default:g} (--adam-eps "
                             f"{adam_eps_default:g}; a preset may have set it), or use optimizer adam")
        for name in ("shared", "discount_actor", "detach_target", "norm_adv", "anneal"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise _validate.BadValue(name, "True or False", getattr(self, name))
            checked[name] = bool(getattr(self, name))
        for name, value in checked.items():  # numpy numbers become Python numbers
            setattr(self, name, value)
        if self.uses_epochs():
            est = estimators.get(self.algo)
            if est.episodic or est.critic == "q":
                raise ValueError(f"epochs, batch_size, clip_eps and norm_adv (PPO's loss) need an estimator "
                                 f"on rollouts with a V critic or none (a2c, tdac, gae), not {self.algo}")
            if not self.detach_target:
                raise ValueError("detach_target=False (the residual gradient) cannot be combined with epochs, "
                                 "batch_size, clip_eps or norm_adv (PPO's loss): its critic's target is computed "
                                 "once per rollout with pi_old's critic, so nothing flows through it; leave "
                                 "detach_target at True")
        return self

    def uses_epochs(self) -> bool:
        """Whether an update is PPO's (``acnotes/epochs.py``: epochs of minibatch steps on the
        ratio-weighted loss) rather than the one step on the rollout of every other algorithm."""
        return self.epochs > 1 or self.batch_size is not None or self.clip_eps is not None or bool(self.norm_adv)

    def replace(self, **changes) -> "Config":
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {[f.name for f in fields(self)]}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict, strict: bool = False) -> "Config":
        """A Config from a dict of fields, validated (a ValueError names the first bad field);
        unknown keys are an error.

        ``strict=True`` (for a saved ``config.json``) also refuses a missing key, instead of
        filling it with today's default: a run saved with relu must not load as tanh. Only the
        fields of ``ADDED_LATER`` may be missing (a file saved before them ran with their defaults).
        """
        if not isinstance(d, dict):
            raise ValueError(f"a Config must be given as a mapping of settings, got {type(d).__name__}")
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(d) - set(names), key=str)
        missing = [n for n in names if n not in d and n not in ADDED_LATER] if strict else []
        if unknown or missing:
            parts = ([f"unknown setting(s) {unknown}"] if unknown else []) + \
                    ([f"missing setting(s) {missing}"] if missing else [])
            raise ValueError("; ".join(parts) + f"; valid: {names}")
        return cls(**d).validate()


def preset(name: str, **changes) -> Config:
    """A copy of the named preset (see ``acnotes.presets``), with any fields changed."""
    from .presets import PRESETS
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {name!r}")
    return Config(**PRESETS[name]).replace(**changes)
