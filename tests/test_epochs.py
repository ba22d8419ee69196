"""PPO in the engine (acnotes/epochs.py): the loss reduces to A2C's, members follow their single
runs, the settings are checked; tests/test_reference.py compares it with reference/ppo.py."""

import numpy as np
import pytest
import torch

import acnotes as acn
from acnotes import epochs, estimators
from acnotes.backprop import to_members, to_time
from acnotes.models import ActorCritic, Population
from acnotes.rollout import Collector
from acnotes.train import losses, member_sums, preset, step_terms, train, train_population


def _rollout(K=2, n_envs=4, n_steps=16, seed=0, name="gae"):
    """A population of K fresh nets of preset ``name`` and one rollout of theirs on its env."""
    nets = [acn.train.make_agent(preset(name, seed=seed + k)) for k in range(K)]
    pop = Population.stack(nets)
    env = acn.envs.make_env(preset(name).env, n_envs, members=K)

    def policy(obs):
        return pop.logits(obs.reshape(K, n_envs, -1)).reshape(K * n_envs, -1)
    batch = Collector(env, policy, seed=list(range(K))).steps(n_steps)

    def forward(obs):
        logits, v = pop(to_members(obs, K))
        T = obs.shape[0]
        return to_time(logits, T), to_time(v, T)
    return pop, batch, forward


@pytest.mark.parametrize("name", ["gae", "gae-pendulum"])
@pytest.mark.parametrize("clip_eps", [None, 0.2])
def test_one_epoch_one_minibatch_no_clipping_is_a2cs_gradient(clip_eps, name):
    """At theta = theta_old (the first step), rho_t = 1 and grad rho_t = grad log pi: PPO's loss
    on the whole rollout has the gradient of the engine's usual loss, clipped or not (the clip
    is inactive at rho = 1), for the softmax policy on CartPole and the Gaussian one on
    Pendulum-v1 (log pi of the unclipped action); normalising Psi_t changes it (so the
    comparison can fail)."""
    pop, batch, forward = _rollout(name=name)
    K = pop.members
    continuous = preset(name).env == "Pendulum-v1"
    kw = dict(algo="gae", gamma=torch.tensor(0.99), lam=torch.tensor(0.9), n=None, continuous=continuous)

    def grads(loss):
        pop.zero_grad()
        loss.backward()
        return torch.cat([pop.actor.grad.flatten(), pop.critic.grad.flatten()])

    a, c, e = losses(step_terms(forward, batch, **kw), lambda x: member_sums(x, K))
    usual = grads((a + 0.5 * c - 0.01 * e).sum())

    with torch.no_grad():
        old = step_terms(forward, batch, **kw)
    logp_old = epochs.log_prob(old.logits, batch.actions, continuous)
    lo, hi = epochs.clip_bounds([clip_eps] * K, np.ones(K))

    def ppo_grad(norm_adv):
        to = to_members
        valid = to(batch.valid, K)
        logits, v = epochs.forward_rows(pop, to(batch.obs, K))
        a, c, e = epochs.minibatch_losses(logits, v, to(batch.actions, K), to(logp_old, K), to(old.psi, K),
                                          to(old.target, K), valid, lo=lo, hi=hi, norm_adv=norm_adv,
                                          continuous=continuous)
        return grads((a + 0.5 * c - 0.01 * e).sum())

    assert usual.abs().max() > 1e-3
    torch.testing.assert_close(ppo_grad(False), usual, rtol=1e-5, atol=1e-7)
    assert not torch.allclose(ppo_grad(True), usual, rtol=1e-3, atol=1e-5)


