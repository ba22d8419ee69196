"""Sensitivity maps: the stored maps are complete, reproducible cell by cell, and drawn."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import acnotes as acn
from acnotes.stored import sensitivity as S
from acnotes.__main__ import main


@pytest.mark.parametrize("algo", sorted(S.GRIDS))
def test_stored_map_covers_its_grid(algo):
    data = S.load(algo)
    grid = S.GRIDS[algo]
    assert data["grid"] == {k: list(v) if isinstance(v, tuple) else v for k, v in grid.items()}
    cells = {(m["gamma"], m["lr"], m["seed"]) for m in data["members"]}
    assert cells == {(g, lr, s) for g in grid["gammas"] for lr in grid["lrs"] for s in grid["seeds"]}
    cfg = acn.train.preset(grid["preset"])
    rollout = cfg.n_envs * cfg.n_steps
    last = -(-grid["total_steps"] // rollout) * rollout   # the last update's rollout ends at or past total_steps
    for m in data["members"]:
        assert len(m["curve"]) == len(data["curve_steps"])
        assert m["final"] is None or 0 < m["final"] <= 500
        assert m["solved_steps"] is None or 0 < m["solved_steps"] <= last


@pytest.mark.slow
def test_one_cell_trained_again_gives_the_stored_numbers():
    """The 75 members were one population; one cell's 3 seeds, trained as a population of
    their own, must give exactly the same returns (a member does not depend on the others)."""
    data = S.load("a2c")
    cell = (0.99, 2e-3)
    fresh = S.compute("a2c", progress=False, subset=[cell])
    stored = S.cell(data, *cell)
    assert len(fresh["members"]) == len(stored) == 3
    for a, b in zip(fresh["members"], stored):
        assert a == b


def test_unknown_cell_and_algo_are_named():
    with pytest.raises(ValueError, match="no cell gamma=0.5"):
        S.cell(S.load("a2c"), 0.5, 1e-3)
    with pytest.raises(ValueError, match="stored map for a2c, tdac only"):
        S.load("qac")


def test_panel_moves_the_marked_cell():
    p = acn.widgets.sensitivity_panel("a2c")
    assert (p.controls["gamma"].value, p.controls["lr"].value) == (0.99, 2e-3)  # the preset's cell

    def marked(fig):
        rect = [a for a in fig.axes[0].patches if a.get_gid() == "chosen"]
        return rect[0].get_xy()

    first = marked(p.figure)
    p.controls["lr"].value = 5e-3
    assert marked(p.figure)[0] == first[0] + 1 and "lr = 5e-3" in p.figure.axes[1].get_title(loc="left")
    p.controls["gamma"].value = 0.9
    assert marked(p.figure)[1] == first[1] - 3


def test_command_writes_a_map_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["sensitivity", "--algo", "tdac", "--steps", "64", "--out", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert data["algo"] == "tdac" and len(data["members"]) == 75 and data["grid"]["total_steps"] == 64
    before = out.read_text()
    with pytest.raises(SystemExit) as stop:
        main(["sensitivity", "--algo", "tdac", "--steps", "64", "--out", str(out), "--quiet"])
    assert stop.value.code == 2 and "--force" in capsys.readouterr().err and out.read_text() == before
