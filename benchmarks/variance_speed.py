"""How fast is the variance lab on CartPole?

1. Per-estimate policy gradients: ``torch.func`` (``functional_call`` + ``vmap(grad)``, over
   the K estimates) against K separate backward passes, on the same pool of K*B episodes
   and the same Psi_t (GAE(0.95) with the policy's V head). Both are timed after one
   warm-up call; the two results must agree (``assert_close``).
2. A whole measurement: ``acnotes.variance.measure`` with K estimates for all six
   estimators at one fixed policy, including the collection of the K*B episodes and of the
   reference batch (REINFORCE + baseline over 2*K*B separate episodes).

The policy is a fresh ``ActorCritic`` (64-64 tanh, V head; torch seed 0) with a separate
fresh Q-critic network for Q Actor-Critic (seed 1), or a saved agent (``--agent DIR``).
Everything runs with ``torch.set_num_threads(1)``. Wall and CPU (process) seconds are both
printed: on a shared machine the CPU seconds are the better measure of the code.

    python benchmarks/variance_speed.py
    python benchmarks/variance_speed.py --K 1000 --B 4 --json variance_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from acnotes import estimators as E  # noqa: E402
from acnotes import variance as V  # noqa: E402
from acnotes.models import ActorCritic  # noqa: E402


class Clock:
    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w
        self.cpu = time.process_time() - self.c


def networks(agent_dir: str | None):
    q = None
    if agent_dir:
        from acnotes.train import Agent
        agent = Agent.load(agent_dir)
        policy = agent
        model = agent.model
    else:
        torch.manual_seed(0)
        model = ActorCritic(4, 2, critic="v")
        policy = model
    torch.manual_seed(1)
    q = ActorCritic(4, 2, critic="q")
    return policy, model, q


def per_estimate_speed(model, K: int, B: int, gamma: float) -> dict:
    batch = V.cartpole_pool(model, K, B, seed=0)
    est = E.get("gae")
    v = (lambda o: model(o)[1]) if getattr(model, "critic_kind", None) == "v" else (lambda o: o[..., 0] * 0)
    vals = V.critic_values(est.critic, batch, v=v)
    psi = est.psi(batch, vals, gamma, 0.95, 5)
    out = {}
    for method in ("vmap", "loop"):
        V.cartpole_gradients(model, batch, psi, K, B, gamma, method=method)  # warm-up
        with Clock() as c:
            g = V.cartpole_gradients(model, batch, psi, K, B, gamma, method=method)
        out[method] = dict(wall=c.wall, cpu=c.cpu, grads=g)
    torch.testing.assert_close(out["vmap"]["grads"], out["loop"]["grads"], rtol=1e-4, atol=1e-4)
    return dict(
        K=K, B=B, steps=int(batch.valid.sum()), n_params=int(out["vmap"]["grads"].shape[1]),
        vmap_wall=out["vmap"]["wall"], vmap_cpu=out["vmap"]["cpu"],
        loop_wall=out["loop"]["wall"], loop_cpu=out["loop"]["cpu"],
        speedup_wall=out["loop"]["wall"] / out["vmap"]["wall"],
        speedup_cpu=out["loop"]["cpu"] / out["vmap"]["cpu"],
        max_abs_diff=float((out["vmap"]["grads"] - out["loop"]["grads"]).abs().max()),
    )


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--K", type=int, default=1000, help="estimates per estimator")
    ap.add_argument("--B", type=int, default=4, help="episodes per estimate")
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--agent", default=None, help="a saved agent directory (default: a fresh network)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    policy, model, q = networks(args.agent)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; torch threads 1")

    s = per_estimate_speed(model, args.K, args.B, args.gamma)
    print(f"\n1. per-estimate gradients, K={s['K']} estimates of B={s['B']} episodes "
          f"({s['steps']} steps, {s['n_params']} policy parameters)")
    print(f"   torch.func vmap(grad): {s['vmap_wall']:7.3f} s wall  {s['vmap_cpu']:7.3f} s CPU")
    print(f"   loop of K backward:    {s['loop_wall']:7.3f} s wall  {s['loop_cpu']:7.3f} s CPU")
    print(f"   speed-up:              {s['speedup_wall']:7.1f} x wall  {s['speedup_cpu']:6.1f} x CPU"
          f"   (max |difference| {s['max_abs_diff']:.1e})")

    V.measure(policy, q_critic=q, K=4, B=2, ref_episodes=8, ref_groups=2, gamma=args.gamma)  # warm-up
    with Clock() as c:
        table = V.measure(policy, q_critic=q, K=args.K, B=args.B, gamma=args.gamma)
    m = table.meta
    print(f"\n2. measure(): K={args.K} estimates x {len(table)} estimators, B={args.B}; "
          f"mean episode length {m['mean_episode_length']:.1f}")
    print(f"   total: {c.wall:.2f} s wall, {c.cpu:.2f} s CPU   (target: under 10 s)")
    print(f"   reference ({m['reference']}): {m['reference_seconds']:.2f} s wall "
          f"(collection {m['reference_collect_seconds']:.2f} s); pool collection {m['collect_seconds']:.2f} s")
    for r in table:
        print(f"   {r['estimator']:>18}: {r['seconds']:.2f} s wall   variance {r['variance']:.4g}  "
              f"bias {r['bias']:.4g}  cosine {r['cosine']:.3f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    result = dict(per_estimate=s, measure=dict(wall=c.wall, cpu=c.cpu, meta=m, rows=table.to_dict()["rows"]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    return result


if __name__ == "__main__":
    main()
