"""Checker of notebook 0's exercise: the value of the corridor's start state in closed form.

The reference is not a formula: it solves the Bellman equations of
``acn.envs.short_corridor(gamma=1.0)`` by linear algebra (``TabularMDP.V``), one solve per p.
The known mistakes are the closed forms a slip leads to.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..envs import short_corridor
from .engine import _Case, _Mistake, _run, _Spec


def _solve(p: torch.Tensor) -> torch.Tensor:
    mdp = short_corridor(gamma=1.0)
    values = [mdp.V(torch.tensor([[1.0 - q, q]] * mdp.n_states, dtype=torch.float64))[0]
              for q in p.double().tolist()]
    return torch.stack(values).to(p.dtype)


def _unswitched(p: torch.Tensor) -> torch.Tensor:
    """v(s0) of a corridor whose middle state is NOT reversed (right always moves right)."""
    out = []
    for q in p.double().tolist():
        A = np.array([[q, -q, 0.0], [-(1 - q), 1.0, -q], [0.0, -(1 - q), 1.0]])
        out.append(np.linalg.solve(A, -np.ones(3))[0])
    return torch.tensor(out, dtype=p.dtype)


def _cases() -> list[_Case]:
    def case(words, values):
        return _Case(words, dict(p=torch.tensor(values, dtype=torch.float64)))

    return [
        case("p = 0.5: a fair coin in every state.", [0.5]),
        case("the two epsilon-greedy policies of epsilon = 0.1: p = 0.05 and p = 0.95.", [0.05, 0.95]),
        case("p = 0.1, 0.2, ..., 0.9.", [0.1 * k for k in range(1, 10)]),
        case("p = 0.58 and 0.6, near the optimum; p = 0.01 and 0.99, near the edges.",
             [0.58, 0.6, 0.01, 0.99]),
    ]


def corridor_value(fn: Callable) -> None:
    """Check ``fn(p) -> v(s0)``: the exact value of the start state of the short corridor
    (gamma = 1, reward -1 per step) when every state goes right with probability p. ``p`` is
    a float64 tensor of probabilities strictly between 0 and 1; return a tensor of the same
    shape (arithmetic on ``p`` works elementwise).
    """
    _run(_Spec(
        name="corridor_value", reference=_solve, cases=_cases(),
        outputs=lambda out, leaves, st: {"v(s0)": out if st is None else
                                         st.tensor(out, st.case.inputs["p"], "v(s0)")},
        mistakes=[
            _Mistake(lambda p: -2.0 * (1.0 + p) / (p * (1.0 - p)),
                     "you swapped p and 1 - p: p is the probability of RIGHT. Going left in the "
                     "start state bumps into the wall; only right leaves it."),
            _Mistake(lambda p: 2.0 * (2.0 - p) / (p * (1.0 - p)),
                     "wrong sign: every step pays -1, so every value is negative."),
            _Mistake(lambda p: -(3.0 - p) / (p * (1.0 - p)),
                     "that is the value of the MIDDLE state (s1); the question asks for the start "
                     "state, v(s0) = v(s1) - 1/p (from the first Bellman equation)."),
            _Mistake(lambda p: -(2.0 - p) / (p * (1.0 - p)),
                     "off by a factor 2: check the step from the first equation, "
                     "p v(s0) = -1 + p v(s1), to v(s0) = v(s1) - 1/p."),
            _Mistake(_unswitched,
                     "that is the corridor without the switch: in the middle state, right moves "
                     "LEFT (back to the start) and left moves right."),
        ],
        generic="write the three Bellman equations (v(goal) = 0, reward -1 per step) with "
                "v(s0) = -1 + p v(s1) + (1 - p) v(s0), and solve them for v(s0).",
        allow_numpy=True,
    ), fn)
