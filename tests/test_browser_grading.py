"""Grading as a learner does it, in JupyterLab driven by Chromium (1280×800): a terminal, ``grade()``, hints.

* A terminal opened from the Launcher while the file browser shows ``notebooks/`` starts in ``notebooks/``
  (checked with ``pwd``), and the documented ``make grade PART=B`` grades Part B's exercise notebook there.
* In the exercise notebook: answer B1 without saving, ``grade()`` grades the saved file and says the open copy is
  newer; after saving, ``grade()`` gives B1 its point; the notebook file is written only by the save.
* ``hint("B2", 2)`` and ``solution("B2")`` print the second hint and the reference solution.

The course is a temporary copy (notebooks/, exercises/, the Makefiles, pyproject.toml) with the repository's
``.venv`` linked in, so ``make`` finds the installed course exactly as in a learner's folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    BrowserTestError,
    LabServer,
    NotebookPage,
    copy_course,
)
from lecture_lib.grade import course

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
EXERCISE = f"exercises/{course.exercise_notebook('B')}"
VIEWPORT = {"width": 1280, "height": 800}

_JS_TERMINAL_TEXT = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const term = w && w.content && w.content._term;
  if (!term) return null;
  const buf = term.buffer.active;
  const lines = [];
  for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i).translateToString(true));
  return lines.join('\\n');
}"""

_JS_ADD_CELL = """([source]) => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const n = nb.model.cells.length;
  nb.model.sharedModel.insertCell(n, {cell_type: 'code', source: source});
  return n;
}"""


def _unavailable() -> str | None:
    if not CHROMIUM.exists():
        return f"browser tests need Chromium at {CHROMIUM} (Debian/Ubuntu: `sudo apt-get install chromium`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need the playwright package (`pip install -e '.[test]'`)"
    if shutil.which("make") is None:
        return "make is not installed"
    if not (ROOT / ".venv" / "bin" / "python").exists():
        return "the course's .venv is missing (run make venv)"
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabServer, Path]]:
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("lab-grading")
    root = copy_course(ROOT, base / "course", ("notebooks", "exercises"))
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, root / name)  # keeps the mtime: make sees the same, up-to-date install
    (root / ".venv").symlink_to(ROOT / ".venv")
    (root / "lecture_lib").symlink_to(ROOT / "lecture_lib")  # make's kernel rule depends on lecture_lib/kernel.py
    dry = subprocess.run(["make", "-n", "grade", "PART=B"], cwd=root, capture_output=True, text=True, timeout=60)
    if "pip install" in dry.stdout:
        pytest.skip("the course's .venv is older than pyproject.toml (run make venv)")
    (base / "state").mkdir()
    progress = base / "grades.json"
    saved_env = os.environ.get(course.PROGRESS_ENV)
    os.environ[course.PROGRESS_ENV] = str(progress)  # the server, its terminals and kernels inherit it
    server = LabServer(root, base / "state")
    try:
        server.start()
        yield server, progress
    finally:
        server.stop()
        if saved_env is None:
            os.environ.pop(course.PROGRESS_ENV, None)
        else:
            os.environ[course.PROGRESS_ENV] = saved_env


@pytest.fixture(scope="module")
def context(lab: tuple[LabServer, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile-grading")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, viewport=VIEWPORT,
            timeout=60_000)
        ctx.set_default_timeout(30_000)
        try:
            yield ctx
        finally:
            ctx.close()


def _terminal_text(page: Any) -> str:
    return page.evaluate(_JS_TERMINAL_TEXT) or ""


def _wait_terminal(page: Any, pattern: str, timeout_s: float, step: str) -> str:
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = _terminal_text(page)
        if re.search(pattern, text, re.M):
            return text
        time.sleep(0.5)
    shot = ARTIFACTS / "FAILED-grading-terminal.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))
    raise BrowserTestError(f"terminal: {step}: {pattern!r} not seen within {timeout_s:g} s; it shows:\n{text[-3000:]}")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_make_grade_in_a_terminal_opened_in_notebooks(lab: tuple[LabServer, Path], context: Any) -> None:
    server, progress = lab
    page = context.new_page()
    try:
        page.goto(f"{server.base_url}/lab?reset&token={server.token}", wait_until="domcontentloaded")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=60_000)
        page.locator(".jp-DirListing-item[title^='Name: notebooks']").first.dblclick(timeout=30_000)
        page.wait_for_function("() => document.querySelector('.jp-FileBrowser-crumbs').innerText.includes('notebooks')",
                               timeout=30_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('launcher:create'); return true; }")
        page.locator(".jp-LauncherCard:visible", has_text="Terminal").first.click(timeout=30_000)
        page.wait_for_function("() => { const w = window.jupyterapp.shell.currentWidget;"
                               " return !!(w && w.content && w.content._term); }", timeout=60_000)
        _wait_terminal(page, r"[$#] ?$", 30, "waiting for the shell prompt")
        page.locator(".jp-Terminal").first.click()
        page.keyboard.type("pwd; make grade PART=B; echo grading-exit=$?\n")
        text = _wait_terminal(page, r"^grading-exit=\d+", 300, "running make grade PART=B")
        shot = ARTIFACTS / "grading--terminal_make_grade.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot))
    finally:
        page.close()
    assert re.search(r"^/\S*/course/notebooks\s*$", text, re.M), f"the terminal did not start in notebooks/:\n{text}"
    assert "grading-exit=0" in text, text
    assert "partB_distillation_speculative_exercises.ipynb  (part B)" in text
    assert "total 0/14 (0 of 8 questions passed)" in text
    assert json.loads(progress.read_text())["parts"]["B"]["score"] == 0


