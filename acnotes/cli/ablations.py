"""``python -m acnotes ablations``: train notebook 7's two CartPole ablations (acnotes/stored/ablations.py)."""

from __future__ import annotations

__all__ = ["add_cli", "cmd_ablations"]

STUDY_NAMES = ("target", "entropy")   # acnotes.stored.ablations.STUDIES, named here without importing torch


def cmd_ablations(args) -> int:
    from ..stored import ablations
    from ._stored import train_and_store

    train_and_store(args.out, args.force, lambda: ablations.compute(args.studies, progress=False),
                    lambda data: (m["status"] for d in data.values() for run in d["runs"] for m in run["members"]),
                    "the ablations")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("ablations", help="train notebook 7's ablations (the critic's target, the entropy bonus) as JSON",
                       description="Train notebook 7's two CartPole ablations over 10 seeds: TD-AC with the critic's "
                                   "target detached and not, and Q-AC with four entropy bonuses (see "
                                   "acnotes/stored/ablations.py); the notebook reads acnotes/data/ablations.json.")
    p.add_argument("--out", required=True, metavar="FILE", help="the JSON file to write")
    p.add_argument("--studies", nargs="+", default=list(STUDY_NAMES), choices=STUDY_NAMES,
                   help="which ablations (default: both)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(func=cmd_ablations)
