"""acnotes.pendulum.Pendulums against gymnasium's own Pendulum-v1: the same observations, rewards
and flags to the last bit, for one member and for each member of a population, over several
episodes (NEXT_STEP autoreset, truncation at 200 steps)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from acnotes.pendulum import EPISODE_STEPS, MAX_TORQUE, Pendulums

N = 4
STEPS = 3 * EPISODE_STEPS + 25      # three whole episodes, their autoreset steps, and part of a fourth


def gym_pendulums(seed: int):
    env = gym.make_vec("Pendulum-v1", num_envs=N, vectorization_mode="sync")
    return env, env.reset(seed=seed)[0]


def torques(rng, n):
    """Wide torques: about a third beyond the bound, so the clip matters."""
    return (3 * rng.normal(size=(n, 1))).astype(np.float32)


def assert_same(want, got, t):
    for name, x, y in zip(("observation", "reward", "terminated", "truncated"), want, got):
        assert x.dtype == y.dtype, f"step {t}: {name} dtype {y.dtype}, gymnasium's {x.dtype}"
        assert np.array_equal(x, y), f"step {t}: {name} differs:\n{x}\n{y}"


@pytest.mark.parametrize("seed", [0, 3])
def test_one_member_is_gymnasiums_pendulum(seed):
    ref, obs = gym_pendulums(seed)
    env = Pendulums(1, N)
    assert np.array_equal(env.reset(seed=seed)[0], obs)
    rng = np.random.default_rng(seed)
    beyond, wrapped, cuts = 0, 0, 0
    for t in range(STEPS):
        a = torques(rng, N)
        beyond += int((np.abs(a) > MAX_TORQUE).sum())
        wrapped += int((np.abs(env.theta) > np.pi).sum())   # the cost needs the angle normalised
        want = ref.step(a)
        got = env.step(a)
        assert_same(want, got, t)
        cuts += int(got[3].sum())
    # the run exercised what it checks: clipped torques, angles past pi, three cuts per env
    assert beyond > STEPS * N // 5 and wrapped > 0 and cuts == 3 * N
    assert not got[2].any()


def test_each_member_is_its_own_gymnasium_env_even_while_others_pause():
    """Member k of a population (seed s_k) is gymnasium's vector env seeded s_k; pausing member 1
    for a while shifts its episodes but not the others' numbers, and it resumes where it stopped."""
    seeds = [5, 0, 11]
    env = Pendulums(len(seeds), N)
    obs = env.reset(seed=seeds)[0]
    refs = [gym_pendulums(s) for s in seeds]
    for k, (_, o) in enumerate(refs):
        assert np.array_equal(obs[k * N:(k + 1) * N], o)
    rng = np.random.default_rng(1)
    for t in range(STEPS):
        a = torques(rng, len(seeds) * N)
        paused = 150 <= t < 190
        active = np.ones(len(seeds) * N, dtype=bool)
        active[N:2 * N] = not paused
        got = env.step(a, active=active)
        for k, (ref, _) in enumerate(refs):
            part = tuple(x[k * N:(k + 1) * N] for x in got[:4])
            if k == 1 and paused:
                assert not part[1].any() and not part[3].any()      # reward 0, no flags
                continue
            assert_same(ref.step(a[k * N:(k + 1) * N]), part, t)


def test_bad_actions_and_mask():
    env = Pendulums(2, 3)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(6))
    env.reset(seed=[0, 1])
    with pytest.raises(ValueError, match="actions must be 6 torques"):
        env.step(np.zeros(5))
    with pytest.raises(ValueError, match="active must be 6 booleans"):
        env.step(np.zeros(6), active=np.ones(6))
    with pytest.raises(ValueError, match="one seed per member"):
        env.reset(seed=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_squares_are_gymnasiums_scalar_pow_on_any_cpu(dtype):
    """_square is gymnasium's scalar ``x**2`` (the C pow / powf) to the last bit: 220,000 values
    of each float type, with squares near powers of two (where the float gaps change), zeros,
    infinities, NaN, subnormal and overflowing squares. numpy's
    ``x * x`` fails it everywhere (about 1 value in 1,500), ``np.power`` on a CPU with AVX-512."""
    from acnotes.pendulum import _square
    rng = np.random.default_rng(0)
    twos = np.sqrt(2.0 ** rng.integers(-20, 20, size=20_000)) * (1 + rng.normal(size=20_000) * 1e-6)
    x = np.concatenate([rng.normal(size=100_000) * 2, rng.normal(size=100_000) * 50, twos,   # squares near 2^k too
                        [0.0, -0.0, 2.0, -2.0, 1e-20, 1e-45, 3e19, 1e200, np.inf, -np.inf, np.nan]])
    with np.errstate(over="ignore", under="ignore"):
        x = x.astype(dtype)
        want = np.array([v ** 2 for v in x], dtype=dtype)
        got = _square(x)
    assert got.dtype == dtype and got.shape == x.shape
    bits = np.int32 if dtype == np.float32 else np.int64
    differ = np.flatnonzero(want.view(bits) != got.view(bits))
    assert differ.size == 0, f"{differ.size} squares differ, e.g. of {x[differ[:3]]}"
