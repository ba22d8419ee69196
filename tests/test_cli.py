"""The command line: ``acnotes.__main__.main`` in-process (a subprocess would import torch again,
about 5 s a command). The process itself (``python -m acnotes``, its exit codes, SIGTERM, the
imports of ``--help``) is tested in tests/test_cli_help.py, tests/test_bad_input.py and
tests/test_variance_cli.py."""

import json

import matplotlib
import matplotlib.image
import pytest

matplotlib.use("Agg")


def test_every_option_of_every_command_has_help_text():
    import argparse

    from acnotes.__main__ import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"train", "evaluate"} <= set(sub.choices)
    for name, p in sub.choices.items():
        for action in p._actions:
            assert action.help and action.help.strip(), f"{name} {action.option_strings or action.dest} has no help"
    rc, text, _ = main("train", "--help")
    assert rc == 0 and "--gamma" in text


def main(*args):
    """The command in-process (faster than a subprocess): (exit status, stdout, stderr)."""
    import contextlib
    import io

    from acnotes.__main__ import main as acn_main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = acn_main([str(a) for a in args])
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def test_train_writes_history_plot_and_agents_then_evaluate(tmp_path):
    import numpy as np

    from acnotes.agent import Agent

    out = tmp_path / "run"
    rc, text, err = main("train", "--algo", "tdac", "--gamma", "0.98", "--lr", "1e-3", "--seeds", "0", "1",
                         "--steps", "400", "--n-envs", "4", "--out", str(out), "--quiet", "--format", "csv")
    assert rc == 0, err
    assert "seed 0: done" in text and "seed 1: done" in text
    meta = json.loads((out / "run.json").read_text())
    assert meta["config"]["gamma"] == 0.98 and meta["seeds"] == [0, 1]
    assert meta["finished"] == [0, 1] and meta["status"] == {"0": "done", "1": "done"}
    for s in (0, 1):
        rows = (out / f"history-seed{s}.csv").read_text().splitlines()
        assert rows[0] == "episode,return,length,env_steps" and len(rows) > 5
        assert sum(int(r.split(",")[2]) for r in rows[1:]) <= 400  # episode lengths fit the budget
        agent = Agent.load(out / f"agent-seed{s}")
        assert agent.config.to_dict() == {**meta["config"], "seed": s}
    png = out / "learning_curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(png)  # decodes: a drawn figure, not an empty canvas
    assert image.shape[0] > 100 and image.shape[1] > 100 and float(image[..., :3].std()) > 0.01

    rc, text, _ = main("evaluate", out / "agent-seed0", "--episodes", "3", "--seed", "1")
    r = Agent.load(out / "agent-seed0").evaluate(3, seed=1)
    assert rc == 0 and f"mean return {np.mean(r):.1f} +- {np.std(r):.1f} (std) over 3 episodes" in text
    rc, text, _ = main("evaluate", out, "--episodes", "2", "--sample")
    assert rc == 0 and text.count("mean return") == 2 and "sampled" in text


def test_train_json_history_and_preset(tmp_path):
    from acnotes import Config, History
    from acnotes.train import train

    out = tmp_path / "blog"
    assert main("train", "--preset", "blog-tdac", "--steps", "300", "--out", out, "--quiet")[0] == 0
    path = out / "history-seed0.json"
    h = json.loads(path.read_text())
    assert h["config"]["lr"] == 2e-4 and h["config"]["reward_scale"] == 0.01
    assert h["config"]["activation"] == "relu" and h["status"] == "done"
    assert h["steps"][-1] >= 300
    # the JSON round trip: History.load gives back every field, and saves the same text again
    loaded = History.load(path)
    assert loaded.to_dict() == h
    assert loaded.save(tmp_path / "again.json").read_text() == path.read_text()
    # its numbers are those of the same run in-process (the command adds nothing of its own)
    _, same = train(Config.from_dict(h["config"]), progress=False)
    for name in ("steps", "actor_loss", "critic_loss", "entropy", "episode_returns", "episode_steps"):
        assert getattr(loaded, name) == getattr(same, name), name
    assert len(loaded.actor_loss) == len(loaded.steps) > 0


