"""A2C on CartPole-v1 in one file, read top to bottom (Mnih et al., 2016).

    episode_returns, end_steps = train(total_steps=100_000, seed=0)

Psi_t = G_t - V_w(s_t), the advantage with the return bootstrapped at the rollout's end:

    G_t = r_t + gamma * G_{t+1},  where G_{t+1} is  0          after a termination,
                                                    V_w(s_{t+1}) after a truncation or at the rollout's end.

With ``lam`` set it is GAE(lambda) (Schulman et al., 2016): Psi_t = sum_k (gamma lambda)^k delta_{t+k},
with delta_t = r_t + gamma V_w(s_{t+1}) - V_w(s_t) (no V_w(s_{t+1}) after a termination).
The keyword defaults are the ``a2c`` preset; ``lam=0.95, n_envs=8, n_steps=16`` is the ``gae``
preset. ``acnotes.train`` computes the same, for K agents at once:
the same episode returns for the same seed (weights to rounding; see __init__.py).
"""

import gymnasium as gym
import numpy as np
import torch
from torch import nn


def train(*, total_steps=100_000, seed=0, lr=2e-3, critic_lr=4e-3, gamma=0.99, lam=None,
          n_envs=32, n_steps=4, hidden=64, max_grad_norm=1.0, vf_coef=0.5):
    """Train one agent; return the episode returns and the env step at which each ended.

    ``n_steps`` is the rollout length (steps each env takes between two updates); ``lam=None``
    gives A2C's Psi_t, a number in [0, 1] gives GAE(lambda)'s.
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
        states, actions, rewards, terminated, truncated, valid = [obs], [], [], [], [], []
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
            rewards.append(torch.as_tensor(r * ok, dtype=torch.float32))
            terminated.append(torch.as_tensor(term & ok))
            truncated.append(torch.as_tensor(trunc & ok))
            valid.append(torch.as_tensor(ok))
        S = torch.stack(states)                          # s_0 .. s_T: [T+1, n_envs, 4]
        A, R, term, trunc, mask = (torch.stack(x) for x in (actions, rewards, terminated, truncated, valid))
        T = len(A)

        # --- Psi_t and the critic's target -------------------------------------------------
        logits = actor(S)[:T]
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
