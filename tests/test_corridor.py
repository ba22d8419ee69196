"""Batched REINFORCE on the short corridor (acnotes.corridor): the batch against a plain loop
written the book's way, the exact values against a hand derivation and Monte Carlo, the
optimum, bad input, and the qualitative results of Figures 13.1 and 13.2 with fixed seeds."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from acnotes import corridor as C  # noqa: E402
from acnotes import plots  # noqa: E402

X = {"right": np.array([1.0, 0.0]), "left": np.array([0.0, 1.0])}   # the book's x(s, a)


def plain_run(alpha_theta, alpha_w, episodes, seed, runs, r, theta0, max_steps=10_000):
    """Run r of a batch, as one plain loop: softmax over theta . x(s, a), a dictionary of
    moves, one uniform per step from run r's generator, the box's loop over t."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(runs)[r])
    move = {(0, "left"): 0, (0, "right"): 1, (1, "left"): 2, (1, "right"): 0,
            (2, "left"): 1, (2, "right"): "goal"}
    theta, w, rewards, cut = np.array(theta0, dtype=float), 0.0, [], 0
    for _ in range(episodes):
        h = np.array([theta @ X["right"], theta @ X["left"]])
        pi = np.exp(h - h.max())
        pi /= pi.sum()
        s, actions = 0, []
        while s != "goal" and len(actions) < max_steps:
            a = "right" if rng.random() < pi[0] else "left"
            actions.append(a)
            s = move[(s, a)]
        T = len(actions)
        rewards.append(-T)
        cut += s != "goal"
        new = theta.copy()
        for t, a in enumerate(actions):
            G = -(T - t)
            delta = G - w
            w += alpha_w * delta
            new = new + alpha_theta * delta * (X[a] - (pi[0] * X["right"] + pi[1] * X["left"]))
        theta = new
    return np.array(rewards), theta, w, cut


def closed_form(p):
    """v(s0) solved by hand from the three Bellman equations (notebook 0)."""
    return -2.0 * (2.0 - p) / (p * (1.0 - p))


# --------------------------------------------------------------------------- batch = plain loop


def test_reinforce_batch_equals_plain_loops():
    alphas = [2 ** -12, 2 ** -13]
    out = C.reinforce(alphas, runs=3, episodes=40, seed=5)
    assert out.rewards.shape == (2, 3, 40) and out.theta.shape == (2, 3, 2)
    for g, alpha in enumerate(alphas):
        for r in range(3):
            rewards, theta, w, _ = plain_run(alpha, 0.0, 40, 5, 3, r, C.BOOK_THETA0)
            np.testing.assert_array_equal(out.rewards[g, r], rewards)
            np.testing.assert_allclose(out.theta[g, r], theta, rtol=1e-10, atol=1e-12)
            assert out.w[g, r] == 0.0
    one = C.reinforce(2 ** -13, runs=3, episodes=40, seed=5)     # a group alone: the same runs
    np.testing.assert_array_equal(one.rewards, out.rewards[1])


