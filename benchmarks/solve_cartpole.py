"""How fast does each algorithm solve CartPole-v1, next to stable-baselines3's A2C?

"Solved" means the mean return of the last 100 finished episodes first reaches 475.
For every algorithm (its preset from ``acnotes.presets``) and every seed, training runs
until then (or until a step cap) and the env steps and wall seconds it took are recorded.
The peer is stable-baselines3 A2C with the rl-zoo CartPole-v1 hyperparameters
(8 envs, MlpPolicy, ent_coef 0, the rest SB3's A2C defaults: RMSprop, lr 7e-4, n_steps 5,
gamma 0.99), stopped by a callback that applies the same criterion to Monitor's episode
returns. Ours and the peer run interleaved per seed, so machine noise hits both alike, and
everything runs with ``torch.set_num_threads(1)``.

    python benchmarks/solve_cartpole.py                # every algorithm's preset, 5 seeds, with SB3 A2C
    python benchmarks/solve_cartpole.py --algos a2c,tdac --seeds 3 --no-peer --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from acnotes import train as T  # noqa: E402

THRESHOLD = 475.0
WINDOW = 100
# env steps; anything else: DEFAULT_CAP. Where every one of seeds 0-49 solves (benchmarks/README.md):
# the REINFORCEs need the most samples; a2c's slowest seed solves at 655k, tdac's at 350k, gae's at 370k.
CAPS = {"reinforce": 1_000_000, "reinforce_baseline": 1_000_000, "a2c": 700_000, "tdac": 400_000, "gae": 400_000}
DEFAULT_CAP = 300_000
PEER_CAP = 500_000
PEER = "sb3-a2c"
# the default: one preset per algorithm of the series (blog-tdac, the blog's slow setting, is left out)
ALGOS = ("reinforce", "reinforce_baseline", "qac", "a2c", "tdac", "gae")


def run_ours(algo: str, seed: int) -> dict:
    cfg = T.preset(algo, seed=seed, target_return=THRESHOLD,
                   total_steps=CAPS.get(algo, DEFAULT_CAP), threads=1)
    t0, c0 = time.perf_counter(), time.process_time()
    _, hist = T.train(cfg, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    hit = hist.solved_at(THRESHOLD, WINDOW)
    if hit is None:
        return dict(solved=False, steps=hist.total_steps, seconds=wall, cpu=cpu, status=hist.status)
    return dict(solved=True, steps=int(hit[0]), seconds=wall, cpu=cpu, status=hist.status)


def run_peer(seed: int) -> dict:
    from stable_baselines3 import A2C
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class SolvedStop(BaseCallback):
        """Stop once the mean return of the last 100 finished episodes reaches 475."""

        def __init__(self):
            super().__init__()
            self.returns: list[float] = []
            self.solved_at: int | None = None

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                ep = info.get("episode")
                if ep is not None:
                    self.returns.append(float(ep["r"]))
            if len(self.returns) >= WINDOW and np.mean(self.returns[-WINDOW:]) >= THRESHOLD:
                self.solved_at = int(self.num_timesteps)
                return False
            return True

    t0, c0 = time.perf_counter(), time.process_time()
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = A2C("MlpPolicy", env, ent_coef=0.0, seed=seed, device="cpu", verbose=0)
    cb = SolvedStop()
    model.learn(total_timesteps=PEER_CAP, callback=cb)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    env.close()
    if cb.solved_at is None:
        return dict(solved=False, steps=int(model.num_timesteps), seconds=wall, cpu=cpu, status="done")
    return dict(solved=True, steps=cb.solved_at, seconds=wall, cpu=cpu, status="target reached")


def summarize(runs: list[dict]) -> dict:
    """Medians over all seeds; an unsolved run counts with the steps/seconds it used (so a
    median that includes one is a lower bound and is marked)."""
    return dict(
        solved=sum(r["solved"] for r in runs),
        n=len(runs),
        median_steps=statistics.median(r["steps"] for r in runs),
        median_seconds=statistics.median(r["seconds"] for r in runs),
        median_cpu=statistics.median(r.get("cpu", r["seconds"]) for r in runs),
    )


def fmt_run(r: dict) -> str:
    mark = "" if r["solved"] else "*"
    return f"{r['steps'] / 1000:.0f}k/{r['seconds']:.1f}s{mark}"


def print_table(results: dict[str, list[dict]], seeds: list[int]) -> dict:
    summ = {name: summarize(runs) for name, runs in results.items() if runs}
    peer = summ.get(PEER)
    head = ["algorithm"] + [f"seed {s}" for s in seeds] + ["solved", "median steps", "median s",
                                                           "time vs SB3", "CPU time vs SB3", "steps vs SB3"]
    rows = []
    for name, runs in results.items():
        if not runs:
            continue
        s = summ[name]
        partial = "*" if s["solved"] < s["n"] else ""
        row = [name] + [fmt_run(r) for r in runs]
        row += [f"{s['solved']}/{s['n']}", f"{s['median_steps'] / 1000:.1f}k{partial}",
                f"{s['median_seconds']:.1f}{partial}"]
        if peer:
            s["time_ratio"] = s["median_seconds"] / peer["median_seconds"]
            s["cpu_ratio"] = s["median_cpu"] / peer["median_cpu"]
            s["steps_ratio"] = s["median_steps"] / peer["median_steps"]
            row += [f"{s['time_ratio']:.3f}", f"{s['cpu_ratio']:.3f}", f"{s['steps_ratio']:.2f}"]
        else:
            row += ["-", "-", "-"]
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    print()
    print(line(head))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    print()
    print(f"per seed: env steps when the mean of the last {WINDOW} episodes first reached "
          f"{THRESHOLD:g} / wall seconds of the whole run (setup included).")
    print("* = not solved within the cap (steps/seconds used so far; medians marked * include such runs).")
    if peer:
        print("ratios: median of the algorithm / median of SB3 A2C in this run (lower is better); CPU time: "
              "the process's CPU seconds (time.process_time), which other processes disturb much less.")
    return summ


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algos", default=",".join(ALGOS),
                   help=f"comma-separated presets of acnotes.presets (default: every algorithm, "
                        f"{','.join(ALGOS)}; blog-tdac also exists); '' runs the peer only")
    p.add_argument("--seeds", default="5",
                   help="a count N (seeds 0..N-1) or a comma-separated list, e.g. 0,3 (default: 5)")
    p.add_argument("--no-peer", action="store_true", help="skip stable-baselines3 A2C")
    p.add_argument("--json", metavar="OUT", help="also write every run and the summary to this JSON file")
    args = p.parse_args(argv)

    from acnotes.presets import PRESETS
    algos = [a.strip() for a in args.algos.split(",") if a.strip()]
    for a in algos:
        if a not in PRESETS:
            p.error(f"unknown preset {a!r}; valid: {', '.join(PRESETS)}")
    seeds = (list(range(int(args.seeds))) if "," not in args.seeds and args.seeds.strip().isdigit()
             else [int(s) for s in args.seeds.split(",") if s.strip()])

    torch.set_num_threads(1)
    peer = not args.no_peer
    if peer:
        try:
            import stable_baselines3  # noqa: F401
        except ImportError:
            print("stable-baselines3 is not installed: the SB3 A2C peer is skipped "
                  "(pip install 'acnotes[bench]' to include it).")
            peer = False
    print(f"CartPole-v1, solved = mean of the last {WINDOW} episodes >= {THRESHOLD:g}; "
          f"seeds {seeds}; torch.set_num_threads(1) for ours and SB3 "
          f"(torch {torch.__version__}).")
    print("caps (env steps): " + ", ".join(f"{a} {CAPS.get(a, DEFAULT_CAP) // 1000}k" for a in algos)
          + (f", {PEER} {PEER_CAP // 1000}k" if peer else ""))
    for a in algos:
        print(f"  {a}: {PRESETS[a]}")

    results: dict[str, list[dict]] = {}
    if peer:
        results[PEER] = []
    for a in algos:
        results[a] = []
    for seed in seeds:  # interleaved: one seed of everything, then the next
        if peer:
            r = run_peer(seed)
            results[PEER].append(dict(r, seed=seed))
            print(f"seed {seed} {PEER:>10}: {fmt_run(r)}", flush=True)
        for a in algos:
            r = run_ours(a, seed)
            results[a].append(dict(r, seed=seed))
            print(f"seed {seed} {a:>10}: {fmt_run(r)}  ({r['status']})", flush=True)

    summ = print_table(results, seeds)
    if args.json:
        Path(args.json).write_text(json.dumps(dict(
            threshold=THRESHOLD, window=WINDOW, seeds=seeds, threads=1,
            presets={a: PRESETS[a] for a in algos}, runs=results, summary=summ), indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
