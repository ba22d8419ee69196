"""Studies (notebook 8): the stored data is complete, reproducible member by member, summed
up correctly, drawn, and the command writes it without clobbering."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

import acnotes as acn
from acnotes.stored import studies as S
from acnotes.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(S.STUDIES))
def test_stored_study_covers_its_spec(name):
    data = S.load(name)
    spec = S.STUDIES[name]
    assert data["spec"] == {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()}
    if spec["kind"] == "timescales":
        keys = {(m["slice"], m["ratio"], m["seed"]) for m in data["members"]}
        assert keys == {(s, r, seed) for s, r in S.points(spec) for seed in spec["seeds"]}
        for m in data["members"]:  # the slice's fixed lr is the preset's; the ratio is critic_lr / lr
            assert np.isclose(m["critic_lr"] / m["lr"], m["ratio"])
            assert np.isclose(m["lr"] if m["slice"] == "critic" else m["critic_lr"],
                              spec["lr"] if m["slice"] == "critic" else spec["critic_lr"])
    else:
        keys = {(m["n"], m["seed"]) for m in data["members"]}
        assert keys == {(n, seed) for n in spec["ns"] for seed in spec["seeds"]}
        assert all(m["n"] * m["n_envs"] == spec["per_update"] for m in data["members"])
    assert len(keys) == len(data["members"])
    for m in data["members"]:
        assert len(m["curve"]) == len(data["curve_steps"])
        assert m["final"] is None or 0 < m["final"] <= 500
        assert m["solved_steps"] is None or 0 < m["solved_steps"] <= spec["total_steps"]


@pytest.mark.slow
def test_a_rollout_length_trained_again_gives_the_stored_numbers():
    """Each n was a population of 6 seeds; 2 of them as a population of their own must give
    exactly the same numbers."""
    stored = S.select(S.load("rollouts-a2c"), n=4)[:2]
    fresh = S.compute("rollouts-a2c", progress=False, subset=[4], seeds=(0, 1))
    assert [m["seed"] for m in stored] == [0, 1]
    assert fresh["members"] == stored


@pytest.mark.slow
def test_a_ratio_trained_again_gives_the_stored_numbers():
    """The 108 members of the TD-AC study were one population; the preset's point (critic
    slice, ratio 12.5) for 2 seeds, trained alone, must give exactly the same numbers."""
    stored = S.select(S.load("timescales-tdac"), slice="critic", ratio=12.5)[:2]
    fresh = S.compute("timescales-tdac", progress=False, subset=[("critic", 12.5)], seeds=(0, 1))
    assert fresh["members"] == stored


def test_configs_follow_the_slices_and_the_budget():
    spec = S.STUDIES["timescales-tdac"]
    critic = S.configs(spec, ("critic", 0.5), seeds=(7,))[0]
    assert (critic.lr, critic.critic_lr, critic.seed) == (4e-4, 2e-4, 7)
    actor = S.configs(spec, ("actor", 50.0), seeds=(7,))[0]
    assert (actor.lr, actor.critic_lr) == (1e-4, 5e-3)
    roll = S.configs(S.STUDIES["rollouts-a2c"], 16)
    assert {(c.n_envs, c.n_steps) for c in roll} == {(8, 16)} and len(roll) == 6
    with pytest.raises(ValueError, match="does not divide"):
        S.configs(dict(S.STUDIES["rollouts-a2c"], per_update=100), 8)


def test_table_by_hand():
    members = [dict(n=2, seed=s, final=f, solved_steps=st, status=stat)
               for s, (f, st, stat) in enumerate([(500.0, 30_000, "done"), (None, None, "diverged"),
                                                   (200.0, None, "done"), (480.0, 50_000, "done")])]
    data = dict(study="x", spec=dict(kind="rollouts", ns=[2]), members=members)
    (row,) = S.table(data)
    assert row["finals"] == [500.0, 0.0, 200.0, 480.0] and row["mean"] == 295.0 and row["median"] == 340.0
    assert (row["solved"], row["seeds"], row["diverged"]) == (2, 4, 1)
    assert row["median_steps"] is None  # 2 of 4 never reached 475: the median is not a number of steps
    members[2]["solved_steps"] = 70_000
    assert S.table(data)[0]["median_steps"] == 60_000.0


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="stored study for timescales-tdac"):
        S.load("timescales-qac")
    with pytest.raises(ValueError, match="study must be one of"):
        S.compute("nope")
    with pytest.raises(ValueError, match="no point of rollouts-a2c matches"):
        S.compute("rollouts-a2c", subset=[3])
    with pytest.raises(ValueError, match="slice_='critic' or 'actor'"):
        S.table(S.load("timescales-a2c"))
    with pytest.raises(ValueError, match="no member of timescales-tdac"):
        S.select(S.load("timescales-tdac"), ratio=3.0)


def test_plots_draw_every_point():
    fig = acn.plots.timescales_plot(S.load("timescales-tdac"), S.load("timescales-a2c"))
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    means = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    assert len(means) == 2 and all(len(ln.get_xdata()) == 9 for ln in means)
    rows = S.table(S.load("timescales-tdac"), "critic")
    assert np.allclose(means[0].get_ydata(), [r["mean"] for r in rows])
    fig = acn.plots.rollouts_plot(S.load("rollouts-a2c"))
    rows = S.table(S.load("rollouts-a2c"))
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "o"]
    assert np.allclose(line.get_ydata(), [r["mean"] for r in rows])
    assert len(fig.axes[1].get_lines()) == 6 + 1   # one mean curve per n, and the 475 line


def test_command_writes_a_study_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["study", "rollouts-a2c", "--steps", "256", "--out", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert data["study"] == "rollouts-a2c" and len(data["members"]) == 36
    assert data["spec"]["total_steps"] == 256
    before = out.read_text()
    with pytest.raises(SystemExit) as stop:
        main(["study", "rollouts-a2c", "--steps", "256", "--out", str(out), "--quiet"])
    assert stop.value.code == 2 and "--force" in capsys.readouterr().err and out.read_text() == before


def test_permutation_p_by_hand():
    # complete separation, 3 against 3: only 2 of the C(6, 3) = 20 splits reach the difference
    assert S.permutation_p([10, 11, 12], [1, 2, 3]) == 2 / 20
    # identical groups: every split reaches a difference of 0
    assert S.permutation_p([1, 1], [1, 1]) == 1.0
    # [0, 3] vs [1, 2]: splits {0,3}|{1,2} and {1,2}|{0,3} give |diff| 0, the other 4 give 1 or 2
    assert S.permutation_p([0, 3], [1, 2]) == 1.0
    assert S.permutation_p([0, 1], [2, 3]) == 2 / 6
    with pytest.raises(ValueError, match="too many splits"):
        S.permutation_p(range(11), range(11))


def test_notebook_claim_on_the_bootstrap_weight_fails_when_nstep_targets_is_wrong(monkeypatch):
    """The notebook's cell that computes the critic's weight per rollout length, run as stored
    (it must pass) and with the bootstrap discounted once too often (it must fail)."""
    from acnotes.checks import CheckFailed

    cells = json.loads((ROOT / "notebooks" / "08-timescales-and-rollouts.ipynb").read_text())["cells"]
    (src,) = ["".join(c["source"]) for c in cells if c["cell_type"] == "code" and "by_hand = {n:" in "".join(c["source"])]
    ns = {"acn": acn, "np": np, "torch": torch, "final": {n: None for n in (1, 2, 4, 8, 16, 32)}}
    exec(src, dict(ns))
    orig = acn.returns.nstep_targets
    monkeypatch.setattr(acn.returns, "nstep_targets", lambda r, v, te, tr, gamma, n:
                        orig(r, v * gamma, te, tr, gamma, n))
    with pytest.raises(CheckFailed, match="the bootstrap weight"):
        exec(src, dict(ns))
