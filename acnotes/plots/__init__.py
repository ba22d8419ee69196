"""Every figure of the series, one module per topic: ``learning`` (learning curves) and
``variance`` (bias and variance of the gradient estimators), ``sensitivity`` (gamma x lr maps),
``studies`` (the step-size ratio and the rollout length), ``corridor`` (the short corridor of
notebook 0).

Plotting functions return a matplotlib Figure and never switch the backend.
"""

from . import style
from .corridor import corridor_learning, corridor_value
from .learning import curve_on_grid, learning_curves, mean_and_band
from .sensitivity import sensitivity_map
from .studies import rollouts_plot, timescales_plot
from .sweep import sweep_heatmap, sweep_sensitivity
from .variance import variance_bars, variance_sweep

__all__ = ["style", "curve_on_grid", "mean_and_band", "learning_curves", "variance_bars", "variance_sweep",
           "sensitivity_map", "sweep_heatmap", "sweep_sensitivity", "timescales_plot", "rollouts_plot",
           "corridor_value", "corridor_learning"]