def test_clipped_terms_by_hand():
    """min(rho A, clip(rho) A) for rho beyond either edge and both signs of A, with its slope."""
    rho = torch.tensor([1.5, 1.5, 0.5, 0.5, 1.1], dtype=torch.float64)
    adv = torch.tensor([2.0, -2.0, 2.0, -2.0, 2.0], dtype=torch.float64)
    logp = torch.log(rho).requires_grad_()
    out = estimators.clipped_terms(logp, torch.zeros_like(rho), adv, torch.ones(5, dtype=torch.bool), 0.8, 1.2)
    out.sum().backward()
    assert torch.allclose(out, torch.tensor([2.4, -3.0, 1.0, -1.6, 2.2], dtype=torch.float64))
    # d/dlogp of rho A is rho A where the unclipped term is kept, 0 where the clip holds
    assert torch.allclose(logp.grad, torch.tensor([0.0, -3.0, 1.0, 0.0, 2.2], dtype=torch.float64))


def test_the_usual_step_and_ppos_path_with_one_epoch_agree():
    """One rollout of the gae preset: the engine's usual step, and PPO's path with one epoch of
    one minibatch (the whole rollout, shuffled: the sums round otherwise) end at the same
    parameters to rounding; with Psi_t normalised they do not."""
    cfg = preset("gae", total_steps=128)             # 8 envs x 16 steps: one update

    def params(c):
        agent, h = train(c, progress=False)
        assert len(h.steps) == 1
        return torch.cat([p.detach().flatten() for p in agent.model.parameters()])

    usual, start = params(cfg), params(cfg.replace(lr=1e-30, critic_lr=1e-30))
    one_epoch = params(cfg.replace(batch_size=128))
    assert (usual - start).abs().max() > 1e-3
    torch.testing.assert_close(one_epoch, usual, rtol=0, atol=1e-6)
    assert (params(cfg.replace(batch_size=128, norm_adv=True)) - usual).abs().max() > 1e-4


def _ppo_members(cfg):
    return [cfg.replace(seed=0),
            cfg.replace(seed=1, gamma=0.95, lr=cfg.lr * 2, clip_eps=0.1, max_grad_norm=None),
            cfg.replace(seed=2, lr=cfg.lr / 3, lam=0.5, clip_eps=None, ent_coef=0.01)]


@pytest.mark.parametrize("updates, settings", [
    (12, dict()),                                             # the preset: one minibatch per epoch
    (40, dict(n_envs=4, n_steps=4, batch_size=5, epochs=3)),  # 4 minibatches, the last one often empty
    (20, dict(target_return=30.0)),                           # members stop one by one: the others go on
], ids=["ppo", "small-minibatches", "stopping"])
def test_member_follows_its_single_run(updates, settings):
    """Every member ends the same episodes with the same returns as its single run, with its
    parameters bit for bit, whatever the other members' settings and minibatches."""
    cfg = preset("ppo", **settings)
    cfg = cfg.replace(total_steps=updates * cfg.n_envs * cfg.n_steps)
    cfgs = _ppo_members(cfg)
    pop = train_population(cfgs, progress=False)
    for (agent_p, hist_p), c in zip(pop, cfgs):
        agent_s, hist_s = train(c, progress=False)
        assert len(hist_s.steps) <= updates and len(hist_s.episode_returns) > 5
        assert hist_p.status == hist_s.status
        assert hist_p.episode_returns == hist_s.episode_returns
        assert hist_p.episode_steps == hist_s.episode_steps
        assert hist_p.actor_loss == hist_s.actor_loss and hist_p.grad_norm == hist_s.grad_norm
        for (n, p), q in zip(agent_p.model.named_parameters(), agent_s.model.parameters()):
            assert torch.equal(p, q), f"seed {c.seed}: {n} differs from the single run's"
    assert pop[0][1].episode_returns != pop[1][1].episode_returns
    if "target_return" in settings:   # they stopped at different updates
        assert len({len(h.steps) for _, h in pop}) > 1 and any(h.status == "target reached" for _, h in pop)
    else:
        assert all(len(h.steps) == updates for _, h in pop)


