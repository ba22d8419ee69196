"""How close is the engine to the time of its arithmetic alone?

For a preset trained as a population of K members (default: a2c and tdac, K = 5, 20k env
steps each, one torch thread), this times in one process, interleaved over rounds:

* ``train``: ``train_population`` itself;
* ``nets``: only the networks' arithmetic of the same run: per update the loss's forward on
  the same [K, (T+1)*N, 4] batch (``Population.forward``), a backward from a plain sum of its
  outputs, and Adam's foreach update; per env step the acting forward on [K, N, 4]
  (``Population.logits``) under ``inference_mode``. No estimator, no sampling, no checks;
* ``env``: only ``CartPoles.step`` with fixed actions, for the same number of env steps.

``nets + env`` is a floor for what any engine computing these numbers in this way (torch
ops on stacked nets, a numpy CartPole) can reach; ``train - nets - env`` is the overhead.

    python benchmarks/engine_floor.py
    python benchmarks/engine_floor.py --algos gae --members 5 --steps 30000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, os.environ.get("ACNOTES_SRC", str(Path(__file__).resolve().parents[1])))

from acnotes import train as T  # noqa: E402
from acnotes.agent import make_agent  # noqa: E402
from acnotes.cartpole import CartPoles  # noqa: E402
from acnotes.models import Population  # noqa: E402
from acnotes.optim import PopulationOptimizer  # noqa: E402


def time_train(cfgs) -> float:
    t = time.perf_counter()
    T.train_population(cfgs, progress=False)
    return time.perf_counter() - t


def time_nets(cfgs) -> float:
    c, K = cfgs[0], len(cfgs)
    pop = Population.stack([make_agent(x) for x in cfgs])
    params = list(pop.parameters())
    opt = PopulationOptimizer(params, pop.is_actor, torch.full((K,), c.lr), torch.full((K,), c.lr))
    N, Tn = c.n_envs, c.n_steps
    steps = -(-c.total_steps // N)                  # env steps per member
    updates = -(-steps // Tn)
    obs_step = torch.randn(K, N, 4)
    obs_batch = torch.randn(K, (Tn + 1) * N, 4)
    t = time.perf_counter()
    for _ in range(updates):
        for _ in range(Tn):
            with torch.inference_mode():
                pop.logits(obs_step)
        logits, crit = pop(obs_batch)
        loss = logits.sum() + (0 if crit is None else crit.sum())
        opt.zero_grad()
        loss.backward()
        opt.step(torch.ones(K, dtype=torch.bool))
    return time.perf_counter() - t


def time_env(cfgs) -> float:
    c, K = cfgs[0], len(cfgs)
    env = CartPoles(K, c.n_envs)
    env.reset(seed=[x.seed for x in cfgs])
    steps = -(-c.total_steps // c.n_envs)
    acts = np.tile(np.array([0, 1]), K * c.n_envs // 2 + 1)[:K * c.n_envs]
    t = time.perf_counter()
    for _ in range(steps):
        env.step(acts)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--algos", default="a2c,tdac")
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for algo in args.algos.split(","):
        cfgs = [T.preset(algo, seed=s, total_steps=args.steps) for s in range(args.members)]
        T.train_population([x.replace(total_steps=1000) for x in cfgs], progress=False)   # warm up
        res = {"train": [], "nets": [], "env": []}
        for _ in range(args.rounds):
            res["train"].append(time_train(cfgs))
            res["nets"].append(time_nets(cfgs))
            res["env"].append(time_env(cfgs))
        med = {k: statistics.median(v) for k, v in res.items()}
        floor = med["nets"] + med["env"]
        print(f"{algo} x{args.members}, {args.steps} env steps each (median of {args.rounds}): "
              f"train {med['train']:.2f} s, nets alone {med['nets']:.2f} s, env alone {med['env']:.2f} s; "
              f"floor (nets + env) / train = {floor / med['train']:.2f}")


if __name__ == "__main__":
    main()
