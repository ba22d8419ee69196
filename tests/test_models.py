"""acnotes.models: output shapes, which parameters belong to which head, tabular logits."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from acnotes.envs import two_state
from acnotes.models import ActorCritic, TabularSoftmax



def ids(params):
    return {id(p) for p in params}


def seeded_model(seed, *args, **kw):
    """An ActorCritic whose initial weights come from ``seed``, leaving the global RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ActorCritic(*args, **kw)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("critic, shape", [(None, None), ("v", (7,)), ("q", (7, 2))])
@pytest.mark.parametrize("shared", [False, True])
def test_shapes(critic, shape, shared):
    m = seeded_model(0, 4, 2, hidden=16, layers=2, critic=critic, shared=shared)
    logits, c = m(randn(7, 4))
    assert logits.shape == (7, 2)
    if critic is None:
        assert c is None
    else:
        assert c.shape == shape
    # time-major batches [T, N, d]
    logits, c = m(randn(5, 3, 4, seed=1))
    assert logits.shape == (5, 3, 2)
    if critic is not None:
        assert c.shape == (5, 3) + shape[1:]
    assert_close(m.logits(torch.ones(2, 4)), m(torch.ones(2, 4))[0])


def test_initial_policy_is_near_uniform():
    rng_before = torch.random.get_rng_state()
    m = seeded_model(0, 4, 2)
    assert torch.equal(torch.random.get_rng_state(), rng_before)
    logits = m.logits(randn(100, 4))
    assert logits.abs().max() < 0.1


@pytest.mark.parametrize("critic", ["v", "q"])
def test_separate_trunks(critic):
    m = ActorCritic(4, 2, hidden=8, layers=2, critic=critic, shared=False)
    a, c = ids(m.actor_parameters()), ids(m.critic_parameters())
    assert a and c and not (a & c)
    assert a | c == ids(m.parameters())
    # the critic's output does not depend on the actor's weights
    _, out = m(randn(3, 4))
    out.sum().backward()
    assert all(p.grad is None for p in m.actor_parameters())
    assert all(p.grad is not None for p in m.critic_parameters())


@pytest.mark.parametrize("critic", ["v", "q"])
def test_shared_trunk(critic):
    m = ActorCritic(4, 2, hidden=8, layers=1, critic=critic, shared=True)
    assert m.critic_trunk is None
    a, c = ids(m.actor_parameters()), ids(m.critic_parameters())
    trunk = ids(m.actor_trunk.parameters())
    # the trunk is listed once (with the actor), the critic group is only its head
    assert not (a & c)
    assert trunk <= a and c == ids(m.critic_head.parameters())
    assert a | c == ids(m.parameters())
    _, out = m(randn(3, 4))
    out.sum().backward()
    assert all(p.grad is not None for p in m.actor_trunk.parameters())
    assert all(p.grad is None for p in m.pi_head.parameters())


def test_policy_only():
    m = ActorCritic(4, 3, critic=None, shared=True)
    assert m.shared is False and m.critic_head is None and m.critic_trunk is None
    assert m.critic_parameters() == []
    assert ids(m.actor_parameters()) == ids(m.parameters())


def test_layers_and_activation():
    m = ActorCritic(4, 2, hidden=32, layers=3, critic="v", activation="relu")
    linears = [x for x in m.actor_trunk if isinstance(x, torch.nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(4, 32), (32, 32), (32, 32)]
    assert isinstance(m.actor_trunk[1], torch.nn.ReLU)
    assert isinstance(ActorCritic(4, 2).actor_trunk[1], torch.nn.Tanh)


def test_bad_arguments():
    with pytest.raises(ValueError, match="critic"):
        ActorCritic(4, 2, critic="a")
    with pytest.raises(ValueError, match="activation"):
        ActorCritic(4, 2, activation="sigmoid")


def test_tabular_softmax_logits():
    phi = torch.arange(2 * 3 * 2, dtype=torch.float64).reshape(2, 3, 2)  # S=2, A=3, d=2
    m = TabularSoftmax(phi, theta=torch.tensor([1.0, -0.5]))
    s = torch.tensor([[0, 1], [1, 1]])
    logits = m(s)
    assert logits.shape == (2, 2, 3) and logits.dtype == torch.float64
    # state 0: phi rows (0,1), (2,3), (4,5) -> 0 - 0.5, 2 - 1.5, 4 - 2.5
    assert_close(logits[0, 0], torch.tensor([-0.5, 0.5, 1.5], dtype=torch.float64))
    # state 1: (6,7), (8,9), (10,11) -> 2.5, 3.5, 4.5
    assert_close(logits[1, 1], torch.tensor([2.5, 3.5, 4.5], dtype=torch.float64))
    assert [n for n, _ in m.named_parameters()] == ["theta"]


def test_tabular_softmax_matches_mdp_policy_and_is_differentiable():
    mdp = two_state()
    theta = torch.tensor([0.3, -1.0, 2.0, 0.5], dtype=torch.float64)
    m = TabularSoftmax(mdp.features, theta)
    assert_close(torch.softmax(m(torch.arange(2)), -1), mdp.policy(theta))
    assert_close(TabularSoftmax(mdp.features)(torch.arange(2)), torch.zeros(2, 2, dtype=torch.float64))
    torch.log_softmax(m(torch.tensor([0])), -1)[0, 1].backward()
    assert_close(m.theta.grad, mdp.score(theta)[0, 1])
    theta[0] = 100.0  # the module keeps its own copy
    assert m.theta[0] == 0.3
