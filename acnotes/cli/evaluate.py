"""``python -m acnotes evaluate DIR``: play episodes with saved agents, print the mean return.

DIR is one agent (``config.json`` + ``weights.pt``) or a ``train --out`` directory, whose
``run.json`` says which ``agent-seed*/`` belong to the run.
"""

from __future__ import annotations

import json
from pathlib import Path

from .._validate import MAX_EPISODES
from ._common import bounded_int, seed_int


def _agent_dirs(d: Path) -> list[Path]:
    if (d / "config.json").exists() or (d / "weights.pt").exists():
        return [d]
    if (d / "run.json").is_file():
        try:
            seeds = json.loads((d / "run.json").read_text())["seeds"]
            subs = [d / f"agent-seed{int(s)}" for s in seeds]
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise ValueError(f"{d / 'run.json'} cannot be read as a run ({type(e).__name__}: {e})") from None
        subs = [p for p in subs if p.is_dir()]
    else:
        subs = sorted(p for p in d.glob("agent-seed*") if p.is_dir()) if d.is_dir() else []
    if not subs:
        raise ValueError(f"{d} holds no saved agent (expected config.json and weights.pt, "
                         f"or agent-seed*/ folders written by `python -m acnotes train`)")
    return subs


def cmd_evaluate(args) -> int:
    import numpy as np

    from ..agent import Agent

    for sub in _agent_dirs(Path(args.dir)):
        agent = Agent.load(sub)
        try:
            r = agent.evaluate(args.episodes, seed=args.seed, greedy=not args.sample)
        except ValueError as e:
            raise ValueError(f"{sub}: {e}") from None
        print(f"{sub}: mean return {np.mean(r):.1f} +- {np.std(r):.1f} (std) over {len(r)} episodes"
              f" ({'sampled' if args.sample else 'greedy'} actions, seed {args.seed})")
    return 0


def add_cli(sub) -> None:
    e = sub.add_parser("evaluate", help="play episodes with a saved agent and print the mean return",
                       description="Load the agent(s) in DIR and print the mean and std of the return.")
    e.add_argument("dir", metavar="DIR", help="an agent directory, or a train --out directory")
    e.add_argument("--episodes", type=bounded_int(1, MAX_EPISODES), default=20, metavar="N",
                   help=f"episodes to play, at most {MAX_EPISODES:,}, 32 at a time (default: 20)")
    e.add_argument("--seed", type=seed_int, default=0, metavar="S", help="seed of the episodes, in [0, 2**32 - 1] (default: 0)")
    e.add_argument("--sample", action="store_true", help="sample actions from the policy instead of the greedy action")
    e.set_defaults(func=cmd_evaluate)


__all__ = ["add_cli", "cmd_evaluate"]
