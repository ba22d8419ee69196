"""What may train as one population: members whose structural settings agree
(``STRUCTURAL``), each valid, that fit in the free memory.

``train_population`` calls ``check_population``; ``check_memory`` is the package's one memory
check (``train``, ``train_population``, ``sweep``'s chunks), and ``split_to_fit`` cuts many
members into populations that fit (the panels' atlas). ``acnotes.train`` re-exports them.
"""

from __future__ import annotations

from typing import Sequence

from . import estimators
from .config import Config

__all__ = ["STRUCTURAL", "check_population", "memory_estimate", "check_memory", "split_to_fit"]

# Settings that fix the shape of the computation: equal for every member of a population.
STRUCTURAL = ("algo", "env", "n_envs", "n_steps", "nstep", "hidden", "layers", "shared", "activation",
              "critic_loss", "optimizer", "discount_actor", "detach_target", "total_steps", "threads",
              "epochs", "batch_size", "norm_adv", "anneal", "adam_eps")


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
    kinds = {c.uses_epochs() for c in configs}
    if len(kinds) > 1:
        raise ValueError("population members must all take PPO's epochs of minibatch steps or none: "
                         "set epochs, batch_size, clip_eps and norm_adv alike (clip_eps may differ, but "
                         "not be none for some members only when the others use none of them)")
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
                 advice: str = "train fewer members at once (split the grid into chunks)", what: str = "") -> None:
    """The one memory check of the package (``train_population``, ``train``, ``sweep``'s chunks):
    refuse (ValueError) a population that needs more than 80% of the free memory; ``advice``
    says what to change (the command line names its own options), ``what`` names the
    population (a sweep's chunk)."""
    need, have = memory_estimate(configs), _available_memory()
    if have is not None and need > 0.8 * have:
        per = need / len(configs)
        raise ValueError(
            f"{what or 'a population'} of {len(configs)} members needs about {need / 2**30:.1f} GiB "
            f"({per / 2**20:.0f} MiB per member), but only {have / 2**30:.1f} GiB are available: "
            f"{advice}")


def split_to_fit(configs: Sequence[Config], share: float = 0.4) -> list[list[Config]]:
    """``configs`` in order, cut into populations that each need at most ``share`` of the free
    memory (``memory_estimate``), one member at least; all of them in one when the free memory
    is unknown. For commands that train many members (the panels' atlas)."""
    configs = list(configs)
    have = _available_memory()
    size = len(configs) if have is None else max(1, int(share * have // memory_estimate(configs[:1])))
    return [configs[i:i + size] for i in range(0, len(configs), size)]
