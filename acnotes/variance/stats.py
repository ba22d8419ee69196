"""Statistics of K gradient estimates against a reference gradient.

    mean      = (1/K) sum_k g_k
    variance  = (1/K) sum_k |g_k - mean|^2        (trace of the covariance; plug-in, ddof 0)
    bias      = |mean - g_ref|
    mse       = (1/K) sum_k |g_k - g_ref|^2  =  bias^2 + variance   (exactly, with ddof 0)

Because the mean of K estimates is itself noisy, ``bias`` is never exactly 0:
``bias_sq_noise`` is what bias^2 would be on average for an unbiased estimator (variance/K
plus the reference's own noise), and ``bias_ratio = bias^2 / bias_sq_noise`` is about 1 for
an unbiased estimator and much larger for a biased one. ``bias_p`` is the p-value of
Hotelling's test of "mean == reference" (chi-square approximation; small d only).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ._args import check_K

__all__ = ["gradient_stats"]


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
    K < 2 is a ValueError: one estimate has no spread.
    """
    g = torch.as_tensor(grads, dtype=torch.float64)
    ref = torch.as_tensor(reference, dtype=torch.float64)
    if g.dim() != 2 or ref.shape != g.shape[1:]:
        raise ValueError(f"grads must be [K, d] and reference [d]; got {tuple(g.shape)} and {tuple(ref.shape)}")
    K, d = g.shape
    check_K(K)
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
    var_unb_i = var_i * K / (K - 1)
    se_i = (var_unb_i / K).sqrt()
    noise = float(var_unb_i.sum()) / K + float(reference_cov_trace)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(diff.numpy()) / se_i.numpy()
        z[(se_i.numpy() == 0) & (np.abs(diff.numpy()) <= 1e-12 * max(ref_norm, 1.0))] = 0.0
    bias_z_max = float(np.nanmax(z)) if d else 0.0
    bias_p = float("nan")
    if d <= hotelling_max_dim and float(reference_cov_trace) == 0.0:
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
        mse_gap=mse_direct - mse, cosine=cosine, se_mean=math.sqrt(variance / (K - 1)),
        bias_sq_noise=noise, bias_ratio=bias_sq / noise if noise > 0 else float("inf"),
        bias_z_max=bias_z_max, bias_p=bias_p,
    )
