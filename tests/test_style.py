"""The series' one visual language, checked on every figure the package draws (``acnotes.plots``)
with small inputs or the stored data the notebooks plot:

(a) every algorithm named in a figure is drawn in its one colour (``style.color``), and nothing
    that is not an algorithm borrows an algorithm's colour;
(b) no text is smaller than 11 px as displayed (size in pt * dpi / 72, tick labels included);
(c) no legend sits on plotted data;
and the notebooks draw only through ``acnotes.plots`` (no matplotlib calls in their cells).

Each checker is itself shown to fail on a broken figure (the ``test_checker_*`` tests).
"""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mc
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.text import Text

from acnotes import plots
from acnotes.plots import style
from acnotes.train import History
from acnotes.variance import VarianceTable

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
MIN_PX = 11.0
ALGO_COLORS = {mc.to_hex(look.color) for look in style.ALGORITHMS.values()}


# ----------------------------------------------------------------------------- the checkers
def _hex(c) -> str | None:
    try:
        return mc.to_hex(c)
    except (ValueError, TypeError):
        return None


def _algorithm(text: str) -> str | None:
    """The algorithm key a text names: the whole text is a display name or key."""
    t = text.strip()
    return t if t in style.ALGORITHMS else next((k for k, lk in style.ALGORITHMS.items() if lk.name == t), None)


def _mentions(text: str, color: str) -> bool:
    """Whether ``text`` names (in part) an algorithm whose colour is ``color``: "Q-AC, lr = 1e-3",
    a variant of Q-AC, may be drawn in Q-AC's colour."""
    return any(lk.name in text and mc.to_hex(lk.color) == color for lk in style.ALGORITHMS.values())


def colour_problems(fig) -> list[str]:
    """(a): labelled lines, texts (labels at line ends, tick labels, titles) and legend entries
    naming an algorithm must be in its colour; a named thing that is no algorithm must not
    take an algorithm's colour."""
    bad = []

    def check(what: str, label: str, color) -> None:
        label = label.replace("\n", " ")
        algo, got = _algorithm(label), _hex(color)
        if got is None or label.startswith("_"):
            return
        if algo is not None and got != mc.to_hex(style.color(algo)):
            bad.append(f"{what} {label!r} in {got}, not {style.color(algo)}")
        if algo is None and label and got in ALGO_COLORS and not _mentions(label, got):
            bad.append(f"{what} {label!r} is no algorithm but is in an algorithm's colour {got}")

    for ax in fig.axes:
        for line in ax.get_lines():
            check("line", line.get_label(), line.get_color())
        for t in ax.texts:
            check("text", t.get_text(), t.get_color())
        for t in ax.get_xticklabels() + ax.get_yticklabels():
            if _algorithm(t.get_text()) is not None:
                check("tick label", t.get_text(), t.get_color())
        legend = ax.get_legend()
        if legend is not None:
            for handle, t in zip(legend.legend_handles, legend.get_texts()):
                c = handle.get_color() if hasattr(handle, "get_color") else handle.get_facecolor()
                check("legend entry", t.get_text(), c)
    return bad


def small_texts(fig) -> list[str]:
    """(b): every visible text, tick labels included, at least MIN_PX px as displayed."""
    fig.canvas.draw()
    bad = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        px = t.get_fontsize() * fig.dpi / 72
        if px < MIN_PX - 1e-6:
            bad.append(f"{t.get_text()!r}: {px:.1f} px")
    return bad


