"""Checkers of notebook 5's measurement exercises: how many episodes a target variance needs
(exercise 8), and the relative variance of K estimates (exercise 9).

Each reference is computed by another route than the formula a student would write: the
number of episodes by counting B upwards, the relative variance by plain Python loops.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from .engine import _Case, _Mistake, _num, _run, _Spec


def _number(out: Any, st, what: str, whole: bool = False) -> float:
    """The student's output as a float, or a CheckFailed naming what came back."""
    ok = isinstance(out, (int, float, np.integer, np.floating)) and not isinstance(out, bool)
    if isinstance(out, Tensor) and out.numel() == 1:
        out, ok = out.item(), True
    if not ok:
        raise st.fail(f"one number ({what})", f"{type(out).__name__}",
                      "return a single number (a Python number or a one-element tensor).")
    x = float(out)
    if whole and x != math.floor(x):
        raise st.fail(f"a whole number ({what})", _num(x),
                      "a batch holds whole episodes: round up to the smallest B that is enough.")
    return x


# --------------------------------------------------------------------------- 8. episodes needed


def _rows(B, variance):
    return [{"estimator": "reinforce", "B": b, "variance": v} for b, v in zip(B, variance)]


def _episodes_ref(rows, target):
    c = sum(r["B"] * r["variance"] for r in rows) / len(rows)   # variance of one episode
    B = 1
    while c / B > target:     # the smallest B with c / B <= target, counted
        B += 1
    return B


def _episodes_cases() -> list[_Case]:
    def case(words, B, variance, target):
        return _Case(words, dict(rows=_rows(B, variance), target=target))

    return [
        case("an exact 1/B law, variance = 12 / B at B = 1, 4, 16, 64; target 0.05.",
             (1, 4, 16, 64), (12.0, 3.0, 0.75, 0.1875), 0.05),
        case("measured rows: B * variance = 11.6, 12.4, 12.0, 12.2 at B = 1, 4, 16, 64; target 0.1.",
             (1, 4, 16, 64), (11.6, 3.1, 0.75, 12.2 / 64), 0.1),
        case("rows not sorted by B (64, 1, 16); target 0.3.", (64, 1, 16), (3.2 / 64, 2.9, 3.0 / 16), 0.3),
        case("B * variance = 3 in every row, target 0.5: exactly 6 episodes are enough.",
             (2, 8), (1.5, 0.375), 0.5),
        case("a target above the variance of a single episode: one episode is enough.",
             (1, 4), (2.0, 0.5), 5.0),
    ]


def _mean_c(rows):
    return sum(r["B"] * r["variance"] for r in rows) / len(rows)


def episodes_needed(fn: Callable) -> None:
    """Check ``fn(rows, target) -> B``: the smallest whole number of episodes per estimate for
    which the 1/B law predicts a variance at most ``target``. ``rows`` are the measured rows
    of one estimator (dicts with ``"B"`` and ``"variance"``); the variance of one episode is
    the mean of ``B * variance`` over them.
    """
    _run(_Spec(
        name="episodes_needed", reference=_episodes_ref, cases=_episodes_cases(),
        outputs=lambda out, leaves, st: {"B": torch.tensor(
            float(out) if st is None else _number(out, st, "the batch size B", whole=True),
            dtype=torch.float64)},
        mistakes=[
            _Mistake(lambda rows, t: int(_mean_c(rows) / t),
                     "you rounded down: that B gives a variance a little above the target. "
                     "Take the smallest whole B that is enough (round up)."),
            _Mistake(lambda rows, t: int(_mean_c(rows) / t) + 1,
                     "when c / target is already whole, that B is enough: round up, do not add 1."),
            _Mistake(lambda rows, t: math.ceil(rows[0]["B"] * rows[0]["variance"] / t),
                     "you used one row only: every row estimates the same variance of one "
                     "episode, B * variance; average it over the rows."),
            _Mistake(lambda rows, t: math.ceil(rows[0]["variance"] / t),
                     "the variance of a row is that of a mean over B episodes: multiply by its B "
                     "to get the variance of one episode before you divide by the target."),
            _Mistake(lambda rows, t: math.ceil(sum(r["B"] for r in rows) / len(rows)
                                               * sum(r["variance"] for r in rows) / len(rows) / t),
                     "multiply B and variance row by row, then average; the product of the two "
                     "averages is not the variance of one episode."),
            _Mistake(lambda rows, t: math.ceil(_mean_c(rows) / t) ** 2,
                     "the variance falls like 1/B, not 1/B^2 (that is the standard deviation's "
                     "square): B = c / target, rounded up."),
        ],
        generic="c = the mean over the rows of B * variance (the variance of one episode); the "
                "1/B law gives c / B, so B is c / target rounded up to a whole number.",
    ), fn)


