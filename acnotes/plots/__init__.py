"""Every figure of the series, one module per topic, all drawn in one visual language
(``style``): ``learning`` (learning curves), ``variance`` (bias and variance of the gradient
estimators), ``sensitivity`` (gamma x lr maps), ``sweep`` (a sweep's results), ``studies`` (the
step-size ratio and the rollout length), ``corridor`` (the short corridor of notebook 0),
``critics`` (notebook 2's tabular critic), ``blog`` (notebook 10's stored blog runs),
``ablations`` (notebook 7's entropy bonus), ``onestep`` (notebook 9's exact values of
learning runs), ``weights`` (shapes the text describes: the discount weight gamma^t over an
episode, GAE's weights over n, the
score's pull on the probabilities, the centring runs seed by seed, the entropy bonus's balance in a bandit),
``continuous`` (notebook 11: the LQR's objective, the estimators' variance against sigma, the
Pendulum-v1 runs), ``ppo`` (notebook 12's off-policy estimators and epochs on one batch).

Plotting functions return a matplotlib Figure and never switch the backend.
"""

from . import style
from .ablations import entropy_plot
from . import continuous
from .blog import blog_runs
from .continuous import lqr_objective, pendulum_engine_runs, pendulum_runs, variance_by_sigma
from .corridor import corridor_learning, corridor_value
from .critics import critic_error, td_convergence
from .onestep import value_curves
from .ppo import epochs_gain, offpolicy_bias_variance
from .learning import curve_on_grid, learning_curves, learning_grid, mean_and_band, stored_curves
from .sensitivity import sensitivity_map
from .studies import rollouts_plot, timescales_plot
from .sweep import sweep_heatmap, sweep_sensitivity
from .variance import gae_lambda, variance_bars, variance_compare, variance_sweep, variance_training
from .weights import centring_seeds, discount_weights, gae_weights, score_pull, softmax_temperature

__all__ = ["style", "curve_on_grid", "mean_and_band", "learning_curves", "learning_grid", "stored_curves",
           "variance_bars", "variance_compare", "variance_sweep", "gae_lambda", "variance_training",
           "sensitivity_map", "sweep_heatmap", "sweep_sensitivity", "timescales_plot", "rollouts_plot",
           "corridor_value", "corridor_learning", "td_convergence", "critic_error", "blog_runs", "entropy_plot", "value_curves",
           "discount_weights", "gae_weights", "score_pull", "centring_seeds", "softmax_temperature",
           "continuous", "lqr_objective", "variance_by_sigma", "pendulum_runs", "pendulum_engine_runs",
           "offpolicy_bias_variance", "epochs_gain"]
