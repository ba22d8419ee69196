"""acnotes.train: Config validation, determinism, learning on a reduced budget, divergence
and interrupt handling, History and Agent persistence, presets."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close

import acnotes.train as tr
from acnotes import estimators
from acnotes.envs import make_cartpole
from acnotes.presets import PRESETS
from acnotes.rollout import Collector
from acnotes.train import Agent, Config, History, make_agent, preset, train, update_losses



def run(**kw):
    """A quiet training run; the Config defaults overridden by kw."""
    return train(progress=False, **kw)


# ----------------------------------------------------------------------------- Config
BAD = [
    ("gamma", -0.1), ("gamma", 1.5), ("gamma", float("nan")),
    ("lr", 0), ("lr", -1.0), ("lr", float("nan")), ("lr", float("inf")), ("lr", "0.1"),
    ("critic_lr", 0.0), ("critic_lr", float("nan")),
    ("algo", "ppo"),
    ("n_envs", 0), ("n_envs", 2.5), ("n_envs", True),
    ("n_steps", 0), ("n_steps", -5),
    ("nstep", 0),
    ("hidden", 0), ("layers", 0), ("total_steps", 0), ("threads", 0),
    ("activation", "sigmoid"),
    ("critic_loss", "l1"),
    ("optimizer", "sgd"),
    ("lam", -0.1), ("lam", 1.1),
    ("ent_coef", -0.01), ("ent_coef", float("inf")),
    ("vf_coef", -1.0),
    ("reward_scale", 0.0), ("reward_scale", float("inf")),
    ("max_grad_norm", 0.0),
    ("seed", 1.5),
]


@pytest.mark.parametrize("name, value", BAD, ids=[f"{n}={v!r}" for n, v in BAD])
def test_validate_names_the_bad_field(name, value):
    cfg = Config().replace(**{name: value})
    with pytest.raises(ValueError, match=rf"^{name} must"):
        cfg.validate()
    with pytest.raises(ValueError, match=rf"^{name} must"):
        train(cfg, progress=False)  # before any work


def test_validate_accepts_defaults_edges_and_presets():
    assert Config().validate() == Config()
    for kw in (dict(gamma=0.0), dict(gamma=1.0), dict(lam=0.0), dict(lam=1.0), dict(critic_lr=None),
               dict(max_grad_norm=None), dict(nstep=3), dict(ent_coef=0.0), dict(optimizer="rmsprop"),
               dict(critic_loss="smooth_l1"), dict(activation="relu")):
        Config(**kw).validate()
    for name in estimators.ESTIMATORS:
        Config(algo=name).validate()
    from acnotes.presets import PRESETS
    for name in PRESETS:
        preset(name).validate()


def test_unknown_fields():
    with pytest.raises(ValueError, match="gama"):
        Config().replace(gama=0.9)
    with pytest.raises(ValueError, match="gama"):
        Config.from_dict({"gama": 0.9})
    with pytest.raises(ValueError, match="gama"):
        train(gama=0.9, progress=False)
    cfg = Config(algo="tdac", lr=3e-4)
    assert Config.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


# ----------------------------------------------------------------------------- determinism
def _fingerprint(h: History):
    return (h.steps, h.actor_loss, h.critic_loss, h.grad_norm, h.episode_returns,
            h.episode_lengths, h.episode_steps, h.status)


@pytest.mark.parametrize("kw", [
    dict(algo="tdac", n_envs=4, n_steps=5, total_steps=1500),
    dict(algo="reinforce_baseline", n_envs=4, total_steps=1500),
], ids=["tdac", "reinforce_baseline"])
def test_same_seed_same_history(kw):
    rng_before = torch.random.get_rng_state()
    a1, h1 = run(seed=5, **kw)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # the global RNG is untouched
    a2, h2 = run(seed=5, **kw)
    assert _fingerprint(h1) == _fingerprint(h2)
    for (k, p), q in zip(a1.model.state_dict().items(), a2.model.state_dict().values()):
        assert torch.equal(p, q), k
    _, h3 = run(seed=6, **kw)
    assert h3.episode_returns != h1.episode_returns
    assert h3.actor_loss != h1.actor_loss


def test_thread_setting_is_restored():
    assert torch.get_num_threads() == 1
    run(algo="tdac", n_envs=2, n_steps=5, total_steps=10, threads=2)
    assert torch.get_num_threads() == 1


def test_history_bookkeeping():
    _, h = run(algo="a2c", n_envs=4, n_steps=5, total_steps=2000, seed=0)
    n = len(h.steps)
    assert h.status == "done" and n == 100
    assert len(h.time) == len(h.actor_loss) == len(h.critic_loss) == len(h.grad_norm) == n
    assert h.steps == [20 * (k + 1) for k in range(n)] and h.total_steps == 2000
    assert np.all(np.diff(h.time) >= 0) and h.wall_time == h.time[-1]
    assert len(h.episode_returns) == len(h.episode_lengths) == len(h.episode_steps) > 0
    assert h.episode_returns == [float(x) for x in h.episode_lengths]  # CartPole pays 1 a step
    assert h.episode_steps == sorted(h.episode_steps) and h.episode_steps[-1] <= 2000
    assert h.config == Config(algo="a2c", n_envs=4, n_steps=5, total_steps=2000).to_dict()
    assert all(math.isfinite(x) for x in h.actor_loss + h.critic_loss + h.grad_norm)


def test_target_return_stops_early():
    # a random policy already averages ~20 steps: the target is met after 100 episodes
    _, h = run(algo="tdac", n_envs=8, total_steps=50_000, target_return=12.0)
    assert h.status == "target reached"
    assert len(h.episode_returns) >= 100 and np.mean(h.episode_returns[-100:]) >= 12.0
    assert h.total_steps < 10_000


# ----------------------------------------------------------------------------- learning
# 20k env steps each (the default budget is 100k); the test trains seeds 0-7 as one population.
LEARN = {
    "a2c": dict(algo="a2c", lr=2e-3, n_envs=16, n_steps=8),
    "gae": dict(algo="gae", lr=2e-3, n_envs=16, n_steps=8),
    # TD(0) needs a critic faster than the actor and small rewards: the tdac preset (first 20
    # episodes 14-16, last 20 94-166 on seeds 0-4). lr 2e-3, critic_lr 1e-2, 8x5 envs x steps
    # learned on seed 3 only (last 20: 17-42 on the others).
    "tdac": dict(PRESETS["tdac"]),
    # with the defaults Q-AC collapses (returns ~9 after 20k steps on seeds 0 and 3)
    "qac": dict(algo="qac", lr=1e-3, critic_lr=2e-2, n_envs=16, n_steps=8),
    "reinforce": dict(algo="reinforce", lr=2e-3, n_envs=8, max_grad_norm=None),
    "reinforce_baseline": dict(algo="reinforce_baseline", lr=2e-3, n_envs=8, max_grad_norm=None),
}


@pytest.mark.parametrize("algo", list(LEARN))
def test_learns(algo):
    """Over 8 seeds (one population), the mean return of the last 20 episodes beats the
    first 20: the mean gain is at least 15 and a one-sided t-test rejects "no gain" at the
    1% level (t >= 3.00, the 99% quantile of Student's t with 7 degrees of freedom)."""
    from acnotes.train import train_population
    cfg = Config(total_steps=20_000, **LEARN[algo])
    runs = train_population([cfg.replace(seed=s) for s in range(8)], progress=False)
    assert all(h.status == "done" for _, h in runs)
    gain = np.array([np.mean(h.episode_returns[-20:]) - np.mean(h.episode_returns[:20]) for _, h in runs])
    t = gain.mean() / (gain.std(ddof=1) / np.sqrt(len(gain)))
    assert gain.mean() >= 15 and t >= 3.00, (gain.round(1), t)


# ----------------------------------------------------------------------------- stops
def test_divergence_reward_scale():
    with pytest.warns(RuntimeWarning, match="loss became"):
        agent, h = run(algo="tdac", reward_scale=1e30, total_steps=5000)
    assert h.status == "diverged" and "lr" in h.message
    assert isinstance(agent, Agent) and isinstance(h, History)
    assert h.steps == []  # the very first loss overflows: nothing was applied


def test_divergence_keeps_partial_history(monkeypatch):
    calls = {"n": 0}

    real = tr.losses

    def nan_on_fourth(*args, **kw):
        calls["n"] += 1
        a, c, e = real(*args, **kw)
        return (a * float("nan") if calls["n"] == 4 else a), c, e

    monkeypatch.setattr(tr, "losses", nan_on_fourth)
    with pytest.warns(RuntimeWarning, match="loss became nan"):
        agent, h = run(algo="a2c", n_envs=4, n_steps=5, total_steps=5000)
    assert h.status == "diverged"
    assert h.steps == [20, 40, 60] and len(h.actor_loss) == 3
    assert all(math.isfinite(p.abs().sum().item()) for p in agent.model.parameters())


def test_divergence_on_infinite_gradient(monkeypatch):
    real = tr.clip_per_member
    calls = {"n": 0}

    def inf_on_third(params, max_norm):
        calls["n"] += 1
        gn = real(params, max_norm)
        return gn * float("inf") if calls["n"] == 3 else gn

    monkeypatch.setattr(tr, "clip_per_member", inf_on_third)
    with pytest.warns(RuntimeWarning, match="gradient norm"):
        _, h = run(algo="tdac", n_envs=2, n_steps=5, total_steps=5000)
    assert h.status == "diverged" and len(h.steps) == 2


def test_keyboard_interrupt():
    def stop_after_5(h):
        if len(h.steps) == 5:
            raise KeyboardInterrupt

    agent, h = run(algo="tdac", n_envs=2, n_steps=5, total_steps=10_000, callback=stop_after_5)
    assert h.status == "interrupted" and "interrupted" in h.message
    assert len(h.steps) == 5 and h.steps[-1] == 50
    assert isinstance(agent, Agent)


def test_callback_sees_every_update():
    seen = []
    _, h = run(algo="a2c", n_envs=2, n_steps=5, total_steps=200, callback=lambda h: seen.append(len(h.steps)))
    assert seen == list(range(1, 21)) and len(h.steps) == 20


# ----------------------------------------------------------------------------- losses
@pytest.fixture(scope="module")
def cartpole_batch():
    env = make_cartpole(4, max_episode_steps=500)
    cfg = Config(algo="a2c", seed=0)
    model = make_agent(cfg)
    b = Collector(env, model.logits, seed=0).steps(12)
    env.close()
    return b


def test_discount_actor_weights_by_gamma_t(cartpole_batch):
    b = cartpole_batch
    cfg = Config(algo="a2c", gamma=0.9, seed=0)
    model = make_agent(cfg)
    plain = update_losses(model, cfg, b)
    disc = update_losses(model, cfg.replace(discount_actor=True), b)
    assert not torch.isclose(plain[0], disc[0])
    assert_close(disc[1], plain[1])  # the critic is unaffected
    # gamma^t with t = 3 everywhere scales the actor loss by 0.9^3 exactly
    b3 = type(b)(**{**b.__dict__, "t": torch.full_like(b.t, 3)})
    assert_close(update_losses(model, cfg.replace(discount_actor=True), b3)[0], 0.9**3 * plain[0])
    # gamma = 1: the flag changes nothing
    one = cfg.replace(gamma=1.0)
    assert_close(update_losses(model, one.replace(discount_actor=True), b)[0], update_losses(model, one, b)[0])


def test_discount_actor_reaches_training():
    """The first update of a run logs the losses of its first batch, with w_t = gamma^t when
    ``discount_actor`` is set: rebuilt here from the same seed, network and envs."""
    cfg = Config(algo="a2c", gamma=0.9, n_envs=4, n_steps=5, total_steps=20, seed=3)
    model = make_agent(cfg)
    batch = Collector(make_cartpole(cfg.n_envs), model.logits, seed=cfg.seed).steps(cfg.n_steps)
    assert int(batch.t.max()) >= 3  # gamma^t differs from 1 on this batch
    for disc in (False, True):
        c = cfg.replace(discount_actor=disc)
        _, h = run(cfg=c)
        with torch.no_grad():
            a_loss, c_loss, _ = update_losses(model, c, batch)
        assert_close(h.actor_loss[0], a_loss.item(), rtol=1e-5, atol=1e-7)
        assert_close(h.critic_loss[0], c_loss.item(), rtol=1e-5, atol=1e-7)
        plain = update_losses(model, cfg, batch)[0].item()
        assert (h.actor_loss[0] == pytest.approx(plain, rel=1e-5)) is not disc


def test_update_losses_values_are_aligned(cartpole_batch):
    """V(s_{t+1}) in the TD target comes from next_obs, V(s_t) from obs."""
    b = cartpole_batch
    cfg = Config(algo="tdac", gamma=0.9, seed=1)
    model = make_agent(cfg)
    a_loss, c_loss, ent = update_losses(model, cfg, b)
    with torch.no_grad():
        _, v = model(b.obs)
        _, v_next = model(b.next_obs)
    y = b.rewards + 0.9 * (~b.terminated) * v_next
    expected = (0.5 * (v - y) ** 2 * b.valid).sum() / b.valid.sum()
    assert_close(c_loss, expected)
    assert 0.6 < ent < math.log(2) + 1e-6  # a near-uniform first policy


# ----------------------------------------------------------------------------- History
def _synthetic_history():
    returns = [0.0] * 50 + [500.0] * 150
    return History(
        config={"algo": "a2c"},
        steps=[50 * (k + 1) for k in range(400)],
        time=[0.05 * (k + 1) for k in range(400)],
        actor_loss=[0.5] * 400, critic_loss=[1.25] * 400, grad_norm=[0.1] * 400,
        episode_returns=returns,
        episode_lengths=[int(r) or 9 for r in returns],
        episode_steps=[100 * (i + 1) for i in range(200)],
        status="done", message="",
    )


def test_solved_at():
    h = _synthetic_history()
    # the mean of the last 100 is (i - 49) * 5 at episode i >= 50: 475 first at i = 144,
    # which ended at step 14_500; the update that reported it is k = 289 (steps 14_500)
    step, secs = h.solved_at(475.0, 100)
    assert step == 14_500
    assert math.isclose(secs, 0.05 * 290)
    assert h.solved_at(500.0)[0] == 100 * 150  # i = 149
    assert h.solved_at(501.0) is None
    assert h.solved_at(0.0, window=100)[0] == 100 * 100  # needs a full window first
    short = History(episode_returns=[500.0] * 50, episode_steps=list(range(1, 51)), steps=[50], time=[1.0])
    assert short.solved_at(475.0) is None
    assert History().solved_at() is None


def test_rolling_return():
    h = History(episode_returns=[1.0, 3.0, 5.0, 7.0])
    np.testing.assert_allclose(h.rolling_return(2), [1.0, 2.0, 4.0, 6.0])
    assert History().rolling_return().size == 0


def test_history_json_round_trip(tmp_path):
    h = _synthetic_history()
    h.time[0] = 0.1 + 0.2  # a float that needs all its digits
    p = h.save(tmp_path / "h.json")
    assert p == tmp_path / "h.json"
    assert History.load(p) == h
    _, real = run(algo="tdac", n_envs=2, total_steps=300)
    assert History.load(real.save(tmp_path / "real.json")) == real


def test_history_csv(tmp_path):
    h = _synthetic_history()
    lines = h.save(tmp_path / "h.csv").read_text().splitlines()
    assert lines[0] == "episode,return,length,env_steps"
    assert len(lines) == 1 + 200
    assert lines[1] == "0,0,9,100"
    assert lines[-1] == "199,500,500,20000"


@pytest.mark.parametrize("name", ["h.txt", "h", "h.json.gz"])
def test_history_bad_suffix(tmp_path, name):
    with pytest.raises(ValueError, match="json"):
        _synthetic_history().save(tmp_path / name)
    assert not (tmp_path / name).exists()


# ----------------------------------------------------------------------------- Agent
@pytest.fixture(scope="module")
def small_agent():
    agent, _ = train(algo="a2c", n_envs=2, n_steps=5, total_steps=500, seed=3, hidden=16, progress=False)
    return agent


def test_agent_save_load_round_trip(small_agent, tmp_path):
    d = small_agent.save(tmp_path / "agent")
    assert (d / "config.json").is_file() and (d / "weights.pt").is_file()
    state = torch.load(d / "weights.pt", weights_only=True)  # a plain tensor dict
    assert set(state) == set(small_agent.model.state_dict())
    loaded = Agent.load(d)
    assert loaded.config == small_agent.config
    for k, v in small_agent.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v), k
    obs = np.random.default_rng(0).normal(scale=0.5, size=(64, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs), small_agent.act(obs))
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    np.testing.assert_array_equal(loaded.act(obs, greedy=False, generator=g1),
                                  small_agent.act(obs, greedy=False, generator=g2))
    assert loaded.act(obs[0]) == small_agent.act(obs[0])  # one observation
    assert np.ndim(loaded.act(obs[0])) == 0


