"""Population training: K members as one, each following its own single run exactly.

The oracles are independent of the batched code: gymnasium's own CartPole for the env,
``torch.optim.Adam``/``RMSprop`` on separate tensors for the optimizer, and separate single
runs (a population of one each) for the training loop.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from acnotes import estimators, population_checks
from acnotes.cartpole import CartPoles
from acnotes.models import ActorCritic, Population
from acnotes.optim import PopulationOptimizer
from acnotes.train import clip_per_member, member_grad_norms
from acnotes.train import preset, train, train_population


# ----------------------------------------------------------------------------- the env
@pytest.mark.parametrize("n, seed", [(3, 0), (8, 5)])
def test_cartpoles_match_gymnasium(n, seed):
    """Same seed, same actions: the same observations, rewards and flags as gymnasium's
    vectorized CartPole-v1, autoresets and truncations included."""
    ref = gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point", max_episode_steps=60)
    env = CartPoles(1, n, max_episode_steps=60)
    assert np.array_equal(ref.reset(seed=seed)[0], env.reset(seed=seed)[0])
    rng = np.random.default_rng(seed)
    ends = 0
    for _ in range(1500):
        a = rng.integers(0, 2, n)
        want, got = ref.step(a), env.step(a)
        for x, y in zip(want[:4], got[:4]):
            assert np.array_equal(x, y)
        ends += int((got[2] | got[3]).sum())
    assert ends > 50  # the comparison crossed many autoresets


def test_population_env_members_are_independent():
    K, N, seeds = 4, 3, [3, 1, 4, 1]
    pop = CartPoles(K, N, 40)
    singles = [CartPoles(1, N, 40) for _ in seeds]
    first = np.concatenate([s.reset(seed=sd)[0] for s, sd in zip(singles, seeds)])
    assert np.array_equal(pop.reset(seed=seeds)[0], first)
    rng = np.random.default_rng(0)
    for _ in range(800):
        a = rng.integers(0, 2, K * N)
        got = pop.step(a)
        want = [s.step(a[k * N:(k + 1) * N]) for k, s in enumerate(singles)]
        for i in range(4):
            assert np.array_equal(got[i], np.concatenate([w[i] for w in want]))


@pytest.mark.parametrize("bad", [[0, 1, -1, 0], [0, 2, 0, 0], [1, 1, 1, -2**62], np.array([0, 1, -1, 0], dtype=np.int32),
                                 [0.0, -0.5, 1.0, 0.0], [0, 1, 0]])
def test_bad_actions_are_refused(bad):
    """Any action but 0 and 1 (int64 ones are checked by a shift), or the wrong count."""
    env = CartPoles(2, 2, 500)
    env.reset(seed=[0, 1])
    with pytest.raises(ValueError, match="actions must be 4 values in"):
        env.step(np.asarray(bad))
    env.step(np.array([0, 1, 1, 0]))   # good actions still step


def test_paused_members_do_not_move():
    env = CartPoles(2, 2, 500)
    env.reset(seed=[0, 1])
    before = env.state.copy()
    env.step(np.ones(4, dtype=int), active=np.array([True, True, False, False]))
    assert np.array_equal(env.state[:, 2:], before[:, 2:]) and not np.array_equal(env.state[:, :2], before[:, :2])
    with pytest.raises(ValueError, match="active must be 4 booleans"):
        env.step(np.ones(4, dtype=int), active=np.array([1, 1, 0, 0]))


# ----------------------------------------------------------------------------- nets and optimizer
@pytest.mark.parametrize("critic, shared", [(None, False), ("v", False), ("v", True), ("q", False)])
def test_population_net_matches_its_members(critic, shared):
    nets = []
    for s in range(3):
        torch.manual_seed(s)
        nets.append(ActorCritic(4, 2, 16, 2, critic=critic, shared=shared, activation="relu"))
    pop = Population.stack(nets)
    x = torch.randn(3, 7, 4)
    logits, crit = pop(x)
    for k, net in enumerate(nets):
        want_l, want_c = net(x[k])
        torch.testing.assert_close(logits[k], want_l)
        if critic is not None:
            torch.testing.assert_close(crit[k], want_c)
        back = pop.member(k)
        for p, q in zip(back.parameters(), net.parameters()):
            assert torch.equal(p, q)


@pytest.mark.parametrize("kind", ["adam", "rmsprop"])
def test_optimizer_is_k_torch_optimizers(kind):
    """Member k with lr[k] moves exactly like torch's optimizer on member k alone."""
    K, lr = 3, torch.tensor([1e-3, 3e-2, 1e-1])
    torch.manual_seed(0)
    w = torch.randn(K, 5, 4)
    stacked = torch.nn.Parameter(w.clone())
    alone = [torch.nn.Parameter(w[k].clone()) for k in range(K)]
    make = (lambda p, l: torch.optim.Adam([p], lr=l)) if kind == "adam" else \
        (lambda p, l: torch.optim.RMSprop([p], lr=l, alpha=0.99, eps=1e-5))
    refs = [make(p, float(lr[k])) for k, p in enumerate(alone)]
    opt = PopulationOptimizer([stacked], [True], lr, lr, kind)
    for step in range(20):
        g = torch.randn(K, 5, 4, generator=torch.Generator().manual_seed(step))
        stacked.grad = g.clone()
        opt.step(torch.ones(K, dtype=torch.bool))
        for k, (p, ref) in enumerate(zip(alone, refs)):
            p.grad = g[k].clone()
            ref.step()
    for k in range(K):
        torch.testing.assert_close(stacked.detach()[k], alone[k].detach(), rtol=1e-5, atol=1e-6)


