"""Panels that explain themselves, and a figure on every page (issue 22).

A panel's current setting is drawn solid in its algorithm's colour and earlier ones thin, in
looks that survive "clear"; a slider the chosen algorithm ignores is disabled; a stored or
remembered setting shows no progress bar, a live one says first how long it will take;
messages name seeds, never population members, and count every collapsed seed. In the
notebooks, test machinery is in cell tags, and every panel cell keeps a PNG of its default
view (``ACNOTES_NOTEBOOKS_DIR`` points the notebook checks at another folder, e.g. executed
copies).
"""

import json
import os
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import acnotes.widgets.training as T
from acnotes import widgets
from acnotes.stored import atlas
from acnotes.plots import style

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = Path(os.environ.get("ACNOTES_NOTEBOOKS_DIR") or ROOT / "notebooks")
PANEL_CALL = re.compile(r"\bacn\.widgets\.\w+_panel\(")


def _lines(p) -> dict:
    """label -> (colour, line style, width) of each labelled curve."""
    return {line.get_label(): (line.get_color().lower(), str(line.get_linestyle()), line.get_linewidth())
            for line in p.figure.axes[0].lines if not line.get_label().startswith("_")}


def _stored_panel(monkeypatch, tmp_path, spec):
    """The atlas replaced by one computed for ``spec`` (a tiny budget)."""
    atlas.save(atlas.compute(spec, progress=False, log=lambda s: None), tmp_path / "x.json.gz")
    monkeypatch.setattr(atlas, "_folder", lambda: tmp_path)
    monkeypatch.setattr(atlas, "_INDEX", None)


# ------------------------------------------------------------------------------ colours
def test_colours_stay_the_same_after_clear():
    p = widgets.learning_panel("a2c", preset="a2c", total_steps=640, seeds=(0, 1))
    gamma = p.controls["gamma"]
    for v in (0.9, 0.95, 0.97):
        gamma.value = v
    before = _lines(p)
    *thin, now = before
    assert before[now][0] == style.color("a2c").lower() and before[now][1] == "-"  # solid, its colour
    assert all(before[k][2] < before[now][2] for k in thin) and len(thin) == 3
    assert len({before[k][:2] for k in thin}) == 3, "earlier settings must be told apart"
    assert all(before[k][0] != before[now][0] for k in thin)
    p.clear_button.click()
    after_clear = _lines(p)
    assert list(after_clear) == ["A2C"] and after_clear["A2C"][:2] == before[now][:2]
    gamma.value = 0.99   # drawn before: thin curves of 0.97, then 0.99 solid
    gamma.value = 0.9    # 0.97 and 0.99 thin
    after = _lines(p)
    assert after["γ = 0.9"][0] == style.color("a2c").lower()
    assert after["γ = 0.99"][:2] == before["γ = 0.99"][:2], "a setting's look changed after clear"
    for v in (0.8, 0.95, 0.97, 0.98, 0.995, 0.99, 0.9):   # more settings than looks: the thin ones still differ
        gamma.value = v
    thin = [look[:2] for label, look in _lines(p).items() if look[0] != style.color("a2c").lower()]
    assert len(thin) == T.EARLIER_SHOWN and len(set(thin)) == len(thin)


# ------------------------------------------------------------------------------ disabled controls
def test_controls_an_algorithm_does_not_use_are_disabled():
    p = widgets.learning_panel(["tdac", "gae", "reinforce"], preset="tdac", total_steps=640, seeds=(0, 1),
                               controls=("gamma", "lr", "critic_lr", "lambda"), auto=False)
    c = p.controls
    assert c["lambda"].disabled and not c["critic_lr"].disabled and not c["gamma"].disabled
    assert "does not use lambda" in c["lambda"].tooltip
    c["algo"].value = "gae"
    assert not c["lambda"].disabled and p.source == "trained"
    c["algo"].value = "reinforce"
    assert c["lambda"].disabled and c["critic_lr"].disabled and not c["lr"].disabled
    c["algo"].value = "tdac"
    assert c["lambda"].disabled and not c["critic_lr"].disabled


# ------------------------------------------------------------------------------ messages
def test_collapsed_seeds_are_named_by_seed_and_all_counted():
    flat = np.full(atlas.POINTS, 9.4)
    good = np.linspace(20, 300, atlas.POINTS)
    runs = [atlas.Stored(flat, "diverged", "member 25 (seed 0, gamma 0.99, lr 0.02): loss became nan after "
                                           "12345 env steps; try a smaller lr (now 0.02) or gradient clipping"),
            atlas.Stored(good, "done"), atlas.Stored(flat, "done")]
    said = T.collapsed(runs, [0, 1, 2])
    assert said == ["seed 0 diverged (loss became nan) after 12.3k env steps", "seed 2 ended at a return of 9.4"]
    p = widgets.learning_panel("a2c", preset="a2c", total_steps=600, seeds=(3, 4), reward_scale=1e30)
    assert all(h.status == "diverged" for h in p.histories)
    msg = p.message.value
    assert "2 of 2 seeds collapsed" in msg and "seed 3 diverged" in msg and "seed 4 diverged" in msg
    assert "member" not in msg


