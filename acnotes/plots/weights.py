"""Figures of shapes the notebooks describe in words: the discount weight gamma^t of each
step of an episode (notebook 1), the weights GAE(lambda) puts on the n-step advantages (notebook 4), the pull of one update on a softmax policy's probabilities
and the stored Q-AC runs with and without centring, seed by seed (notebook 2), and the
entropy bonus's balance softmax(r / beta) in a bandit (notebook 7)."""

from __future__ import annotations

import numpy as np

from . import style

__all__ = ["discount_weights", "gae_weights", "score_pull", "centring_seeds", "softmax_temperature"]


def discount_weights(gammas=(0.9, 0.98, 0.99, 0.999), steps: int = 500, title: str | None = None):
    """The weight w_t = gamma^t that the policy gradient of the discounted J puts on step t of
    an episode, for t = 0 .. ``steps`` - 1 (CartPole-v1's 500 by default), one line per gamma (a
    swept setting: colours from ``style.sequence``, labelled where they end), each with a dot at
    its horizon t = 1 / (1 - gamma), where w_t is about 1/e; the dotted line at 1 is the weight
    of every step without gamma^t (``discount_actor=False``)."""
    t = np.arange(steps)
    fig, ax = style.figure(height=3.6)
    lines = {}
    for g, c in zip(gammas, style.sequence(len(gammas))):
        label = style.setting("gamma", g)
        lines[label] = ax.plot(t, g ** t.astype(float), color=c, linewidth=2.2, label=label)[0]
        horizon = 1 / (1 - g)
        if horizon < steps:
            ax.plot([horizon], [g ** horizon], "o", color=c, markersize=5)
    style.reference_line(ax, 1.0, "without γ^t: every step 1", at="left")
    ax.set_xlim(0, steps)
    ax.set_ylim(0, 1.08)
    style.label_ends(ax, lines)
    style.finish(ax, title=title or "γ^t leaves the late steps of a long episode almost no weight",
                 note="w_t = γ^t of step t; dot: the horizon t = 1/(1 − γ), where w_t ≈ 1/e",
                 xlabel="t, the step within the episode", ylabel="weight w_t of step t")
    return fig


def gae_weights(lams=(0.0, 0.5, 0.8, 0.95), n_max: int = 30, title: str | None = None):
    """The weight (1 - lambda) lambda^(n-1) of the n-step advantage G^(n)_t - V(s_t) in
    GAE(lambda), against n = 1..n_max, one line per lambda (a swept setting: colours from
    ``style.sequence``, the legend beside the axes); lambda = 0 puts all its weight on n = 1."""
    n = np.arange(1, n_max + 1)
    fig, ax = style.figure(height=3.6)
    for lam, c in zip(lams, style.sequence(len(lams))):
        w = (1 - lam) * lam ** (n - 1.0) if lam > 0 else (n == 1).astype(float)
        ax.plot(n, w, "o-", color=c, linewidth=1.8, markersize=3.5, label=style.setting("lam", lam))
    ax.set_xlim(0, n_max + 1)
    ax.set_ylim(0, 1.02)
    style.legend_beside(ax)
    style.finish(ax, title=title or "GAE(λ) spreads its weight over longer n as λ grows",
                 note="weight (1 − λ)λ^(n−1) of the n-step advantage; each line sums to 1 over all n",
                 xlabel="n, the number of sampled rewards in the n-step return", ylabel="weight")
    return fig


def score_pull(p, title: str | None = None):
    """For two actions with pi(right) = p = sigmoid(theta): the change of theta per unit of
    Psi_t when the update's action is 'right' (1 - p), when it is 'left' (-p), and their mean
    under the policy (0), against p. Near p = 1 the action sampled almost always barely moves."""
    p = np.asarray(p, dtype=float)
    fig, ax = style.figure(height=3.6)
    lines = {"action right sampled: +(1 − p)": ax.plot(p, 1 - p, color=style.NEUTRAL[0], linewidth=2.2)[0],
             "action left sampled: −p": ax.plot(p, -p, color=style.NEUTRAL[1], linewidth=2.2, linestyle="--")[0],
             "mean over the policy's actions: 0": ax.plot(p, 0 * p, color=style.REFERENCE, linewidth=1.2,
                                                           linestyle=":")[0]}
    ax.set_xlim(0, 1)
    ax.set_ylim(-1.05, 1.05)
    style.label_ends(ax, lines, gap=0.1)
    style.finish(ax, title=title or "Each sampled action is pushed up, less the surer the policy is of it",
                 note="change of the logit θ per unit of Ψ_t, two actions, p = π(right) = sigmoid(θ)",
                 xlabel="p = π(right | s)", ylabel="d log π(a | s) / dθ")
    return fig