def test_member_that_does_not_step_is_torchs_adam_not_stepped():
    """A member left out of a step (a PPO minibatch with none of its rows) moves afterwards as
    torch's Adam that skipped that step: its moments do not decay and its step count stays."""
    K, lr = 3, torch.tensor([1e-2, 1e-2, 3e-2])
    torch.manual_seed(0)
    w = torch.randn(K, 5, 4)
    stacked = torch.nn.Parameter(w.clone())
    alone = [torch.nn.Parameter(w[k].clone()) for k in range(K)]
    refs = [torch.optim.Adam([p], lr=float(lr[k])) for k, p in enumerate(alone)]
    opt = PopulationOptimizer([stacked], [True], lr, lr)
    skips = {(2, 1), (3, 1), (5, 2), (6, 0)}          # (step, member): members 0, 1, 2 skip 1, 2, 1 steps
    for step in range(12):
        g = torch.randn(K, 5, 4, generator=torch.Generator().manual_seed(step))
        stacked.grad = g.clone()
        active = torch.tensor([(step, k) not in skips for k in range(K)])
        opt.step(active)
        for k, (p, ref) in enumerate(zip(alone, refs)):
            if active[k]:
                p.grad = g[k].clone()
                ref.step()
    for k in range(K):
        torch.testing.assert_close(stacked.detach()[k], alone[k].detach(), rtol=1e-5, atol=1e-6)
    assert list(opt.t) == [11, 10, 11]


def test_stopped_member_keeps_its_parameters():
    p = torch.nn.Parameter(torch.ones(2, 3))
    opt = PopulationOptimizer([p], [True], torch.tensor([0.1, 0.1]), torch.tensor([0.1, 0.1]))
    p.grad = torch.tensor([[1.0, 1.0, 1.0], [float("nan")] * 3])
    opt.step(torch.tensor([True, False]))
    assert torch.equal(p.detach()[1], torch.ones(3)) and (p.detach()[0] < 1).all()


def test_clipping_is_per_member():
    p = torch.nn.Parameter(torch.zeros(3, 4))
    p.grad = torch.tensor([[3.0, 4, 0, 0], [0.3, 0.4, 0, 0], [30.0, 40, 0, 0]])
    norms = clip_per_member([p], torch.tensor([1.0, 1.0, float("inf")]))
    torch.testing.assert_close(norms, torch.tensor([5.0, 0.5, 50.0]))
    torch.testing.assert_close(p.grad.norm(dim=1), torch.tensor([1.0, 0.5, 50.0]), rtol=1e-5, atol=1e-5)


