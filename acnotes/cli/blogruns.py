"""``python -m acnotes blogruns``: train the blog post's settings over seeds (acnotes/stored/blogruns.py)."""

from __future__ import annotations

__all__ = ["add_cli", "cmd_blogruns"]

LOSSES = ("smooth_l1", "mse")   # acnotes.stored.blogruns.LOSSES, named here without importing torch


def cmd_blogruns(args) -> int:
    from ..stored import blogruns
    from ._stored import train_and_store

    train_and_store(args.out, args.force, lambda: blogruns.compute(args.seeds, args.steps, args.loss,
                                                                   progress=not args.quiet),
                    lambda data: (r["status"] for runs in data["runs"].values() for r in runs), "the blog runs")
    return 0


def add_cli(sub) -> None:
    from ._stored import add_run_args

    p = sub.add_parser("blogruns", help="train the blog post's TD-AC settings over seeds, as JSON",
                       description="Train the blog-tdac preset for each seed, with its smooth-L1 critic loss and "
                                   "with a squared error (see acnotes/stored/blogruns.py); notebook 10 reads "
                                   "acnotes/data/blog-tdac.json.")
    add_run_args(p, steps=100_000, seeds=[0, 1, 2, 3, 4], quiet="no progress bar")
    p.add_argument("--loss", choices=LOSSES, nargs="+", default=list(LOSSES), help="critic losses (default both)")
    p.set_defaults(func=cmd_blogruns)
