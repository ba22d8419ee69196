"""The runaway check's shortcut: ``members._Run`` computes the weights' norms only when the
optimizer's bound on how far they moved (``PopulationOptimizer.travelled``) says they may be
near the limit. The bound is checked on the gradients that come closest to it, and the check
against the same run with the norms computed after every update.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from acnotes import members
from acnotes.config import Config
from acnotes.optim import PopulationOptimizer, max_step


def _worst_gradients(steps: int) -> torch.Tensor:
    """[steps, 4, 3]: per member, gradients that push a step towards its bound. Member 0 is 0,
    then grows by b2 / b1 each step over the last 100 (where Cauchy-Schwarz is an equality for
    Adam: its bound is approached after thousands of steps, when the bias corrections are near
    1), member 1 is 0 until the last step (RMSprop's largest step), member 2 is noise, member 3
    alternates in sign."""
    t = torch.arange(steps, dtype=torch.float64)[:, None]
    grow = torch.where(t < steps - 100, 0.0, 1e-3 * (0.999 / 0.9) ** (t - steps + 100))
    spike = (t == steps - 1).double() * 1e3
    noise = torch.randn(steps, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    sign = (-1.0) ** t
    return torch.stack([grow.expand(-1, 3), spike.expand(-1, 3), noise, sign.expand(-1, 3)], 1).float()


@pytest.mark.parametrize("kind", ["adam", "rmsprop"])
def test_a_step_moves_a_number_by_at_most_max_step_lr(kind):
    lr = torch.full((4,), 1e-3)
    p = torch.nn.Parameter(torch.zeros(4, 3))
    opt = PopulationOptimizer([p], [True], lr, lr, kind)
    path = np.zeros(4)
    most = 0.0
    for g in _worst_gradients(6000):
        before = p.detach().clone()
        p.grad = g.clone()
        opt.step(torch.ones(4, dtype=torch.bool))
        moved = (p.detach() - before).double()
        most = max(most, float(moved.abs().max()) / 1e-3)
        path += moved.norm(dim=1).numpy()
    assert most <= max_step(kind, 1e-8)
    assert most > {"adam": 7.0, "rmsprop": 9.9}[kind]     # a bound that is close: the check can fail
    assert (path <= opt.travelled).all()


def _drive(shortcut: bool, monkeypatch):
    """Members 0 and 1 push their weights one way (a constant gradient, at two speeds) until
    they run away; member 2's gradients are noise. Returns each History's (status, message,
    updates) and how many times the norms were computed."""
    K, P = 3, 100
    calls = []
    real = members._param_norms
    monkeypatch.setattr(members, "_param_norms", lambda params: calls.append(1) or real(params))
    p = torch.nn.Parameter(torch.randn(K, P, generator=torch.Generator().manual_seed(0)))
    lr = torch.tensor([0.2, 0.1, 0.01])
    opt = PopulationOptimizer([p], [True], lr, lr)
    col = SimpleNamespace(active=np.ones(K, dtype=bool), member_steps=np.zeros(K, dtype=np.int64),
                          log=SimpleNamespace(returns=[], members=[], lengths=[], end_steps=[]))
    run = members._Run([Config(seed=k) for k in range(K)], col, [p])
    noise = torch.Generator().manual_seed(1)
    ones = torch.ones(K)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(2000):
            p.grad = torch.cat([-torch.ones(2, P), torch.randn(1, P, generator=noise)])
            updated = col.active.copy()
            opt.step(torch.from_numpy(updated))
            col.member_steps[updated] += 1
            run.after_update(updated, [p], ones, ones, ones, ones, travelled=opt.travelled if shortcut else None)
    return [(h.status, h.message, len(h.steps)) for h in run.hists], len(calls)


def test_runaway_members_stop_at_the_same_update_with_the_shortcut(monkeypatch):
    every, computed_every = _drive(False, monkeypatch)
    fewer, computed_fewer = _drive(True, monkeypatch)
    assert [s for s, _, _ in every[:2]] == ["diverged"] * 2 and all("weights grew" in m for _, m, _ in every[:2])
    assert every[0][2] < every[1][2] < every[2][2] == 2000 and every[2][0] != "diverged"
    assert fewer == every
    assert computed_fewer < computed_every / 2
