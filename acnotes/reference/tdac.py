"""TD Actor-Critic on CartPole-v1 in one file, read top to bottom.

    episode_returns, end_steps = train(total_steps=100_000, seed=0)

Psi_t is the one-step TD error, and V_w regresses onto the TD target:

    delta_t = r_t + gamma V_w(s_{t+1}) - V_w(s_t),   with no V_w(s_{t+1}) after a termination;
    after a truncation (the 500-step limit) V_w(s_{t+1}) stays: the episode was cut, not ended.

The keyword defaults are the ``tdac`` preset. ``acnotes.train`` computes the same, for K
agents at once: the same episode returns for the same seed (weights to rounding; see __init__.py).
"""

import gymnasium as gym
import numpy as np
import torch
from torch import nn


def train(*, total_steps=100_000, seed=0, lr=4e-4, critic_lr=5e-3, gamma=0.98, n_envs=32, n_steps=2,
          hidden=64, max_grad_norm=1.0, reward_scale=0.05, vf_coef=0.5):
    """Train one agent; return the episode returns and the env step at which each ended.

    ``n_steps`` is the rollout length (steps each env takes between two updates); rewards
    are multiplied by ``reward_scale`` before learning (the returns reported are unscaled).
    ``seed`` seeds the env, the action sampler and torch's global generator (the initial weights).
    """
    env = gym.make_vec("CartPole-v1", num_envs=n_envs, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=seed)
    obs = torch.as_tensor(obs)
    sampler = torch.Generator().manual_seed(seed)

    # Two 64-64 tanh networks: the policy pi_theta and the critic V_w. Made in this order
    # (trunks, then heads) after seeding, so that they start from the engine's weights.
    torch.manual_seed(seed)
    trunks = [nn.Sequential(nn.Linear(4, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
              for _ in range(2)]
    actor = nn.Sequential(*trunks[0], nn.Linear(hidden, 2))
    critic = nn.Sequential(*trunks[1], nn.Linear(hidden, 1))
    with torch.no_grad():              # small initial logits: the first policy is almost uniform
        actor[-1].weight.mul_(0.01)
        actor[-1].bias.zero_()
    optimizer = torch.optim.Adam([{"params": actor.parameters(), "lr": lr},
                                  {"params": critic.parameters(), "lr": critic_lr}])

    episode_returns, end_steps = [], []
    running_return = np.zeros(n_envs)
    after_end = np.zeros(n_envs, dtype=bool)   # the env's episode ended on the step before
    steps = 0
    while steps < total_steps:
        # --- act: n_steps steps of every env ----------------------------------------------
        states, actions, rewards, terminated, valid = [obs], [], [], [], []
        for _ in range(n_steps):
            with torch.no_grad():
                pi = torch.softmax(actor(obs), dim=-1)
            u = torch.rand(n_envs, 1, generator=sampler)
            a = (u >= pi.cumsum(-1)[:, :-1]).sum(-1)     # a_t ~ pi(.|s_t): invert its CDF at u
            obs, r, term, trunc, _ = env.step(a.numpy())
            obs = torch.as_tensor(obs)
            steps += n_envs
            # gymnasium resets an env on the step *after* its episode ended (NEXT_STEP autoreset):
            # that step ignores a_t and links two episodes, so it is masked out (valid = False).
            ok = ~after_end
            running_return += r * ok
            for i in np.flatnonzero((term | trunc) & ok):
                episode_returns.append(float(running_return[i]))
                end_steps.append(steps)
                running_return[i] = 0.0
            after_end = (term | trunc) & ok
            states.append(obs)
            actions.append(a)
            rewards.append(torch.as_tensor(r * ok) * reward_scale)
            terminated.append(torch.as_tensor(term & ok))
            valid.append(torch.as_tensor(ok))
        S = torch.stack(states)                          # s_0 .. s_T: [T+1, n_envs, 4]
        A, R, term, mask = (torch.stack(x) for x in (actions, rewards, terminated, valid))
        T = len(A)

        # --- Psi_t = delta_t and the critic's target --------------------------------------
        logits = actor(S)[:T]
        V_all = critic(S).squeeze(-1)                    # V_w(s_0) .. V_w(s_T)
        V, V_next = V_all[:T], V_all[1:].detach()        # V_w(s_{t+1}), the true last state at a truncation
        target = R + gamma * (1.0 - term.float()) * V_next   # r_t + gamma V_w(s_{t+1})
        psi = target - V.detach()                            # delta_t

        # --- losses and one optimiser step --------------------------------------------------
        log_pi = torch.log_softmax(logits, dim=-1).gather(-1, A.unsqueeze(-1)).squeeze(-1)
        n_valid = mask.sum()
        actor_loss = -torch.where(mask, log_pi * psi, 0.0).sum() / n_valid
        critic_loss = torch.where(mask, 0.5 * (V - target) ** 2, 0.0).sum() / n_valid
        optimizer.zero_grad()
        (actor_loss + vf_coef * critic_loss).backward()
        nn.utils.clip_grad_norm_([*actor.parameters(), *critic.parameters()], max_grad_norm)
        optimizer.step()
    env.close()
    return episode_returns, end_steps