def legends_on_data(fig) -> list[str]:
    """(c): no point of a plotted line lies under a legend (in display coordinates)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bad = []
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            for line in ax.get_lines():
                xy = np.column_stack([np.asarray(v, dtype=float) for v in line.get_data()])
                xy = xy[np.isfinite(xy).all(axis=1)]
                if not len(xy):
                    continue
                pts = ax.transData.transform(xy)
                inside = ((pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1))
                if inside.any():
                    bad.append(f"legend over {inside.sum()} points of {line.get_label()!r}")
    return bad


# ----------------------------------------------------------------------------- the figures
def _hist(returns, steps):
    return History(episode_returns=list(returns), episode_lengths=[1] * len(returns),
                   episode_steps=list(steps), steps=[steps[-1]], time=[1.0])


def _runs(algos, seeds=3, n=60):
    rng = np.random.default_rng(0)
    steps = np.arange(1, n + 1) * 500
    return {a: [_hist(np.clip(np.linspace(10, 400, n) + rng.normal(0, 60, n), 0, 500), steps) for _ in range(seeds)]
            for a in algos}


def _table(estimators, sweep=None, values=(None,)):
    rows = []
    for v in values:
        for k, e in enumerate(estimators):
            r = dict(estimator=e, env="random(5x3)", K=100, B=16, gamma=0.9, lam=0.95, critic_noise=0.3,
                     variance=0.5 / (k + 1) * (1 + (v or 0)), bias_sq=0.01 * k, mse=0.5 / (k + 1) + 0.01 * k,
                     bias_sq_noise=0.001, bias_ratio=1.0 + 10 * k)
            if sweep:
                r[sweep] = v
            rows.append(r)
    return VarianceTable(rows=rows, grads=[np.zeros((2, 3))] * len(rows), references=[np.zeros(3)] * len(rows),
                         meta={"env": "random(5x3)", **({"sweep": sweep} if sweep else {})})


ESTIMATORS = ["reinforce", "reinforce_baseline", "qac", "a2c", "tdac", "gae"]


def _stored_rows(n_seeds=3, points=11, start=20.0):
    return [dict(seed=s, curve=[None] + list(np.linspace(start, 300 + 20 * s, points - 1)),
                 entropy=list(np.linspace(0.69, 0.2 + 0.05 * s, points - 1))) for s in range(n_seeds)]


def _figures():
    """name -> a function drawing one figure of every kind the package draws."""
    from acnotes import sweep
    from acnotes.stored import ablations, blogruns, centring, sensitivity, studies

    p = np.linspace(0.02, 0.98, 50)
    figs = {
        "learning_curves": lambda: plots.learning_curves(_runs(["reinforce", "a2c", "tdac"]), title="t"),
        "learning_curves, settings": lambda: plots.learning_curves(
            {style.setting("lr", 1e-3): _runs(["x"])["x"], style.setting("lr", 1e-2): _runs(["x"])["x"]}, title="t"),
        "learning_curves, 7 labels": lambda: plots.learning_curves(_runs(ESTIMATORS + ["qac_baseline"], seeds=2)),
        "learning_curves, minmax": lambda: plots.learning_curves(_runs(["bug 1", "bug 2"], seeds=2), band="minmax",
                                                                  top=100, target=None),
        "learning_grid": lambda: plots.learning_grid(_runs(["reinforce", "qac", "a2c", "tdac", "gae"]), title="t"),
        "stored_curves": lambda: plots.stored_curves(np.linspace(0, 1e5, 11), {"detached": _stored_rows(),
                                                                               "not detached": _stored_rows()}),
        "entropy_plot": lambda: plots.entropy_plot(np.linspace(0, 1e5, 11), {0.0: _stored_rows(), 0.1: _stored_rows()}),
        "corridor_value": lambda: plots.corridor_value(p, -10 - 1 / p - 1 / (1 - p), optimum=(0.59, -11.6),
                                                       marks={"eps-greedy left": (0.05, -82.0)}),
        "corridor_learning": lambda: plots.corridor_learning({"alpha = 2^-12": np.random.default_rng(0).normal(-20, 5, (10, 50)),
                                                              "alpha = 2^-13": np.random.default_rng(1).normal(-30, 5, (10, 50))},
                                                             optimum=-11.6),
        "td_convergence": lambda: plots.td_convergence([0, 100, 200], [1.0, 0.3, 0.05]),
        "critic_error": lambda: plots.critic_error(np.linspace(0, 3, 7), np.linspace(0, 40, 7), np.linspace(0, 0.9, 7)),
        "variance_bars": lambda: plots.variance_bars(_table(ESTIMATORS)),
        "variance_compare": lambda: plots.variance_compare({"exact": _table(ESTIMATORS), "noisy": _table(ESTIMATORS)}),
        "variance_sweep B": lambda: plots.variance_sweep(_table(["reinforce", "tdac"], "B", (1, 4, 16))),
        "variance_sweep gamma": lambda: plots.variance_sweep(_table(["reinforce", "reinforce_baseline", "tdac"], "gamma",
                                                                    (0.5, 0.9, 0.99))),
        "gae_lambda": lambda: plots.gae_lambda(_table(["gae"], "lam", (0.0, 0.5, 1.0)), _table(["gae"], "lam", (0.0, 0.5, 1.0))),
        "variance_training": lambda: plots.variance_training({0: _table(ESTIMATORS[:4] + ["gae"]),
                                                              5000: _table(ESTIMATORS[:4] + ["gae"]),
                                                              140_000: _table(ESTIMATORS[:4] + ["gae"])}),
        "value_curves (nb 9)": lambda: plots.value_curves(
            {"with I (the box)": np.random.default_rng(0).normal(9, 0.3, (10, 40)),
             "without I": np.random.default_rng(1).normal(6.5, 0.3, (10, 40)),
             "REINFORCE + baseline": np.random.default_rng(2).normal(8, 0.3, (10, 40))},
            references={"J = 10 at p = 1, the best": 10.0, "J = 6.21 at p = 0, the worst": 6.21}, title="t"),
        "lqr_objective (nb 11)": lambda: plots.lqr_objective(
            np.linspace(0.3, 3.5, 50), {"σ = 0.1": -np.linspace(3, 1, 50), "σ = 1": -np.linspace(5, 3, 50)},
            mc={"σ = 0.1": ([0.5, 2.0], [-2.9, -1.7], [0.1, 0.1])}, k_star=1.1, title="t"),
        "variance_by_sigma (nb 11)": lambda: plots.variance_by_sigma(
            [0.05, 0.2, 1.0], {"reinforce": [100.0, 10.0, 30.0], "baseline": [0.01, 0.1, 2.0],
                               "advantage": [0.01, 0.08, 1.5], "pathwise": [0.001, 0.02, 0.3]}, B=16, title="t"),
        "pendulum_runs (nb 11)": lambda: plots.pendulum_runs(dict(total_steps=4000, runs=[
            dict(status="done", episode_returns=list(np.linspace(-1200, -400 - 50 * s, 20)),
                 episode_steps=list(np.arange(1, 21) * 200)) for s in range(3)]), title="t"),
        "offpolicy_bias_variance (nb 12)": lambda: plots.offpolicy_bias_variance(
            [0.0, 0.1, 0.5], {"PPO's ratio": [dict(bias_sq=b, variance=0.1) for b in (0.0, 0.01, 0.03)],
                              "whole-episode ratio": [dict(bias_sq=0.0, variance=v) for v in (0.1, 0.2, 0.3)]},
            exact_bias_sq=[0.0, 0.01, 0.03], title="t"),
        "epochs_gain (nb 12)": lambda: plots.epochs_gain(
            {"no clipping": dict(gain=np.linspace(0, -1.8, 31), promise=np.linspace(0, 1.7, 31)),
             "clipped (PPO)": dict(gain=np.linspace(0, 0.09, 31), promise=np.linspace(0, 0.4, 31))}, best_gain=0.097, title="t"),
        # the notebooks' figures of stored data, drawn as the notebooks draw them
        "sensitivity_map (nb 3, 4 panels)": lambda: plots.sensitivity_map(sensitivity.load("a2c"), 0.99, 2e-3),
        "sweep_sensitivity (nb 6)": lambda: plots.sweep_sensitivity(sweep.load_study("lr")[1], "lr", "final_return"),
        "sweep_heatmap": lambda: plots.sweep_heatmap(sweep.load_study("lr")[1], "lr", "preset", "steps_to_target"),
        "timescales_plot (nb 8)": lambda: plots.timescales_plot(studies.load("timescales-tdac"), studies.load("timescales-a2c")),
        "rollouts_plot (nb 8)": lambda: plots.rollouts_plot(studies.load("rollouts-a2c")),
        "blog_runs (nb 10)": lambda: plots.blog_runs(blogruns.load()),
        "discount_weights (nb 1)": lambda: plots.discount_weights(),
        "gae_weights (nb 4)": lambda: plots.gae_weights((0.0, 0.5, 0.8, 0.95)),
        "score_pull (nb 2)": lambda: plots.score_pull(np.linspace(0.01, 0.99, 99)),
        "centring_seeds (nb 2)": lambda: plots.centring_seeds(centring.load()),
        "softmax_temperature (nb 7)": lambda: plots.softmax_temperature([1.0, 0.5, -0.5], np.logspace(-2, 1, 61)),
        "stored_curves (nb 7)": lambda: plots.stored_curves(
            ablations.load()["target"]["curve_steps"], {"target detached (TD)": ablations.rows(ablations.load(), "target", True),
                                                        "target not detached": ablations.rows(ablations.load(), "target", False)}),
        "entropy_plot (nb 7)": lambda: plots.entropy_plot(
            ablations.load()["entropy"]["curve_steps"],
            {b: ablations.rows(ablations.load(), "entropy", b) for b in ablations.load()["entropy"]["study"]["values"]}),
    }
    return figs


FIGURES = _figures()
LEARNING = [k for k in FIGURES if k.startswith(("learning", "stored", "sweep_sensitivity", "discount_weights", "corridor_learning", "value_curves",
                                                  "rollouts", "timescales", "blog", "entropy",
                                                  "lqr_objective", "variance_by_sigma", "pendulum_runs", "offpolicy", "epochs"))]


@pytest.fixture(params=sorted(FIGURES))
def figure(request):
    fig = FIGURES[request.param]()
    yield fig
    plt.close(fig)


def test_every_algorithm_in_its_one_colour(figure):
    assert colour_problems(figure) == []


def test_no_text_smaller_than_11_px(figure):
    assert small_texts(figure) == []


@pytest.mark.parametrize("name", LEARNING)
def test_no_legend_over_the_data(name):
    fig = FIGURES[name]()
    try:
        assert legends_on_data(fig) == []
    finally:
        plt.close(fig)


def test_learning_curves_name_their_band_and_label_the_solved_line():
    fig = FIGURES["learning_curves"]()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "band: 95% CI of the mean, 3 seeds" in texts and f"solved ({style.SOLVED:g})" in texts
    assert fig.axes[0].get_ylim() == pytest.approx((0, 505))
    fig = FIGURES["learning_curves, minmax"]()
    assert "band: min to max, 2 seeds" in [t.get_text() for t in fig.axes[0].texts]
    plt.close("all")


def _sweep_rows(presets):
    """Results rows of a small made-up sweep (two lr values x two seeds per preset), each on its preset's env."""
    from acnotes.presets import PRESETS
    return [dict(preset=p, env=PRESETS[p].get("env", "CartPole-v1"), lr=lr, seed=seed,
                 final_return=(-900.0 if "pendulum" in p else 300.0) + 10 * seed)
            for p in presets for lr in (1e-3, 3e-3) for seed in (0, 1)]


