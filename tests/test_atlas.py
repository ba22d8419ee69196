"""The panels' atlas (``acnotes.stored.atlas``): the stored runs are the runs a panel would train,
and every notebook panel finds its one-move settings and its first two controls' plane in it."""

import json
import types
from pathlib import Path

import numpy as np
import pytest

from acnotes.stored import atlas
from acnotes.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def _panel_calls(path: Path) -> list[dict]:
    """The keyword arguments of each ``acn.widgets.learning_panel(...)`` call in a notebook,
    found by running the call with a recorder in place of the panel."""
    calls = []

    def record(algos=("a2c",), preset=None, seeds=range(5), total_steps=100_000,
               controls=("gamma", "lr"), auto=True, **fixed):
        algos = [algos] if isinstance(algos, str) else list(algos)
        calls.append(dict(algos=algos, preset=preset, total_steps=total_steps, seeds=list(seeds),
                          controls=tuple(controls), **fixed))

    acn = types.SimpleNamespace(widgets=types.SimpleNamespace(learning_panel=record))
    for cell in json.loads(path.read_text())["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and "learning_panel(" in src:
            exec(compile(src, str(path), "exec"), {"acn": acn})
    return calls


NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if _panel_calls(p))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_panel_is_in_the_atlas(path):
    """Each notebook's panel is the one ``PANELS`` describes, and every setting one move from
    its default, and every combination of its first two controls, is stored (a changed preset
    or budget makes this fail: rerun ``python -m acnotes atlas --only NB --force``)."""
    (call,) = _panel_calls(path)
    spec = atlas.PANELS[path.name[:2]]
    assert call == spec.kwargs()
    missing = [c for c in atlas.settings(spec) if atlas.lookup([c.replace(seed=s) for s in spec.seeds]) is None]
    assert not missing, f"{len(missing)} settings of panel {path.name[:2]} are not stored, e.g. {missing[0]}"


@pytest.mark.slow
def test_a_stored_setting_is_what_training_gives():
    """Retrain stored settings (5 seeds as a population, as a panel does): the curves are
    those stored, to the 3 decimals kept. One setting one move from its default, one of the
    plane (both sliders moved)."""
    spec = atlas.PANELS["02"]
    one = atlas.star(spec)[-1]   # the last setting of the last algorithm: one move from its default
    (two,) = [c for c in atlas.plane(spec) if c.algo == "a2c" and c.gamma == 0.95 and c.lr == 5e-4]
    for cfg in (one, two):
        _retrain_and_compare(spec, cfg)


@pytest.mark.slow
def test_a_stored_pendulum_setting_is_what_training_gives():
    """Notebook 11's panel (Pendulum-v1, a Gaussian policy): one stored member, a setting one
    move from the default, trained again alone (a member follows its single run) gives the
    stored curve."""
    from acnotes.train import train

    spec = atlas.PANELS["11"]
    cfg = atlas.star(spec)[-2].replace(seed=3)
    assert cfg.env == "Pendulum-v1" and cfg.lr != atlas.base_config(cfg.algo, spec.preset, spec.total_steps).lr
    (stored,) = atlas.lookup([cfg])
    _, h = train(cfg, progress=False)
    np.testing.assert_allclose(atlas.curves([h], spec.total_steps)[0], stored.curve, atol=1e-3, equal_nan=True)
    assert h.status == stored.status


def _retrain_and_compare(spec, cfg):
    cfgs = [cfg.replace(seed=s) for s in spec.seeds]
    stored = atlas.lookup(cfgs)
    assert stored is not None
    from acnotes.train import train_population
    hists = [h for _, h in train_population(cfgs, progress=False)]
    fresh = atlas.curves(hists, spec.total_steps)
    np.testing.assert_allclose(fresh, np.stack([s.curve for s in stored]), atol=1e-3, equal_nan=True)
    assert [h.status for h in hists] == [s.status for s in stored]


def test_control_values_reach_what_the_notebooks_ask():
    tdac = atlas.base_config("tdac", "tdac", 150_000)
    assert {0.9, 0.98, 0.999, 1.0} <= set(atlas.control_values("gamma", tdac))
    assert tdac.lr in atlas.control_values("critic_lr", tdac)   # "lower the critic's lr to the actor's"
    assert {0.0, 1.0} <= set(atlas.control_values("lambda", tdac))
    assert 0.01 in atlas.control_values("entropy", tdac)
    qac = atlas.base_config("qac", "a2c", 50_000, lr=1e-3, critic_lr=1e-2)
    assert 1e-3 in atlas.control_values("critic_lr", qac)
    assert atlas.control_values("lr", tdac) == (4e-05, 8e-05, 2e-4, 4e-4, 8e-4, 2e-3, 4e-3)
    with pytest.raises(ValueError, match="unknown control 'momentum'"):
        atlas.control_values("momentum", tdac)


def test_star_skips_fields_an_algorithm_ignores():
    spec = atlas.PanelSpec(("tdac", "gae"), "tdac", 1000, ("lambda",))
    settings = atlas.star(spec)
    assert [c.algo for c in settings].count("tdac") == 1
    assert [c.algo for c in settings].count("gae") == len(atlas.control_values("lambda", settings[0]))


def test_plane_is_every_pair_of_the_first_two_controls():
    spec = atlas.PanelSpec(("tdac", "gae"), "tdac", 1000, ("lambda", "lr", "gamma"))
    tdac, gae = (atlas.base_config(a, "tdac", 1000) for a in ("tdac", "gae"))
    plane = atlas.plane(spec)
    assert all(c.algo == "gae" for c in plane)   # TD-AC ignores lambda: no plane of its own
    lams, lrs = atlas.control_values("lambda", gae), atlas.control_values("lr", gae)
    assert {(c.lam, c.lr) for c in plane} == {(u, v) for u in lams for v in lrs}
    assert len(plane) == len(lams) * len(lrs)
    assert all(c.gamma == gae.gamma for c in plane)   # the third control stays at its default
    both = atlas.settings(spec)
    keys = [atlas._key(c) for c in both]
    assert len(keys) == len(set(keys))            # star and plane overlap; stored once
    assert {atlas._key(c) for c in atlas.star(spec) + plane} == set(keys)
    assert atlas.plane(atlas.PanelSpec(("a2c",), "a2c", 1000, ("gamma",))) == []
    assert tdac in both


def test_a_panel_too_large_for_memory_trains_in_chunks(monkeypatch):
    """Members are split into populations that fit, and every member is trained once (a
    population of one is fine: a member follows its single run)."""
    from acnotes import population_checks, train
    cfgs = [atlas.base_config("a2c", "a2c", 256).replace(seed=s) for s in range(11)]
    per = train.memory_estimate(cfgs[:1])
    monkeypatch.setattr(population_checks, "_available_memory", lambda: int(5 * per / 0.4) + 1)
    chunks = atlas._chunks(cfgs)
    assert [len(c) for c in chunks] == [5, 5, 1]
    assert [c.seed for chunk in chunks for c in chunk] == list(range(11))
    monkeypatch.setattr(population_checks, "_available_memory", lambda: int(2 * per / 0.4) + 1)
    assert [len(c) for c in atlas._chunks(cfgs[:5])] == [2, 2, 1]
    monkeypatch.setattr(population_checks, "_available_memory", lambda: None)
    assert [len(c) for c in atlas._chunks(cfgs)] == [11]


def test_save_and_load_round_trip(tmp_path):
    spec = atlas.PanelSpec(("a2c",), "a2c", 256, ("gamma",), seeds=(0, 1))
    members = atlas.compute(spec, progress=False, log=lambda s: None)
    path = atlas.save(members, tmp_path / "t.json.gz")
    back = atlas.load(path)
    assert len(back) == len(members) == 2 * len(atlas.settings(spec))
    for cfg, s in members:
        np.testing.assert_allclose(back[atlas._key(cfg)].curve, s.curve, atol=5e-4, equal_nan=True)


def _run(*args) -> int:
    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:   # argparse's exit on a bad value
        rc = e.code
    return rc


def test_command_refuses_bad_input(tmp_path, capsys):
    assert _run("atlas", "--only", "99", "--out", tmp_path) == 2
    assert "no such panel" in capsys.readouterr().err
    assert _run("atlas", "--only", "01", "--out", tmp_path / "nope") == 2
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "01.json.gz").write_bytes(b"keep me")
    assert _run("atlas", "--only", "01", "--out", tmp_path) == 2
    err = capsys.readouterr().err
    assert "--force" in err and "--add" in err
    assert _run("atlas", "--only", "01", "--out", tmp_path, "--add") == 2
    assert "is not an atlas file" in capsys.readouterr().err
    assert (tmp_path / "01.json.gz").read_bytes() == b"keep me"