def test_a_members_grad_norm_does_not_depend_on_the_population_size():
    """Bit for bit: the first 3 members' norms are the same alone as among 75. (Summing a
    stacked [parameters, K] tensor over its first axis did not give this: the order of the
    additions depended on K, and a clipped member's run then depended on its population.)"""
    torch.manual_seed(0)
    shapes = [(4, 64), (64,), (64, 64), (64,), (64, 2), (2,), (64, 1), (1,), (3, 7), (5,)]
    grads = [torch.rand(75, *s) * 10 for s in shapes]

    def norms(k):
        params = [torch.nn.Parameter(torch.zeros(k, *s)) for s in shapes]
        for p, g in zip(params, grads):
            p.grad = g[:k].clone()
        return member_grad_norms(params)

    full = norms(75)
    for k in (1, 2, 3, 8, 25):
        assert torch.equal(norms(k), full[:k]), k


# ----------------------------------------------------------------------------- equivalence
def _members(cfg):
    """Three members that differ in seed and in numeric settings, clipping included."""
    return [cfg.replace(seed=0),
            cfg.replace(seed=1, gamma=0.95, lr=cfg.lr * 2, reward_scale=0.5, max_grad_norm=0.5),
            cfg.replace(seed=2, lr=cfg.lr / 3, critic_lr=1e-3, lam=0.5, max_grad_norm=None)]


@pytest.mark.parametrize("name", ["a2c", "tdac", "reinforce", "reinforce_baseline", "qac", "gae",
                                  "a2c-pendulum", "gae-pendulum"])
def test_member_follows_its_single_run(name):
    """After 50 updates every member has exactly the episode returns of its own single run, and
    its parameters bit for bit, so that the two cannot drift apart on a longer run. Whole-episode
    batches (REINFORCE) are as long as the population's longest episode, and that length changes
    how the sums over steps round: there the parameters agree to float rounding only."""
    cfg = preset(name)
    episodic = estimators.get(cfg.algo).episodic
    per_update = cfg.n_envs * cfg.n_steps
    cfg = cfg.replace(total_steps=3000 if episodic else 50 * per_update)
    cfgs = _members(cfg)
    pop = train_population(cfgs, progress=False)
    for (agent_p, hist_p), c in zip(pop, cfgs):
        agent_s, hist_s = train(c, progress=False)
        if not episodic:
            assert len(hist_s.steps) == 50
        assert len(hist_s.episode_returns) > 10
        assert hist_p.episode_returns == hist_s.episode_returns
        assert hist_p.episode_steps == hist_s.episode_steps
        assert hist_p.steps == hist_s.steps
        for (n, p), q in zip(agent_p.model.named_parameters(), agent_s.model.parameters()):
            if episodic:
                torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
            else:
                assert torch.equal(p, q), f"{name}, seed {c.seed}: {n} differs from the single run's"
    assert pop[0][1].episode_returns != pop[1][1].episode_returns  # the members did differ


