"""Why does Q Actor-Critic fall back on CartPole? Three variants that differ in one thing each.

The ``qac`` preset climbs and then falls back on most seeds (benchmarks/README.md). Two
readings: the critic's errors, or the common part V(s_t) that Psi_t = Q_w(s_t, a_t) carries.
This script trains, with the ``qac`` preset's settings and seeds, one population per variant:

    qac           Psi_t = Q_w(s_t, a_t)                                   (the preset)
    qac_baseline  Psi_t = Q_w(s_t, a_t) - sum_a pi(a|s_t) Q_w(s_t, a)    (same critic, its own
                  policy average subtracted: a baseline, so the same expected gradient)
    qac_target    Psi_t = Q_w(s_t, a_t), the critic's TD target computed with a slowly moving
                  copy of Q_w (Polyak averaging, tau = --tau per update), as DQN/DDPG-style
                  critics use: a steadier critic, the same Psi_t

If the baseline makes the runs solve and the target copy does not, the common part is what
the actor follows, not the critic's moving target. ``qac_baseline`` and ``qac_target`` are
experiments, not algorithms of the package: the first is registered as an estimator by
``main`` only; the second patches the training loop for the duration of its run.

    python benchmarks/qac_baseline.py --seeds 0-49 --variants qac,qac_baseline
    python benchmarks/qac_baseline.py --seeds 0-9 --variants qac_target --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from acnotes import estimators as E  # noqa: E402
from acnotes import optim, train as T  # noqa: E402
from acnotes.models import Population  # noqa: E402

THRESHOLD = 475.0
VARIANTS = ("qac", "qac_baseline", "qac_target")


def qac_baseline(b, vals, *, gamma):
    """Q-AC's Psi_t minus the critic's own average over the policy's actions; Q's target as in qac."""
    psi, target = E.get("qac").compute(b, vals, gamma=gamma)
    return psi - vals.v, target


@contextlib.contextmanager
def polyak_target(tau: float):
    """While active, a Q critic's V(s_{t+1}) in the TD target comes from a copy of the network
    that follows it by ``copy <- (1 - tau) copy + tau net`` after every update."""
    state = {}
    stack, step, values = Population.stack.__func__, optim.PopulationOptimizer.step, E.values

    def stack_with_copy(cls, nets):
        pop = stack(cls, nets)
        state["pop"], state["copy"] = pop, stack(cls, nets).requires_grad_(False)
        state["forward"] = T._member_major(state["copy"])[0]
        return pop

    def step_and_follow(self, active):
        step(self, active)
        with torch.no_grad():
            for c, p in zip(state["copy"].parameters(), state["pop"].parameters()):
                c.lerp_(p, tau * optim._per_member(active, c).to(c.dtype))

    def values_from_copy(critic, batch, logits_all, crit, detach_next=True):
        vals = values(critic, batch, logits_all, crit, detach_next)
        with torch.no_grad():
            _, q_copy = state["forward"](torch.cat([batch.obs, batch.next_obs[-1:]]))
            vals.v_next = (torch.softmax(logits_all.detach(), -1) * q_copy).sum(-1)[1:]
        return vals

    Population.stack = classmethod(stack_with_copy)
    optim.PopulationOptimizer.step = step_and_follow
    E.values = values_from_copy
    try:
        yield
    finally:
        Population.stack, optim.PopulationOptimizer.step, E.values = classmethod(stack), step, values


def best_mean100(returns: list[float]) -> float:
    if len(returns) < 100:
        return float(np.mean(returns)) if returns else 0.0
    c = np.cumsum(np.concatenate([[0.0], returns]))
    return float(((c[100:] - c[:-100]) / 100).max())


def run_variant(name: str, seeds: list[int], steps: int, tau: float) -> dict:
    algo = "qac" if name == "qac_target" else name
    cfgs = [T.preset("qac", algo=algo, seed=s, total_steps=steps, target_return=THRESHOLD) for s in seeds]
    t0 = time.perf_counter()
    with polyak_target(tau) if name == "qac_target" else contextlib.nullcontext():
        runs = T.train_population(cfgs, progress=False)
    seconds = time.perf_counter() - t0
    members = []
    for c, (_, h) in zip(cfgs, runs):
        r = h.episode_returns
        at = h.solved_at(THRESHOLD)
        members.append(dict(seed=c.seed, status=h.status, solved_at=at[0] if at else None,
                            final=float(np.mean(r[-100:])) if r else 0.0, best=best_mean100(r)))
    return dict(variant=name, seeds=seeds, steps=steps, tau=tau if name == "qac_target" else None,
                seconds=seconds, members=members)


def summary(res: dict) -> str:
    m = res["members"]
    solved = sorted(x["solved_at"] for x in m if x["solved_at"] is not None)
    fell = sum(x["solved_at"] is None and x["final"] < 0.9 * x["best"] for x in m)
    at = f"median {statistics.median(solved) / 1e3:.1f}k, worst {solved[-1] / 1e3:.1f}k" if solved else "-"
    unsolved = [x["final"] for x in m if x["solved_at"] is None]
    rest = f"; unsolved end at {min(unsolved):.0f}-{max(unsolved):.0f}" if unsolved else ""
    return (f"{res['variant']:13s} solved {len(solved)}/{len(m)} within {res['steps'] / 1e3:.0f}k ({at}); "
            f"best mean-100 median {statistics.median(x['best'] for x in m):.0f}; "
            f"{fell} ended >10% below their best{rest}  [{res['seconds']:.0f} s]")


def parse_seeds(text: str) -> list[int]:
    try:
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-"))
            return list(range(lo, hi + 1))
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise SystemExit(f"--seeds: give a range such as 0-9 or a list such as 1,4,7, not {text!r}") from None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0-9", help="a range 0-9 or a list 1,4,7 (default 0-9)")
    ap.add_argument("--steps", type=int, default=300_000, help="env steps per run (default 300000, the preset's cap)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    ap.add_argument("--tau", type=float, default=0.01, help="Polyak step of qac_target's copy (default 0.01)")
    ap.add_argument("--json", type=Path, help="also write every member's result here")
    args = ap.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    bad = [v for v in variants if v not in VARIANTS]
    if bad or not variants:
        ap.error(f"--variants: {bad or 'none given'}; choose from {', '.join(VARIANTS)}")
    if not 0 < args.tau <= 1:
        ap.error(f"--tau must be in (0, 1], got {args.tau}")
    seeds = parse_seeds(args.seeds)
    # registered here, not on import: this script's experiment, not an algorithm of the package
    E.estimator(label="Q-AC + baseline", psi_formula="Q_w(s_t, a_t) - sum_a pi(a|s_t) Q_w(s_t, a)",
                critic="q", uses=("gamma",))(qac_baseline)
    torch.set_num_threads(1)
    results = []
    for v in variants:
        results.append(run_variant(v, seeds, args.steps, args.tau))
        print(summary(results[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
