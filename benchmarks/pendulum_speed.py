"""Pendulum-v1 with a Gaussian policy: the engine (autograd path) against the one-file reference.

For each preset (``gae-pendulum``, ``a2c-pendulum``), the CPU seconds of 100k env steps of a
single engine run, of ``acnotes/reference/gaussian_a2c.py`` with the same settings, and of the
engine's 5-seed population (100k env steps per seed), one torch thread.

    python benchmarks/pendulum_speed.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.environ.get("ACNOTES_SRC", str(Path(__file__).resolve().parents[1])))

import torch  # noqa: E402

import acnotes as acn  # noqa: E402
from acnotes.reference import gaussian_a2c  # noqa: E402

STEPS = 100_000


def cpu_seconds(f) -> float:
    t = time.process_time()
    f()
    return time.process_time() - t


def main() -> None:
    torch.set_num_threads(1)
    for name, lam in (("gae-pendulum", 0.9), ("a2c-pendulum", None)):
        single = cpu_seconds(lambda: acn.train.train(acn.train.preset(name, total_steps=STEPS), progress=False))
        ref = cpu_seconds(lambda: gaussian_a2c.train(total_steps=STEPS, seed=0, lam=lam))
        pop = cpu_seconds(lambda: acn.train.train_population(
            [acn.train.preset(name, seed=s, total_steps=STEPS) for s in range(5)], progress=False))
        print(f"{name}: {STEPS:,} env steps, CPU s: engine single {single:.1f}, reference {ref:.1f}, "
              f"engine 5-seed population {pop:.1f} (5 reference runs: {5 * ref:.1f})")


if __name__ == "__main__":
    main()
