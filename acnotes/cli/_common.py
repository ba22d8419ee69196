"""What the commands share: argument types, Config options, option names, SIGTERM.

Argument types raise ``argparse.ArgumentTypeError`` with a message of our own, so argparse
prints ``argument --steps: expected an integer >= 1, got 'abc'`` (never "invalid
_positive_int value"). Errors of the API name a field (``n_envs``); ``reworded`` turns them
into the option's name (``--n-envs``).
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
from contextlib import contextmanager

from .._validate import MAX_SEED, MAX_STEPS, BadValue

__all__ = ["positive_int", "seed_int", "steps_int", "bounded_int", "add_config_options", "config_from_args", "option_name",
           "reworded", "sigterm_as_interrupt", "stop_if_interrupted", "interrupts_deferred"]

# Config fields whose option is not simply --field-name
_OPTION = {"total_steps": "--steps", "seed": "--seeds"}


def option_name(field: str) -> str:
    """The command-line option of a Config field: ``n_envs`` -> ``--n-envs``."""
    return _OPTION.get(field, "--" + field.replace("_", "-"))


def reworded(e: BadValue) -> ValueError:
    """The same error, naming the option instead of the field."""
    return ValueError(e.reworded(option_name(e.field)))


def _integer(s: str, lo: int | None = None, hi: int | None = None) -> int:
    try:
        v = int(s.strip()) if s.isascii() else None  # int() also reads other scripts' digits
    except ValueError:
        v = None
    if v is None or (lo is not None and v < lo) or (hi is not None and v > hi):
        if lo is not None and hi is not None:
            rule = f" in [{lo}, {hi}]"
        else:
            rule = f" >= {lo}" if lo is not None else ""
        raise argparse.ArgumentTypeError(f"expected an integer{rule}, got {s!r}")
    return v


def positive_int(s: str) -> int:
    """argparse type: an integer >= 1."""
    return _integer(s, lo=1)


def seed_int(s: str) -> int:
    """argparse type: a seed, an integer in [0, 2**32 - 1]."""
    return _integer(s, lo=0, hi=MAX_SEED)


def steps_int(s: str) -> int:
    """argparse type: env steps, an integer in [1, 10**12]."""
    return _integer(s, lo=1, hi=MAX_STEPS)


def bounded_int(lo: int, hi: int):
    """argparse type: an integer in [lo, hi] (a bound that keeps memory and time finite)."""
    def parse(s: str) -> int:
        return _integer(s, lo=lo, hi=hi)
    parse.__name__ = "int"
    return parse


def _any_int(s: str) -> int:
    return _integer(s)


def _number(s: str) -> float:
    try:
        return float(s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None


def _bool(s: str) -> bool:
    v = s.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {s!r}")


def _optional(kind):
    def parse(s: str):
        return None if s.strip().lower() in ("none", "") else kind(s)
    return parse


_TYPES = {"bool": _bool, "int": _any_int, "float": _number, "str": str,
          "int | None": _optional(_any_int), "float | None": _optional(_number)}


def add_config_options(p: argparse.ArgumentParser, skip=("total_steps", "seed")) -> None:
    """One option per Config field, with the field's help text and default."""
    from ..config import Config

    for f in dataclasses.fields(Config):
        if f.name in skip:
            continue
        text = f.metadata.get("help", "")
        if "(default:" not in text:  # some help texts say what None means themselves
            text += f" (default: {f.default})"
        p.add_argument(option_name(f.name), dest=f.name, type=_TYPES[str(f.type)], default=None,
                       metavar=f.name.upper(), help=text)


def config_from_args(args, **fixed):
    """The Config the options describe (a preset, then the options given), validated.

    A bad value is reported with its option's name.
    """
    from ..config import Config, preset

    changes = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config)
               if getattr(args, f.name, None) is not None}
    changes.update(fixed)
    try:
        cfg = preset(args.preset, **changes) if getattr(args, "preset", None) else Config(**changes)
        return cfg.validate()
    except BadValue as e:
        raise reworded(e) from None


@contextmanager
def sigterm_as_interrupt():
    """Inside the block SIGTERM raises KeyboardInterrupt, as Ctrl-C does.

    So ``timeout``, a job scheduler or a closed terminal stop a run the same way Ctrl-C
    does: the work done so far is saved. The old handler is restored afterwards.
    """
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def stop_if_interrupted(statuses, what: str = "training") -> None:
    """Raise KeyboardInterrupt if any of ``statuses`` (History statuses) is "interrupted".

    The training loops catch Ctrl-C and SIGTERM and return what they have, each member marked
    "interrupted". A command that writes one result file calls this before writing, so an
    interrupted run exits 130 and leaves the previous (complete) file as it was, instead of
    writing a partial result that looks complete.
    """
    n = sum(s == "interrupted" for s in statuses)
    if n:
        raise KeyboardInterrupt(f"{what} interrupted ({n} member(s) not finished); nothing written")


_DEFERRING: list = []  # not empty inside interrupts_deferred


@contextmanager
def interrupts_deferred():
    """Inside the block Ctrl-C and SIGTERM are held back, and raised as KeyboardInterrupt as
    soon as it ends: for a few quick writes that belong together (a finished seed's History,
    weights and run.json), so that an interrupt cannot keep half of them."""
    import threading

    if _DEFERRING or threading.current_thread() is not threading.main_thread():
        yield   # nested: the outer block holds the signals and raises at its end
        return
    got = []

    def hold(signum, frame):
        got.append(signum)

    old = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    _DEFERRING.append(True)
    try:
        yield
    finally:
        _DEFERRING.pop()
        for s, h in old.items():
            signal.signal(s, h)
    if got:
        raise KeyboardInterrupt(f"signal {got[0]}")
