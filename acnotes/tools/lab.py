"""Open the notebook series in JupyterLab: what ``make lab`` runs.

    python -m acnotes.tools.lab notebooks                 # = make lab
    python -m acnotes.tools.lab notebooks --port=9999     # options after the folder go to jupyter lab

JupyterLab listens on 127.0.0.1 only (the notebooks run code: nobody else on the network should
reach them) and keeps its token. Run as root, as in a Docker container, it refuses to start
unless told ``--allow-root``; this passes it then, and only then. tests/test_lab.py starts
JupyterLab with this command line on a free port and reads the notebooks back from it.
"""

from __future__ import annotations

import os
import sys


def command(folder: str, extra: list[str] | None = None) -> list[str]:
    """The command line that serves ``folder`` in JupyterLab, with the Python running this."""
    cmd = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return [*cmd, *(extra or []), folder]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        print("usage: python -m acnotes.tools.lab FOLDER [JUPYTER LAB OPTIONS...]", file=sys.stderr)
        return 2
    cmd = command(argv[0], argv[1:])
    sys.stdout.flush()
    os.execv(cmd[0], cmd)  # JupyterLab takes this process over: Ctrl-C and signals reach it directly


if __name__ == "__main__":
    sys.exit(main())
