"""Argument checks of the variance lab: one error style, ``NAME must be ..., got VALUE``."""

from __future__ import annotations

import math
from contextlib import nullcontext

import numpy as np

from .. import estimators
from .._names import VARIANCE_MAX_B, VARIANCE_MAX_K
from .._threads import torch_threads

ESTIMATOR_NAMES: tuple[str, ...] = tuple(estimators.ESTIMATORS)

# Bounds that keep a measurement's memory finite (all K*B episodes are held at once)
MAX_K = VARIANCE_MAX_K
MAX_B = VARIANCE_MAX_B


def check_int(name: str, v, lo: int = 1, hi: int | None = None) -> int:
    """``v`` as an int, if it is an integer (not a bool) in [lo, hi]."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo or (hi is not None and v > hi):
        rule = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be an integer {rule}, got {v!r}")
    return int(v)


def check_K(K) -> int:
    """The number of estimates: at least 2, since the spread of one estimate is not defined."""
    if isinstance(K, (int, np.integer)) and not isinstance(K, bool) and K == 1:
        raise ValueError("K must be an integer >= 2, got 1: the variance of a single estimate "
                         "is not defined (it would read 0); ask for K >= 2, e.g. K=300")
    return check_int("K", K, lo=2, hi=MAX_K)


def check_B(B) -> int:
    """Episodes per estimate, in [1, MAX_B]."""
    return check_int("B", B, hi=MAX_B)


def check_unit(name: str, v) -> float:
    """``v`` as a float, if it is a number (not a bool) in [0, 1]."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0.0 <= float(v) <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {v!r}")
    return float(v)


def check_nonneg(name: str, v) -> float:
    """``v`` as a float, if it is a finite number (not a bool) >= 0."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not (
            math.isfinite(float(v)) and float(v) >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    return float(v)


def check_estimators(names) -> list[str]:
    """A list of estimator names (all of them for None); an unknown name lists the valid ones."""
    if names is None:
        return list(ESTIMATOR_NAMES)
    if isinstance(names, str):
        names = [names]
    names = list(names)
    bad = [x for x in names if x not in estimators.ESTIMATORS]
    if bad or not names:
        raise ValueError(f"estimators: unknown estimator(s) {bad!r}; valid values: "
                         f"{', '.join(ESTIMATOR_NAMES)}")
    return names


def threads_or_not(n):
    """``torch_threads(n)`` for an integer n >= 1; for None, leave the thread count alone."""
    return nullcontext() if n is None else torch_threads(check_int("threads", n))
