"""The Japanese edition in a real browser (JupyterLab + Chromium at 1280×800), as a Japanese-speaking learner meets it.

* The Japanese start page (``notebooks/ja/00_start_here.ipynb``): Run All without errors; its progress map
  speaks Japanese; its link back to the English start page is there.
* One Japanese part (Part D: two sliders, quick): Run All without errors, the load slider redraws its plot.
* The Japanese exercise notebook of Part B: ``check("B1")`` says 未着手 before an answer and 合格 after the
  reference answer, and ``hint("B2")`` gives the Japanese hint.

The course is a temporary copy, so autosave never writes into the repository. Needs ``/usr/bin/chromium`` and
``playwright``, like ``tests/test_browser.py`` (skipped without them, a failure on CI).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, LabServer, NotebookPage, copy_course

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
START = "notebooks/ja/00_start_here.ipynb"
PART = "notebooks/ja/partD_distributed_inference.ipynb"
EXERCISE = "exercises/ja/partB_distillation_speculative_exercises.ipynb"

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
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("lab-ja")
    root = copy_course(ROOT, base / "course", ("notebooks", "exercises"))
    (base / "state").mkdir()
    server = LabServer(root, base / "state")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def context(lab: LabServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile-ja")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 800}, timeout=60_000, locale="ja-JP")
        ctx.set_default_timeout(30_000)
        try:
            yield ctx
        finally:
            ctx.close()


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


def _run_new_cell(nb: NotebookPage, source: str, timeout_s: float = 120) -> str:
    index = nb.page.evaluate(_JS_ADD_CELL, [source])
    nb.page.wait_for_function(f"() => document.querySelectorAll('.jp-Notebook .jp-Cell').length > {index}")
    return nb.run_cell(index, timeout_s=timeout_s)


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
        reference = json.loads((ROOT / "lecture_lib" / "grade" / "reference.json").read_text())["B1"]
        nb.type_into_cell(answer, reference)
        nb.run_cell(answer)
        passed = nb.run_cell(check)
        assert passed.startswith("B1 合格"), passed
        shown = _run_new_cell(nb, 'hint("B2")')
        assert shown.startswith("B2 ヒント 1/3: "), shown
        nb.screenshot_cell(check, ARTIFACTS / "ja--check_B1.png")
        assert not nb.model_errors() + nb.page_errors()
    finally:
        nb.close()