@pytest.mark.parametrize("critic", ["v", "q", None])
def test_one_member_computes_as_each_of_many(critic):
    """Member 0 alone and member 0 of three give the same outputs and gradients, bit for bit
    (torch multiplies by a one-column matrix, the V head, with another kernel for one member)."""
    torch.manual_seed(0)
    nets = [ActorCritic(4, 2, critic=critic) for _ in range(3)]
    x = torch.randn(3, 96, 4)
    outs, grads = [], []
    for pop, obs in ((Population.stack(nets[:1]), x[:1]), (Population.stack(nets), x)):
        logits, crit = pop(obs)
        loss = (logits * torch.linspace(-1, 1, 2)).sum() + (0 if crit is None else (crit ** 2).sum())
        loss.backward()
        outs.append([logits[0]] + ([] if crit is None else [crit[0]]))
        grads.append([p.grad[0] for p in pop.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*outs))
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_one_member_computes_as_each_of_many_gaussian():
    """The same for a Gaussian policy: its mean head has one column, and the gradients of its
    bias and of log sigma are sums over rows of slices of (mu, log sigma)."""
    torch.manual_seed(0)
    nets = [ActorCritic(3, 1, critic="v", gaussian=True, log_std_init=-0.5) for _ in range(3)]
    x = torch.randn(3, 96, 3)
    w = torch.randn(96, 2)
    grads = []
    for pop, obs in ((Population.stack(nets[:1]), x[:1]), (Population.stack(nets), x)):
        out, crit = pop(obs)
        assert out.shape == (obs.shape[0], 96, 2)
        ((out * w).sum() + (crit ** 2).sum()).backward()
        grads.append([p.grad[0] for p in pop.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_structural_settings_must_agree():
    base = preset("a2c", total_steps=200)
    with pytest.raises(ValueError, match="n_envs.*member 1"):
        train_population([base, base.replace(n_envs=4)], progress=False)
    with pytest.raises(ValueError, match="algo"):
        train_population([base, base.replace(algo="tdac")], progress=False)
    with pytest.raises(ValueError, match="hidden"):
        train_population([base, base.replace(hidden=32)], progress=False)


def test_empty_population_is_refused():
    with pytest.raises(ValueError, match="K = 0"):
        train_population([], progress=False)


def test_bad_member_is_named():
    base = preset("a2c", total_steps=200)
    with pytest.raises(ValueError, match="member 1: gamma"):
        train_population([base, base.replace(gamma=1.5)], progress=False)


def test_too_large_population_is_refused_up_front(monkeypatch):
    monkeypatch.setattr(population_checks, "_available_memory", lambda: 50 * 2**20)
    cfgs = [preset("a2c", seed=s) for s in range(75)]
    with pytest.raises(ValueError, match=r"75 members needs about .* GiB .*MiB per member"):
        train_population(cfgs, progress=False)


# ----------------------------------------------------------------------------- stopping
def test_diverging_member_stops_alone():
    base = preset("a2c", total_steps=3000)
    cfgs = [base, base.replace(lr=1e6, critic_lr=None), base.replace(seed=1)]
    with pytest.warns(RuntimeWarning, match="member 1 .*lr 1e\\+06.*weights grew"):
        runs = train_population(cfgs, progress=False)
    statuses = [h.status for _, h in runs]
    assert statuses == ["done", "diverged", "done"]
    assert runs[1][1].total_steps < 3000 <= runs[0][1].total_steps
    alone = train(base, progress=False)[1]
    assert runs[0][1].episode_returns == alone.episode_returns  # the diverged member changed nothing


def test_saturated_policy_is_reported():
    with pytest.warns(RuntimeWarning, match="saturated"):
        _, h = train(preset("a2c", lr=1.0, critic_lr=None, total_steps=20_000), progress=False)
    assert h.status == "diverged" and "entropy" in h.message


def test_interrupt_returns_every_history():
    def stop(hists):
        if len(hists[0].steps) == 4:
            raise KeyboardInterrupt

    base = preset("tdac", total_steps=10_000)
    runs = train_population([base.replace(seed=s) for s in range(3)], progress=False, callback=stop)
    assert [h.status for _, h in runs] == ["interrupted"] * 3
    assert all(len(h.steps) == 4 for _, h in runs)


def test_target_reached_stops_only_that_member():
    base = preset("a2c", total_steps=4000)
    runs = train_population([base.replace(target_return=0.0), base], progress=False)
    assert runs[0][1].status == "target reached" and runs[1][1].status == "done"
    assert runs[0][1].total_steps < runs[1][1].total_steps


def test_history_records_entropy():
    _, h = train(preset("a2c", total_steps=1280), progress=False)
    assert len(h.entropy) == len(h.steps) == 10
    assert all(0.0 < e <= np.log(2) + 1e-6 for e in h.entropy)
    assert h.entropy[0] == pytest.approx(np.log(2), abs=1e-3)  # the first policy is near uniform
