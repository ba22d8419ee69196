"""How close is the engine to the time of its arithmetic alone?

For a preset trained as a population of K members (default: a2c and tdac, K = 5, 20k env
steps each, one torch thread), this times in one process, interleaved over rounds, CPU
seconds of the process (``time.process_time``: other processes on a shared machine disturb
them much less than wall seconds):

* ``train``: ``train_population`` itself;
* ``nets``: only the networks' arithmetic of that same run, update by update with the
  batch sizes the run had (read from its History): per env step the actor's layers on
  [K, N, 4] (``Population.layers``, what acting computes); per update the critic's layers on
  the [K, (T+1)*N, 4] batch, the backward of both sides written out (``models.backprop``, from
  a given output gradient) and Adam's update of the two parameter tensors. No estimator, no
  sampling, no reshapes, no checks, no bookkeeping;
* ``env``: only ``CartPoles.step`` with fixed actions, for the same number of steps.

``nets + env`` is a floor for any engine that computes these numbers with these kernels
(torch's batched products and sigmoid on stacked nets, a numpy CartPole);
``train - nets - env`` is the overhead. ``floor_seconds`` is also what
``benchmarks/panel_live.py --floor`` prints per panel.

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
from acnotes.models import Population, backprop  # noqa: E402
from acnotes.optim import PopulationOptimizer  # noqa: E402


def rollout_lengths(cfg, hists) -> list[int]:
    """The steps per env of each update of the run (the longest member's), from its Histories."""
    longest = max(hists, key=lambda h: len(h.steps))
    steps = [0] + list(longest.steps)
    return [max(1, (b - a) // cfg.n_envs) for a, b in zip(steps, steps[1:])]


def time_train(cfgs):
    t = time.process_time()
    runs = T.train_population(cfgs, progress=False)
    return time.process_time() - t, [h for _, h in runs]


def time_nets(cfgs, lengths: list[int]) -> float:
    c, K = cfgs[0], len(cfgs)
    pop = Population.stack([make_agent(x) for x in cfgs])
    opt = PopulationOptimizer(list(pop.parameters()), pop.is_actor, torch.full((K,), 1e-9), torch.full((K,), 1e-9))
    N, act = c.n_envs, pop.template["activation"]
    obs_step = torch.randn(K, N, 4)
    batches = {n: (torch.randn(K, n * N, 4), torch.randn(K, (n + 1) * N, 4)) for n in set(lengths)}
    on = torch.ones(K, dtype=torch.bool)
    t = time.process_time()
    with torch.no_grad():
        for n in lengths:
            for _ in range(n):
                pop.layers("actor", obs_step)
            xa, la = pop.layers("actor", batches[n][0])    # stands for the kept layers (not timed apart)
            pop.actor.grad = backprop(xa, pop.side_weights("actor"), la, act)
            if pop.critic is not None:
                xc, vc = pop.layers("critic", batches[n][1])
                pop.critic.grad = backprop(xc, pop.side_weights("critic"), vc, act)
            opt.step(on)
    spent = time.process_time() - t
    # the actor's layers on the batch were computed once more than the engine does: take them out
    t = time.process_time()
    with torch.no_grad():
        for n in lengths:
            pop.layers("actor", batches[n][0])
    return spent - (time.process_time() - t)


def time_env(cfgs, lengths: list[int]) -> float:
    c, K = cfgs[0], len(cfgs)
    env = CartPoles(K, c.n_envs)
    env.reset(seed=[x.seed for x in cfgs])
    acts = np.tile(np.array([0, 1]), K * c.n_envs // 2 + 1)[:K * c.n_envs]
    t = time.process_time()
    for _ in range(sum(lengths)):
        env.step(acts)
    return time.process_time() - t


def floor_seconds(cfgs, hists) -> tuple[float, float]:
    """``(nets, env)`` CPU seconds of the arithmetic of the run that gave ``hists``."""
    lengths = rollout_lengths(cfgs[0], hists)
    return time_nets(cfgs, lengths), time_env(cfgs, lengths)


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
            sec, hists = time_train(cfgs)
            nets, env = floor_seconds(cfgs, hists)
            for k, v in (("train", sec), ("nets", nets), ("env", env)):
                res[k].append(v)
        med = {k: statistics.median(v) for k, v in res.items()}
        floor = med["nets"] + med["env"]
        print(f"{algo} x{args.members}, {args.steps} env steps each (median of {args.rounds}, CPU s): "
              f"train {med['train']:.2f} s, nets alone {med['nets']:.2f} s, env alone {med['env']:.2f} s; "
              f"floor (nets + env) / train = {floor / med['train']:.2f}")


if __name__ == "__main__":
    main()
