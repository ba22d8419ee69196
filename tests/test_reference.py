"""The one-file algorithms of ``acnotes/reference`` against the engine (``acnotes.train``).

For the same preset and seed, a real training run (20k env steps: the returns grow from
about 20 to well over 100) of each reference file must end the same episodes at the same env
steps with the same returns as ``acn.train.train``. The episode returns are equal exactly;
the weights only to rounding, for the reason stated in ``acnotes/reference/__init__.py``
(``nn.Linear``'s narrow heads and ``clip_grad_norm_`` round differently from the engine's
batched population code), and a sampled action would differ only if its uniform number fell
between two CDFs that differ in the last bits: over these runs none does.

PPO (``reference/ppo.py``, the ``ppo`` preset) is compared over whole runs of 5,000 env steps
(its step size and clip range fall to 0 over them; the mean return of 20 episodes grows
from about 25 to 50 or more).
Over longer runs the two part: its 20 Adam steps per rollout on one batch amplify the last-bit
differences of the weights (about 2e-7 after the first rollout, 2e-6 after ten) until a sampled
action flips, after 4,400 to 6,900 env steps on the seeds and settings tried (with the clipping
or without), where A2C's single step per rollout keeps them apart by rounding over 20k.
"""

import pytest
import torch

import acnotes as acn
from acnotes.reference import a2c, gaussian_a2c, ppo, reinforce, tdac

STEPS = 20_000
# preset name -> (the reference's train function, the keywords that make its defaults that preset)
CASES = {
    "reinforce": (reinforce.train, {}),
    "a2c": (a2c.train, {}),
    "gae": (a2c.train, dict(lam=0.95, n_envs=8, n_steps=16)),
    "tdac": (tdac.train, {}),
}
_engine_runs = {}


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as the engine uses (``Config.threads``), for the reference too."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def engine_run(name, seed=0):
    """``(episode_returns, episode_steps)`` of the engine's preset ``name`` (computed once)."""
    if (name, seed) not in _engine_runs:
        _, h = acn.train.train(acn.train.preset(name, total_steps=STEPS, seed=seed), progress=False)
        _engine_runs[name, seed] = (h.episode_returns, h.episode_steps)
    return _engine_runs[name, seed]


@pytest.mark.parametrize("name", CASES)
def test_reference_gives_the_engines_episode_returns(name):
    train, settings = CASES[name]
    returns, ends = train(total_steps=STEPS, seed=0, **settings)
    want_returns, want_ends = engine_run(name)
    assert len(returns) > 100 and max(returns[-20:]) > 2 * max(returns[:20])  # it learned
    assert ends == want_ends
    assert returns == want_returns


def test_the_comparison_can_fail():
    """Another seed, or another gamma, gives other returns: the equality above is not vacuous."""
    want_returns, _ = engine_run("a2c")
    other_seed, _ = a2c.train(total_steps=STEPS, seed=1)
    other_gamma, _ = a2c.train(total_steps=STEPS, seed=0, gamma=0.98)
    assert other_seed[:50] != want_returns[:50]
    assert other_gamma != want_returns


# preset -> the keywords of gaussian_a2c.train that make its defaults that preset
PENDULUM = {"gae-pendulum": {}, "a2c-pendulum": dict(lam=None)}
RTOL = 1e-2


@pytest.mark.parametrize("name", PENDULUM)
def test_gaussian_reference_follows_the_engine_on_pendulum(name):
    """With a Gaussian policy every action depends continuously on the weights, so the rounding
    differences of the weights (``acnotes/reference/__init__.py``) move every torque in its last
    bits, and the returns with them: the engine and the reference end the same episodes at the
    same env steps, with returns equal to a relative 1e-5 over the first episode of each env and
    to RTOL over 20k env steps (measured, seed 0: at most 8e-4 for GAE, 1e-5 for A2C)."""
    returns, ends = gaussian_a2c.train(total_steps=STEPS, seed=0, **PENDULUM[name])
    want_returns, want_ends = engine_run(name)
    assert ends == want_ends and len(returns) == 16 * (STEPS // (200 * 16))
    got, want = torch.tensor(returns, dtype=torch.float64), torch.tensor(want_returns, dtype=torch.float64)
    torch.testing.assert_close(got[:16], want[:16], rtol=1e-5, atol=0)
    torch.testing.assert_close(got, want, rtol=RTOL, atol=0)


def test_the_pendulum_comparison_can_fail():
    """Another seed, or a learning rate 10% larger, miss the tolerance."""
    want = torch.tensor(engine_run("gae-pendulum")[0], dtype=torch.float64)
    other_seed = torch.tensor(gaussian_a2c.train(total_steps=STEPS, seed=1)[0], dtype=torch.float64)
    assert not torch.allclose(other_seed, want, rtol=RTOL, atol=0)
    _, h = acn.train.train(acn.train.preset("gae-pendulum", total_steps=STEPS, lr=1.1e-3), progress=False)
    assert not torch.allclose(torch.tensor(h.episode_returns, dtype=torch.float64), want, rtol=RTOL, atol=0)


PPO_STEPS = 5_000


@pytest.mark.parametrize("seed", [0, 1])
def test_ppo_reference_gives_the_engines_episode_returns(seed):
    returns, ends = ppo.train(total_steps=PPO_STEPS, seed=seed)
    _, h = acn.train.train(acn.train.preset("ppo", total_steps=PPO_STEPS, seed=seed), progress=False)
    assert len(returns) > 50 and sum(returns[-20:]) > 1.5 * sum(returns[:20])  # it learned
    assert ends == h.episode_steps
    assert returns == h.episode_returns


def test_ppo_member_with_empty_minibatches_gives_the_references_episode_returns():
    """Minibatches of 85 of 8 x 32 steps: 3 of 85 and one of 1 row when all 256 steps are valid;
    a rollout with an autoreset step (every rollout that ends an episode) has 255 or fewer, so
    its last minibatch is empty and the reference takes 3 steps per epoch, not 4. Each member of
    a population must take them too, its Adam state untouched by the empty one (optim.py)."""
    steps = 3_000
    cfgs = [acn.train.preset("ppo", total_steps=steps, seed=s, batch_size=85) for s in (0, 1)]
    for c, (_, h) in zip(cfgs, acn.train.train_population(cfgs, progress=False)):
        returns, ends = ppo.train(total_steps=steps, seed=c.seed, batch_size=85)
        assert len(returns) > 50
        assert ends == h.episode_steps, f"seed {c.seed}"
        assert returns == h.episode_returns, f"seed {c.seed}"
