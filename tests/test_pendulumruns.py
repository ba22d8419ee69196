"""The engine's stored Pendulum-v1 runs (notebook 11): complete, and reproducible from their start."""

from __future__ import annotations

import json

import numpy as np
import pytest

import acnotes as acn
from acnotes.__main__ import main
from acnotes.stored import pendulumruns


def test_stored_runs_cover_every_seed_and_preset():
    data = pendulumruns.load()
    assert data["seeds"] == list(pendulumruns.SEEDS) and data["total_steps"] == pendulumruns.TOTAL_STEPS
    assert sorted(data["runs"]) == sorted(pendulumruns.PRESETS)
    for name, runs in data["runs"].items():
        assert data["configs"][name] == acn.train.preset(name, total_steps=pendulumruns.TOTAL_STEPS).to_dict()
        assert [r["seed"] for r in runs] == list(pendulumruns.SEEDS), name
        for r in runs:
            steps, rets = np.asarray(r["episode_steps"]), np.asarray(r["episode_returns"])
            # every episode is cut at 200 steps, and the autoreset step follows: the 16 envs end one
            # each at 200 x 16 env steps, then every 201 x 16
            ends = steps.reshape(-1, 16)
            assert r["status"] == "done" and len(ends) > 150 and (ends == ends[:, :1]).all()
            assert ends[0, 0] == 200 * 16 and (np.diff(ends[:, 0]) == 201 * 16).all()
            assert ends[-1, 0] <= pendulumruns.TOTAL_STEPS + 16 * 32 < ends[-1, 0] + 201 * 16
            assert ((rets > -3254) & (rets <= 0)).all()


@pytest.mark.parametrize("name", pendulumruns.PRESETS)
def test_a_stored_run_starts_as_a_run_trained_now(name):
    """The seeds were trained as one population per preset; seed 1 alone, for its first 12,800
    env steps, must end the same episodes with the same returns (to the stored 0.01)."""
    stored = next(r for r in pendulumruns.load()["runs"][name] if r["seed"] == 1)
    _, h = acn.train.train(acn.train.preset(name, seed=1, total_steps=12_800), progress=False)
    n = len(h.episode_returns)
    assert n == 16 * 3            # 800 steps per env: episodes end at its steps 200, 401 and 602
    assert [round(r, 2) for r in h.episode_returns] == stored["episode_returns"][:n]
    assert h.episode_steps == stored["episode_steps"][:n]


def test_command_writes_runs_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "p.json"
    assert main(["pendulumruns", "--out", str(out), "--steps", "3200", "--seeds", "3", "--presets", "a2c-pendulum",
                 "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert data["seeds"] == [3] and list(data["runs"]) == ["a2c-pendulum"] and data["total_steps"] == 3200
    assert data["runs"]["a2c-pendulum"][0]["episode_steps"] == [3200] * 16
    before = out.read_text()
    with pytest.raises(SystemExit) as stop:
        main(["pendulumruns", "--out", str(out), "--steps", "3200"])
    assert stop.value.code == 2 and "--force" in capsys.readouterr().err and out.read_text() == before
