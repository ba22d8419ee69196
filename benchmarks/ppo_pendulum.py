"""PPO on Pendulum-v1: the engine's ppo-pendulum preset beside SB3's PPO with rl-zoo's settings (gSDE).

Both train rl-zoo's budget (100,000 env steps asked; both take 25 rollouts of 4 x 1024 steps,
102,400 env steps). SB3 runs seed by seed on one torch thread; the engine runs all the seeds as
ONE population (one torch thread), and its seconds per seed are the population's time divided
by the seeds. The table says, per implementation: the seeds whose final return (mean of the last
100 episodes) is at least -200, the median final return, the median seconds per seed and their
ratio to SB3's (acnotes.stored.ppo_pendulum.summarize).

    python benchmarks/ppo_pendulum.py --seeds 4                      # seeds 0-3
    nice -n 10 python benchmarks/ppo_pendulum.py --seeds 50 --json runs/ppo-pendulum.json
    python benchmarks/ppo_pendulum.py --seeds 50 --json acnotes/data/ppo-pendulum.json --lean   # the stored file
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from acnotes._files import out_file  # noqa: E402
from acnotes.stored import ppo_pendulum as pp  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=10, metavar="N", help="seeds 0..N-1 (default 10)")
    p.add_argument("--steps", type=int, default=pp.TOTAL_STEPS, metavar="N", help="env steps per run (default 100000)")
    p.add_argument("--no-peer", action="store_true", help="leave stable-baselines3's PPO out")
    p.add_argument("--no-engine", action="store_true", help="leave the engine's ppo-pendulum preset out")
    p.add_argument("--json", metavar="OUT", help="also write the runs to this JSON file (refused if it exists)")
    p.add_argument("--lean", action="store_true",
                   help="with --json: write each run cut to its last 100 episodes, as acnotes/data/ppo-pendulum.json holds them")
    args = p.parse_args(argv)
    if args.seeds < 1 or args.steps < 1:
        p.error("--seeds and --steps must be at least 1")
    if args.no_peer and args.no_engine:
        p.error("--no-peer with --no-engine leaves nothing to run; drop one")
    if args.lean and not args.json:
        p.error("--lean says how to write --json OUT: give --json too")
    if args.json and Path(args.json).exists():
        p.error(f"--json {args.json} exists; choose another file")
    if args.json:
        try:  # a missing or unwritable folder is said now, not after the runs
            out_file("--json", args.json)
        except ValueError as e:
            p.error(str(e))
    try:
        data = pp.compute(list(range(args.seeds)), args.steps, peer=not args.no_peer, engine=not args.no_engine)
    except ValueError as e:
        p.error(str(e))
    if args.json:
        pp.save(pp.lean(data) if args.lean else data, args.json)
        print(f"wrote {args.json}")
    print(pp.table(data))
    print(json.dumps(pp.summarize(data), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