def test_a_preset_is_drawn_as_its_algorithm_in_sweep_figures():
    """One colour and one name per algorithm: a sweep's line or tick of a preset takes its
    algorithm's (gae-pendulum GAE(λ)'s, ppo-pendulum and ppo PPO's, not a colour of a
    sequence under the preset's name), with " on Pendulum" only when both envs are drawn."""
    want = {"a2c-pendulum": "a2c", "gae-pendulum": "gae", "ppo-pendulum": "ppo", "ppo": "ppo", "gae": "gae",
            "blog-tdac": "blog-tdac"}
    for p, algo in want.items():
        assert style.is_algorithm(p) and style.look(p) == style.ALGORITHMS[algo], p
    for presets, suffix in ((["a2c-pendulum", "gae-pendulum", "ppo-pendulum"], ""),
                            (["a2c-pendulum", "gae-pendulum", "ppo-pendulum", "ppo", "gae"], " on Pendulum")):
        rows = _sweep_rows(presets)
        fig = plots.sweep_sensitivity(rows, "lr", "final_return")
        ax = fig.axes[0]
        drawn = {line.get_label(): mc.to_hex(line.get_color()) for line in ax.get_lines() if line.get_marker() == "o"}
        expected = {style.name(want[p]) + (suffix if "pendulum" in p else ""): mc.to_hex(style.color(want[p]))
                    for p in presets}
        assert drawn == expected
        assert colour_problems(fig) == []
        fig = plots.sweep_heatmap(rows, "lr", "preset", "final_return")
        ticks = {t.get_text(): mc.to_hex(t.get_color()) for t in fig.axes[0].get_yticklabels()}
        assert ticks == expected
        plt.close("all")


