"""The algorithms in one file each: what a student reads as *the* algorithm.

``reinforce.py``, ``a2c.py`` (GAE(lambda) with ``lam=...``) and ``tdac.py`` each train one agent
on CartPole-v1 with plain ``torch.nn``, ``torch.optim`` and gymnasium's vector CartPole, top to
bottom in about 100 lines, with the notebooks' symbols (Psi_t, G_t, delta_t) in the comments.
Each ``train(total_steps=..., seed=...)`` returns ``(episode_returns, end_steps)``.

``acnotes.train`` computes the same thing for K agents at once (a population: stacked
networks, one batched forward and backward pass); tests/test_reference.py checks that, for
the same preset and seed, both give the same episode returns over a real training run.
"""
