"""acnotes: actor-critic methods, derived, checked and run.

    import acnotes as acn
    agent, history = acn.train.train(algo="a2c", total_steps=50_000)

Modules: ``envs`` (CartPole and exact tabular MDPs), ``returns`` (returns, TD errors,
n-step targets, GAE), ``estimators`` (Psi_t per algorithm, losses), ``models``,
``rollout``, ``train`` (loop, Config, History, Agent).
"""

from . import envs, estimators, models, returns, rollout, train
from .train import Agent, Config, History

__version__ = "0.1.0"

__all__ = ["envs", "estimators", "models", "returns", "rollout", "train", "Agent", "Config", "History"]
