"""Does a change to the engine keep every computed number? Record Histories, then compare.

    python benchmarks/engine_identity.py record /tmp/engine_identity.json    # on the old code
    python benchmarks/engine_identity.py compare /tmp/engine_identity.json   # on the new code

Cases: each preset (reinforce, reinforce_baseline, qac, a2c, tdac, gae, blog-tdac, ppo, a2c-pendulum,
gae-pendulum) as a
single run (seed 0) and as a 5-seed population (seeds 0-4), plus populations that take the
engine's rarer paths: members with different numeric settings, a member that diverges (so
the others train on with a stopped member), a member that reaches its target return, and an
undetached (residual-gradient) critic. Every History field that training computes is compared
exactly (floats by their bits): episode returns, lengths and end steps, update steps, the
three losses, gradient norms, entropies, status and message; and each member's final
parameters. Only the wall-clock field ``time`` is left out. The last line is
``identical: N of N cases`` (or which cases and fields differ).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
import time
import warnings
from pathlib import Path

import torch

# run from a checkout; ACNOTES_SRC=/other/checkout runs another copy of the package (before/after)
sys.path.insert(0, os.environ.get("ACNOTES_SRC", str(Path(__file__).resolve().parents[1])))

from acnotes import train as T  # noqa: E402

PRESETS = ("reinforce", "reinforce_baseline", "qac", "a2c", "tdac", "gae", "blog-tdac", "ppo", "a2c-pendulum",
           "gae-pendulum")
FIELDS = ("episode_returns", "episode_lengths", "episode_steps", "steps", "actor_loss", "critic_loss",
          "grad_norm", "entropy", "status", "message")


def cases(steps: int) -> dict[str, list]:
    out: dict[str, list] = {}
    for name in PRESETS:
        out[f"{name} single seed 0"] = [T.preset(name, seed=0, total_steps=steps)]
        out[f"{name} population seeds 0-4"] = [T.preset(name, seed=s, total_steps=steps) for s in range(5)]
    a2c = T.preset("a2c", total_steps=steps)
    out["a2c mixed gamma/lr/critic_lr/ent/scale"] = [
        a2c.replace(seed=s, gamma=g, lr=lr, critic_lr=clr, ent_coef=ent, reward_scale=rs, max_grad_norm=mg)
        for s, g, lr, clr, ent, rs, mg in [(0, 0.9, 1e-3, 2e-3, 0.0, 1.0, 1.0), (1, 0.99, 2e-3, 4e-3, 0.01, 0.5, None),
                                          (2, 0.95, 5e-3, 1e-2, 0.001, 0.1, 0.5)]]
    out["a2c one member diverges (lr 1e6)"] = [a2c.replace(seed=0), a2c.replace(seed=1, lr=1e6, critic_lr=1e6,
                                                                               max_grad_norm=None)]
    out["tdac target reached (100 episodes >= 20)"] = [T.preset("tdac", seed=s, total_steps=steps, target_return=20.0)
                                                      for s in range(3)]
    out["gae lam mix, rmsprop"] = [T.preset("gae", seed=s, lam=l, optimizer="rmsprop", total_steps=steps)
                                   for s, l in [(0, 0.0), (1, 0.5), (2, 1.0)]]
    out["tdac residual gradient (detach_target=False), mse"] = [
        T.preset("tdac", seed=s, detach_target=False, total_steps=steps) for s in range(2)]
    out["reinforce discount_actor, 3 members"] = [T.preset("reinforce", seed=s, discount_actor=True, total_steps=steps)
                                                 for s in range(3)]
    # minibatches of 85 of 8 x 32 steps: the fourth (one row) is empty for a member with an
    # autoreset step in the rollout, which then skips that step (epochs.py)
    out["ppo batch_size 85 (empty minibatches), 3 members"] = [
        T.preset("ppo", seed=s, batch_size=85, total_steps=steps) for s in range(3)]
    return out


def bits(x):
    """A float as its exact bits (NaN and infinities included); lists and others as they are."""
    if isinstance(x, float):
        return struct.pack("<d", x).hex()
    if isinstance(x, list):
        return [bits(v) for v in x]
    return x


def params_digest(agent) -> str:
    h = hashlib.sha256()
    for name, p in agent.model.named_parameters():
        h.update(name.encode())
        h.update(p.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def run_case(configs) -> list[dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = T.train_population(configs, progress=False)
    rows = []
    for agent, h in out:
        row = {f: bits(getattr(h, f)) for f in FIELDS}
        row["params"] = params_digest(agent)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("record", "compare"))
    ap.add_argument("path")
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--only", default=None, help="run only cases whose name contains this")
    args = ap.parse_args()
    torch.set_num_threads(1)
    todo = {k: v for k, v in cases(args.steps).items() if args.only is None or args.only in k}
    if args.mode == "record":
        data = {}
        for name, cfgs in todo.items():
            t = time.perf_counter()
            data[name] = run_case(cfgs)
            print(f"{name:55s} {len(cfgs)} members, {sum(len(r['episode_returns']) for r in data[name]):5d} "
                  f"episodes, {time.perf_counter() - t:5.1f} s", flush=True)
        Path(args.path).write_text(json.dumps({"steps": args.steps, "cases": data}))
        print(f"recorded {len(data)} cases to {args.path}")
        return
    ref = json.loads(Path(args.path).read_text())
    if ref["steps"] != args.steps:
        sys.exit(f"{args.path} was recorded with --steps {ref['steps']}")
    missing = [name for name in todo if name not in ref["cases"]]
    if missing:   # a record made before a case was added: compare the others and say so
        print(f"not in {args.path} (recorded before these cases existed), not compared: {', '.join(missing)}")
        todo = {k: v for k, v in todo.items() if k in ref["cases"]}
    same, bad = 0, []
    for name, cfgs in todo.items():
        t = time.perf_counter()
        got, want = run_case(cfgs), ref["cases"][name]
        diff = sorted({f for g, w in zip(got, want) for f in w if g[f] != w[f]})
        ok = not diff and len(got) == len(want)
        same += ok
        if not ok:
            bad.append(f"{name}: {', '.join(diff)}")
        print(f"{name:55s} {'identical' if ok else 'DIFFERS in ' + ', '.join(diff)}  "
              f"({time.perf_counter() - t:.1f} s)", flush=True)
    print(f"identical: {same} of {len(todo)} cases" + ("" if not bad else "; differ: " + "; ".join(bad)))


if __name__ == "__main__":
    main()
