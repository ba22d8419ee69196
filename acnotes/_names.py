"""Names and defaults the command line shows in ``--help``, in a module free of torch.

``python -m acnotes COMMAND --help`` builds every command's parser; with these here it never
imports torch. tests/test_cli_help.py checks that they agree with the modules that use them
(``estimators.ESTIMATORS``, ``variance.front``).
"""

# the estimators, in the order acnotes.estimators registers them
ESTIMATOR_NAMES: tuple[str, ...] = ("reinforce", "reinforce_baseline", "qac", "a2c", "tdac", "gae")

# the values the variance lab sweeps when none are given (acnotes.variance.front uses these)
SWEEP_DEFAULTS = {"B": (1, 4, 16, 64), "gamma": (0.5, 0.8, 0.9, 0.95, 0.99),
                  "lam": (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)}

# the variance lab's bounds on K and B (all K*B episodes are held in memory at once)
VARIANCE_MAX_K = 100_000
VARIANCE_MAX_B = 10_000

# the keys of acnotes.stored.sensitivity.GRIDS and acnotes.stored.studies.STUDIES, and acnotes.sweep.METRICS
SENSITIVITY_ALGOS: tuple[str, ...] = ("a2c", "tdac")
STUDY_NAMES: tuple[str, ...] = ("rollouts-a2c", "timescales-a2c", "timescales-tdac")
SWEEP_METRICS: tuple[str, ...] = ("steps_to_target", "seconds_to_target", "final_return", "auc", "episodes",
                                  "env_steps", "wall_time")
