"""PPO on Pendulum-v1 over seeds (issue 26, item 4): the engine's ``ppo-pendulum`` preset beside
stable-baselines3's PPO with rl-baselines3-zoo's Pendulum-v1 settings, on the same env-step budget.

rl-zoo's hyperparams/ppo.yml, Pendulum-v1: 4 envs, 1e5 env steps, n_steps 1024, gae_lambda 0.95,
gamma 0.9, n_epochs 10, ent_coef 0, learning_rate 1e-3, clip_range 0.2, use_sde True with
sde_sample_freq 4 (generalised state-dependent exploration), and SB3's defaults for the rest
(minibatches of 64, vf_coef 0.5, gradient norm clipped at 0.5, separate 64-64 tanh nets; no
VecNormalize). SB3 learns until its step count reaches 1e5, so it takes 25 rollouts of 4 x 1024
steps, 102,400 env steps; the engine, with ``total_steps=100_000``, takes the same 25 rollouts
(its last rollout is whole), so both have the same budget.

The same budget holds fewer of the engine's episodes. The engine counts gymnasium's NEXT_STEP
autoreset step (the step after an episode's last, which only resets the env; ``acnotes/rollout.py``)
as an env step, as on CartPole, so each 200-step Pendulum episode takes 201 of its env steps: in
102,400 env steps (25,600 per env) its runs record 127 episodes per env, 508, the last ending at
env step 102,104 (4 x (127 x 201 - 1)). SB3 resets within the step that ends an episode, so its
episodes take 200 steps each: 512, the last ending at 102,400. The final return of either is the
mean of its own last 100 episodes.

A seed is *solved* if its final return, the mean of its last 100 episodes (FINAL_WINDOW), is at
least -200 (``PENDULUM_SOLVED``; the issue's bar). SB3's runs go seed by seed on one torch
thread; the engine's seeds run as one population (one torch thread too), and each engine run's
``seconds`` is the population's time divided by its members (as ``ppo.compute_preset`` does):
the time ratio compares that share with SB3's seconds per seed.

    python benchmarks/ppo_pendulum.py --seeds 4 --json out.json

The stored side by side (``load``, ``acnotes/data/ppo-pendulum.json``, for notebook 12) holds
the runs of ``benchmarks/ppo_pendulum.py --seeds 50 --lean``: SB3's seeds 0-49 and the engine's
(one population), each run cut by ``lean`` to its first 60 and last 100 returns. ``summarize(data, seeds)``
compares the given seeds (``CHOSEN_ON``, the seeds the preset was tuned on, can be left out;
``common_seeds`` gives those both ran). tests/test_ppo_pendulum.py trains engine seed 0 again
and gets its first 60 episodes.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Sequence

import numpy as np

from . import FINAL_WINDOW, read_data, save_json
from .blogruns import history   # a stored run (its episodes) as a History
from .ppo import _run
from ..history import PENDULUM_SOLVED   # -200, the bar of issue 26 (final mean return over 100 episodes)

__all__ = ["TOTAL_STEPS", "PENDULUM_SOLVED", "SB3_SETTINGS", "PRESET", "CHOSEN_ON", "FIRST_EPISODES",
           "run_sb3", "run_engine", "compute", "common_seeds", "reached_at", "summarize", "table", "save",
           "FILENAME", "lean", "load"]

TOTAL_STEPS = 100_000            # rl-zoo's n_timesteps for Pendulum-v1
PRESET = "ppo-pendulum"
FIRST_EPISODES = 60              # a lean run keeps its first 60 returns (3 rollouts: 4 envs x 15 episodes)
CHOSEN_ON = tuple(range(8))      # the seeds the preset's two changes were chosen on (presets.py)
_NO_SB3 = "stable-baselines3 is not installed: pip install 'acnotes[bench]', or pass --no-peer"
# rl-baselines3-zoo, hyperparams/ppo.yml, Pendulum-v1 (the rest: SB3's PPO defaults)
SB3_SETTINGS = dict(n_envs=4, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10, ent_coef=0.0,
                    learning_rate=1e-3, clip_range=0.2, use_sde=True, sde_sample_freq=4)


def run_sb3(seed: int, total_steps: int = TOTAL_STEPS) -> dict:
    """One run of stable-baselines3's PPO with rl-zoo's Pendulum-v1 settings; each episode's
    return and the env steps taken when it ended (its Monitor's episodes)."""
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

    s = dict(SB3_SETTINGS)
    t0 = time.perf_counter()
    env = make_vec_env("Pendulum-v1", n_envs=s.pop("n_envs"), seed=seed)
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **s)
    cb = Episodes()
    model.learn(total_timesteps=total_steps, callback=cb)
    env.close()
    return _run(seed, cb.returns, cb.steps, time.perf_counter() - t0)


def run_engine(seeds: Sequence[int], total_steps: int = TOTAL_STEPS) -> list[dict]:
    """The engine's ``ppo-pendulum`` preset for every seed, as one population; ``seconds``: the
    population's time divided by its members."""
    from ..config import preset
    from ..train import train_population

    t0 = time.perf_counter()
    configs = [preset(PRESET, seed=s, total_steps=total_steps) for s in seeds]
    pairs = train_population(configs, progress=False)
    share = (time.perf_counter() - t0) / len(configs)
    return [dict(_run(c.seed, h.episode_returns, h.episode_steps, share), status=h.status)
            for c, (_, h) in zip(configs, pairs)]


