"""acnotes.estimators: the Psi_t table on a hand-made batch, and the two losses.

The batch has T = 3 steps of N = 2 envs, gamma = 0.5, lambda = 0.5, n = 2:

    rewards     1, 2, 3 in both envs
    env 1       terminated after step 1 (a new episode starts at step 2)
    v = V(s_t)        1, 2, 4
    v_next            2, 4, 6   (env 1: 8 at the terminal step, which must not be used)
"""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from acnotes import estimators as E
from acnotes.rollout import Batch

GAMMA, LAM, N_STEP = 0.5, 0.5, 2
NAMES = {"reinforce", "reinforce_baseline", "qac", "a2c", "tdac", "gae"}



def cols(a, b):
    return torch.stack([torch.tensor(a), torch.tensor(b)], dim=1)


@pytest.fixture
def batch():
    T, N = 3, 2
    term = torch.zeros(T, N, dtype=torch.bool)
    term[1, 1] = True
    return Batch(
        obs=torch.zeros(T, N, 4),
        actions=cols([0, 1, 0], [1, 1, 0]),
        rewards=cols([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
        terminated=term,
        truncated=torch.zeros(T, N, dtype=torch.bool),
        next_obs=torch.zeros(T, N, 4),
        valid=torch.ones(T, N, dtype=torch.bool),
        t=cols([0, 1, 2], [0, 1, 0]),
    )


@pytest.fixture
def values():
    v = cols([1.0, 2.0, 4.0], [1.0, 2.0, 4.0]).requires_grad_(True)
    q = cols([5.0, 6.0, 7.0], [8.0, 9.0, 10.0]).requires_grad_(True)
    return E.Values(v=v, v_next=cols([2.0, 4.0, 6.0], [2.0, 8.0, 6.0]), q=q)


# psi and critic target of each estimator, by hand (see the module docstring)
EXPECTED = {
    # G_t without bootstrap: env 0: 1 + .5*2 + .25*3, 2 + .5*3, 3; env 1: 1 + .5*2, 2, 3
    "reinforce": (cols([2.75, 3.5, 3.0], [2.0, 2.0, 3.0]), None),
    # G_t bootstrapped at the batch's end (both episodes still run there): env 0: 3 + .5*6 = 6,
    # 2 + .5*6 = 5, 1 + .5*5 = 3.5; env 1: 1 + .5*2 = 2, 2 (terminated), 3 + .5*6 = 6
    "reinforce_baseline": (cols([2.5, 3.0, 2.0], [1.0, 0.0, 2.0]), cols([3.5, 5.0, 6.0], [2.0, 2.0, 6.0])),
    # y = r + .5 (1 - term) v_next
    "tdac": (cols([1.0, 2.0, 2.0], [1.0, 0.0, 2.0]), cols([2.0, 4.0, 6.0], [2.0, 2.0, 6.0])),
    "qac": (cols([5.0, 6.0, 7.0], [8.0, 9.0, 10.0]), cols([2.0, 4.0, 6.0], [2.0, 2.0, 6.0])),
    # 2-step: env 0: 1 + .5*2 + .25*4 = 3, 2 + .5*3 + .25*6 = 5, 3 + .5*6 = 6
    "a2c": (cols([2.0, 3.0, 2.0], [1.0, 0.0, 2.0]), cols([3.0, 5.0, 6.0], [2.0, 2.0, 6.0])),
    # deltas env 0: 1, 2, 2 -> A = 1 + .25*2.5, 2 + .25*2, 2; env 1: 1, 0 | 2
    "gae": (cols([1.625, 2.5, 2.0], [1.0, 0.0, 2.0]), cols([2.625, 4.5, 6.0], [2.0, 2.0, 6.0])),
}


def test_registry():
    assert set(E.ESTIMATORS) == NAMES == set(EXPECTED)
    for name, est in E.ESTIMATORS.items():
        assert est.name == name and E.get(name) is est
        assert est.label and est.psi_formula
    assert {n for n, e in E.ESTIMATORS.items() if e.critic is None} == {"reinforce"}
    assert E.get("qac").critic == "q"
    assert {n for n, e in E.ESTIMATORS.items() if e.episodic} == {"reinforce", "reinforce_baseline"}


def test_each_estimator_takes_exactly_the_settings_it_declares(batch, values):
    """``uses`` is what ``apply`` passes on and what ``atlas.uses`` reads: a setting missing
    from it fails the call, a setting it names that the function ignores is caught here."""
    import inspect

    assert {n: e.uses for n, e in E.ESTIMATORS.items()} == {
        "reinforce": ("gamma",), "reinforce_baseline": ("gamma",), "qac": ("gamma",),
        "a2c": ("gamma", "n"), "tdac": ("gamma",), "gae": ("gamma", "lam")}
    for est in E.ESTIMATORS.values():
        params = inspect.signature(est.compute).parameters
        assert {k for k, p in params.items() if p.kind is p.KEYWORD_ONLY} == set(est.uses), est.name
        assert not any(p.kind is p.VAR_KEYWORD for p in params.values()), f"{est.name} swallows **kwargs"
        with pytest.raises(TypeError):   # nothing beyond what it declares
            est.compute(batch, values, **{k: 0.5 for k in est.uses}, unused=1)


def test_a_declared_setting_must_be_known():
    with pytest.raises(ValueError, match="uses must name settings"):
        E.estimator(label="x", psi_formula="x", critic=None, uses=("lambda",))


def test_atlas_uses_reads_the_declaration(monkeypatch):
    import dataclasses

    from acnotes.stored import atlas

    assert [a for a in E.ESTIMATORS if atlas.uses(a, "lam")] == ["gae"]
    assert not atlas.uses("reinforce", "critic_lr") and atlas.uses("qac", "critic_lr")
    # declared, not inferred from the function: a tdac that declares lambda uses it
    tdac = E.ESTIMATORS["tdac"]
    monkeypatch.setitem(E.ESTIMATORS, "tdac", dataclasses.replace(tdac, uses=("gamma", "lam")))
    assert atlas.uses("tdac", "lam")


def test_reinforce_baseline_bootstraps_at_truncation_not_at_termination():
    """Both envs end an episode after step 1: env 0 truncated, env 1 terminated; the episode
    starting at step 2 terminates there, so nothing is cut at the batch's end. V = 4,
    V(s_{t+1}) = 10 everywhere, rewards 1, gamma = 0.5."""
    b = Batch(obs=torch.zeros(3, 2, 4), actions=torch.zeros(3, 2, dtype=torch.long),
              rewards=torch.ones(3, 2), terminated=cols([False, False, True], [False, True, True]),
              truncated=cols([False, True, False], [False, False, False]), next_obs=torch.zeros(3, 2, 4),
              valid=torch.ones(3, 2, dtype=torch.bool), t=cols([0, 1, 0], [0, 1, 0]))
    vals = E.Values(v=torch.full((3, 2), 4.0), v_next=torch.full((3, 2), 10.0))
    psi, target = E.get("reinforce_baseline").apply(b, vals, gamma=GAMMA, lam=LAM, n=N_STEP)
    # env 0: G_1 = 1 + .5*10 = 6 at the cut, G_0 = 1 + .5*6 = 4; env 1: G_1 = 1, G_0 = 1.5
    assert_close(target, cols([4.0, 6.0, 1.0], [1.5, 1.0, 1.0]))
    assert_close(psi, target - 4.0)
    # plain REINFORCE has no critic: its G_t stops at the limit
    g, _ = E.get("reinforce").apply(b, vals, gamma=GAMMA, lam=LAM, n=N_STEP)
    assert_close(g, cols([1.5, 1.0, 1.0], [1.5, 1.0, 1.0]))


def test_get_unknown_lists_names():
    with pytest.raises(ValueError) as err:
        E.get("ppo")
    msg = str(err.value)
    assert "ppo" in msg
    for name in NAMES:
        assert name in msg


@pytest.mark.parametrize("name", sorted(NAMES))
def test_psi_and_target_by_hand(name, batch, values):
    est = E.get(name)
    psi, target = est.apply(batch, values, gamma=GAMMA, lam=LAM, n=N_STEP)
    want_psi, want_target = EXPECTED[name]
    assert_close(psi, want_psi)
    assert not psi.requires_grad
    if want_target is None:
        assert target is None
    else:
        assert_close(target, want_target)
        assert not target.requires_grad


def test_a2c_default_n_is_batch_length(batch, values):
    est = E.get("a2c")
    assert_close(est.psi(batch, values, GAMMA, LAM, None), est.psi(batch, values, GAMMA, LAM, 3))
    # n = 3 at t = 0 in env 0: 1 + .5*2 + .25*3 + .125*6 - 1
    assert_close(est.psi(batch, values, GAMMA, LAM, None)[0, 0], torch.tensor(2.5))


def test_gae_limits(batch, values):
    gae, tdac = E.get("gae"), E.get("tdac")
    assert_close(gae.psi(batch, values, GAMMA, 0.0, N_STEP), tdac.psi(batch, values, GAMMA, 0.0, N_STEP))
    a2c_full = E.get("a2c").psi(batch, values, GAMMA, LAM, 3)
    assert_close(gae.psi(batch, values, GAMMA, 1.0, N_STEP), a2c_full)


def test_log_prob():
    logits = torch.tensor([[0.0, torch.log(torch.tensor(3.0))], [1.0, 1.0]])
    lp = E.log_prob(logits, torch.tensor([1, 0]))
    assert_close(lp, torch.log(torch.tensor([0.75, 0.5])))


# ----------------------------------------------------------------------------- actor loss
def _actor_setup(seed=0):
    g = torch.Generator().manual_seed(seed)
    T, N, A = 4, 3, 2
    logits = torch.randn(T, N, A, generator=g, requires_grad=True)
    actions = torch.randint(0, A, (T, N), generator=g)
    v = torch.randn(T, N, generator=g, requires_grad=True)
    psi = 3.0 * v + 1.0  # carries a gradient path into v: the loss must cut it
    valid = torch.ones(T, N, dtype=torch.bool)
    valid[2, 1] = valid[3, 0] = False
    return logits, actions, v, psi, valid


def _expected_grad(logits, actions, psi, valid, weight, m):
    """-(1/M) sum_valid w psi grad_logits log pi(a|s), with grad log pi = onehot - pi."""
    pi = torch.softmax(logits.detach(), -1)
    score = torch.nn.functional.one_hot(actions, pi.shape[-1]).float() - pi
    coef = psi.detach() * valid * (1.0 if weight is None else weight)
    return -(coef[..., None] * score) / m


@pytest.mark.parametrize("use_weight, n_episodes", [(False, None), (True, None), (False, 2)])
def test_actor_loss_gradient(use_weight, n_episodes):
    logits, actions, v, psi, valid = _actor_setup()
    weight = 0.9 ** torch.tensor([0.0, 1.0, 2.0, 3.0])[:, None].expand(4, 3) if use_weight else None
    loss = E.actor_loss(E.log_prob(logits, actions), psi, valid, weight, n_episodes=n_episodes)
    loss.backward()
    m = n_episodes if n_episodes is not None else int(valid.sum())
    assert m == 2 or m == 10
    assert_close(logits.grad, _expected_grad(logits, actions, psi, valid, weight, m))
    assert v.grad is None  # psi was detached: no gradient flows into the critic


def test_actor_loss_value_and_masking():
    logp = torch.tensor([[-1.0, -2.0], [-0.5, -4.0]])
    psi = torch.tensor([[2.0, 1.0], [4.0, 1e6]])
    valid = torch.tensor([[True, True], [True, False]])
    # -(1/3) (-2 - 2 - 2)
    assert_close(E.actor_loss(logp, psi, valid), torch.tensor(2.0))
    assert_close(E.actor_loss(logp, psi, valid, n_episodes=2), torch.tensor(3.0))
    nan_psi = psi.clone()
    nan_psi[1, 1] = float("nan")  # an invalid step may hold anything
    assert_close(E.actor_loss(logp, nan_psi, valid), torch.tensor(2.0))
    none_valid = torch.zeros(2, 2, dtype=torch.bool)
    assert_close(E.actor_loss(logp, psi, none_valid), torch.tensor(0.0))


# ----------------------------------------------------------------------------- critic loss
def test_critic_loss_mse_and_detached_target():
    pred = torch.tensor([1.0, 2.0, 5.0], requires_grad=True)
    target = torch.tensor([1.5, 5.0, 0.0], requires_grad=True)
    valid = torch.tensor([True, True, False])
    loss = E.critic_loss(pred, target, valid)
    # (0.5 * 0.25 + 0.5 * 9) / 2 valid steps
    assert_close(loss, torch.tensor(2.3125))
    loss.backward()
    assert_close(pred.grad, torch.tensor([-0.25, -1.5, 0.0]))
    assert target.grad is None  # the target does not move towards the critic


def test_critic_loss_smooth_l1():
    pred = torch.tensor([1.0, 2.0, 5.0], requires_grad=True)
    target = torch.tensor([1.5, 5.0, 0.0])
    valid = torch.tensor([True, True, False])
    loss = E.critic_loss(pred, target, valid, kind="smooth_l1")
    # |err| = 0.5 -> 0.125 (quadratic); |err| = 3 -> 2.5 (linear); mean over 2
    assert_close(loss, torch.tensor(1.3125))
    loss.backward()
    assert_close(pred.grad, torch.tensor([-0.25, -0.5, 0.0]))
    assert E.critic_loss(pred, target, valid, "smooth_l1") < E.critic_loss(pred, target, valid, "mse")


def test_critic_loss_masks_invalid_steps():
    pred = torch.tensor([[1.0, 1e6], [2.0, float("nan")]], requires_grad=True)
    target = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    valid = torch.tensor([[True, False], [True, False]])
    for kind, want in (("mse", 1.25), ("smooth_l1", 1.0)):
        assert_close(E.critic_loss(pred, target, valid, kind), torch.tensor(want))


def test_critic_loss_bad_kind():
    with pytest.raises(ValueError, match="critic_loss"):
        E.critic_loss(torch.zeros(2), torch.zeros(2), torch.ones(2, dtype=torch.bool), "l1")


@pytest.mark.parametrize("name", ["tdac", "gae", "a2c", "reinforce_baseline", "qac"])
def test_critic_gradient_is_semi_gradient(name, batch, values):
    """The critic loss' gradient reaches v (or q) only through the prediction."""
    est = E.get(name)
    pred = values.v if est.critic == "v" else values.q
    _, target = est.apply(batch, values, gamma=GAMMA, lam=LAM, n=N_STEP)
    E.critic_loss(pred, target, batch.valid).backward()
    assert_close(pred.grad, (pred.detach() - target) / batch.n_valid)
