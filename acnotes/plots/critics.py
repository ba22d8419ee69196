"""Figures of notebook 2 on a tabular MDP: TD learning of Q converging to the exact Q, and how
the error of a critic turns into the bias of the Q Actor-Critic gradient."""

from __future__ import annotations


from . import style

__all__ = ["td_convergence", "critic_error"]


def td_convergence(iters, errors, title: str | None = None):
    """The largest error of the learned Q against the number of TD steps (log scale)."""
    fig, ax = style.figure(height=3.6)
    ax.semilogy(iters, errors, "o-", color=style.REFERENCE, linewidth=2, markersize=4)
    style.finish(ax, title=title or r"Expected SARSA's $Q_w$ converges to the exact $Q^\pi$",
                 note="a random tabular MDP; log scale", xlabel="TD steps (minibatches of 512)",
                 ylabel=r"$\max_{s,a} |Q_w(s,a) - Q^\pi(s,a)|$")
    return fig


def critic_error(scales, angles, rel_bias, title: str | None = None):
    """Two panels against the size c of the critic's error c * eps(s, a): the angle between
    the Q-AC gradient and grad J, and the relative bias |bias| / |grad J| (one y axis each)."""
    fig, (ax, bx) = style.figure(ncols=2, height=3.8)
    c = style.color("qac")
    ax.plot(scales, angles, color=c, linewidth=2.2)
    bx.plot(scales, rel_bias, color=c, linewidth=2.2, linestyle="--")
    xlabel = r"size $c$ of the critic's error $c\,\varepsilon(s,a)$"
    style.finish(ax, title="angle to grad J", note=f"{style.name('qac')}'s expected gradient", xlabel=xlabel,
                 ylabel="degrees")
    style.finish(bx, title="|bias| / |grad J|", note="grows in proportion to c", xlabel=xlabel,
                 ylabel="relative bias")
    ax.set_ylim(bottom=0)
    bx.set_ylim(bottom=0)
    if title:
        fig.suptitle(title, fontsize=style.FONT + 1, x=0.01, ha="left")
    return fig
