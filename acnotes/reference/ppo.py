"""PPO on CartPole-v1 in one file, read top to bottom (Schulman et al., 2017).

    episode_returns, end_steps = train(total_steps=100_000, seed=0)

A2C (``a2c.py``) takes one gradient step on each batch and throws it away. PPO takes several
epochs of minibatch steps on the same batch. After the first step the policy pi_theta is no
longer the policy pi_old that collected the batch, so each step's weight becomes the ratio

    rho_t(theta) = pi_theta(a_t | s_t) / pi_old(a_t | s_t),

and the actor maximises the clipped surrogate (notebook 12)

    L_clip(theta) = mean_t  min( rho_t A_t,  clip(rho_t, 1 - eps, 1 + eps) A_t ),

whose gradient at theta = theta_old is A2C's. A_t is GAE(lambda) computed once, with pi_old's
critic, before the epochs:

    delta_t = r_t + gamma V_w(s_{t+1}) - V_w(s_t)   (no V_w(s_{t+1}) after a termination;
                                                      V_w of the last state after a truncation)
    A_t     = delta_t + gamma lambda A_{t+1}        (A_{t+1} = 0 after a termination or truncation)

and the critic regresses onto the lambda-return A_t + V_w(s_t). The keyword defaults are
rl-baselines3-zoo's CartPole-v1 settings for stable-baselines3's PPO (8 envs, 32 steps,
20 epochs of minibatches of 256, gamma 0.98, lambda 0.8, lr 1e-3 and eps 0.2 both falling
linearly to 0, advantages normalised per minibatch, Adam with eps 1e-5, gradient norm
clipped at 0.5). benchmarks/ppo_cartpole.py runs this file and SB3's PPO side by side.
"""

import gymnasium as gym
import numpy as np
import torch
from torch import nn


def gae(R, V, V_next, term, trunc, gamma, lam):
    """A_t of GAE(lambda) for a rollout [T, n_envs]: delta_t + gamma lambda A_{t+1}, where
    delta_t = r_t + gamma V(s_{t+1}) - V(s_t), V(s_{t+1}) = 0 after a termination only (a
    truncated episode did not end: it bootstraps), and A_{t+1} = 0 after either end."""
    delta = R + gamma * (1.0 - term.float()) * V_next - V
    adv, A_next = torch.empty_like(R), torch.zeros_like(R[0])
    for t in reversed(range(len(R))):
        A_next = delta[t] + gamma * lam * (1.0 - (term[t] | trunc[t]).float()) * A_next
        adv[t] = A_next
    return adv


def clipped_surrogate(log_pi, log_pi_old, adv, eps):
    """PPO's per-step objective min(rho A, clip(rho, 1 - eps, 1 + eps) A), rho = pi / pi_old
    (``eps=None``: the plain rho A)."""
    ratio = torch.exp(log_pi - log_pi_old)                                # rho_t(theta)
    if eps is None:
        return ratio * adv
    return torch.min(ratio * adv, torch.clamp(ratio, 1 - eps, 1 + eps) * adv)