def compute(seeds: Sequence[int], total_steps: int = TOTAL_STEPS, peer: bool = True, engine: bool = True,
            log=print) -> dict:
    """SB3's runs seed by seed (``peer``), then the engine's population (``engine``), on one torch
    thread. ``runs["sb3"]``, ``runs["engine"]``: one dict per seed."""
    import torch

    if peer and importlib.util.find_spec("stable_baselines3") is None:   # before any training
        raise ValueError(_NO_SB3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    runs: dict[str, list[dict]] = {}
    try:
        if peer:
            runs["sb3"] = []
            for seed in seeds:
                r = run_sb3(seed, total_steps)
                runs["sb3"].append(r)
                if log:
                    log(f"seed {seed} sb3: final {_final(r):.1f}, {r['seconds']:.1f} s")
        if engine:
            t0 = time.perf_counter()
            runs["engine"] = run_engine(seeds, total_steps)
            if log:
                log(f"engine: {len(seeds)} members in {time.perf_counter() - t0:.0f} s")
    finally:
        torch.set_num_threads(threads)
    from ..config import preset
    return dict(total_steps=total_steps, seeds=[int(s) for s in seeds], threads=1,
                sb3=dict(SB3_SETTINGS) if peer else None,
                config=preset(PRESET, total_steps=total_steps).to_dict() if engine else None, runs=runs)


def _final(run: dict) -> float:
    return float(np.mean(run["episode_returns"][-FINAL_WINDOW:]))


def reached_at(run: dict) -> int | None:
    """The env steps at which the mean of the run's last 100 episodes first reached -200
    (``PENDULUM_SOLVED``); None if it never did. A ``lean`` run keeps it as ``reached_at``."""
    if "reached_at" in run:
        return run["reached_at"]
    hit = history(run).solved_at(PENDULUM_SOLVED, FINAL_WINDOW)
    return None if hit is None else int(hit[0])


NAMES = {"engine": "engine ppo-pendulum (one population)", "sb3": "SB3 PPO (rl-zoo, gSDE)"}


def common_seeds(data: dict) -> list[int]:
    """The seeds that every implementation of ``data`` ran (a side by side compares only those)."""
    sets = [{r["seed"] for r in runs} for runs in data["runs"].values()]
    return sorted(set.intersection(*sets)) if sets else []


def summarize(data: dict, seeds: Sequence[int] | None = None) -> dict[str, dict]:
    """Per implementation: ``solved`` (seeds whose final return, the mean of their last 100
    episodes, is >= ``PENDULUM_SOLVED``, -200) of ``n``, ``median_steps`` (over the solved seeds,
    the env steps at which their 100-episode mean first reached the bar, from their 100th episode
    on; None if none), ``median_final``, ``median_seconds`` and, beside SB3, ``time_ratio``
    (median seconds / SB3's); over ``seeds`` only if given."""
    out = {}
    for name, runs in data["runs"].items():
        runs = [r for r in runs if seeds is None or r["seed"] in seeds]
        solved = [r for r in runs if _final(r) >= PENDULUM_SOLVED]
        steps = [x for x in map(reached_at, solved) if x is not None]   # None: fewer than 100 episodes
        out[name] = dict(solved=len(solved), n=len(runs),
                         median_steps=float(np.median(steps)) if steps else None,
                         median_final=float(np.median([_final(r) for r in runs])),
                         median_seconds=float(np.median([r["seconds"] for r in runs])))
    peer = out.get("sb3")
    if peer:
        for s in out.values():
            s["time_ratio"] = s["median_seconds"] / peer["median_seconds"]
    return out


def table(data: dict, seeds: Sequence[int] | None = None) -> str:
    """The summary as a plain-text table, one row per implementation (over ``seeds`` if given)."""
    rows = [("", f"final >= {PENDULUM_SOLVED:.0f}", f"median env steps to {PENDULUM_SOLVED:.0f}",
             "median final return", "seconds per seed", "time vs SB3")]
    for name, s in summarize(data, seeds).items():
        ratio = f"{s['time_ratio']:.2f}" if "time_ratio" in s else "-"
        steps = "-" if s["median_steps"] is None else f"{s['median_steps']:,.0f}"
        rows.append((NAMES.get(name, name), f"{s['solved']} of {s['n']}", steps, f"{s['median_final']:.1f}",
                     f"{s['median_seconds']:.1f}", ratio))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)


save = save_json   # write the runs atomically

# ------------------------------------------------------------- the stored side by side
FILENAME = "ppo-pendulum.json"


def lean(data: dict) -> dict:
    """``data`` with each run cut to what the table needs and a retrained run can be checked
    against: its last 100 episode returns (``episode_returns``, so ``summarize`` reads it as it
    reads a whole run), ``episodes`` (how many it had: 508 for an engine run of 102,400 env steps,
    512 for SB3's, as the module's docstring explains), the env step of the last one's end,
    ``reached_at`` (when its 100-episode mean first reached -200, or None) and ``first_returns``
    (its first ``FIRST_EPISODES`` returns to two decimals, which a run trained again must give)."""
    def cut(r):
        return dict({k: v for k, v in r.items() if k not in ("episode_returns", "episode_steps")},
                    episodes=len(r["episode_returns"]), last_end=r["episode_steps"][-1],
                    reached_at=reached_at(r), first_returns=[round(x, 2) for x in r["episode_returns"][:FIRST_EPISODES]],
                    episode_returns=r["episode_returns"][-FINAL_WINDOW:])
    return dict(data, runs={name: [cut(r) for r in runs] for name, runs in data["runs"].items()})


def load() -> dict:
    """The stored side by side (``acnotes/data/ppo-pendulum.json``, ``lean`` runs): the engine's
    ``ppo-pendulum`` over seeds 0-49 as one population and SB3's PPO over the seeds in ``sb3_seeds`` (0-49)."""
    return read_data(FILENAME)
