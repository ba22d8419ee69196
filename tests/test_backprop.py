"""The engine's fast path (``acnotes/backprop.py``) against autograd.

The oracle is autograd through ``Population.forward`` (the layers as plain torch ops) and the
losses of ``train.losses``: on a real CartPole batch, the gradient written out by hand
(``Replay.backward``, every layer by ``models.backprop``) and the one autograd computes
through the one-node sides (``Replay.forward`` with ``HandBackward``) must equal it to float
rounding, member by member, for each algorithm the hand path serves, with an entropy bonus,
gamma^t weights and a stopped member. Rounding is all that may differ: the sums run in
another order.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

import acnotes.train as tr
from acnotes import envs, estimators
from acnotes.backprop import Replay
from acnotes.models import Population
from acnotes.rollout import Collector

CASES = {
    "a2c": {},
    "tdac": {},
    "gae": {},
    "reinforce": {},
    "reinforce_baseline": {},
    "a2c with entropy, gamma^t weights, a stopped member": dict(ent_coef=0.05, discount_actor=True),
}
STOPPED = "a2c with entropy, gamma^t weights, a stopped member"


def _setup(name):
    algo = name.split()[0]
    cfgs = [tr.preset(algo, seed=s, total_steps=1000, **CASES[name]) for s in range(3)]
    cfgs = [c.replace(gamma=g) for c, g in zip(cfgs, (0.99, 0.9, 0.95))]
    pop = Population.stack([tr.make_agent(c) for c in cfgs])
    with torch.no_grad():     # a trained-looking network: not the near-uniform initial policy
        pop.actor.mul_(3.0)
    replay = Replay(pop)
    col = Collector(envs.make_cartpole(cfgs[0].n_envs, members=3), replay.policy, seed=[0, 1, 2])
    est = estimators.get(algo)
    batch = col.episodes() if est.episodic else col.steps(cfgs[0].n_steps)
    settings = dict(algo=algo, n=cfgs[0].nstep or cfgs[0].n_steps, discount_actor=cfgs[0].discount_actor,
                    gamma=tr._numbers(cfgs, "gamma").repeat_interleave(cfgs[0].n_envs),
                    lam=tr._numbers(cfgs, "lam").repeat_interleave(cfgs[0].n_envs))
    vf, ent = tr._numbers(cfgs, "vf_coef"), tr._numbers(cfgs, "ent_coef")
    active = np.array([True, name != STOPPED, True])
    return cfgs, pop, replay, batch, settings, vf, ent, active


def _autograd_grads(pop, batch, settings, vf, ent, active, forward=None):
    """The gradient of the population's loss by autograd through plain torch ops."""
    copy = Population.stack([pop.member(k) for k in range(pop.members)])
    forward = forward or tr._member_major(copy)[0]
    terms = tr.step_terms(forward, batch, **settings)
    a, c, e = tr.losses(terms, functools.partial(tr.member_sums, members=pop.members))
    loss = torch.where(torch.from_numpy(active), a + vf * c - ent * e, torch.zeros(()))
    loss.sum().backward()
    return copy


@pytest.mark.parametrize("name", CASES)
def test_hand_written_gradient_is_autograds(name):
    cfgs, pop, replay, batch, settings, vf, ent, active = _setup(name)
    want = _autograd_grads(pop, batch, settings, vf, ent, active)
    assert replay.by_hand(pop.critic_kind, "mse", True)
    with torch.no_grad():
        terms = tr.step_terms(replay.forward, batch, **settings)
    replay.backward(terms, active, vf, ent, functools.partial(tr.member_sums, members=pop.members))
    for side in ("actor", "critic") if pop.critic is not None else ("actor",):
        got, ref = getattr(pop, side).grad, getattr(want, side).grad
        assert got.abs().max() > 1e-4                                   # not vacuous
        for k in np.flatnonzero(active):
            torch.testing.assert_close(got[k], ref[k], rtol=1e-5, atol=1e-6 * float(ref[k].abs().max()))
        stopped = ~torch.from_numpy(active)
        for g in (ref, got):                                            # a stopped member: exactly 0
            assert torch.equal(g[stopped], torch.zeros_like(g[stopped]))


@pytest.mark.parametrize("name", ["a2c", "reinforce", STOPPED])
def test_one_node_sides_give_autograds_gradient(name):
    """``HandBackward`` (each side one autograd node) against autograd through every op."""
    cfgs, pop, replay, batch, settings, vf, ent, active = _setup(name)
    want = _autograd_grads(pop, batch, settings, vf, ent, active)
    terms = tr.step_terms(replay.forward, batch, **settings)
    a, c, e = tr.losses(terms, functools.partial(tr.member_sums, members=pop.members))
    torch.where(torch.from_numpy(active), a + vf * c - ent * e, torch.zeros(())).sum().backward()
    for side in ("actor", "critic") if pop.critic is not None else ("actor",):
        got, ref = getattr(pop, side).grad, getattr(want, side).grad
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6 * float(ref.abs().max()))


def test_the_replay_refuses_a_batch_it_did_not_act():
    cfgs, pop, replay, batch, settings, vf, ent, active = _setup("a2c")
    tr.step_terms(replay.forward, batch, **settings)
    with pytest.raises(RuntimeError, match="acting steps were kept"):
        tr.step_terms(replay.forward, batch, **settings)


def test_population_tanh_is_torchs_tanh_to_float_rounding():
    """The population computes tanh as 2 sigmoid(2z) - 1 (faster on CPU): its members' outputs
    are those of the plain ``ActorCritic`` (``nn.Tanh``) to float rounding, on both paths."""
    torch.manual_seed(0)
    nets = [tr.make_agent(tr.preset("a2c", seed=s)) for s in range(3)]
    with torch.no_grad():
        for net in nets:                   # larger weights: activations across tanh's whole range
            for p in net.parameters():
                p.mul_(4.0)
    pop = Population.stack(nets)
    x = torch.randn(3, 50, 4) * 2
    logits, crit = pop(x)                  # autograd path
    with torch.no_grad():
        _, replayed = pop.layers("actor", x)
    for k, net in enumerate(nets):
        want_l, want_c = net(x[k])
        torch.testing.assert_close(logits[k], want_l, rtol=0, atol=2e-5)
        torch.testing.assert_close(crit[k], want_c, rtol=0, atol=2e-5)
        torch.testing.assert_close(replayed[k], want_l, rtol=0, atol=2e-5)