# --------------------------------------------------------------------------- 9. relative variance


def _relvar_ref(grads):
    g = grads.double().tolist()
    K, d = len(g), len(g[0])
    mean = [sum(g[k][i] for k in range(K)) / K for i in range(d)]
    spread = sum((g[k][i] - mean[i]) ** 2 for k in range(K) for i in range(d)) / K
    return spread / sum(m * m for m in mean)


def _relvar_cases() -> list[_Case]:
    gen = torch.Generator().manual_seed(9)
    cases = [_Case("K = 2 estimates of a d = 1 gradient: 1.0 and 3.0.",
                   dict(grads=torch.tensor([[1.0], [3.0]], dtype=torch.float64)))]
    for K, d, scale, shift, dtype in [(5, 3, 1.0, 2.0, torch.float64), (40, 6, 2.0, 0.5, torch.float64),
                                      (200, 12, 0.3, -1.0, torch.float32)]:
        g = torch.round((shift + scale * torch.randn(K, d, generator=gen, dtype=torch.float64)) * 1000) / 1000
        cases.append(_Case(f"K = {K} random estimates of a d = {d} gradient ({dtype}).",
                           dict(grads=g.to(dtype))))
    return cases


def _mean(g):
    return g.double().mean(0)


def relative_variance(fn: Callable) -> None:
    """Check ``fn(grads) -> float``: for K estimates ``grads`` [K, d], the total variance
    (the trace of the plug-in covariance, a mean over the K estimates) divided by the squared
    length of the mean estimate, the ``relative_variance`` column of ``acn.variance``.
    """
    def var(g):
        return float(((g.double() - _mean(g)) ** 2).sum(1).mean())

    _run(_Spec(
        name="relative_variance", reference=_relvar_ref, cases=_relvar_cases(),
        outputs=lambda out, leaves, st: {"relative variance": torch.tensor(
            float(out) if st is None else _number(out, st, "the relative variance"),
            dtype=torch.float64)},
        mistakes=[
            _Mistake(lambda g: var(g), "that is the total variance itself: divide it by the "
                     "squared length of the mean estimate, |g_bar|^2."),
            _Mistake(lambda g: var(g) / float(_mean(g).norm()),
                     "divide by the SQUARED length of the mean estimate, |g_bar|^2."),
            _Mistake(lambda g: var(g) * g.shape[0] / (g.shape[0] - 1) / float(_mean(g) @ _mean(g)),
                     "you divided by K - 1; the table's variance is the plug-in one, a mean over "
                     "the K estimates (divide by K)."),
            _Mistake(lambda g: var(g) * g.shape[0] / float(_mean(g) @ _mean(g)),
                     "you summed the squared deviations over the K estimates; take their mean."),
            _Mistake(lambda g: float((((g.double() - _mean(g)) ** 2).mean(0) / _mean(g) ** 2).mean()),
                     "you averaged a ratio per coordinate; the relative variance is one ratio: "
                     "the variance summed over coordinates, over |g_bar|^2."),
            _Mistake(lambda g: var(g) / float((g.double() ** 2).sum(1).mean()),
                     "you divided by the mean squared length of the estimates; divide by the "
                     "squared length of their mean, |g_bar|^2."),
            _Mistake(lambda g: math.sqrt(var(g)) / float(_mean(g) @ _mean(g)),
                     "that is the standard deviation over |g_bar|^2; use the variance (no square "
                     "root)."),
        ],
        generic="g_bar = the mean of the K estimates; variance = the mean over k of "
                "|g_k - g_bar|^2; relative variance = variance / |g_bar|^2.",
        allow_numpy=True,
    ), fn)
