"""``make lab`` starts JupyterLab for every user: root included (a Docker container), on loopback.

The Makefile's recipe runs ``acnotes.tools.lab``; the test runs that same command line on a copy
of the notebooks and a free port, waits until JupyterLab serves, reads the folder listing over
its REST API, and stops it. It starts a server (a few seconds to a minute on a loaded machine),
so it is marked ``lab``: ``make test`` runs it, ``make test-fast`` does not.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from acnotes.tools import lab

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def recipe(target: str) -> list[str]:
    """The command lines of a Makefile target, as written."""
    text = (ROOT / "Makefile").read_text()
    m = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", text, re.M)
    assert m, f"the Makefile has no {target} target"
    return [line.strip() for line in m.group(1).splitlines()]


def test_make_lab_runs_the_lab_tool_on_the_notebooks():
    assert recipe("lab") == ["$(PY) -m acnotes.tools.lab notebooks"]


def test_command_binds_to_loopback_and_allows_root_only_as_root(monkeypatch):
    for uid, root in ((0, True), (1000, False)):
        monkeypatch.setattr(os, "geteuid", lambda uid=uid: uid)
        cmd = lab.command("notebooks", ["--port=1"])
        assert cmd[:3] == [sys.executable, "-m", "jupyterlab"] and cmd[-1] == "notebooks"
        assert "--ServerApp.ip=127.0.0.1" in cmd and ("--allow-root" in cmd) == root
        assert "--port=1" in cmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


@pytest.mark.lab
def test_lab_serves_the_notebooks(tmp_path):
    copy = tmp_path / "notebooks"   # JupyterLab may write checkpoints next to what it serves
    shutil.copytree(NOTEBOOKS, copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    names = sorted(p.name for p in copy.glob("*.ipynb"))
    assert names
    port, token = free_port(), secrets.token_hex(16)
    argv = recipe("lab")[0].split()[1:]           # ["-m", "acnotes.tools.lab", "notebooks"]
    assert argv[:2] == ["-m", "acnotes.tools.lab"]
    cmd = [sys.executable, *argv[:2], str(copy), "--no-browser", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--LabApp.user_settings_dir={tmp_path / 'settings'}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}"]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    log = open(tmp_path / "lab.log", "w+")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline, listing = time.monotonic() + 180, None
        while listing is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"JupyterLab {'exited with ' + str(proc.returncode) if proc.poll() is not None else 'did not serve in 180 s'}:"
                            f"\n{log.read()[-3000:]}")
            try:
                status, body = get(f"http://127.0.0.1:{port}/api/contents/", token)
                listing = json.loads(body)
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        assert status == 200
        served = sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")
        assert served == names
        status, body = get(f"http://127.0.0.1:{port}/api/contents/{names[0]}?content=1", token)
        assert status == 200 and json.loads(body)["content"]["cells"]
        status, body = get(f"http://127.0.0.1:{port}/lab", token)
        assert status == 200 and b"JupyterLab" in body
        log.seek(0)
        text = log.read()
        assert "Running as root is not recommended" not in text and "127.0.0.1" in text
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)   # the server's own session (start_new_session)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