def test_baseline_batch_equals_plain_loops_with_truncation():
    out = C.reinforce_with_baseline([2 ** -9, 2 ** -8], [2 ** -6, 2 ** -4], runs=4, episodes=30,
                                    seed=2, max_steps=25)
    assert out.truncated.sum() > 0          # the cap was hit, and the loops agree there too
    for g, (at, aw) in enumerate([(2 ** -9, 2 ** -6), (2 ** -8, 2 ** -4)]):
        for r in range(4):
            rewards, theta, w, cut = plain_run(at, aw, 30, 2, 4, r, C.BOOK_THETA0, max_steps=25)
            np.testing.assert_array_equal(out.rewards[g, r], rewards)
            np.testing.assert_allclose(out.theta[g, r], theta, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(out.w[g, r], w, rtol=1e-10)
            assert out.truncated[g, r] == cut


def test_seeds_differ_and_repeat():
    a = C.reinforce(2 ** -13, runs=5, episodes=20, seed=0)
    b = C.reinforce(2 ** -13, runs=5, episodes=20, seed=0)
    c = C.reinforce(2 ** -13, runs=5, episodes=20, seed=1)
    np.testing.assert_array_equal(a.rewards, b.rewards)
    assert not np.array_equal(a.rewards, c.rewards)
    assert len({tuple(row) for row in a.rewards}) == 5          # each run its own stream


# --------------------------------------------------------------------------- exact values


def test_exact_value_matches_the_hand_derivation():
    p = np.linspace(0.01, 0.99, 99)
    np.testing.assert_allclose(C.start_value(p), closed_form(p), rtol=1e-10)
    assert C.start_value(0.05) == pytest.approx(-82.105263, abs=1e-5)     # -1560/19
    assert C.start_value(0.95) == pytest.approx(-44.210526, abs=1e-5)     # -840/19


def test_exact_value_matches_monte_carlo():
    """A tiny step size leaves the policy at theta0: the episodes' mean reward is v(s0)."""
    for p in (0.3, 0.8):
        theta0 = [0.5 * math.log(p / (1 - p)), -0.5 * math.log(p / (1 - p))]
        out = C.reinforce(1e-300, runs=200, episodes=40, seed=3, theta0=theta0)
        assert np.allclose(out.p_right, p)
        r = out.rewards.ravel()
        z = (r.mean() - C.start_value(p)) / (r.std(ddof=1) / math.sqrt(r.size))
        assert abs(z) < 4, (p, r.mean(), C.start_value(p), z)


def test_exact_value_is_not_the_unswitched_corridor():
    """The switch matters: a corridor where right always moves right has another value
    (except at p = 0.5, where left and right are alike)."""
    p = 0.3
    A = np.array([[p, -p, 0.0], [-(1 - p), 1.0, -p], [0.0, -(1 - p), 1.0]])
    assert abs(np.linalg.solve(A, -np.ones(3))[0] - C.start_value(p)) > 1.0


def test_optimum_by_golden_section_matches_the_closed_form():
    p, v = C.golden_section_max(C.start_value, 1e-6, 1 - 1e-6, tol=1e-9)
    assert p == pytest.approx(2 - math.sqrt(2), abs=1e-7)
    assert v == pytest.approx(-(6 + 4 * math.sqrt(2)), abs=1e-9)
    assert (C.P_STAR, C.V_STAR) == pytest.approx((p, v), abs=1e-7)
    grid = np.linspace(0.001, 0.999, 999)
    assert grid[np.argmax(C.start_value(grid))] == pytest.approx(0.586, abs=1e-3)


def test_golden_section_on_a_known_function():
    x, fx = C.golden_section_max(lambda x: -(x - 0.3) ** 2 + 2.0, -1.0, 4.0, tol=1e-10)
    assert x == pytest.approx(0.3, abs=1e-7) and fx == pytest.approx(2.0)   # flat top: x to ~sqrt(eps)


def test_policy_right():
    assert C.policy_right(C.BOOK_THETA0) == pytest.approx(0.05)
    assert C.policy_right([[0.0, 0.0], [800.0, -800.0]]).tolist() == [0.5, 1.0]   # no overflow


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call, match", [
    (lambda: C.reinforce(0.0, runs=2, episodes=2), "alpha must be positive"),
    (lambda: C.reinforce(-1e-3, runs=2, episodes=2), "alpha must be positive"),
    (lambda: C.reinforce(float("nan"), runs=2, episodes=2), "alpha must be positive"),
    (lambda: C.reinforce([[1e-3]], runs=2, episodes=2), "a number or a list"),
    (lambda: C.reinforce([], runs=2, episodes=2), "a number or a list"),
    (lambda: C.reinforce(1e-3, runs=0, episodes=2), "runs must be a whole number"),
    (lambda: C.reinforce(1e-3, runs=2, episodes=2.5), "episodes must be a whole number"),
    (lambda: C.reinforce(1e-3, runs=True, episodes=2), "runs must be a whole number"),
    (lambda: C.reinforce(1e-3, runs=2, episodes=2, max_steps=0), "max_steps"),
    (lambda: C.reinforce(1e-3, runs=2, episodes=2, seed=-1), "seed"),
    (lambda: C.reinforce(1e-3, runs=2, episodes=2, seed=1.5), "seed"),
    (lambda: C.reinforce(1e-3, runs=2, episodes=2, theta0=[0.0]), "theta0"),
    (lambda: C.reinforce(1e-3, runs=2, episodes=2, theta0=[0.0, float("inf")]), "theta0"),
    (lambda: C.reinforce_with_baseline([1e-3, 1e-3], [1e-2], runs=2, episodes=2), "same length"),
    (lambda: C.reinforce_with_baseline(1e-3, 0.0, runs=2, episodes=2), "alpha_w must be positive"),
    (lambda: C.reinforce_with_baseline(1e-3, 1e-2, runs=2, episodes=2, w0=float("nan")), "w0"),
    (lambda: C.start_value(0.0), "strictly between 0 and 1"),
    (lambda: C.start_value([0.5, 1.0]), "strictly between 0 and 1"),
    (lambda: C.start_value(float("nan")), "strictly between 0 and 1"),
    (lambda: C.golden_section_max(C.start_value, 0.9, 0.1), "lo < hi"),
    (lambda: C.golden_section_max(C.start_value, 0.1, 0.9, tol=0), "tol"),
    (lambda: C.policy_right([1.0, 2.0, 3.0]), "theta must end in a dimension of 2"),
    (lambda: plots.corridor_value([0.1, 0.2], [1.0]), "same length"),
    (lambda: plots.corridor_learning({}), "no curves"),
    (lambda: plots.corridor_learning({"a": np.zeros(5)}), r"\[runs, episodes\]"),
    (lambda: plots.corridor_learning({"a": np.zeros((2, 3))}, algo=["reinforce", "a2c"]), "one per curve"),
])
def test_bad_input_is_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_plots_draw_what_they_are_given():
    p = np.linspace(0.05, 0.95, 19)
    fig = plots.corridor_value(p, C.start_value(p), optimum=(C.P_STAR, C.V_STAR),
                               marks={"eps-greedy left": (0.05, C.start_value(0.05))})
    ax = fig.axes[0]
    assert len(ax.lines) == 3 and ax.lines[1].get_xydata().tolist() == [[C.P_STAR, C.V_STAR]]
    rewards = -np.arange(12, dtype=float).reshape(3, 4)
    fig = plots.corridor_learning({"a": rewards}, optimum=-1.0)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), rewards.mean(0))
    assert ax.lines[1].get_ydata()[0] == -1.0
    matplotlib.pyplot.close("all")