def train(*, total_steps=100_000, seed=0, lr=1e-3, gamma=0.98, lam=0.8, clip_eps=0.2, n_envs=8,
          n_steps=32, n_epochs=20, batch_size=256, hidden=64, vf_coef=0.5, max_grad_norm=0.5,
          anneal=True, anneal_over=None):
    """Train one agent; return the episode returns and the env step at which each ended.

    ``n_steps`` is the rollout length (steps each env takes between two updates); each update
    takes ``n_epochs`` passes over the rollout's valid steps in shuffled minibatches of
    ``batch_size``. With ``anneal`` the step size and ``clip_eps`` fall linearly from their
    value to 0 over ``anneal_over`` env steps (default ``total_steps``: rl-zoo's ``lin_``; set it
    to train only the start of a longer run); ``clip_eps=None`` drops the clipping
    (the plain ratio-weighted surrogate). ``seed`` seeds the env, the action sampler, the
    minibatch shuffles and torch's global generator (the initial weights).
    """
    env = gym.make_vec("CartPole-v1", num_envs=n_envs, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=seed)
    obs = torch.as_tensor(obs)
    sampler = torch.Generator().manual_seed(seed)

    # Two 64-64 tanh networks, the policy pi_theta and the critic V_w, as in a2c.py: made in
    # this order (trunks, then heads) after seeding, so that they start from the engine's weights.
    torch.manual_seed(seed)
    trunks = [nn.Sequential(nn.Linear(4, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
              for _ in range(2)]
    actor = nn.Sequential(*trunks[0], nn.Linear(hidden, 2))
    critic = nn.Sequential(*trunks[1], nn.Linear(hidden, 1))
    with torch.no_grad():              # small initial logits: the first policy is almost uniform
        actor[-1].weight.mul_(0.01)
        actor[-1].bias.zero_()
    params = [*actor.parameters(), *critic.parameters()]
    optimizer = torch.optim.Adam(params, lr=lr, eps=1e-5)

    episode_returns, end_steps = [], []
    running_return = np.zeros(n_envs)
    after_end = np.zeros(n_envs, dtype=bool)   # the env's episode ended on the step before
    steps = 0
    while steps < total_steps:
        left = max(0.0, 1.0 - steps / (anneal_over or total_steps)) if anneal else 1.0   # rl-zoo's linear schedules
        for group in optimizer.param_groups:
            group["lr"] = lr * left
        eps = None if clip_eps is None else clip_eps * left

        # --- act: n_steps steps of every env with pi_old, as in a2c.py ------------------------
        states, actions, rewards, terminated, truncated, valid = [obs], [], [], [], [], []
        for _ in range(n_steps):
            with torch.no_grad():
                pi = torch.softmax(actor(obs), dim=-1)
            u = torch.rand(n_envs, 1, generator=sampler)
            a = (u >= pi.cumsum(-1)[:, :-1]).sum(-1)     # a_t ~ pi_old(.|s_t): invert its CDF at u
            obs, r, term, trunc, _ = env.step(a.numpy())
            obs = torch.as_tensor(obs)
            steps += n_envs
            # NEXT_STEP autoreset: the step after an episode ended ignores a_t and links two
            # episodes; it is kept out of every loss (valid = False).
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

        # --- GAE(lambda) with pi_old's critic, and pi_old's log-probabilities, once -----------
        with torch.no_grad():
            V_all = critic(S).squeeze(-1)                # V_w(s_0) .. V_w(s_T)
            V, V_next = V_all[:T], V_all[1:]             # V_next[t] = V_w(s_{t+1}), even at a truncation
            adv = gae(R, V, V_next, term, trunc, gamma, lam)
            returns = adv + V                            # the critic's target, the lambda-return
            log_pi_old = torch.log_softmax(actor(S[:T]), dim=-1).gather(-1, A.unsqueeze(-1)).squeeze(-1)

        # the valid steps, flattened: the batch the epochs reuse
        s_b, a_b, adv_b, ret_b, logp_old_b = (x[mask] for x in (S[:T], A, adv, returns, log_pi_old))

        # --- several epochs of minibatch steps on the clipped surrogate ----------------------
        n = len(a_b)
        for _ in range(n_epochs):
            order = torch.randperm(n, generator=sampler)
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                adv_mb = adv_b[idx]
                if len(idx) > 1:                         # normalised per minibatch (as SB3)
                    adv_mb = (adv_mb - adv_mb.mean()) / (adv_mb.std() + 1e-8)
                log_pi = torch.log_softmax(actor(s_b[idx]), dim=-1).gather(-1, a_b[idx].unsqueeze(-1)).squeeze(-1)
                actor_loss = -clipped_surrogate(log_pi, logp_old_b[idx], adv_mb, eps).mean()
                critic_loss = ((critic(s_b[idx]).squeeze(-1) - ret_b[idx]) ** 2).mean()   # SB3's: no 1/2
                optimizer.zero_grad()
                (actor_loss + vf_coef * critic_loss).backward()
                nn.utils.clip_grad_norm_(params, max_grad_norm)
                optimizer.step()
    env.close()
    return episode_returns, end_steps
