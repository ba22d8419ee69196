"""From A2C to PPO, exactly (notebook 12): the importance ratio, the surrogate objective and
its clipped form on tabular MDPs, where J, its gradient and every advantage are exact.

A batch of episodes is collected by the *behaviour* policy pi_old = pi_{theta_old}. A policy
pi_theta that differs from it reweights each step by the ratio

    rho_theta(s, a) = pi_theta(a|s) / pi_old(a|s).

The surrogate (Kakade & Langford, 2002; Schulman et al., 2015, 2017) is

    L(theta) = sum_s d_old(s) sum_a pi_old(a|s) rho_theta(s, a) A_old(s, a)
             = E_old[ sum_t gamma^t rho_theta(s_t, a_t) A_old(s_t, a_t) ],

with d_old the discounted visits of pi_old (``TabularMDP.visitation``) and A_old its advantage.
L(theta_old) = 0 and grad L(theta_old) = grad J(theta_old): the policy gradient theorem. The
performance difference lemma says what L leaves out:

    J(theta) - J(theta_old) = sum_s d_theta(s) sum_a pi_theta(a|s) A_old(s, a),

the same sum with the *new* policy's visits. The clipped surrogate of PPO replaces each term
rho A by min(rho A, clip(rho, 1 - eps, 1 + eps) A).

Here every function takes the tabular softmax policy of ``TabularMDP`` (parameters ``theta``
of shape [d]), keeps gamma^t (so that the surrogate's gradient is grad J exactly, as in
notebook 1), and is differentiable where it says so. The CartPole algorithm is
``acnotes/reference/ppo.py``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .envs import TabularMDP
from .returns import discount_powers
from .variance import tabular_gradients

__all__ = ["lookalike", "clipped", "surrogate", "surrogate_gradient", "performance_difference", "kl",
           "batch_surrogate", "off_policy_gradients", "epochs"]


def _theta(x) -> Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


def lookalike(gamma: float = 0.9, cost: float = 3.0) -> TabularMDP:
    """Two states that look alike, where the old policy's advantages mislead (notebook 12).

    The episode starts in state 0 (X). There ``left`` ends the episode with reward 0 and
    ``right`` pays 1 and moves to state 1 (Y). In Y ``left`` pays 1 and ``right`` costs
    ``cost``; both end the episode. X and Y have the same features (actions (left, right), as
    in ``envs.short_corridor``), so the policy is one p = pi(right) in both, and

        J(p) = p (1 + gamma ((1 - p) - cost p)).

    A policy that rarely goes right rarely reaches Y: the surrogate weighs Y by d_old(Y) =
    gamma p_old, small, and sees in X only that ``right`` pays; the new policy goes right in Y too.
    """
    if not cost >= 0:
        raise ValueError(f"cost must be a non-negative number, got {cost!r}")
    P = torch.zeros(2, 2, 2, dtype=torch.float64)
    P[0, 1, 1] = 1.0                               # X, right -> Y; every other move ends the episode
    R = torch.tensor([[0.0, 1.0], [1.0, -float(cost)]], dtype=torch.float64)
    mu = torch.tensor([1.0, 0.0], dtype=torch.float64)
    phi = torch.eye(2, dtype=torch.float64).expand(2, 2, 2).clone()
    return TabularMDP(P, R, mu, gamma, phi, name="lookalike")


def clipped(rho: Tensor, adv: Tensor, clip_eps: float | None) -> Tensor:
    """PPO's term min(rho A, clip(rho, 1 - eps, 1 + eps) A), elementwise; ``clip_eps=None``:
    the plain rho A. Schulman et al. (2017), eq. (7)."""
    if clip_eps is None:
        return rho * adv
    return torch.minimum(rho * adv, rho.clamp(1.0 - clip_eps, 1.0 + clip_eps) * adv)


def surrogate(mdp: TabularMDP, theta, theta_old, clip_eps: float | None = None) -> Tensor:
    """The exact surrogate L(theta) = sum_s d_old(s) sum_a pi_old(a|s) f(rho, A_old), with
    f = rho A (``clip_eps=None``) or PPO's clipped term; differentiable in ``theta``."""
    theta_old = _theta(theta_old)
    pi_old = mdp.policy(theta_old)
    rho = mdp.policy(theta) / pi_old
    return torch.einsum("s,sa,sa->", mdp.visitation(pi_old), pi_old, clipped(rho, mdp.advantage(pi_old), clip_eps))


def surrogate_gradient(mdp: TabularMDP, theta, theta_old, clip_eps: float | None = None) -> Tensor:
    """grad_theta L(theta), by autograd through ``surrogate``."""
    theta = _theta(theta).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(surrogate(mdp, theta, theta_old, clip_eps), theta)
    return g


def performance_difference(mdp: TabularMDP, theta, theta_old) -> Tensor:
    """sum_s d_theta(s) sum_a pi_theta(a|s) A_old(s, a): the performance difference lemma's
    right-hand side (Kakade & Langford, 2002), which equals J(theta) - J(theta_old)."""
    pi = mdp.policy(_theta(theta))
    return torch.einsum("s,sa,sa->", mdp.visitation(pi), pi, mdp.advantage(_theta(theta_old)))


def kl(mdp: TabularMDP, theta_old, theta) -> float:
    """KL(pi_old || pi_theta), averaged over the states pi_old visits (weights d_old / |d_old|):
    how far the new policy has moved, where the batch came from."""
    pi_old, pi = mdp.policy(_theta(theta_old)), mdp.policy(_theta(theta))
    d = mdp.visitation(pi_old)
    per_state = (pi_old * (pi_old.log() - pi.log())).sum(-1)
    return float(d @ per_state / d.sum())


