"""Helpers for the real-browser tests (``tests/test_browser.py``): a private JupyterLab server and a page driver.

* :class:`LabServer` starts ``jupyter lab`` on 127.0.0.1 with a free port, a random token and private
  config/runtime/workspace/settings folders (the "Jupyter news" toast disabled, every notebook cell kept in the
  page), serving a temporary folder; :meth:`LabServer.stop` kills its whole process group.
* :class:`NotebookPage` drives one notebook in Chromium through Playwright and JupyterLab's own command
  registry (``--expose-app-in-browser`` makes ``window.jupyterapp`` available): open, run all cells with a
  bounded wait, read errors and outputs, move a slider, edit and run a cell, measure how long a widget control
  takes from the key press (or click) to the new picture on screen (:meth:`NotebookPage.control_latencies`),
  tell whether the open notebook differs from its file (:meth:`NotebookPage.is_dirty`).
* :func:`latency_summary` turns latency samples into p50/p95/max.
* What every browser test file shares: :func:`browser_unavailable` (why the tests are skipped here, or None),
  :func:`serving_lab` (a LabServer on a copy of some course folders, optionally made ready for ``make`` with
  :func:`prepare_for_make`), :func:`chromium` (a headless Chromium context), :meth:`NotebookPage.run_new_cell`
  and a terminal in the Lab (:func:`open_terminal`, :func:`wait_terminal`).

Every wait is bounded and every failure message names the notebook and the step.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LAB_STARTUP_SECONDS = 60

# JupyterLab settings for the private config folder: no news/update toasts, and every cell rendered in the
# page (the default "full" windowing mode leaves off-screen cells out of the DOM, hiding their outputs).
PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def blank_band(data_uri: str) -> float:
    """Height fraction of the tallest band of all-white rows in a PNG ``data:`` URI (1.0: a blank picture).

    A matplotlib figure always has ink (axes, ticks, labels) in every fifth of its height, so a band taller
    than half the picture means the figure was not (fully) drawn.
    """
    import base64
    import io

    import numpy as np
    from PIL import Image

    if not data_uri.startswith("data:image/png;base64,"):
        raise ValueError(f"expected a PNG data URI; got {data_uri[:40]!r}")
    gray = np.asarray(Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1]))).convert("L"))
    white = (gray >= 250).all(axis=1)
    best = run = 0
    for row in white:
        run = run + 1 if row else 0
        best = max(best, run)
    return best / max(1, len(white))


class BrowserTestError(AssertionError):
    """A step of a browser test failed; the message names the notebook and the step."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_private_config(config_dir: Path) -> None:
    """page_config.json and user settings that keep toasts away and all cells in the DOM."""
    labconfig = config_dir / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(json.dumps(PAGE_CONFIG, indent=1), encoding="utf-8")
    for rel, values in USER_SETTINGS.items():
        path = config_dir / "lab" / "user-settings" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=1), encoding="utf-8")


