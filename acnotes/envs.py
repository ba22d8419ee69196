"""Environments: vectorized CartPole-v1 and Pendulum-v1, and exact tabular MDPs.

CartPole is for practice: there is no exact gradient, but training is fast. The tabular MDPs
are for truth: V, Q, the advantage, the discounted state visitation, J(theta) and the policy
gradient are computed exactly by linear algebra, so an estimator can be compared with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from . import _validate
from .cartpole import CartPoles
from .pendulum import Pendulums

__all__ = ["make_cartpole", "make_pendulum", "make_env", "ENVS", "TabularMDP", "short_corridor", "two_state", "early_prize", "random_mdp", "softmax_policy"]


def make_cartpole(num_envs: int = 8, max_episode_steps: int = 500, members: int = 1):
    """``num_envs`` copies of CartPole-v1 in one numpy-vectorized env (``acnotes.cartpole``).

    With ``members=K`` it holds K*num_envs copies, K independently seeded groups of
    ``num_envs`` (a population), and ``step(actions, active=mask)`` pauses the envs where
    ``mask`` is False. Autoreset mode is NEXT_STEP: the step after an episode
    ends returns the first observation of the next episode and ignores the action; the
    rollout collector drops that step. An episode is truncated (not terminated) after
    ``max_episode_steps``.
    """
    if isinstance(num_envs, bool) or int(num_envs) != num_envs or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs}")
    return CartPoles(members, int(num_envs), max_episode_steps)


def make_pendulum(num_envs: int = 8, members: int = 1):
    """``num_envs`` copies of Pendulum-v1 (per member, ``members`` groups) in one numpy-vectorized
    env (``acnotes.pendulum``), with the interface of ``make_cartpole``: NEXT_STEP autoreset,
    ``step(actions, active=mask)``, every episode truncated after 200 steps."""
    if isinstance(num_envs, bool) or int(num_envs) != num_envs or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs}")
    return Pendulums(members, int(num_envs))


# the environments the engine trains on (``Config.env``)
ENVS = ("CartPole-v1", "Pendulum-v1")


def make_env(name: str, num_envs: int, members: int = 1):
    """The population env ``name`` (one of ``ENVS``) with ``num_envs`` copies per member."""
    if name not in ENVS:
        raise ValueError(f"env must be one of {', '.join(ENVS)}, got {name!r}")
    make = make_pendulum if name == "Pendulum-v1" else make_cartpole   # looked up now, so a test can replace one
    return make(num_envs, members=members)


def softmax_policy(theta: Tensor, features: Tensor) -> Tensor:
    """pi(a|s) = softmax_a(theta . phi(s, a)) for features ``phi`` of shape [S, A, d]."""
    return torch.softmax(features @ theta, dim=-1)


def _array(name: str, x) -> Tensor:
    """``x`` as a float64 tensor; a ValueError names the argument if it is not numbers."""
    if isinstance(x, (str, bytes)):
        raise ValueError(f"{name} must be an array of numbers, got {x!r}")
    try:
        return torch.as_tensor(x, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"{name} must be an array of numbers ({type(e).__name__}: {e})") from None


@dataclass
class TabularMDP:
    """A finite MDP given by arrays, with exact solutions for any stochastic policy.

    Attributes:
        P: ``P[s, a, s']``, transition probabilities. A row may sum to less than 1: the
            missing mass is the probability that the episode terminates after (s, a).
        R: ``R[s, a]``, the expected reward of taking a in s.
        mu: start distribution over states.
        gamma: discount in [0, 1]. gamma = 1 is allowed when every policy terminates.
        features: ``phi[s, a]`` (shape [S, A, d]) for a softmax policy
            ``pi(a|s) = softmax_a(theta . phi(s, a))``. Defaults to one-hot (s, a).
        name: a short label for plots and tables.

    All exact quantities are float64 torch tensors, so they can be differentiated.
    """

    P: Tensor
    R: Tensor
    mu: Tensor
    gamma: float
    features: Tensor | None = None
    name: str = "mdp"

    def __post_init__(self):
        self.P, self.R, self.mu = _array("P", self.P), _array("R", self.R), _array("mu", self.mu)
        if self.R.dim() != 2 or 0 in self.R.shape:
            raise ValueError(f"R must have shape [S, A] with S, A >= 1 (R[s, a]: the reward of a in s), "
                             f"got {tuple(self.R.shape)}")
        S, A = self.R.shape
        if self.P.shape != (S, A, S):
            raise ValueError(f"P must have shape [S, A, S] = {(S, A, S)}, got {tuple(self.P.shape)}")
        if self.mu.shape != (S,):
            raise ValueError(f"mu must have shape [S] = {(S,)}, got {tuple(self.mu.shape)}")
        if not torch.isfinite(self.R).all():
            raise ValueError("R must be finite: it holds NaN or inf, so every value would be NaN")
        if not ((self.P >= 0).all() and (self.P.sum(-1) <= 1 + 1e-9).all()):  # NaN fails too
            raise ValueError("P[s, a, :] must be non-negative and sum to at most 1")
        if not ((self.mu >= 0).all() and abs(float(self.mu.sum()) - 1.0) <= 1e-9):
            raise ValueError("mu must be a probability distribution over states")
        self.gamma = _validate.number("gamma", self.gamma, lo=0.0, hi=1.0)
        if self.features is None:
            self.features = torch.eye(S * A, dtype=torch.float64).reshape(S, A, S * A)
        self.features = _array("features", self.features)
        if self.features.dim() != 3 or self.features.shape[:2] != (S, A) or self.features.shape[2] == 0:
            raise ValueError(f"features must have shape [S, A, d] = [{S}, {A}, d] with d >= 1, "
                             f"got {tuple(self.features.shape)}")
        if not torch.isfinite(self.features).all():
            raise ValueError("features must be finite: they hold NaN or inf, so the policy would be NaN")

    # ------------------------------------------------------------------ sizes
    @property
    def n_states(self) -> int:
        return self.R.shape[0]

    @property
    def n_actions(self) -> int:
        return self.R.shape[1]

    @property
    def n_features(self) -> int:
        return self.features.shape[-1]

    def with_gamma(self, gamma: float) -> "TabularMDP":
        """The same MDP with another discount."""
        return TabularMDP(self.P, self.R, self.mu, gamma, self.features, self.name)

    # ------------------------------------------------------------------ policy
    def policy(self, theta: Tensor) -> Tensor:
        """pi[s, a] of the softmax policy with parameters theta (shape [d])."""
        return softmax_policy(torch.as_tensor(theta, dtype=torch.float64), self.features)

    def _as_pi(self, pi_or_theta: Tensor) -> Tensor:
        x = torch.as_tensor(pi_or_theta, dtype=torch.float64)
        return x if x.dim() == 2 else self.policy(x)

    # ------------------------------------------------------------------ exact values
    def _solve(self, pi: Tensor, gamma: float) -> Tensor:
        """(I - gamma P_pi)^-1, with P_pi[s, s'] = sum_a pi(a|s) P(s'|s,a)."""
        P_pi = torch.einsum("sa,sat->st", pi, self.P)
        eye = torch.eye(self.n_states, dtype=torch.float64)
        M = eye - gamma * P_pi
        if torch.linalg.matrix_rank(M) < self.n_states:
            if gamma != self.gamma:  # visitation(discounted=False) sums without discounting
                raise ValueError(
                    f"the policy never terminates, so its undiscounted visit counts (discounted=False) "
                    f"are infinite, whatever gamma (here {self.gamma:g}); use discounted=True, or an MDP "
                    f"in which every episode ends")
            raise ValueError(
                "the policy never terminates and gamma = 1: values are infinite; use gamma < 1"
            )
        return torch.linalg.inv(M)

    def V(self, pi_or_theta: Tensor) -> Tensor:
        """Exact V^pi(s) = E[sum_t gamma^t r_t | s_0 = s]."""
        pi = self._as_pi(pi_or_theta)
        r_pi = (pi * self.R).sum(-1)
        return self._solve(pi, self.gamma) @ r_pi

    def Q(self, pi_or_theta: Tensor) -> Tensor:
        """Exact Q^pi(s, a) = R(s, a) + gamma sum_s' P(s'|s,a) V^pi(s')."""
        pi = self._as_pi(pi_or_theta)
        return self.R + self.gamma * self.P @ self.V(pi)

    def advantage(self, pi_or_theta: Tensor) -> Tensor:
        """Exact A^pi(s, a) = Q^pi(s, a) - V^pi(s)."""
        pi = self._as_pi(pi_or_theta)
        return self.Q(pi) - self.V(pi)[:, None]

    def visitation(self, pi_or_theta: Tensor, discounted: bool = True) -> Tensor:
        """State visitation ``d(s) = sum_t gamma^t Pr(s_t = s)`` (unnormalized).

        With ``discounted=False`` it is the expected number of visits, sum_t Pr(s_t = s),
        which is finite only in an episodic MDP.
        """
        pi = self._as_pi(pi_or_theta)
        return self.mu @ self._solve(pi, self.gamma if discounted else 1.0)

    def J(self, theta: Tensor) -> Tensor:
        """The discounted objective J(theta) = sum_s mu(s) V^pi_theta(s)."""
        return self.mu @ self.V(self.policy(theta))

    def score(self, theta: Tensor) -> Tensor:
        """grad_theta log pi(a|s) for every (s, a): shape [S, A, d].

        For a softmax policy it is ``phi(s, a) - sum_b pi(b|s) phi(s, b)``.
        """
        pi = self.policy(theta)
        mean_phi = torch.einsum("sa,sad->sd", pi, self.features)
        return self.features - mean_phi[:, None, :]

    def policy_gradient(self, theta: Tensor, discounted: bool = True) -> Tensor:
        """The exact policy gradient by the policy gradient theorem.

        ``discounted=True`` gives grad J(theta) = sum_s d_gamma(s) sum_a pi(a|s)
        grad log pi(a|s) Q(s, a): what REINFORCE estimates when each term carries gamma^t.
        ``discounted=False`` weights states by the undiscounted visit count instead: what
        the usual estimator without gamma^t has as its mean. It is not the gradient of J
        (nor of any function, in general).
        """
        theta = torch.as_tensor(theta, dtype=torch.float64)
        pi = self.policy(theta)
        d = self.visitation(pi, discounted=discounted)
        q = self.Q(pi)
        return torch.einsum("s,sa,sad,sa->d", d, pi, self.score(theta), q)

    def autograd_gradient(self, theta: Tensor) -> Tensor:
        """grad J(theta) by differentiating the exact J: a check on `policy_gradient`."""
        theta = torch.as_tensor(theta, dtype=torch.float64).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(self.J(theta), theta)
        return g

    # ------------------------------------------------------------------ sampling
    def sample_episodes(self, theta: Tensor, n: int, generator: torch.Generator,
                        max_steps: int = 1000) -> dict[str, Tensor]:
        """Sample n episodes with the softmax policy, all at once.

        Returns time-major tensors ``[T, n]``: ``s``, ``a``, ``r``, ``terminated``,
        ``truncated``, ``s_next``, ``t`` (time within the episode) and ``valid`` (False
        after an episode ended). An episode still running after ``max_steps`` is truncated.
        Rewards are the expected rewards R[s, a].
        """
        pi = self.policy(theta)
        S = self.n_states
        # append an absorbing "terminated" column to P
        p_end = (1.0 - self.P.sum(-1)).clamp(min=0.0)
        P_ext = torch.cat([self.P, p_end[..., None]], dim=-1)
        s = torch.multinomial(self.mu.expand(n, S), 1, generator=generator).squeeze(1)
        alive = torch.ones(n, dtype=torch.bool)
        rows: dict[str, list[Tensor]] = {k: [] for k in ("s", "a", "r", "terminated", "truncated", "s_next", "valid")}
        for t in range(max_steps):
            a = torch.multinomial(pi[s], 1, generator=generator).squeeze(1)
            nxt = torch.multinomial(P_ext[s, a], 1, generator=generator).squeeze(1)
            term = nxt == S
            trunc = (~term) & torch.tensor(t == max_steps - 1)
            rows["s"].append(s)
            rows["a"].append(a)
            rows["r"].append(self.R[s, a])
            rows["terminated"].append(term & alive)
            rows["truncated"].append(trunc & alive)
            s_next = torch.where(term, torch.zeros_like(nxt), nxt)
            rows["s_next"].append(s_next)
            rows["valid"].append(alive.clone())
            alive = alive & ~term
            s = s_next
            if not alive.any():
                break
        out = {k: torch.stack(v) for k, v in rows.items()}
        out["r"] = out["r"] * out["valid"]
        T = out["s"].shape[0]
        out["t"] = torch.arange(T)[:, None].expand(T, n)
        return out


# ---------------------------------------------------------------------- ready-made MDPs
def short_corridor(gamma: float = 0.9) -> TabularMDP:
    """Sutton & Barto's short corridor with switched actions (Example 13.1).

    Three non-terminal states in a row, reward -1 per step; in the middle state the actions
    are reversed. All states share the same features, so the policy cannot tell them apart:
    the best stochastic policy goes right with probability about 0.59 (for gamma = 1).
    """
    S, A = 3, 2  # actions: 0 = left, 1 = right
    P = torch.zeros(S, A, S, dtype=torch.float64)
    P[0, 0, 0] = 1.0  # left in state 0: bump into the wall
    P[0, 1, 1] = 1.0
    P[1, 0, 2] = 1.0  # reversed
    P[1, 1, 0] = 1.0
    P[2, 0, 1] = 1.0
    # P[2, 1] sums to 0: reaching the goal terminates the episode
    R = -torch.ones(S, A, dtype=torch.float64)
    mu = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    phi = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64).expand(S, A, 2).clone()
    return TabularMDP(P, R, mu, gamma, phi, name="short corridor")


