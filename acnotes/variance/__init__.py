"""The variance lab: many independent gradient estimates at one fixed policy.

For a fixed policy (and critic) it draws K independent estimates of the policy gradient per
estimator, each from a batch of B whole episodes, in the per-episode form

    g = (1/B) sum_{episodes} sum_t  w_t * grad log pi(a_t|s_t) * Psi_t,
    w_t = gamma^t if discount_actor else 1,

with Psi_t computed by the same ``acnotes.estimators`` functions the training loop uses and,
on CartPole, the same ``estimators.actor_loss``. Then it compares the K estimates with the
truth:

* tabular MDPs: the exact gradient, ``mdp.policy_gradient(theta)`` (or with
  ``discounted=False`` when ``discount_actor=False``: the mean of the estimator without
  gamma^t, which is *not* grad J);
* CartPole: the mean of a large, separate batch of REINFORCE-with-baseline estimates (or
  plain REINFORCE when there is no V critic): both have the true gradient as their mean,
  whatever the critic, and the baseline lowers the noise of the reference.

One call gives a table::

    mdp = acn.envs.two_state(gamma=0.9)
    table = acn.variance.measure(mdp, theta, K=1000, B=16)        # tabular, exact critics
    table = acn.variance.measure(agent, K=1000, B=4)                # CartPole
    table.to_csv("variance.csv"); table["reinforce"]["variance"]

Modules, one job each: ``stats`` (bias, variance, MSE of K estimates: ``gradient_stats``),
``table`` (``VarianceTable`` and its CSV/JSON/HTML output), ``values`` (the critic's values
and Psi_t on an episodes batch), ``tabular`` and ``cartpole_grad`` (the gradient samplers;
the CartPole env itself is ``acnotes.cartpole``), ``front`` (the front door: ``measure`` and
the sweeps). None of them imports matplotlib or ipywidgets: the figures are in
``acnotes.plots.variance``, the panel in ``acnotes.widgets.variance`` and the command line in
``acnotes.cli.variance``.
"""

from ._args import ESTIMATOR_NAMES
from .cartpole_grad import cartpole_gradients, cartpole_pool, measure_cartpole
from .front import SWEEPABLE, measure, sweep, sweep_batch_size, sweep_gamma, sweep_lambda
from .stats import gradient_stats
from .table import VarianceTable
from .tabular import TabularCritic, measure_tabular, tabular_critic, tabular_gradients
from .values import critic_values

__all__ = [
    "ESTIMATOR_NAMES",
    "SWEEPABLE",
    "VarianceTable",
    "TabularCritic",
    "tabular_critic",
    "critic_values",
    "gradient_stats",
    "tabular_gradients",
    "cartpole_gradients",
    "cartpole_pool",
    "measure",
    "measure_tabular",
    "measure_cartpole",
    "sweep",
    "sweep_batch_size",
    "sweep_gamma",
    "sweep_lambda",
]