@dataclass
class LabServer:
    """A JupyterLab server serving ``root`` on 127.0.0.1, with private state under ``state``."""

    root: Path
    state: Path
    port: int = 0
    token: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.state / "lab.log"

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def start(self) -> None:
        self.port, self.token = free_port(), secrets.token_hex(16)
        config = self.state / "config"
        write_private_config(config)
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(config),
            JUPYTERLAB_SETTINGS_DIR=str(config / "lab" / "user-settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.state / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(self.state / "runtime"),
            IPYTHONDIR=str(self.state / "ipython"),
        )
        args = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            f"--IdentityProvider.token={self.token}", "--expose-app-in-browser",
            f"--ServerApp.root_dir={self.root}", "--ServerApp.port_retries=0",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(args, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + LAB_STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserTestError(f"JupyterLab exited early ({self.process.returncode}):\n{self.log_tail()}")
            if self._status() == 200:
                return
            time.sleep(0.3)
        raise BrowserTestError(f"JupyterLab did not answer /api/status within {LAB_STARTUP_SECONDS} s:\n"
                               f"{self.log_tail()}")

    def _status(self) -> int | None:
        request = urllib.request.Request(f"{self.base_url}/api/status",
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (OSError, urllib.error.URLError):
            return None

    def stop(self) -> None:
        """Terminate the server's process group (server and kernels); SIGKILL what is left."""
        process = self.process
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a zombie we cannot reap
            pass

    def url(self, path: str) -> str:
        return f"{self.base_url}/lab/tree/{path}?reset&token={self.token}"


def copy_course(repo: Path, dest: Path, folders: tuple[str, ...]) -> Path:
    """A copy of the course folders under ``dest`` (so that nothing writes into the repository)."""
    for folder in folders:
        if (repo / folder).is_dir():
            shutil.copytree(repo / folder, dest / folder,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return dest


def browser_unavailable(repo: Path, *, make: bool = False) -> str | None:
    """Why the browser tests cannot run here (no Chromium, no playwright; with ``make``: no make or no course
    ``.venv``), or None."""
    if not CHROMIUM.exists():
        return (f"browser tests need Chromium at {CHROMIUM} (Debian/Ubuntu: `sudo apt-get install chromium`); "
                "not found, so they are skipped")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need the playwright package (`pip install -e '.[test]'`); not installed"
    if make and shutil.which("make") is None:
        return "make is not installed"
    if make and not (repo / ".venv" / "bin" / "python").exists():
        return "the course's .venv is missing (run make venv)"
    return None


def prepare_for_make(repo: Path, root: Path) -> str | None:
    """Make the course copy ``root`` a folder where ``make grade`` works as in a learner's: the Makefile and
    pyproject.toml (mtimes kept), the repository's ``.venv`` and ``lecture_lib`` linked in. Returns why it cannot
    (the ``.venv`` is older than pyproject.toml), or None."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(repo / name, root / name)  # keeps the mtime: make sees the same, up-to-date install
    (root / ".venv").symlink_to(repo / ".venv")
    (root / "lecture_lib").symlink_to(repo / "lecture_lib")  # make's kernel rule depends on lecture_lib/kernel.py
    dry = subprocess.run(["make", "-n", "grade", "PART=B"], cwd=root, capture_output=True, text=True, timeout=60)
    return "the course's .venv is older than pyproject.toml (run make venv)" if "pip install" in dry.stdout else None


@contextmanager
def serving_lab(repo: Path, base: Path, folders: tuple[str, ...],
                prepare: Callable[[Path], str | None] | None = None) -> Iterator[LabServer]:
    """A running :class:`LabServer` on a copy of ``folders`` of ``repo`` under ``base``; stopped afterwards.

    ``prepare(root)`` runs on the copy first and may return a reason to skip (raised as ``pytest.skip``).
    """
    import pytest

    root = copy_course(repo, base / "course", folders)
    reason = prepare(root) if prepare is not None else None
    if reason:
        pytest.skip(reason)
    (base / "state").mkdir()
    server = LabServer(root, base / "state")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextmanager
def chromium(profile: Path, viewport: dict[str, int], **options: Any) -> Iterator[Any]:
    """A headless Chromium browser context (playwright) with a fresh profile; ``options`` e.g. ``locale``.

    Use it for one test module at a time: playwright's sync API keeps an asyncio event loop running in this
    thread until it stops, and that loop would make ``asyncio.run()`` fail in every test file collected later.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, viewport=viewport,
            timeout=60_000, **options)
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()


# --------------------------------------------------------------------------------------- a terminal in Lab
_JS_TERMINAL_TEXT = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const term = w && w.content && w.content._term;
  if (!term) return null;
  const buf = term.buffer.active;
  const lines = [];
  for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i).translateToString(true));
  return lines.join('\\n');
}"""


def terminal_text(page: Any) -> str:
    """The text of the terminal in the current tab ('' when the current tab is not a terminal)."""
    return page.evaluate(_JS_TERMINAL_TEXT) or ""


def wait_terminal(page: Any, pattern: str, timeout_s: float, step: str, shot: Path) -> str:
    """The terminal's text once ``pattern`` (a multi-line regex) shows; else a screenshot to ``shot`` and
    :class:`BrowserTestError` naming ``step``."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = terminal_text(page)
        if re.search(pattern, text, re.M):
            return text
        time.sleep(0.5)
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))
    raise BrowserTestError(f"terminal: {step}: {pattern!r} not seen within {timeout_s:g} s; it shows:\n{text[-3000:]}")


