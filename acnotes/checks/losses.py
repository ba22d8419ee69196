"""Checkers of the losses: REINFORCE (notebook 1), the critic (notebook 2), A2C (notebook 3)."""

from __future__ import annotations

from typing import Callable

import torch

from .. import estimators as E
from .. import returns as R
from .cases import _b, _f, _policy_batch, _series, _t
from .engine import _Case, _grads, _Mistake, _run, _Spec


# --------------------------------------------------------------------------- 2. REINFORCE loss



def _reinforce_cases() -> list[_Case]:
    cases = []
    lg, a, G, valid = _policy_batch(4, 2, 3, 1, None)
    cases.append(_Case("[T, N] = [4, 2], 3 actions, every step valid, n_episodes = 2 (one "
                       "episode per env).",
                       dict(logits=lg, actions=a, G=G, valid=valid, n_episodes=2), ("logits",)))
    lg, a, G, valid = _policy_batch(6, 3, 2, 2, [6, 4, 2])
    valid[3, 0] = False   # the autoreset step after an episode end in env 0
    cases.append(_Case("[T, N] = [6, 3], 2 actions, n_episodes = 5: some steps are not valid "
                       "(an autoreset step in env 0, envs 1 and 2 padded after their last "
                       "episode); their G is garbage and must not count.",
                       dict(logits=lg, actions=a, G=G, valid=valid, n_episodes=5), ("logits",)))
    lg = _t([[[120.0, -120.0], [0.0, 1.0]], [[-60.0, 60.0], [2.0, -1.0]], [[1.0, 0.5], [-0.5, 0.5]]])
    cases.append(_Case("[T, N] = [3, 2], large logits (+-120): the action taken at t = 0 in env 0 "
                       "has probability e^-240, which is 0.0 in float32, yet its "
                       "log-probability -240 is finite.",
                       dict(logits=lg, actions=torch.tensor([[1, 1], [0, 0], [1, 0]]),
                            G=_t([[1.5, -0.5], [2.0, 1.0], [0.5, 1.0]]),
                            valid=_b([[1, 1], [1, 1], [1, 1]]), n_episodes=2), ("logits",)))
    lg, a, G, valid = _policy_batch(10, 4, 4, 3, [10, 7, 9, 5])
    valid[4, 0] = False
    cases.append(_Case("[T, N] = [10, 4], 4 actions, random logits and returns (seed 3), "
                       "n_episodes = 6, padded steps in envs 0, 1, 2 and 3.",
                       dict(logits=lg, actions=a, G=G, valid=valid, n_episodes=6), ("logits",)))
    return cases


def _scalar_loss(out, leaves, st, names, what="loss"):
    if st is not None:
        out = st.tensor(out, torch.zeros((), dtype=leaves[names[0]].dtype), what, needs_grad=True)
    res = {what: out.detach()}
    for n, g in zip(names, _grads(out, leaves, names)):
        res[f"d {what} / d {n}"] = g
    return res


def _reinforce_ref(logits, actions, G, valid, n_episodes):
    return E.actor_loss(E.log_prob(logits, actions), G, valid, n_episodes=n_episodes)


def _masked(x, valid):
    return torch.where(valid, x, torch.zeros_like(x))