def _run_new_cell(nb: NotebookPage, source: str, timeout_s: float = 240) -> str:
    index = nb.page.evaluate(_JS_ADD_CELL, [source])
    nb.page.wait_for_function(f"() => document.querySelectorAll('.jp-Notebook .jp-Cell').length > {index}")
    return nb.run_cell(index, timeout_s=timeout_s)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_grade_hint_and_solution_inside_the_exercise_notebook(lab: tuple[LabServer, Path], context: Any) -> None:
    server, _progress = lab
    saved = server.root / EXERCISE
    page = context.new_page()
    nb = NotebookPage(page, server, EXERCISE, ARTIFACTS)
    try:
        nb.open()
        nb.run_all(240)
        cells = nb.model_summary()
        answer = next(i for i, c in enumerate(cells) if c["type"] == "code"
                      and 'raise NotImplementedError("B1:' in nb.cell_source(i))
        solution_cell = json.loads((ROOT / "lecture_lib" / "grade" / "reference.json").read_text())["B1"]
        nb.type_into_cell(answer, solution_cell)
        nb.run_cell(answer)
        before = saved.read_bytes()

        unsaved = _run_new_cell(nb, "grade()")
        assert saved.read_bytes() == before, "grade() must not save or change the notebook"
        assert f"Grading {Path(EXERCISE).name} as last saved" in unsaved
        assert "Note: the open notebook is newer than the saved file: softmax_t" in unsaved, unsaved
        assert re.search(r"B1\s+0/1\s+not attempted", unsaved), unsaved

        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); return true; }")
        deadline = time.monotonic() + 30
        while saved.read_bytes() == before and time.monotonic() < deadline:
            time.sleep(0.3)
        assert saved.read_bytes() != before, "saving did not write the notebook"
        graded = _run_new_cell(nb, "grade()")
        assert "newer than the saved file" not in graded, graded
        assert re.search(r"B1\s+1/1\s+passed", graded) and "total 1/14" in graded, graded
        nb.screenshot_cell(nb.page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.length")
                           - 1, ARTIFACTS / "grading--grade_in_notebook.png")

        second = _run_new_cell(nb, 'hint("B2", 2)', timeout_s=60)
        assert second.startswith("B2 hint 2/3: ") and "batchmean" in second, second
        shown = _run_new_cell(nb, 'solution("B2")', timeout_s=60)
        assert shown.startswith("B2 reference solution. Why: ") and "def kd_loss(" in shown, shown
        nb.screenshot_cell(nb.page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.length")
                           - 1, ARTIFACTS / "grading--solution_B2.png")
        assert not nb.model_errors() + nb.page_errors()
    finally:
        nb.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_start_page_shows_the_progress_after_grading(lab: tuple[LabServer, Path], context: Any) -> None:
    """After the gradings above, the start page's progress map shows Part B's last score and what is next."""
    server, progress = lab
    if not progress.exists():
        pytest.skip("runs after the grading tests of this module")
    score = json.loads(progress.read_text())["parts"]["B"]
    page = context.new_page()
    nb = NotebookPage(page, server, "notebooks/00_start_here.ipynb", ARTIFACTS)
    try:
        nb.open()
        nb.run_all(120)
        cells = nb.model_summary()
        index = next(i for i, c in enumerate(cells) if c["type"] == "code" and "show_progress()" in nb.cell_source(i))
        text = nb.cell_output(index)["text"]
        nb.screenshot_cell(index, ARTIFACTS / "grading--start_page_progress.png")
        assert not nb.model_errors() + nb.page_errors()
    finally:
        nb.close()
    assert re.search(rf"^B\s+Distillation & speculative decoding\s+{score['score']}/14\s", text, re.M), text
    assert re.search(r"^A\s+Quantization\s+not graded yet\s+all$", text, re.M), text
    assert "Next: Part B: questions B2, B3" in text  # the part already started comes first