def open_terminal(page: Any, server: LabServer, folder: str, shot: Path) -> None:
    """Open Lab in ``page``, browse the file browser into ``folder`` (e.g. ``"exercises/ja"``) and open a
    terminal from the Launcher there, as a learner does; returns at the shell prompt."""
    page.goto(f"{server.base_url}/lab?reset&token={server.token}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=60_000)
    for name in folder.split("/"):
        page.locator(f".jp-DirListing-item[title^='Name: {name}']").first.dblclick(timeout=30_000)
        page.wait_for_function(f"() => document.querySelector('.jp-FileBrowser-crumbs').innerText.includes({name!r})",
                               timeout=30_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('launcher:create'); return true; }")
    page.locator(".jp-LauncherCard:visible", has_text="Terminal").first.click(timeout=30_000)
    page.wait_for_function("() => { const w = window.jupyterapp.shell.currentWidget;"
                           " return !!(w && w.content && w.content._term); }", timeout=60_000)
    wait_terminal(page, r"[$#] ?$", 30, "waiting for the shell prompt", shot)
    page.locator(".jp-Terminal").first.click()


def make_grade_in_terminal(context: Any, server: LabServer, folder: str, part: str, artifacts: Path,
                           name: str) -> str:
    """A learner's ``make grade PART=<part>`` in a terminal opened in ``folder``: the terminal's text from the
    command on (a screenshot ``<name>.png`` in ``artifacts``); fails unless the shell started in ``folder`` and
    make exited with 0."""
    shot = artifacts / f"FAILED-{name}.png"
    page = context.new_page()
    try:
        open_terminal(page, server, folder, shot)
        page.keyboard.type(f"pwd; make grade PART={part}; echo grading-exit=$?\n")
        text = wait_terminal(page, r"^grading-exit=\d+", 300, f"running make grade PART={part} in {folder}", shot)
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / f"{name}.png"))
    finally:
        page.close()
    if not re.search(rf"^/\S*/course/{re.escape(folder)}\s*$", text, re.M):
        raise BrowserTestError(f"the terminal did not start in {folder}/:\n{text}")
    if "grading-exit=0" not in text:
        raise BrowserTestError(f"make grade PART={part} failed in {folder}:\n{text}")
    return text


# ------------------------------------------------------------------------------------------ page driver
_JS_ADD_CELL = """([source]) => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const n = nb.model.cells.length;
  nb.model.sharedModel.insertCell(n, {cell_type: 'code', source: source});
  return n;
}"""

# Start "Run All Cells" without waiting; the outcome lands in window.__lecture26RunAll.
_JS_START_RUN_ALL = """([path]) => {
  const app = window.jupyterapp;
  const widget = app.shell.currentWidget;
  if (!widget || !widget.context || widget.context.path !== path) {
    return 'the current tab is ' + (widget && widget.context ? widget.context.path : 'no document');
  }
  window.__lecture26RunAll = 'running';
  app.commands.execute('notebook:run-all-cells').then(
    r => { window.__lecture26RunAll = (r === false ? 'failed' : 'done'); },
    e => { window.__lecture26RunAll = 'error: ' + e; });
  return 'started';
}"""

_JS_NOTEBOOK_READY = """([path]) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return false;
  const widget = app.shell.currentWidget;
  if (!widget || !widget.context || widget.context.path !== path || !widget.content) return false;
  const sc = widget.sessionContext;
  return widget.context.isReady && sc && sc.session && sc.session.kernel
    && sc.session.kernel.connectionStatus === 'connected' && sc.kernelDisplayStatus === 'idle';
}"""

_JS_KERNEL_IDLE = """() => {
  const widget = window.jupyterapp.shell.currentWidget;
  const sc = widget && widget.sessionContext;
  return !!sc && sc.kernelDisplayStatus === 'idle';
}"""

_JS_MODEL_SUMMARY = """() => {
  const widget = window.jupyterapp.shell.currentWidget;
  const cells = widget.content.model.cells;
  const out = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') { out.push({type: cell.type}); continue; }
    const tags = cell.getMetadata('tags') || [];
    const errors = [];
    for (let j = 0; j < cell.outputs.length; j++) {
      const o = cell.outputs.get(j).toJSON();
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
      else if (o.output_type === 'stream' && o.name === 'stderr' && /Traceback|Error/.test(String(o.text)))
        errors.push('stderr: ' + String(o.text).slice(0, 500));
    }
    out.push({type: 'code', count: cell.executionCount, tags: tags, errors: errors,
              source: cell.sharedModel.getSource().slice(0, 120)});
  }
  return out;
}"""