def test_anneal_lets_the_step_size_fall_to_zero():
    """With anneal, the last update's lr is lr * (1 - steps / total_steps): training one more
    rollout at the end moves the weights less than the first rollout did; without, not so."""
    def moves(anneal):
        snaps = []
        cfg = preset("ppo", total_steps=6 * 256, anneal=anneal, clip_eps=None)
        train(cfg, progress=False, on_update=lambda h, get: snaps.append(
            torch.cat([p.detach().flatten() for p in get().model.parameters()])))
        return [float((b - a).abs().max()) for a, b in zip(snaps, snaps[1:])]
    annealed, constant = moves(True), moves(False)
    assert annealed[-1] < 0.4 * annealed[0]
    assert constant[-1] > 0.4 * constant[0]


@pytest.mark.parametrize("algo", ["reinforce", "reinforce_baseline", "qac"])
def test_ppos_settings_need_a_rollout_estimator_with_a_v_critic(algo):
    with pytest.raises(ValueError, match="epochs, batch_size, clip_eps and norm_adv"):
        acn.Config(algo=algo, epochs=4).validate()


@pytest.mark.parametrize("field, value", [("epochs", 0), ("batch_size", 0), ("clip_eps", 0.0), ("adam_eps", -1.0),
                                          ("norm_adv", 1), ("anneal", "yes")])
def test_bad_settings_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        preset("ppo", **{field: value}).validate()


def test_adam_eps_with_rmsprop_is_refused_as_it_would_be_ignored(tmp_path):
    """RMSprop's epsilon is fixed (optim.py): an adam_eps given with it would change nothing."""
    from test_cli import main

    with pytest.raises(ValueError, match="adam_eps=1e-05 is Adam's epsilon, but optimizer is rmsprop"):
        preset("gae", optimizer="rmsprop", adam_eps=1e-5).validate()
    preset("gae", optimizer="rmsprop").validate()                  # its default is fine
    preset("gae", optimizer="adam", adam_eps=1e-5).validate()
    rc, _, err = main("train", "--preset", "gae", "--optimizer", "rmsprop", "--adam-eps", "1e-5", "--steps", 100,
                      "--out", tmp_path / "run")
    assert rc == 2 and "adam_eps" in err and "rmsprop" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
    # a preset that sets adam_eps itself (ppo-pendulum: 1e-5): the message says which flag undoes it
    rc, _, err = main("train", "--preset", "ppo-pendulum", "--optimizer", "rmsprop", "--steps", 100,
                      "--out", tmp_path / "run")
    assert rc == 2 and "--adam-eps 1e-08" in err and "a preset may have set it" in err


def test_population_of_ppo_and_one_step_members_is_refused():
    base = preset("gae", total_steps=256)
    with pytest.raises(ValueError, match="PPO's epochs"):
        train_population([base, base.replace(seed=1, clip_eps=0.2)], progress=False)


def test_saved_config_without_ppos_fields_loads_with_their_defaults():
    d = preset("a2c").to_dict()
    for name in acn.config.ADDED_LATER:
        del d[name]
    assert acn.Config.from_dict(d, strict=True) == preset("a2c")
    del d["activation"]
    with pytest.raises(ValueError, match="missing setting.*activation"):
        acn.Config.from_dict(d, strict=True)


def test_ppo_net_shapes():
    """The preset's nets are the usual separate 64-64 tanh actor and critic (so Replay serves it)."""
    net = acn.train.make_agent(preset("ppo"))
    assert isinstance(net, ActorCritic) and not net.shared and net.critic_kind == "v"


def test_results_table_written_before_ppos_fields_reads_with_their_defaults():
    """A sweep's results.csv without the columns of ADDED_LATER (the stored sweep-lr.csv was
    written so) reads with their defaults; a table missing any other column is refused."""
    from acnotes import sweep
    from importlib import resources
    text = (resources.files("acnotes") / "data" / "sweep-lr.csv").read_text()
    header = text.splitlines()[0].split(",")
    rows = sweep._read_rows(text, "sweep-lr.csv")
    assert len(rows) > 10 and list(rows[0]) == sweep.COLUMNS
    if "epochs" not in header:   # written before these fields
        assert all(r["epochs"] == 1 and r["clip_eps"] is None and r["adam_eps"] == 1e-8 for r in rows)
    lines = text.splitlines()
    cut = "\n".join(",".join(line.split(",")[:-1]) for line in lines) + "\n"   # no message column
    with pytest.raises(ValueError, match="columns"):
        sweep._read_rows(cut, "cut.csv")


