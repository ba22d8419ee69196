"""acnotes.rollout.Collector on the vectorized CartPole: alignment of obs/next_obs, the
autoreset step, time indices, episode bookkeeping, truncation and seeding."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from acnotes.envs import make_cartpole
from acnotes.rollout import Batch, Collector



def uniform(obs):
    return torch.zeros(obs.shape[0], 2)


def balance(obs):
    """A near-deterministic controller that keeps the pole up for 500+ steps."""
    x, x_dot, th, th_dot = obs.unbind(-1)
    z = th + 0.5 * th_dot + 0.01 * x + 0.1 * x_dot
    return torch.stack([-z, z], -1) * 1000.0


def collect(n=4, T=80, seed=0, max_episode_steps=20, policy=uniform, reward_scale=1.0):
    env = make_cartpole(n, max_episode_steps=max_episode_steps)
    col = Collector(env, policy, seed=seed, reward_scale=reward_scale)
    return col, col.steps(T)


def split_episodes(b: Batch, i: int):
    """The valid steps of env i grouped by episode: a list of lists of t indices."""
    eps, cur = [], []
    for t in range(b.rewards.shape[0]):
        if not b.valid[t, i]:
            continue
        cur.append(t)
        if b.terminated[t, i] or b.truncated[t, i]:
            eps.append(cur)
            cur = []
    return eps, cur


def physics_step(obs, action):
    """One step of the (single) gymnasium CartPole from the state ``obs``."""
    env = gym.make("CartPole-v1").unwrapped
    env.reset(seed=0)
    env.state = np.asarray(obs, dtype=np.float64)
    nobs, *_ = env.step(int(action))
    return nobs


# ----------------------------------------------------------------------------- shapes, alignment
def test_batch_shapes_and_dtypes():
    col, b = collect(n=3, T=10)
    assert b.obs.shape == b.next_obs.shape == (10, 3, 4)
    for x in (b.actions, b.rewards, b.terminated, b.truncated, b.valid, b.t):
        assert x.shape == (10, 3)
    assert b.obs.dtype == b.rewards.dtype == torch.float32
    assert b.actions.dtype == torch.long
    assert b.terminated.dtype == b.truncated.dtype == b.valid.dtype == torch.bool


def test_next_obs_is_next_obs_row_and_across_batches():
    col, b = collect()
    assert torch.equal(b.next_obs[:-1], b.obs[1:])
    b2 = col.steps(5)
    assert torch.equal(b2.obs[0], b.next_obs[-1])  # the next batch continues


def test_next_obs_follows_the_dynamics():
    """next_obs[t] = CartPole(obs[t], a[t]) on every valid step, including the steps that
    terminate or truncate: the true last state, not the reset state."""
    col, b = collect(n=3, T=60)
    ends = (b.terminated | b.truncated) & b.valid
    assert b.terminated.any() and b.truncated.any()
    for t, i in b.valid.nonzero().tolist():
        expected = physics_step(b.obs[t, i], b.actions[t, i])
        np.testing.assert_allclose(b.next_obs[t, i].numpy(), expected, rtol=1e-5, atol=1e-5)
    # ... while on the autoreset step the next state is a fresh start
    for t, i in (~b.valid).nonzero().tolist():
        assert b.next_obs[t, i].abs().max() <= 0.05
        assert ends[t - 1, i]


# ----------------------------------------------------------------------------- autoreset, t, flags
def test_step_after_episode_end_is_invalid():
    col, b = collect(T=100)
    ends = (b.terminated | b.truncated) & b.valid
    assert ends.sum() >= 8
    # invalid exactly on the step that follows an end (steps mode)
    expected_invalid = torch.zeros_like(b.valid)
    expected_invalid[1:] = ends[:-1]
    assert torch.equal(~b.valid, expected_invalid)
    # flags only on valid steps, rewards zero on invalid steps
    assert not ((b.terminated | b.truncated) & ~b.valid).any()
    assert (b.rewards[~b.valid] == 0).all()
    assert (b.rewards[b.valid] == 1).all()


def test_time_in_episode():
    col, b = collect(T=100)
    for i in range(b.rewards.shape[1]):
        eps, running = split_episodes(b, i)
        for k, ep in enumerate(eps + [running]):
            first = 0
            for j, t in enumerate(ep):
                assert b.t[t, i] == first + j, (i, k, t)


def test_time_continues_across_batches():
    col, b1 = collect(n=2, T=5, max_episode_steps=500, policy=balance)
    b2 = col.steps(5)
    assert torch.equal(b1.t, torch.arange(5)[:, None].expand(5, 2))
    assert torch.equal(b2.t, torch.arange(5, 10)[:, None].expand(5, 2))


def test_logged_returns_are_sums_of_valid_rewards():
    col, b = collect(T=100, reward_scale=0.5)
    returns, lengths = [], []
    ends = (b.terminated | b.truncated) & b.valid
    # episodes in the order they ended (time-major, then env)
    order = sorted(ends.nonzero().tolist())
    for t_end, i in order:
        eps, _ = split_episodes(b, i)
        ep = next(e for e in eps if e[-1] == t_end)
        assert b.t[ep[0], i] == 0  # all episodes started inside this batch
        returns.append(float(b.rewards[ep, i].sum()) / 0.5)  # the log is unscaled
        lengths.append(len(ep))
    assert col.log.returns == returns
    assert col.log.lengths == lengths
    assert (b.rewards[b.valid] == 0.5).all()
    assert len(col.log.end_steps) == len(returns)
    assert col.log.end_steps == sorted(col.log.end_steps)


def test_truncation_at_max_episode_steps():
    col, b = collect(n=4, T=60, max_episode_steps=20)
    trunc = b.truncated.nonzero().tolist()
    assert trunc
    for t, i in trunc:
        assert b.t[t, i] == 19  # the 20th step of the episode
        assert not b.terminated[t, i]
    assert all(n <= 20 for n in col.log.lengths)
    assert all(r == n for r, n in zip(col.log.returns, col.log.lengths))


def test_truncation_at_500_steps_with_a_balancing_policy():
    col, b = collect(n=2, T=502, max_episode_steps=500, policy=balance)
    assert col.log.lengths == [500, 500] and col.log.returns == [500.0, 500.0]
    assert b.truncated[499].all() and not b.terminated.any()
    assert (b.t[499] == 499).all()
    assert not b.valid[500].any() and b.valid[501].all() and (b.t[501] == 0).all()
    for i in range(2):  # the true last state, not the reset state of the next episode
        np.testing.assert_allclose(b.next_obs[499, i].numpy(), physics_step(b.obs[499, i], b.actions[499, i]),
                                   rtol=1e-5, atol=1e-5)
        assert not torch.equal(b.next_obs[499, i], b.next_obs[500, i])


# ----------------------------------------------------------------------------- episodes()
def test_episodes_one_per_env():
    env = make_cartpole(5, max_episode_steps=30)
    col = Collector(env, uniform, seed=3)
    col.steps(7)  # leftover state must not leak into episodes()
    n_before = len(col.log.returns)
    b = col.episodes()
    N = 5
    assert b.n_episodes_ended() == N
    ends = (b.terminated | b.truncated) & b.valid
    assert (ends.sum(0) == 1).all()
    T = b.rewards.shape[0]
    assert ends[-1].any()  # stops as soon as the last env finished
    lengths = b.valid.sum(0)
    # each column: a valid prefix ending at its end, nothing valid afterwards
    assert torch.equal(b.valid, torch.arange(T)[:, None] < lengths)
    assert torch.equal(ends.float().argmax(0), lengths - 1)
    for i in range(N):
        assert torch.equal(b.t[: int(lengths[i]), i], torch.arange(int(lengths[i])))
    assert (b.rewards[~b.valid] == 0).all()
    new = col.log.returns[n_before:]
    assert len(new) == N
    assert sorted(new) == sorted(lengths.float().tolist())
    assert torch.equal(b.obs[0], b.obs[0].clamp(-0.05, 0.05))  # starts from a reset
    env.close()


def test_env_steps_counts_every_transition():
    env = make_cartpole(3, max_episode_steps=20)
    col = Collector(env, uniform, seed=0)
    col.steps(10)
    assert col.env_steps == 30
    col.steps(4)
    assert col.env_steps == 42
    b = col.episodes()
    assert col.env_steps == 42 + 3 * b.rewards.shape[0]
    env.close()


def test_steps_after_episodes_start_from_reset():
    env = make_cartpole(2, max_episode_steps=20)
    col = Collector(env, uniform, seed=0)
    col.episodes()
    b = col.steps(3)
    assert (b.t[0] == 0).all() and b.valid[0].all()
    env.close()


# ----------------------------------------------------------------------------- seeding
def _same(a: Batch, b: Batch):
    return all(torch.equal(getattr(a, k), getattr(b, k)) for k in
               ("obs", "actions", "rewards", "terminated", "truncated", "next_obs", "valid", "t"))


def test_same_seed_same_batches():
    c1, b1 = collect(seed=11, T=40)
    c2, b2 = collect(seed=11, T=40)
    assert _same(b1, b2)
    assert _same(c1.episodes(), c2.episodes())
    assert _same(c1.steps(15), c2.steps(15))
    assert c1.log.returns == c2.log.returns
    c3, b3 = collect(seed=12, T=40)
    assert not torch.equal(b1.obs, b3.obs)
    assert not torch.equal(b1.actions, b3.actions)


# ----------------------------------------------------------------------------- continuous actions
def test_gaussian_actions_are_clipped_for_the_env_only():
    """On Pendulum-v1 the Batch keeps the unclipped a_t = mu + sigma eps (what the log-probability
    scores); the env receives clip(a_t, -2, 2): its states are gymnasium's under the clipped
    torques. The eps are member 0's generator's normal numbers, [N, 1] per step."""
    from acnotes.envs import make_pendulum

    n, T, seed = 3, 230, 4

    def policy(obs):                       # mu = 2.5 cos(theta) (often beyond 2), sigma = e^-1
        return torch.stack([2.5 * obs[:, 0], torch.full((obs.shape[0],), -1.0)], -1)

    col = Collector(make_pendulum(n), policy, seed=seed, reward_scale=0.1)
    b = col.steps(T)
    assert b.actions.shape == (T, n, 1) and b.actions.dtype == torch.float32
    g = torch.Generator().manual_seed(seed)
    eps = torch.stack([torch.randn(n, 1, generator=g) for _ in range(T)])
    mu = 2.5 * b.obs[..., :1]
    assert torch.equal(b.actions, mu + torch.exp(torch.tensor(-1.0)) * eps)
    assert (b.actions.abs() > 2).float().mean() > 0.2          # the clip mattered
    ref = gym.make_vec("Pendulum-v1", num_envs=n, vectorization_mode="sync")
    obs, _ = ref.reset(seed=seed)
    for t in range(T):
        assert np.array_equal(b.obs[t].numpy(), obs)
        obs, r, term, trunc, _ = ref.step(np.clip(b.actions[t].numpy(), -2, 2))
        valid = b.valid[t].numpy()
        # the reward is scaled in float64 and rounded once, as the reference does
        assert np.array_equal(b.rewards[t].numpy(), (r * valid * 0.1).astype(np.float32))
        assert np.array_equal(b.truncated[t].numpy(), trunc & valid) and not b.terminated[t].any()
    assert b.truncated.sum() == n and col.log.returns and len(col.log.returns) == n
