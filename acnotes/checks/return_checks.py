"""Checkers of notebooks 1 and 4: the reward-to-go, the TD error and GAE."""

from __future__ import annotations

from typing import Callable

import torch

from .. import returns as R
from .cases import _b, _f, _scan, _series, _step_in_episode, _t
from .engine import _Case, _Mistake, _run, _Spec


# --------------------------------------------------------------------------- 1. reward-to-go


def _rtg_cases() -> list[_Case]:
    cases = []
    for s in _series():
        cases.append(_Case(s["words"], dict(r=s["r"], terminated=s["terminated"],
                                            truncated=s["truncated"], gamma=s["gamma"])))
    cases.insert(4, _Case(
        "[T, N] = [4, 2], gamma = 0: with no discounting of the future G_t is r_t itself.",
        dict(r=_t([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0], [-1.0, 0.5]]),
             terminated=_b([[0, 0], [1, 0], [0, 0], [0, 0]]),
             truncated=_b([[0, 0], [0, 0], [0, 1], [0, 0]]), gamma=0.0)))
    return cases


def _rtg_outputs(out, leaves, student):
    return {"G_t": out if student is None else student.tensor(out, student.case.inputs["r"], "G_t")}


def _rtg_mistakes() -> list[_Mistake]:
    def done(te, tr):
        return te | tr

    def rtg_with(stop, gamma_of=lambda g: g, forward=False):
        return lambda r, te, tr, g: _scan(r, gamma_of(g), stop(te, tr), forward)

    def episode_total(r, te, tr, g):
        d = done(te, tr)
        fwd_start = _scan(r, g, d)  # G_t; the value at the episode's first step is its total
        out = fwd_start.clone()
        for t in range(1, r.shape[0]):
            out[t] = torch.where(d[t - 1], fwd_start[t], out[t - 1])
        return out

    def from_episode_start(r, te, tr, g):
        d = done(te, tr)
        return _scan(r, g, d) * (g ** _step_in_episode(d)).to(r.dtype)

    return [
        _Mistake(rtg_with(lambda te, tr: torch.zeros_like(te)),
                 "your G_t carries over episode ends: reset the running return where terminated "
                 "or truncated, G_t = r_t + gamma * (1 - done_t) * G_{t+1} with done_t = "
                 "terminated_t or truncated_t."),
        _Mistake(rtg_with(lambda te, tr: te),
                 "you reset the return only where terminated, so it runs on through a truncation "
                 "into the next episode. A truncated episode has ended too: reset where "
                 "terminated OR truncated (REINFORCE's Monte Carlo return has no V(s_{t+1}) to "
                 "bootstrap from; it simply stops)."),
        _Mistake(rtg_with(lambda te, tr: tr),
                 "you reset the return only where truncated; a termination ends the episode "
                 "too: reset where terminated OR truncated."),
        _Mistake(rtg_with(done, forward=True),
                 "you accumulated forwards in time (a sum of the rewards BEFORE t). The reward-to-go "
                 "sums the rewards from t on: loop backwards, for t in reversed(range(T)), "
                 "G_t = r_t + gamma * (1 - done_t) * G_{t+1}."),
        _Mistake(rtg_with(lambda te, tr: torch.zeros_like(te), forward=True),
                 "you accumulated forwards in time and never reset at episode ends. Loop "
                 "backwards (for t in reversed(range(T))) and reset where terminated or truncated."),
        _Mistake(episode_total,
                 "every step of an episode got the same value, the whole episode's return. The "
                 "reward-to-go of step t counts only the rewards from t on."),
        _Mistake(rtg_with(done, gamma_of=lambda g: 1.0),
                 "your return is not discounted: multiply the running return by gamma at each "
                 "step, G_t = r_t + gamma * G_{t+1}."),
        _Mistake(lambda r, te, tr, g: g * R.reward_to_go(r, te, tr, g),
                 "your G_t is gamma times too small: the first reward r_t is not discounted, "
                 "G_t = r_t + gamma * G_{t+1}."),
        _Mistake(from_episode_start,
                 "you discounted from the start of the episode (gamma^(t+k) r_{t+k}); the "
                 "reward-to-go discounts from t: G_t = sum_k gamma^k r_{t+k}."),
    ]


