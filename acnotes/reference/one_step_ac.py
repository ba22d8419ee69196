"""Sutton & Barto's one-step actor-critic (Section 13.5), and its version with eligibility
traces (Section 13.6), on a tabular MDP, for one run, read top to bottom.

    returns, thetas = train(acn.envs.early_prize(), episodes=300, alpha_theta=0.1, alpha_w=0.2)

The book's box, episodic, with a linear critic v(s, w) = w . x(s) and a softmax policy
pi(a|s) = softmax_a(theta . phi(s, a)) (``TabularMDP.features``):

    for each episode:
        S <- the first state; I <- 1
        while S is not terminal:
            A ~ pi(.|S);  take A, see R, S'
            delta <- R + gamma v(S', w) - v(S, w)            (v(terminal, w) = 0)
            w     <- w + alpha_w delta grad v(S, w)           (grad v(S, w) = x(S))
            theta <- theta + alpha_theta I delta grad log pi(A|S)
            I     <- gamma I
            S     <- S'

``use_I=False`` drops I (it stays 1): what almost all code does, notebook 1's missing gamma^t.
With traces (the box "Actor-Critic with Eligibility Traces (episodic)"), z_w and z_theta start
each episode at 0, and the two updates become

    z_w     <- gamma lambda_w z_w + grad v(S, w)
    z_theta <- gamma lambda_theta z_theta + I grad log pi(A|S)
    w       <- w + alpha_w delta z_w
    theta   <- theta + alpha_theta delta z_theta

With lambda_w = lambda_theta = 0 the traces are the gradients of this step, and this is the
one-step box again, number for number (tests/test_one_step.py).

The functions below take one run's arrays, or many runs' stacked on a leading axis: the same
lines serve ``acnotes.one_step``, which runs many independent runs at once. Randomness: each
episode's first state takes one uniform number of ``rng``, and each step three (``u[0]`` for
A, ``u[1]`` for S', ``u[2]`` for the first state of the next episode, used if this step ends
the episode); a sample is drawn by inverting its CDF at u.
"""

from __future__ import annotations

import numpy as np


def col(x):
    """x with a last axis of length 1: one number per run, against a vector per run."""
    return np.asarray(x)[..., None]


def sample(probs, u):
    """The index k with cdf[k-1] <= u < cdf[k] (a draw from ``probs``, a row or rows)."""
    return (col(u) >= np.cumsum(probs, axis=-1)[..., :-1]).sum(-1)


