"""The stored runs of the blog's settings: complete, and reproducible from their start."""

from __future__ import annotations

import json

import numpy as np
import pytest

import acnotes as acn
from acnotes.__main__ import main
from acnotes.stored import blogruns


def test_stored_runs_cover_every_seed_and_loss():
    data = blogruns.load()
    assert data["seeds"] == list(blogruns.SEEDS) and data["total_steps"] == blogruns.TOTAL_STEPS
    # a file written before Config had ``env`` lacks it (and ``log_std_init``): read as a saved config is
    assert acn.train.Config.from_dict(data["config"], strict=True) == acn.train.preset("blog-tdac",
                                                                                     total_steps=blogruns.TOTAL_STEPS)
    assert sorted(data["runs"]) == sorted(blogruns.LOSSES)
    for loss, runs in data["runs"].items():
        assert [r["seed"] for r in runs] == list(blogruns.SEEDS), loss
        for r in runs:
            steps, rets = np.asarray(r["episode_steps"]), np.asarray(r["episode_returns"])
            assert r["status"] == "done" and len(steps) == len(rets) > 100
            assert (np.diff(steps) > 0).all() and steps[-1] <= blogruns.TOTAL_STEPS
            assert ((rets >= 1) & (rets <= 500)).all()


@pytest.mark.slow
@pytest.mark.parametrize("loss", blogruns.LOSSES)
def test_a_stored_run_starts_as_a_run_trained_now(loss):
    """The members were trained as one population per loss; seed 1 alone, for its first
    3,000 steps, must end the same episodes with the same returns."""
    stored = next(r for r in blogruns.load()["runs"][loss] if r["seed"] == 1)
    cfg = acn.train.preset("blog-tdac", seed=1, total_steps=3_000, critic_loss=loss)
    _, h = acn.train.train(cfg, progress=False)
    n = len(h.episode_returns)
    assert n > 50
    assert h.episode_returns == stored["episode_returns"][:n]
    assert h.episode_steps == stored["episode_steps"][:n]


def test_history_of_a_stored_run():
    run = dict(seed=0, status="done", episode_returns=[10.0, 500.0, 500.0], episode_steps=[10, 510, 1010])
    h = blogruns.history(run)
    assert h.solved_at(475.0, window=2)[0] == 1010
    assert h.rolling_return(2).tolist() == [10.0, 255.0, 500.0]


def test_command_writes_runs_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert main(["blogruns", "--out", str(out), "--steps", "60", "--seeds", "3", "--loss", "mse", "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert data["seeds"] == [3] and list(data["runs"]) == ["mse"] and data["total_steps"] == 60
    assert data["runs"]["mse"][0]["episode_steps"][-1] <= 60
    before = out.read_text()
    with pytest.raises(SystemExit) as stop:
        main(["blogruns", "--out", str(out), "--steps", "60"])
    assert stop.value.code == 2 and "--force" in capsys.readouterr().err and out.read_text() == before
