"""No free answers: while a checker runs the student's function, the package's own
implementation of the exercise may not be called.

``acn.checks.reward_to_go(acn.returns.reward_to_go)`` would otherwise pass, and so would a
wrapper ``lambda *a: acn.returns.reward_to_go(*a)`` or a function imported under another
name. The tripwire watches *code objects*, not names: for the duration of one call of the
student's function, a profile hook (``sys.setprofile``, this thread only) looks at every
Python function entered and stops at the first one that is a reference implementation.
Nothing in ``acnotes.returns`` or ``acnotes.estimators`` is changed, and the hook exists only
while a checker is calling the student's function, so training is not slowed at all.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterable


class UsedTheReference(Exception):
    """Raised inside the student's call when it enters a reference implementation."""


def _forbidden() -> dict:
    """{code object: "module.function"} of the package functions that solve an exercise."""
    from .. import estimators, returns

    table = {}
    for name in returns.__all__:
        table[getattr(returns, name)] = f"acnotes.returns.{name}"
    for name in ("log_prob", "actor_loss", "critic_loss"):
        table[getattr(estimators, name)] = f"acnotes.estimators.{name}"
    from ..envs import TabularMDP

    table[TabularMDP.V] = "acnotes.envs.TabularMDP.V"           # solves corridor_value's equations
    corridor = sys.modules.get("acnotes.corridor")   # loaded only if the notebook uses it
    if corridor is not None:
        table[corridor.start_value] = "acnotes.corridor.start_value"
    variance = sys.modules.get("acnotes.variance")   # loaded only if the notebook uses it
    stats = getattr(variance, "gradient_stats", None)
    if stats is not None:
        table[stats] = "acnotes.variance.gradient_stats"
    return {fn.__code__: label for fn, label in table.items()}


def _code(fn: Callable):
    return getattr(getattr(fn, "__wrapped__", fn), "__code__", None)


@contextmanager
def forbid_references(extra: Iterable[Callable] = ()):
    """While the block runs, entering a reference implementation raises UsedTheReference.

    ``extra`` adds functions (a checker's own reference) to the package's list.
    """
    codes = _forbidden()
    for fn in extra:
        code = _code(fn)
        if code is not None:
            codes.setdefault(code, getattr(fn, "__qualname__", "the checker's reference"))
    previous = sys.getprofile()

    def hook(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            raise UsedTheReference(codes[frame.f_code])
        if previous is not None:
            previous(frame, event, arg)

    sys.setprofile(hook)
    try:
        yield
    finally:
        sys.setprofile(previous)