# The result a slider drives: the nearest enclosing widget box that holds a widget Output area.
# A widget shows its result either in an Output widget (text outputs and images) or in its own widgets: an Image
# widget (the picture) and an HTML widget holding <pre> text (class ``lecture26-text``).
_JS_RESULT_STATE = """(slider) => {
  const RESULT = '.widget-output, .widget-image';
  let box = slider;
  while (box && !box.querySelector(RESULT)) box = box.parentElement;
  if (!box) return null;
  const out = box.querySelector('.widget-output') || box;
  const texts = [...out.querySelectorAll('.jp-OutputArea-output, .lecture26-text')]
    .filter(o => !o.querySelector('img')).map(o => o.innerText).join('\\n');
  const imgs = [...box.querySelectorAll('.widget-output img, img.widget-image')];
  const images = imgs.map(i => i.getAttribute('src') || '');
  const loaded = imgs.every(i => i.complete && i.naturalWidth > 0);
  const readout = slider.querySelector('.widget-readout');
  return {text: texts, images: images, loaded: loaded, readout: readout ? readout.innerText : '',
          errors: [...box.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"], .lecture26-error')]
                  .map(e => e.innerText)};
}"""

# PNG data URIs of the pictures in a slider's result (an Image widget's <img> has a blob: URL: drawn to a canvas).
_JS_RESULT_PNGS = """(slider) => {
  let box = slider;
  while (box && !box.querySelector('.widget-output, .widget-image')) box = box.parentElement;
  return [...box.querySelectorAll('.widget-output img, img.widget-image')].map(img => {
    const src = img.getAttribute('src') || '';
    if (src.startsWith('data:image/png')) return src;
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    canvas.getContext('2d').drawImage(img, 0, 0);
    return canvas.toDataURL('image/png');
  });
}"""

# Arm a latency probe on a control: the time of its next key press or pointer press (t0) and of the moment a new
# picture in its result is decoded and painted (t1), both from performance.now() in the page. A picture counts as
# new when its <img> element was not there before or its src changed.
_JS_ARM_LATENCY = """(control) => {
  let box = control;
  while (box && !box.querySelector('.widget-output, .widget-image')) box = box.parentElement;
  if (!box) return 'no widget Output area or Image widget encloses the control';
  const pictures = () => [...box.querySelectorAll('.widget-output img, img.widget-image')];
  const before = new Map(pictures().map(i => [i, i.getAttribute('src')]));
  const rec = {t0: null, t1: null, pending: false};
  window.__lecture26Latency = rec;
  const start = () => { if (rec.t0 === null) rec.t0 = performance.now(); };
  for (const type of ['keydown', 'pointerdown']) control.addEventListener(type, start, {capture: true, once: true});
  const check = () => {
    if (rec.t0 === null || rec.pending) return;
    // a new <img> (an Output widget re-displays) or a new src (an Image widget), even if the picture is the same
    const fresh = pictures().filter(i => i.getAttribute('src') && before.get(i) !== i.getAttribute('src'));
    if (!fresh.length) return;
    rec.pending = true;
    obs.disconnect();
    Promise.all(fresh.map(i => i.decode().catch(() => null)))
      .then(() => requestAnimationFrame(() => { rec.t1 = performance.now(); }));
  };
  const obs = new MutationObserver(check);
  obs.observe(box, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  rec.cancel = () => obs.disconnect();
  return 'armed';
}"""

# The next action on a control: its kind, and for a slider the key that keeps the handle inside its range.
_JS_SLIDER_KEY = """(slider) => {
  const h = slider.querySelector('.noUi-handle');
  const now = parseFloat(h.getAttribute('aria-valuenow')), max = parseFloat(h.getAttribute('aria-valuemax'));
  const min = parseFloat(h.getAttribute('aria-valuemin'));
  const dir = slider.dataset.lecture26Dir || 'ArrowRight';
  let key = dir;
  if (dir === 'ArrowRight' && now >= max) key = 'ArrowLeft';
  if (dir === 'ArrowLeft' && now <= min) key = 'ArrowRight';
  slider.dataset.lecture26Dir = key;
  return key;
}"""