# ------------------------------------------------------------- PPO with the Gaussian policy
def test_gaussian_ratio_scores_the_unclipped_action_by_hand():
    """One row, sigma 1: pi_old = N(0, 1), pi_theta = N(0.5, 1), the sampled action 3 (the env
    got 2). rho = exp(-(3 - 0.5)^2 / 2 + 3^2 / 2) = exp(1.375); with Psi = -1 the clipped loss
    keeps rho Psi (the min), so the actor loss is rho; scoring the clipped 2 would give exp(0.875).
    The entropy is the Gaussian's, log sigma + (1 + log 2 pi) / 2."""
    logits = torch.tensor([[[0.5, 0.0]]])           # [K=1, B=1, (mu, log sigma)]
    old = epochs.log_prob(torch.tensor([[[0.0, 0.0]]]), torch.tensor([[[3.0]]]), continuous=True)
    kw = dict(v=None, logp_old=old, psi=torch.tensor([[-1.0]]), target=None, mask=torch.tensor([[True]]),
              lo=torch.tensor([[0.8]]), hi=torch.tensor([[1.2]]), continuous=True)
    a, _, e = epochs.minibatch_losses(logits, actions=torch.tensor([[[3.0]]]), **kw)
    assert torch.allclose(a, torch.tensor([np.exp(1.375)], dtype=torch.float32))
    assert torch.allclose(e, torch.tensor([0.5 * (1 + np.log(2 * np.pi))], dtype=torch.float32))
    clipped, _, _ = epochs.minibatch_losses(logits, actions=torch.tensor([[[2.0]]]), **dict(
        kw, logp_old=epochs.log_prob(torch.tensor([[[0.0, 0.0]]]), torch.tensor([[[2.0]]]), continuous=True)))
    assert not torch.allclose(clipped, a)


def _gaussian_ppo(**changes):
    """PPO's settings on the gae-pendulum preset, small: 4 envs x 50 steps, minibatches of 40."""
    settings = dict(n_envs=4, n_steps=50, epochs=3, batch_size=40, clip_eps=0.2, norm_adv=True, adam_eps=1e-5)
    return preset("gae-pendulum", **{**settings, **changes})


@pytest.mark.parametrize("settings", [dict(), dict(anneal=True, batch_size=None)], ids=["minibatches", "anneal"])
def test_gaussian_member_follows_its_single_run(settings):
    """PPO with the Gaussian policy on Pendulum-v1: every member ends the same episodes with the
    same returns as its single run, with its parameters bit for bit, beside members with other
    settings (the PPO test above, on the continuous task)."""
    updates = 12
    cfg = _gaussian_ppo(**settings)
    cfg = cfg.replace(total_steps=updates * cfg.n_envs * cfg.n_steps)
    cfgs = [cfg.replace(seed=0), cfg.replace(seed=1, gamma=0.95, lr=2e-3, clip_eps=0.1, max_grad_norm=None),
            cfg.replace(seed=2, lr=3e-4, lam=0.5, clip_eps=None, ent_coef=0.01, log_std_init=0.0)]
    pop = train_population(cfgs, progress=False)
    for (agent_p, hist_p), c in zip(pop, cfgs):
        agent_s, hist_s = train(c, progress=False)
        assert len(hist_s.steps) == updates and len(hist_s.episode_returns) >= 8
        assert hist_p.episode_returns == hist_s.episode_returns
        assert hist_p.actor_loss == hist_s.actor_loss and hist_p.grad_norm == hist_s.grad_norm
        for (n, p), q in zip(agent_p.model.named_parameters(), agent_s.model.parameters()):
            assert torch.equal(p, q), f"seed {c.seed}: {n} differs from the single run's"
    assert pop[0][1].episode_returns != pop[1][1].episode_returns


