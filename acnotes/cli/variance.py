"""``python -m acnotes variance``: measure the bias and variance of the gradient estimators
from the command line; print the table, write it (CSV or JSON) and a plot (PNG) when asked."""

from __future__ import annotations

import argparse
import math
import sys
import time
from functools import partial
from pathlib import Path
from typing import Callable

from .._names import ESTIMATOR_NAMES, SWEEP_DEFAULTS, VARIANCE_MAX_B, VARIANCE_MAX_K
from ..presets import PRESETS
from ._common import seed_int

# torch and acnotes.variance are imported by the command itself, not for --help

__all__ = ["add_cli"]


TARGETS = ("short_corridor", "two_state", "random_mdp", "cartpole")
_SWEEP_PARAM = {"batch": "B", "gamma": "gamma", "lambda": "lam"}  # --sweep NAME: the setting


def _arg_type(kind: type, ok: Callable, what: str) -> Callable[[str], float]:
    """An argparse ``type=``: ``kind(s)`` when ``ok`` of it holds, else a one-line error."""
    def parse(s: str):
        try:
            v = kind(s) if s.isascii() else None  # int() and float() also read other scripts' digits
        except ValueError:
            v = None
        if v is None or not ok(v):
            raise argparse.ArgumentTypeError(f"expected {what}, got {s!r}")
        return v

    parse.__name__ = kind.__name__
    return parse


def _int_at_least(lo: int, why: str = "", hi: int | None = None) -> Callable[[str], int]:
    """The one integer type of this command: an integer >= ``lo`` (and <= ``hi``; ``why`` says
    why, if needed)."""
    if hi is None:
        return _arg_type(int, lambda v: v >= lo, f"an integer >= {lo}{why}")
    return _arg_type(int, lambda v: lo <= v <= hi, f"an integer in [{lo}, {hi}]{why}")


