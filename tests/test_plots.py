import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np

from acnotes import plots
from acnotes.train import History


def _hist(returns, steps):
    return History(episode_returns=list(returns), episode_lengths=[1] * len(returns),
                   episode_steps=list(steps), steps=[steps[-1]], time=[1.0])


def test_curve_on_grid_is_rolling_mean_known_at_each_step():
    h = _hist([10, 20, 30, 40], [5, 10, 15, 20])
    grid = np.array([0, 5, 9, 10, 20, 100])
    c = plots.curve_on_grid(h, grid, window=2)
    # before the first episode: NaN; at step 10 the last two are 10, 20; after the end: last value
    assert np.isnan(c[0])
    np.testing.assert_allclose(c[1:], [10, 10, 15, 35, 35])


def test_mean_and_band_uses_student_t():
    curves = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    mean, lo, hi = plots.mean_and_band(curves)
    np.testing.assert_allclose(mean, [2.0, 3.0])
    half = 4.303 * 2.0 / np.sqrt(3)  # t(2 dof) * sd / sqrt(n)
    np.testing.assert_allclose(hi - mean, [half, half], rtol=1e-6)
    np.testing.assert_allclose(mean - lo, [half, half], rtol=1e-6)


def test_mean_and_band_single_seed_has_no_band_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, lo, hi = plots.mean_and_band(np.array([[np.nan, 1.0]]))
    assert np.isnan(mean[0]) and mean[1] == 1.0 and lo[1] == hi[1] == 1.0


def test_learning_curves_draws_one_line_and_band_per_label():
    runs = {"a": [_hist([1, 2, 3], [1, 2, 3]), _hist([2, 3, 4], [1, 2, 3])], "b": [_hist([5], [2])]}
    fig = plots.learning_curves(runs, window=1, target=475)
    ax = fig.axes[0]
    labels = [l.get_label() for l in ax.get_lines()]
    assert "a" in labels and "b" in labels
    assert len(ax.collections) == 2  # one band each
    ends = {t.get_text(): t.get_color() for t in ax.texts}  # each curve labelled where it ends, in its colour
    colors = {l.get_label(): l.get_color() for l in ax.get_lines()}
    assert ends["a"] == colors["a"] and ends["b"] == colors["b"]
    assert "solved (475)" in ends
    matplotlib.pyplot.close(fig)


def test_learning_curves_draw_an_algorithm_in_its_one_colour_and_name():
    runs = {"tdac": [_hist([1, 2, 3], [1, 2, 3]), _hist([2, 3, 4], [1, 2, 3])]}
    fig = plots.learning_curves(runs, window=1)
    line = fig.axes[0].get_lines()[0]
    assert line.get_label() == "TD-AC" and line.get_color() == plots.style.color("tdac")
    assert fig.axes[0].get_ylim() == (0, 505)  # CartPole's whole range, whatever the data
    matplotlib.pyplot.close(fig)


def test_gae_weights_are_the_geometric_weights_of_each_lambda():
    """Each line is (1 - lam) lam^(n-1) over n (lam = 0: all on n = 1), so with n up to 400
    each sums to 1, and its mean n is 1 / (1 - lam)."""
    lams = (0.0, 0.5, 0.8, 0.95)
    fig = plots.gae_weights(lams, n_max=400)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == [plots.style.setting("lam", lam) for lam in lams]
    for lam, line in zip(lams, lines):
        n, w = (np.asarray(v, dtype=float) for v in line.get_data())
        np.testing.assert_allclose(w.sum(), 1.0, atol=1e-8)
        np.testing.assert_allclose((n * w).sum(), 1 / (1 - lam), rtol=1e-6)


def test_score_pull_lines_average_to_zero_under_the_policy():
    p = np.linspace(0.01, 0.99, 99)
    right, left, mean = fig_lines = plots.score_pull(p).axes[0].get_lines()
    assert len(fig_lines) == 3
    np.testing.assert_allclose(right.get_ydata(), 1 - p)
    np.testing.assert_allclose(p * right.get_ydata() + (1 - p) * left.get_ydata(), mean.get_ydata(), atol=1e-12)


def test_centring_seeds_draws_each_seed_of_each_variant():
    from acnotes.stored import centring
    stored = centring.load()
    fig = plots.centring_seeds(stored)
    dots = {line.get_label(): line for line in fig.axes[0].get_lines() if line.get_linestyle() == "None"}
    for variant in ("qac", "qac_baseline"):
        members = stored[variant]["members"]
        line = dots[plots.style.name(variant)]
        assert list(line.get_xdata()) == [m["best"] for m in members]
        assert list(line.get_ydata()) == [m["final"] for m in members]


def test_softmax_temperature_draws_softmax_of_r_over_beta():
    r, betas = np.array([1.0, 0.5, -0.5]), np.logspace(-2, 1, 31)
    lines = plots.softmax_temperature(r, betas).axes[0].get_lines()
    by_action = {int(line.get_label().split()[1].rstrip(",")): line for line in lines if line.get_label().startswith("action")}
    assert sorted(by_action) == [0, 1, 2]
    for a, line in by_action.items():
        want = np.exp(r[a] / betas) / np.exp(r[None, :] / betas[:, None]).sum(axis=1)
        np.testing.assert_allclose(line.get_ydata(), want, rtol=1e-9)


def test_discount_weights_are_gamma_to_the_t_with_the_horizon_marked():
    """Each line is gamma^t over t = 0 .. steps - 1, its dot at t = 1 / (1 - gamma) (on the line:
    about 1/e), and the reference line at 1 is the weight without gamma^t."""
    gammas, steps = (0.9, 0.99, 0.999), 500
    ax = plots.discount_weights(gammas, steps=steps).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    for g in gammas:
        t, w = (np.asarray(v, dtype=float) for v in lines[plots.style.setting("gamma", g)].get_data())
        np.testing.assert_array_equal(t, np.arange(steps))
        np.testing.assert_allclose(w[0], 1.0)
        np.testing.assert_allclose(w[1:] / w[:-1], g, rtol=1e-12)      # geometric with ratio gamma
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(dots) == 2                                             # 1/(1 - 0.999) = 1000 is past the end
    for g, dot in zip(gammas, dots):
        x, y = dot.get_xdata()[0], dot.get_ydata()[0]
        np.testing.assert_allclose(x, 1 / (1 - g), rtol=1e-9)
        np.testing.assert_allclose(y, np.exp(-1), rtol=0.06)            # (1 - 1/n)^n ~ 1/e
    assert any(np.allclose(line.get_ydata(), 1.0) for line in ax.get_lines() if line.get_linestyle() == ":")
    matplotlib.pyplot.close("all")
