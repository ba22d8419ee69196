import matplotlib

matplotlib.use("Agg")

import ipywidgets as W
import pytest

from acnotes import widgets


def test_learning_panel_retrains_when_a_slider_moves():
    p = widgets.learning_panel(["a2c", "tdac"], preset="a2c", total_steps=1500, seeds=(0,))
    first = p.histories[0]
    assert first.config["gamma"] == pytest.approx(0.99)
    assert p.figure is not None and p.progress.value == 1.0
    p.controls["gamma"].value = 0.9
    assert p.histories[0] is not first
    assert p.histories[0].config["gamma"] == pytest.approx(0.9)
    p.controls["lr"].value = 1e-4
    assert p.histories[0].config["lr"] == pytest.approx(1e-4, rel=1e-6)
    p.controls["algo"].value = "tdac"
    assert p.histories[0].config["algo"] == "tdac"
    assert p.message.value.startswith("done in")


def test_panel_reports_bad_values_and_stays_usable():
    calls = []

    def draw(values, progress):
        calls.append(values["x"])
        if values["x"] < 0:
            raise ValueError("x must be >= 0, got %s" % values["x"])
        if values["x"] == 13:
            raise RuntimeError("unlucky")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots()
        ax.plot([0, values["x"]])
        return fig

    x = W.FloatText(value=1.0)
    p = widgets.Panel(draw, {"x": x})
    good = p.figure
    x.value = -1
    assert "Not run" in p.message.value and "x must be &gt;= 0" in p.message.value
    assert p.figure is good  # the last good plot stays
    x.value = 13
    assert "RuntimeError" in p.message.value
    x.value = 2
    assert p.message.value.startswith("done in") and p.figure is not good
    assert calls == [1.0, -1, 13, 2]


def test_diverging_run_is_reported_in_the_panel():
    p = widgets.learning_panel("a2c", preset="a2c", total_steps=600, seeds=(0,), auto=False,
                               reward_scale=1e30)
    p.redraw()
    assert p.histories[0].status == "diverged"
    assert "diverged" in p.message.value
    p.controls["gamma"].value = 0.95  # still usable
    assert p.histories[0].config["gamma"] == pytest.approx(0.95)