def reinforce_loss(fn: Callable) -> None:
    """Check ``fn(logits, actions, G, valid, n_episodes) -> loss``, the REINFORCE surrogate
    ``-(1 / n_episodes) * sum_{valid t, n} log pi(a_t | s_t) * G_t``, by value and by its
    gradient with respect to the logits.
    """
    _run(_Spec(
        name="reinforce_loss", reference=_reinforce_ref, cases=_reinforce_cases(),
        outputs=lambda out, leaves, st: _scalar_loss(out, leaves, st, ["logits"]),
        mistakes=[
            _Mistake(lambda lg, a, G, v, n: -_reinforce_ref(lg, a, G, v, n),
                     "wrong sign: the optimizer minimizes the loss and we want to maximize J, "
                     "so the loss is MINUS (1 / n_episodes) * sum log pi(a_t|s_t) * G_t."),
            _Mistake(lambda lg, a, G, v, n: -_masked(torch.softmax(lg, -1).gather(
                         -1, a.unsqueeze(-1)).squeeze(-1) * G, v).sum() / n,
                     "you used the probability pi(a_t|s_t) instead of its logarithm: the "
                     "log-derivative trick needs log pi (torch.log_softmax(logits, -1))."),
            _Mistake(lambda lg, a, G, v, n: -_masked(torch.log(torch.softmax(lg, -1)).gather(
                         -1, a.unsqueeze(-1)).squeeze(-1) * G, v).sum() / n,
                     "torch.log(torch.softmax(logits)) is log pi on paper, but for large logits "
                     "the softmax rounds a probability to 0.0 and its log becomes -inf (and the "
                     "gradient NaN). torch.log_softmax(logits, -1) computes the same thing "
                     "stably; use it."),
            _Mistake(lambda lg, a, G, v, n: -_masked(lg.gather(-1, a.unsqueeze(-1)).squeeze(-1)
                                                     * G, v).sum() / n,
                     "you used the raw logit of the action as its log-probability; logits are "
                     "not normalized: take torch.log_softmax(logits, -1) first."),
            _Mistake(lambda lg, a, G, v, n: -_masked(E.log_prob(lg, a) * G, v).sum() / v.sum(),
                     "you averaged over the valid steps; REINFORCE's estimate sums over time and "
                     "averages over episodes: divide the sum by n_episodes."),
            _Mistake(lambda lg, a, G, v, n: -_masked(E.log_prob(lg, a) * G, v).mean(),
                     "you took the mean over all T * N steps; REINFORCE's estimate sums over time "
                     "and averages over episodes: divide the masked sum by n_episodes."),
            _Mistake(lambda lg, a, G, v, n: -_masked(E.log_prob(lg, a) * G, v).sum(),
                     "you summed without dividing by n_episodes: the estimate is the average "
                     "over episodes of the sum over time."),
            _Mistake(lambda lg, a, G, v, n: -(E.log_prob(lg, a) * G).sum() / n,
                     "invalid steps are counted: zero them with the mask before summing, e.g. "
                     "torch.where(valid, logp * G, torch.zeros_like(G)) (their G is garbage)."),
            _Mistake(lambda lg, a, G, v, n: -(E.log_prob(lg, a) * G).mean(),
                     "invalid steps are counted and the mean is over all steps: mask with "
                     "`valid`, sum, and divide by n_episodes."),
        ],
        generic="loss = -(1 / n_episodes) * sum over valid (t, n) of "
                "log_softmax(logits)[t, n, actions[t, n]] * G[t, n].",
        key_hints={"d loss / d logits": "the value is right but the gradient is not: is something "
                   "detached, or computed with .item() / numpy / torch.no_grad()?"},
    ), fn)


# --------------------------------------------------------------------------- 3. critic loss


def _critic_cases() -> list[_Case]:
    cases = []
    for s, wide in zip(_series(), [False, False, False, True, False, True]):
        q = s["v"] + (torch.arange(s["r"].numel()).reshape(s["r"].shape) % 3 - 1).to(s["r"].dtype) * (
            2.5 if wide else 0.3)
        cases.append(_Case(s["words"] + (" Errors |q - y| above 1." if wide else ""),
                           dict(q_sa=q, r=s["r"], v_next=s["v_next"], terminated=s["terminated"],
                                gamma=s["gamma"]),
                           ("q_sa", "v_next")))
    return cases


def _critic_ref(q, r, vn, te, g):
    return E.critic_loss(q, R.td_target(r, vn, te, g), torch.ones_like(te))


def critic_loss(fn: Callable) -> None:
    """Check ``fn(q_sa, r, v_next, terminated, gamma) -> loss``, the TD regression
    ``mean(0.5 * (q_sa - y)^2)`` onto ``y = r + gamma * (1 - terminated) * v_next`` with y
    detached: the gradient reaches ``q_sa`` only, never ``v_next``.

    The factor 0.5 is required (it makes the gradient ``q_sa - y``), as in
    ``acnotes.estimators.critic_loss``; a loss without it fails with a hint saying so.
    """
    def y(r, vn, te, g):
        return r + g * (1.0 - _f(te, r)) * vn

    _run(_Spec(
        name="critic_loss", reference=_critic_ref, cases=_critic_cases(),
        outputs=lambda out, leaves, st: _scalar_loss(out, leaves, st, ["q_sa", "v_next"]),
        mistakes=[
            _Mistake(lambda q, r, vn, te, g: (0.5 * (q - y(r, vn, te, g)) ** 2).mean(),
                     "the target is not detached: gradient flows into v_next, so the critic "
                     "also moves its own target. Use y = (r + gamma * (1 - terminated) * "
                     "v_next).detach() (a semi-gradient, as in TD(0))."),
            _Mistake(lambda q, r, vn, te, g: (0.5 * (q - (r + g * vn).detach()) ** 2).mean(),
                     "you bootstrap at a termination: after the last step of an episode that "
                     "really ended the target is r alone; multiply gamma * v_next by "
                     "(1 - terminated)."),
            _Mistake(lambda q, r, vn, te, g: ((q - y(r, vn, te, g).detach()) ** 2).mean(),
                     "the loss is twice the expected one: this exercise uses 0.5 * (q_sa - y)^2, "
                     "whose gradient is exactly (q_sa - y) (F.mse_loss has no 0.5)."),
            _Mistake(lambda q, r, vn, te, g: (0.5 * (q - y(r, vn, te, g).detach()) ** 2).sum(),
                     "you summed over the steps; take the mean (the loss should not grow with "
                     "the batch size)."),
            _Mistake(lambda q, r, vn, te, g: ((q - y(r, vn, te, g).detach()) ** 2).sum(),
                     "you summed over the steps and dropped the 0.5: the loss is the mean of "
                     "0.5 * (q_sa - y)^2."),
            _Mistake(lambda q, r, vn, te, g: (0.5 * (q - (y(r, vn, te, g) - q).detach()) ** 2).mean(),
                     "you regressed q_sa onto the TD error y - q_sa (the bug of the blog post); "
                     "regress onto the TD target y = r + gamma * (1 - terminated) * v_next."),
            _Mistake(lambda q, r, vn, te, g: torch.nn.functional.smooth_l1_loss(
                         q, y(r, vn, te, g).detach()),
                     "that is the smooth-L1 (Huber) loss: it equals 0.5 * e^2 only for |e| < 1. "
                     "The exercise asks for the squared error mean(0.5 * (q_sa - y)^2)."),
        ],
        generic="y = (r + gamma * (1 - terminated) * v_next).detach(); "
                "loss = (0.5 * (q_sa - y) ** 2).mean().",
        key_hints={"d loss / d v_next": "the value is right but gradient reaches v_next: detach "
                   "the target y.",
                   "d loss / d q_sa": "the value is right but the gradient with respect to q_sa "
                   "is not: is q_sa detached somewhere?"},
    ), fn)


