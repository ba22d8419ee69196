"""PPO on CartPole-v1: the engine's ppo preset and reference/ppo.py beside SB3's PPO (rl-zoo settings).

All three train 100,000 env steps per seed (rl-zoo's budget for CartPole-v1, over which step size and
clip range fall linearly to 0), interleaved seed by seed on one torch thread. The table says, per
implementation: the seeds whose mean return over 100 episodes reached 475 within the budget, the
median env steps to get there, the median final return (last 100 episodes), the median seconds
of a run and their ratio to SB3's (acnotes.stored.ppo.summarize).

    python benchmarks/ppo_cartpole.py --stored                 # the runs stored for notebook 12
    python benchmarks/ppo_cartpole.py --seeds 3 --json out.json    # new runs, seeds 0-2
    python benchmarks/ppo_cartpole.py --seeds 10 --json runs/ppo-three.json   # the full comparison (about 1 h here)

The engine's runs are single runs (a population of one), interleaved with the others like
them: a population of many seeds would divide its time among them (``--no-engine``: leave them out).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from acnotes._files import out_file  # noqa: E402
from acnotes.stored import ppo  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stored", action="store_true", help="print the table of acnotes/data/ppo-cartpole.json, train nothing")
    p.add_argument("--seeds", type=int, default=len(ppo.SEEDS), metavar="N", help="seeds 0..N-1 (default 10)")
    p.add_argument("--steps", type=int, default=ppo.TOTAL_STEPS, metavar="N", help="env steps per run (default 100000)")
    p.add_argument("--no-peer", action="store_true", help="leave stable-baselines3's PPO out")
    p.add_argument("--no-engine", action="store_true", help="leave the engine's ppo preset out")
    p.add_argument("--json", metavar="OUT", help="also write the runs to this JSON file (refused if it exists)")
    args = p.parse_args(argv)
    if args.seeds < 1 or args.steps < 1:
        p.error("--seeds and --steps must be at least 1")
    if args.json and Path(args.json).exists():
        p.error(f"--json {args.json} exists; choose another file")
    if args.json:
        try:  # a missing or unwritable folder is said now, not after the runs
            out_file("--json", args.json)
        except ValueError as e:
            p.error(str(e))
    if args.stored:
        data = ppo.load()
        print(f"stored runs (acnotes/data/{ppo.FILENAME}): seeds {data['seeds']}, {data['total_steps']:,} env steps each")
    else:
        try:
            data = ppo.compute(list(range(args.seeds)), args.steps, peer=not args.no_peer, engine=not args.no_engine)
        except ValueError as e:
            p.error(str(e))
        if args.json:
            ppo.save(data, args.json)
            print(f"wrote {args.json}")
    print(ppo.table(data))
    print(json.dumps(ppo.summarize(data), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