# ----------------------------------------------------------------------------- the checkers can fail
def test_checker_catches_an_algorithm_in_another_colour():
    fig, ax = style.figure()
    ax.plot([0, 1], [0, 1], color=style.color("reinforce"), label="A2C")      # A2C drawn in REINFORCE's blue
    ax.annotate("TD-AC", (1, 1), color="red")
    ax.plot([0, 1], [1, 0], color=style.color("gae"), label="variance")       # no algorithm, in GAE's colour
    problems = " | ".join(colour_problems(fig))
    assert len(colour_problems(fig)) == 3 and all(f"{w!r}" in problems for w in ("A2C", "TD-AC", "variance"))
    plt.close(fig)


def test_checker_catches_small_text():
    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=80)    # the old default: 10 pt ticks are 11.1 px, legend 'small' is not
    ax.plot([0, 1], label="x")
    ax.legend(fontsize="small")
    assert any("'x'" in p for p in small_texts(fig))
    plt.close(fig)


def test_checker_catches_a_legend_on_the_data():
    fig, ax = style.figure()
    ax.plot(np.linspace(0, 1, 50), np.linspace(1, 0, 50), label="falls")
    ax.legend(loc="upper left")
    assert legends_on_data(fig)
    ax.get_legend().remove()
    style.legend_beside(ax)
    assert legends_on_data(fig) == []
    plt.close(fig)


