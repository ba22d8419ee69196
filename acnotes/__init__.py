"""acnotes: actor-critic methods, derived, checked and run.

    import acnotes as acn
    agent, history = acn.train.train(algo="a2c", total_steps=50_000)
    runs = acn.train.train_population([acn.train.preset("a2c", seed=s) for s in range(10)])

Modules: ``envs`` (CartPole and exact tabular MDPs), ``returns`` (returns, TD errors,
n-step targets, GAE), ``estimators`` (Psi_t per algorithm, losses), ``models``,
``rollout``, ``train`` (the loop for one agent or a population; Config, History, Agent).
Loaded on first use: ``corridor`` (batched REINFORCE on the short corridor, notebook 0),
``variance`` (bias and variance of the estimators), ``sensitivity`` (gamma x lr maps),
``sweep`` (parameter sweeps, and the studies stored for the notebooks), ``studies`` (the
actor/critic step-size ratio, the rollout length), ``semigradient`` (TD(0) against the
residual gradient), ``entropy_bonus`` (the entropy bonus on exact MDPs), ``ablations``
(notebook 7's stored CartPole runs), ``blogruns`` (the blog's settings, measured), ``atlas``
(the panels' stored settings), ``reference`` (REINFORCE, A2C and TD-AC in one plain file
each: what ``train`` computes, for one agent), and, since they pull in matplotlib,
ipywidgets or the Jupyter stack, ``plots``, ``widgets`` (the notebook panels), ``checks`` (exercise checkers),
``exercises`` (student notebooks).
"""

from . import agent, config, envs, estimators, history, models, returns, rollout, train
from .agent import Agent
from .config import Config
from .history import History

__version__ = "0.1.0"

_LAZY = {"corridor", "variance", "plots", "widgets", "checks", "exercises", "sensitivity", "sweep", "studies",
         "semigradient", "entropy_bonus", "ablations", "blogruns", "atlas", "reference"}


def __getattr__(name: str):
    """``acn.plots`` and the like import their module the first time they are used."""
    if name in _LAZY:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'acnotes' has no attribute {name!r}")

__all__ = ["envs", "estimators", "models", "returns", "rollout", "train", "Agent", "Config", "History"]
