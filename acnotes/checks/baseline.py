"""Checker of notebook 3's Monte Carlo baseline lemma: a statistical check with fixed seeds."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from .engine import CheckFailed, _Case, _fmt, _num, _shape, _Spec, _Student


# --------------------------------------------------------------------------- 4. baseline lemma


_SIGMAS = 4.0  # how many standard errors a Monte Carlo estimate may be off


def _bl_call(fn, pi, score, b, n, seed, case_words, index, total, notes):
    """Call the student's estimator; return a float64 [d] tensor or raise CheckFailed."""
    spec = _Spec("baseline_lemma_mc", None, [_Case(case_words, {})], None, [], "")
    st = _Student(spec, fn, 0, notes)
    st.header = lambda: (f"baseline_lemma_mc: check {index} of {total} failed.\n"
                         f"  case: {case_words}\n"
                         f"  inputs: pi_s = {_fmt(pi)}; score_s = {_fmt(score)}; b = {_num(b)}; "
                         f"n = {n}; generator seeded with {seed}")
    g = torch.Generator().manual_seed(seed)
    args = [pi.clone(), score.clone(), b, n, g]
    st.case = _Case(case_words, dict(pi_s=args[0], score_s=args[1], b=b, n=n, generator=g))
    out = st.call(args)
    like = torch.zeros(score.shape[1], dtype=torch.float64)
    if isinstance(out, Tensor) and out.shape == (score.shape[0],) and score.shape[0] != score.shape[1]:
        raise st.fail(f"a tensor of {_shape(like)} (one number per parameter, d = {score.shape[1]})",
                      f"{_shape(out)}, one number per action",
                      "you averaged something per action (pi itself, or the score summed over "
                      "its parameters). The estimate is the mean over the n sampled actions a_i "
                      "of score_s[a_i] * b, a vector of length d.")
    return st, st.tensor(out, like, "the estimate")


def _spread(fn, pi, score, b, n, seeds, words, index, total, notes):
    """The student's estimates over ``seeds``: sqrt of the summed variances over repetitions."""
    calls = [_bl_call(fn, pi, score, b, n, seed, words, index, total, notes) for seed in seeds]
    ests = torch.stack([e for _, e in calls])
    return calls[-1][0], float(ests.var(0).sum().sqrt())


def _bl_problem():
    """A 3-action softmax policy with 2 parameters per action: pi, its true score, and a
    non-score matrix f (sum_a pi(a) f(a) != 0)."""
    pi = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)
    phi = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    score = phi - pi @ phi          # grad_theta log pi(a) for pi = softmax(phi theta)
    f = torch.tensor([[1.0, -0.5], [2.0, 1.0], [-1.0, 3.0]], dtype=torch.float64)
    return pi, score, f


def baseline_lemma_mc(fn: Callable) -> None:
    """Check ``fn(pi_s, score_s, b, n, generator) -> [d]``, the Monte Carlo estimate of
    ``E_{a ~ pi}[score(a) * b]``: sample ``a_1..a_n`` with
    ``torch.multinomial(pi_s, n, replacement=True, generator=generator)``, average
    ``score_s[a_i] * b``.

    The true value is 0 for a real score, so the check also feeds a matrix that is not a
    score (its pi-weighted mean is not 0) and tests the estimate statistically, with fixed
    seeds: within 4 standard errors of the exact expectation, a spread over repetitions that
    matches the theoretical standard error (which catches an exact, non-random computation,
    and one action used for every sample), the standard error shrinking like 1/sqrt(n), and
    the same result for the same seed.
    """
    if not callable(fn):
        raise CheckFailed("baseline_lemma_mc: expected a function, got "
                          f"{type(fn).__name__}: pass the function itself, without calling it.")
    pi, score, f = _bl_problem()
    notes: set[str] = set()
    total = 5

    _bl_same_seed(fn, pi, f, total, notes)
    var = _bl_unbiased(fn, pi, f, total, notes)   # of one sample, b = 2.5
    _bl_spread(fn, pi, f, var, total, notes)
    _bl_true_score(fn, pi, score, total, notes)
    _bl_shrinks(fn, pi, score, total, notes)
    tail = "".join(f" Note: {x}." for x in sorted(notes))
    print(f"baseline_lemma_mc: all {total} checks passed (statistical, fixed seeds, "
          f"tolerance {_SIGMAS:g} standard errors).{tail}")


def _bl_same_seed(fn, pi, f, total, notes):
    # 1. same seed, same answer
    # (four seeds: two unseeded draws of 100 actions give equal counts, hence equal estimates,
    # a few times in a hundred; four such coincidences in a row about once in 10^5)
    for seed in range(4):
        words = f"two calls with generators seeded alike (seed {seed}), n = 100, b = 2.5"
        st, e1 = _bl_call(fn, pi, f, 2.5, 100, seed, words, 1, total, notes)
        _, e2 = _bl_call(fn, pi, f, 2.5, 100, seed, words, 1, total, notes)
        if not torch.equal(e1, e2):
            break
    if not torch.equal(e1, e2):
        raise st.fail(f"the same estimate twice, {_fmt(e1)}", f"{_fmt(e2)} the second time",
                      "sample with the generator you are given: torch.multinomial(pi_s, n, "
                      "replacement=True, generator=generator); without it the global random "
                      "state is used and results cannot be reproduced.")


