"""A reviewer's test for the notebooks' claims: break the code a claim is about, and the claim
must fail. A check that still passes with the code broken compares a formula with itself.

Each case runs a few code cells of a notebook (found by a line they contain) in a fresh
namespace, once as stored (the claims must hold) and once with the package monkeypatched
(some claim must raise CheckFailed).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import acnotes as acn
from acnotes.checks import CheckFailed

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SETUP = "import math\nimport acnotes as acn\nimport numpy as np\nimport torch\nSEED = 0\n"


def cell_sources(notebook: str, *markers: str) -> list[str]:
    """The source of the code cell containing each marker line (exactly one cell each)."""
    cells = json.loads((NOTEBOOKS / notebook).read_text())["cells"]
    out = []
    for marker in markers:
        hits = ["".join(c["source"]) for c in cells
                if c["cell_type"] == "code" and marker in "".join(c["source"])]
        assert len(hits) == 1, f"{notebook}: {len(hits)} code cells contain {marker!r}"
        # IPython magics (the imports cell's %config of inline figures) mean nothing outside a kernel
        out.append("".join(line for line in hits[0].splitlines(keepends=True) if not line.lstrip().startswith("%")))
    return out


def run_cells(sources: list[str], ns: dict | None = None) -> dict:
    if ns is None:
        ns = {}
        exec(SETUP, ns)
    for src in sources:
        exec(src, ns)
    return ns


def _v_one_percent_off(monkeypatch):
    orig = acn.envs.TabularMDP.V
    monkeypatch.setattr(acn.envs.TabularMDP, "V", lambda self, p: orig(self, p) * 1.01)


def _q_shifted(monkeypatch):
    orig = acn.envs.TabularMDP.Q
    monkeypatch.setattr(acn.envs.TabularMDP, "Q", lambda self, p: orig(self, p) + 0.01)


def _baseline_stops_at_the_cut(monkeypatch):
    """reinforce_baseline as it was before it bootstrapped: G_t stops at the time limit."""
    def stopped(b, vals, *, gamma):
        g = acn.returns.reward_to_go(b.rewards, b.terminated, b.truncated, gamma)
        return g - vals.v.detach(), g
    est = acn.estimators.ESTIMATORS["reinforce_baseline"]
    monkeypatch.setitem(acn.estimators.ESTIMATORS, "reinforce_baseline", dataclasses.replace(est, compute=stopped))


def _gae_with_gamma_twice(monkeypatch):
    orig = acn.returns.gae
    monkeypatch.setattr(acn.returns, "gae", lambda r, v, vn, te, tr, gamma, lam:
                        orig(r, v, vn, te, tr, gamma, lam * gamma))


def _policy_not_normalised(monkeypatch):
    orig = acn.envs.TabularMDP.policy
    monkeypatch.setattr(acn.envs.TabularMDP, "policy", lambda self, th:
                        orig(self, th) * torch.tensor([1.0, 1.0, 1.1], dtype=torch.float64))


def _residual_as_td(monkeypatch):
    """The residual gradient without its second half: the update of v(s') dropped."""
    from acnotes import semigradient
    orig = semigradient._update
    monkeypatch.setattr(semigradient, "_update", lambda mdp, pi, d, v, method: orig(mdp, pi, d, v, "td"))


def _bonus_without_log(monkeypatch):
    """The bonus gradient with pi * grad log pi in place of pi * log pi * grad log pi."""
    from acnotes import entropy_bonus
    monkeypatch.setattr(entropy_bonus, "bonus_gradient", lambda mdp, theta, discounted=False: -torch.einsum(
        "s,sa,sad->d", mdp.visitation(mdp.policy(theta), discounted=discounted), mdp.policy(theta), mdp.score(theta)))


IMPORTS_07 = "from acnotes import ablations, entropy_bonus, semigradient"
IMPORTS_09 = "from acnotes.reference import one_step_ac"


def _I_dropped(monkeypatch):
    """The box without I <- gamma I: every step's actor update weighs 1."""
    from acnotes import one_step
    orig = one_step.one_step_update
    monkeypatch.setattr(one_step, "one_step_update", lambda *args, use_I=True, **kw: orig(*args, use_I=False, **kw))


def _target_attached(monkeypatch):
    """The critic's loss differentiated through its target as well (notebook 7's residual gradient)."""
    orig = acn.estimators.critic_loss
    monkeypatch.setattr(acn.estimators, "critic_loss", lambda *args, detach_target=True, **kw: orig(*args, detach_target=False, **kw))

def _visitation_normalised(monkeypatch):
    orig = acn.envs.TabularMDP.visitation
    monkeypatch.setattr(acn.envs.TabularMDP, "visitation", lambda self, p, discounted=True:
                        orig(self, p, discounted) / orig(self, p, discounted).sum())


def _log_of_softmax(monkeypatch):
    """The blog's log-probability: the log of a softmax, which underflows to -inf."""
    monkeypatch.setattr(acn.estimators, "log_prob", lambda logits, actions:
                        torch.log(torch.softmax(logits, -1)).gather(-1, actions.unsqueeze(-1)).squeeze(-1))


def _centring_undone(monkeypatch):
    """The stored centred runs replaced by the uncentred ones: nothing left to tell apart."""
    from acnotes.stored import centring
    orig = centring.load
    monkeypatch.setattr(centring, "load", lambda: {v: orig()["qac"] for v in ("qac", "qac_baseline")})


def _permutation_never_rejects(monkeypatch):
    monkeypatch.setattr(acn.studies, "permutation_p", lambda a, b: 1.0)


IMPORTS_11 = "from acnotes.reference import gaussian_a2c"
CHECKS_11 = "by_autograd = torch.autograd.grad(logp.sum(), (mu, log_std))"
LQR_11 = "lqr = acn.lqr.LQR()"


def _score_without_minus_one(monkeypatch):
    """d log pi / d log sigma written as eps^2 (the -1 from log sigma's own term forgotten)."""
    orig = acn.gaussian.score
    monkeypatch.setattr(acn.gaussian, "score", lambda a, mu, log_std: (orig(a, mu, log_std)[0], orig(a, mu, log_std)[1] + 1))


def _lqr_gradient_without_gamma(monkeypatch):
    """dJ/dk derived with the gamma of the next state's value forgotten: -2 S (rho k - b m P)."""
    def wrong(lqr, k, log_sigma):
        P, c0 = acn.lqr.value_coefficients(lqr, k, log_sigma)
        m, s2 = lqr.f - lqr.b * k, math.exp(2 * log_sigma)
        S = (lqr.s0 ** 2 + lqr.gamma * lqr.b ** 2 * s2 / (1 - lqr.gamma)) / (1 - lqr.gamma * m ** 2)
        return np.array([-2 * S * (lqr.rho * k - lqr.b * m * P), -2 * c0])
    monkeypatch.setattr(acn.lqr, "grad", wrong)


def _lqr_J_without_the_action_noise_cost(monkeypatch):
    """J with E[a^2] = k^2 X_t (the policy's own noise sigma^2 left out of the action cost)."""
    orig = acn.lqr.J

    def wrong(lqr, k, log_sigma):
        sigma2 = torch.exp(2 * log_sigma) if torch.is_tensor(log_sigma) else math.exp(2 * log_sigma)
        return orig(lqr, k, log_sigma) + lqr.rho * sigma2 / (1 - lqr.gamma)
    monkeypatch.setattr(acn.lqr, "J", wrong)


def _advantage_with_an_action_dependent_error(monkeypatch):
    """A critic whose error depends on the action: A(s, a) + 0.2 a."""
    orig = acn.lqr.advantage
    monkeypatch.setattr(acn.lqr, "advantage", lambda lqr, k, log_sigma, s, a: orig(lqr, k, log_sigma, s, a) + 0.2 * a)


def _sampler_clips(monkeypatch):
    """Actions clipped where they are sampled, so the loss scores the clipped action."""
    orig = acn.gaussian.sample
    monkeypatch.setattr(acn.gaussian, "sample", lambda mu, log_std, generator=None:
                        orig(mu, log_std, generator=generator).clamp(-1.0, 1.0))


def _log_det_halved(monkeypatch):
    """log(1 - tanh(u)^2) written as log 2 - u - softplus(-2u): half of it."""
    monkeypatch.setattr(acn.gaussian, "tanh_log_det",
                        lambda u: math.log(2.0) - u - torch.nn.functional.softplus(-2.0 * u))


def _episode_ratio_dropped(monkeypatch):
    """The whole-episode estimator with the ratio of step t alone (PPO's weight, A_theta kept):
    the product rho_0 ... rho_t (a cumulative product, only acn.ppo's) made its last factor."""
    monkeypatch.setattr(torch, "cumprod", lambda x, dim: x)


# name: (notebook, marker lines of the cells to run, how to break the code, the claim that must fail,
#        how many of the cells run before the code is broken)
CASES = {
    # the corridor's optimum by golden section on the linear solve, against the closed form
    "00 corridor optimum": ("00-short-corridor.ipynb", ["p_star, v_star = 2 - math.sqrt(2)"], _v_one_percent_off,
                            "numerical optimum = closed form", 0),
    # E[delta | s, a] from the linear-solve V, against A by iterative policy evaluation
    "04 E[delta]=A": ("04-td-actor-critic.ipynb", ["E_delta = mdp.R"], _v_one_percent_off, "E[delta_t | s, a] = A", 0),
    # the sum of d_gamma against sampled discounted episode lengths
    "10 d_gamma sums": ("10-case-study-blog-td-ac.ipynb", ["V, A = mdp.V(pi), mdp.advantage(pi)", "d_ep = mdp.visitation(theta)"],
                        _visitation_normalised, "d_gamma sums to the expected discounted episode length", 1),
    # the package's log-probability against float64 by hand, at logit gaps where log(softmax) underflows
    "10 log_softmax": ("10-case-study-blog-td-ac.ipynb", ["via_log_softmax = torch.log_softmax"], _log_of_softmax,
                       "log_softmax and the package's log_prob agree", 0),
    # the exact Q against iterating the expected TD target
    "02 TD fixed point": ("02-q-actor-critic.ipynb", ["g_exact = mdp.autograd_gradient(theta)", "q_it = torch.zeros_like(Q)"],
                          _q_shifted, "iterating the expected TD target", 0),
    # a state-only critic error, with the actor's gradient by autograd (not from mdp.score)
    "02 state-only error": ("02-q-actor-critic.ipynb", ["g_exact = mdp.autograd_gradient(theta)", "def critic_gradient(q_table):"],
                            _policy_not_normalised, "a state-only error b(s)", 1),
    # what each estimator does at a time limit, against sums by hand
    "03 estimators at a cut": ("03-baselines-a2c.ipynb", ["stopped = [1 + g + g ** 2"], _baseline_stops_at_the_cut,
                               "reinforce_baseline: its target", 0),
    # the weights of the critic's error in GAE, by autograd through acn.returns.gae
    "05 GAE error weights": ("05-gradient-variance.ipynb", ["(weight,) = torch.autograd.grad"], _gae_with_gamma_twice,
                             "GAE: the critic's error", 0),
    # the baseline lemma with the score by autograd, not by its closed form
    "03 baseline lemma": ("03-baselines-a2c.ipynb", ["score_ad = torch.autograd.functional.jacobian"], _policy_not_normalised,
                          "grad log pi(a|s) B(s) = 0", 0),
    # the centring result of benchmarks/qac_baseline.py, from the stored runs, with a paired sign test
    "02 centring": ("02-q-actor-critic.ipynb", ["from acnotes.stored import centring"], _centring_undone,
                    "centring Psi_t solves most seeds", 0),
    # the lr study's readings rest on exact permutation tests, not on the order of noisy means
    "06 lr study": ("06-summary.ipynb", ['spec, study = acn.sweep.load_study("lr")', "ends = {a:"], _permutation_never_rejects,
                    "its best lr beats an end of the grid", 1),
    "07 A-split": ("07-semi-gradient-and-entropy.ipynb", [IMPORTS_07, "a_split = acn.envs.TabularMDP"], _residual_as_td,
                   "the residual gradient converges to (1/2, 3/4, 1/4)", 1),
    "07 bonus gradient": ("07-semi-gradient-and-entropy.ipynb", [IMPORTS_07, "mdp = acn.envs.random_mdp",
                                                                 "b = entropy_bonus.bonus_gradient(mdp, theta)"],
                          _bonus_without_log, "closed form = autograd", 2),
    # the enumerated expected update of the box, against autograd through the exact J
    "09 I is gamma^t": ("09-one-step-actor-critic.ipynb", [IMPORTS_09, "with_I, critic_step = acn.one_step.expected_update"],
                        _I_dropped, "with I: the expected update is grad J", 1),
    # the early prize's visits by hand, against the package's linear solve
    "09 early prize visits": ("09-one-step-actor-critic.ipynb", [IMPORTS_09, "prize = acn.envs.early_prize(gamma=0.9)"],
                              _visitation_normalised, "the visits by hand = TabularMDP.visitation", 1),
    # one step of the box against autograd on notebook 4's losses
    "09 box = SGD step": ("09-one-step-actor-critic.ipynb", [IMPORTS_09, "with_I, critic_step = acn.one_step.expected_update",
                                                            "box_theta, box_w, _ = one_step_ac.one_step_update"],
                          _target_attached, "one step of the box = one SGD step", 2),
    # notebook 11: the Gaussian score against autograd, the LQR's closed forms against Monte Carlo
    # and autograd, the estimators against the exact gradient, clipping and the squashed density
    "11 score": ("11-continuous-actions.ipynb", [IMPORTS_11, CHECKS_11], _score_without_minus_one,
                 "score by hand = autograd of log_prob", 1),
    "11 LQR J": ("11-continuous-actions.ipynb", [IMPORTS_11, LQR_11, "episodes = acn.lqr.rollouts"],
                 _lqr_J_without_the_action_noise_cost, "J = the mean sampled return", 2),
    "11 LQR gradient": ("11-continuous-actions.ipynb", [IMPORTS_11, LQR_11, "episodes = acn.lqr.rollouts"],
                        _lqr_gradient_without_gamma, "grad J by hand = autograd", 2),
    "11 estimators": ("11-continuous-actions.ipynb", [IMPORTS_11, LQR_11, "est = acn.lqr.estimates(lqr, k, log_sigma",
                                                      'worst = max(s["bias_z_max"] for s in stats.values())'],
                      _advantage_with_an_action_dependent_error, "all four are unbiased", 2),
    "11 clip": ("11-continuous-actions.ipynb", [IMPORTS_11, "J_exact = torch.trapezoid"], _sampler_clips,
                "clip outside the log-probability: unbiased", 1),
    "11 squash": ("11-continuous-actions.ipynb", [IMPORTS_11, "tanh_normal = torch.distributions.TransformedDistribution"],
                  _log_det_halved, "squashed_log_prob = torch's TanhTransform", 1),
    # the surrogate's gradient (through d_old and A_old) against autograd through the exact J
    "12 grad L = grad J": ("12-a2c-to-ppo.ipynb", ["grad_J = mdp.autograd_gradient(theta_old)"], _visitation_normalised,
                           "at theta_old, grad L = grad J", 0),
    # the whole-episode ratio's unbiasedness, sampled, against the exact gradient at the new policy
    "12 whole-episode ratio": ("12-a2c-to-ppo.ipynb", ["grad_J = mdp.autograd_gradient(theta_old)", "K, B = 400, 16",
                                                       "acn.checks.claim(\"at theta_old the two estimators"],
                               _episode_ratio_dropped, "the whole-episode estimator is unbiased", 1),
    # the lookalike's J by hand against the exact linear solve
    "12 lookalike J": ("12-a2c-to-ppo.ipynb", ["look = acn.ppo.lookalike(gamma=0.9, cost=3.0)"], _v_one_percent_off,
                       "J(p) = p (1 + gamma ((1 - p) - 3 p))", 0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_claim_holds_as_stored(case, capsys):
    notebook, markers, _, _, _ = CASES[case]
    run_cells(cell_sources(notebook, *markers))
    assert ": ok" in capsys.readouterr().out


@pytest.mark.parametrize("case", sorted(CASES))
def test_claim_fails_when_the_code_is_broken(case, monkeypatch):
    notebook, markers, breaks, claim, intact = CASES[case]
    sources = cell_sources(notebook, *markers)
    ns = run_cells(sources[:intact])
    breaks(monkeypatch)
    with pytest.raises(CheckFailed, match=re.escape(claim)):
        run_cells(sources[intact:], ns)