def two_state(gamma: float = 0.9) -> TabularMDP:
    """A two-state, two-action episodic MDP small enough to solve by hand.

    In state 0, action 0 pays 1 and stays with probability 0.9 (terminates otherwise);
    action 1 pays 0 and moves to state 1. In state 1, action 0 pays 2 and terminates;
    action 1 pays 0.5 and stays with probability 0.8.
    """
    P = torch.zeros(2, 2, 2, dtype=torch.float64)
    P[0, 0, 0] = 0.9
    P[0, 1, 1] = 1.0
    P[1, 1, 1] = 0.8
    R = torch.tensor([[1.0, 0.0], [2.0, 0.5]], dtype=torch.float64)
    mu = torch.tensor([1.0, 0.0], dtype=torch.float64)
    return TabularMDP(P, R, mu, gamma, name="two-state")


def early_prize(gamma: float = 0.9, prize: float = 10.0, stay: float = 0.95) -> TabularMDP:
    """Two states that look alike: an early prize, then a long stay (notebook 9).

    The episode starts in state 0. There, ``right`` pays ``prize`` and ``left`` pays 0; both
    move to state 1. In state 1, ``left`` pays 1 and ``right`` 0; both stay with probability
    ``stay`` and end the episode otherwise. Both states have the same features (actions
    (left, right), as in ``short_corridor``), so the policy is one p = pi(right) in both:
    ``right`` wins the prize, ``left`` the stream of small rewards.

    The discounted visits are d_gamma = [1, gamma / (1 - gamma stay)] (about 6.2 at the
    defaults), the undiscounted ones d_1 = [1, 1 / (1 - stay)] (20): with gamma^t the prize
    outweighs the stay (J = 10 at p = 1 against 6.2 at p = 0), without it the stay counts 20 times.
    """
    if not 0.0 <= stay < 1.0:
        raise ValueError(f"stay must be in [0, 1): at 1 the episode never ends, got {stay}")
    P = torch.zeros(2, 2, 2, dtype=torch.float64)
    P[0, :, 1] = 1.0
    P[1, :, 1] = stay
    R = torch.tensor([[0.0, float(prize)], [1.0, 0.0]], dtype=torch.float64)
    mu = torch.tensor([1.0, 0.0], dtype=torch.float64)
    phi = torch.eye(2, dtype=torch.float64).expand(2, 2, 2).clone()
    return TabularMDP(P, R, mu, gamma, phi, name="early prize")


def random_mdp(n_states: int = 5, n_actions: int = 3, gamma: float = 0.9, p_end: float = 0.1,
               n_features: int | None = None, seed: int = 0) -> TabularMDP:
    """A random episodic MDP: Dirichlet transitions, Gaussian rewards, termination
    probability ``p_end`` after every step, one-hot or random Gaussian features."""
    if not 0.0 < p_end <= 1.0:
        raise ValueError(f"p_end must be in (0, 1], got {p_end}")
    g = np.random.default_rng(seed)
    P = g.dirichlet(np.ones(n_states), size=(n_states, n_actions)) * (1.0 - p_end)
    R = g.normal(size=(n_states, n_actions))
    mu = g.dirichlet(np.ones(n_states))
    phi = None if n_features is None else g.normal(size=(n_states, n_actions, n_features))
    return TabularMDP(P, R, mu, gamma, phi, name=f"random({n_states}x{n_actions})")