def test_corridor_curves_take_their_algorithms_colours():
    """REINFORCE at three step sizes: REINFORCE's colour, darkest first, each told apart; one
    curve per algorithm: each in its own colour (as in every other figure of the series)."""
    import matplotlib.colors as mc
    from acnotes.plots import style
    rewards = -np.ones((3, 4))
    fig = plots.corridor_learning({"a": rewards, "b": rewards, "c": rewards}, algo="reinforce")
    colors = [mc.to_hex(line.get_color()) for line in fig.axes[0].lines[:3]]
    assert colors[0] == style.color("reinforce").lower() and len(set(colors)) == 3
    fig = plots.corridor_learning({"a": rewards, "b": rewards}, algo=["reinforce", "reinforce_baseline"])
    assert [mc.to_hex(line.get_color()) for line in fig.axes[0].lines[:2]] == \
        [style.color("reinforce").lower(), style.color("reinforce_baseline").lower()]
    matplotlib.pyplot.close("all")


# --------------------------------------------------------------------------- the figures' claims


@pytest.fixture(scope="module")
def figures():
    """Figures 13.1 and 13.2 at the book's settings, 100 runs of 1000 episodes, seed 1 (the
    notebook uses seed 0, so these claims are checked on a second set of runs)."""
    fig1 = C.reinforce([2 ** -12, 2 ** -13, 2 ** -14], runs=100, episodes=1000, seed=1)
    fig2 = C.reinforce_with_baseline(2 ** -9, 2 ** -6, runs=100, episodes=1000, seed=1)
    return fig1, fig2


def mean_and_se(rewards):
    """Mean over runs of each run's mean reward, and its standard error over the runs."""
    per_run = rewards.mean(axis=-1)
    return per_run.mean(axis=-1), per_run.std(axis=-1, ddof=1) / math.sqrt(per_run.shape[-1])


def test_figure_13_1_claims(figures):
    fig1, _ = figures
    assert fig1.truncated.sum() == 0
    start, _ = mean_and_se(fig1.rewards[:, :, :10])
    assert np.all(start < -60)                               # from the eps-greedy-left policy, -82
    last, se = mean_and_se(fig1.rewards[:, :, -100:])
    # a larger step size is further along after 1000 episodes; each gap > 3 standard errors
    for g in range(2):
        assert last[g] - last[g + 1] > 3 * math.hypot(se[g], se[g + 1]), (last, se)
    # the largest is close to the optimum: within 4 standard errors plus 0.5 for the policy's
    # own spread around p* (its mean is below v* however well it learns)
    assert C.V_STAR - 0.5 - 4 * se[0] < last[0] < C.V_STAR + 4 * se[0], (last, se)


def test_figure_13_2_claims(figures):
    fig1, fig2 = figures
    assert fig2.truncated.sum() == 0
    base_first, base_se = mean_and_se(fig2.rewards[:, :100])
    plain_first, plain_se = mean_and_se(fig1.rewards[1, :, :100])        # alpha = 2^-13
    assert base_first - plain_first > 5 * math.hypot(base_se, plain_se), (base_first, plain_first)
    base_last, se = mean_and_se(fig2.rewards[:, -100:])
    assert C.V_STAR - 0.5 - 4 * se < base_last < C.V_STAR + 4 * se, (base_last, se)