def test_add_trains_only_what_is_missing(tmp_path, monkeypatch):
    """``--add`` keeps the stored members (exactly, even if training would now differ) and
    trains the settings the file lacks; those equal the ones a full run stores."""
    spec = atlas.PanelSpec(("a2c",), "a2c", 256, ("gamma", "lr"), seeds=(0, 1))
    monkeypatch.setitem(atlas.PANELS, "99", spec)
    full = dict((atlas._key(c), s) for c, s in atlas.compute(spec, progress=False, log=lambda s: None))
    first = atlas.star(spec)[0]
    kept = {k: v for k, v in full.items() if json.loads(k)["gamma"] == first.gamma}
    marked = next(iter(kept))
    kept[marked] = atlas.Stored(np.full(atlas.POINTS, 123.0), "done", "marked")
    atlas.save([(atlas.Config(**json.loads(k)), v) for k, v in kept.items()], tmp_path / "99.json.gz")
    trained = []
    real = atlas.compute

    def counting(panel, progress=True, log=print, have=None, checkpoint=None):
        return real(panel, progress, log=trained.append, have=have, checkpoint=checkpoint)
    monkeypatch.setattr(atlas, "compute", counting)
    assert _run("atlas", "--only", "99", "--out", tmp_path, "--add", "--quiet") == 0
    back = atlas.load(tmp_path / "99.json.gz")
    assert set(back) == set(full)
    assert back[marked].message == "marked"        # kept, not retrained
    assert f"{len(full) - len(kept)} members to train ({len(kept)} stored)" in trained[0]
    for k in set(full) - set(kept):
        np.testing.assert_allclose(back[k].curve, full[k].curve, atol=5e-4, equal_nan=True)
    assert _run("atlas", "--only", "99", "--out", tmp_path, "--add", "--force") == 2
