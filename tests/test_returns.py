"""acnotes.returns against hand-computed values.

The shared example is T = 4 steps of N = 4 envs with gamma = 0.5 and rewards 1, 2, 3, 4 in
every env. The columns differ only in how (and whether) an episode ends:

    env 0: no episode end in the batch (the batch end bootstraps from v_next[3])
    env 1: terminated after step 1 (no bootstrap; a new episode starts at step 2)
    env 2: truncated after step 1 (bootstrap from v_next[1] = V of the true last state)
    env 3: terminated after step 3, the last step of the batch (no bootstrap there)

``v_next[1]`` is 25 in envs 1 and 2 (the last state of the ended episode) while ``v[2]`` is
20 (the first state of the next episode), so a function that bootstrapped from ``v[t+1]``
instead of ``v_next[t]`` would give other numbers. Elsewhere ``v_next[t] = v[t+1]``.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.testing import assert_close

from acnotes import returns as R

GAMMA = 0.5



def col(*xs):
    return torch.tensor(xs, dtype=torch.float64)


@pytest.fixture
def ex():
    T, N = 4, 4
    r = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)[:, None].expand(T, N).clone()
    v = torch.tensor([2.0, 10.0, 20.0, 30.0], dtype=torch.float64)[:, None].expand(T, N).clone()
    v_next = torch.tensor([10.0, 20.0, 30.0, 40.0], dtype=torch.float64)[:, None].expand(T, N).clone()
    v_next[1, 1] = 25.0
    v_next[1, 2] = 25.0
    term = torch.zeros(T, N, dtype=torch.bool)
    trunc = torch.zeros(T, N, dtype=torch.bool)
    term[1, 1] = True
    trunc[1, 2] = True
    term[3, 3] = True
    return dict(r=r, v=v, v_next=v_next, term=term, trunc=trunc)


def stack(*cols):
    return torch.stack(cols, dim=1)


# ----------------------------------------------------------------------------- reward_to_go
def test_reward_to_go_with_bootstrap(ex):
    g = R.reward_to_go(ex["r"], ex["term"], ex["trunc"], GAMMA, v_next=ex["v_next"])
    expected = stack(
        col(5.75, 9.5, 15.0, 24.0),   # batch end: 4 + 0.5 * 40 = 24
        col(2.0, 2.0, 15.0, 24.0),    # terminated at 1: G_1 = 2, returns restart at 2
        col(8.25, 14.5, 15.0, 24.0),  # truncated at 1: G_1 = 2 + 0.5 * 25
        col(3.25, 4.5, 5.0, 4.0),     # terminated at the batch end: no bootstrap
    )
    assert_close(g, expected)


def test_reward_to_go_without_bootstrap(ex):
    g = R.reward_to_go(ex["r"], ex["term"], ex["trunc"], GAMMA)
    expected = stack(
        col(3.25, 4.5, 5.0, 4.0),
        col(2.0, 2.0, 5.0, 4.0),
        col(2.0, 2.0, 5.0, 4.0),  # without v_next a truncation just stops the sum
        col(3.25, 4.5, 5.0, 4.0),
    )
    assert_close(g, expected)


def test_termination_and_truncation_differ(ex):
    g = R.reward_to_go(ex["r"], ex["term"], ex["trunc"], GAMMA, v_next=ex["v_next"])
    assert g[1, 1] == 2.0 and g[1, 2] == 14.5
    y = R.td_target(ex["r"], ex["v_next"], ex["term"], GAMMA)
    assert y[1, 1] == 2.0 and y[1, 2] == 14.5


def test_reward_to_go_columns_are_independent(ex):
    g = R.reward_to_go(ex["r"], ex["term"], ex["trunc"], GAMMA, v_next=ex["v_next"])
    for i in range(4):
        gi = R.reward_to_go(ex["r"][:, i], ex["term"][:, i], ex["trunc"][:, i], GAMMA, v_next=ex["v_next"][:, i])
        assert gi.shape == (4,)
        assert_close(gi, g[:, i])


def test_reward_to_go_gamma_one_and_zero():
    r = col(1.0, 2.0, 3.0)
    f = torch.zeros(3, dtype=torch.bool)
    assert_close(R.reward_to_go(r, f, f, 1.0), col(6.0, 5.0, 3.0))
    assert_close(R.reward_to_go(r, f, f, 0.0, v_next=col(7.0, 7.0, 7.0)), r)


def test_reward_to_go_accepts_float_flags(ex):
    g_bool = R.reward_to_go(ex["r"], ex["term"], ex["trunc"], GAMMA, v_next=ex["v_next"])
    g_float = R.reward_to_go(ex["r"], ex["term"].double(), ex["trunc"].double(), GAMMA, v_next=ex["v_next"])
    assert_close(g_bool, g_float)


def test_terminated_and_truncated_together_is_a_termination():
    # gymnasium may report both at the time limit when the pole falls on the last step
    r, v_next = col(1.0, 1.0), col(10.0, 10.0)
    term = torch.tensor([True, False])
    both = torch.tensor([True, False])
    g = R.reward_to_go(r, term, both, GAMMA, v_next=v_next)
    assert_close(g, col(1.0, 6.0))
    assert_close(R.nstep_targets(r, v_next, term, both, GAMMA, 5), col(1.0, 6.0))


# ----------------------------------------------------------------------------- TD
def test_td_target_and_error(ex):
    y = R.td_target(ex["r"], ex["v_next"], ex["term"], GAMMA)
    expected_y = stack(
        col(6.0, 12.0, 18.0, 24.0),
        col(6.0, 2.0, 18.0, 24.0),
        col(6.0, 14.5, 18.0, 24.0),  # truncation bootstraps like any step
        col(6.0, 12.0, 18.0, 4.0),
    )
    assert_close(y, expected_y)
    delta = R.td_error(ex["r"], ex["v"], ex["v_next"], ex["term"], GAMMA)
    expected_delta = stack(
        col(4.0, 2.0, -2.0, -6.0),
        col(4.0, -8.0, -2.0, -6.0),
        col(4.0, 4.5, -2.0, -6.0),
        col(4.0, 2.0, -2.0, -26.0),
    )
    assert_close(delta, expected_delta)


def test_td_target_carries_gradient_of_v_next_only_if_not_detached():
    # the function itself does not detach: the caller must (documented)
    v_next = torch.tensor([1.0, 2.0], requires_grad=True)
    y = R.td_target(torch.tensor([0.0, 0.0]), v_next, torch.tensor([False, True]), 0.5)
    y.sum().backward()
    assert_close(v_next.grad, torch.tensor([0.5, 0.0]))


# ----------------------------------------------------------------------------- GAE
def test_gae_hand_computed(ex):
    a = R.gae(ex["r"], ex["v"], ex["v_next"], ex["term"], ex["trunc"], GAMMA, 0.5)
    expected = stack(
        col(4.28125, 1.125, -3.5, -6.0),
        col(2.0, -8.0, -3.5, -6.0),
        col(5.125, 4.5, -3.5, -6.0),
        col(3.96875, -0.125, -8.5, -26.0),
    )
    assert_close(a, expected)
    lr = R.lambda_returns(ex["r"], ex["v"], ex["v_next"], ex["term"], ex["trunc"], GAMMA, 0.5)
    assert_close(lr, expected + ex["v"])


def test_gae_lambda_zero_is_td_error(ex):
    a = R.gae(ex["r"], ex["v"], ex["v_next"], ex["term"], ex["trunc"], GAMMA, 0.0)
    assert_close(a, R.td_error(ex["r"], ex["v"], ex["v_next"], ex["term"], GAMMA))


def test_gae_lambda_one_is_return_minus_value(ex):
    a = R.gae(ex["r"], ex["v"], ex["v_next"], ex["term"], ex["trunc"], GAMMA, 1.0)
    g = R.reward_to_go(ex["r"], ex["term"], ex["trunc"], GAMMA, v_next=ex["v_next"])
    assert_close(a, g - ex["v"])
    assert_close(a[:, 0], col(3.75, -0.5, -5.0, -6.0))


def test_gae_lambda_one_random_consistent_trajectories():
    """lam=1 GAE equals G - V on random data where v_next[t] = v[t+1] inside episodes."""
    gen = torch.Generator().manual_seed(0)
    T, N, gamma = 12, 5, 0.9
    r = torch.randn(T, N, generator=gen, dtype=torch.float64)
    v_all = torch.randn(T + 1, N, generator=gen, dtype=torch.float64)
    term = torch.rand(T, N, generator=gen) < 0.15
    trunc = (torch.rand(T, N, generator=gen) < 0.15) & ~term
    v, v_next = v_all[:-1], v_all[1:].clone()
    # at an episode end the next state is the episode's last state, not the next v[t+1]
    ends = term | trunc
    v_next[ends] = torch.randn(int(ends.sum()), generator=gen, dtype=torch.float64)
    assert ends.any() and term.any() and trunc.any()
    a = R.gae(r, v, v_next, term, trunc, gamma, 1.0)
    g = R.reward_to_go(r, term, trunc, gamma, v_next=v_next)
    assert_close(a, g - v)


# ----------------------------------------------------------------------------- n-step
def test_nstep_hand_computed(ex):
    g = R.nstep_targets(ex["r"], ex["v_next"], ex["term"], ex["trunc"], GAMMA, 2)
    expected = stack(
        col(7.0, 11.0, 15.0, 24.0),   # 1 + 0.5*2 + 0.25*20; ...; last step: 4 + 0.5*40
        col(2.0, 2.0, 15.0, 24.0),    # window cut by the termination: no bootstrap
        col(8.25, 14.5, 15.0, 24.0),  # window cut by the truncation: + 0.25 * 25
        col(7.0, 11.0, 5.0, 4.0),
    )
    assert_close(g, expected)


def test_nstep_one_is_td_target(ex):
    g = R.nstep_targets(ex["r"], ex["v_next"], ex["term"], ex["trunc"], GAMMA, 1)
    assert_close(g, R.td_target(ex["r"], ex["v_next"], ex["term"], GAMMA))


@pytest.mark.parametrize("n", [4, 5, 100])
def test_nstep_long_is_bootstrapped_reward_to_go(ex, n):
    g = R.nstep_targets(ex["r"], ex["v_next"], ex["term"], ex["trunc"], GAMMA, n)
    assert_close(g, R.reward_to_go(ex["r"], ex["term"], ex["trunc"], GAMMA, v_next=ex["v_next"]))


def test_nstep_three_random_matches_definition():
    """n=3 against a direct loop over the definition on random data."""
    gen = torch.Generator().manual_seed(1)
    T, N, gamma, n = 9, 3, 0.8, 3
    r = torch.randn(T, N, generator=gen, dtype=torch.float64)
    v_next = torch.randn(T, N, generator=gen, dtype=torch.float64)
    term = torch.rand(T, N, generator=gen) < 0.2
    trunc = (torch.rand(T, N, generator=gen) < 0.2) & ~term
    out = R.nstep_targets(r, v_next, term, trunc, gamma, n)
    for i in range(N):
        for t in range(T):
            g, k = 0.0, 0
            while True:
                s = t + k
                g += gamma**k * float(r[s, i])
                if term[s, i]:
                    break
                if trunc[s, i] or k == n - 1 or s == T - 1:
                    g += gamma ** (k + 1) * float(v_next[s, i])
                    break
                k += 1
            assert math.isclose(float(out[t, i]), g, rel_tol=1e-12, abs_tol=1e-12), (t, i)


# ----------------------------------------------------------------------------- discount powers
def test_discount_powers():
    t = torch.tensor([[0, 1], [2, 3]])
    assert_close(R.discount_powers(t, 0.5), torch.tensor([[1.0, 0.5], [0.25, 0.125]]))
    assert_close(R.discount_powers(t, 1.0), torch.ones(2, 2))
    assert_close(R.discount_powers(t, 0.0), torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    w = R.discount_powers(t, 0.9, dtype=torch.float64)
    assert w.dtype == torch.float64 and abs(float(w[1, 1]) - 0.9 ** 3) < 1e-15  # not float32 (1e-8 off)


# ----------------------------------------------------------------------------- bad arguments
BAD_GAMMAS = [-0.1, 1.5, float("nan"), float("inf")]


@pytest.mark.parametrize("gamma", BAD_GAMMAS)
def test_bad_gamma_raises(ex, gamma):
    r, v, vn, te, tr = ex["r"], ex["v"], ex["v_next"], ex["term"], ex["trunc"]
    calls = [
        lambda: R.reward_to_go(r, te, tr, gamma),
        lambda: R.td_target(r, vn, te, gamma),
        lambda: R.td_error(r, v, vn, te, gamma),
        lambda: R.nstep_targets(r, vn, te, tr, gamma, 2),
        lambda: R.gae(r, v, vn, te, tr, gamma, 0.5),
        lambda: R.lambda_returns(r, v, vn, te, tr, gamma, 0.5),
        lambda: R.discount_powers(torch.arange(3), gamma),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="gamma"):
            call()


@pytest.mark.parametrize("lam", [-0.1, 1.1, float("nan")])
def test_bad_lambda_raises(ex, lam):
    with pytest.raises(ValueError, match="lam"):
        R.gae(ex["r"], ex["v"], ex["v_next"], ex["term"], ex["trunc"], GAMMA, lam)
    with pytest.raises(ValueError, match="lam"):
        R.lambda_returns(ex["r"], ex["v"], ex["v_next"], ex["term"], ex["trunc"], GAMMA, lam)


@pytest.mark.parametrize("n", [0, -1, 1.5])
def test_bad_n_raises(ex, n):
    with pytest.raises(ValueError, match=r"\bn\b"):
        R.nstep_targets(ex["r"], ex["v_next"], ex["term"], ex["trunc"], GAMMA, n)