# ----------------------------------------------------------------------------- the notebooks
def _cells(nb_path):
    nb = json.loads(nb_path.read_text())
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


DRAWS = re.compile(r"\bplt\.|\bax\d?\.|\baxes\[|subplots\(|fill_between|\.twinx\(")


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_notebooks_draw_only_through_acnotes_plots(nb):
    drawing = [i for i, s in _cells(nb) if DRAWS.search(s)]
    assert drawing == [], f"{nb.name}: cells {drawing} draw with matplotlib; move the figure to acnotes.plots"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_notebooks_store_retina_figures(nb):
    imports = _cells(nb)[0][1]
    assert "import acnotes as acn" in imports and '%config InlineBackend.figure_formats = ["retina"]' in imports


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_no_nbval_marker_in_any_cell(nb):
    """Test machinery belongs in cell tags, not in what students read (STYLE.md, anti-pattern 11)."""
    marked = [i for i, s in _cells(nb) if "NBVAL" in s]
    assert marked == [], f"{nb.name}: cells {marked} carry NBVAL markers; use the nbval-* cell tags"


def _lab(hex_color: str) -> np.ndarray:
    """CIE L*a*b* (D65) of an sRGB colour."""
    import matplotlib.colors as mc
    c = np.array(mc.to_rgb(hex_color))
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ c
    f = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(f > (6 / 29) ** 3, np.cbrt(f), f / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("n", [3, 6])
def test_a_sequence_keeps_neighbours_apart_and_ordered(n):
    """A swept setting's curves (notebook 8's six rollout lengths): each colour at least
    Delta E 15 from its neighbour (CIE76; about 2.3 is just noticeable), darkest first, and
    none paler than L* 85 (readable on white). cividis, used before, fails: its middle third is
    grey (Delta E about 13 between neighbours at n = 6)."""
    labs = [_lab(c) for c in style.sequence(n)]
    gaps = [float(np.linalg.norm(a - b)) for a, b in zip(labs, labs[1:])]
    assert min(gaps) >= 15, gaps
    assert all(a[0] < b[0] for a, b in zip(labs, labs[1:])) and labs[-1][0] < 85


def test_heatmap_cells_write_large_returns_whole():
    """A Pendulum return in a sweep heatmap reads -1240, not -1.24e+03; steps stay compact."""
    from acnotes.plots.sweep import _show
    assert [_show("final_return", v) for v in (-1240.3, -201.26, 475.0, 0.5)] == ["-1240", "-201", "475", "0.5"]
    assert _show("steps_to_target", 120_000) == style.steps(120_000)
