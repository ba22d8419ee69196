"""Sweep throughput: the same spec in this process and as Ray tasks on a local Ray instance.

    python benchmarks/sweep_speed.py                       # a2c, 40 seeds, chunks of 10, 50k steps, 2 CPUs, 3 rounds
    python benchmarks/sweep_speed.py --seeds 0-19 --chunk-size 5 --steps 20000 --cpus 4 --rounds 1

Prints the agent env steps per second of each backend (every member runs its full budget, no
early stop, so both do the same work), their ratio, and Ray's start-up time, which is not
counted in its throughput. The two backends take turns (in-process, Ray, in-process, ...) for
``--rounds`` rounds, so that load from other processes hits both; the ratio is that of the
median times. The last line is ``ray/in-process throughput ratio: R``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from acnotes import sweep


def timed(spec, backend, chunk_size, pool=None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        res = sweep.run_sweep(spec, out, chunk_size=chunk_size, backend=backend, pool=pool)
        secs = time.perf_counter() - t0
    if res.failed or res.interrupted:
        raise SystemExit(f"{backend}: the sweep did not finish ({res.failed or 'interrupted'})")
    return secs, sum(r["env_steps"] for r in res.rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--algo", default="a2c", help="preset or algorithm (default: a2c)")
    p.add_argument("--seeds", default="0-39", help="seeds, e.g. 0-39 (default)")
    p.add_argument("--chunk-size", type=int, default=10, help="members per chunk (default: 10)")
    p.add_argument("--steps", type=int, default=50_000, help="env steps per member (default: 50000)")
    p.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance (default: 2)")
    p.add_argument("--rounds", type=int, default=3, help="turns of each backend; the median counts (default: 3)")
    a = p.parse_args()
    if a.rounds < 1:
        p.error("--rounds must be >= 1")
    if not sweep.ray_available():
        raise SystemExit("Ray is not installed: pip install 'acnotes[cluster]'")
    spec = sweep.Spec.build(algos=[a.algo], seeds=a.seeds, fixed={"total_steps": a.steps})
    n = len(spec.members())
    chunks = len(sweep.plan(spec, a.chunk_size))
    print(f"{n} members of {a.algo}, {a.steps} env steps each, {chunks} chunks of <= {a.chunk_size}")

    pool = sweep.RayPool(num_cpus=a.cpus)
    local, ray = [], []
    try:
        for r in range(a.rounds):
            secs_local, steps = timed(spec, "local", a.chunk_size)
            secs_ray, steps_ray = timed(spec, "ray", a.chunk_size, pool)
            if steps_ray != steps:
                raise SystemExit(f"the backends did different work: {steps} and {steps_ray} env steps")
            local.append(secs_local)
            ray.append(secs_ray)
            print(f"round {r + 1}: in-process {secs_local:6.1f} s, ray {secs_ray:6.1f} s")
    finally:
        pool.close()
    secs_local, secs_ray = statistics.median(local), statistics.median(ray)
    print(f"in-process:        {secs_local:6.1f} s  {steps / secs_local:10,.0f} agent env steps/s  (median of {a.rounds})")
    print(f"ray ({a.cpus} CPUs):      {secs_ray:6.1f} s  {steps / secs_ray:10,.0f} agent env steps/s"
          f"  (start-up {pool.started:.1f} s, not counted)")
    print(f"ray/in-process throughput ratio: {secs_local / secs_ray:.2f}")


if __name__ == "__main__":
    main()
