"""A trained network with its Config: build, act, save, load, evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from . import envs, estimators
from .config import Config
from .models import ActorCritic
from .rollout import Collector

__all__ = ["Agent", "make_agent"]


def make_agent(cfg: Config, obs_dim: int = 4, n_actions: int = 2) -> ActorCritic:
    """The network for ``cfg``, initialized from ``cfg.seed`` (global RNG untouched)."""
    est = estimators.get(cfg.algo)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return ActorCritic(obs_dim, n_actions, cfg.hidden, cfg.layers, critic=est.critic,
                           shared=cfg.shared, activation=cfg.activation)


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
        col = Collector(env, self.model.logits, seed=seed, greedy=greedy)
        with torch.no_grad():
            col.episodes()
        env.close()
        return np.asarray(col.log.returns)