def _bl_unbiased(fn, pi, f, total, notes):
    # 2. unbiased for a non-score matrix, against the exact expectation
    b, n = 2.5, 4000
    words = (f"a matrix f that is NOT a score (sum_a pi(a) f(a) != 0), b = {b}, n = {n}: the "
             f"estimate must be within {_SIGMAS:g} standard errors of b * sum_a pi(a) f(a)")
    st, est = _bl_call(fn, pi, f, b, n, 1, words, 2, total, notes)
    exact = b * (pi @ f)
    var = (pi[:, None] * (b * f - exact) ** 2).sum(0)      # per-coordinate variance of one sample
    se = (var / n).sqrt()
    if ((est - exact).abs() > _SIGMAS * se).any():
        wrong = [
            (pi @ f, "you did not multiply by b: the estimate is the mean of score(a_i) * b."),
            (b * f.mean(0), "every action weighed the same: sample the actions from pi_s "
                            "(torch.multinomial), do not average over the action set."),
            (b * (pi @ f) * n, "you summed over the samples; take the mean (divide by n)."),
            (-exact, "wrong sign: the estimate is the mean of + score(a_i) * b."),
        ] + [(b * f[a], "your estimate is exactly b * score_s[a] for one action a: the same "
                        "action was used for every sample. Draw n actions at once with "
                        "torch.multinomial(pi_s, n, replacement=True, generator=generator).")
             for a in range(f.shape[0])]
        unif = b * f.mean(0)
        hint = None
        if ((est / n - exact).abs() <= _SIGMAS * se).all():
            hint = "you summed over the samples; take the mean (divide by n)."
        for value, h in wrong:
            if hint is not None:
                break
            if ((est - value).abs() <= _SIGMAS * se + 1e-9 + 1e-3 * value.abs()).all():
                hint = h
                break
        if hint is None and ((est - unif).abs() <= 0.2 * unif.abs().max()).all():
            hint = wrong[1][1]
        if hint is None:
            hint = ("draw a = torch.multinomial(pi_s, n, replacement=True, generator=generator), "
                    "then return (score_s[a] * b).mean(0): one row of score_s per sampled action.")
        raise st.fail(f"about {_fmt(exact)} (within {_SIGMAS:g} SE = {_fmt(_SIGMAS * se)})",
                      _fmt(est), hint)
    return var


def _bl_spread(fn, pi, f, var, total, notes):
    # 3. the spread over repetitions is the Monte Carlo standard error
    b = 2.5
    reps, n = 150, 40
    words = (f"{reps} repetitions (seeds 1000..{1000 + reps - 1}) with b = {b}, n = {n}: the "
             f"spread of the estimates should match the theoretical standard error")
    st, got_sd = _spread(fn, pi, f, b, n, range(1000, 1000 + reps), words, 3, total, notes)
    want_sd = float((var / n).sum().sqrt())
    if not 0.75 <= got_sd / want_sd <= 1.33:
        if got_sd < 1e-12:
            hint = ("your estimate does not vary at all with the seed: it is not a Monte Carlo "
                    "estimate. Sample n actions and average score_s[a_i] * b over them.")
        elif got_sd > 2.0 * want_sd:
            hint = ("your estimate varies as much as a single sample: are all n samples the same "
                    "action (one draw repeated)? Draw n actions at once with "
                    "torch.multinomial(pi_s, n, replacement=True, generator=generator).")
        else:
            hint = ("average over all n samples: the standard error of a mean of n independent "
                    "samples is sd / sqrt(n).")
        raise st.fail(f"a spread (sqrt of the summed variances) of about {want_sd:.4f}",
                      f"{got_sd:.4f}", hint)


def _bl_true_score(fn, pi, score, total, notes):
    # 4. with the true score, the expectation is 0 whatever b
    b = 10.0
    for n, seed in ((100, 7), (1600, 8)):
        words = (f"the true score of a softmax policy, b = {b:g}, n = {n}: by the baseline lemma "
                 f"E[score(a) * b] = 0, so the estimate must be within {_SIGMAS:g} SE of 0")
        st, est = _bl_call(fn, pi, score, b, n, seed, words, 4, total, notes)
        var0 = (pi[:, None] * (b * score) ** 2).sum(0)
        se0 = (var0 / n).sqrt()
        if (est.abs() > _SIGMAS * se0).any():
            raise st.fail(f"0 within {_SIGMAS:g} SE = {_fmt(_SIGMAS * se0)}", _fmt(est),
                          "sample a ~ pi_s with torch.multinomial and average score_s[a] * b; "
                          "with the score of the policy itself the mean is 0.")


def _bl_shrinks(fn, pi, score, total, notes):
    # 5. the standard error shrinks like 1 / sqrt(n)
    b = 10.0
    sds = []
    reps = 100
    for n in (10, 160):
        words = (f"the true score, b = {b:g}: {reps} repetitions each with n = 10 and n = 160; "
                 f"the spread must shrink by about sqrt(160 / 10) = 4")
        st, sd = _spread(fn, pi, score, b, n, range(5000, 5000 + reps), words, 5, total, notes)
        sds.append(sd)
    ratio = sds[0] / max(sds[1], 1e-300)
    if not 2.8 <= ratio <= 5.7:
        raise st.fail("the spread to shrink by a factor of about 4 (between 2.8 and 5.7)",
                      f"a factor {ratio:.2f} (spreads {sds[0]:.4f} and {sds[1]:.4f})",
                      "the estimate must be the mean of n independent samples, so its standard "
                      "error falls like 1 / sqrt(n).")