def centring_seeds(stored: dict, title: str | None = None):
    """One dot per seed: its best mean return over 100 consecutive episodes (x) and the mean
    of its last 100 episodes (y), for Q-AC and for Q-AC with Psi_t centred
    (``acnotes.stored.centring.load()``). A dot below the diagonal fell back from its best."""
    fig, ax = style.figure(height=4.2, width=7.5)
    marks = {"qac": ("o", 6), "qac_baseline": ("s", 5)}
    for variant, (marker, size) in marks.items():
        members = stored[variant]["members"]
        ax.plot([m["best"] for m in members], [m["final"] for m in members], marker, color=style.color(variant),
                markersize=size, alpha=0.75, linestyle="none", label=style.name(variant))
    ax.plot([0, 500], [0, 500], color=style.MUTED, linewidth=1.0, linestyle=":", zorder=1)
    ax.annotate("final = best: no fall", xy=(100, 100), xytext=(10, -6), textcoords="offset points",
                ha="left", va="top", fontsize=style.SMALL, color=style.MUTED)
    solved = sum(m["solved_at"] is not None for m in stored["qac_baseline"]["members"])
    ax.annotate(f"{style.name('qac_baseline')}: {solved} of {len(stored['qac_baseline']['members'])} solved, stacked here",
                xy=(480, 480), xytext=(-12, -30), textcoords="offset points", ha="right", fontsize=style.SMALL,
                color=style.color("qac_baseline"), arrowprops=dict(arrowstyle="->", color=style.color("qac_baseline")))
    style.returns_axis(ax, label="final return (mean of the last 100 episodes)")
    ax.set_xlim(0, 505)
    ax.set_xticks(np.linspace(0, 500, 6))
    style.solved_line(ax)
    style.legend_beside(ax)
    style.finish(ax, title=title or "Q-AC climbs and falls back; centred, most seeds stay solved",
                 note=f"one dot per seed ({len(stored['qac']['members'])} seeds, "
                      f"{style.steps(stored['qac']['steps'])} env steps each, the qac preset)",
                 xlabel="best mean return over 100 consecutive episodes")
    return fig


def softmax_temperature(rewards, betas, title: str | None = None):
    """The policy a bandit's entropy bonus balances at, pi_beta(a) = softmax(r / beta)(a),
    against beta (log scale), one line per action (actions are no algorithm: greys, the best
    action darkest), each labelled with its reward where it ends; uniform 1 / |A| marked."""
    r = np.asarray(rewards, dtype=float)
    betas = np.asarray(betas, dtype=float)
    z = r[None, :] / betas[:, None]
    pi = np.exp(z - z.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    fig, ax = style.figure(height=3.6)
    order = np.argsort(-r)
    greys = style.shades(style.NEUTRAL[0], len(r), lightest=0.0, darkest=0.6)   # 0% to 60% white: dark to pale
    lines = {}
    for rank, a in enumerate(order):                                             # the best action darkest
        label = f"action {a}, r = {style.number(r[a])}"
        lines[label] = ax.semilogx(betas, pi[:, a], color=greys[rank], linewidth=2.2, label=label)[0]
    style.reference_line(ax, 1 / len(r), f"uniform (1/{len(r)})", at="left")
    ax.set_ylim(0, 1.02)
    style.label_ends(ax, lines)
    style.finish(ax, title=title or "The entropy bonus moves the policy from greedy (small β) to uniform (large β)",
                 note="π_β(a) = softmax(r / β)(a), where gradient ascent on J + β H ends in a bandit",
                 xlabel="β (ent_coef), log scale", ylabel="π_β(a)")
    return fig