def test_agent_load_missing_files(small_agent, tmp_path):
    with pytest.raises(ValueError, match="config.json"):
        Agent.load(tmp_path / "nothing")
    d = small_agent.save(tmp_path / "a")
    (d / "weights.pt").unlink()
    with pytest.raises(ValueError, match="weights.pt"):
        Agent.load(d)


class _Evil:
    """Unpickling this creates a file: proof that arbitrary code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_agent_load_refuses_arbitrary_pickle(small_agent, tmp_path):
    d = small_agent.save(tmp_path / "a")
    marker = tmp_path / "pwned"
    state = dict(small_agent.model.state_dict())
    state["payload"] = _Evil(str(marker))
    torch.save(state, d / "weights.pt")
    with pytest.raises(ValueError, match="weights"):
        Agent.load(d)
    assert not marker.exists()


def test_agent_load_corrupt_weights(small_agent, tmp_path):
    d = small_agent.save(tmp_path / "a")
    (d / "weights.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="weights"):
        Agent.load(d)
    # weights of another architecture
    small_agent.save(d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["hidden"] = 32
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="weights"):
        Agent.load(d)


def test_agent_evaluate(small_agent):
    r = small_agent.evaluate(episodes=3, seed=0)
    assert r.shape == (3,)
    assert np.all((r >= 1) & (r <= 500)) and np.all(r == np.round(r))
    np.testing.assert_array_equal(r, small_agent.evaluate(episodes=3, seed=0))
    assert small_agent.evaluate(episodes=5, seed=1, greedy=False).shape == (5,)
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="episodes"):
            small_agent.evaluate(episodes=bad)


# ----------------------------------------------------------------------------- presets
def test_blog_tdac_preset():
    cfg = preset("blog-tdac")
    assert cfg.algo == "tdac"
    assert cfg.lr == 2e-4 and cfg.gamma == 0.98 and cfg.n_steps == 5
    assert cfg.hidden == 128 and cfg.shared is True
    assert cfg.reward_scale == 0.01 and cfg.critic_loss == "smooth_l1"
    assert preset("blog-tdac", seed=3).seed == 3
    model = make_agent(cfg)
    assert model.shared and model.critic_trunk is None
    assert model.actor_trunk[0].out_features == 128
    _, h = train(cfg.replace(total_steps=100), progress=False)
    assert h.status == "done" and len(h.steps) == 20  # one env, an update every 5 steps


def test_preset_errors():
    with pytest.raises(ValueError, match="preset"):
        preset("nope")
    with pytest.raises(ValueError, match="bogus"):
        preset("a2c", bogus=1)


def test_saved_configs_from_before_env_load_as_cartpole():
    """config.json files written before ``env`` and ``log_std_init`` existed hold CartPole runs:
    strict loading accepts them without those two keys, and still refuses any other key missing."""
    old = Config().to_dict()
    del old["env"], old["log_std_init"]
    assert Config.from_dict(old, strict=True).env == "CartPole-v1"
    del old["activation"]
    with pytest.raises(ValueError, match=r"missing setting\(s\) \['activation'\]"):
        Config.from_dict(old, strict=True)


def test_a_q_critic_cannot_train_on_continuous_actions():
    with pytest.raises(ValueError, match="algo qac .* cannot train on Pendulum-v1"):
        Config(algo="qac", env="Pendulum-v1").validate()
    assert preset("gae-pendulum").validate().env == "Pendulum-v1"


def test_a_pendulum_agent_saves_loads_and_plays(tmp_path):
    agent, h = train(preset("gae-pendulum", total_steps=1024), progress=False)
    back = Agent.load(agent.save(tmp_path / "a"))
    assert back.model.gaussian and back.config.env == "Pendulum-v1"
    returns = back.evaluate(episodes=3)
    assert returns.shape == (3,) and ((-3254 < returns) & (returns < 0)).all()
    a = back.act(np.zeros((5, 3), dtype=np.float32), greedy=False, generator=torch.Generator().manual_seed(0))
    assert a.shape == (5, 1) and (np.abs(a) <= 2).all()
