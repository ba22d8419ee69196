"""The algorithms in one file each: what a student reads as *the* algorithm.

``reinforce.py``, ``a2c.py`` (GAE(lambda) with ``lam=...``) and ``tdac.py`` each train one agent
on CartPole-v1 with plain ``torch.nn``, ``torch.optim`` and gymnasium's vector CartPole, top to
bottom in about 100 lines, with the notebooks' symbols (Psi_t, G_t, delta_t) in the comments.
Each ``train(total_steps=..., seed=...)`` returns ``(episode_returns, end_steps)``.
``one_step_ac.py`` is Sutton & Barto's one-step actor-critic (and its version with eligibility
traces) on a tabular MDP, in numpy: the boxes of Sections 13.5 and 13.6 line by line
(notebook 9); ``acnotes.one_step`` runs many of it at once. ``gaussian_a2c.py`` is ``a2c.py``
with a Gaussian policy (``acnotes.gaussian``) on Pendulum-v1 (notebook 11); the engine's
``gae-pendulum`` and ``a2c-pendulum`` presets compute it too, to float rounding only: every
torque depends continuously on the weights, so the weights' rounding differences (below) move
each return a little, more as training goes on (tests/test_reference.py states the tolerance).
``ppo.py`` is PPO (notebook 12) with
rl-baselines3-zoo's CartPole-v1 settings, the engine's ``ppo`` preset (``acnotes/epochs.py``);
tests/test_ppo.py checks its pieces and its stored runs, and tests/test_reference.py compares it
with the engine over runs of 5,000 env steps (its 20 epochs per rollout make the last-bit
differences described below grow faster than A2C's: the two part after about 5,000 steps).

``acnotes.train`` computes the same thing for K agents at once (a population: stacked
networks, one batched forward and backward pass); tests/test_reference.py checks that, for
the same preset and seed, both end the same episodes with the same returns over a real
training run (20k env steps; they also agree over 100k for A2C, seed 0).

The returns are equal; the weights only to float rounding (they differ in the last bits
from the first update on). The engine stores each weight matrix transposed and runs all K
members through one batched product (``torch.baddbmm``, the V head of a single run as two
copies), for which MKL takes other kernels than ``nn.Linear``'s for the 2-logit and 1-value
heads; it also sums the gradient norm for clipping in its own order, where
``clip_grad_norm_`` takes the norm of per-tensor norms. Copying those choices here would
hide the algorithm. A sampled action changes only if its uniform number falls between two
CDFs that differ in the last bits, so the episodes stay the same over these runs; over a
much longer run they could part.
"""

from . import a2c, gaussian_a2c, one_step_ac, ppo, reinforce, tdac

__all__ = ["a2c", "gaussian_a2c", "one_step_ac", "ppo", "reinforce", "tdac"]
