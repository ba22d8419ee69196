"""``python -m acnotes pporuns``: train PPO on CartPole-v1 over seeds, beside SB3's (acnotes/stored/ppo.py)."""

from __future__ import annotations

__all__ = ["add_cli", "cmd_pporuns"]


def cmd_pporuns(args) -> int:
    from ..stored import ppo
    from ._stored import train_and_store

    log = None if args.quiet else (lambda line: print(line, flush=True))
    if args.preset and args.no_engine:
        raise ValueError("--preset trains the engine's ppo preset and nothing else, so --no-engine would leave "
                         "nothing to run; drop one of them")
    if args.preset:   # by default the stored population's seeds and budget
        seeds = list(ppo.PRESET_SEEDS) if args.seeds is None else args.seeds
        steps = ppo.PRESET_STEPS if args.steps is None else args.steps
        train_and_store(args.out, args.force, lambda: ppo.compute_preset(seeds, steps, log=log),
                        lambda data: (r["status"] for r in data["runs"]), "the ppo preset's population")
        return 0
    seeds = list(range(10)) if args.seeds is None else args.seeds
    steps = 100_000 if args.steps is None else args.steps
    train_and_store(args.out, args.force, lambda: ppo.compute(seeds, steps, peer=not args.no_peer, log=log,
                                                               engine=not args.no_engine),
                    lambda data: (r["status"] for runs in data["runs"].values() for r in runs), "the PPO runs")
    return 0


def add_cli(sub) -> None:
    from ._stored import add_run_args

    p = sub.add_parser("pporuns", help="train PPO on CartPole-v1 over seeds, beside stable-baselines3's, as JSON",
                       description="Train the engine's ppo preset (single runs), acnotes/reference/ppo.py and "
                                   "stable-baselines3's PPO (rl-zoo's CartPole-v1 settings) for each seed, interleaved, "
                                   "on one thread (see acnotes/stored/ppo.py); "
                                   "notebook 12 reads acnotes/data/ppo-cartpole.json.")
    add_run_args(p, steps=100_000, seeds=list(range(10)), quiet="no line per run")
    p.add_argument("--no-peer", action="store_true", help="leave stable-baselines3's PPO out")
    p.add_argument("--no-engine", action="store_true", help="leave the engine's ppo preset out (not with --preset)")
    p.add_argument("--preset", action="store_true",
                   help="instead, train the engine's ppo preset over the seeds as one population, each member "
                        "stopped once solved; then --steps and --seeds default to those of "
                        "acnotes/data/ppo-preset.json (300000; 0 to 49)")
    p.set_defaults(func=cmd_pporuns, steps=None, seeds=None)   # each mode's defaults: cmd_pporuns
