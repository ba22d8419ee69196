"""One way to check an argument, one error style.

Every check raises ``BadValue`` (a ValueError) whose text reads ``NAME must be RULE, got VALUE``.
``NAME`` is the field in the API (``n_envs``); the command line re-words the same error with
the option (``--n-envs``) through ``BadValue.reworded``. numpy integers and floats count as
numbers; a bool never does (``gamma=True`` is a mistake, not 1.0).
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable

import numpy as np

__all__ = ["BadValue", "integer", "number", "choice", "seeds", "MAX_SEED", "MAX_STEPS", "MAX_EPISODES"]

# Upper bounds, so that a huge number is refused with its name instead of overflowing deep
# inside torch ("Overflow when unpacking long long") or running for ever.
MAX_SEED = 2**32 - 1        # numpy's and most libraries' seed range; torch takes it too
MAX_STEPS = 10**12          # env steps of one run: far beyond any run here (a year at 30k steps/s)
MAX_EPISODES = 10**6        # episodes of one evaluation (their returns are kept in memory)


class BadValue(ValueError):
    """A value that breaks a rule: ``field``, ``rule`` (e.g. "an integer >= 1") and ``value``."""

    def __init__(self, field: str, rule: str, value):
        self.field, self.rule, self.value = field, rule, value
        super().__init__(f"{field} must be {rule}, got {value!r}")

    def reworded(self, name: str) -> str:
        """The same message with another name for the field (a command-line option)."""
        return f"{name} must be {self.rule}, got {self.value!r}"


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def _is_int(v) -> bool:
    return isinstance(v, (numbers.Integral, np.integer)) and not _is_bool(v)


def integer(name: str, v, *, lo: int | None = None, hi: int | None = None, none: bool = False):
    """``v`` as a Python int in ``[lo, hi]`` (None passes if ``none``)."""
    if none and v is None:
        return None
    if lo is not None and hi is not None:
        rule = f"an integer in [{lo}, {hi}]"
    else:
        rule = "an integer" + (f" >= {lo}" if lo is not None else "") + (f" <= {hi}" if hi is not None else "")
    rule += ", or None" if none else ""
    if not _is_int(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
        raise BadValue(name, rule, v)
    return int(v)


def number(name: str, v, *, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False, none: bool = False):
    """``v`` as a finite Python float in ``[lo, hi]`` (``(lo, hi]`` if ``lo_open``)."""
    if none and v is None:
        return None
    if lo is not None and hi is not None:
        rule = f"in {'(' if lo_open else '['}{lo:g}, {hi:g}]"
    else:
        rule = "a finite number" + (f" {'>' if lo_open else '>='} {lo:g}" if lo is not None else "")
    if none:
        rule += ", or None"
    ok = isinstance(v, (numbers.Real, np.integer, np.floating)) and not _is_bool(v)
    if ok:
        x = float(v)
        ok = (math.isfinite(x) and (lo is None or (x > lo if lo_open else x >= lo))
              and (hi is None or x <= hi))
    if not ok:
        raise BadValue(name, rule, v)
    return x


def choice(name: str, v, options: Iterable[str]) -> str:
    """``v`` if it is one of the strings ``options``."""
    options = list(options)
    if not isinstance(v, str) or v not in options:
        raise BadValue(name, "one of " + ", ".join(options), v)
    return v


def seeds(name: str, v) -> list[int]:
    """A non-empty list of distinct integers in [0, MAX_SEED]."""
    if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
        raise BadValue(name, f"a list of integers in [0, {MAX_SEED}]", v)
    out = [integer(name, s, lo=0, hi=MAX_SEED) for s in v]
    if not out:
        raise BadValue(name, f"a non-empty list of integers in [0, {MAX_SEED}]", v)
    dup = sorted({s for s in out if out.count(s) > 1})
    if dup:
        raise BadValue(name, "distinct (each seed once: repeats give a band over identical runs)", v)
    return out
