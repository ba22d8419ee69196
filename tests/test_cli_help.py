"""``python -m acnotes --help`` and ``python -m acnotes COMMAND --help`` stay quick: they never
import torch, matplotlib, Ray, nbgrader or the Jupyter stack (nbformat), which take seconds.

Checked on what is imported rather than on a time, so that a loaded machine cannot fail it.
The command's modules hold the full lists; acnotes._names keeps copies of the few names the
parsers show, and these tests keep the copies equal to the originals.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from acnotes import _names
from acnotes.__main__ import build_parser

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "matplotlib", "ray", "nbgrader", "nbformat", "nbclient", "gymnasium", "ipywidgets", "scipy")

def commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def help_in_a_subprocess(args: list[str]) -> tuple[int, str, list[str]]:
    code = ("import json, runpy, sys\n"
            "argv, heavy = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))\n"
            "sys.argv = ['acnotes', *argv]\n"
            "try:\n"
            "    runpy.run_module('acnotes', run_name='__main__', alter_sys=True)\n"
            "    rc = 0\n"
            "except SystemExit as e:\n"
            "    rc = e.code\n"
            "loaded = sorted({m.split('.')[0] for m in sys.modules} & heavy)\n"
            "print('\\n@@' + json.dumps([rc, loaded]))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    p = subprocess.run([sys.executable, "-c", code, json.dumps(args), json.dumps(HEAVY)], capture_output=True,
                       text=True, env=env, cwd=ROOT, timeout=120)
    out, _, tail = p.stdout.rpartition("\n@@")
    assert tail, f"no report from the subprocess:\n{p.stdout}\n{p.stderr}"
    rc, loaded = json.loads(tail)
    return rc, out, loaded


@pytest.mark.parametrize("command", [None, *commands()])
def test_help_imports_nothing_heavy(command):
    args = ["--help"] if command is None else [command, "--help"]
    rc, out, loaded = help_in_a_subprocess(args)
    assert rc == 0 and "usage:" in out, out
    assert loaded == [], f"python -m acnotes {' '.join(args)} imported {', '.join(loaded)}"


def test_the_names_in_help_are_the_modules_names():
    from acnotes import estimators, sweep
    from acnotes.stored import sensitivity, studies
    from acnotes.variance import ESTIMATOR_NAMES
    from acnotes.variance.front import SWEEP_DEFAULTS

    assert _names.ESTIMATOR_NAMES == tuple(estimators.ESTIMATORS) == ESTIMATOR_NAMES
    assert _names.SWEEP_DEFAULTS is SWEEP_DEFAULTS
    assert _names.SENSITIVITY_ALGOS == tuple(sorted(sensitivity.GRIDS))
    assert _names.STUDY_NAMES == tuple(sorted(studies.STUDIES))
    assert _names.SWEEP_METRICS == tuple(sweep.METRICS)

