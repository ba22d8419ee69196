"""Drive the notebooks in JupyterLab, in headless Chromium, as a student would.

Used by tests/test_browser.py, and on its own to take the README's screenshot of a panel:

    .venv/bin/python tests/browser_support.py screenshot notebooks/03-baselines-a2c.ipynb \
        docs/images/jupyterlab-panel.png [--panel 0] [--what cell|panel|page] [--set gamma=0.95]
    .venv/bin/python tests/browser_support.py run notebooks/03-baselines-a2c.ipynb   # run + move sliders

What it does (recipe and selectors from /work/shared/TOOLING.md, checked with JupyterLab 4.6,
ipywidgets 8.1, playwright 1.65 and Debian chromium):

* ``LabServer``: ``python -m jupyter lab`` on 127.0.0.1 and a free port, on a *copy* of the
  notebooks, with empty token and password, news, autosave and windowing off, and a private
  config/runtime dir; stopped by its PID (SIGTERM, then SIGKILL of its process group).
* ``open_browser``: Debian chromium through playwright's ``launch_persistent_context`` on a new,
  empty user-data dir. Never ``playwright install``.
* ``LabNotebook``: open a notebook in a workspace of its own, wait for the kernel, clear all
  outputs, run all cells, wait for every ``[N]:`` prompt, list error outputs, find the panels of
  ``acnotes.widgets`` and move their sliders, timing key press -> new plot in the page.

Only the standard library and playwright are imported, so ``missing_requirements()`` can say
what is missing instead of failing at import.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("ACNOTES_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}

# JupyterLab user settings: no news pop-up, no autosave, every cell drawn (no windowing).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

STDERR_MIME = "application/vnd.jupyter.stderr"
# An error output (a rendered traceback) rather than a warning or a tqdm bar on stderr.
ERROR_RE = re.compile(r"Traceback|^\s*[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b(:|\s*$)", re.M)
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class BrowserTestError(AssertionError):
    """A notebook or a panel misbehaved in the browser."""


# --------------------------------------------------------------------------- requirements


def missing_requirements() -> list[str]:
    """What the browser test needs and this machine lacks (empty list: all there)."""
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"{CHROMIUM} (Debian chromium: apt-get install chromium; "
                       f"never `playwright install`)")
    for mod, pkg in (("playwright.sync_api", "playwright"), ("jupyterlab", "jupyterlab"),
                     ("ipywidgets", "ipywidgets"), ("ipykernel", "ipykernel")):
        try:
            __import__(mod)
        except ImportError as e:
            missing.append(f"the Python package {pkg} ({e}); pip install -e '.[dev]'")
    return missing


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_notebooks(src: Path, dest: Path, names: list[str] | None = None) -> Path:
    """Copy the notebooks of ``src`` (all ``*.ipynb``, or ``names``) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.glob("*.ipynb")):
        if names is None or p.name in names:
            shutil.copy2(p, dest / p.name)
    return dest


class LabServer:
    """JupyterLab serving ``root`` on 127.0.0.1; ``with LabServer(root, work) as lab: lab.url``."""

    def __init__(self, root: Path, workdir: Path, env: dict | None = None, startup_timeout: float = 90):
        self.root = Path(root)
        self.workdir = Path(workdir)
        self.extra_env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.log_path = self.workdir / "jupyter-lab.log"
        self.start_seconds = float("nan")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LabServer":
        settings, workspaces = self.workdir / "lab-settings", self.workdir / "lab-workspaces"
        config, runtime = self.workdir / "jupyter-config", self.workdir / "jupyter-runtime"
        for d in (settings, workspaces, config, runtime):
            d.mkdir(parents=True, exist_ok=True)
        for rel, value in LAB_SETTINGS.items():
            f = settings / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(value, indent=2))
        env = dict(os.environ)
        env.update({
            "JUPYTER_CONFIG_DIR": str(config),   # ignore the user's jupyter config
            "JUPYTER_RUNTIME_DIR": str(runtime),
            "JUPYTER_PLATFORM_DIRS": "1",
            # the kernel inherits these: one thread each, Chromium needs a core too
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        t0 = time.perf_counter()
        for attempt in range(3):
            self.port = free_port()
            cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={self.port}",
                   "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
                   "--IdentityProvider.token=", "--ServerApp.password=", "--allow-root",
                   f"--ServerApp.root_dir={self.root}",
                   f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workspaces}",
                   "--LabApp.news_url=", "--ServerApp.shutdown_no_activity_timeout=0",
                   # loopback-only test server: let shutdown_kernels() call the REST API plainly
                   "--ServerApp.disable_check_xsrf=True"]
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            if self._wait_ready():
                self.start_seconds = time.perf_counter() - t0
                return self
            self.stop()
        raise RuntimeError(f"JupyterLab did not start; its log:\n{self.log_tail()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/api/status", timeout=2) as r:
                    if r.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.25)
        return False

    def api(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=20) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def shutdown_kernels(self):
        """Stop every session and kernel (between notebooks: one kernel at a time)."""
        try:
            for s in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{s['id']}")
            for k in self.api("GET", "/api/kernels"):
                self.api("DELETE", f"/api/kernels/{k['id']}")
        except Exception:  # best effort; stop() cleans up anyway
            pass

    def stop(self, timeout: float = 20):
        """Stop the server by its PID (SIGTERM lets it shut its kernels down), then its group."""
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        self.shutdown_kernels()
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
        try:  # anything left in the server's own process group (its kernels)
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# --------------------------------------------------------------------------- the browser