# --------------------------------------------------------------------------- 5. A2C loss


def _a2c_cases() -> list[_Case]:
    cases = []
    for (T, N, A, seed, upto, coef, words) in [
        (5, 2, 3, 11, None, 0.5, "[T, N] = [5, 2], 3 actions, every step valid, vf_coef = 0.5."),
        (6, 3, 2, 12, [6, 4, 3], 0.25, "[T, N] = [6, 3], 2 actions, vf_coef = 0.25: envs 1 and 2 "
                                       "have invalid (padded) steps whose values are garbage."),
        (8, 4, 4, 13, [8, 6, 8, 2], 1.0, "[T, N] = [8, 4], 4 actions, random (seed 13), "
                                         "vf_coef = 1.0, padded steps in envs 1 and 3."),
    ]:
        lg, a, target, valid = _policy_batch(T, N, A, seed, upto)
        g = torch.Generator().manual_seed(seed + 100)
        v = torch.round(torch.randn(T, N, generator=g) * 150) / 100 + 0.5
        cases.append(_Case(words, dict(logits=lg, actions=a, v=v, target=target, valid=valid,
                                       vf_coef=coef), ("logits", "v", "target")))
    return cases


def _mean_valid(x, valid):
    return _masked(x, valid).sum() / valid.sum().clamp(min=1)


def _a2c_ref(logits, actions, v, target, valid, vf_coef):
    actor = E.actor_loss(E.log_prob(logits, actions), target - v, valid)
    return actor, vf_coef * E.critic_loss(v, target, valid)


def _a2c_outputs(out, leaves, st):
    names = ["logits", "v", "target"]
    if st is not None:
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise st.fail("a pair (actor_loss, critic_loss) of scalar tensors",
                          f"{type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""),
                          "return actor_loss, critic_loss (two scalar tensors, in that order).")
        like = torch.zeros((), dtype=leaves["logits"].dtype)
        actor = st.tensor(out[0], like, "actor_loss", needs_grad=True)
        critic = st.tensor(out[1], like.to(leaves["v"].dtype), "critic_loss", needs_grad=True)
    else:
        actor, critic = out
    res = {"actor_loss": actor.detach(), "critic_loss": critic.detach()}
    for what, loss in (("actor_loss", actor), ("critic_loss", critic)):
        for n, g in zip(names, _grads(loss, leaves, names)):
            res[f"d {what} / d {n}"] = g
    return res


