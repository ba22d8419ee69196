"""A trained network with its Config: build, act, save, load, evaluate."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import torch

from . import _validate, envs, estimators, gaussian
from ._files import atomic_path, write_text
from .config import CONTINUOUS, Config
from .models import ActorCritic
from .pendulum import MAX_TORQUE
from .rollout import Collector

__all__ = ["Agent", "make_agent"]


# the network's input and output sizes per env: (observation size, actions or action coordinates)
SIZES = {"CartPole-v1": (4, 2), "Pendulum-v1": (3, 1)}


def make_agent(cfg: Config) -> ActorCritic:
    """The network for ``cfg`` and its env (a Gaussian policy for a continuous env),
    initialized from ``cfg.seed`` (global RNG untouched)."""
    est = estimators.get(cfg.algo)
    obs_dim, n_actions = SIZES[cfg.env]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return ActorCritic(obs_dim, n_actions, cfg.hidden, cfg.layers, critic=est.critic,
                           shared=cfg.shared, activation=cfg.activation,
                           gaussian=cfg.env in CONTINUOUS, log_std_init=cfg.log_std_init)


class Agent:
    """A trained network with its Config; saves to and loads from a directory.

    The directory holds ``config.json`` and ``weights.pt``, the network's state dict (a
    plain dict of tensors, written by ``torch.save`` and loaded with
    ``torch.load(weights_only=True)``, which refuses anything but tensors and plain
    containers: no arbitrary pickle is ever executed).
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
        if self.model.gaussian:   # the torque the env receives: the mean, or a sample, clipped
            mu, log_std = logits.chunk(2, -1)
            a = mu if greedy else gaussian.sample(mu, log_std, generator=generator)
            a = gaussian.clip_action(a, -MAX_TORQUE, MAX_TORQUE).numpy()
            return a[0] if single else a
        if greedy:
            a = logits.argmax(-1)
        else:
            a = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(-1)
        a = a.numpy()
        return a[0] if single else a

    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` and ``weights.pt`` into ``directory``, each atomically."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        write_text(d / "config.json", json.dumps(self.config.to_dict(), indent=2))
        with atomic_path(d / "weights.pt") as tmp:
            torch.save(self.model.state_dict(), tmp)
        return d

    @classmethod
    def load(cls, directory: str | Path) -> "Agent":
        """The agent saved in ``directory``; a ValueError names the file that is wrong."""
        d = Path(directory)
        cfg_file, w_file = d / "config.json", d / "weights.pt"
        if not cfg_file.is_file() or not w_file.is_file():
            raise ValueError(f"{d} is not a saved agent: it needs config.json and weights.pt "
                             f"(written by Agent.save or `python -m acnotes train --out DIR`)")
        try:
            cfg = Config.from_dict(json.loads(cfg_file.read_text()), strict=True).validate()
        except (OSError, UnicodeDecodeError, ValueError, TypeError) as e:  # JSONDecodeError is a ValueError
            raise ValueError(f"{cfg_file} is not a valid agent config: {e}") from None
        model = make_agent(cfg)
        try:
            state = torch.load(w_file, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            # torch's own message suggests weights_only=False, which would run any code
            # hidden in the file: never pass that on.
            raise ValueError(f"{w_file} holds Python objects besides tensors; it was not written "
                             f"by Agent.save and will not be unpickled (that could run code)") from None
        except Exception as e:  # truncated, not a torch file at all, ...
            raise ValueError(f"{w_file} is not a weights file written by Agent.save "
                             f"({type(e).__name__}: {_first_line(e)})") from None
        try:
            model.load_state_dict(state)
        except Exception as e:  # another architecture, or not a dict of tensors
            raise ValueError(f"the weights in {w_file} do not fit the network that {cfg_file} "
                             f"describes ({_first_line(e)})") from None
        return cls(model, cfg)

    def weights_are_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.model.state_dict().values())

    @torch.no_grad()
    def evaluate(self, episodes: int = 10, seed: int = 0, greedy: bool = True,
                 chunk: int = 32) -> np.ndarray:
        """Returns of ``episodes`` full episodes on the agent's env (``config.env``).

        At most ``chunk`` episodes run at a time, in one vector env, so memory stays bounded
        for any number of episodes. The chunk that starts at episode i resets its env with
        ``seed + i`` and samples actions (if not ``greedy``) from a generator seeded the
        same way: the same (episodes, seed, chunk) always give the same returns.
        """
        episodes = _validate.integer("episodes", episodes, lo=1, hi=_validate.MAX_EPISODES)
        seed = _validate.integer("seed", seed, lo=0, hi=_validate.MAX_SEED)
        chunk = _validate.integer("chunk", chunk, lo=1)
        if not self.weights_are_finite():
            raise ValueError("the agent's weights hold NaN or inf (did its run diverge?); "
                             "its actions would mean nothing, so it is not evaluated")
        out = np.empty(episodes)
        for first in range(0, episodes, chunk):
            n = min(chunk, episodes - first)
            out[first:first + n] = self._play(n, seed + first, greedy)
        return out

    def _play(self, n: int, seed: int, greedy: bool) -> np.ndarray:
        """One whole episode in each of n envs, from the collector seeded with ``seed``;
        the returns in the order the episodes ended."""
        env = envs.make_env(self.config.env, n)
        try:
            col = Collector(env, self.model.logits, seed=seed, greedy=greedy)
            col.episodes()
        finally:
            env.close()
        return np.asarray(col.log.returns)


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [""])[0][:200]