def open_browser(playwright, user_data_dir: Path, viewport: dict | None = None):
    """A persistent Chromium context on a new, empty user-data dir."""
    Path(user_data_dir).mkdir(parents=True, exist_ok=True)
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        viewport=viewport or VIEWPORT)


# In-page helpers, installed once per page.
_JS_HELPERS = r"""
() => {
  if (window.__acn) return;
  const nb = () => document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook')
                   || document.querySelector('.jp-Notebook');
  const cells = () => { const n = nb(); return n ? Array.from(n.querySelectorAll(':scope .jp-Cell'))
                                                     .filter(c => c.parentElement.closest('.jp-Cell') === null) : []; };
  const labelOf = s => { const l = s.querySelector('.widget-label'); return l ? l.textContent.trim() : ''; };
  window.__acn = {
    state() {
      const cs = cells();
      const prompts = cs.map(c => c.classList.contains('jp-CodeCell')
          ? (c.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim() : null);
      const st = Array.from(document.querySelectorAll('.jp-StatusBar-TextItem')).map(e => e.textContent);
      const kernel = st.find(t => t.includes('|')) || '';
      const dialogs = Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.innerText.slice(0, 300));
      return {prompts, kernel, dialogs, types: cs.map(c => c.classList.contains('jp-CodeCell') ? 'code'
                 : c.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw')};
    },
    stderr() {
      const out = [];
      cells().forEach((c, i) => {
        c.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
         .forEach(o => out.push({cell: i, text: o.innerText}));
      });
      return out;
    },
    // Panels: the innermost .widget-vbox holding two or more sliders and a message line (training
    // panels: gamma and lr, or entropy and lr; the variance panel: gamma, lambda and B). Its plot
    // is an ordinary output of the same cell after the panel (display with a display id, updated
    // in place), or, in older panels, an <img> inside an Output widget of the panel.
    plotOf(b) {
      const inner = b.querySelector('.widget-output img');
      if (inner) return inner;
      let n = b.closest('.jp-OutputArea-child');
      for (n = n && n.nextElementSibling; n; n = n.nextElementSibling) {
        const img = n.querySelector('.jp-RenderedImage img');
        if (img) return img;
      }
      return null;
    },
    findPanels() {
      const sliders = Array.from(document.querySelectorAll('.widget-hslider'));
      const boxes = new Set();
      sliders.forEach(s => {
        let b = s.parentElement;
        while (b && !(b.classList.contains('widget-vbox') && b.querySelector('.widget-html')
                      && b.querySelectorAll('.widget-hslider').length >= 2))
          b = b.parentElement;
        if (b) boxes.add(b);
      });
      const inner = Array.from(boxes).filter(b => !Array.from(boxes).some(o => o !== b && b.contains(o)));
      const cs = cells();
      document.querySelectorAll('[data-acn-panel]').forEach(e => e.removeAttribute('data-acn-panel'));
      return inner.map((b, i) => {
        b.setAttribute('data-acn-panel', String(i));
        const cell = b.closest('.jp-Cell');
        const img = this.plotOf(b);
        const msg = b.querySelector('.widget-html .widget-html-content');
        return {index: i, cell: cs.indexOf(cell), has_img: !!img,
                message: msg ? msg.innerText : '',
                sliders: Array.from(b.querySelectorAll('.widget-hslider')).map(labelOf),
                algo: (() => { const d = b.querySelector('.widget-dropdown select');
                               return d && d.selectedIndex >= 0 ? d.options[d.selectedIndex].text : null; })(),
                disabled: Array.from(b.querySelectorAll('.widget-hslider'))
                            .filter(s => s.querySelector('.slider[disabled]')).map(labelOf),
                labels: Array.from(b.querySelectorAll('.widget-label')).map(l => l.textContent.trim())};
      });
    },
    panel(i) { return document.querySelector(`[data-acn-panel="${i}"]`); },
    slider(i, label) {
      const p = this.panel(i);
      return p ? Array.from(p.querySelectorAll('.widget-hslider')).find(s => labelOf(s) === label) : null;
    },
    imgSrc(i) { const p = this.panel(i); const img = p && this.plotOf(p);
                return img ? img.getAttribute('src') : null; },
    message(i) { const p = this.panel(i); const m = p && p.querySelector('.widget-html .widget-html-content');
                 return m ? m.innerText : ''; },
    // Arm a watch: time of the next keydown on the slider, and of the first new plot after it.
    arm(i, label) {
      const p = this.panel(i), s = this.slider(i, label);
      const old = this.imgSrc(i);
      const w = {old, keydown: null, changed: null, src: null};
      this.watch = w;
      s.addEventListener('keydown', () => { if (w.keydown === null) w.keydown = performance.now(); },
                         {capture: true, once: true});
      // the final plot: a new image while the message no longer says "working" or "training"
      // (a panel shows partial curves while it trains)
      const check = () => {
        if (w.changed !== null) return;
        const src = this.imgSrc(i), msg = this.message(i).trim();
        if (src && src !== old && !/^(working|training)/.test(msg)) {
          w.changed = performance.now(); w.src = src.slice(0, 64); obs.disconnect();
        }
      };
      const obs = new MutationObserver(check);
      obs.observe(p.closest('.jp-Cell') || p, {subtree: true, childList: true, characterData: true, attributes: true,
                      attributeFilter: ['src']});
      return old ? old.length : 0;
    },
  };
}
"""


