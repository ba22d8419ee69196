"""The per-env-step path: CPU seconds of short runs, or where they go (cProfile).

Five settings, 20k env steps each (per member), one torch thread, no target return:
``gae`` (a single run, 8 envs: acting and the env dominate), ``a2c`` (a population of 5
members, seeds 0-4, 32 envs each), ``reinforce`` (a single run of whole episodes),
``a2c-single`` (one ``a2c`` run, 32 envs) and ``tdac`` (a population of 5, 32 envs each).

    python benchmarks/per_step.py                       # CPU seconds, each setting 3 times
    python benchmarks/per_step.py --profile gae         # cProfile (CPU clock), top 25 by own time
    python benchmarks/per_step.py --phases a2c-single   # cProfile (CPU clock), seconds per phase
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

SETTINGS = {"gae": ("gae", 1), "a2c": ("a2c", 5), "reinforce": ("reinforce", 1),
            "a2c-single": ("a2c", 1), "tdac": ("tdac", 5)}
# phase -> the functions (file name, function name) whose cumulative CPU time it counts
PHASES = {
    "act (policy forward + sampling)": [("rollout.py", "_act")],
    "env step (CartPoles.step)": [("cartpole.py", "step")],
    "collector bookkeeping (steps/episodes without act and env)": [("rollout.py", "steps"),
                                                                    ("rollout.py", "episodes")],
    "loss (forward + estimators)": [("train.py", "step_terms"), ("train.py", "losses")],
    "backward": [("backprop.py", "backward"), ("_tensor.py", "backward")],
    "clip per member (norms + scaling)": [("train.py", "clip_per_member")],
    "optimizer (zero_grad + step)": [("optim.py", "step"), ("optim.py", "zero_grad")],
    "checks + logging": [("members.py", "after_update"), ("members.py", "stop_if_not_finite"),
                         ("members.py", "only_active")],
}
STEPS = 20_000


def run(name: str) -> None:
    preset, members = SETTINGS[name]
    cfg = Config(**PRESETS[preset]).replace(total_steps=STEPS, target_return=None, threads=1)
    train_population([cfg.replace(seed=s) for s in range(members)], progress=False)


def phases(name: str) -> None:
    """Seconds (CPU, under cProfile) per phase of one run of setting ``name``, after one run
    unprofiled (imports and first-use costs are left out)."""
    run(name)
    prof = cProfile.Profile(time.process_time)
    prof.runcall(run, name)
    stats = pstats.Stats(prof).stats
    total = max(ct for (_, _, fn), (_, _, _, ct, _) in stats.items() if fn == "run")

    def cum(file: str, fn: str) -> float:
        return sum(v[3] for (f, _, n), v in stats.items() if n == fn and Path(f).name == file)

    got = {phase: sum(cum(f, n) for f, n in funcs) for phase, funcs in PHASES.items()}
    got["collector bookkeeping (steps/episodes without act and env)"] -= \
        got["act (policy forward + sampling)"] + got["env step (CartPoles.step)"]
    got["other (setup, loss sum, loop)"] = total - sum(got.values())
    for phase, sec in got.items():
        print(f"{phase:60s} {sec:6.3f} ({100 * sec / total:3.0f}%)")
    print(f"{'total (CPU s under cProfile)':60s} {total:6.3f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(SETTINGS), help="profile one setting instead of timing")
    parser.add_argument("--phases", choices=sorted(SETTINGS), help="seconds per phase of one setting, under cProfile")
    parser.add_argument("--repeats", type=int, default=3, help="runs per setting (default 3)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    torch.set_num_threads(1)
    if args.phases:
        phases(args.phases)
        return
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