_arg_K = _int_at_least(2, " (one estimate has no variance; the bound keeps memory finite)", hi=VARIANCE_MAX_K)
_arg_B = _int_at_least(1, " (the bound keeps memory finite)", hi=VARIANCE_MAX_B)
_arg_int = _int_at_least(1)
_arg_steps = _int_at_least(0)
_arg_unit = _arg_type(float, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")
_arg_nonneg = _arg_type(float, lambda v: math.isfinite(v) and v >= 0.0, "a finite number >= 0")


def _target(args):
    """The MDP and theta, or the CartPole agent, that ``args`` describe."""
    import torch

    from .. import envs

    if args.target != "cartpole":
        mdp = getattr(envs, args.target)(**({} if args.gamma is None else {"gamma": args.gamma}))
        theta = torch.zeros(mdp.n_features, dtype=torch.float64)
        if args.policy_seed is not None:
            theta = torch.randn(mdp.n_features, dtype=torch.float64,
                                generator=torch.Generator().manual_seed(args.policy_seed))
        return mdp, theta
    from ..train import Agent, make_agent, preset, train
    from ._common import stop_if_interrupted

    if args.agent:
        agent = Agent.load(args.agent)
        if agent.config.env != "CartPole-v1":
            raise ValueError(f"--agent {args.agent}: an agent for {agent.config.env}; the cartpole target "
                             f"measures CartPole-v1 agents")
        return agent, None
    cfg = preset(args.preset, seed=args.seed, total_steps=max(args.train_steps, 1))
    if args.train_steps:
        agent, h = train(cfg, progress=False)
        stop_if_interrupted([h.status], "--train-steps")  # measure no half-trained agent
        print(f"trained {args.preset} for {h.total_steps} env steps ({h.status})")
        return agent, None
    return Agent(make_agent(cfg), cfg), None


def _cmd(args, parser: argparse.ArgumentParser) -> int:
    cartpole = args.target == "cartpole"
    table_path = Path(args.table) if args.table else (Path(args.out) / "variance.csv" if args.out is not None else None)
    plot_path = Path(args.plot) if args.plot else (Path(args.out) / "variance.png" if args.out is not None else None)
    if table_path is not None and table_path.suffix not in (".csv", ".json"):
        parser.error(f"--table must end in .csv or .json, got {table_path.name!r}")
    if plot_path is not None and plot_path.suffix != ".png":
        parser.error(f"--plot must end in .png, got {plot_path.name!r}")
    if cartpole and args.critic_noise:
        parser.error("--critic-noise is for tabular targets only (CartPole critics are networks)")
    if not cartpole and (args.agent or args.train_steps):
        parser.error("--agent and --train-steps are for --target cartpole only")
    if args.values is not None and args.sweep is None:
        parser.error("--values needs --sweep {batch,gamma,lambda}")
    values = None
    if args.sweep:
        raw = args.values or [str(v) for v in SWEEP_DEFAULTS[_SWEEP_PARAM[args.sweep]]]
        check = _arg_B if args.sweep == "batch" else _arg_unit
        try:
            values = [check(v) for v in raw]
        except argparse.ArgumentTypeError as e:
            parser.error(f"--values for --sweep {args.sweep}: {e}")
    from .._files import check_targets, out_dir, out_file

    if args.out is not None:  # a file, '' or a read-only folder: refused before any work
        out_dir("--out", args.out)
    for option, p in (("--table", args.table), ("--plot", args.plot)):
        if p is not None:
            out_dir(option, Path(p).parent)
            out_file(option, p)
    check_targets([p for p in (table_path, plot_path) if p is not None], args.force)  # before measuring
    if plot_path is not None:
        _choose_backend()

    from ..variance import measure, sweep

    target, theta = _target(args)
    kw = dict(K=args.K, B=args.B, lam=args.lam, n=args.n, seed=args.seed, estimators=args.estimators)
    if cartpole:
        kw["gamma"] = args.gamma
    else:
        kw["critic_noise"] = args.critic_noise
    t0 = time.perf_counter()
    if args.sweep:
        table = sweep(target, _SWEEP_PARAM[args.sweep], values, theta, **kw)
    else:
        table = measure(target, theta, **kw)
    print(table)
    print(f"({time.perf_counter() - t0:.1f} s)")
    if table_path is not None:
        (table.to_json if table_path.suffix == ".json" else table.to_csv)(table_path)
        print(f"wrote {table_path}")
    if plot_path is not None:
        from .._files import atomic_path
        from ..plots import style
        from ..plots.variance import variance_bars, variance_sweep

        fig = variance_sweep(table) if args.sweep else variance_bars(table)
        with atomic_path(plot_path) as tmp:
            style.save(fig, tmp, format="png")
        print(f"wrote {plot_path}")
    return 0


def _choose_backend() -> None:
    """Agg (files only, no window) when pyplot is not imported yet; a running notebook or
    program that already chose a backend keeps it."""
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")


_DESCRIPTION = ("K independent gradient estimates of B episodes each, per estimator, at one fixed "
                "policy; variance, bias and MSE against the exact gradient (tabular MDPs) or a "
                "large separate batch (CartPole). Prints the table; writes it (CSV or JSON) and a "
                "plot (PNG) when asked.")
_EXAMPLES = """examples:
  python -m acnotes variance --target short_corridor -K 500 -B 16 --out runs/var
  python -m acnotes variance --sweep batch --values 1 4 16 64 --table var.json --plot var.png
  python -m acnotes variance --target cartpole --train-steps 10000 -K 100 -B 4 --out runs/cp"""


def add_cli(subparsers) -> None:
    """Register ``python -m acnotes variance``."""
    p = subparsers.add_parser("variance", description=_DESCRIPTION, epilog=_EXAMPLES,
                              help="measure the bias and variance of policy-gradient estimators",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", choices=TARGETS, default="short_corridor",
                   help="where to measure: a tabular MDP of acnotes.envs (exact gradient) or "
                        "cartpole (default: short_corridor)")
    p.add_argument("--estimators", nargs="+", choices=ESTIMATOR_NAMES, default=None, metavar="NAME",
                   help=f"estimators to measure, from: {', '.join(ESTIMATOR_NAMES)} (default: all; "
                        f"on CartPole all that the policy's critic allows)")
    p.add_argument("-K", type=_arg_K, default=500, metavar="K",
                   help=f"number of independent estimates, in [2, {VARIANCE_MAX_K}] (default: 500)")
    p.add_argument("-B", type=_arg_B, default=16, metavar="B",
                   help=f"episodes per estimate, in [1, {VARIANCE_MAX_B}] (default: 16)")
    p.add_argument("--gamma", type=_arg_unit, default=None,
                   help="discount in [0, 1] (default: the MDP's own, 0.9; on CartPole the agent's)")
    p.add_argument("--lam", type=_arg_unit, default=0.95, help="GAE's lambda (Config's lam), in [0, 1] (default: 0.95)")
    p.add_argument("--n", type=_arg_int, default=5, help="n of A2C's n-step return (Config's nstep; not the rollout length) (default: 5)")
    p.add_argument("--critic-noise", type=_arg_nonneg, default=0.0, metavar="X",
                   help="tabular only: relative error of the critic, |V_w - V| / |V| (default: 0, "
                        "the exact critic)")
    p.add_argument("--policy-seed", type=seed_int, default=None, metavar="S",
                   help="tabular only: random policy parameters theta ~ N(0, 1) from this seed "
                        "(default: theta = 0, the uniform policy)")
    p.add_argument("--sweep", choices=sorted(_SWEEP_PARAM), default=None,
                   help="measure once per value of B (batch), gamma or lambda, and plot the "
                        "variance against it (default: one measurement)")
    p.add_argument("--values", nargs="+", default=None, metavar="V",
                   help="the values of the sweep (default: batch 1 4 16 64; gamma 0.5 0.8 0.9 "
                        "0.95 0.99; lambda 0 0.25 0.5 0.75 0.9 1)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the episodes, in [0, 2**32 - 1] (default: 0)")
    p.add_argument("--agent", metavar="DIR", default=None,
                   help="cartpole only: a saved agent (python -m acnotes train --out ...) to "
                        "measure (default: a fresh --preset network)")
    p.add_argument("--preset", choices=sorted(n for n, v in PRESETS.items() if v.get("env", "CartPole-v1") == "CartPole-v1"),
                   default="a2c",
                   help="cartpole only: the network and settings when no --agent is given "
                        "(default: a2c)")
    p.add_argument("--train-steps", type=_arg_steps, default=0, metavar="N",
                   help="cartpole only: train the --preset network this many env steps "
                        "before measuring (default: 0, the initial policy)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="write DIR/variance.csv and DIR/variance.png (created if needed)")
    p.add_argument("--table", metavar="FILE", default=None,
                   help="write the table here instead: .csv or .json by the extension")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="write the plot here instead (.png)")
    p.add_argument("--force", action="store_true",
                   help="replace the table and plot files if they exist (default: refuse); a symbolic "
                        "link is replaced, never written through")
    p.set_defaults(func=partial(_cmd, parser=p))
