"""REINFORCE on CartPole-v1 in one file, read top to bottom (Williams, 1992).

    episode_returns, end_steps = train(total_steps=100_000, seed=0)

Psi_t = G_t, the return from step t to the end of the episode:

    G_t = r_t + gamma G_{t+1},   with G_{t+1} = 0 once the episode has ended, either way:
    REINFORCE has no critic, so a truncated episode (the 500-step limit) is not bootstrapped.

Each update uses whole episodes, one from each env, and averages over them:
    loss = -(1 / n_envs) sum_episodes sum_t log pi_theta(a_t | s_t) G_t.
The keyword defaults are the ``reinforce`` preset. ``acnotes.train`` computes the same, for K
agents at once: the same episode returns for the same seed (weights to rounding; see __init__.py).
"""

import gymnasium as gym
import numpy as np
import torch
from torch import nn


def train(*, total_steps=100_000, seed=0, lr=2e-3, gamma=0.99, n_envs=8, hidden=64):
    """Train one agent; return the episode returns and the env step at which each ended.

    Every update resets the ``n_envs`` envs and runs them until each has finished one
    episode; the steps an env takes after its episode ended are masked out (but counted).
    ``seed`` seeds the env, the action sampler and torch's global generator (the initial weights).
    """
    env = gym.make_vec("CartPole-v1", num_envs=n_envs, vectorization_mode="vector_entry_point")
    sampler = torch.Generator().manual_seed(seed)

    # A 64-64 tanh policy network pi_theta, made after seeding: it starts from the engine's weights.
    torch.manual_seed(seed)
    actor = nn.Sequential(nn.Linear(4, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                          nn.Linear(hidden, 2))
    with torch.no_grad():              # small initial logits: the first policy is almost uniform
        actor[-1].weight.mul_(0.01)
        actor[-1].bias.zero_()
    optimizer = torch.optim.Adam(actor.parameters(), lr=lr)

    episode_returns, end_steps = [], []
    steps, first = 0, True
    while steps < total_steps:
        # --- act: one whole episode in every env ----------------------------------------------
        obs, _ = env.reset(seed=seed) if first else env.reset()
        first = False
        obs = torch.as_tensor(obs)
        running_return = np.zeros(n_envs)
        finished = np.zeros(n_envs, dtype=bool)
        states, actions, rewards, ended, valid = [obs], [], [], [], []
        while not finished.all():
            with torch.no_grad():
                pi = torch.softmax(actor(obs), dim=-1)
            u = torch.rand(n_envs, 1, generator=sampler)
            a = (u >= pi.cumsum(-1)[:, :-1]).sum(-1)     # a_t ~ pi(.|s_t): invert its CDF at u
            obs, r, term, trunc, _ = env.step(a.numpy())
            obs = torch.as_tensor(obs)
            steps += n_envs
            ok = ~finished                               # envs whose episode is still running
            running_return += r * ok
            for i in np.flatnonzero((term | trunc) & ok):
                episode_returns.append(float(running_return[i]))
                end_steps.append(steps)
            finished |= term | trunc
            states.append(obs)
            actions.append(a)
            rewards.append(torch.as_tensor(r * ok, dtype=torch.float32))
            ended.append(torch.as_tensor((term | trunc) & ok))
            valid.append(torch.as_tensor(ok))
        S = torch.stack(states)                          # s_0 .. s_T: [T+1, n_envs, 4]
        A, R, done, mask = (torch.stack(x) for x in (actions, rewards, ended, valid))
        T = len(A)

        # --- Psi_t = G_t, the reward-to-go ----------------------------------------------------
        G, psi = torch.zeros(n_envs), torch.empty_like(R)
        for t in reversed(range(T)):
            G = R[t] + gamma * torch.where(done[t], 0.0, G)
            psi[t] = G

        # --- loss and one optimiser step ------------------------------------------------------
        logits = actor(S)[:T]
        log_pi = torch.log_softmax(logits, dim=-1).gather(-1, A.unsqueeze(-1)).squeeze(-1)
        loss = -torch.where(mask, log_pi * psi, 0.0).sum() / n_envs   # mean over the episodes
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    env.close()
    return episode_returns, end_steps
