"""acnotes.variance.values: the lab's critic values come from estimators.values, on the states
a valid step reads, and a batch whose next_obs is not the next obs is refused."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from acnotes.rollout import Batch
from acnotes.variance import critic_values

# one tabular episode s = 2, 0, 1, terminated after step 2; step 3 is padding (state 0)
V_TABLE = torch.tensor([10.0, 20.0, 30.0])
Q_TABLE = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
LOGITS = torch.log(torch.tensor([[0.5, 0.5], [0.25, 0.75], [0.9, 0.1]]))


def episode(next_obs=None):
    obs = torch.tensor([[2], [0], [1], [0]])
    return Batch(obs=obs, actions=torch.tensor([[1], [0], [1], [0]]), rewards=torch.ones(4, 1),
                 terminated=torch.tensor([[False], [False], [True], [False]]),
                 truncated=torch.zeros(4, 1, dtype=torch.bool),
                 next_obs=torch.tensor([[0], [1], [0], [0]]) if next_obs is None else next_obs,
                 valid=torch.tensor([[True], [True], [True], [False]]), t=torch.arange(4)[:, None])


def test_v_and_expected_sarsa_values_by_hand():
    b = episode()
    vals = critic_values("v", b, v=V_TABLE.__getitem__)
    assert_close(vals.v[:3, 0], torch.tensor([30.0, 10.0, 20.0]))           # V(s_t) on valid steps
    assert_close(vals.v_next[:3, 0], torch.tensor([10.0, 20.0, 10.0]))      # V(s_{t+1})
    assert vals.v_next[3, 0] == 0  # the state after the padding step is not evaluated
    vals = critic_values("q", b, q=Q_TABLE.__getitem__, logits=LOGITS.__getitem__)
    assert_close(vals.q[:3, 0], torch.tensor([6.0, 1.0, 4.0]))              # Q(s_t, a_t)
    # sum_a pi(a|s) Q(s, a) at s_t = 2, 0, 1: .9*5 + .1*6, .5*1 + .5*2, .25*3 + .75*4
    assert_close(vals.v[:3, 0], torch.tensor([5.1, 1.5, 3.75]))
    # sum_a pi(a|s') Q(s', a): s' = 0: .5*1 + .5*2; s' = 1: .25*3 + .75*4
    assert_close(vals.v_next[:3, 0], torch.tensor([1.5, 3.75, 1.5]))


def test_q_critic_needs_the_policy():
    with pytest.raises(ValueError, match="q= and logits="):
        critic_values("q", episode(), q=Q_TABLE.__getitem__)


def test_next_obs_must_be_the_next_obs():
    with pytest.raises(ValueError, match=r"next_obs\[t\] == obs\[t\+1\]"):
        critic_values("v", episode(next_obs=torch.tensor([[0], [2], [0], [0]])), v=V_TABLE.__getitem__)
