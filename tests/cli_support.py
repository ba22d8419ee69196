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
