"""Checkers of answers that are not functions: the experiments of notebook 5, and ``claim``
for the numeric claims of every notebook."""

from __future__ import annotations

from typing import Any

from .engine import CheckFailed, _num


# --------------------------------------------------------------------------- experiments


def _number(name: str, answer: Any) -> float:
    if isinstance(answer, bool):
        raise CheckFailed(f"{name}: expected a number, got {answer!r}.")
    try:
        if isinstance(answer, str):
            from fractions import Fraction
            return float(Fraction(answer.strip()))
        return float(answer)
    except (TypeError, ValueError, ZeroDivisionError):
        raise CheckFailed(f"{name}: expected a number (e.g. 16, or 0.25), got {answer!r}.") from None


def batch_size_experiment(answer: Any) -> None:
    """Check the answer to: "by what factor does the total variance of the REINFORCE gradient
    estimate shrink when the batch size B goes from 4 to 64 episodes?"

    Accepted: any number from 12 to 21. Theory says 16, since the estimate is a mean over B
    independent episodes and Var ~ 1/B; notebook 5's measurement (K = 500) gives about 15.5,
    and its own noise is a few percent, so 12 to 21 leaves room for another seed, not for
    another reading of the table.
    """
    name = "batch_size_experiment"
    x = _number(name, answer)
    if 12.0 <= x <= 21.0:
        print(f"{name}: right. The variance shrinks by about 64 / 4 = 16: the estimate is a mean "
              f"over B independent episodes, so Var ~ 1 / B (the standard deviation only by "
              f"sqrt(16) = 4).")
        return
    base = (f"{name}: expected a factor between 12 and 21 (the variance at B = 4 divided by "
            f"the variance at B = 64), got {_num(x)}.")
    if 0 < x <= 1.0:
        hint = ("a number at most 1 is the inverse ratio (variance at 64 / variance at 4). The "
                "question asks how many times smaller the variance gets: Var(B=4) / Var(B=64).")
    elif 2.5 <= x < 8.0:
        hint = ("about 4 is the ratio of the standard deviations (or of the error bars): the "
                "variance is their square. With Var ~ 1/B, going from 4 to 64 episodes divides "
                "the variance by 64 / 4.")
    elif 8.0 <= x < 12.0 or 21.0 < x <= 32.0:
        hint = ("close to 16, but further from it than the noise of this measurement (a few "
                "percent): check that you divide the B = 4 row by the B = 64 row of REINFORCE.")
    elif 32.0 < x <= 80.0:
        hint = ("more than 32: did you read the difference of the batch sizes (64 - 4 = 60) or "
                "a single noisy point? The estimate is a mean over B episodes: Var ~ 1 / B.")
    elif x > 80.0:
        hint = ("far too large (256 would be the square of 16): the variance of a mean of B "
                "independent terms is Var / B, so it falls in proportion to B, not B^2.")
    else:
        hint = "the factor is positive: Var(B=4) / Var(B=64)."
    raise CheckFailed(f"{base}\n  hint: {hint}")


def gamma_experiment(answer: Any) -> None:
    """Check the answer to: "when gamma goes from 0.9 to 0.99, does the variance of the
    REINFORCE gradient estimate grow or shrink?" (answer "grows" or "shrinks").

    It grows: G_t weighs the rewards of about 1 / (1 - gamma) future steps (10 -> 100) when
    episodes are long. The rewards R(s, a) are fixed numbers, but which states and actions
    follow, and when the episode ends, are random: G_t takes in more of that randomness.
    """
    name = "gamma_experiment"
    text = str(answer).strip().lower()
    grows = {"grows", "grow", "increases", "increase", "larger", "up", "bigger", "higher", "more"}
    shrinks = {"shrinks", "shrink", "decreases", "decrease", "smaller", "down", "lower", "less"}
    if text in grows:
        print(f"{name}: right. The variance grows: a larger gamma lets G_t weigh more of the "
              f"random future (which states and actions follow, and when the episode ends), "
              f"not just the next few steps.")
        return
    if text in shrinks:
        raise CheckFailed(f"{name}: expected 'grows', got {answer!r}.\n  hint: a larger gamma "
                          f"weighs rewards further in the future, and the future is random "
                          f"(which states and actions follow, and when the episode ends), so G_t "
                          f"and the gradient terms spread more, not less.")
    raise CheckFailed(f"{name}: expected 'grows' or 'shrinks', got {answer!r}.")


def claim(name: str, ok: bool, detail: str = "") -> None:
    """Print ``name: detail: ok`` when a numeric claim of a notebook holds; raise CheckFailed
    otherwise. Keep ``detail`` deterministic (rounded numbers): nbval compares it."""
    text = f"{name}: {detail}" if detail else name
    if bool(ok):
        print(f"{text}: ok")
        return
    raise CheckFailed(f"claim failed: {text}")