_JS_CELL_SOURCE = """([index]) => window.jupyterapp.shell.currentWidget.content.model.cells.get(index).sharedModel.getSource()"""

_JS_CELL_OUTPUT_TEXT = """([index]) => {
  const cell = window.jupyterapp.shell.currentWidget.content.model.cells.get(index);
  const parts = [];
  for (let j = 0; j < cell.outputs.length; j++) {
    const o = cell.outputs.get(j).toJSON();
    if (o.output_type === 'stream') parts.push(Array.isArray(o.text) ? o.text.join('') : o.text);
    else if (o.output_type === 'error') parts.push(o.ename + ': ' + o.evalue);
    else if (o.data && o.data['text/plain']) parts.push(String(o.data['text/plain']));
  }
  return {count: cell.executionCount, text: parts.join('\\n')};
}"""


def latency_summary(samples_ms: list[float]) -> dict[str, float]:
    """``{"n", "p50_ms", "p95_ms", "max_ms"}`` of latency samples (percentiles by linear interpolation)."""
    import numpy as np

    if not samples_ms:
        raise ValueError("samples_ms must hold at least one latency")
    data = np.asarray(samples_ms, dtype=float)
    return {"n": int(data.size), "p50_ms": round(float(np.percentile(data, 50)), 1),
            "p95_ms": round(float(np.percentile(data, 95)), 1), "max_ms": round(float(data.max()), 1)}


