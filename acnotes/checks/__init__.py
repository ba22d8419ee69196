"""Checkers for the classroom exercises of the notebooks.

Each checker takes the student's function, runs it on a few small cases (a single environment
``[T]`` and several ``[T, N]``, episode ends inside the batch, termination and truncation, a
batch that ends mid-episode) and compares the result with the package's reference. On
success it prints one deterministic line::

    reward_to_go: all 6 checks passed.

On failure it raises :class:`CheckFailed` (an ``AssertionError``) whose message says which case
failed (in words), what was expected, what was got, and a hint. When the wrong output matches
a known mistake (no reset at episode ends, the wrong sign, a target that is not detached, ...)
the hint names that mistake. A stub that still raises ``NotImplementedError`` gives
:class:`NotImplementedYet`, which is both a ``CheckFailed`` and a ``NotImplementedError``.

    acn.checks.corridor_value(my_corridor_value)
    acn.checks.reward_to_go(my_reward_to_go)
    acn.checks.reinforce_loss(my_reinforce_loss)
    acn.checks.critic_loss(my_critic_loss)
    acn.checks.baseline_lemma_mc(my_baseline_mc)
    acn.checks.a2c_loss(my_a2c_loss)
    acn.checks.td_error(my_td_error)
    acn.checks.gae(my_gae)
    acn.checks.episodes_needed(my_episodes_needed)
    acn.checks.relative_variance(my_relative_variance)
    acn.checks.td_actor_critic(my_td_actor_critic)     # the whole loop: update to 1e-6, then learning
    acn.checks.batch_size_experiment(16)
    acn.checks.gamma_experiment("grows")
    acn.checks.claim("E[delta | s, a] = A(s, a)", err < 1e-6, f"max error {err:.1e}")

Conventions the checkers hold the student to (the same as ``acnotes.returns`` and
``acnotes.estimators``): time-major tensors; ``terminated`` stops the bootstrap, ``truncated``
does not (it only ends the episode); squared-error losses are ``0.5 * (pred - target)^2``
averaged over the (valid) steps, with the target detached.

No free answers: while the student's function runs, calling the package's own
implementation (``acn.returns.reward_to_go``, ``acn.estimators.critic_loss``, ...), directly
or inside a wrapper, fails with "implement it yourself" (:mod:`.tripwire`).

Layout: ``engine`` (exceptions, messages, the checking loop), ``cases`` (test data),
``corridor`` (the value of the short corridor's start state),
``return_checks`` (reward-to-go, TD error, GAE), ``losses`` (REINFORCE, critic, A2C), ``baseline``
(the statistical check), ``experiments`` (notebook 5's measurements), ``loop`` (notebook 9's
whole TD actor-critic loop: scripted runs and a learning run), ``answers`` (answers that are
not functions, and ``claim``), ``tripwire``.
"""

from .answers import batch_size_experiment, claim, gamma_experiment
from .baseline import baseline_lemma_mc
from .corridor import corridor_value
from .engine import CheckFailed, NotImplementedYet
from .experiments import episodes_needed, relative_variance
from .loop import td_actor_critic
from .losses import a2c_loss, critic_loss, reinforce_loss
from .return_checks import gae, reward_to_go, td_error

__all__ = [
    "CheckFailed",
    "NotImplementedYet",
    "corridor_value",
    "reward_to_go",
    "reinforce_loss",
    "critic_loss",
    "baseline_lemma_mc",
    "a2c_loss",
    "td_error",
    "gae",
    "episodes_needed",
    "relative_variance",
    "td_actor_critic",
    "batch_size_experiment",
    "gamma_experiment",
    "claim",
]