@dataclass
class SliderMove:
    panel: int
    label: str
    key: str
    before: str            # the slider's readout before / after the key press
    after: str
    latency_ms: float      # keydown -> new <img> in the panel's Output, measured in the page
    message: str           # the panel's message line afterwards ("... drawn in 0.12 s", a warning...)
    kernel_seconds: float | None  # parsed from "in X s": the redraw's time in the kernel

    def as_dict(self):
        return self.__dict__.copy()


@dataclass
class RunResult:
    name: str
    open_seconds: float = float("nan")
    run_seconds: float = float("nan")
    code_cells: int = 0
    errors: list = field(default_factory=list)
    panels: list = field(default_factory=list)
    moves: list = field(default_factory=list)
    disabled: list = field(default_factory=list)   # disabled sliders pressed: {panel, label, value}


class LabNotebook:
    """One notebook open in JupyterLab, in its own page and workspace."""

    def __init__(self, context, server: LabServer, name: str, nb_path: Path | None = None):
        self.context = context
        self.server = server
        self.name = name
        self.page = context.new_page()
        self.nb_path = nb_path
        self.tags = self._read_tags(nb_path) if nb_path else None

    @staticmethod
    def _read_tags(path: Path) -> list[dict]:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        return [{"type": c.get("cell_type"), "tags": list(c.get("metadata", {}).get("tags", []))}
                for c in nb.get("cells", [])]

    # ---- opening and menus

    def open(self, timeout: float = 120) -> float:
        """Open the notebook in a fresh workspace and wait until its kernel is idle."""
        t0 = time.perf_counter()
        ws = re.sub(r"[^A-Za-z0-9]+", "-", Path(self.name).stem) + f"-{os.getpid()}-{int(t0 * 1000) % 100000}"
        self.page.goto(f"{self.server.url}/lab/workspaces/{ws}/tree/{self.name}", wait_until="domcontentloaded",
                       timeout=timeout * 1000)
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=timeout * 1000)
        self.page.evaluate(_JS_HELPERS)
        self.wait_kernel_idle(timeout)
        return time.perf_counter() - t0

    def wait_kernel_idle(self, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._accept_dialogs()
            st = self.state()
            if "(ipykernel) | Idle" in st["kernel"] or re.search(r"\|\s*Idle", st["kernel"]):
                return
            time.sleep(0.25)
        raise BrowserTestError(f"{self.name}: kernel not idle after {timeout:.0f} s "
                               f"(status bar: {self.state()['kernel']!r})")

    def _accept_dialogs(self):
        """A kernel-selection dialog (a notebook without kernelspec): accept the default."""
        d = self.page.locator(".jp-Dialog")
        if d.count():
            text = d.first.inner_text()[:300]
            if "Kernel" in text:
                self.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").first.click()
            else:
                raise BrowserTestError(f"{self.name}: unexpected dialog: {text!r}")

    def state(self) -> dict:
        self.page.evaluate(_JS_HELPERS)
        return self.page.evaluate("() => window.__acn.state()")

    def menu(self, top: str, item: str):
        bar = self.page.locator("#jp-menu-panel .lm-MenuBar-item", has_text=re.compile(rf"^\s*{re.escape(top)}\s*$"))
        bar.first.click()
        entry = self.page.locator(".lm-Menu-content .lm-Menu-item:not(.lm-mod-hidden)").filter(
            has=self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")))
        entry.first.click()

    # ---- running

    def clear_and_run_all(self, timeout: float = 360, stall: float = 20) -> float:
        """Clear all outputs, run all cells, wait until every code cell shows ``[N]:``.

        Raises BrowserTestError on timeout, or when execution stopped (idle kernel, no cell
        running or queued, some not run: a cell raised) for ``stall`` seconds.
        """
        self.menu("Edit", "Clear Outputs of All Cells")
        self.page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')).length === 0",
            timeout=30_000)
        t0 = time.perf_counter()
        self.menu("Run", "Run All Cells")
        deadline = time.monotonic() + timeout
        stalled_since = None
        while True:
            st = self.state()
            code = [p for p in st["prompts"] if p is not None]
            if code and all(re.fullmatch(r"\[\d+\]:", p) for p in code):
                return time.perf_counter() - t0
            busy = any(p == "[*]:" for p in code) or "Idle" not in st["kernel"]
            if not busy and time.perf_counter() - t0 > 3:
                stalled_since = stalled_since or time.monotonic()
                # an error output explains the stop: 2 s to settle; otherwise wait ``stall``
                grace = 2.0 if self.errors() else stall
                if time.monotonic() - stalled_since > grace:
                    not_run = [i for i, p in enumerate(st["prompts"]) if p is not None and not re.fullmatch(r"\[\d+\]:", p)]
                    raise BrowserTestError(
                        f"{self.name}: execution stopped after {time.perf_counter() - t0:.0f} s; cells not run "
                        f"(index among all cells): {not_run[:10]}; errors: {self.format_errors() or 'none shown'}")
            else:
                stalled_since = None
            if time.monotonic() > deadline:
                raise BrowserTestError(
                    f"{self.name}: not every code cell ran within {timeout:.0f} s; prompts: {code}; "
                    f"errors: {self.format_errors() or 'none shown'}")
            time.sleep(0.5)

    def errors(self) -> list[dict]:
        """Error outputs (rendered tracebacks), not warnings or progress bars on stderr.

        Cells tagged ``raises-exception`` are allowed one.
        """
        out = []
        for e in self.page.evaluate("() => window.__acn.stderr()"):
            text = ANSI_RE.sub("", e["text"])
            if not ERROR_RE.search(text):
                continue
            if self.tags and e["cell"] < len(self.tags) and "raises-exception" in self.tags[e["cell"]]["tags"]:
                continue
            out.append({"cell": e["cell"], "text": text.strip()[-1500:]})
        return out

    def format_errors(self) -> str:
        return "\n".join(f"--- cell {e['cell']}:\n{e['text']}" for e in self.errors())

    # ---- panels

    def panels(self) -> list[dict]:
        self.page.evaluate(_JS_HELPERS)
        return self.page.evaluate("() => window.__acn.findPanels()")

    def wait_panel_plots(self, timeout: float = 60):
        """Wait until every panel shows a plot (the first redraw runs while the cell runs);
        a panel whose message line reports an error instead fails at once."""
        try:
            self.page.wait_for_function(
                "() => window.__acn.findPanels().every(p => p.has_img || /(Error|Not run):/.test(p.message))",
                timeout=timeout * 1000)
        except Exception as e:
            bad = [p for p in self.panels() if not p["has_img"]]
            raise BrowserTestError(f"{self.name}: no plot {timeout:.0f} s after Run All in panel(s) "
                                   + "; ".join(f"{p['index']} (cell {p['cell']}, message {p['message']!r})" for p in bad)) from e
        bad = [p for p in self.panels() if re.search(r"(Error|Not run):", p["message"])]
        if bad:
            raise BrowserTestError(f"{self.name}: panel(s) failed to draw: "
                                   + "; ".join(f"{p['index']} (cell {p['cell']}): {p['message']}" for p in bad))

    def move_slider(self, panel: int, label: str, key: str = "ArrowLeft", timeout: float = 60) -> SliderMove:
        """Press ``key`` on the slider's handle; wait for the panel's plot to be redrawn."""
        handle = self.page.locator(f'[data-acn-panel="{panel}"] .widget-hslider').filter(
            has=self.page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
        ).locator(".noUi-handle").first
        readout = self.page.locator(f'[data-acn-panel="{panel}"] .widget-hslider').filter(
            has=self.page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
        ).locator(".widget-readout").first
        handle.scroll_into_view_if_needed()
        before = readout.inner_text().strip()
        try:  # at an end of its range, a slider can only move the other way
            now, lo, hi = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
            if key == "ArrowLeft" and now <= lo:
                key = "ArrowRight"
            elif key == "ArrowRight" and now >= hi:
                key = "ArrowLeft"
        except (TypeError, ValueError):
            pass
        self.page.evaluate("([i, l]) => window.__acn.arm(i, l)", [panel, label])
        handle.focus()
        handle.press(key)
        try:
            self.page.wait_for_function("() => window.__acn.watch.changed !== null", timeout=timeout * 1000,
                                        polling=50)
        except Exception as e:
            msg = self.page.evaluate("(i) => window.__acn.message(i)", panel)
            raise BrowserTestError(f"{self.name}: panel {panel}: no new plot {timeout:.0f} s after {key} on "
                                   f"{label!r} (value {before} -> {readout.inner_text().strip()}); "
                                   f"message line: {msg!r}") from e
        w = self.page.evaluate("() => window.__acn.watch")
        after = readout.inner_text().strip()
        # the message line is set before the plot is displayed; read it now
        msg = self.page.evaluate("(i) => window.__acn.message(i)", panel).strip()
        m = re.search(r"\bin ([\d.]+) s\b", msg)
        latency = (w["changed"] - w["keydown"]) if w["keydown"] is not None else float("nan")
        return SliderMove(panel, label, key, before, after, round(latency, 1), msg,
                          float(m.group(1)) if m else None)

    def try_disabled(self, panel: int, label: str, wait: float = 1.5) -> dict:
        """Press keys on a disabled slider; fail if its value or the plot changes."""
        slider = self.page.locator(f'[data-acn-panel="{panel}"] .widget-hslider').filter(
            has=self.page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))).first
        handle, readout = slider.locator(".noUi-handle").first, slider.locator(".widget-readout").first
        handle.scroll_into_view_if_needed()
        before, src = readout.inner_text().strip(), self.page.evaluate("(i) => window.__acn.imgSrc(i)", panel)
        handle.focus()
        for key in ("ArrowRight", "ArrowLeft", "End"):
            handle.press(key)
        self.page.wait_for_timeout(wait * 1000)
        after, now = readout.inner_text().strip(), self.page.evaluate("(i) => window.__acn.imgSrc(i)", panel)
        if after != before or now != src:
            raise BrowserTestError(f"{self.name}: panel {panel}: the disabled slider {label!r} moved "
                                   f"({before} -> {after}) or the plot changed")
        return {"panel": panel, "label": label, "value": before}

    def set_slider(self, panel: int, label: str, value: str, timeout: float = 120):
        """Move the slider with the arrow keys until its readout shows ``value`` (a number),
        waiting for the plot after each step. (A panel's sliders offer fixed values, and
        their readouts cannot be typed into.)"""
        readout = self.page.locator(f'[data-acn-panel="{panel}"] .widget-hslider').filter(
            has=self.page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
        ).locator(".widget-readout").first
        want = float(value)
        for _ in range(60):
            now = float(readout.inner_text().strip())
            if abs(now - want) <= 1e-9 * max(1.0, abs(want)):
                return
            self.move_slider(panel, label, "ArrowLeft" if now > want else "ArrowRight", timeout=timeout)
        raise BrowserTestError(f"{self.name}: panel {panel}: slider {label!r} did not reach {value} "
                               f"(it offers fixed values; is {value} one of them?)")

    # ---- pictures

    def screenshot(self, path: Path, what: str = "page", panel: int = 0):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if what == "page":
            self.page.screenshot(path=str(path), full_page=True)
            return path
        if what == "full":  # the whole notebook: a window as tall as the notebook, then back
            old = self.page.viewport_size
            h = self.page.evaluate(
                "() => { const s = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');"
                " return s ? s.scrollHeight : 0; }")
            self.page.set_viewport_size({"width": old["width"], "height": int(min(max(h + 200, old["height"]), 16000))})
            try:
                self.page.wait_for_timeout(300)
                self.page.evaluate(
                    "() => { const s = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');"
                    " if (s) s.scrollTop = 0; }")
                self.page.wait_for_timeout(500)
                self.page.screenshot(path=str(path), full_page=True)
            finally:
                self.page.set_viewport_size(old)
            return path
        self.collapse_left_sidebar()  # a wider notebook: the panel's code line not cut off
        target = self.page.locator(f'[data-acn-panel="{panel}"]')
        if what == "cell":
            target = self.page.locator(".jp-Cell").filter(has=target)
        target.first.scroll_into_view_if_needed()
        # no focus ring, no hover highlight, no blinking cursor in the picture
        self.page.mouse.move(0, 0)
        self.page.evaluate("() => document.activeElement && document.activeElement.blur()")
        self.page.wait_for_timeout(300)
        target.first.screenshot(path=str(path))
        return path

    def collapse_left_sidebar(self):
        tab = self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
        if tab.count() and self.page.locator("#jp-left-stack").is_visible():
            tab.first.click()
            self.page.wait_for_timeout(500)

    def close(self):
        try:
            self.page.close()
        finally:
            self.server.shutdown_kernels()


