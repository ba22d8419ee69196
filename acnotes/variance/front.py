"""The front door: ``measure`` (tabular MDP or CartPole policy) and the sweeps over a setting."""

from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import Tensor

from .._names import SWEEP_DEFAULTS
from ..envs import TabularMDP
from .cartpole_grad import measure_cartpole
from .table import VarianceTable
from .tabular import measure_tabular

__all__ = ["SWEEPABLE", "SWEEP_DEFAULTS", "measure", "sweep", "sweep_batch_size", "sweep_gamma",
           "sweep_lambda"]


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


SWEEPABLE = ("B", "K", "gamma", "lam", "n", "critic_noise")  # the settings sweep can vary
# the values of the three named sweeps (and of ``python -m acnotes variance --sweep``): SWEEP_DEFAULTS,
# defined in acnotes._names (free of torch, for --help)


def sweep(target, param: str, values: Iterable, theta: Tensor | None = None, **kwargs) -> VarianceTable:
    """``measure`` once per value of ``param`` (one of B, K, gamma, lam, n, critic_noise);
    all rows in one table, each row holding its setting (e.g. ``table.select(B=16)``)."""
    if param not in SWEEPABLE:
        raise ValueError(f"param must be one of {', '.join(SWEEPABLE)}; got {param!r}")
    if param == "critic_noise" and not isinstance(target, TabularMDP):
        raise ValueError("param 'critic_noise' is for tabular MDPs only (CartPole critics are networks)")
    values = list(values)
    if not values:
        raise ValueError("values must not be empty")
    out = VarianceTable(meta={"sweep": param, "values": values})
    for v in values:
        out.extend(measure(target, theta, **{**kwargs, param: v}))
    return out


def sweep_batch_size(target, Bs: Iterable[int] = SWEEP_DEFAULTS["B"], theta=None,
                     **kwargs) -> VarianceTable:
    """Variance against the batch size B: independent episodes make ``variance * B`` constant
    (the 1/B line on a log-log plot)."""
    return sweep(target, "B", Bs, theta, **kwargs)


def sweep_gamma(target, gammas: Iterable[float] = SWEEP_DEFAULTS["gamma"], theta=None,
                **kwargs) -> VarianceTable:
    """Variance against the discount: longer effective horizons, larger return variance."""
    return sweep(target, "gamma", gammas, theta, **kwargs)


def sweep_lambda(target, lams: Iterable[float] = SWEEP_DEFAULTS["lam"], theta=None,
                 estimators: Sequence[str] | str = ("gae",), **kwargs) -> VarianceTable:
    """GAE's bias-variance dial: lambda = 0 is TD-AC, lambda = 1 is the package's REINFORCE +
    baseline (both bootstrap at a time limit; the textbook's, which stops there, only on
    episodes that are not cut)."""
    return sweep(target, "lam", lams, theta, estimators=estimators, **kwargs)