@pytest.mark.parametrize("args, budget", [(["--preset", "ppo"], 300_000), (["--preset", "a2c"], 100_000),
                                          ([], 100_000), (["--preset", "ppo", "--steps", "5000"], 5_000)])
def test_train_without_steps_keeps_the_presets_budget(tmp_path, monkeypatch, args, budget):
    """ppo's total_steps is the length of its schedules (lr and clip fall to 0 over it): without
    --steps the command trains over it, not over the 100000 of presets without a budget."""
    import acnotes.train as T
    seen, real = [], T.train

    def short(cfg, **kw):   # the budget asked for, then a short run
        seen.append(cfg.total_steps)
        return real(cfg.replace(total_steps=256), **kw)
    monkeypatch.setattr(T, "train", short)
    rc, _, err = main("train", *args, "--out", tmp_path / "run", "--quiet")
    assert rc == 0, err
    assert seen == [budget]


def test_train_on_pendulum_draws_its_returns_range(tmp_path, monkeypatch):
    """On Pendulum-v1 (negative returns) the learning curve spans Pendulum's range, with
    Pendulum's solved line (-200) instead of CartPole's 475, and its title names the env
    (CartPole's [0, 500] hid every curve)."""
    from acnotes import plots
    from acnotes.history import PENDULUM_SOLVED
    seen = {}
    draw = plots.learning_curves

    def spy(runs, **kw):
        seen.update(kw)
        return draw(runs, **kw)
    monkeypatch.setattr(plots, "learning_curves", spy)
    out = tmp_path / "pend"
    rc, _, err = main("train", "--preset", "a2c-pendulum", "--n-envs", "2", "--steps", "600", "--out", out, "--quiet")
    assert rc == 0, err
    assert seen["yrange"] == plots.continuous.PENDULUM_RANGE and seen["target"] == PENDULUM_SOLVED == -200
    assert "Pendulum-v1" in seen["title"]
    assert (out / "learning_curve.png").exists()


def test_train_draws_a_ppo_preset_as_ppo(tmp_path, monkeypatch):
    """The ppo preset trains GAE(λ)'s Ψ_t with PPO's loss (algo "gae", epochs 20): its learning
    curve and title say PPO, in PPO's colour, not GAE(λ)."""
    from acnotes import plots
    seen = {}
    draw = plots.learning_curves

    def spy(runs, **kw):
        seen.update(runs=list(runs), **kw)
        return draw(runs, **kw)
    monkeypatch.setattr(plots, "learning_curves", spy)
    rc, _, err = main("train", "--preset", "ppo", "--n-envs", "2", "--steps", "600", "--out", tmp_path / "ppo", "--quiet")
    assert rc == 0, err
    assert seen["runs"] == ["ppo"] and seen["title"].startswith("PPO on CartPole-v1")


@pytest.mark.parametrize("args, words", [
    (["train", "--gamma", "1.5", "--out", "X"], "--gamma must be in [0, 1], got 1.5"),
    (["train", "--lr", "0", "--out", "X"], "--lr must be a finite number > 0, got 0.0"),
    (["train", "--algo", "sarsa", "--out", "X"], "--algo must be one of"),
    (["train", "--steps", "0", "--out", "X"], "argument --steps: expected an integer in [1, 1000000000000], got '0'"),
    (["train", "--shared", "maybe", "--out", "X"], "argument --shared: expected true or false"),
    (["evaluate", "NOWHERE"], "holds no saved agent"),
    (["evaluate", "NOWHERE", "--episodes", "0"], "argument --episodes: expected an integer in [1, 1000000]"),
])
def test_bad_input_gives_a_clear_error_not_a_traceback(tmp_path, args, words):
    args = [str(tmp_path / a) if a in ("X", "NOWHERE") else a for a in args]
    rc, _, err = main(*args)
    assert rc == 2
    assert words in err.strip().splitlines()[-1]
    assert not (tmp_path / "X").exists()  # nothing half-written