def a2c_loss(fn: Callable) -> None:
    """Check ``fn(logits, actions, v, target, valid, vf_coef) -> (actor_loss, critic_loss)``:

        advantage   = (target - v).detach()
        actor_loss  = -mean over valid steps of log pi(a_t | s_t) * advantage_t
        critic_loss = vf_coef * mean over valid steps of 0.5 * (v_t - target_t.detach())^2

    by value and by the gradients of each loss with respect to logits, v and target.
    """
    def lp(lg, a):
        return E.log_prob(lg, a)

    def mistake(actor=None, critic=None):
        def f(lg, a, v, tg, valid, c):
            ra, rc = _a2c_ref(lg, a, v, tg, valid, c)
            return (actor(lg, a, v, tg, valid, c) if actor else ra,
                    critic(lg, a, v, tg, valid, c) if critic else rc)
        return f

    def swapped(lg, a, v, tg, valid, c):
        ra, rc = _a2c_ref(lg, a, v, tg, valid, c)
        return rc, ra

    _run(_Spec(
        name="a2c_loss", reference=_a2c_ref, cases=_a2c_cases(), outputs=_a2c_outputs,
        mistakes=[
            _Mistake(mistake(actor=lambda lg, a, v, tg, m, c: -_mean_valid(lp(lg, a) * (tg - v), m)),
                     "the advantage is not detached: the actor loss sends gradient into the "
                     "critic v (d actor_loss / d v should be 0). Use advantage = "
                     "(target - v).detach()."),
            _Mistake(mistake(actor=lambda lg, a, v, tg, m, c: _mean_valid(lp(lg, a) * (tg - v).detach(), m)),
                     "wrong sign of the actor loss: minimizing it must increase log pi of actions "
                     "with a positive advantage, so actor_loss = -mean(log pi * advantage)."),
            _Mistake(mistake(actor=lambda lg, a, v, tg, m, c: -_mean_valid(lp(lg, a) * (v - tg).detach(), m)),
                     "the advantage has the wrong sign: it is target - v (how much better than "
                     "expected), not v - target."),
            _Mistake(mistake(critic=lambda lg, a, v, tg, m, c: c * _mean_valid(0.5 * (v - tg) ** 2, m)),
                     "the target is not detached in the critic loss: gradient flows into target "
                     "(d critic_loss / d target should be 0). Use target.detach()."),
            _Mistake(mistake(actor=lambda lg, a, v, tg, m, c: -_masked(lp(lg, a) * (tg - v).detach(), m).sum(),
                             critic=lambda lg, a, v, tg, m, c: c * _masked(0.5 * (v - tg.detach()) ** 2, m).sum()),
                     "you summed over the steps; both losses are means over the valid steps "
                     "(sum of the masked terms / valid.sum())."),
            _Mistake(mistake(actor=lambda lg, a, v, tg, m, c: -_masked(lp(lg, a) * (tg - v).detach(), m).sum()),
                     "the actor loss is a sum; take the mean over the valid steps."),
            _Mistake(mistake(critic=lambda lg, a, v, tg, m, c: c * _masked(0.5 * (v - tg.detach()) ** 2, m).sum()),
                     "the critic loss is a sum; take the mean over the valid steps."),
            _Mistake(lambda lg, a, v, tg, m, c: (-(lp(lg, a) * (tg - v).detach()).mean(),
                                                 c * (0.5 * (v - tg.detach()) ** 2).mean()),
                     "invalid steps are counted: average only over the valid steps, "
                     "(x * valid).sum() / valid.sum()."),
            _Mistake(lambda lg, a, v, tg, m, c: (-_masked(lp(lg, a) * (tg - v).detach(), m).mean(),
                                                 c * _masked(0.5 * (v - tg.detach()) ** 2, m).mean()),
                     "you masked but divided by all T * N steps (.mean()); divide by the number "
                     "of valid steps, valid.sum()."),
            _Mistake(mistake(critic=lambda lg, a, v, tg, m, c: _mean_valid(0.5 * (v - tg.detach()) ** 2, m)),
                     "vf_coef is missing: critic_loss = vf_coef * mean(0.5 * (v - target)^2)."),
            _Mistake(mistake(critic=lambda lg, a, v, tg, m, c: c * _mean_valid((v - tg.detach()) ** 2, m)),
                     "the critic loss is twice the expected one: it is 0.5 * (v - target)^2."),
            _Mistake(mistake(actor=lambda lg, a, v, tg, m, c: -_mean_valid(lp(lg, a) * tg, m)),
                     "you weighted log pi by the target (the return), not by the advantage "
                     "target - v: without the baseline this is REINFORCE, not A2C."),
            _Mistake(swapped, "the two losses are swapped: return (actor_loss, critic_loss)."),
        ],
        generic="advantage = (target - v).detach(); actor_loss = -mean_valid(log_softmax(logits)"
                "[a] * advantage); critic_loss = vf_coef * mean_valid(0.5 * (v - target.detach())^2).",
        key_hints={"d actor_loss / d v": "the actor loss sends gradient into v: detach the advantage.",
                   "d actor_loss / d target": "the actor loss sends gradient into the target: "
                   "detach the advantage.",
                   "d critic_loss / d target": "the critic loss sends gradient into the target: "
                   "use target.detach().",
                   "d critic_loss / d logits": "the critic loss must not depend on the logits."},
    ), fn)


