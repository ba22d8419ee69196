"""Two copies of the package in one process, their training runs alternating (CPU seconds).

On a loaded shared machine separate processes differ by 30-50% in CPU seconds for the same
code, which hides a change of a few percent. Here the old package (``--base``: a checkout or
an unpacked ``git archive <rev> acnotes``, as ``ACNOTES_SRC`` elsewhere) and this checkout's
are imported side by side under other names (``acnotes_base``, ``acnotes_new``; their modules
import each other relatively), and each round trains the same population with one, then the
other (the order swapped every round), so both see the same load.

    python benchmarks/inprocess_ab.py --base /tmp/base tdac --rounds 10
    python benchmarks/inprocess_ab.py --base /tmp/base tdac --control   # and a second copy of base

Settings as in ``per_step.py`` (20k env steps per member, one torch thread). ``--control``
adds the base package a second time: its ratio to the first shows what the method itself
gives for no change. The last lines give each copy's smallest and median CPU seconds and
their ratios to the base.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

SETTINGS = {"gae": ("gae", 1), "a2c": ("a2c", 5), "reinforce": ("reinforce", 1),
            "a2c-single": ("a2c", 1), "tdac": ("tdac", 5)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("setting", choices=sorted(SETTINGS))
    ap.add_argument("--base", required=True, help="a directory holding the old acnotes package")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=20_000, help="env steps per member")
    ap.add_argument("--control", action="store_true", help="also time a second copy of the base")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="inprocess_ab_") as tmp:
        compare(args, Path(tmp))


def compare(args, links: Path) -> None:
    """Link the two packages under ``links``, import them, and time the rounds."""
    sources = {"acnotes_base": Path(args.base) / "acnotes", "acnotes_new": Path(__file__).resolve().parents[1] / "acnotes"}
    if args.control:
        sources["acnotes_base_copy"] = sources["acnotes_base"]
    for name, src in sources.items():
        os.symlink(src.resolve(), links / name)
    sys.path.insert(0, str(links))
    torch.set_num_threads(1)
    preset, members = SETTINGS[args.setting]
    runs = {}
    for name in sources:
        train, config = importlib.import_module(name + ".train"), importlib.import_module(name + ".config")
        cfg = config.Config(**importlib.import_module(name + ".presets").PRESETS[preset])
        cfgs = [cfg.replace(seed=s, total_steps=args.steps, target_return=None, threads=1) for s in range(members)]
        runs[name] = (train.train_population, cfgs)
        train.train_population(cfgs, progress=False)   # first-use costs left out
    seconds: dict[str, list[float]] = {name: [] for name in sources}
    names = list(sources)
    for i in range(args.rounds):
        for name in (names if i % 2 == 0 else names[::-1]):
            fn, cfgs = runs[name]
            start = time.process_time()
            fn(cfgs, progress=False)
            seconds[name].append(time.process_time() - start)
    base = seconds["acnotes_base"]
    for name, s in seconds.items():
        print(f"{name:18s} CPU s min {min(s):.3f} median {statistics.median(s):.3f}   "
              f"/ base: min {min(s) / min(base):.3f} median {statistics.median(s) / statistics.median(base):.3f}")


if __name__ == "__main__":
    main()
