"""The variance lab measures what theory says, on an MDP where the truth is known.

All tabular checks use ``two_state(gamma=0.9)`` at a fixed, non-uniform policy ``THETA``
(one-hot features, d = 4). Its rewards are all >= 0, so returns have a large positive mean
(V = [2.79, 1.95]) next to a small spread: the situation a baseline is made for. There
grad J = [0.734, -0.734, 0.026, -0.026] and the mean of the estimator without gamma^t is
[0.854, -0.854, 0.036, -0.036], so dropping gamma^t shows up as a bias.

Statistical rules (seeds are fixed, so every test is deterministic; the rules say how far
from a coin flip the fixed outcome is):

* "unbiased": every component of the mean lies within 4 standard errors of the truth
  (``bias_z_max < 4``) and Hotelling's test of mean == truth is not rejected at 1e-3
  (``bias_p > 1e-3``). For an unbiased estimator this fails with probability < 1e-3.
* "biased": Hotelling's p-value < 1e-6 and bias^2 is > 20 times what sampling noise alone
  gives (``bias_ratio > 20``).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import acnotes.envs as envs
from acnotes import estimators as E
from acnotes import variance as V
from acnotes.variance.tabular import tabular_psi
from acnotes.models import ActorCritic

THETA = torch.tensor([0.5, -0.3, 0.2, 0.4], dtype=torch.float64)
K, B = 2000, 16


def unbiased(row_or_stats) -> bool:
    return row_or_stats["bias_z_max"] < 4.0 and row_or_stats["bias_p"] > 1e-3


def biased(row_or_stats) -> bool:
    return row_or_stats["bias_p"] < 1e-6 and row_or_stats["bias_ratio"] > 20.0


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These problems are tiny: one torch thread is fastest (and immune to a busy machine)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def mdp():
    return envs.two_state(gamma=0.9)


@pytest.fixture(scope="module")
def exact(mdp):
    """All six estimators, exact critics, gamma^t weighting, K=2000 estimates of B=16 episodes."""
    return V.measure(mdp, THETA, K=K, B=B, seed=1)


@pytest.fixture(scope="module")
def undiscounted(mdp):
    return V.measure(mdp, THETA, K=K, B=B, seed=2, discount_actor=False, estimators=["reinforce"])


@pytest.fixture(scope="module")
def noisy(mdp):
    """A critic 20% off (relative L2 error of V and of Q)."""
    return V.measure(mdp, THETA, K=K, B=B, seed=3, critic_noise=0.2,
                     estimators=["reinforce_baseline", "tdac", "qac"])


# ------------------------------------------------------------------------- unbiasedness
def test_reinforce_with_discount_weights_is_unbiased_for_grad_J(mdp, exact):
    row = exact["reinforce"]
    assert unbiased(row), row
    mean = exact.grads[0].mean(0)
    se = exact.grads[0].std(0, ddof=1) / math.sqrt(K)
    np.testing.assert_array_less(np.abs(mean - mdp.policy_gradient(THETA).numpy()), 4 * se + 1e-12)
    assert row["cosine"] > 0.999


def test_reinforce_without_discount_weights_estimates_something_else(mdp, undiscounted):
    row = undiscounted["reinforce"]
    # its mean is the "undiscounted-visitation" gradient...
    assert "discounted=False" in undiscounted.meta["reference"]
    assert unbiased(row), row
    # ...which is not grad J: against the exact gradient it is significantly biased
    vs_exact = V.gradient_stats(torch.as_tensor(undiscounted.grads[0]), mdp.policy_gradient(THETA))
    assert biased(vs_exact), vs_exact


def test_baseline_keeps_the_mean_and_cuts_the_variance(exact):
    plain, base = exact["reinforce"], exact["reinforce_baseline"]
    assert unbiased(base), base
    # means agree within the standard error of their (paired) difference
    diff = exact.grads[1] - exact.grads[0]
    z = np.abs(diff.mean(0)) / (diff.std(0, ddof=1) / math.sqrt(K))
    assert z.max() < 4.0
    # on this MDP the exact-V baseline removes ~80% of the variance (measured 0.81 -> 0.16)
    assert plain["variance"] > 3.0 * base["variance"]


@pytest.mark.parametrize("name", ["qac", "a2c", "tdac", "gae"])
def test_actor_critics_with_exact_critic_are_unbiased(exact, name):
    assert unbiased(exact[name]), exact[name]


def test_a_wrong_critic_biases_td_and_q_actor_critic_but_not_the_baseline(noisy):
    assert biased(noisy["tdac"]), noisy["tdac"]
    assert biased(noisy["qac"]), noisy["qac"]
    # a baseline never biases, however wrong it is
    assert unbiased(noisy["reinforce_baseline"]), noisy["reinforce_baseline"]


# ------------------------------------------------------------------------- variance
def test_variance_order_on_two_state(exact):
    """Orders tested, with their margins (measured at K=2000; the variance estimates have
    a relative standard error of a few percent, so the margins are many SE wide):

    * REINFORCE > REINFORCE + exact-V baseline, by > 3x (measured 5x). Not a theorem in
      general (V is not the variance-optimal baseline), but here every return carries the
      large positive offset V(s_t) times a zero-mean score, and the baseline removes it.
    * REINFORCE + baseline > TD-AC with exact V, by > 2x (measured 4x): the TD error keeps
      only one step of randomness, G_t - V(s_t) keeps the whole remaining episode's.
    * GAE(0.95) lies between TD-AC and REINFORCE + baseline (its lambda between 0 and 1).
    """
    v = {r["estimator"]: r["variance"] for r in exact}
    assert v["reinforce"] > 3.0 * v["reinforce_baseline"]
    assert v["reinforce_baseline"] > 2.0 * v["tdac"]
    assert v["tdac"] < v["gae"] < v["reinforce_baseline"]


def test_variance_scales_as_one_over_B(mdp):
    """Estimates from B independent episodes: Var = Var_1 / B. With K=400 the variance
    estimate has a relative SE of about 10% (heavier-tailed than Gaussian), so
    variance * B must agree across B = 4, 16, 64 within 35% of their mean."""
    table = V.sweep_batch_size(mdp, Bs=(4, 16, 64), theta=THETA, K=400, seed=4,
                               estimators=["reinforce", "tdac"])
    assert len(table) == 6 and table.meta["sweep"] == "B"
    for name in ("reinforce", "tdac"):
        rows = table.select(estimator=name)
        scaled = np.array([r["variance"] * r["B"] for r in rows])
        assert np.all(np.abs(scaled / scaled.mean() - 1) < 0.35), (name, scaled)


def test_mse_is_bias_squared_plus_variance(exact, noisy):
    for row in list(exact) + list(noisy):
        assert math.isclose(row["mse_direct"], row["bias_sq"] + row["variance"], rel_tol=1e-9, abs_tol=1e-12)
        assert abs(row["mse_gap"]) < 1e-9 * max(row["mse"], 1.0)


def test_gradient_stats_by_hand():
    g = torch.tensor([[1.0, 0.0], [3.0, 2.0]])
    s = V.gradient_stats(g, torch.tensor([1.0, 1.0]))
    # mean (2, 1); deviations (+-1, +-1): variance 2; bias (1, 0)
    assert s["variance"] == pytest.approx(2.0)
    assert s["bias"] == pytest.approx(1.0)
    assert s["mse_direct"] == pytest.approx(3.0) == s["mse"]
    assert s["relative_variance"] == pytest.approx(2.0 / 5.0)
    assert s["cosine"] == pytest.approx(3.0 / math.sqrt(5.0) / math.sqrt(2.0))


# ------------------------------------------------------------------------- same formulas as training
def test_closed_form_score_matches_autograd_of_actor_loss(mdp):
    """The vectorized closed form equals -grad of estimators.actor_loss on a TabularSoftmax."""
    eps = mdp.sample_episodes(THETA, 12, torch.Generator().manual_seed(5))
    crit = V.tabular_critic(mdp, THETA, noise=0.1, seed=0)
    for name in ("reinforce", "qac", "gae"):
        psi = tabular_psi(mdp, THETA, eps, E.get(name), crit, mdp.gamma, 0.9, 3)
        for disc in (True, False):
            a = V.tabular_gradients(mdp, THETA, eps, psi, 3, disc, method="score")
            b = V.tabular_gradients(mdp, THETA, eps, psi, 3, disc, method="autograd")
            torch.testing.assert_close(a, b)


def test_gae_ends_are_tdac_and_reinforce_with_baseline(mdp):
    kw = dict(K=50, B=4, seed=6)
    g0 = V.measure(mdp, THETA, estimators=["gae", "tdac"], lam=0.0, **kw)
    np.testing.assert_allclose(g0.grads[0], g0.grads[1], atol=1e-12)
    g1 = V.measure(mdp, THETA, estimators=["gae", "reinforce_baseline"], lam=1.0, **kw)
    np.testing.assert_allclose(g1.grads[0], g1.grads[1], atol=1e-12)


def test_critic_noise_has_the_stated_size(mdp):
    exact_c = V.tabular_critic(mdp, THETA)
    c = V.tabular_critic(mdp, THETA, noise=0.3, seed=1)
    assert float((c.V - exact_c.V).norm() / exact_c.V.norm()) == pytest.approx(0.3)
    assert float((c.Q - exact_c.Q).norm() / exact_c.Q.norm()) == pytest.approx(0.3)


# ------------------------------------------------------------------------- table and sweeps
def test_table_exports(exact, tmp_path):
    d = exact.to_dict()
    assert [r["estimator"] for r in d["rows"]] == list(V.ESTIMATOR_NAMES)
    json.dumps(d)  # plain data
    j = json.loads(exact.to_json(tmp_path / "v.json").read_text())
    assert j["rows"][0]["variance"] == pytest.approx(exact["reinforce"]["variance"])
    lines = exact.to_csv(tmp_path / "v.csv").read_text().splitlines()
    assert lines[0].split(",")[:2] == ["estimator", "label"] and len(lines) == 7
    assert "reinforce_baseline" in repr(exact) and "<table>" in exact._repr_html_()
    assert exact.column("K") == [K] * 6 and exact.grads[0].shape == (K, 4)


def test_sweeps_of_gamma_and_lambda(mdp):
    g = V.sweep_gamma(mdp, gammas=(0.5, 0.9), theta=THETA, K=20, B=2, estimators="reinforce")
    assert g.column("gamma") == [0.5, 0.9]
    lam = V.sweep_lambda(mdp, lams=(0.0, 1.0), theta=THETA, K=20, B=2)
    assert lam.column("estimator") == ["gae", "gae"] and lam.column("lam") == [0.0, 1.0]


# ------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("kwargs, word", [
    (dict(K=0), "K"), (dict(K=1), "K must be an integer >= 2"), (dict(K=2.5), "K"), (dict(B=0), "B"), (dict(B=True), "B"),
    (dict(gamma=1.5), "gamma"), (dict(lam=-0.1), "lam"), (dict(n=0), "n"),
    (dict(critic_noise=-1.0), "critic_noise"), (dict(estimators=["sarsa"]), "estimators"),
    (dict(estimators=[]), "estimators"),
])
def test_bad_inputs_raise_value_error_naming_the_argument(mdp, kwargs, word):
    with pytest.raises(ValueError, match=word):
        V.measure(mdp, THETA, **kwargs)


def test_unknown_estimator_lists_the_valid_ones(mdp):
    with pytest.raises(ValueError, match="reinforce_baseline.*gae"):
        V.measure(mdp, THETA, estimators="ppo")
    with pytest.raises(ValueError, match="param"):
        V.sweep(mdp, "lr", [1e-3], theta=THETA)
    with pytest.raises(ValueError, match="theta"):
        V.measure(mdp, torch.zeros(3))


# ------------------------------------------------------------------------- CartPole
@pytest.fixture(scope="module")
def nets():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return ActorCritic(4, 2, hidden=16, critic="v"), ActorCritic(4, 2, hidden=16, critic="q")


@pytest.mark.parametrize("discount_actor", [True, False])
def test_torch_func_per_estimate_gradients_equal_a_loop_of_backward(nets, discount_actor):
    pol, _ = nets
    Kc, Bc = 6, 3
    batch = V.cartpole_pool(pol, Kc, Bc, seed=0)
    est = E.get("gae")
    vals = V.critic_values(est.critic, batch, v=lambda o: pol(o)[1])
    psi = est.psi(batch, vals, 0.99, 0.95, 5)
    fast = V.cartpole_gradients(pol, batch, psi, Kc, Bc, 0.99, discount_actor, method="vmap",
                                chunk_steps=50)  # several vmap groups
    slow = V.cartpole_gradients(pol, batch, psi, Kc, Bc, 0.99, discount_actor, method="loop")
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)
    # and estimate 0 by hand: -grad of actor_loss over its own B episodes
    cols = slice(0, Bc)
    pol.zero_grad()
    w = 0.99 ** batch.t[:, cols].float() if discount_actor else None
    logp = E.log_prob(pol.logits(batch.obs[:, cols]), batch.actions[:, cols])
    E.actor_loss(logp, psi[:, cols], batch.valid[:, cols], w, n_episodes=Bc).backward()
    by_hand = -torch.cat([p.grad.reshape(-1) for p in pol.actor_parameters()])
    torch.testing.assert_close(fast[0], by_hand, rtol=1e-5, atol=1e-5)


def test_cartpole_measurement_runs(nets):
    pol, q = nets
    table = V.measure(pol, q_critic=q, K=8, B=2, ref_episodes=40, ref_groups=10, seed=0)
    assert table.column("estimator") == list(V.ESTIMATOR_NAMES)
    n_params = sum(p.numel() for p in pol.actor_parameters())
    assert table.grads[0].shape == (8, n_params) and table.meta["n_params"] == n_params
    for row in table:
        assert all(math.isfinite(row[k]) for k in ("variance", "bias", "mse", "cosine"))
        assert row["mse_direct"] == pytest.approx(row["bias_sq"] + row["variance"], rel=1e-9)
    # no Q critic: qac is skipped by default, refused when asked for
    assert "qac" not in V.measure(pol, K=2, B=1, ref_episodes=4, ref_groups=2).column("estimator")
    with pytest.raises(ValueError, match="critic"):
        V.measure(pol, estimators=["qac"], K=2, B=1, ref_episodes=4)
    with pytest.raises(ValueError, match="K"):
        V.measure(pol, K=0)


# ---------------------------------------------------------------------------- pictures and panel
def test_plot_stacks_bias_squared_on_variance(exact, noisy):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from acnotes import plots

    fig = plots.variance_bars(noisy)
    ax = fig.axes[0]
    bars = ax.patches
    n = len(noisy)
    heights = [b.get_height() for b in bars]
    tops = [b.get_y() + b.get_height() for b in bars[n:]]
    np.testing.assert_allclose(heights[:n], noisy.column("variance"))
    np.testing.assert_allclose(tops, noisy.column("mse"), rtol=1e-9)
    assert ax.get_yscale() == "linear" and plots.variance_bars(exact, log=True).axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="empty"):
        plots.variance_bars(V.VarianceTable())
    plt.close("all")


def test_plot_sweep_of_B_draws_the_one_over_B_line(mdp):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from acnotes import plots

    table = V.sweep_batch_size(mdp, (1, 4, 16), theta=THETA, K=50, estimators=["reinforce", "tdac"])
    ax = plots.variance_sweep(table).axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["REINFORCE", "TD-AC", "1/B"]  # display names (acnotes.plots.style)
    x, y = ax.lines[2].get_data()
    np.testing.assert_allclose(np.asarray(y) * np.asarray(x), y[0] * x[0])
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="param must be one of"):
        plots.variance_sweep(table, param="seed")
    plt.close("all")


def test_panel_has_gamma_lambda_and_B_sliders_and_redraws(mdp):
    import matplotlib

    matplotlib.use("Agg")
    from acnotes import widgets

    p = widgets.variance_panel(mdp, THETA, K=20, B=4, critic_noise=0.1)
    assert set(p.controls) == {"gamma", "lambda", "B"}
    assert [w.description for w in p.controls.values()] == ["gamma", "lambda", "B"]
    assert p.table["gae"]["B"] == 4 and p.figure is not None
    p.controls["B"].value = 8
    p.controls["lambda"].value = 0.5
    p.controls["gamma"].value = 0.95
    row = p.table["gae"]
    assert (row["B"], row["lam"], row["gamma"], row["K"]) == (8, 0.5, 0.95, 20)
    assert "done in" in p.message.value


# ---------------------------------------------------------------------------- one job per module
def test_one_estimate_is_refused_everywhere(nets):
    """K = 1 would print variance 0 and bias ratio inf as if they were results."""
    with pytest.raises(ValueError, match="single estimate"):
        V.gradient_stats(torch.ones(1, 3), torch.zeros(3))
    with pytest.raises(ValueError, match="single estimate"):
        V.measure(nets[0], K=1, B=1)
    with pytest.raises(ValueError, match="single estimate"):
        V.sweep(envs.two_state(), "K", [4, 1], B=1)


def test_the_computing_modules_import_no_plotting_and_no_widgets():
    """``import acnotes.variance`` (every module of it) loads neither matplotlib nor ipywidgets:
    the figures live in acnotes.plots, the panel in acnotes.widgets."""
    import pkgutil
    import subprocess
    import sys

    import acnotes.variance

    mods = [f"acnotes.variance.{m.name}" for m in pkgutil.iter_modules(acnotes.variance.__path__)]
    assert {"acnotes.variance." + m for m in ("stats", "table", "tabular", "cartpole_grad")} <= set(mods)
    code = ("import sys, importlib\n"
            f"for m in {mods!r}: importlib.import_module(m)\n"
            "loaded = {m.split('.')[0] for m in sys.modules}\n"
            "print(sorted(loaded & {'matplotlib', 'ipywidgets', 'IPython'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