class Linear:
    """The features of the policy and of the critic.

    phi[s, a] (shape [S, A, d]): the policy's, from the MDP. x[s] (shape [S + 1, k]): the
    critic's, one-hot in the state by default (a tabular critic); row S is the terminal
    state, all zeros, so that v(terminal, w) = 0 as the box asks.
    """

    def __init__(self, mdp, critic_features=None):
        self.phi = mdp.features.numpy()
        x = np.eye(mdp.n_states) if critic_features is None else np.asarray(critic_features, dtype=float)
        if x.ndim != 2 or x.shape[0] != mdp.n_states:
            raise ValueError(f"critic_features must have shape [S, k] = [{mdp.n_states}, k], got {x.shape}")
        self.x = np.vstack([x, np.zeros(x.shape[1])])

    def pi(self, theta, s):
        """pi(.|s) = softmax(theta . phi(s, .))."""
        h = np.einsum("...ad,...d->...a", self.phi[s], theta)
        e = np.exp(h - h.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def grad_log_pi(self, theta, s, a):
        """grad log pi(a|s) = phi(s, a) - sum_b pi(b|s) phi(s, b)."""
        return self.phi[s, a] - np.einsum("...a,...ad->...d", self.pi(theta, s), self.phi[s])

    def v(self, w, s):
        """v(s, w) = w . x(s); 0 at the terminal state."""
        return np.einsum("...k,...k->...", self.x[s], w)


def one_step_update(f, theta, w, I, s, a, r, s_next, *, gamma, alpha_theta, alpha_w, use_I=True):
    """The body of the box of Section 13.5, after the step (S, A, R, S'): the new theta, w, I."""
    delta = r + gamma * f.v(w, s_next) - f.v(w, s)                 # R + gamma v(S', w) - v(S, w)
    score = f.grad_log_pi(theta, s, a)                             # grad log pi(A|S), at this theta
    w = w + col(alpha_w * delta) * f.x[s]                          # w + alpha_w delta grad v(S, w)
    theta = theta + col(alpha_theta * delta) * (col(I) * score)    # theta + alpha_theta I delta grad log pi
    return theta, w, I * np.where(use_I, gamma, 1.0)               # I <- gamma I (or stays 1)


def trace_update(f, theta, w, I, z_theta, z_w, s, a, r, s_next, *, gamma, alpha_theta, alpha_w,
                 lam_theta, lam_w, use_I=True):
    """The body of the box with eligibility traces (Section 13.6): the new theta, w, I, z_theta, z_w."""
    delta = r + gamma * f.v(w, s_next) - f.v(w, s)                 # the same delta
    score = f.grad_log_pi(theta, s, a)
    z_w = col(gamma * lam_w) * z_w + f.x[s]                        # gamma lambda_w z_w + grad v(S, w)
    z_theta = col(gamma * lam_theta) * z_theta + col(I) * score    # gamma lambda_theta z_theta + I grad log pi
    w = w + col(alpha_w * delta) * z_w
    theta = theta + col(alpha_theta * delta) * z_theta
    return theta, w, I * np.where(use_I, gamma, 1.0), z_theta, z_w


class Env:
    """The MDP's dynamics as arrays: ``P[s, a, s']`` with a last column for "terminated"
    (state S, the missing mass of each row), ``R[s, a]``, ``mu``."""

    def __init__(self, mdp):
        P = mdp.P.numpy()
        self.terminal = mdp.n_states
        self.P = np.concatenate([P, np.clip(1.0 - P.sum(-1, keepdims=True), 0.0, None)], axis=-1)
        self.R = mdp.R.numpy()
        self.mu = mdp.mu.numpy()


def train(mdp, episodes, *, alpha_theta, alpha_w, use_I=True, lam_theta=0.0, lam_w=0.0, theta0=None,
          critic_features=None, rng=None, max_steps=10_000):
    """One run of ``episodes`` episodes, one step at a time, as the boxes say.

    Returns ``(returns, thetas)``: each episode's total reward (undiscounted, as the book's
    figures show it) and theta at its start, ``[episodes, d]``. With both lambdas 0 each
    step is ``one_step_update``, else ``trace_update``. An episode still running after
    ``max_steps`` steps is cut there (no update for the cut).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    f, env = Linear(mdp, critic_features), Env(mdp)
    theta = np.zeros(f.phi.shape[-1]) if theta0 is None else np.array(theta0, dtype=float)
    w = np.zeros(f.x.shape[1])
    traces = lam_theta != 0 or lam_w != 0
    returns, thetas = [], []
    s = sample(env.mu, rng.random())
    for _ in range(episodes):
        thetas.append(theta.copy())
        I, z_theta, z_w, total = 1.0, np.zeros_like(theta), np.zeros_like(w), 0.0
        for _ in range(max_steps):
            u = rng.random(3)
            a = sample(f.pi(theta, s), u[0])
            s_next, r = sample(env.P[s, a], u[1]), env.R[s, a]
            total += r
            if traces:
                theta, w, I, z_theta, z_w = trace_update(f, theta, w, I, z_theta, z_w, s, a, r, s_next,
                                                         gamma=mdp.gamma, alpha_theta=alpha_theta, alpha_w=alpha_w,
                                                         lam_theta=lam_theta, lam_w=lam_w, use_I=use_I)
            else:
                theta, w, I = one_step_update(f, theta, w, I, s, a, r, s_next, gamma=mdp.gamma,
                                              alpha_theta=alpha_theta, alpha_w=alpha_w, use_I=use_I)
            if s_next == env.terminal:
                s = sample(env.mu, u[2])
                break
            s = s_next
        else:                                   # cut after max_steps: the next episode starts afresh
            s = sample(env.mu, u[2])
        returns.append(total)
    return np.array(returns), np.array(thetas)