def test_gaussian_ppo_trains_and_moves_log_sigma():
    """A short Gaussian PPO run takes its epochs (several steps per rollout move the weights
    further than one) and trains the free log sigma."""
    def run(**changes):
        agent, h = train(_gaussian_ppo(total_steps=400, **changes), progress=False)
        assert h.status == "done" and len(h.steps) == 2 and np.isfinite(h.actor_loss).all()
        return agent.model
    start = acn.train.make_agent(_gaussian_ppo())
    many, one = run(), run(epochs=1)
    with torch.no_grad():
        moved = [float(torch.cat([(p - q).flatten() for p, q in zip(m.parameters(), start.parameters())]).abs().max())
                 for m in (many, one)]
    assert moved[0] > 1.5 * moved[1] > 0
    assert not torch.equal(many.log_std, start.log_std)


def test_ppo_settings_on_pendulum_refuse_what_does_not_fit():
    """PPO's settings train on Pendulum-v1 with the estimators on rollouts with a V critic; the
    others are refused before any training, naming the settings and what to use."""
    _gaussian_ppo().validate()
    for algo in ("reinforce", "reinforce_baseline"):
        with pytest.raises(ValueError, match="epochs, batch_size, clip_eps and norm_adv.*a2c, tdac, gae"):
            _gaussian_ppo(algo=algo).validate()
    with pytest.raises(ValueError, match="algo qac .* cannot train on Pendulum-v1"):
        _gaussian_ppo(algo="qac").validate()
    with pytest.raises(ValueError, match="detach_target=False"):
        train(_gaussian_ppo(detach_target=False, total_steps=64), progress=False)


def test_critic_loss_setting_reaches_ppos_critic():
    """PPO's minibatch loss uses Config.critic_loss (smooth-L1 is not the squared error's half
    once |V - y| > 1), and a run with it differs from the mse run."""
    v = torch.tensor([[0.0, 3.0, -2.0, 0.5]])
    y = torch.tensor([[2.0, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, True, False]])
    logits, actions = torch.zeros(1, 4, 2), torch.zeros(1, 4, dtype=torch.long)
    zeros = torch.zeros(1, 4)
    kw = dict(logits=logits, v=v, actions=actions, logp_old=zeros, psi=zeros, target=y, mask=mask)
    _, mse, _ = epochs.minibatch_losses(**kw)
    _, huber, _ = epochs.minibatch_losses(**kw, critic_loss="smooth_l1")
    assert torch.allclose(mse, torch.tensor([(4.0 + 9.0 + 4.0) / 2 / 3]))
    assert torch.allclose(huber, torch.tensor([(1.5 + 2.5 + 1.5) / 3]))
    cfg = preset("ppo", total_steps=512, epochs=2)
    runs = [train(cfg.replace(critic_loss=k), progress=False)[1].critic_loss for k in ("mse", "smooth_l1")]
    assert runs[0] != runs[1]


def test_residual_gradient_with_ppos_settings_is_refused():
    """PPO's critic target is computed once with pi_old's critic: detach_target=False would
    silently train the semi-gradient, so the Config refuses it, naming the setting."""
    with pytest.raises(ValueError, match="detach_target=False"):
        preset("ppo", detach_target=False).validate()
    preset("gae", detach_target=False).validate()


def test_a_ppo_run_is_named_ppo_in_its_progress_bar():
    """The ppo presets are GAE's Psi_t (algo "gae") with PPO's loss: the bar says ppo, not gae."""
    from acnotes.train import _progress_bar
    for cfg, k, desc in ((acn.train.preset("ppo"), 1, "ppo"), (acn.train.preset("ppo-pendulum"), 3, "ppo x3"),
                         (acn.train.preset("gae"), 1, "gae")):
        bar = _progress_bar(cfg, k)
        bar.close()
        assert bar.desc == desc
