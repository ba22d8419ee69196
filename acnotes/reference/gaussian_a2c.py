"""A2C / GAE(lambda) with a Gaussian policy on Pendulum-v1, in one file, read top to bottom.

    episode_returns, end_steps = train(total_steps=200_000, seed=0)

The same algorithm as ``a2c.py`` (notebook 3, and notebook 4's GAE), with one change: the
policy is a Gaussian, a ~ N(mu_theta(s), sigma_theta^2), instead of a softmax over two actions
(``acnotes.gaussian``, notebook 11). Its log-probability is the Gaussian log-density, and

    Psi_t = sum_k (gamma lambda)^k delta_{t+k},   delta_t = r_t + gamma V_w(s_{t+1}) - V_w(s_t).

Pendulum-v1 never terminates: every episode is *truncated* after 200 steps, so the TD target
bootstraps there (V_w(s_{t+1}) of the episode's last observation), and GAE's sum stops there
(the next step belongs to another episode). A termination (none here) would drop V_w(s_{t+1}).

The torque is bounded, |a| <= 2. The policy samples an unbounded a; the environment receives
clip(a, -2, 2) and the log-probability is that of the unclipped a: the clip is part of the
environment, and the estimator stays unbiased for the clipped task (notebook 11 checks this).

Rewards are multiplied by ``reward_scale`` for learning only (the critic then fits values of
order 1 instead of order 100); the returns reported are Pendulum's own (r_t in [-16.3, 0], so an
episode's return in [-3254, 0]; a first policy scores around -1200).
"""

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from acnotes.gaussian import GaussianPolicy, clip_action, log_prob, sample


def train(*, total_steps=200_000, seed=0, lr=1e-3, critic_lr=3e-3, gamma=0.9, lam=0.9, n_envs=16, n_steps=32,
          hidden=64, log_std_init=-0.5, reward_scale=0.1, max_grad_norm=1.0, vf_coef=0.5, ent_coef=0.0):
    """Train one agent; return the episode returns (unscaled) and the env step at which each ended.

    ``n_steps`` is the rollout length (steps each env takes between two updates); ``lam=None``
    gives A2C's Psi_t = G_t - V_w(s_t); a number in [0, 1] gives GAE(lambda)'s. ``log_std_init`` is the
    starting log sigma (a free parameter, one per action coordinate). ``seed`` seeds the envs,
    the action sampler and torch's global generator (the initial weights).
    """
    env = gym.make_vec("Pendulum-v1", num_envs=n_envs, vectorization_mode="sync")
    low, high = float(env.single_action_space.low[0]), float(env.single_action_space.high[0])
    obs, _ = env.reset(seed=seed)
    obs = torch.as_tensor(obs, dtype=torch.float32)
    sampler = torch.Generator().manual_seed(seed)

    # the policy pi_theta (a 64-64 tanh trunk, a mean head, a free log sigma) and the critic V_w
    torch.manual_seed(seed)
    actor = GaussianPolicy(3, 1, hidden=hidden, log_std_init=log_std_init)
    critic = nn.Sequential(nn.Linear(3, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    optimizer = torch.optim.Adam([{"params": actor.parameters(), "lr": lr},
                                  {"params": critic.parameters(), "lr": critic_lr}])

    episode_returns, end_steps = [], []
    running_return = np.zeros(n_envs)
    after_end = np.zeros(n_envs, dtype=bool)   # the env's episode ended on the step before
    steps = 0
    while steps < total_steps:
        # --- act: n_steps steps of every env ----------------------------------------------
        states, actions, rewards, terminated, truncated, valid = [obs], [], [], [], [], []
        for _ in range(n_steps):
            with torch.no_grad():
                mu, log_std = actor(obs)
            a = sample(mu, log_std, generator=sampler)               # unbounded a_t ~ N(mu, sigma^2)
            obs, r, term, trunc, _ = env.step(clip_action(a, low, high).numpy())   # the env gets clip(a)
            obs = torch.as_tensor(obs, dtype=torch.float32)
            steps += n_envs
            # NEXT_STEP autoreset: the step after an episode's end only resets the env; masked out.
            ok = ~after_end
            running_return += r * ok
            for i in np.flatnonzero((term | trunc) & ok):
                episode_returns.append(float(running_return[i]))
                end_steps.append(steps)
                running_return[i] = 0.0
            after_end = (term | trunc) & ok
            states.append(obs)
            actions.append(a)
            rewards.append(torch.as_tensor(r * ok * reward_scale, dtype=torch.float32))
            terminated.append(torch.as_tensor(term & ok))
            truncated.append(torch.as_tensor(trunc & ok))
            valid.append(torch.as_tensor(ok))
        S = torch.stack(states)                          # s_0 .. s_T: [T+1, n_envs, 3]
        A = torch.stack(actions)                         # [T, n_envs, 1], unclipped
        R, term, trunc, mask = (torch.stack(x) for x in (rewards, terminated, truncated, valid))
        T = len(A)

        # --- Psi_t and the critic's target -------------------------------------------------
        mu, log_std = actor(S[:T])
        V_all = critic(S).squeeze(-1)                    # V_w(s_0) .. V_w(s_T)
        V, V_next = V_all[:T], V_all[1:].detach()        # V_next[t] = V_w(s_{t+1}), even at a truncation
        with torch.no_grad():
            if lam is None:   # A2C: Psi_t = G_t - V_w(s_t); V_w regresses onto G_t
                G, target = V_next[-1], torch.empty_like(R)
                for t in reversed(range(T)):
                    future = torch.where(term[t], 0.0, torch.where(trunc[t], V_next[t], G))
                    G = R[t] + gamma * future
                    target[t] = G
                psi = target - V
            else:             # GAE: Psi_t = delta_t + gamma lambda Psi_{t+1} within the episode
                delta = R + gamma * (1.0 - term.float()) * V_next - V
                psi, A_next = torch.empty_like(R), torch.zeros_like(R[0])
                for t in reversed(range(T)):
                    A_next = delta[t] + gamma * lam * (1.0 - (term[t] | trunc[t]).float()) * A_next
                    psi[t] = A_next
                target = psi + V                         # the lambda-return

        # --- losses and one optimiser step --------------------------------------------------
        log_pi = log_prob(A, mu, log_std)                # log N(a_t; mu, sigma^2) of the unclipped a_t
        n_valid = mask.sum()
        actor_loss = -torch.where(mask, log_pi * psi, 0.0).sum() / n_valid
        critic_loss = torch.where(mask, 0.5 * (V - target) ** 2, 0.0).sum() / n_valid
        entropy = log_std.sum(-1).mean()                 # the Gaussian's entropy up to a constant
        optimizer.zero_grad()
        (actor_loss + vf_coef * critic_loss - ent_coef * entropy).backward()
        nn.utils.clip_grad_norm_([*actor.parameters(), *critic.parameters()], max_grad_norm)
        optimizer.step()
    env.close()
    return episode_returns, end_steps
