"""Named training settings (plain dicts of ``Config`` fields).

``acn.train.preset("a2c", seed=3)`` gives a Config; any field can be changed.

* ``blog-tdac``: the TD Actor-Critic of the blog post the series grew from, with its bugs
  fixed (the critic regresses onto the TD *target*; truncation bootstraps): lr 2e-4,
  gamma 0.98, an update every 5 steps of one env, a 128-unit shared trunk, rewards scaled
  by 1/100, smooth-L1 critic loss.
* ``a2c``, ``tdac``, ``reinforce``: tuned to solve CartPole-v1 quickly (see benchmarks/).
"""

PRESETS: dict[str, dict] = {
    "blog-tdac": dict(algo="tdac", lr=2e-4, gamma=0.98, n_envs=1, n_steps=5, hidden=128,
                      layers=1, shared=True, activation="relu", reward_scale=0.01,
                      critic_loss="smooth_l1", vf_coef=1.0, max_grad_norm=None),
    # Adam, no gradient clipping, separate 64-64 tanh nets; short rollouts of many envs.
    "a2c": dict(algo="a2c", lr=2e-3, critic_lr=4e-3, gamma=0.99, n_envs=32, n_steps=4,
                hidden=64, max_grad_norm=None, vf_coef=0.5),
    # The one-step TD error is noisy: gamma 0.98, grad norm clipped at 1, rewards scaled by 1/20
    # (V and delta stay small), an actor 12x slower than the critic (the policy waits for V).
    # Chosen on seeds 0-29: all solved, median 128k steps (64 envs with lr 5e-4 failed 2 of them).
    "tdac": dict(algo="tdac", lr=4e-4, critic_lr=5e-3, gamma=0.98, n_envs=32, n_steps=2,
                 hidden=64, max_grad_norm=1.0, reward_scale=0.05, vf_coef=0.5),
    "reinforce": dict(algo="reinforce", lr=2e-3, gamma=0.99, n_envs=8, hidden=64,
                      max_grad_norm=None),
}