def run_notebook(context, server: LabServer, name: str, nb_path: Path | None, timeout: float = 360,
                 slider_timeout: float = 60, keys=(("gamma", "ArrowLeft"), ("lr", "ArrowLeft"))):
    """Open ``name``, run it all, check for errors, move each panel's sliders. Returns
    ``(RunResult, LabNotebook)``; on a failure the exception carries ``.notebook`` and ``.result``."""
    nb = LabNotebook(context, server, name, nb_path)
    res = RunResult(name)
    try:
        res.open_seconds = nb.open()
        res.run_seconds = nb.clear_and_run_all(timeout=timeout)
        res.code_cells = sum(1 for p in nb.state()["prompts"] if p is not None)
        res.errors = nb.errors()
        if res.errors:
            raise BrowserTestError(f"{name}: error outputs after Run All:\n{nb.format_errors()}")
        res.panels = nb.panels()
        if res.panels:
            nb.wait_panel_plots(timeout=slider_timeout)
            res.panels = nb.panels()
        for p in res.panels:
            first_src = nb.page.evaluate("(i) => window.__acn.imgSrc(i)", p["index"])
            for label in p.get("disabled", []):   # a control the algorithm does not use stays put
                res.disabled.append(nb.try_disabled(p["index"], label))
            # the keys' sliders; where a panel lacks one (the variance panel has no "lr"), the
            # next of its sliders that no key names
            spare = [lab for lab in p["sliders"] if lab not in dict(keys)]
            moves = []
            for label, key in keys:
                if label not in p["sliders"]:
                    if not spare:
                        continue
                    label = spare.pop(0)
                moves.append((label, key))
            # A training panel stores every setting in which only its first two sliders moved:
            # move the first slider (stored), move it back (drawn before), move the second
            # (stored), the first again (both moved: stored), and, where there is one, a third
            # slider (three controls away from the start: trained live).
            if len(moves) >= 2:
                (a, ka), (b, kb) = moves[:2]
                moves = [(a, ka), (a, None), (b, kb), (a, ka)]
                third = [lab for lab in p["sliders"] if lab not in (a, b)]
                if third:
                    moves.append((third[0], "ArrowRight"))
            first_key = None
            for label, key in moves:
                if key is None:   # back to where the first move started
                    key = "ArrowRight" if first_key == "ArrowLeft" else "ArrowLeft"
                mv = nb.move_slider(p["index"], label, key, timeout=slider_timeout)
                first_key = first_key or mv.key
                res.moves.append(mv)
                if re.search(r"\b(Error|Not run):", mv.message):
                    raise BrowserTestError(f"{name}: panel {p['index']} (cell {p['cell']}) after {key} on "
                                           f"{label}: {mv.message}")
            last_src = nb.page.evaluate("(i) => window.__acn.imgSrc(i)", p["index"])
            if last_src == first_src:
                raise BrowserTestError(f"{name}: panel {p['index']}: the plot did not change")
        res.errors = nb.errors()
        if res.errors:
            raise BrowserTestError(f"{name}: error outputs after moving the sliders:\n{nb.format_errors()}")
    except BaseException as e:
        e.notebook = nb
        e.result = res
        raise
    return res, nb


