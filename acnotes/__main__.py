"""The command line: ``python -m acnotes COMMAND --help``.

    python -m acnotes train --algo a2c --gamma 0.99 --lr 1e-3 --seeds 0 1 2 --steps 50000 --out runs/a2c
    python -m acnotes evaluate runs/a2c --episodes 20 --seed 0

Other modules add their own commands through ``add_cli(subparsers)`` (see ``COMMANDS``).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
from pathlib import Path

# module names whose add_cli(subparsers) registers a command; missing ones are skipped
COMMANDS = ["acnotes.variance", "acnotes.exercises", "acnotes.classroom"]


def _bool(s: str) -> bool:
    v = s.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {s!r}")


def _optional(kind):
    def parse(s: str):
        return None if s.strip().lower() in ("none", "") else kind(s)
    parse.__name__ = kind.__name__
    return parse


def _add_config_options(p: argparse.ArgumentParser) -> None:
    """One option per Config field, with the field's help text and default."""
    from .train import Config

    skip = {"total_steps", "seed"}  # given as --steps and --seeds
    for f in dataclasses.fields(Config):
        if f.name in skip:
            continue
        default = f.default
        kind = {"bool": _bool, "int": int, "float": float, "str": str,
                "int | None": _optional(int), "float | None": _optional(float)}[str(f.type)]
        text = f.metadata.get("help", "")
        if "(default:" not in text:  # some help texts say what None means themselves
            text += f" (default: {default})"
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, default=None,
                       metavar=f.name.upper(), help=text)


def _config_from_args(args):
    from .train import Config, preset

    changes = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config)
               if getattr(args, f.name, None) is not None}
    cfg = preset(args.preset, **changes) if args.preset else Config().replace(**changes)
    return cfg.replace(total_steps=args.steps)


def cmd_train(args) -> int:
    from . import plots
    from .train import History, train

    cfg = _config_from_args(args)
    cfg.replace(seed=args.seeds[0]).validate()  # fail before creating anything
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    histories: list[History] = []
    for s in args.seeds:
        run = cfg.replace(seed=s)
        agent, h = train(run, progress=not args.quiet)
        histories.append(h)
        h.save(out / f"history-seed{s}.{args.format}")
        agent.save(out / f"agent-seed{s}")
        last = h.episode_returns[-100:]
        mean = sum(last) / len(last) if last else float("nan")
        print(f"seed {s}: {h.status}, {h.total_steps} env steps, {h.wall_time:.1f} s, "
              f"mean return of last {len(last)} episodes {mean:.1f}")
        if h.status == "interrupted":
            break
    fig = plots.learning_curves({cfg.algo: histories}, title=f"{cfg.algo} on CartPole-v1", target=475.0)
    fig.savefig(out / "learning_curve.png", dpi=100)
    (out / "run.json").write_text(json.dumps({"config": cfg.to_dict(), "seeds": list(args.seeds)}, indent=2))
    print(f"wrote {out}/: history-seed*.{args.format}, agent-seed*/, learning_curve.png, run.json")
    return 130 if histories and histories[-1].status == "interrupted" else 0


def cmd_evaluate(args) -> int:
    import numpy as np

    from .train import Agent

    d = Path(args.dir)
    if not (d / "config.json").exists() and not (d / "weights.pt").exists():
        subs = sorted(p for p in d.glob("agent-seed*") if p.is_dir()) if d.is_dir() else []
        if not subs:
            raise ValueError(f"{d} holds no saved agent (expected config.json and weights.pt, "
                             f"or agent-seed*/ folders written by `python -m acnotes train`)")
    else:
        subs = [d]
    for sub in subs:
        agent = Agent.load(sub)
        r = agent.evaluate(args.episodes, seed=args.seed, greedy=not args.sample)
        print(f"{sub}: mean return {np.mean(r):.1f} +- {np.std(r):.1f} (std) over {len(r)} episodes"
              f" ({'sampled' if args.sample else 'greedy'} actions, seed {args.seed})")
    return 0


def _positive_int(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {s}")
    return v


def build_parser() -> argparse.ArgumentParser:
    from .presets import PRESETS

    p = argparse.ArgumentParser(prog="python -m acnotes", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train on CartPole-v1 over several seeds and save everything",
                       description="Train on CartPole-v1 for each seed; write the History of each run, "
                                   "a learning-curve PNG (mean and 95% band over seeds) and the agents.")
    t.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="start from these settings (options given here override them)")
    t.add_argument("--seeds", type=int, nargs="+", default=[0], metavar="S", help="seeds, one run each (default: 0)")
    t.add_argument("--steps", type=_positive_int, default=100_000, metavar="N", help="env steps per run (default: 100000)")
    t.add_argument("--out", required=True, metavar="DIR", help="directory to write into (created if needed)")
    t.add_argument("--format", choices=["json", "csv"], default="json", help="History file format (default: json)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_config_options(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="play episodes with a saved agent and print the mean return",
                       description="Load the agent(s) in DIR and print the mean and std of the return.")
    e.add_argument("dir", metavar="DIR", help="an agent directory, or a train --out directory")
    e.add_argument("--episodes", type=_positive_int, default=20, metavar="N", help="episodes to play (default: 20)")
    e.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the episodes (default: 0)")
    e.add_argument("--sample", action="store_true", help="sample actions from the policy instead of the greedy action")
    e.set_defaults(func=cmd_evaluate)

    for name in COMMANDS:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        if hasattr(mod, "add_cli"):
            mod.add_cli(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as e:
        parser.exit(2, f"error: {e}\n")
    except KeyboardInterrupt:
        parser.exit(130, "interrupted\n")


if __name__ == "__main__":
    sys.exit(main())
