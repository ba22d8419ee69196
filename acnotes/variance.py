"""The variance lab: many independent gradient estimates at one fixed policy.

For a fixed policy (and critic) it draws K independent estimates of the policy gradient per
estimator, each from a batch of B whole episodes, in the per-episode form

    g = (1/B) sum_{episodes} sum_t  w_t * grad log pi(a_t|s_t) * Psi_t,
    w_t = gamma^t if discount_actor else 1,

with Psi_t computed by the same ``acnotes.estimators`` functions the training loop uses
(``est.psi(batch, Values(...), gamma, lam, n)``) and, on CartPole, the same
``estimators.actor_loss``. Then it compares the K estimates with the truth:

* tabular MDPs: the exact gradient, ``mdp.policy_gradient(theta)`` (or with
  ``discounted=False`` when ``discount_actor=False``: the mean of the estimator without
  gamma^t, which is *not* grad J);
* CartPole: the mean of a large, separate batch of REINFORCE-with-baseline estimates (or
  plain REINFORCE when there is no V critic): both have the true gradient as their mean,
  whatever the critic, and the baseline lowers the noise of the reference.

One call gives a table::

    mdp = acn.envs.two_state(gamma=0.9)
    table = acn.variance.measure(mdp, theta, K=1000, B=16)        # tabular, exact critics
    table = acn.variance.measure(agent, K=1000, B=4)                # CartPole
    table.to_csv("variance.csv"); table["reinforce"]["variance"]

Statistics (one row per estimator; ``gradient_stats`` computes them):

    mean      = (1/K) sum_k g_k
    variance  = (1/K) sum_k |g_k - mean|^2        (trace of the covariance; plug-in, ddof 0)
    bias      = |mean - g_ref|
    mse       = (1/K) sum_k |g_k - g_ref|^2  =  bias^2 + variance   (exactly, with ddof 0)

The decomposition is checked on every row (``mse_gap`` is the float error). Because the
mean of K estimates is itself noisy, ``bias`` is never exactly 0: ``bias_sq_noise`` is what
bias^2 would be on average for an unbiased estimator (variance/K plus the reference's own
noise), and ``bias_ratio = bias^2 / bias_sq_noise`` is about 1 for an unbiased estimator
and much larger for a biased one. ``bias_p`` is the p-value of Hotelling's test of
"mean == reference" (chi-square approximation; small d only).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from . import estimators as E
from .envs import TabularMDP, make_cartpole
from .rollout import Batch, Collector

__all__ = [
    "ESTIMATOR_NAMES",
    "VarianceTable",
    "TabularCritic",
    "tabular_critic",
    "gradient_stats",
    "tabular_gradients",
    "cartpole_gradients",
    "cartpole_pool",
    "measure",
    "measure_tabular",
    "measure_cartpole",
    "sweep",
    "sweep_batch_size",
    "sweep_gamma",
    "sweep_lambda",
    "plot",
    "plot_sweep",
    "panel",
    "add_cli",
]

ESTIMATOR_NAMES: tuple[str, ...] = tuple(E.ESTIMATORS)


# ============================================================================ validation
def _check_int(name: str, v, lo: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def _check_unit(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0.0 <= float(v) <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {v!r}")
    return float(v)


def _check_nonneg(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not (
            math.isfinite(float(v)) and float(v) >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    return float(v)


def _check_estimators(names) -> list[str]:
    if names is None:
        return list(ESTIMATOR_NAMES)
    if isinstance(names, str):
        names = [names]
    names = list(names)
    bad = [x for x in names if x not in E.ESTIMATORS]
    if bad or not names:
        raise ValueError(f"estimators: unknown estimator(s) {bad!r}; valid values: "
                         f"{', '.join(ESTIMATOR_NAMES)}")
    return names


class _Threads:
    """Run with ``n`` torch threads, then restore (1 is fastest for these small problems)."""

    def __init__(self, n):
        self.n = n if n is None else _check_int("threads", n)

    def __enter__(self):
        self.old = torch.get_num_threads()
        if self.n is not None:
            torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)


# ============================================================================ statistics
def _chi2_sf(x: float, df: int) -> float:
    """P(chi2_df > x), by the regularized upper incomplete gamma function."""
    if df <= 0:
        return float("nan")
    return float(torch.special.gammaincc(torch.tensor(df / 2.0, dtype=torch.float64),
                                         torch.tensor(x / 2.0, dtype=torch.float64)))


def gradient_stats(grads: Tensor, reference: Tensor, reference_cov_trace: float = 0.0,
                   hotelling_max_dim: int = 200) -> dict:
    """Bias, variance and MSE of K gradient estimates ``grads`` [K, d] against ``reference`` [d].

    ``reference_cov_trace`` is the trace of the covariance of the reference itself (0 for an
    exact gradient; variance/M for the mean of M noisy estimates); it only enters
    ``bias_sq_noise``. Everything is computed in float64. Returned keys:

    ``mean_norm``, ``ref_norm``, ``variance`` (trace of the plug-in covariance),
    ``relative_variance`` (variance / |mean|^2), ``bias`` (|mean - ref|), ``bias_sq``,
    ``mse`` (bias^2 + variance), ``mse_direct`` (mean of |g_k - ref|^2), ``mse_gap``
    (their difference: float error only), ``cosine`` (of mean and reference),
    ``se_mean`` (sqrt(variance / (K - 1)): the standard error of the mean, as a norm),
    ``bias_sq_noise``, ``bias_ratio``, ``bias_z_max`` (largest |mean_i - ref_i| / SE_i),
    ``bias_p`` (Hotelling p-value of mean == reference; nan if d > hotelling_max_dim).
    """
    g = torch.as_tensor(grads, dtype=torch.float64)
    ref = torch.as_tensor(reference, dtype=torch.float64)
    if g.dim() != 2 or ref.shape != g.shape[1:]:
        raise ValueError(f"grads must be [K, d] and reference [d]; got {tuple(g.shape)} and {tuple(ref.shape)}")
    K, d = g.shape
    mean = g.mean(0)
    dev = g - mean
    var_i = (dev ** 2).mean(0)                      # plug-in per-component variance
    variance = float(var_i.sum())
    diff = mean - ref
    bias_sq = float(diff @ diff)
    mse_direct = float(((g - ref) ** 2).sum(1).mean())
    mse = bias_sq + variance
    mean_sq = float(mean @ mean)
    ref_norm = float(ref.norm())
    cosine = float(mean @ ref / (mean.norm() * ref.norm())) if mean_sq > 0 and ref_norm > 0 else float("nan")
    # noise of the mean: unbiased variance / K
    var_unb_i = var_i * K / max(K - 1, 1)
    se_i = (var_unb_i / K).sqrt()
    noise = float(var_unb_i.sum()) / K + float(reference_cov_trace)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(diff.numpy()) / se_i.numpy()
        z[(se_i.numpy() == 0) & (np.abs(diff.numpy()) <= 1e-12 * max(ref_norm, 1.0))] = 0.0
    bias_z_max = float(np.nanmax(z)) if d else 0.0
    bias_p = float("nan")
    if K > 1 and d <= hotelling_max_dim and float(reference_cov_trace) == 0.0:
        S = dev.T @ dev / (K - 1)
        evals, evecs = torch.linalg.eigh(S)
        keep = evals > evals.max().clamp(min=0) * 1e-10
        if keep.any():
            proj = evecs[:, keep].T @ diff
            t2 = float(K * (proj ** 2 / evals[keep]).sum())
            bias_p = _chi2_sf(t2, int(keep.sum()))
            # a bias outside the span of the estimates' noise is significant for sure
            resid = diff - evecs[:, keep] @ proj
            if float(resid.norm()) > 1e-9 * max(ref_norm, 1.0):
                bias_p = 0.0
    return dict(
        mean_norm=math.sqrt(mean_sq), ref_norm=ref_norm, variance=variance,
        relative_variance=variance / mean_sq if mean_sq > 0 else float("inf"),
        bias=math.sqrt(bias_sq), bias_sq=bias_sq, mse=mse, mse_direct=mse_direct,
        mse_gap=mse_direct - mse, cosine=cosine, se_mean=math.sqrt(variance / max(K - 1, 1)),
        bias_sq_noise=noise, bias_ratio=bias_sq / noise if noise > 0 else float("inf"),
        bias_z_max=bias_z_max, bias_p=bias_p,
    )


# ============================================================================ the table
@dataclass
class VarianceTable:
    """The result of a measurement or a sweep: one row (a dict) per estimator and setting.

    ``rows``: the statistics of ``gradient_stats`` plus the settings (``estimator``,
    ``label``, ``env``, ``K``, ``B``, ``gamma``, ``lam``, ``n``, ``discount_actor``,
    ``critic_noise``, ``seconds``). ``grads``: the K x d estimates of each row (numpy,
    same order as ``rows``), for histograms and scatter plots. ``reference``: the gradient
    each row is compared with. ``meta``: how the reference was obtained, and the like.

    ``table["a2c"]`` is the (first) row of that estimator; ``table.column("variance")`` a
    list; ``table.select(B=16)`` the rows that match.
    """

    rows: list[dict] = field(default_factory=list)
    grads: list[np.ndarray] = field(default_factory=list)
    references: list[np.ndarray] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self.rows[key]
        for r in self.rows:
            if r["estimator"] == key:
                return r
        raise KeyError(f"no row for estimator {key!r}; rows: {sorted({r['estimator'] for r in self.rows})}")

    @property
    def columns(self) -> list[str]:
        cols: list[str] = []
        for r in self.rows:
            cols.extend(c for c in r if c not in cols)
        return cols

    def column(self, name: str) -> list:
        return [r.get(name) for r in self.rows]

    def select(self, **equal) -> "VarianceTable":
        """The rows whose fields equal the given values, e.g. ``select(estimator="gae")``."""
        keep = [i for i, r in enumerate(self.rows) if all(r.get(k) == v for k, v in equal.items())]
        return VarianceTable([self.rows[i] for i in keep], [self.grads[i] for i in keep],
                             [self.references[i] for i in keep], dict(self.meta))

    def extend(self, other: "VarianceTable") -> "VarianceTable":
        self.rows += other.rows
        self.grads += other.grads
        self.references += other.references
        for k, v in other.meta.items():
            self.meta.setdefault(k, v)
        return self

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict:
        """``{"meta": ..., "columns": [...], "rows": [{...}, ...]}``: plain JSON-able data
        (the raw estimates are left out; they are in ``.grads``)."""
        return {"meta": _jsonable(self.meta), "columns": self.columns, "rows": _jsonable(self.rows)}

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        cols = self.columns
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            for r in self.rows:
                w.writerow({c: r.get(c, "") for c in cols})
        return path

    # ------------------------------------------------------------------ display
    _SHOW = ("estimator", "B", "gamma", "lam", "variance", "relative_variance", "bias",
             "bias_ratio", "mse", "cosine")

    def _fmt(self, v) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    def __repr__(self) -> str:
        if not self.rows:
            return "VarianceTable(empty)"
        cols = [c for c in self._SHOW if c in self.columns]
        cells = [[self._fmt(r.get(c, "")) for c in cols] for r in self.rows]
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
        line = lambda xs: "  ".join(x.rjust(w) for x, w in zip(xs, widths))
        head = f"VarianceTable: {self.meta.get('env', '')}, reference = {self.meta.get('reference', '')}"
        return "\n".join([head, line(cols)] + [line(c) for c in cells])

    def _repr_html_(self) -> str:
        cols = [c for c in self._SHOW if c in self.columns]
        head = "".join(f"<th>{c}</th>" for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{self._fmt(r.get(c, ''))}</td>" for c in cols) + "</tr>"
                       for r in self.rows)
        cap = f"{self.meta.get('env', '')}; reference: {self.meta.get('reference', '')}"
        return f"<table><caption>{cap}</caption><tr>{head}</tr>{body}</table>"


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.generic,)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


# ============================================================================ tabular
@dataclass
class TabularCritic:
    """A tabular critic: ``V[s]`` and ``Q[s, a]`` (float64)."""

    V: Tensor
    Q: Tensor


def tabular_critic(mdp: TabularMDP, theta: Tensor, noise: float = 0.0, seed: int = 0) -> TabularCritic:
    """The exact V and Q of the policy, plus a fixed random error of relative size ``noise``.

    ``V_w = V + noise * |V| * z / |z|`` with z standard normal (seeded), and the same for Q
    with its own z: so ``|V_w - V| / |V| = noise`` exactly. ``noise=0`` is the exact critic;
    a noisy critic stands for a learned one of known quality.
    """
    noise = _check_nonneg("critic_noise", noise)
    pi = mdp.policy(theta)
    V, Q = mdp.V(pi), mdp.Q(pi)
    if noise > 0:
        g = torch.Generator().manual_seed(int(seed))
        zv = torch.randn(V.shape, generator=g, dtype=torch.float64)
        zq = torch.randn(Q.shape, generator=g, dtype=torch.float64)
        V = V + noise * V.norm() * zv / zv.norm()
        Q = Q + noise * Q.norm() * zq / zq.norm()
    return TabularCritic(V, Q)


@dataclass
class _TabularBatch:
    """The fields of a rollout Batch that Psi_t reads, for tabular episodes [T, N]."""

    rewards: Tensor
    terminated: Tensor
    truncated: Tensor
    valid: Tensor
    t: Tensor


def _tabular_psi(mdp: TabularMDP, theta: Tensor, eps: dict, est: E.Estimator, critic: TabularCritic,
                 gamma: float, lam: float, n: int) -> Tensor:
    b = _TabularBatch(eps["r"], eps["terminated"], eps["truncated"], eps["valid"], eps["t"])
    s, a, s_next = eps["s"], eps["a"], eps["s_next"]
    if est.critic is None:
        vals = E.Values()
    elif est.critic == "v":
        vals = E.Values(v=critic.V[s], v_next=critic.V[s_next])
    else:  # Q critic: expected SARSA value of s_{t+1}, as in the training loop
        v_of_q = (mdp.policy(theta) * critic.Q).sum(-1)
        vals = E.Values(q=critic.Q[s, a], v_next=v_of_q[s_next])
    return est.psi(b, vals, gamma, lam, n)


def tabular_gradients(mdp: TabularMDP, theta: Tensor, episodes: dict, psi: Tensor, B: int,
                      discount_actor: bool = True, method: str = "score") -> Tensor:
    """Per-estimate gradients [K, d] from N = K*B sampled episodes (columns of ``episodes``).

    Estimate k uses episodes k*B .. k*B+B-1. ``method="score"`` uses the closed form
    grad log pi(a|s) = phi(s, a) - E_pi phi(s, .) (``mdp.score``) and no autograd;
    ``method="autograd"`` differentiates ``estimators.actor_loss`` of a ``TabularSoftmax``
    once per estimate (slow; the check that both agree).
    """
    s, a, valid, t = episodes["s"], episodes["a"], episodes["valid"], episodes["t"]
    T, N = s.shape
    if N % B:
        raise ValueError(f"the number of episodes ({N}) must be a multiple of B ({B})")
    K = N // B
    theta = torch.as_tensor(theta, dtype=torch.float64)
    w = mdp.gamma ** t.to(torch.float64) if discount_actor else torch.ones_like(psi)
    if method == "score":
        S, A, d = mdp.n_states, mdp.n_actions, mdp.n_features
        coef = torch.where(valid, w * psi, torch.zeros_like(psi))          # [T, N]
        counts = torch.zeros(N, S * A, dtype=torch.float64)
        counts.scatter_add_(1, (s * A + a).T, coef.T)                      # sum_t coef over (s, a)
        per_episode = counts @ mdp.score(theta).reshape(S * A, d)          # [N, d]
        return per_episode.reshape(K, B, d).mean(1)
    if method == "autograd":
        from .models import TabularSoftmax
        model = TabularSoftmax(mdp.features, theta)
        out = []
        for k in range(K):
            cols = slice(k * B, (k + 1) * B)
            logp = E.log_prob(model(s[:, cols]), a[:, cols])
            loss = E.actor_loss(logp, psi[:, cols], valid[:, cols],
                                w[:, cols] if discount_actor else None, n_episodes=B)
            (g,) = torch.autograd.grad(loss, model.theta)
            out.append(-g)
        return torch.stack(out)
    raise ValueError(f"method must be 'score' or 'autograd', got {method!r}")


def measure_tabular(mdp: TabularMDP, theta: Tensor, estimators: Sequence[str] | str | None = None,
                    K: int = 1000, B: int = 16, gamma: float | None = None, lam: float = 0.95,
                    n: int = 5, discount_actor: bool = True, critic_noise: float = 0.0,
                    critic: TabularCritic | None = None, seed: int = 0,
                    max_steps: int = 1000, threads: int | None = 1) -> VarianceTable:
    """K gradient estimates of B episodes each, per estimator, on a tabular MDP.

    Args:
        mdp, theta: the MDP and the softmax policy's parameters (shape [d]).
        estimators: names from ``acnotes.estimators.ESTIMATORS`` (default: all six).
        K: number of independent estimates; B: episodes per estimate.
        gamma: discount (default: ``mdp.gamma``); the MDP is re-solved with it.
        lam: GAE lambda; n: the n of A2C's n-step return.
        discount_actor: weight term t by gamma^t. The reference is then the exact grad J;
            without it, ``mdp.policy_gradient(theta, discounted=False)``.
        critic_noise: relative size of the critic's error (``tabular_critic``); 0 = exact.
        critic: a ``TabularCritic`` to use instead (critic_noise is then ignored).
        seed: seeds the episodes (and the critic's error).
        threads: torch threads during the measurement (None: leave as is).

    All estimators share the same K*B episodes (common random numbers: differences between
    rows are not sampling luck). Returns a ``VarianceTable``.
    """
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    names = _check_estimators(estimators)
    K, B, n = _check_int("K", K), _check_int("B", B), _check_int("n", n)
    lam = _check_unit("lam", lam)
    critic_noise = _check_nonneg("critic_noise", critic_noise)
    max_steps = _check_int("max_steps", max_steps)
    with _Threads(threads):
        return _measure_tabular(mdp, theta, names, K, B, gamma, lam, n, discount_actor,
                                critic_noise, critic, seed, max_steps)


def _measure_tabular(mdp, theta, names, K, B, gamma, lam, n, discount_actor, critic_noise, critic,
                     seed, max_steps) -> VarianceTable:
    if gamma is not None:
        mdp = mdp.with_gamma(_check_unit("gamma", gamma))
    gamma = float(mdp.gamma)
    theta = torch.as_tensor(theta, dtype=torch.float64)
    if theta.shape != (mdp.n_features,):
        raise ValueError(f"theta must have shape [{mdp.n_features}], got {tuple(theta.shape)}")
    if critic is None:
        critic = tabular_critic(mdp, theta, critic_noise, seed)
    ref = mdp.policy_gradient(theta, discounted=discount_actor)
    gen = torch.Generator().manual_seed(int(seed))
    t0 = time.perf_counter()
    eps = mdp.sample_episodes(theta, K * B, gen, max_steps=max_steps)
    t_sample = time.perf_counter() - t0
    table = VarianceTable(meta=dict(
        env=mdp.name, reference="exact policy gradient" + ("" if discount_actor else
                                                           " without gamma^t (discounted=False)"),
        episode_steps=int(eps["valid"].sum()), sample_seconds=t_sample))
    for name in names:
        est = E.get(name)
        t1 = time.perf_counter()
        psi = _tabular_psi(mdp, theta, eps, est, critic, gamma, lam, n)
        grads = tabular_gradients(mdp, theta, eps, psi, B, discount_actor)
        secs = time.perf_counter() - t1
        row = dict(estimator=name, label=est.label, env=mdp.name, K=K, B=B, gamma=gamma, lam=lam,
                   n=n, discount_actor=bool(discount_actor), critic_noise=critic_noise)
        row.update(gradient_stats(grads, ref))
        row["seconds"] = secs
        table.rows.append(row)
        table.grads.append(grads.numpy())
        table.references.append(ref.numpy())
    return table


# ============================================================================ CartPole
class _PolicyLogits(nn.Module):
    """Wraps a policy so that ``forward`` returns only the logits (for functional_call)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.m = model

    def forward(self, obs: Tensor) -> Tensor:
        return self.m.logits(obs) if hasattr(self.m, "logits") else self.m(obs)


def _actor_params(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """Named parameters of the policy: ``actor_parameters()`` if the model has it."""
    wrapped = _PolicyLogits(model)
    if hasattr(model, "actor_parameters"):
        ids = {id(p) for p in model.actor_parameters()}
        return [(k, p) for k, p in wrapped.named_parameters() if id(p) in ids]
    return list(wrapped.named_parameters())


def _critic_fn(c) -> Callable[[Tensor], Tensor] | None:
    """A critic as a function of observations: a module returning (logits, critic) or a callable."""
    if c is None:
        return None
    if isinstance(c, nn.Module) and hasattr(c, "critic_kind"):
        return lambda obs: c(obs)[1]
    return c


def cartpole_pool(model: nn.Module, K: int, B: int, seed: int = 0, reward_scale: float = 1.0) -> Batch:
    """K*B whole CartPole episodes in one time-major Batch [T, K*B]: one episode per env.

    One ``Collector.episodes()`` call on ``make_cartpole(K*B)``: every env plays one episode
    with the policy; the steps after it ended are ``valid=False``. Estimate k uses columns
    k*B .. k*B+B-1.
    """
    env = make_cartpole(K * B)
    try:
        col = Collector(env, _PolicyLogits(model), seed=seed, reward_scale=reward_scale)
        with torch.no_grad():
            return col.episodes()
    finally:
        env.close()


def _on_valid(fn, x: Tensor, valid: Tensor) -> Tensor:
    """``fn(x)`` on the valid steps only (zeros elsewhere): the padding after each episode
    can be most of a [T, N] episodes batch, and is never used."""
    y = fn(x[valid])
    out = torch.zeros(*valid.shape, *y.shape[1:], dtype=y.dtype)
    out[valid] = y
    return out


def _cartpole_values(est: E.Estimator, batch: Batch, logits_fn, v_fn, q_fn,
                     cache: dict | None = None) -> E.Values:
    """Critic values for Psi_t, as the training loop computes them (no gradient here).

    V critic: ``v = V(s_t)``, ``v_next = V(s_{t+1})``. Q critic: ``q = Q(s_t, a_t)`` and the
    expected-SARSA value ``sum_a pi(a|s_{t+1}) Q(s_{t+1}, a)``. ``cache`` (a dict) keeps
    them between estimators that use the same critic.
    """
    cache = {} if cache is None else cache
    if est.critic is None:
        return E.Values()
    if est.critic in cache:
        return cache[est.critic]
    with torch.no_grad():
        if est.critic == "v":
            vals = E.Values(v=_on_valid(v_fn, batch.obs, batch.valid),
                            v_next=_on_valid(v_fn, batch.next_obs, batch.valid))
        else:
            q_all = _on_valid(q_fn, batch.obs, batch.valid)
            q = q_all.gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)

            def v_of_q(o):
                return (torch.softmax(logits_fn(o), -1) * q_fn(o)).sum(-1)

            vals = E.Values(q=q, v_next=_on_valid(v_of_q, batch.next_obs, batch.valid))
    cache[est.critic] = vals
    return vals


def _per_estimate_layout(batch: Batch, psi: Tensor, w: Tensor, K: int, B: int):
    """Re-arrange [T, K*B] episodes into [K, L] rows: the valid steps of each estimate first."""
    T = batch.obs.shape[0]

    def lay(x):  # [T, K*B, ...] -> [K, B*T, ...]
        x = x.transpose(0, 1)
        return x.reshape(K, B * T, *x.shape[2:])

    valid = lay(batch.valid)
    order = torch.sort((~valid).to(torch.int8), dim=1, stable=True).indices
    L = max(int(valid.sum(1).max()), 1)
    order = order[:, :L]

    def take(x):
        x = lay(x)
        idx = order.reshape(K, L, *([1] * (x.dim() - 2))).expand(K, L, *x.shape[2:])
        return torch.gather(x, 1, idx)

    return take(batch.obs), take(batch.actions), take(psi), take(w), take(batch.valid)


def cartpole_gradients(model: nn.Module, batch: Batch, psi: Tensor, K: int, B: int, gamma: float,
                       discount_actor: bool = True, method: str = "vmap",
                       chunk_steps: int = 100_000) -> Tensor:
    """Per-estimate policy gradients [K, P] (P = number of policy parameters).

    Estimate k is minus the gradient of ``estimators.actor_loss(logp, psi, valid, w,
    n_episodes=B)`` over the episodes k*B .. k*B+B-1 of ``batch``: the per-episode form.

    ``method="vmap"`` computes all K at once with ``torch.func``: ``vmap(grad(loss))`` over
    the estimates, calling the model through ``functional_call``; ``chunk_steps`` bounds the
    number of steps in one vectorized call (memory). ``method="loop"`` runs K separate
    backward passes (the plain way, and the check).
    """
    if batch.obs.shape[1] != K * B:
        raise ValueError(f"the batch has {batch.obs.shape[1]} episodes (columns); K * B = {K * B}")
    obs, act, psi_k, w_k, valid_k = _per_estimate_layout(
        batch, psi, gamma ** batch.t.float() if discount_actor else torch.ones_like(psi), K, B)
    wrapped = _PolicyLogits(model)
    named = _actor_params(model)
    if method == "vmap":
        from torch.func import functional_call, grad, vmap
        params = {k: p.detach() for k, p in named}

        def loss(p, o, a, ps, w, v):
            logp = E.log_prob(functional_call(wrapped, p, (o,), strict=False), a)
            return E.actor_loss(logp, ps, v, w, n_episodes=B)

        per_sample = vmap(grad(loss), in_dims=(None, 0, 0, 0, 0, 0))
        # Estimates differ in length: sort them by length and cut them into groups, each
        # padded only to its own longest, with at most chunk_steps steps per vmap call.
        counts = valid_k.sum(1)
        order = torch.argsort(counts)
        total = int(counts.sum())
        n_groups = max(min(K, 8), -(-K * obs.shape[1] // chunk_steps), -(-total // chunk_steps))
        out = torch.empty(K, sum(p.numel() for _, p in named), dtype=obs.dtype)
        for idx in torch.tensor_split(order, n_groups):
            if idx.numel() == 0:
                continue
            L = max(int(counts[idx].max()), 1)
            g = per_sample(params, obs[idx, :L], act[idx, :L], psi_k[idx, :L], w_k[idx, :L],
                           valid_k[idx, :L])
            out[idx] = -torch.cat([g[k].reshape(idx.numel(), -1) for k, _ in named], dim=1)
        return out
    if method == "loop":
        ps = [p for _, p in named]
        out = []
        for k in range(K):
            logp = E.log_prob(wrapped(obs[k]), act[k])
            loss = E.actor_loss(logp, psi_k[k], valid_k[k], w_k[k], n_episodes=B)
            gs = torch.autograd.grad(loss, ps)
            out.append(-torch.cat([x.reshape(-1) for x in gs]))
        return torch.stack(out)
    raise ValueError(f"method must be 'vmap' or 'loop', got {method!r}")


def measure_cartpole(policy, estimators: Sequence[str] | str | None = None, K: int = 200, B: int = 4,
                     gamma: float | None = None, lam: float = 0.95, n: int = 5,
                     discount_actor: bool = True, v_critic=None, q_critic=None,
                     reward_scale: float | None = None, ref_episodes: int | None = None,
                     ref_groups: int = 50, seed: int = 0, method: str = "vmap",
                     threads: int | None = 1) -> VarianceTable:
    """K gradient estimates of B whole CartPole episodes each, per estimator.

    Args:
        policy: an ``acnotes.train.Agent`` or an ``ActorCritic`` (any module with
            ``logits(obs)``). Its parameters are not changed.
        v_critic, q_critic: critics for Psi_t: modules returning ``(logits, critic)``
            (an ``ActorCritic`` with critic "v" / "q") or functions of observations.
            Default: the policy's own critic head. Estimators whose critic is missing are
            skipped when ``estimators`` is None, and raise a ValueError when asked for.
        gamma, reward_scale: default to the Agent's config (else 0.99 and 1.0).
        ref_episodes: episodes of the separate reference batch (default ``max(2000, 2*K*B)``),
            in ``ref_groups`` groups whose spread gives the reference's own noise.
        method: "vmap" (torch.func) or "loop" (K backward passes).
        threads: torch threads during the measurement (None: leave as is).

    Reference: the mean of the REINFORCE-with-baseline estimates of the reference batch
    (plain REINFORCE if there is no V critic): unbiased for the same gradient the estimators
    target, whatever the critic's quality. All estimators share the same K*B episodes.
    """
    cfg = getattr(policy, "config", None)
    model = getattr(policy, "model", policy)
    if not isinstance(model, nn.Module):
        raise ValueError(f"policy must be an Agent or an nn.Module, got {type(policy).__name__}")
    K, B, n = _check_int("K", K), _check_int("B", B), _check_int("n", n)
    ref_groups = _check_int("ref_groups", ref_groups)
    lam = _check_unit("lam", lam)
    gamma = _check_unit("gamma", gamma if gamma is not None else getattr(cfg, "gamma", 0.99))
    reward_scale = float(reward_scale if reward_scale is not None else getattr(cfg, "reward_scale", 1.0))
    ref_episodes = _check_int("ref_episodes", ref_episodes if ref_episodes is not None else max(2000, 2 * K * B))
    ref_groups = min(ref_groups, ref_episodes)
    ref_episodes -= ref_episodes % ref_groups
    own = getattr(model, "critic_kind", None)
    v_fn = _critic_fn(v_critic if v_critic is not None else (model if own == "v" else None))
    q_fn = _critic_fn(q_critic if q_critic is not None else (model if own == "q" else None))
    have = {None: True, "v": v_fn is not None, "q": q_fn is not None}
    if estimators is None:
        names = [x for x in ESTIMATOR_NAMES if have[E.get(x).critic]]
    else:
        names = _check_estimators(estimators)
        missing = [x for x in names if not have[E.get(x).critic]]
        if missing:
            raise ValueError(f"estimators {missing} need a {E.get(missing[0]).critic.upper()} critic: "
                             f"pass v_critic= / q_critic= (an ActorCritic with that critic head)")
    if method not in ("vmap", "loop"):
        raise ValueError(f"method must be 'vmap' or 'loop', got {method!r}")
    with _Threads(threads):
        return _measure_cartpole(model, names, K, B, gamma, lam, n, discount_actor, v_fn, q_fn,
                                 reward_scale, ref_episodes, ref_groups, seed, method)


def _measure_cartpole(model, names, K, B, gamma, lam, n, discount_actor, v_fn, q_fn, reward_scale,
                      ref_episodes, ref_groups, seed, method) -> VarianceTable:
    logits_fn = _PolicyLogits(model)
    ref_name = "reinforce_baseline" if v_fn is not None else "reinforce"

    def grads_for(est, batch, k, b, cache=None):
        vals = _cartpole_values(est, batch, logits_fn, v_fn, q_fn, cache)
        psi = est.psi(batch, vals, gamma, lam, n).detach()
        return cartpole_gradients(model, batch, psi, k, b, gamma, discount_actor, method)

    t0 = time.perf_counter()
    ref_batch = cartpole_pool(model, ref_groups, ref_episodes // ref_groups, seed + 10_007, reward_scale)
    t_ref_collect = time.perf_counter() - t0
    ref_g = grads_for(E.get(ref_name), ref_batch, ref_groups, ref_episodes // ref_groups).double()
    ref = ref_g.mean(0)
    ref_noise = float(ref_g.var(0, unbiased=True).sum()) / ref_groups if ref_groups > 1 else 0.0
    t_ref = time.perf_counter() - t0
    t1 = time.perf_counter()
    pool = cartpole_pool(model, K, B, seed, reward_scale)
    t_collect = time.perf_counter() - t1
    table = VarianceTable(meta=dict(
        env="CartPole-v1",
        reference=f"mean of {ref_name} over {ref_episodes} separate episodes",
        reference_episodes=ref_episodes, reference_seconds=t_ref,
        reference_collect_seconds=t_ref_collect, collect_seconds=t_collect,
        episode_steps=int(pool.valid.sum()), mean_episode_length=float(pool.valid.sum()) / (K * B),
        n_params=int(ref.numel()), method=method))
    cache: dict = {}
    for name in names:
        est = E.get(name)
        t2 = time.perf_counter()
        grads = grads_for(est, pool, K, B, cache).double()
        secs = time.perf_counter() - t2
        row = dict(estimator=name, label=est.label, env="CartPole-v1", K=K, B=B, gamma=gamma, lam=lam,
                   n=n, discount_actor=bool(discount_actor), critic_noise=float("nan"))
        row.update(gradient_stats(grads, ref, reference_cov_trace=ref_noise))
        row["seconds"] = secs
        table.rows.append(row)
        table.grads.append(grads.numpy())
        table.references.append(ref.numpy())
    table.meta["total_seconds"] = time.perf_counter() - t0
    return table


# ============================================================================ front door
def measure(target, theta: Tensor | None = None, **kwargs) -> VarianceTable:
    """One call for a notebook cell or the command line.

    ``measure(mdp, theta, ...)`` runs ``measure_tabular``; ``measure(agent_or_model, ...)``
    runs ``measure_cartpole``. Keyword arguments go through (K, B, gamma, lam, n,
    estimators, discount_actor, seed, and the critic options of each).
    """
    if isinstance(target, TabularMDP):
        if theta is None:
            theta = torch.zeros(target.n_features, dtype=torch.float64)
        return measure_tabular(target, theta, **kwargs)
    if theta is not None:
        raise ValueError("theta is only for tabular MDPs; a CartPole policy carries its own parameters")
    return measure_cartpole(target, **kwargs)


_SWEEPABLE = ("B", "K", "gamma", "lam", "n", "critic_noise")


def sweep(target, param: str, values: Iterable, theta: Tensor | None = None, **kwargs) -> VarianceTable:
    """``measure`` once per value of ``param`` (one of B, K, gamma, lam, n, critic_noise);
    all rows in one table, each row holding its setting (e.g. ``table.select(B=16)``)."""
    if param not in _SWEEPABLE:
        raise ValueError(f"param must be one of {', '.join(_SWEEPABLE)}; got {param!r}")
    if param == "critic_noise" and not isinstance(target, TabularMDP):
        raise ValueError("param 'critic_noise' is for tabular MDPs only (CartPole critics are networks)")
    values = list(values)
    if not values:
        raise ValueError("values must not be empty")
    out = VarianceTable(meta={"sweep": param, "values": values})
    for v in values:
        out.extend(measure(target, theta, **{**kwargs, param: v}))
    return out


def sweep_batch_size(target, Bs: Iterable[int] = (1, 4, 16, 64), theta=None, **kwargs) -> VarianceTable:
    """Variance against the batch size B: independent episodes make ``variance * B`` constant
    (the 1/B line on a log-log plot)."""
    return sweep(target, "B", Bs, theta, **kwargs)


def sweep_gamma(target, gammas: Iterable[float] = (0.5, 0.8, 0.9, 0.95, 0.99), theta=None,
                **kwargs) -> VarianceTable:
    """Variance against the discount: longer effective horizons, larger return variance."""
    return sweep(target, "gamma", gammas, theta, **kwargs)


def sweep_lambda(target, lams: Iterable[float] = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0), theta=None,
                 estimators: Sequence[str] | str = ("gae",), **kwargs) -> VarianceTable:
    """GAE's bias-variance dial: lambda = 0 is TD-AC, lambda = 1 is REINFORCE + baseline
    (here, where the episodes are whole: with a cut, lambda = 1 still bootstraps there)."""
    return sweep(target, "lam", lams, theta, estimators=estimators, **kwargs)


# ============================================================================ pictures
def _figure(ax, dpi: int):
    """``(figure, ax)``: a new 6.4 x 3.4 inch figure when ``ax`` is None, else ``ax``'s own."""
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, 3.4), dpi=dpi)


_SWEEP_LABELS = {"B": "batch size B (episodes per estimate)", "gamma": "gamma", "lam": "lambda (GAE)",
                 "K": "K", "n": "n", "critic_noise": "critic noise"}


def plot(table: VarianceTable, ax=None, title: str | None = None, log: bool | None = None,
         dpi: int = 80):
    """The MSE of each row split into its two parts: variance (solid) and bias^2 (hatched)
    stacked, so each bar's height is MSE = bias^2 + variance. ``log``: a logarithmic axis
    (default: only when the bars span more than a factor 30). Returns the Figure."""
    if not len(table):
        raise ValueError("the table is empty: nothing to plot")
    fig, ax = _figure(ax, dpi)
    names = [r["estimator"] for r in table]
    var = np.array(table.column("variance"), dtype=float)
    bias_sq = np.array(table.column("bias_sq"), dtype=float)
    x = np.arange(len(names))
    ax.bar(x, var, color="C0", label="variance = tr Cov")
    ax.bar(x, bias_sq, bottom=var, color="C3", hatch="//", alpha=0.7, label="bias$^2$")
    ax.set_xticks(x, names, rotation=25, ha="right", fontsize="small")
    mse = var + bias_sq
    if log is None:
        pos = mse[mse > 0]
        log = bool(len(pos)) and pos.max() > 30 * pos.min()
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("MSE = bias$^2$ + variance")
    r0 = table[0]
    ax.set_title(title or f"{table.meta.get('env', '')}: K={r0['K']}, B={r0['B']}, "
                          f"gamma={r0['gamma']:g}, lam={r0['lam']:g}", fontsize="medium")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def plot_sweep(table: VarianceTable, param: str | None = None, column: str = "variance", ax=None,
               title: str | None = None, dpi: int = 80):
    """``column`` against the swept ``param`` (default: ``table.meta["sweep"]``), one line per
    estimator. For B both axes are logarithmic, with the 1/B line through the first point
    of the first estimator. Returns the Figure."""
    param = param or table.meta.get("sweep")
    if param not in _SWEEPABLE:
        raise ValueError(f"param must be one of {', '.join(_SWEEPABLE)}; got {param!r}")
    fig, ax = _figure(ax, dpi)
    names = list(dict.fromkeys(table.column("estimator")))
    for name in names:
        rows = sorted(table.select(estimator=name).rows, key=lambda r: r[param])
        ax.plot([r[param] for r in rows], [r[column] for r in rows], "o-", label=name)
    if param == "B" and names:
        rows = sorted(table.select(estimator=names[0]).rows, key=lambda r: r["B"])
        b = np.array([r["B"] for r in rows], dtype=float)
        ax.plot(b, rows[0][column] * b[0] / b, "k--", lw=1, label="1/B")
        ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set(xlabel=_SWEEP_LABELS.get(param, param), ylabel=column)
    ax.set_title(title or f"{table.meta.get('env', table[0]['env'] if len(table) else '')}: "
                          f"{column} against {param}", fontsize="medium")
    ax.legend(fontsize="small", ncol=2)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def panel(mdp: TabularMDP, theta: Tensor | None = None, K: int = 300, B: int = 16,
          gamma: float | None = None, lam: float = 0.95, critic_noise: float = 0.0,
          estimators: Sequence[str] | str | None = None, seed: int = 0, auto: bool = True):
    """An interactive ``acnotes.widgets.Panel``: sliders "gamma", "lambda" and "B"; every
    change re-measures all estimators on the tabular ``mdp`` (K estimates) and redraws
    ``plot``. ``panel.table`` holds the last table. K = 300 redraws in about a second."""
    import ipywidgets as W

    from .widgets import Panel, gamma_slider

    names = _check_estimators(estimators)
    theta = torch.zeros(mdp.n_features, dtype=torch.float64) if theta is None else theta
    gamma = float(mdp.gamma if gamma is None else _check_unit("gamma", gamma))
    controls = {
        "gamma": gamma_slider(gamma),
        "lambda": W.FloatSlider(value=_check_unit("lam", lam), min=0.0, max=1.0, step=0.05,
                                description="lambda", readout_format=".2f", continuous_update=False),
        "B": W.IntSlider(value=_check_int("B", B), min=1, max=64, description="B",
                         continuous_update=False),
    }

    def draw(values, progress):
        table = measure_tabular(mdp, theta, names, K=K, B=int(values["B"]),
                                gamma=float(values["gamma"]), lam=float(values["lambda"]),
                                critic_noise=critic_noise, seed=seed)
        p.table = table
        progress(1.0)
        return plot(table)

    p = Panel(draw, controls, auto=False)
    p.table = None
    if auto:
        p.redraw()
    return p


# ============================================================================ command line
TARGETS = ("short_corridor", "two_state", "random_mdp", "cartpole")
_SWEEP_PARAM = {"batch": "B", "gamma": "gamma", "lambda": "lam"}
_SWEEP_DEFAULTS = {"batch": (1, 4, 16, 64), "gamma": (0.5, 0.8, 0.9, 0.95, 0.99),
                   "lambda": (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)}


def _arg_type(kind: type, ok: Callable, what: str) -> Callable[[str], float]:
    """An argparse ``type=``: ``kind(s)`` when ``ok`` of it holds, else a one-line error."""
    def parse(s: str):
        try:
            v = kind(s)
        except ValueError:
            v = None
        if v is None or not ok(v):
            raise argparse.ArgumentTypeError(f"expected {what}, got {s!r}")
        return v

    parse.__name__ = kind.__name__
    return parse


_arg_int = _arg_type(int, lambda v: v >= 1, "an integer >= 1")
_arg_steps = _arg_type(int, lambda v: v >= 0, "an integer >= 0")
_arg_unit = _arg_type(float, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")
_arg_nonneg = _arg_type(float, lambda v: math.isfinite(v) and v >= 0.0, "a finite number >= 0")


def _target(args):
    """The MDP and theta, or the CartPole agent, that ``args`` describe."""
    from . import envs

    if args.target != "cartpole":
        mdp = getattr(envs, args.target)(**({} if args.gamma is None else {"gamma": args.gamma}))
        theta = torch.zeros(mdp.n_features, dtype=torch.float64)
        if args.policy_seed is not None:
            theta = torch.randn(mdp.n_features, dtype=torch.float64,
                                generator=torch.Generator().manual_seed(args.policy_seed))
        return mdp, theta
    from .train import Agent, make_agent, preset, train

    if args.agent:
        return Agent.load(args.agent), None
    cfg = preset(args.preset, seed=args.seed, total_steps=max(args.train_steps, 1))
    if args.train_steps:
        agent, h = train(cfg, progress=False)
        print(f"trained {args.preset} for {h.total_steps} env steps ({h.status})")
        return agent, None
    return Agent(make_agent(cfg), cfg), None


def _cmd(args) -> int:
    parser = args._parser
    cartpole = args.target == "cartpole"
    table_path = Path(args.table) if args.table else (Path(args.out) / "variance.csv" if args.out else None)
    plot_path = Path(args.plot) if args.plot else (Path(args.out) / "variance.png" if args.out else None)
    if table_path is not None and table_path.suffix not in (".csv", ".json"):
        parser.error(f"--table must end in .csv or .json, got {table_path.name!r}")
    if plot_path is not None and plot_path.suffix != ".png":
        parser.error(f"--plot must end in .png, got {plot_path.name!r}")
    if cartpole and args.critic_noise:
        parser.error("--critic-noise is for tabular targets only (CartPole critics are networks)")
    if not cartpole and (args.agent or args.train_steps):
        parser.error("--agent and --train-steps are for --target cartpole only")
    if args.values is not None and args.sweep is None:
        parser.error("--values needs --sweep {batch,gamma,lambda}")
    values = None
    if args.sweep:
        raw = args.values or [str(v) for v in _SWEEP_DEFAULTS[args.sweep]]
        check = _arg_int if args.sweep == "batch" else _arg_unit
        try:
            values = [check(v) for v in raw]
        except argparse.ArgumentTypeError as e:
            parser.error(f"--values for --sweep {args.sweep}: {e}")
    for p in (table_path, plot_path):
        if p is not None:
            p.parent.mkdir(parents=True, exist_ok=True)

    target, theta = _target(args)
    kw = dict(K=args.K, B=args.B, lam=args.lam, n=args.n, seed=args.seed, estimators=args.estimators)
    if cartpole:
        kw["gamma"] = args.gamma
    else:
        kw["critic_noise"] = args.critic_noise
    t0 = time.perf_counter()
    if args.sweep:
        table = sweep(target, _SWEEP_PARAM[args.sweep], values, theta, **kw)
    else:
        table = measure(target, theta, **kw)
    print(table)
    print(f"({time.perf_counter() - t0:.1f} s)")
    if table_path is not None:
        (table.to_json if table_path.suffix == ".json" else table.to_csv)(table_path)
        print(f"wrote {table_path}")
    if plot_path is not None:
        import matplotlib

        matplotlib.use("Agg")
        fig = plot_sweep(table) if args.sweep else plot(table)
        fig.savefig(plot_path, dpi=100)
        print(f"wrote {plot_path}")
    return 0


def add_cli(subparsers) -> None:
    """Register ``python -m acnotes variance``."""
    from .presets import PRESETS

    p = subparsers.add_parser(
        "variance",
        help="measure the bias and variance of policy-gradient estimators",
        description="K independent gradient estimates of B episodes each, per estimator, at one "
                    "fixed policy; variance, bias and MSE against the exact gradient (tabular "
                    "MDPs) or a large separate batch (CartPole). Prints the table; writes it "
                    "(CSV or JSON) and a plot (PNG) when asked.",
        epilog="examples:\n"
               "  python -m acnotes variance --target short_corridor -K 500 -B 16 --out runs/var\n"
               "  python -m acnotes variance --sweep batch --values 1 4 16 64 --table var.json --plot var.png\n"
               "  python -m acnotes variance --target cartpole --train-steps 10000 -K 100 -B 4 --out runs/cp",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", choices=TARGETS, default="short_corridor",
                   help="where to measure: a tabular MDP of acnotes.envs (exact gradient) or "
                        "cartpole (default: short_corridor)")
    p.add_argument("--estimators", nargs="+", choices=ESTIMATOR_NAMES, default=None, metavar="NAME",
                   help=f"estimators to measure, from: {', '.join(ESTIMATOR_NAMES)} (default: all; "
                        f"on CartPole all that the policy's critic allows)")
    p.add_argument("-K", type=_arg_int, default=500, metavar="K",
                   help="number of independent estimates (default: 500)")
    p.add_argument("-B", type=_arg_int, default=16, metavar="B",
                   help="episodes per estimate (default: 16)")
    p.add_argument("--gamma", type=_arg_unit, default=None,
                   help="discount in [0, 1] (default: the MDP's own, 0.9; on CartPole the agent's)")
    p.add_argument("--lam", type=_arg_unit, default=0.95, help="GAE lambda in [0, 1] (default: 0.95)")
    p.add_argument("--n", type=_arg_int, default=5, help="n of A2C's n-step return (default: 5)")
    p.add_argument("--critic-noise", type=_arg_nonneg, default=0.0, metavar="X",
                   help="tabular only: relative error of the critic, |V_w - V| / |V| (default: 0, "
                        "the exact critic)")
    p.add_argument("--policy-seed", type=int, default=None, metavar="S",
                   help="tabular only: random policy parameters theta ~ N(0, 1) from this seed "
                        "(default: theta = 0, the uniform policy)")
    p.add_argument("--sweep", choices=sorted(_SWEEP_PARAM), default=None,
                   help="measure once per value of B (batch), gamma or lambda, and plot the "
                        "variance against it (default: one measurement)")
    p.add_argument("--values", nargs="+", default=None, metavar="V",
                   help="the values of the sweep (default: batch 1 4 16 64; gamma 0.5 0.8 0.9 "
                        "0.95 0.99; lambda 0 0.25 0.5 0.75 0.9 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the episodes (default: 0)")
    p.add_argument("--agent", metavar="DIR", default=None,
                   help="cartpole only: a saved agent (python -m acnotes train --out ...) to "
                        "measure (default: a fresh --preset network)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="a2c",
                   help="cartpole only: the network and settings when no --agent is given "
                        "(default: a2c)")
    p.add_argument("--train-steps", type=_arg_steps, default=0, metavar="N",
                   help="cartpole only: train the --preset network this many env steps "
                        "before measuring (default: 0, the initial policy)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="write DIR/variance.csv and DIR/variance.png (created if needed)")
    p.add_argument("--table", metavar="FILE", default=None,
                   help="write the table here instead: .csv or .json by the extension")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="write the plot here instead (.png)")
    p.set_defaults(func=_cmd, _parser=p)