def reward_to_go(fn: Callable) -> None:
    """Check ``fn(r, terminated, truncated, gamma) -> G_t``, the discounted reward-to-go that
    restarts at every episode end (either flag) and has no bootstrap.

    Reference: ``acnotes.returns.reward_to_go(r, terminated, truncated, gamma)``.
    """
    _run(_Spec(
        name="reward_to_go",
        reference=lambda r, te, tr, g: R.reward_to_go(r, te, tr, g),
        cases=_rtg_cases(), outputs=_rtg_outputs, mistakes=_rtg_mistakes(),
        generic="G_t = r_t + gamma * (1 - done_t) * G_{t+1}, computed backwards from the last "
                "step, with done_t = terminated_t or truncated_t and G = 0 after the batch end.",
        allow_numpy=True,
    ), fn)


# --------------------------------------------------------------------------- 6. TD error


def _td_cases() -> list[_Case]:
    return [_Case(s["words"], dict(r=s["r"], v=s["v"], v_next=s["v_next"],
                                   terminated=s["terminated"], truncated=s["truncated"],
                                   gamma=s["gamma"]))
            for s in _series()]


def _td_ref(r, v, vn, te, tr, g):
    return R.td_error(r, v, vn, te, g)


def td_error(fn: Callable) -> None:
    """Check ``fn(r, v, v_next, terminated, truncated, gamma) -> delta_t``,
    ``delta_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t)``.
    Truncation does not stop the bootstrap.
    """
    _run(_Spec(
        name="td_error", reference=_td_ref, cases=_td_cases(),
        outputs=lambda out, leaves, st: {"delta_t": out if st is None else
                                         st.tensor(out, st.case.inputs["r"], "delta_t")},
        mistakes=[
            _Mistake(lambda r, v, vn, te, tr, g: r + g * vn - v,
                     "you bootstrap at a termination: after the last step of an episode that "
                     "really ended there is no future, so the target is r_t alone. Multiply "
                     "gamma * V(s_{t+1}) by (1 - terminated_t)."),
            _Mistake(lambda r, v, vn, te, tr, g: r + g * (1.0 - _f(te | tr, r)) * vn - v,
                     "you also stop the bootstrap at a truncation (using done = terminated or "
                     "truncated). A time limit is not a termination: the future exists, so the "
                     "target keeps gamma * V(s_{t+1}) there. Use (1 - terminated_t) only."),
            _Mistake(lambda r, v, vn, te, tr, g: v - (r + g * (1.0 - _f(te, r)) * vn),
                     "wrong sign: delta_t is target minus prediction, "
                     "r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t)."),
            _Mistake(lambda r, v, vn, te, tr, g: r + (1.0 - _f(te, r)) * vn - v,
                     "gamma is missing: the next state's value is discounted, "
                     "gamma * (1 - terminated_t) * V(s_{t+1})."),
            _Mistake(lambda r, v, vn, te, tr, g: r + g * (1.0 - _f(te, r)) * vn,
                     "you returned the TD target; the TD error subtracts the prediction V(s_t)."),
            _Mistake(lambda r, v, vn, te, tr, g: r + g * (1.0 - _f(te, r)) * torch.cat(
                         [v[1:], torch.zeros_like(v[:1])]) - v,
                     "you used v[t+1] as the next value; use v_next[t]: at an episode end v[t+1] "
                     "belongs to the next episode (and there is none after the batch end)."),
        ],
        generic="delta_t = r_t + gamma * (1 - terminated_t) * v_next_t - v_t, elementwise; "
                "truncated_t is not used.",
        allow_numpy=True,
    ), fn)


# --------------------------------------------------------------------------- 7. GAE


