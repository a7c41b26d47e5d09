"""The Japanese edition in a real browser (JupyterLab + Chromium at 1280×800), as a Japanese-speaking learner meets it.

* The Japanese start page (``notebooks/ja/00_start_here.ipynb``): Run All without errors; its progress map
  speaks Japanese; its link back to the English start page is there.
* One Japanese part (Part D: two sliders, quick): Run All without errors, the load slider redraws its plot.
* The Japanese exercise notebook of Part B: ``check("B1")`` says 未着手 before an answer, a wrong answer (no
  temperature) gets its diagnosis in Japanese (no English sentence in the output), the reference answer 合格, and
  ``hint("B2")`` gives the Japanese hint.
* A terminal opened from the Launcher in ``exercises/ja``: ``make grade PART=B`` grades the Japanese exercise
  notebook (saved with the wrong B1 answer) and prints the table in Japanese, the judge's diagnosis included.

The machine may have no CJK font (the screenshots then show boxes), so the tests read the page's text (DOM).

The course is a temporary copy (with the Makefiles and the repository's ``.venv``, as in
``tests/test_browser_grading.py``), so autosave never writes into the repository. Needs ``/usr/bin/chromium`` and
``playwright``, like ``tests/test_browser.py`` (skipped without them, a failure on CI).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

import nbformat
import pytest

from lecture_lib.grade import course
from lecture_lib.grade.judge_messages import JUDGE_MESSAGES
from tests.browser_support import (LabServer, NotebookPage, browser_unavailable, chromium, make_grade_in_terminal,
                                   prepare_for_make, serving_lab)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
START = "notebooks/ja/00_start_here.ipynb"
PART = "notebooks/ja/partD_distributed_inference.ipynb"
EXERCISE = "exercises/ja/partB_distillation_speculative_exercises.ipynb"
#: B1 without the temperature: the wrong answer whose diagnosis is B.b1_no_T.
WRONG_B1 = ("z = torch.as_tensor(logits, dtype=torch.float64)\n"
            "e = torch.exp(z - z.amax(dim=-1, keepdim=True))\nreturn e / e.sum(dim=-1, keepdim=True)")
#: Three plain English words in a row: an English sentence left in the Japanese output.
PROSE = re.compile(r"\b[a-z]{2,} [a-z]{2,} [a-z]{2,}\b")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    reason = browser_unavailable(ROOT, make=True)
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("lab-ja")
    saved_env = os.environ.get(course.PROGRESS_ENV)
    os.environ[course.PROGRESS_ENV] = str(base / "grades.json")  # never the learner's own progress file
    try:
        with serving_lab(ROOT, base, ("notebooks", "exercises"), lambda root: prepare_for_make(ROOT, root)) as server:
            yield server
    finally:
        if saved_env is None:
            os.environ.pop(course.PROGRESS_ENV, None)
        else:
            os.environ[course.PROGRESS_ENV] = saved_env


@pytest.fixture(scope="module")
def context(lab: LabServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium-profile-ja"), {"width": 1280, "height": 800},
                  locale="ja-JP") as ctx:
        yield ctx


def _open_and_run(context: Any, lab: LabServer, path: str, seconds: float = 240) -> NotebookPage:
    nb = NotebookPage(context.new_page(), lab, path, ARTIFACTS)
    nb.open()
    nb.run_all(seconds)
    errors = nb.model_errors() + nb.page_errors()
    assert not errors, f"{path}: errors after running all cells: {errors}"
    assert nb.unexecuted_cells() == [], f"{path}: code cells without an execution count after Run All"
    return nb


def _outputs_text(nb: NotebookPage) -> str:
    cells = nb.model_summary()
    return "\n".join(json.dumps(nb.cell_output(i), ensure_ascii=False) for i, c in enumerate(cells)
                     if c["type"] == "code")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_japanese_start_page(lab: LabServer, context: Any) -> None:
    nb = _open_and_run(context, lab, START)
    try:
        text = _outputs_text(nb)
        assert "次のステップ" in text and "パートA（量子化）" in text, "the progress map must speak Japanese"
        body = nb.page.locator(".jp-Notebook").first.inner_text()
        assert "はじめに" in body or "このコース" in body
        assert nb.page.locator(".jp-Notebook a[href*='00_start_here.ipynb']").count() >= 1
        nb.page.screenshot(path=str(ARTIFACTS / "ja--start_page.png"))
    finally:
        nb.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_japanese_part_runs_and_its_slider_moves(lab: LabServer, context: Any) -> None:
    nb = _open_and_run(context, lab, PART, seconds=300)
    try:
        assert "ゾーン0 — クイックスタート" in nb.page.locator(".jp-Notebook").first.inner_text()
        slider = nb.slider("load ρ")
        before = nb.wait_for_result(slider, "load ρ")
        after = nb.move_slider(slider, "load ρ", before, ("image",))
        assert after["readout"] != before["readout"]
        nb.screenshot_widget(slider, ARTIFACTS / "ja--partD_load.png")
        assert not nb.model_errors() + nb.page_errors()
    finally:
        nb.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_japanese_exercise_check_and_hint(lab: LabServer, context: Any) -> None:
    nb = _open_and_run(context, lab, EXERCISE)
    try:
        cells = nb.model_summary()
        answer = next(i for i, c in enumerate(cells) if c["type"] == "code"
                      and 'raise NotImplementedError("B1:' in nb.cell_source(i))
        check = next(i for i in range(answer + 1, len(cells)) if 'check("B1")' in nb.cell_source(i))
        assert "B1 未着手" in json.dumps(nb.cell_output(check), ensure_ascii=False)
        nb.type_into_cell(answer, _with_answer(nb.cell_source(answer), WRONG_B1))
        nb.run_cell(answer)
        failed = nb.run_cell(check)
        assert failed.startswith("B1 未合格 (0/1): softmax_t は"), failed
        assert "ヒント: " + JUDGE_MESSAGES["B.b1_no_T"]["ja"] in failed, failed
        assert not PROSE.search(failed), f"an English sentence in the Japanese diagnosis: {failed}"
        nb.expect_text_in_cell(check, "T が使われていません")  # what the page shows, not only the model
        nb.screenshot_cell(check, ARTIFACTS / "ja--check_B1_wrong.png")
        reference = json.loads((ROOT / "lecture_lib" / "grade" / "reference.json").read_text())["B1"]
        nb.type_into_cell(answer, reference)
        nb.run_cell(answer)
        passed = nb.run_cell(check)
        assert passed.startswith("B1 合格"), passed
        shown = nb.run_new_cell('hint("B2")')
        assert shown.startswith("B2 ヒント 1/3: "), shown
        nb.screenshot_cell(check, ARTIFACTS / "ja--check_B1.png")
        assert not nb.model_errors() + nb.page_errors()
    finally:
        nb.close()


def _with_answer(source: str, body: str) -> str:
    """The exercise cell ``source`` with its stub line (``raise NotImplementedError("B1: ...")``) replaced by
    ``body``, indented like the stub."""
    lines = source.split("\n")
    k = next(i for i, line in enumerate(lines) if 'raise NotImplementedError("B1:' in line)
    indent = lines[k][: len(lines[k]) - len(lines[k].lstrip())]
    return "\n".join(lines[:k] + [indent + line for line in body.split("\n")] + lines[k + 1:])


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_make_grade_in_a_terminal_opened_in_exercises_ja(lab: LabServer, context: Any) -> None:
    """The learner's path in Japanese: a terminal in exercises/ja, ``make grade PART=B``, a Japanese table."""
    path = lab.root / EXERCISE
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and 'raise NotImplementedError("B1:' in c.source)
    cell.source = _with_answer(cell.source, WRONG_B1)
    nbformat.write(nb, path)
    text = make_grade_in_terminal(context, lab, "exercises/ja", "B", ARTIFACTS, "ja--terminal_make_grade")
    table = text[text.index("partB_distillation_speculative_exercises.ipynb"):text.rindex("grading-exit=")]
    assert "（パートB）" in table and "問題" in table and "合計 0/14" in table, table
    flat = "".join(table.split())
    assert "B1" in table and "不合格" in table and "".join(JUDGE_MESSAGES["B.b1_no_T"]["ja"].split()) in flat, table
    assert "未着手" in table, table
    assert "".join("B3: p - q を 0 で下から切って正規化する".split()) in flat, table  # the stub's request, in Japanese
    assert not PROSE.search(table.replace("partB_distillation_speculative_exercises", "")), table
