"""The lr study stored for notebook 6: complete, reproducible grid point by grid point, drawn."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest

from acnotes import sweep
from acnotes.plots import sweep_sensitivity


def test_stored_study_covers_its_spec():
    spec, rows = sweep.load_study("lr")
    lrs = dict(spec["grid"])["lr"]
    assert len(lrs) >= 5 and len(spec["seeds"]) >= 5
    assert {(r["preset"], r["lr"], r["seed"]) for r in rows} == {
        (a, lr, s) for a in spec["algos"] for lr in lrs for s in spec["seeds"]}
    for r in rows:
        assert r["total_steps"] == spec["fixed"]["total_steps"] and r["algo"] == r["preset"]
        assert r["final_return"] is None or 0 < r["final_return"] <= 500
    # the command that made it is the one documented
    assert "--grid lr=1e-4:1e-2:5log" in sweep.STUDIES["lr"] and ",".join(spec["algos"]) in sweep.STUDIES["lr"]


@pytest.mark.slow
def test_one_grid_point_trained_again_gives_the_stored_rows():
    """The 5 seeds of one point, trained again as a population of their own (their Configs read
    from the stored rows), give exactly the stored returns: a member does not depend on the others."""
    _, rows = sweep.load_study("lr")
    stored = sweep.point_rows(rows, "a2c", lr=1e-3)
    fresh = sweep.rerun(stored)
    assert len(fresh) == len(stored) == 5
    for a, b in zip(fresh, stored):
        assert {k: a[k] for k in sweep.DETERMINISTIC} == {k: b[k] for k in sweep.DETERMINISTIC}


def test_unknown_study_and_point_are_named():
    with pytest.raises(ValueError, match="stored study for lr only"):
        sweep.load_study("gamma")
    _, rows = sweep.load_study("lr")
    with pytest.raises(ValueError, match="no rows for a2c at lr=0.5"):
        sweep.point_rows(rows, "a2c", lr=0.5)


def test_the_figure_has_a_line_and_a_band_per_algorithm():
    spec, rows = sweep.load_study("lr")
    fig = sweep_sensitivity(rows, "lr", "final_return")
    ax = fig.axes[0]
    from acnotes.plots import style
    ends = {t.get_text(): t.get_color() for t in ax.texts if t.get_text() in {style.name(a) for a in spec["algos"]}}
    assert ends == {style.name(a): style.color(a) for a in spec["algos"]}  # each labelled where it ends
    assert len(ax.collections) == len(spec["algos"]) and ax.get_xscale() == "log"
