"""``python -m acnotes pendulumruns``: train the engine's Gaussian A2C and GAE on Pendulum-v1 over
seeds (acnotes/stored/pendulumruns.py)."""

from __future__ import annotations

__all__ = ["add_cli", "cmd_pendulumruns"]

PRESETS = ("a2c-pendulum", "gae-pendulum")   # acnotes.stored.pendulumruns.PRESETS, without importing torch


def cmd_pendulumruns(args) -> int:
    from ..stored import pendulumruns
    from ._stored import train_and_store

    train_and_store(args.out, args.force,
                    lambda: pendulumruns.compute(args.seeds, args.steps, args.presets, progress=not args.quiet),
                    lambda data: (r["status"] for runs in data["runs"].values() for r in runs), "the Pendulum runs")
    return 0


def add_cli(sub) -> None:
    from ._stored import add_run_args

    p = sub.add_parser("pendulumruns", help="train the engine's a2c-pendulum and gae-pendulum over seeds, as JSON",
                       description="Train the presets a2c-pendulum and gae-pendulum (a Gaussian policy on "
                                   "Pendulum-v1), each as one population of the seeds (see "
                                   "acnotes/stored/pendulumruns.py); notebook 11 reads acnotes/data/pendulum-engine.json.")
    add_run_args(p, steps=500_000, seeds=[0, 1, 2, 3, 4], quiet="no progress bar")
    p.add_argument("--presets", choices=PRESETS, nargs="+", default=list(PRESETS), help="presets (default both)")
    p.set_defaults(func=cmd_pendulumruns)
