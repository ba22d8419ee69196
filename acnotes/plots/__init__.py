"""Every figure of the series, one module per topic: ``learning`` (learning curves).

Plotting functions return a matplotlib Figure and never switch the backend.
"""

from .learning import curve_on_grid, learning_curves, mean_and_band

__all__ = ["curve_on_grid", "mean_and_band", "learning_curves"]
