"""Every interactive panel of the series, one module per topic on ``panel`` (the
controls, message and plot they share): ``training`` (learning panels)
``variance`` (bias and variance of the gradient estimators) and ``sensitivity`` (a stored gamma x lr
map: choose a cell, see its curves).

A panel is built by the package so that a notebook cell is one line,
e.g. ``acn.widgets.learning_panel("a2c", preset="a2c")``.
"""

from .panel import Panel
from .training import gamma_slider, learning_panel, lr_slider
from .sensitivity import sensitivity_panel
from .variance import variance_panel

__all__ = ["Panel", "learning_panel", "gamma_slider", "lr_slider", "variance_panel", "sensitivity_panel"]
