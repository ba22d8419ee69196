"""How long does a student wait for a notebook panel's live setting?

A panel (``acn.widgets.learning_panel``) draws its stored settings at once (``acn.atlas``:
every setting one slider move from the default, and every combination of the first two
sliders); any setting that moves a third slider trains live: its seeds (five) as one
population to the panel's ``total_steps``. This trains, for each notebook panel in
``acn.atlas.PANELS`` and each of its algorithms, one such live setting (the first and third
sliders one position up from their defaults; a two-slider panel has no live setting, so
its default setting is timed: what a live one would cost), on one torch thread, and prints
the seconds per algorithm and the panel's slowest (wall seconds; in brackets the process's
CPU seconds, which other processes on a shared machine disturb much less). With
``--repeat R`` each setting is trained R times and the fastest is kept. ``--floor`` also
times the arithmetic alone of each setting's run (``engine_floor.floor_seconds``: the
networks' products and activations, the optimizer, the env step; CPU seconds) and prints the
panel's floor: its slowest setting's. The last line is ``slowest live panel: N s``.

    python benchmarks/panel_live.py                 # every panel (a few minutes)
    python benchmarks/panel_live.py --panels 04,06  # some panels
    python benchmarks/panel_live.py --floor         # and each panel's floor
    ACNOTES_SRC=/tmp/old python benchmarks/panel_live.py   # another copy of the package
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import torch

# run from a checkout; ACNOTES_SRC=/other/checkout times another copy of the package (before/after)
sys.path.insert(0, os.environ.get("ACNOTES_SRC", str(Path(__file__).resolve().parents[1])))

from acnotes.stored import atlas  # noqa: E402
from acnotes import train as T  # noqa: E402


def _up(name: str, cfg) -> float:
    """The value one position above the default on control ``name`` (below at the top end)."""
    values = atlas.control_values(name, cfg)
    cur = getattr(cfg, atlas.CONTROLS[name])
    if name == "critic_lr" and cur is None:
        cur = cfg.lr
    i = values.index(cur)
    return values[i + 1] if i + 1 < len(values) else values[i - 1]


def live_setting(panel: atlas.PanelSpec, algo: str):
    """``(config, label)``: the live setting timed for ``algo`` in ``panel``."""
    base = atlas.base_config(algo, panel.preset, panel.total_steps, **panel.fixed)
    if len(panel.controls) < 3:
        return base, "default (two sliders: no live setting)"
    moved = {}
    for name in (panel.controls[0], panel.controls[2]):
        if atlas.uses(algo, atlas.CONTROLS[name]):
            moved[atlas.CONTROLS[name]] = _up(name, base)
    cfg = base.replace(**moved).validate()
    return cfg, ", ".join(f"{k}={v:g}" for k, v in moved.items()) or "default"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--panels", default=",".join(atlas.PANELS), help="comma-separated notebook numbers")
    ap.add_argument("--repeat", type=int, default=1, help="train each setting R times, keep the fastest")
    ap.add_argument("--floor", action="store_true", help="also time each setting's arithmetic alone")
    args = ap.parse_args()
    torch.set_num_threads(1)
    slowest = slowest_cpu = 0.0
    for nb in args.panels.split(","):
        panel = atlas.PANELS[nb]
        worst, worst_cpu, worst_floor = 0.0, 0.0, 0.0
        for algo in panel.algos:
            cfg, label = live_setting(panel, algo)
            sec = cpu = float("inf")
            for _ in range(args.repeat):
                t, c = time.perf_counter(), time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    runs = T.train_population([cfg.replace(seed=s) for s in panel.seeds], progress=False)
                sec, cpu = min(sec, time.perf_counter() - t), min(cpu, time.process_time() - c)
            eps = max(len(h.episode_returns) for _, h in runs)
            floor = ""
            if args.floor and cfg.env != "CartPole-v1":
                # the floor times the hand-written backward and the numpy CartPole: CartPole panels only
                floor = f"  floor: not defined for {cfg.env}"
            elif args.floor:
                sys.path.insert(0, str(Path(__file__).resolve().parent))
                from engine_floor import floor_seconds
                nets, env = floor_seconds([cfg.replace(seed=s) for s in panel.seeds], [h for _, h in runs])
                floor = f"  floor {nets + env:5.2f} s (nets {nets:.2f}, env {env:.2f})"
                if cpu > worst_cpu:
                    worst_floor = nets + env
            worst, worst_cpu = max(worst, sec), max(worst_cpu, cpu)
            print(f"  notebook {nb} {algo:19s} {label:40s} {sec:6.2f} s  [cpu {cpu:6.2f} s]{floor}  "
                  f"(<= {eps} episodes per seed)", flush=True)
        print(f"notebook {nb}: {len(panel.seeds)} seeds x {panel.total_steps} env steps, slowest {worst:.2f} s "
              f"[cpu {worst_cpu:.2f} s]" + (f", floor {worst_floor:.2f} s (CPU)" if args.floor and worst_floor
                                      else ", floor not defined" if args.floor else ""), flush=True)
        slowest, slowest_cpu = max(slowest, worst), max(slowest_cpu, worst_cpu)
    print(f"slowest live panel in CPU seconds: {slowest_cpu:.2f} s")
    print(f"slowest live panel: {slowest:.2f} s")


if __name__ == "__main__":
    main()