def _step_ratios(mdp: TabularMDP, theta, theta_old, episodes: dict) -> Tensor:
    """rho_theta(s_t, a_t) on the steps of ``episodes`` [T, N]; differentiable in ``theta``."""
    s, a = episodes["s"], episodes["a"]
    logp = torch.log_softmax(mdp.features @ _theta(theta), -1)[s, a]
    logp_old = torch.log_softmax(mdp.features @ _theta(theta_old), -1)[s, a]
    return torch.exp(logp - logp_old)


def batch_surrogate(mdp: TabularMDP, theta, theta_old, episodes: dict, adv: Tensor,
                    clip_eps: float | None = None) -> Tensor:
    """The surrogate of one batch: (1/N) sum_episodes sum_t gamma^t f(rho_t, A_t) over the N
    episodes of ``episodes`` (sampled with pi_old), with advantages ``adv`` [T, N] (e.g. the
    exact A_old at the sampled (s_t, a_t)). Its mean over batches is ``surrogate``;
    differentiable in ``theta``."""
    w = discount_powers(episodes["t"], mdp.gamma, dtype=torch.float64)
    terms = clipped(_step_ratios(mdp, theta, theta_old, episodes), adv, clip_eps)
    return torch.where(episodes["valid"], w * terms, 0.0).sum() / episodes["s"].shape[1]


def off_policy_gradients(mdp: TabularMDP, theta, theta_old, episodes: dict, B: int,
                         weighting: str = "ratio") -> Tensor:
    """Estimates [K, d] of grad J(theta) from K batches of B episodes of pi_old (the columns
    of ``episodes``), each (1/B) sum sum_t gamma^t W_t grad log pi_theta(a_t|s_t) Psi_t:

    * ``"ratio"``: W_t = rho_t and Psi_t = A_old(s_t, a_t), PPO's estimator: the gradient of
      ``batch_surrogate``. Its mean is grad L(theta), not grad J(theta) once theta != theta_old.
    * ``"trajectory"``: W_t = rho_0 rho_1 ... rho_t (the probability of the episode so far
      under pi_theta over pi_old) and Psi_t = A_theta(s_t, a_t), the new policy's own
      advantage: unbiased for grad J(theta) (per-decision importance sampling; Precup et al., 2000).
    """
    rho = _step_ratios(mdp, theta, theta_old, episodes).detach()
    s, a = episodes["s"], episodes["a"]
    if weighting == "ratio":
        psi = rho * mdp.advantage(_theta(theta_old))[s, a]
    elif weighting == "trajectory":
        prod = torch.cumprod(torch.where(episodes["valid"], rho, 1.0), dim=0)
        psi = prod * mdp.advantage(_theta(theta))[s, a]
    else:
        raise ValueError(f"weighting must be 'ratio' or 'trajectory', got {weighting!r}")
    return tabular_gradients(mdp, _theta(theta), episodes, psi, B)


def epochs(mdp: TabularMDP, theta_old, episodes: dict, adv: Tensor, n_epochs: int, lr: float,
           clip_eps: float | None = None, optimizer: str = "adam", every: bool = True) -> dict[str, Tensor]:
    """Ascend ``batch_surrogate`` on ONE batch for ``n_epochs`` full-batch steps of Adam
    (``optimizer="sgd"``: plain gradient ascent) with step size ``lr``, as PPO's epochs do, and
    record after each step (index 0: before any):

    * ``promise``: the batch's plain surrogate (1/N) sum gamma^t rho_t A_t, what the
      optimiser believes it gained (with ``clip_eps`` the optimiser ascends the clipped one);
    * ``expected``: the exact surrogate L(theta), the promise's mean over batches;
    * ``gain``: the truth, J(theta) - J(theta_old), exact;
    * ``kl``: ``kl(mdp, theta_old, theta)``; ``theta``: the parameters [n_epochs + 1, d].

    ``every=False`` records only before the first step and after the last (index 0 and 1).
    """
    theta_old = _theta(theta_old)
    theta = theta_old.clone().requires_grad_(True)
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)([theta], lr=lr)
    J_old = float(mdp.J(theta_old))
    pi_old = mdp.policy(theta_old)
    d_old, A_old = mdp.visitation(pi_old), mdp.advantage(pi_old)     # once: they do not move
    out: dict[str, list] = {k: [] for k in ("promise", "expected", "gain", "kl", "theta")}

    def record():
        th = theta.detach().clone()
        pi = mdp.policy(th)
        out["promise"].append(float(batch_surrogate(mdp, th, theta_old, episodes, adv)))
        out["expected"].append(float(torch.einsum("s,sa,sa->", d_old, pi_old, pi / pi_old * A_old)))  # = surrogate()
        out["gain"].append(float(mdp.J(th)) - J_old)
        out["kl"].append(float(d_old @ (pi_old * (pi_old.log() - pi.log())).sum(-1) / d_old.sum()))  # = kl()
        out["theta"].append(th)

    record()
    for k in range(n_epochs):
        opt.zero_grad()
        (-batch_surrogate(mdp, theta, theta_old, episodes, adv, clip_eps)).backward()
        opt.step()
        if every or k == n_epochs - 1:
            record()
    return {k: torch.stack(v) if k == "theta" else torch.tensor(v, dtype=torch.float64) for k, v in out.items()}