class NotebookPage:
    """One notebook open in JupyterLab in one Chromium page."""

    def __init__(self, page: Any, server: LabServer, path: str, artifacts: Path) -> None:
        self.page, self.server, self.path, self.artifacts = page, server, path, artifacts
        self.run_started = time.monotonic()

    def fail(self, step: str, detail: str = "") -> BrowserTestError:
        """An error naming the notebook and the step, with any open dialog's text and a screenshot."""
        extra = ""
        try:
            dialogs = self.page.locator(".jp-Dialog").all_inner_texts()
            if dialogs:
                extra += f"; a dialog is open: {' | '.join(d[:200] for d in dialogs)!r}"
        except Exception:  # noqa: BLE001 - best effort only
            pass
        shot = self.artifacts / f"FAILED-{Path(self.path).stem}.png"
        try:
            shot.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(shot), full_page=False, timeout=10_000)
            extra += f" (screenshot: {shot})"
        except Exception:  # noqa: BLE001 - best effort only
            pass
        return BrowserTestError(f"{self.path}: {step} failed" + (f": {detail}" if detail else "") + extra)

    def wait_for(self, js: str, arg: Any, step: str, timeout_s: float) -> None:
        try:
            self.page.wait_for_function(js, arg=arg, timeout=timeout_s * 1000, polling=200)
        except Exception as exc:  # playwright TimeoutError and friends
            raise self.fail(step, f"not within {timeout_s:g} s ({type(exc).__name__})") from None

    # ----------------------------------------------------------------------------------------- steps
    def open(self, timeout_s: float = 60) -> None:
        try:
            self.page.goto(self.server.url(self.path), wait_until="domcontentloaded", timeout=timeout_s * 1000)
        except Exception as exc:
            raise self.fail("loading JupyterLab", str(exc).splitlines()[0]) from None
        self.wait_for(_JS_NOTEBOOK_READY, [self.path], "opening the notebook and starting its kernel", timeout_s)

    def start_run_all(self) -> None:
        """Start JupyterLab's "Run All Cells" and return at once (see :meth:`wait_run_all`)."""
        self.run_started = time.monotonic()
        started = self.page.evaluate(_JS_START_RUN_ALL, [self.path])
        if started != "started":
            raise self.fail("starting Run All Cells", started)

    def wait_run_all(self, timeout_s: float) -> float:
        """Wait (at most ``timeout_s`` from the start) until Run All finished and the kernel is idle; seconds taken."""
        left = max(1.0, timeout_s - (time.monotonic() - self.run_started))
        try:
            self.page.wait_for_function("() => window.__lecture26RunAll !== 'running'", timeout=left * 1000,
                                        polling=250)
        except Exception:
            result = "still running"
        else:
            result = self.page.evaluate("() => window.__lecture26RunAll")
        if result != "done":
            summary = self.model_summary()
            stuck = [f"cell {i}: {c['source']!r}" for i, c in enumerate(summary)
                     if c["type"] == "code" and c["count"] is None]
            raise self.fail(f"running all cells (limit {timeout_s:g} s)",
                            f"{result}; errors: {self.model_errors(summary)}; first unfinished: {stuck[:1]}")
        self.wait_for(_JS_KERNEL_IDLE, None, "waiting for the kernel to go idle", 30)
        return time.monotonic() - self.run_started

    def run_all(self, timeout_s: float) -> float:
        """Run every cell and wait for the kernel to go idle; return the seconds it took."""
        self.start_run_all()
        return self.wait_run_all(timeout_s)

    def model_summary(self) -> list[dict[str, Any]]:
        return self.page.evaluate(_JS_MODEL_SUMMARY)

    def model_errors(self, summary: list[dict[str, Any]] | None = None) -> list[str]:
        summary = self.model_summary() if summary is None else summary
        return [f"cell {i}: {e}" for i, c in enumerate(summary) if c["type"] == "code"
                and "raises-exception" not in c["tags"] for e in c["errors"]]

    def page_errors(self) -> list[str]:
        """Error outputs rendered in the page (stderr with a traceback, or an error output)."""
        texts = self.page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_inner_texts()
        found = [t[:300] for t in texts if re.search(r"Traceback|\w+Error\b", t)]
        # A widget whose view failed to render shows this text instead of the widget (in an output, not in prose
        # that quotes it).
        broken = self.page.locator(".jp-OutputArea-output").get_by_text("Error displaying widget").all_inner_texts()
        return found + [f"widget: {t[:200]}" for t in broken]

    def cell(self, index: int) -> Any:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def slider(self, label: str) -> Any:
        """The one slider whose description is exactly ``label``."""
        sliders = self.page.locator(".widget-slider").filter(
            has=self.page.locator(".widget-label", has_text=label))
        exact = [i for i in range(sliders.count())
                 if sliders.nth(i).locator(".widget-label").first.inner_text().strip() == label]
        if len(exact) != 1:
            labels = self.page.locator(".widget-slider .widget-label").all_inner_texts()
            raise self.fail(f"finding the slider {label!r}",
                            f"found {len(exact)} sliders with that label; sliders on the page: {labels}")
        return sliders.nth(exact[0])

    def result_state(self, slider: Any) -> dict[str, Any]:
        state = slider.evaluate(_JS_RESULT_STATE)
        if state is None:
            raise self.fail("finding the result of a slider", "no widget Output area encloses it")
        return state

    def wait_for_result(self, slider: Any, label: str, timeout_s: float = 30) -> dict[str, Any]:
        """The slider's result once it shows text or an image and no output is still arriving."""
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            state = self.result_state(slider)
            if (state["text"] or state["images"]) and state["loaded"] and state == last:
                bands = [blank_band(src) for src in slider.evaluate(_JS_RESULT_PNGS)]
                if any(b > 0.5 for b in bands):
                    raise self.fail(f"the plot of slider {label!r} at {state['readout']!r}",
                                    "it is blank or only partly drawn (a white band over "
                                    f"{100 * max(bands):.0f} % of its height)")
                return state
            last = state
            time.sleep(0.3)
        raise self.fail(f"waiting for the result of slider {label!r}", f"still {last!r:.300} after {timeout_s:g} s")

    def move_slider(self, slider: Any, label: str, before: dict[str, Any], expect: tuple[str, ...],
                    presses: int = 1, timeout_s: float = 30) -> dict[str, Any]:
        """Press ArrowRight on the slider's handle; wait until every part in ``expect`` ("text", "image") changed."""
        handle = slider.locator(".noUi-handle").first
        try:
            handle.focus(timeout=5_000)
            for _ in range(presses):
                handle.press("ArrowRight", timeout=5_000)
        except Exception as exc:
            raise self.fail(f"moving slider {label!r}", str(exc).splitlines()[0]) from None
        keys = {"text": "text", "image": "images"}
        deadline = time.monotonic() + timeout_s
        state = before
        while time.monotonic() < deadline:
            state = self.result_state(slider)
            errors = [e for e in state["errors"] if re.search(r"Traceback|\w+Error\b", e)]
            if errors:
                raise self.fail(f"moving slider {label!r}", f"the widget printed an error: {errors[0][:500]}")
            changed = all(state[keys[k]] != before[keys[k]] and state[keys[k]] for k in expect)
            if changed and state["readout"] != before["readout"]:
                return self.wait_for_result(slider, label, timeout_s)
            time.sleep(0.2)
        unchanged = [k for k in expect if state[keys[k]] == before[keys[k]] or not state[keys[k]]]
        raise self.fail(f"moving slider {label!r} from {before['readout']!r}",
                        f"readout now {state['readout']!r}; the displayed {' and '.join(unchanged) or 'readout'} "
                        f"did not change within {timeout_s:g} s")

    def toggle(self, label: str) -> Any:
        """The one ToggleButtons widget whose description is exactly ``label``."""
        boxes = self.page.locator(".widget-toggle-buttons")
        exact = [i for i in range(boxes.count())
                 if boxes.nth(i).locator(".widget-label").first.inner_text().strip() == label]
        if len(exact) != 1:
            raise self.fail(f"finding the toggle buttons {label!r}", f"found {len(exact)} with that label")
        return boxes.nth(exact[0])

    def control(self, kind: str, label: str) -> Any:
        """A widget control by kind (``"slider"`` or ``"toggle"``) and on-screen description."""
        if kind == "slider":
            return self.slider(label)
        if kind == "toggle":
            return self.toggle(label)
        raise ValueError(f"kind must be 'slider' or 'toggle'; got {kind!r}")

    def _act(self, kind: str, control: Any) -> None:
        """One change of the control, the way a learner makes it: an arrow key on a slider, a click on a toggle."""
        if kind == "slider":
            handle = control.locator(".noUi-handle").first
            handle.focus(timeout=5_000)
            handle.press(control.evaluate(_JS_SLIDER_KEY), timeout=5_000)
        else:
            control.locator(".widget-toggle-button:not(.mod-active)").first.click(timeout=5_000)

    def control_latencies(self, kind: str, label: str, samples: int = 15, timeout_s: float = 15) -> list[float]:
        """Milliseconds from a key press (slider) or click (toggle) to the new picture decoded on screen, per change.

        Each change starts once the previous one has fully arrived (its picture shown, the kernel idle), so the
        numbers are the latency of one move, not of a queue of them. A slider walks its range back and forth.
        """
        self.page.bring_to_front()  # a background tab gets no animation frames and throttled timers
        control = self.control(kind, label)
        control.scroll_into_view_if_needed(timeout=10_000)
        times: list[float] = []
        for i in range(samples):
            armed = control.evaluate(_JS_ARM_LATENCY)
            if armed != "armed":
                raise self.fail(f"measuring {kind} {label!r}", armed)
            try:
                self._act(kind, control)
            except Exception as exc:
                raise self.fail(f"changing {kind} {label!r}", str(exc).splitlines()[0]) from None
            try:
                self.page.wait_for_function("() => window.__lecture26Latency.t1 !== null", timeout=timeout_s * 1000,
                                            polling="raf")
            except Exception:
                self.page.evaluate("() => window.__lecture26Latency.cancel()")
                raise self.fail(f"measuring {kind} {label!r} (change {i + 1})",
                                f"no new picture within {timeout_s:g} s") from None
            rec = self.page.evaluate("() => ({t0: window.__lecture26Latency.t0, t1: window.__lecture26Latency.t1})")
            times.append(rec["t1"] - rec["t0"])
            self.wait_for(_JS_KERNEL_IDLE, None, f"waiting for the kernel after changing {label!r}", timeout_s)
            self.page.wait_for_timeout(50)  # let any trailing output of this change land
        return times

    def close_tab(self, wait_ms: int = 1500) -> str:
        """Close the notebook's tab as a learner would; the text of any dialog that opens (then dismissed), or ""."""
        self.page.evaluate("() => { window.jupyterapp.commands.execute('application:close'); }")
        try:
            dialog = self.page.locator(".jp-Dialog")
            dialog.first.wait_for(state="visible", timeout=wait_ms)
        except Exception:  # noqa: BLE001 - no dialog: the wanted outcome
            return ""
        text = dialog.first.inner_text()
        try:
            self.page.keyboard.press("Escape")
        except Exception:  # noqa: BLE001
            pass
        return text

    def is_dirty(self) -> bool:
        """Whether JupyterLab holds unsaved changes of the open notebook (what makes closing it ask to save)."""
        return bool(self.page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty"))

    def screenshot_widget(self, slider: Any, path: Path) -> None:
        """A picture of the widget box (controls and result) around ``slider``."""
        box = slider.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')][1]")
        path.parent.mkdir(parents=True, exist_ok=True)
        box.scroll_into_view_if_needed(timeout=10_000)
        box.evaluate("b => Promise.all([...b.querySelectorAll('img')].map(i => i.decode().catch(() => null)))")
        self.page.wait_for_timeout(300)  # one more paint after the images decoded
        box.screenshot(path=str(path), timeout=10_000)

    def cell_source(self, index: int) -> str:
        return self.page.evaluate(_JS_CELL_SOURCE, [index])

    def cell_output(self, index: int) -> dict[str, Any]:
        return self.page.evaluate(_JS_CELL_OUTPUT_TEXT, [index])

    def type_into_cell(self, index: int, text: str) -> None:
        """Replace a code cell's text the way a learner would: click into it, select all, paste ``text``."""
        editor = self.cell(index).locator(".cm-content")
        try:
            editor.click(timeout=10_000)
            self.page.keyboard.press("Control+a")
            self.page.keyboard.insert_text(text)
        except Exception as exc:
            raise self.fail(f"typing into cell {index}", str(exc).splitlines()[0]) from None
        got = self.cell_source(index)
        if got != text:
            raise self.fail(f"typing into cell {index}", f"the cell holds {got!r:.300} instead of {text!r:.300}")

    def run_cell(self, index: int, timeout_s: float = 60) -> str:
        """Select cell ``index``, run it (Ctrl+Enter), wait for its output; return the output text."""
        before = self.cell_output(index)["count"]
        try:
            self.cell(index).locator(".jp-InputPrompt").click(timeout=10_000)
            self.page.keyboard.press("Control+Enter")
        except Exception as exc:
            raise self.fail(f"running cell {index}", str(exc).splitlines()[0]) from None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            out = self.cell_output(index)
            if out["count"] is not None and out["count"] != before:
                self.wait_for(_JS_KERNEL_IDLE, None, f"waiting for the kernel after cell {index}", timeout_s)
                return self.cell_output(index)["text"]
            time.sleep(0.2)
        raise self.fail(f"running cell {index}", f"no new execution count within {timeout_s:g} s")

    def run_new_cell(self, source: str, timeout_s: float = 120) -> str:
        """Add a code cell holding ``source`` at the end of the notebook, run it; return its output text."""
        index = self.page.evaluate(_JS_ADD_CELL, [source])
        self.page.wait_for_function(f"() => document.querySelectorAll('.jp-Notebook .jp-Cell').length > {index}")
        return self.run_cell(index, timeout_s=timeout_s)

    def unexecuted_cells(self) -> list[int]:
        return [i for i, c in enumerate(self.model_summary()) if c["type"] == "code" and c["count"] is None]

    def expect_text_in_cell(self, index: int, text: str, timeout_s: float = 10) -> None:
        """The rendered output of cell ``index`` (what the learner sees) contains ``text``."""
        output = self.cell(index).locator(".jp-OutputArea-output")
        deadline = time.monotonic() + timeout_s
        shown = ""
        while time.monotonic() < deadline:
            shown = "\n".join(output.all_inner_texts())
            if text in shown:
                return
            time.sleep(0.2)
        raise self.fail(f"reading the output of cell {index}", f"{text!r} not shown; the page shows {shown!r:.400}")

    def screenshot_cell(self, index: int, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.cell(index).screenshot(path=str(path), timeout=10_000)

    def shutdown_kernel(self) -> None:
        """Shut the notebook's kernel down (bounded; nothing happens if the tab is closed already)."""
        try:
            self.page.evaluate("""async () => {
              const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
              if (w && w.sessionContext) {
                await Promise.race([w.sessionContext.shutdown(), new Promise(r => setTimeout(r, 10000))]);
              }
            }""")
        except Exception:  # noqa: BLE001 - the page may be gone already; the server stop kills kernels anyway
            pass

    def close(self) -> None:
        """Shut the notebook's kernel down (bounded) and close the page."""
        self.shutdown_kernel()
        try:
            self.page.close()
        except Exception:  # noqa: BLE001
            pass