def _gae_cases() -> list[_Case]:
    cases = []
    for s, lam in zip(_series(), [0.8, 0.8, 0.8, 0.8, 0.7, 0.9]):
        cases.append(_Case(s["words"].replace("gamma = ", f"lam = {lam}, gamma = "),
                           dict(r=s["r"], v=s["v"], v_next=s["v_next"], terminated=s["terminated"],
                                truncated=s["truncated"], gamma=s["gamma"], lam=lam)))
    s = _series()[3]
    for lam, what in [(0.0, "lam = 0: GAE is the TD error delta_t"),
                      (1.0, "lam = 1: GAE is G_t - V(s_t), bootstrapped at truncation")]:
        cases.append(_Case(f"{what}; the [7, 3] batch above (gamma = 0.9).",
                           dict(r=s["r"], v=s["v"], v_next=s["v_next"], terminated=s["terminated"],
                                truncated=s["truncated"], gamma=0.9, lam=lam)))
    return cases


def _gae_with(delta_stop=lambda te, tr: te, rec_stop=lambda te, tr: te | tr,
              factor=lambda g, l: g * l, delta_gamma=lambda g, l: g, forward=False, plus_v=False):
    def f(r, v, vn, te, tr, g, l):
        delta = r + delta_gamma(g, l) * (1.0 - _f(delta_stop(te, tr), r)) * vn - v
        a = _scan(delta, factor(g, l), rec_stop(te, tr), forward)
        return a + v if plus_v else a
    return f


def gae(fn: Callable) -> None:
    """Check ``fn(r, v, v_next, terminated, truncated, gamma, lam) -> A_t``, the GAE(lambda)
    advantage: ``A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}`` with ``delta_t`` from
    ``(1 - terminated_t)``, the recursion stopped at either flag and at the batch end.

    Reference: ``acnotes.returns.gae``.
    """
    none = lambda te, tr: torch.zeros_like(te)  # noqa: E731
    _run(_Spec(
        name="gae", reference=R.gae, cases=_gae_cases(),
        outputs=lambda out, leaves, st: {"A_t": out if st is None else
                                         st.tensor(out, st.case.inputs["r"], "A_t")},
        mistakes=[
            _Mistake(_gae_with(rec_stop=none),
                     "your advantage carries over episode ends: reset the running sum where "
                     "terminated or truncated, A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}."),
            _Mistake(_gae_with(rec_stop=lambda te, tr: te),
                     "you stop the recursion only at terminations; a truncated episode has ended "
                     "too (the next step belongs to a new episode): use done_t = terminated_t or "
                     "truncated_t in the recursion (delta_t itself keeps its bootstrap)."),
            _Mistake(_gae_with(delta_stop=lambda te, tr: te | tr),
                     "your delta_t drops the bootstrap at a truncation (you used done in delta). "
                     "At a time limit the future exists: delta_t = r_t + gamma * (1 - "
                     "terminated_t) * V(s_{t+1}) - V(s_t). Only the recursion uses done_t."),
            _Mistake(_gae_with(delta_stop=none),
                     "your delta_t bootstraps at a termination: multiply gamma * V(s_{t+1}) by "
                     "(1 - terminated_t)."),
            _Mistake(_gae_with(factor=lambda g, l: g),
                     "lam is missing: the recursion factor is gamma * lam, "
                     "A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}."),
            _Mistake(_gae_with(factor=lambda g, l: l),
                     "gamma is missing from the recursion: the factor is gamma * lam, not lam alone."),
            _Mistake(_gae_with(delta_gamma=lambda g, l: l),
                     "gamma and lam are swapped in delta_t: the TD error discounts with gamma, "
                     "delta_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t); lam only "
                     "appears in the recursion factor gamma * lam."),
            _Mistake(_gae_with(delta_gamma=lambda g, l: l, factor=lambda g, l: g),
                     "gamma and lam play swapped roles: delta_t uses gamma, and the recursion "
                     "factor is gamma * lam."),
            _Mistake(_gae_with(plus_v=True),
                     "you returned the lambda-return A_t + V(s_t) (the critic's target); the "
                     "advantage is without + V(s_t)."),
            _Mistake(_gae_with(forward=True),
                     "you accumulated forwards in time; A_t sums the TD errors from t on: loop "
                     "for t in reversed(range(T))."),
        ],
        generic="delta_t = r_t + gamma * (1 - terminated_t) * v_next_t - v_t, then backwards "
                "A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}, with A = 0 after the "
                "batch end and done_t = terminated_t or truncated_t.",
        allow_numpy=True,
    ), fn)


