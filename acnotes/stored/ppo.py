"""PPO on CartPole-v1 over seeds (notebook 12): the reference file ``acnotes/reference/ppo.py``
and, beside it, stable-baselines3's PPO with rl-baselines3-zoo's CartPole-v1 settings.

Both run 100,000 env steps (rl-zoo's budget, over which both step sizes and clip ranges fall
linearly to 0), interleaved seed by seed with ``torch.set_num_threads(1)`` so that the load
of the machine hits both alike. About a minute per seed for the reference file on this 2-core machine:
too long for a notebook cell. Notebook 12 reads the runs stored with the package, made by

    python -m acnotes pporuns --out acnotes/data/ppo-cartpole.json

(``--no-peer`` leaves SB3 out; ``benchmarks/ppo_cartpole.py`` prints the table of a stored
file or of new runs). A test trains the first steps of one stored seed again and checks that
they end the same episodes with the same returns.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Sequence

import numpy as np

from . import FINAL_WINDOW, SOLVED, read_data, save_json
from .blogruns import history   # a stored run (its episodes) as a History: the same fields

__all__ = ["SEEDS", "TOTAL_STEPS", "SB3_SETTINGS", "FILENAME", "NAMES", "compute", "run_engine", "run_reference", "run_sb3",
           "PRESET_FILE", "PRESET_SEEDS", "PRESET_STEPS", "compute_preset", "preset_summary", "load_preset",
           "load", "history", "summarize", "table", "save"]

SEEDS = tuple(range(10))
TOTAL_STEPS = 100_000            # rl-zoo's n_timesteps for CartPole-v1
FILENAME = "ppo-cartpole.json"
_NO_SB3 = "stable-baselines3 is not installed: pip install 'acnotes[bench]', or pass --no-peer"
# rl-baselines3-zoo, hyperparams/ppo.yml, CartPole-v1 (lin_X: X falling linearly to 0)
SB3_SETTINGS = dict(n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                    ent_coef=0.0, learning_rate="lin_0.001", clip_range="lin_0.2")


def _run(seed: int, returns, steps, seconds: float) -> dict:
    return dict(seed=int(seed), status="done", seconds=round(float(seconds), 2),
                episode_returns=[float(r) for r in returns], episode_steps=[int(s) for s in steps])


def run_reference(seed: int, total_steps: int = TOTAL_STEPS) -> dict:
    """One run of ``reference/ppo.py`` at its defaults (rl-zoo's settings)."""
    from ..reference import ppo

    t0 = time.perf_counter()
    returns, steps = ppo.train(total_steps=total_steps, seed=seed)
    return _run(seed, returns, steps, time.perf_counter() - t0)


def run_engine(seed: int, total_steps: int = TOTAL_STEPS) -> dict:
    """One run of the engine's ``ppo`` preset (the same settings, ``acnotes/epochs.py``)."""
    from ..train import preset, train

    t0 = time.perf_counter()
    _, h = train(preset("ppo", seed=seed, total_steps=total_steps), progress=False)
    return _run(seed, h.episode_returns, h.episode_steps, time.perf_counter() - t0)


def run_sb3(seed: int, total_steps: int = TOTAL_STEPS) -> dict:
    """One run of stable-baselines3's PPO with rl-zoo's CartPole-v1 settings; each episode's
    return and the env steps taken when it ended (its Monitor's episodes, as they finish)."""
    try:
        from stable_baselines3 import PPO
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.env_util import make_vec_env
    except ImportError:
        raise ValueError(_NO_SB3) from None

    class Episodes(BaseCallback):
        def __init__(self):
            super().__init__()
            self.returns, self.steps = [], []

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(float(info["episode"]["r"]))
                    self.steps.append(int(self.num_timesteps))
            return True

    s = SB3_SETTINGS
    t0 = time.perf_counter()
    env = make_vec_env("CartPole-v1", n_envs=s["n_envs"], seed=seed)
    model = PPO("MlpPolicy", env, n_steps=s["n_steps"], batch_size=s["batch_size"], gae_lambda=s["gae_lambda"],
                gamma=s["gamma"], n_epochs=s["n_epochs"], ent_coef=s["ent_coef"],
                learning_rate=lambda left: 1e-3 * left, clip_range=lambda left: 0.2 * left,
                seed=seed, device="cpu", verbose=0)
    cb = Episodes()
    model.learn(total_timesteps=total_steps, callback=cb)
    env.close()
    return _run(seed, cb.returns, cb.steps, time.perf_counter() - t0)


def compute(seeds: Sequence[int] = SEEDS, total_steps: int = TOTAL_STEPS, peer: bool = True,
            log=print, engine: bool = False) -> dict:
    """Train the reference PPO (and SB3's, with ``peer``; the engine's ``ppo`` preset, with
    ``engine``) for every seed, one seed of each in turn, on one torch thread.
    ``runs["reference"]``, ``runs["sb3"]``, ``runs["engine"]``: one dict per seed."""
    import torch

    if peer and importlib.util.find_spec("stable_baselines3") is None:   # before any training
        raise ValueError(_NO_SB3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    runs: dict[str, list[dict]] = {"engine": []} if engine else {}
    runs["reference"] = []
    if peer:
        runs["sb3"] = []
    try:
        for seed in seeds:
            for name, fn in (("engine", run_engine), ("reference", run_reference), ("sb3", run_sb3)):
                if name in runs:
                    r = fn(seed, total_steps)
                    runs[name].append(r)
                    if log:
                        h = history(r)
                        log(f"seed {seed} {name:>9}: {len(h.episode_returns)} episodes, final "
                            f"{np.mean(h.episode_returns[-100:]):.1f}, {r['seconds']:.1f} s")
    finally:
        torch.set_num_threads(threads)
    return dict(total_steps=total_steps, seeds=list(seeds), threads=1, sb3=dict(SB3_SETTINGS) if peer else None,
                runs=runs)


NAMES = {"engine": "PPO (the engine's ppo preset)", "reference": "PPO (reference/ppo.py)",
         "sb3": "SB3 PPO (rl-zoo settings)"}


def summarize(data: dict) -> dict[str, dict]:
    """Per implementation: ``solved`` (seeds whose mean return over 100 episodes reached 475
    within the budget), ``n``, ``median_steps`` (median env steps to get there, over the solved
    seeds; None if none), ``median_final`` (median over seeds of the mean of the last 100
    episodes), ``median_seconds`` (of a whole run) and, beside SB3, ``time_ratio`` (median
    seconds / SB3's) and ``steps_ratio`` (median env steps to solve / SB3's)."""
    out = {}
    for name, runs in data["runs"].items():
        hits = [history(r).solved_at(SOLVED, FINAL_WINDOW) for r in runs]
        solved = [h[0] for h in hits if h is not None]
        out[name] = dict(solved=len(solved), n=len(runs),
                         median_steps=float(np.median(solved)) if solved else None,
                         median_final=float(np.median([np.mean(r["episode_returns"][-FINAL_WINDOW:]) for r in runs])),
                         median_seconds=float(np.median([r["seconds"] for r in runs])))
    peer = out.get("sb3")
    for s in out.values():
        if peer:
            s["time_ratio"] = s["median_seconds"] / peer["median_seconds"]
            both = s["median_steps"] is not None and peer["median_steps"] is not None
            s["steps_ratio"] = s["median_steps"] / peer["median_steps"] if both else None
    return out


def table(data: dict) -> str:
    """The summary as a plain-text table, one row per implementation."""
    summ = summarize(data)
    head = ("", "solved", "median env steps to solve", "median final return", "median seconds", "time vs SB3")
    rows = [head]
    for name, s in summ.items():
        steps = "-" if s["median_steps"] is None else f"{s['median_steps']:,.0f}"
        ratio = f"{s['time_ratio']:.2f}" if "time_ratio" in s else "-"
        rows.append((NAMES.get(name, name), f"{s['solved']} of {s['n']}", steps, f"{s['median_final']:.1f}",
                     f"{s['median_seconds']:.1f}", ratio))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)


def load() -> dict:
    """The stored runs (``acnotes/data/ppo-cartpole.json``)."""
    return read_data(FILENAME)


# ------------------------------------------------------------- the preset over 50 seeds
PRESET_FILE = "ppo-preset.json"
PRESET_SEEDS = tuple(range(50))
PRESET_STEPS = 300_000   # with 150,000 the preset solved 47 of seeds 0-49 (benchmarks/README.md)


def compute_preset(seeds: Sequence[int] = PRESET_SEEDS, total_steps: int = PRESET_STEPS, log=print) -> dict:
    """The engine's ``ppo`` preset for every seed, trained as one population (the schedules
    fall to 0 over ``total_steps``), each member stopped once its mean return over 100 episodes
    reaches 475. ``runs``: one dict per seed with its episodes, as ``compute``'s (``seconds``:
    the population's, divided by the number of members)."""
    from ..config import preset
    from ..train import train_population

    t0 = time.perf_counter()
    configs = [preset("ppo", seed=s, total_steps=total_steps, target_return=SOLVED) for s in seeds]
    pairs = train_population(configs, progress=False)
    share = (time.perf_counter() - t0) / len(configs)
    runs = [dict(_run(c.seed, h.episode_returns, h.episode_steps, share), status=h.status) for c, (_, h) in
            zip(configs, pairs)]
    if log:
        log(f"{len(runs)} members in {share * len(runs):.0f} s")
    return dict(preset="ppo", config=preset("ppo", total_steps=total_steps).to_dict(), total_steps=total_steps,
                seeds=[int(s) for s in seeds], runs=runs)


def preset_summary(data: dict) -> dict:
    """``solved`` of ``n`` seeds (the mean return over 100 episodes reached 475), the ``median_steps``
    and ``worst_steps`` to get there over the solved seeds (None if none), and the seeds not solved."""
    hits = {r["seed"]: history(r).solved_at(SOLVED, FINAL_WINDOW) for r in data["runs"]}
    steps = [h[0] for h in hits.values() if h is not None]
    return dict(solved=len(steps), n=len(hits), median_steps=float(np.median(steps)) if steps else None,
                worst_steps=int(max(steps)) if steps else None,
                unsolved=[s for s, h in hits.items() if h is None])


def load_preset() -> dict:
    """The stored population of the ``ppo`` preset (``acnotes/data/ppo-preset.json``)."""
    return read_data(PRESET_FILE)


save = save_json   # write the runs atomically
