"""The command line: ``python -m acnotes COMMAND --help``.

    python -m acnotes train --algo a2c --gamma 0.99 --lr 1e-3 --seeds 0 1 2 --steps 50000 --out runs/a2c
    python -m acnotes evaluate runs/a2c --episodes 20 --seed 0

Each command lives in a module with ``add_cli(subparsers)`` (see ``COMMANDS``); this file
only builds the parser and turns errors into one-line messages and exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ._files import oserror_text
from .cli._common import sigterm_as_interrupt

# module names whose add_cli(subparsers) registers a command; missing ones are skipped
COMMANDS = ["acnotes.cli.train", "acnotes.cli.evaluate", "acnotes.cli.variance", "acnotes.cli.sensitivity",
            "acnotes.cli.atlas", "acnotes.cli.study", "acnotes.cli.ablations", "acnotes.cli.blogruns",
            "acnotes.cli.centring", "acnotes.cli.pendulum", "acnotes.cli.pendulumruns", "acnotes.cli.pporuns",
            "acnotes.cli.sweep", "acnotes.cli.exercises", "acnotes.cli.gallery", "acnotes.cli.check",
            "acnotes.classroom"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m acnotes", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        if hasattr(mod, "add_cli"):
            mod.add_cli(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit status: its own (0 on success), 2 for bad input, 130 if
    interrupted, 1 for a file system error met while working (a full disk, say) or too
    little memory: each a one-line message, never a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with sigterm_as_interrupt():  # a kill or a timeout keeps what is done, as Ctrl-C does
            return int(args.func(args) or 0)
    except ValueError as e:
        parser.exit(2, f"error: {_one_line(e)}\n")
    except KeyboardInterrupt:
        parser.exit(130, "interrupted\n")
    except OSError as e:  # every write is atomic: what was complete before is still there
        parser.exit(1, f"error: {oserror_text(e)}\n")
    except MemoryError:
        parser.exit(1, "error: out of memory; ask for less (fewer seeds, members, episodes or a smaller network)\n")


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split("\n"))


if __name__ == "__main__":
    sys.exit(main())
