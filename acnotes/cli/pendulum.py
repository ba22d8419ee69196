"""``python -m acnotes pendulum``: train notebook 11's Gaussian A2C on Pendulum-v1 over seeds
(acnotes/stored/pendulum.py)."""

from __future__ import annotations

__all__ = ["add_cli", "cmd_pendulum"]


def cmd_pendulum(args) -> int:
    from ..stored import pendulum
    from ._stored import train_and_store

    train_and_store(args.out, args.force,
                    lambda: pendulum.compute(args.seeds, args.steps, report=None if args.quiet else print),
                    lambda data: (r["status"] for r in data["runs"]), "the Pendulum runs")
    return 0


def add_cli(sub) -> None:
    from ._stored import add_run_args

    p = sub.add_parser("pendulum", help="train notebook 11's Gaussian A2C on Pendulum-v1 over seeds, as JSON",
                       description="Train acnotes/reference/gaussian_a2c.py (GAE(lambda) with a Gaussian policy) "
                                   "on Pendulum-v1 for each seed, one after the other on one thread (see "
                                   "acnotes/stored/pendulum.py); notebook 11 reads "
                                   "acnotes/data/pendulum-gaussian-a2c.json.")
    add_run_args(p, steps=500_000, seeds=[0, 1, 2, 3, 4], quiet="no line per seed")
    p.set_defaults(func=cmd_pendulum)
