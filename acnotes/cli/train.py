"""``python -m acnotes train``: train on CartPole-v1 (or Pendulum-v1: ``--env``) over several seeds and save everything.

    python -m acnotes train --algo a2c --seeds 0 1 2 --steps 50000 --out runs/a2c

What it writes into ``--out`` (each file atomically: a temporary file, then a rename):

* ``run.json``: the settings, the seeds, which seeds are finished and the status of each.
  It is written before the first seed starts and after each seed.
* ``history-seed{S}.json`` (or ``.csv``) and ``agent-seed{S}/``: saved as soon as seed S
  stops, and every ``--checkpoint-every`` env steps while it trains.
* ``learning_curve.png``: mean and 95% band over the seeds.

A directory that holds another run is refused unless ``--overwrite`` (its files are removed
first) or ``--resume`` (the seeds not finished are trained, the finished ones kept). Every
check (options, seeds, the directory) is done before any training. Exit status: 0; 1 if a
seed diverged; 2 for bad input; 130 if interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from .. import _validate
from .._files import atomic_path, out_dir, read_json, write_text
from ._common import (add_config_options, config_from_args, interrupts_deferred, option_name, positive_int,
                      seed_int, steps_int)

FINISHED = ("done", "target reached", "diverged")  # statuses that --resume does not retrain


def _is_run_file(p: Path) -> bool:
    n = p.name
    return (n in ("run.json", "learning_curve.png") or n.startswith(".tmp-")
            or (n.startswith("history-seed") and p.suffix in (".json", ".csv"))
            or (n.startswith("agent-seed") and p.is_dir()))


def _read_run(out: Path) -> dict:
    f = out / "run.json"
    try:
        meta = read_json(f)
    except ValueError as e:
        raise ValueError(f"cannot resume: {f} cannot be read ({e}); use --overwrite to start again") from None
    if not (isinstance(meta, dict) and isinstance(meta.get("config"), dict)
            and isinstance(meta.get("finished"), list) and isinstance(meta.get("status"), dict)):
        raise ValueError(f"cannot resume: {f} was not written by this version of `train` "
                         f"(it needs config, finished and status); use --overwrite to start again")
    return meta


def _finished_seeds(out: Path, cfg, seeds: list[int], fmt: str) -> dict[int, str]:
    """For --resume: {seed: status} of the seeds already finished in ``out``."""
    from ..config import Config

    meta = _read_run(out)
    try:
        old = Config.from_dict(meta["config"], strict=True).to_dict()
    except (ValueError, TypeError) as e:
        raise ValueError(f"cannot resume: the config in {out / 'run.json'} is not valid ({e})") from None
    new = cfg.to_dict()
    diff = [f"{option_name(k)} (run: {old[k]!r}, now: {new[k]!r})" for k in new if k != "seed" and old[k] != new[k]]
    if meta.get("format", "json") != fmt:
        diff.append(f"format (run: {meta.get('format')!r}, now: {fmt!r})")
    if diff:
        raise ValueError(f"--resume needs the settings of the run in {out}; these differ: " + ", ".join(diff))
    done = {}
    for s in meta["finished"]:
        if (out / f"history-seed{s}.{fmt}").is_file() and (out / f"agent-seed{s}").is_dir():
            done[s] = meta["status"].get(str(s), "done")
    missing = sorted(set(done) - set(seeds))
    if missing:
        raise ValueError(f"the run in {out} also holds seeds {missing}; list them in --seeds "
                         f"or use --overwrite")
    return done


def _prepare(args, cfg, seeds) -> tuple[Path, dict[int, str]]:
    """Check --out, then apply --overwrite or --resume. Returns (out, finished seeds)."""
    out = out_dir("--out", args.out)
    entries = sorted(out.iterdir())
    others = [p.name for p in entries if not _is_run_file(p)]
    run_files = [p for p in entries if _is_run_file(p)]
    if others:
        raise ValueError(f"--out {out} holds files that are not from a run ({', '.join(others[:3])}"
                         f"{', ...' if len(others) > 3 else ''}); choose a new or empty directory")
    if not run_files:
        return out, {}
    links = [p.name for p in run_files if p.is_symlink()]
    if links and (args.resume or args.overwrite):
        # --resume would save an agent through the link into the folder it points to, and
        # --overwrite remove what it points to: both would touch a user's own files
        raise ValueError(f"--out {out} holds symbolic links ({', '.join(links[:3])}); --resume and --overwrite "
                         f"never write through or remove them: remove them yourself, or choose another directory")
    if args.resume and (out / "run.json").is_file():
        return out, _finished_seeds(out, cfg, seeds, args.format)
    if not args.overwrite:
        names = ", ".join(p.name + ("/" if p.is_dir() else "") for p in run_files[:4])
        raise ValueError(f"--out {out} holds another run ({names}); add --overwrite to replace it, "
                         f"--resume to continue it, or choose another directory")
    for p in run_files:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    return out, {}


def _load_history(path: Path):
    from ..history import History

    try:
        return History.load(path)  # a CSV holds the episode columns: enough for the learning curve
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot resume: {path} cannot be read ({e}); use --overwrite to start again") from None


class _Checkpoint:
    """``on_update`` for train(): save agent and History every ``every`` env steps."""

    def __init__(self, save, every: int | None):
        self.save, self.every, self.last = save, every, 0

    def __call__(self, hist, get_agent):
        if self.every and hist.total_steps - self.last >= self.every:
            self.last = hist.total_steps
            self.save(hist, get_agent())


DEFAULT_STEPS = 100_000   # --steps without a preset that sets total_steps


def cmd_train(args) -> int:
    import matplotlib.pyplot as plt

    from .. import plots
    from ..history import solved_threshold
    from ..train import check_memory, train

    try:
        seeds = _validate.seeds("--seeds", args.seeds)
    except _validate.BadValue as e:
        raise ValueError(str(e)) from None
    from ..presets import PRESETS
    # without --steps: the preset's own budget if it has one (ppo's: the length of its schedules)
    steps = args.steps if args.steps is not None else PRESETS.get(args.preset or "", {}).get("total_steps", DEFAULT_STEPS)
    cfg = config_from_args(args, total_steps=steps, seed=seeds[0])
    check_memory([cfg], advice="use a smaller --hidden, --layers or --n-envs")  # before any write
    out, status = _prepare(args, cfg, seeds)
    fmt = args.format
    kept = {s: _load_history(out / f"history-seed{s}.{fmt}") for s in status}  # read before training

    def write_run():
        write_text(out / "run.json", json.dumps(
            {"config": cfg.to_dict(), "seeds": seeds, "format": fmt,
             "finished": [s for s in seeds if status.get(s) in FINISHED],
             "status": {str(s): status[s] for s in seeds if s in status}}, indent=2))

    def save(s, hist, agent):
        with interrupts_deferred():  # History and weights together: an interrupt waits for both
            hist.save(out / f"history-seed{s}.{fmt}")
            agent.save(out / f"agent-seed{s}")

    write_run()
    histories = []
    for s in seeds:
        if status.get(s) in FINISHED:
            print(f"seed {s}: {status[s]} earlier, kept")
            histories.append(kept[s])
            continue
        ckpt = _Checkpoint(lambda h, a, s=s: save(s, h, a), args.checkpoint_every)
        agent, h = train(cfg.replace(seed=s), progress=not args.quiet, on_update=ckpt)
        try:
            with interrupts_deferred():  # a finished seed: its files and run.json, or nothing new
                save(s, h, agent)
                status[s] = h.status
                write_run()
        except KeyboardInterrupt:  # arrived during the save, which is complete: stop here
            print(f"seed {s}: {h.status} and saved; interrupted before the next seed: rerun the same "
                  f"command with --resume to train the seeds not finished", file=sys.stderr)
            return 130
        histories.append(h)
        last = h.episode_returns[-100:]
        mean = sum(last) / len(last) if last else float("nan")
        print(f"seed {s}: {h.status}, {h.total_steps} env steps, {h.wall_time:.1f} s, "
              f"mean return of last {len(last)} episodes {mean:.1f}")
        if h.status == "interrupted":
            break
    algo = plots.style.algorithm_of(cfg)   # the ppo presets train GAE(λ)'s Ψ_t with PPO's loss: drawn as PPO
    shown = plots.style.line_look(algo)[0]
    # Pendulum's returns are negative: its range, and its solved line (-200, not CartPole's 475)
    view = dict(yrange=plots.continuous.PENDULUM_RANGE) if cfg.env == "Pendulum-v1" else {}
    fig = plots.learning_curves({algo: histories}, target=solved_threshold(cfg.env), **view,
                                title=f"{shown} on {cfg.env}, {plots.style.settings(gamma=cfg.gamma, lr=cfg.lr)}")
    with atomic_path(out / "learning_curve.png") as tmp:
        plots.style.save(fig, tmp, format="png")
    plt.close(fig)
    print(f"wrote {out}/: history-seed*.{fmt}, agent-seed*/, learning_curve.png, run.json")
    if "interrupted" in status.values():
        print("interrupted: rerun the same command with --resume to train the seeds not finished",
              file=sys.stderr)
        return 130
    diverged = [s for s in seeds if status.get(s) == "diverged"]
    if diverged:
        print(f"seed(s) {diverged} diverged (see the message in their History); "
              f"try a smaller --lr or --max-grad-norm", file=sys.stderr)
        return 1
    return 0


def add_cli(sub) -> None:
    from ..presets import PRESETS

    t = sub.add_parser("train", help="train on CartPole-v1 (or Pendulum-v1: --env) over several seeds and save everything",
                       description="Train on CartPole-v1 (or --env Pendulum-v1) for each seed; write the History of each run, "
                                   "a learning-curve PNG (mean and 95% band over seeds) and the agents.")
    t.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="start from these settings (options given here override them)")
    t.add_argument("--seeds", type=seed_int, nargs="+", default=[0], metavar="S",
                   help="seeds (integers in [0, 2**32 - 1], each once), one run each (default: 0)")
    t.add_argument("--steps", type=steps_int, default=None, metavar="N",
                   help=f"env steps per run, at most 10**12 (default: the preset's budget if it has one, "
                        f"as ppo's 300000 over which its schedules fall, else {DEFAULT_STEPS})")
    t.add_argument("--out", required=True, metavar="DIR",
                   help="directory to write into (created if needed; must not hold another run)")
    again = t.add_mutually_exclusive_group()
    again.add_argument("--overwrite", action="store_true",
                       help="if DIR holds another run, delete its files first")
    again.add_argument("--resume", action="store_true",
                       help="if DIR holds this run (same settings), train only the seeds not finished")
    t.add_argument("--checkpoint-every", type=positive_int, default=None, metavar="N",
                   help="also save the current seed's agent and History every N env steps (default: only at its end)")
    t.add_argument("--format", choices=["json", "csv"], default="json", help="History file format (default: json)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    add_config_options(t)
    t.set_defaults(func=cmd_train)


__all__ = ["add_cli", "cmd_train"]
