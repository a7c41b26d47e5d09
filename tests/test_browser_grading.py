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
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from browser_support import (
    LabServer,
    NotebookPage,
    browser_unavailable,
    chromium,
    make_grade_in_terminal,
    prepare_for_make,
    serving_lab,
)
from lecture_lib.grade import course

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
EXERCISE = f"exercises/{course.exercise_notebook('B')}"
VIEWPORT = {"width": 1280, "height": 800}

@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabServer, Path]]:
    reason = browser_unavailable(ROOT, make=True)
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("lab-grading")
    progress = base / "grades.json"
    saved_env = os.environ.get(course.PROGRESS_ENV)
    os.environ[course.PROGRESS_ENV] = str(progress)  # the server, its terminals and kernels inherit it
    try:
        with serving_lab(ROOT, base, ("notebooks", "exercises"), lambda root: prepare_for_make(ROOT, root)) as server:
            yield server, progress
    finally:
        if saved_env is None:
            os.environ.pop(course.PROGRESS_ENV, None)
        else:
            os.environ[course.PROGRESS_ENV] = saved_env


@pytest.fixture(scope="module")
def context(lab: tuple[LabServer, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium-profile-grading"), VIEWPORT) as ctx:
        yield ctx


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_make_grade_in_a_terminal_opened_in_notebooks(lab: tuple[LabServer, Path], context: Any) -> None:
    server, progress = lab
    text = make_grade_in_terminal(context, server, "notebooks", "B", ARTIFACTS, "grading--terminal_make_grade")
    assert "partB_distillation_speculative_exercises.ipynb  (part B)" in text
    assert "total 0/14 (0 of 8 questions passed)" in text
    assert json.loads(progress.read_text())["parts"]["B"]["score"] == 0


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

        unsaved = nb.run_new_cell("grade()")
        assert saved.read_bytes() == before, "grade() must not save or change the notebook"
        assert f"Grading {Path(EXERCISE).name} as last saved" in unsaved
        assert "Note: the open notebook is newer than the saved file: softmax_t" in unsaved, unsaved
        assert re.search(r"B1\s+0/1\s+not attempted", unsaved), unsaved

        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); return true; }")
        deadline = time.monotonic() + 30
        while saved.read_bytes() == before and time.monotonic() < deadline:
            time.sleep(0.3)
        assert saved.read_bytes() != before, "saving did not write the notebook"
        graded = nb.run_new_cell("grade()")
        assert "newer than the saved file" not in graded, graded
        assert re.search(r"B1\s+1/1\s+passed", graded) and "total 1/14" in graded, graded
        nb.screenshot_cell(nb.page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.length")
                           - 1, ARTIFACTS / "grading--grade_in_notebook.png")

        second = nb.run_new_cell('hint("B2", 2)', timeout_s=60)
        assert second.startswith("B2 hint 2/3: ") and "batchmean" in second, second
        shown = nb.run_new_cell('solution("B2")', timeout_s=60)
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
