"""Run the command line in-process, for tests: ``cli(*argv)`` -> (exit status, stdout, stderr)."""

from __future__ import annotations

import contextlib
import io

from acnotes.__main__ import main


def cli(*argv):
    """Run ``python -m acnotes ARGV`` in-process: (exit status, stdout, stderr).

    Any exception other than SystemExit propagates, so a traceback fails the test.
    """
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def modules_holding_train_population():
    """The modules that hold train_population, imported now: one imported while it is patched
    would keep the patch for good."""
    import importlib

    from acnotes import train as engine
    from acnotes.__main__ import build_parser
    build_parser()
    names = ["acnotes.train", "acnotes.stored.studies", "acnotes.stored.sensitivity", "acnotes.stored.atlas",
             "acnotes.sweep.chunks", "acnotes.variance.cartpole_grad", "acnotes.stored.ablations",
             "acnotes.stored.blogruns"]
    mods = [importlib.import_module(n) for n in names]
    return [m for m in mods if getattr(m, "train_population", None) is engine.train_population]
