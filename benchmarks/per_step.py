"""The per-env-step path: CPU seconds of short runs, or where they go (cProfile).

Three settings, 20k env steps each (per member), one torch thread, no target return:
``gae`` (a single run, 8 envs: acting and the env dominate), ``a2c`` (a population of 5
members, seeds 0-4, 32 envs each) and ``reinforce`` (a single run of whole episodes).

    python benchmarks/per_step.py                       # CPU seconds, each setting 3 times
    python benchmarks/per_step.py --profile gae         # cProfile (CPU clock), top 25 by own time
    ACNOTES_SRC=/tmp/base python benchmarks/per_step.py # time another copy of the package

Run the two copies one after the other, more than once: the ratio of their smallest CPU
seconds is the figure to read on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, os.environ.get("ACNOTES_SRC", str(Path(__file__).resolve().parents[1])))

import torch  # noqa: E402

from acnotes.config import Config  # noqa: E402
from acnotes.presets import PRESETS  # noqa: E402
from acnotes.train import train_population  # noqa: E402

SETTINGS = {"gae": ("gae", 1), "a2c": ("a2c", 5), "reinforce": ("reinforce", 1)}
STEPS = 20_000


def run(name: str) -> None:
    preset, members = SETTINGS[name]
    cfg = Config(**PRESETS[preset]).replace(total_steps=STEPS, target_return=None, threads=1)
    train_population([cfg.replace(seed=s) for s in range(members)], progress=False)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(SETTINGS), help="profile one setting instead of timing")
    parser.add_argument("--repeats", type=int, default=3, help="runs per setting (default 3)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    torch.set_num_threads(1)
    if args.profile:
        prof = cProfile.Profile(time.process_time)
        prof.runcall(run, args.profile)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        return
    for name in SETTINGS:
        seconds = []
        for _ in range(args.repeats):
            start = time.process_time()
            run(name)
            seconds.append(time.process_time() - start)
        print(f"{name:10s} CPU s " + " ".join(f"{s:.3f}" for s in seconds) + f"  min {min(seconds):.3f}")


if __name__ == "__main__":
    main()