# --------------------------------------------------------------------------- command line


def _cli(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Run a notebook in JupyterLab (headless Chromium) "
                                 "and move its panels' sliders, or take a screenshot of a panel.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("screenshot", help="screenshot of a panel as a student sees it after Run All")
    s.add_argument("notebook", type=Path)
    s.add_argument("out", type=Path)
    s.add_argument("--panel", type=int, default=0, help="which panel of the notebook (default: the first)")
    s.add_argument("--what", choices=("cell", "panel", "page", "full"), default="cell",
                   help="the panel's cell (default), the panel alone, the window, or the whole notebook")
    s.add_argument("--width", type=int, default=1280, help="window width in px (default 1280)")
    s.add_argument("--timeout", type=float, default=600)
    s.add_argument("--set", action="append", default=[], metavar="LABEL=VALUE",
                   help="before the picture, type VALUE into the slider LABEL (repeatable)")
    r = sub.add_parser("run", help="run a notebook, move its sliders, print latencies")
    r.add_argument("notebook", type=Path)
    r.add_argument("--timeout", type=float, default=360)
    r.add_argument("--screenshot", type=Path, help="full-window screenshot at the end")
    a = ap.parse_args(argv)

    missing = missing_requirements()
    if missing:
        print("missing: " + "; ".join(missing), file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    nb_path = a.notebook.resolve()
    if not nb_path.is_file():
        print(f"error: no notebook {a.notebook}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="acnotes-browser-"))
    try:
        copy = copy_notebooks(nb_path.parent, work / "notebooks", [nb_path.name])
        with LabServer(copy, work) as server, sync_playwright() as pw:
            viewport = {"width": getattr(a, "width", 1280), "height": 900}
            ctx = open_browser(pw, work / "chromium-profile", viewport)
            try:
                t0 = time.perf_counter()
                if a.cmd == "screenshot":
                    nb = LabNotebook(ctx, server, nb_path.name, copy / nb_path.name)
                    nb.open()
                    nb.clear_and_run_all(timeout=a.timeout)
                    if nb.errors():
                        print(f"error outputs:\n{nb.format_errors()}", file=sys.stderr)
                        return 1
                    panels = nb.panels()
                    if a.panel >= len(panels):
                        print(f"error: {nb_path.name} has {len(panels)} panel(s), no panel {a.panel}", file=sys.stderr)
                        return 1
                    nb.wait_panel_plots()
                    for item in a.set:
                        label, _, value = item.partition("=")
                        nb.set_slider(a.panel, label, value, timeout=a.timeout)
                    nb.screenshot(a.out, a.what, a.panel)
                    print(f"wrote {a.out} ({a.what} of panel {a.panel} in {nb_path.name}, "
                          f"{time.perf_counter() - t0:.0f} s)")
                else:
                    res, nb = run_notebook(ctx, server, nb_path.name, copy / nb_path.name, timeout=a.timeout)
                    print(f"{res.name}: opened in {res.open_seconds:.1f} s, ran {res.code_cells} code cells "
                          f"in {res.run_seconds:.1f} s, {len(res.panels)} panel(s)")
                    for m in res.moves:
                        print(f"  panel {m.panel} {m.label:5s} {m.before} -> {m.after}: new plot after "
                              f"{m.latency_ms:.0f} ms (kernel {m.kernel_seconds} s) {m.message!r}")
                    if a.screenshot:
                        nb.screenshot(a.screenshot, "page")
                nb.close()
            finally:
                ctx.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
