"""How much faster is a population than the same runs one after another?

Three measurements, each printed as a table:

1. 10 seeds of the ``a2c`` preset to 100k env steps: one population of 10 against 10
   sequential single runs, both on one torch thread, interleaved (population, sequential,
   population, ...) so that load from other processes hits both sides alike. The ratio of
   the medians is the figure that counts.
2. A gamma x lr grid (5 x 5) x 3 seeds = 75 members of ``a2c`` to 100k env steps, as one
   population on 2 threads: the wall time of a sensitivity map.
3. How time and memory grow with K (1, 2, 5, 10, 25, 75 members, 20k env steps each):
   seconds, seconds per member, and peak memory per member, each K in a fresh process.

    python benchmarks/population.py            # everything (a few minutes)
    python benchmarks/population.py --quick    # smaller budgets, to check that it runs

The last line is ``population/sequential time ratio: R`` for the first measurement.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from acnotes import train as T  # noqa: E402

GAMMAS = (0.9, 0.95, 0.98, 0.99, 0.999)
LRS = (3.2e-4, 8e-4, 2e-3, 5e-3, 1.25e-2)


def timed(fn, cpu: list | None = None):
    """Wall seconds and result of ``fn()``; its CPU seconds (``time.process_time``) are
    appended to ``cpu`` if given."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    if cpu is not None:
        cpu.append(time.process_time() - c0)
    return time.perf_counter() - t0, out


def population_vs_sequential(steps: int, seeds: int, rounds: int) -> dict:
    cfgs = [T.preset("a2c", seed=s, total_steps=steps, threads=1) for s in range(seeds)]
    pop_t, seq_t, pop_c, seq_c = [], [], [], []
    for _ in range(rounds):
        t, pop = timed(lambda: T.train_population(cfgs, progress=False), pop_c)
        pop_t.append(t)
        t, seq = timed(lambda: [T.train(c, progress=False) for c in cfgs], seq_c)
        seq_t.append(t)
    def agree(a, b):  # episodes until the first return that differs
        n = min(len(a), len(b))
        return next((i for i in range(n) if a[i] != b[i]), n)

    same = min(agree(p[1].episode_returns, s[1].episode_returns) for p, s in zip(pop, seq))
    return dict(population=statistics.median(pop_t), sequential=statistics.median(seq_t),
                population_cpu=statistics.median(pop_c), sequential_cpu=statistics.median(seq_c),
                same_episodes=same, rounds=rounds)


def grid(steps: int, threads: int) -> dict:
    cfgs = [T.preset("a2c", gamma=g, lr=lr, seed=s, total_steps=steps, threads=threads)
            for g in GAMMAS for lr in LRS for s in range(3)]
    t, runs = timed(lambda: T.train_population(cfgs, progress=False))
    solved = sum(h.solved_at() is not None for _, h in runs)
    return dict(members=len(cfgs), seconds=t, solved=solved)


def _one_k(K: int, steps: int) -> dict:
    """Run in a child process: time and peak RSS of a population of K."""
    cfgs = [T.preset("a2c", seed=s, total_steps=steps, threads=1) for s in range(K)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t, _ = timed(lambda: T.train_population(cfgs, progress=False))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return dict(K=K, seconds=t, peak_mib=peak / 1024, added_mib=(peak - before) / 1024,
                estimate_mib=T.memory_estimate(cfgs) / 2**20)


def scaling(ks, steps: int) -> list[dict]:
    rows = []
    for K in ks:
        out = subprocess.run([sys.executable, __file__, "--child", str(K), "--steps", str(steps)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small budgets: check that it runs")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=20_000, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        torch.set_num_threads(1)
        print(json.dumps(_one_k(args.child, args.steps)))
        return 0
    steps = 10_000 if args.quick else 100_000
    ks = (1, 2, 5) if args.quick else (1, 2, 5, 10, 25, 75)

    print("## scaling with K (a2c preset, 20k env steps per member, 1 thread, one process per K)")
    print(f"{'K':>4} {'seconds':>8} {'s/member':>9} {'peak MiB':>9} {'MiB/member':>11} {'estimate MiB/member':>20}")
    for r in scaling(ks, 2_000 if args.quick else 20_000):
        print(f"{r['K']:>4} {r['seconds']:>8.2f} {r['seconds'] / r['K']:>9.3f} {r['peak_mib']:>9.0f} "
              f"{r['added_mib'] / r['K']:>11.2f} {r['estimate_mib'] / r['K']:>20.2f}")

    torch.set_num_threads(2)
    g = grid(steps, threads=2)
    print(f"\n## 5 x 5 gamma x lr grid x 3 seeds, a2c, {steps // 1000}k env steps, 2 threads")
    print(f"{g['members']} members in {g['seconds']:.1f} s ({g['solved']} reached 475 over 100 episodes)")

    torch.set_num_threads(1)
    r = population_vs_sequential(steps, 10, 1 if args.quick else 2)
    print(f"\n## 10 seeds of a2c to {steps // 1000}k env steps, 1 thread (median of {r['rounds']} interleaved rounds)")
    print(f"population {r['population']:.1f} s, sequential {r['sequential']:.1f} s; every member had the "
          f"episode returns of its single run for the first {r['same_episodes']} episodes at least")
    print(f"CPU seconds: population {r['population_cpu']:.1f} s, sequential {r['sequential_cpu']:.1f} s; "
          f"population/sequential CPU time ratio: {r['population_cpu'] / r['sequential_cpu']:.3f}")
    print(f"population/sequential time ratio: {r['population'] / r['sequential']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
