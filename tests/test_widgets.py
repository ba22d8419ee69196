import matplotlib

matplotlib.use("Agg")

import ipywidgets as W
import pytest

from acnotes import widgets


def _labels(p):
    """The labels of the drawn curves, oldest first (the current setting last)."""
    return [line.get_label() for line in p.figure.axes[0].lines if not line.get_label().startswith("_")]


def test_learning_panel_retrains_when_a_slider_moves():
    p = widgets.learning_panel(["a2c", "tdac"], preset="a2c", total_steps=1500, seeds=(0,))
    first = p.histories[0]
    assert first.config["gamma"] == pytest.approx(0.99)
    assert p.figure is not None and not p.training
    p.controls["gamma"].value = 0.9
    assert p.histories[0] is not first
    assert p.histories[0].config["gamma"] == pytest.approx(0.9)
    assert p.controls["lr"].options[0][0] == "2e-4"   # the readout is the value used
    p.controls["lr"].value = 2e-4
    assert p.histories[0].config["lr"] == 2e-4
    p.controls["algo"].value = "tdac"
    assert p.histories[0].config["algo"] == "tdac"
    assert "trained now" in p.message.value and p.source == "trained"


def test_learning_panel_memoizes_and_keeps_earlier_settings():
    p = widgets.learning_panel(["a2c", "gae"], preset="a2c", total_steps=640, seeds=(0, 1, 2),
                               controls=("gamma", "lr", "lambda", "critic_lr", "entropy", "n_steps"))
    assert len(p.histories) == 3 and [h.config["seed"] for h in p.histories] == [0, 1, 2]
    first, first_runs = p.histories, p.runs
    p.controls["gamma"].value = 0.9
    second = p.histories
    assert second is not first and len(p.trail) == 2
    assert _labels(p) == ["γ = 0.99", "γ = 0.9"]   # thin: the earlier setting, solid: the current
    runs = p.runs
    p.controls["gamma"].value = 0.99
    assert p.source == "memo" and p.histories == [] and p.runs is first_runs  # memoized, not a new run
    assert "drawn before" in p.message.value
    assert len(p.results) == 2 and runs is not first_runs
    p.clear_button.click()
    assert len(p.trail) == 1
    assert _labels(p) == ["A2C"]
    p.controls["lambda"].value = 0.5  # A2C ignores lambda: nothing trains
    assert p.source == "memo" and not any("λ" in t for t in _labels(p))
    p.controls["algo"].value = "gae"
    assert p.source == "trained" and p.histories[0].config["lam"] == 0.5
    p.controls["n_steps"].value = 8
    assert p.histories[0].config["n_steps"] == 8


def test_learning_panel_rejects_unknown_controls():
    with pytest.raises(ValueError, match="unknown control"):
        widgets.learning_panel("a2c", controls=("gamma", "momentum"), auto=False)
    with pytest.raises(ValueError, match=r"window=50: a panel draws the mean of the last 20 episodes"):
        widgets.learning_panel("a2c", window=50, auto=False)


def test_interrupt_stops_every_seed_and_says_so(monkeypatch):
    import acnotes.widgets.training as T
    real = T.train_population

    def interrupted(cfgs, progress=False, callback=None):
        def stop(hists):
            raise KeyboardInterrupt
        return real(cfgs, progress=progress, callback=stop)

    monkeypatch.setattr(T, "train_population", interrupted)
    p = widgets.learning_panel("a2c", preset="a2c", total_steps=640, seeds=(0, 1))
    assert "Interrupted" in p.message.value and p.results == {}


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
    assert "1 of 1 seeds collapsed" in p.message.value and "seed 0 diverged" in p.message.value
    assert "trained now" in p.message.value
    p.controls["gamma"].value = 0.95  # still usable
    assert p.histories[0].config["gamma"] == pytest.approx(0.95)


def test_panel_shows_partial_curves_while_it_trains(monkeypatch):
    shown = []
    real = widgets.Panel._show
    monkeypatch.setattr(widgets.Panel, "_show", lambda self, fig: (shown.append(self.message.value), real(self, fig)))
    p = widgets.learning_panel("a2c", preset="a2c", total_steps=2560, seeds=(0, 1))
    partial = [m for m in shown if m.startswith("<i>training:")]
    assert len(partial) >= 2 and len(shown) == len(partial) + 1  # partial plots, then the final one
    assert "trained now" in p.message.value


def test_stored_settings_draw_without_training(monkeypatch, tmp_path):
    """A setting found in the atlas is drawn from it; the trainer is not called."""
    from acnotes.stored import atlas
    import acnotes.widgets.training as T

    spec = atlas.PanelSpec(("a2c",), "a2c", 640, ("gamma",), seeds=(0, 1))
    members = atlas.compute(spec, progress=False, log=lambda s: None)
    atlas.save(members, tmp_path / "x.json.gz")
    monkeypatch.setattr(atlas, "_folder", lambda: tmp_path)
    monkeypatch.setattr(atlas, "_INDEX", None)
    monkeypatch.setattr(T, "train_population", lambda *a, **k: pytest.fail("trained a stored setting"))
    p = widgets.learning_panel(**spec.kwargs())
    assert p.source == "stored" and "stored" in p.message.value
    for v in atlas.control_values("gamma", atlas.base_config("a2c", "a2c", 640)):
        p.controls["gamma"].value = v
        assert p.source in ("stored", "memo")
    assert len(p.trail) == len(atlas.star(spec))


def _solved_lines(ax):
    """(value, colour, line style, width) of each horizontal reference line, and the labels that say "solved"."""
    lines = [(line.get_ydata()[0], line.get_color(), line.get_linestyle(), line.get_linewidth()) for line in ax.lines
             if len(set(line.get_ydata())) == 1 and list(line.get_xdata()) == [0, 1]]
    return lines, [t.get_text() for t in ax.texts if "solved" in t.get_text()]


def test_a_pendulum_panel_draws_pendulums_returns():
    """With a Pendulum preset the panel trains the Gaussian policy and draws the returns on
    [-1600, 0] with Pendulum's solved line (history.PENDULUM_SOLVED, -200) drawn and labelled as
    CartPole's 475 is, and a low return is no collapse (only divergence is); the same panel on
    CartPole keeps its [0, 500] and its line at 475."""
    from acnotes.history import PENDULUM_SOLVED

    p = widgets.learning_panel(["gae", "a2c"], preset="gae-pendulum", total_steps=3_200, seeds=(0, 1),
                               controls=("lr",))
    assert p.histories[0].config["env"] == "Pendulum-v1" and p.histories[0].episode_returns
    ax = p.figure.axes[0]
    assert ax.get_ylim()[0] == -1600 and ax.get_ylim()[1] > 0
    pend_lines, pend_labels = _solved_lines(ax)
    assert [v for v, *_ in pend_lines] == [PENDULUM_SOLVED] == [-200] and pend_labels == ["solved (\N{MINUS SIGN}200)"]   # the ticks' minus
    assert max(h.episode_returns[-1] for h in p.histories) < -15 and "collapsed" not in p.message.value
    c = widgets.learning_panel("a2c", preset="a2c", total_steps=600, seeds=(0,))
    ax = c.figure.axes[0]
    cart_lines, cart_labels = _solved_lines(ax)
    assert ax.get_ylim() == (0, 505) and cart_labels == ["solved (475)"]
    assert [look for _, *look in pend_lines] == [look for _, *look in cart_lines]   # the same dotted grey line