# ------------------------------------------------------------------------------ progress bar, estimate
def test_stored_or_remembered_settings_show_no_progress_bar(monkeypatch, tmp_path):
    spec = atlas.PanelSpec(("a2c",), "a2c", 640, ("gamma",), seeds=(0, 1))
    _stored_panel(monkeypatch, tmp_path, spec)
    monkeypatch.setattr(T, "_RATES", {})
    p = widgets.learning_panel(**dict(spec.kwargs(), controls=("gamma", "lr")), auto=False)
    shown, messages = [], []
    p.progress.layout.observe(lambda ch: shown.append(ch.new), names="display")
    p.message.observe(lambda ch: messages.append(ch.new), names="value")
    p.redraw()
    p.controls["gamma"].value = 0.9
    p.controls["gamma"].value = 0.99
    assert [m for m in messages if "working" not in m] and shown == [], "a progress bar for a stored setting"
    assert p.source == "memo" and not p.training and "python -m acnotes atlas" in p.footnote.value
    stored_said = [m for m in messages if "from the stored runs" in m]
    assert len(stored_said) == 2 and not any("atlas" in m for m in stored_said)  # said once, in the footnote
    p.controls["lr"].value = p.controls["lr"].options[0][1]   # not stored: trains live
    assert p.source == "trained" and shown == ["flex", "none"]
    guess = [m for m in messages if m.startswith("training 2 seeds live, about ")]
    assert guess and guess[0].endswith(f"about {2 * 640 / T.FIRST_GUESS_RATE:.0f} s")
    assert T._RATES["a2c"] > 0 and T.estimate_seconds("a2c", 10 ** 6) == pytest.approx(10 ** 6 / T._RATES["a2c"])


# ------------------------------------------------------------------------------ what a reader sees
def test_a_panel_reads_as_a_sentence():
    import torch
    from acnotes import envs

    panels = [widgets.learning_panel("a2c", auto=False), widgets.sensitivity_panel("a2c", auto=False),
              widgets.variance_panel(envs.short_corridor(), torch.zeros(envs.short_corridor().n_features,
                                                                        dtype=torch.float64), K=20, auto=False)]
    for p in panels:
        text = p._repr_mimebundle_()["text/plain"]
        assert text == repr(p) and "run the notebook" in text and "(" not in text.split(":")[0][-1:]
        assert not text.startswith(("Panel(", "VBox(")) and len(text) <= 110


def test_variance_panel_keeps_the_previous_setting_beside_the_new():
    import torch
    from acnotes import envs

    mdp = envs.short_corridor()
    p = widgets.variance_panel(mdp, torch.zeros(mdp.n_features, dtype=torch.float64), K=20, B=4)
    g = p.controls["gamma"]
    steps = [v for _, v in g.options]
    assert all(b - a >= 0.01 - 1e-12 for a, b in zip(steps, steps[1:])) and len(steps) <= 8
    first = g.value
    g.value = next(v for v in steps if v != first)
    titles = [ax.get_title(loc="left") or ax.get_title() for ax in p.figure.axes]  # the series titles on the left
    assert titles[0].startswith(f"before: {style.setting('gamma', first)}") and titles[1].startswith("now: ")
    assert p.previous is not None and p.previous[0]["gamma"] == pytest.approx(first)


def test_a_panel_cell_keeps_its_default_view_as_png_when_executed(tmp_path):
    """Headless execution (nbclient): the panel's cell holds the controls (text form: the
    sentence) and the plot as image/png; a later slider move updates that same output."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    def run(*sources):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
        return nb

    first = "import acnotes as acn\np = acn.widgets.sensitivity_panel('a2c')\np"
    one = run(first)
    two = run(first, "p.controls['lr'].value = p.controls['lr'].options[0][1]")
    outs = one.cells[0].outputs
    assert [o.output_type for o in outs] == ["display_data", "display_data"]
    assert outs[0].data["text/plain"].startswith("sensitivity panel") and "image/png" in outs[1].data
    assert two.cells[1].outputs == []   # the move redrew the plot where it is, in the first cell
    assert two.cells[0].outputs[1].data["image/png"] != outs[1].data["image/png"]


# ------------------------------------------------------------------------------ the notebooks
def _cells():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            yield path.name, i, cell


def _panel_cells():
    return [(n, i, c) for n, i, c in _cells() if c["cell_type"] == "code" and PANEL_CALL.search("".join(c["source"]))]


def test_no_cell_source_carries_test_machinery():
    bad = [(n, i) for n, i, c in _cells() if "NBVAL" in "".join(c["source"])]
    assert not bad, f"NBVAL text in cell sources (use cell tags): {bad}"


def test_every_panel_cell_is_tagged():
    cells = _panel_cells()
    assert len(cells) >= 9
    untagged = [(n, i) for n, i, c in cells if "nbval-ignore-output" not in c["metadata"].get("tags", [])]
    assert not untagged, f"panel cells without the nbval-ignore-output tag: {untagged}"


def test_every_panel_cell_stores_an_image_of_its_default_view():
    """Passes once the notebooks are executed with this package (make execute)."""
    missing = [(n, i) for n, i, c in _panel_cells()
               if not any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]
    assert not missing, f"panel cells without a stored image/png: {missing}"
    texts = ["".join(o["data"]["text/plain"]) for _, _, c in _panel_cells() for o in c["outputs"]
             if "text/plain" in o.get("data", {})]
    assert not [t for t in texts if t.startswith(("Panel(", "VBox("))], "a panel's widget text form is shown"
