"""acnotes: actor-critic methods, derived, checked and run.

    import acnotes as acn
    agent, history = acn.train.train(algo="a2c", total_steps=50_000)
    runs = acn.train.train_population([acn.train.preset("a2c", seed=s) for s in range(10)])

Modules, each imported the first time it is used (so ``python -m acnotes --help`` never
imports torch): ``envs`` (CartPole and exact tabular MDPs), ``returns`` (returns, TD errors,
n-step targets, GAE), ``estimators`` (Psi_t per algorithm, losses), ``models``, ``rollout``,
``train`` (the loop for one agent or a population; Config, History, Agent), ``corridor``
(batched REINFORCE on the short corridor, notebook 0), ``one_step`` (Sutton & Barto's one-step
actor-critic, many runs at once, and its exact expected update, notebook 9), ``ppo`` (the
importance ratio, the surrogate and its clipped form on exact MDPs, notebook 12), ``variance`` (bias
and variance of the estimators), ``sweep`` (parameter sweeps), ``stored`` (every result computed
once and shipped with the package, one module per kind: ``atlas``, the panels' settings;
``sensitivity``, gamma x lr maps; ``studies``, the actor/critic step-size ratio and the rollout
length; ``ablations``, notebook 7's CartPole runs; ``blogruns``, the blog's settings; ``sweeps``,
the lr sweep; ``acn.atlas`` and the like name them too), ``semigradient`` (TD(0) against the
residual gradient), ``entropy_bonus`` (the entropy bonus on exact MDPs), ``reference``
(REINFORCE, A2C, TD-AC, PPO and the book's one-step actor-critic in one plain file each: what
``train`` computes, for one agent), ``plots``, ``widgets`` (the notebook panels), ``checks``
(exercise checkers), ``exercises`` (student notebooks), ``walk`` (a tiny task with gymnasium's
API, where notebook 9's exercise checks that the student's loop learns), ``gaussian`` (the
Gaussian policy for continuous actions: log-probability, score, clipping and the squashed
Gaussian, notebook 11), ``lqr`` (the scalar linear-quadratic regulator's exact J, gradient and
values, notebook 11).
"""

import importlib

__version__ = "0.1.0"

# Every submodule is imported the first time it is used (``acn.train``, ``acn.envs``), so
# that ``python -m acnotes --help`` and the light commands never import torch.
_LAZY = {"agent", "config", "envs", "estimators", "history", "models", "returns", "rollout", "train",
         "corridor", "variance", "plots", "widgets", "checks", "exercises", "sweep", "stored",
         "semigradient", "entropy_bonus", "reference", "one_step", "walk", "gaussian", "lqr", "ppo"}
# the kinds of stored results, in ``acnotes.stored``; ``acn.atlas`` is ``acnotes.stored.atlas``
_STORED = {"atlas", "sensitivity", "studies", "ablations", "blogruns"}
_CLASSES = {"Agent": "agent", "Config": "config", "History": "history"}


def __getattr__(name: str):
    """``acn.train``, ``acn.plots``, ``acn.Config`` and the like import their module the first time
    they are used."""
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name in _STORED:
        return importlib.import_module(f".stored.{name}", __name__)
    if name in _CLASSES:
        return getattr(importlib.import_module(f".{_CLASSES[name]}", __name__), name)
    raise AttributeError(f"module 'acnotes' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY | _STORED | set(_CLASSES))


__all__ = ["envs", "estimators", "models", "returns", "rollout", "train", "Agent", "Config", "History"]
