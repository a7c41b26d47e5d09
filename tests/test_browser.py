"""The course in a real browser: JupyterLab driven by Chromium (Debian's ``chromium`` + PyPI ``playwright``).

For the start page and every part notebook in ``notebooks/part*.ipynb`` (a temporary copy, so autosave never
writes into the repository): open it, run all cells, wait for the kernel to go idle, assert that no error
appeared, then move each of the part's main sliders (:data:`MAIN_SLIDERS`) and assert that the result it drives
(its text and/or its plot) changed. A screenshot of each widget goes to ``test-artifacts/``.
For the exercises: fill A1's answer cell with the reference solution, run ``check("A1")`` and see it pass; fill
in a known wrong answer and see the failure message with its hint.

Every course notebook (``notebooks/``, ``exercises/``, ``solutions/``) must open unmodified: open it, let its kernel
start, and JupyterLab must hold no unsaved change (closing asks nothing); saving it (what autosave would do)
must leave the file byte for byte as committed.

Widget latency: for each control in :data:`LATENCY_CONTROLS`, the time from a key press (or click) to the new
picture on screen, :data:`LATENCY_SAMPLES` changes each, measured while no other notebook runs. p50/p95 per control
are printed and written to ``test-artifacts/widget-latency.json``; the test asserts p95 <= :data:`LATENCY_BUDGET_MS`
scaled by the machine's load (:func:`load_factor`), so a busy CI machine does not fail it for being busy while the
report still shows the real numbers.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``) and the ``playwright`` package (the test extra). Without
them the tests are skipped, except on CI (``CI=true``), where ``tests/conftest.py`` turns a skipped browser test
into a failure. The whole file takes about 1.5 minutes.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.browser_support import (
    BrowserTestError,
    LabServer,
    NotebookPage,
    blank_band,
    browser_unavailable,
    chromium,
    latency_summary,
    serving_lab,
)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
START_PAGE = "notebooks/00_start_here.ipynb"
PART_NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("part*.ipynb"))

#: Each part's main sliders, by their on-screen description, with what the result shows ("text", "image").
#: A new part notebook fails :func:`test_notebook_in_the_browser` until it has an entry here.
MAIN_SLIDERS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "start": [("bits", ("text",))],  # the int-grid demo of the Widgets section
    "A": [
        ("bits", ("text", "image")),  # Zone 1 weight widget: histogram, levels, error, bytes
        ("x", ("text", "image")),  # Zone 1 FP8 widget: the probe value, its rounding error on the curve
    ],
    "B": [
        ("T", ("image",)),  # distillation temperature: softened distributions, KL (the widget only plots)
        ("α", ("text", "image")),  # speculative decoding acceptance rate: tokens per step and speedup
    ],
    "C": [
        ("error rate", ("text", "image")),  # 1.1 SLO budget, burn rate, alerts
        ("cases n", ("text", "image")),  # 1.2 probability that a property test finds a bug
        ("buckets", ("text", "image")),  # 1.3 histogram bucket layout -> p99 error
    ],
    "D": [
        ("load ρ", ("image",)),  # policy comparison CDFs (the widget draws only a plot)
        ("EWMA τ", ("image",)),
    ],
    "E": [
        ("log2 s", ("text", "image")),  # 1a loss scale -> vanished / overflowing gradients
        ("segments k", ("text", "image")),  # 1b activation checkpointing: memory vs recompute
        ("max batch", ("text", "image")),  # 1c batching: throughput and p99 latency
    ],
}

#: Widget controls whose latency is measured and reported, per part: (kind, on-screen description).
LATENCY_CONTROLS: dict[str, list[tuple[str, str]]] = {
    "A": [("slider", "bits"), ("toggle", "scheme"), ("slider", "x"), ("toggle", "format")],
    "B": [("slider", "T"), ("slider", "α"), ("slider", "k")],
    "C": [("slider", "error rate"), ("slider", "cases n"), ("slider", "buckets")],
    "D": [("slider", "load ρ"), ("slider", "EWMA τ")],
    "E": [("slider", "log2 s"), ("slider", "segments k"), ("slider", "max batch")],
}
LATENCY_SAMPLES = 15
#: The goal: a new picture within 200 ms of a key press, at the 95th percentile.
LATENCY_BUDGET_MS = 200.0
LATENCY_REPORT = ARTIFACTS / "widget-latency.json"

RUN_ALL_SECONDS = 120  # from the start of Run All (two notebooks run at a time); each part takes about 5-60 s
EXERCISE = "exercises/partA_quantization_exercises.ipynb"
SOLUTION = "solutions/partA_quantization_solutions.ipynb"
QUESTION = "A1"


def load_factor(load_1min: float, cpus: int, cap: float = 3.0) -> float:
    """How much slower than on an idle machine a latency may be: run-queue length per CPU, 1 to ``cap``.

    On a machine whose load average equals its CPU count or less (an idle or normally busy laptop) the factor
    is 1, so the budget applies as stated; with twice as many runnable processes as CPUs each gets about half
    the time, and the budget doubles.
    """
    if cpus < 1:
        raise ValueError(f"cpus must be >= 1; got {cpus}")
    return float(min(cap, max(1.0, load_1min / cpus)))


def part_key(path: str) -> str:
    """``"start"`` for the start page, else the part letter from ``notebooks/part<X>_<topic>.ipynb``."""
    if path == START_PAGE:
        return "start"
    match = re.fullmatch(r"notebooks/part([A-Z])_\w+\.ipynb", path)
    if not match:
        raise ValueError(f"a part notebook must be named notebooks/part<X>_<topic>.ipynb; got {path}")
    return match[1]


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab on 127.0.0.1 serving a temporary copy of notebooks/, exercises/ and solutions/."""
    reason = browser_unavailable(ROOT)
    if reason:
        pytest.skip(reason)
    with serving_lab(ROOT, tmp_path_factory.mktemp("lab"), ("notebooks", "exercises", "solutions")) as server:
        yield server


@pytest.fixture(scope="module")
def browser(lab: LabServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium with a fresh profile (user data dir) for this module (see :func:`chromium`)."""
    with chromium(tmp_path_factory.mktemp("chromium-profile"), {"width": 1400, "height": 1000}) as context:
        yield context


class RunQueue:
    """Hands each test its notebook, opened and already running; the next test's notebook starts meanwhile.

    So two kernels work at a time (one per CPU core on a 2-core laptop) while the page and the sliders of the
    current notebook are checked. A failure while preparing a notebook is raised in the test that takes it.
    """

    def __init__(self, browser: Any, lab: LabServer, order: list[str]) -> None:
        self.browser, self.lab, self.order = browser, lab, order
        self.started: dict[str, NotebookPage | BaseException] = {}

    def _start(self, path: str) -> None:
        nb = NotebookPage(self.browser.new_page(), self.lab, path, ARTIFACTS)
        try:
            nb.open()
            nb.start_run_all()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test that takes this notebook
            nb.close()
            self.started[path] = exc
        else:
            self.started[path] = nb

    def take(self, path: str) -> NotebookPage:
        if path not in self.started:
            self._start(path)
        later = self.order[self.order.index(path) + 1:] if path in self.order else []
        if later and later[0] not in self.started:
            self._start(later[0])
        got = self.started.pop(path)
        if isinstance(got, BaseException):
            raise got
        return got

    def settle(self, timeout_s: float = RUN_ALL_SECONDS) -> None:
        """Wait until the notebooks started ahead have finished running (their own tests report any failure)."""
        for nb in self.started.values():
            if isinstance(nb, NotebookPage):
                try:
                    nb.wait_run_all(timeout_s)
                except BrowserTestError:
                    pass

    def close(self) -> None:
        for nb in self.started.values():
            if isinstance(nb, NotebookPage):
                nb.close()
        self.started.clear()


@pytest.fixture(scope="module")
def run_queue(browser: Any, lab: LabServer, request: pytest.FixtureRequest) -> Iterator[RunQueue]:
    order = []
    for item in request.session.items:
        if item.get_closest_marker("browser") is None:
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "path" in params:
            order.append(params["path"])
        elif getattr(item, "originalname", item.name) == "test_exercise_check_passes_and_fails_in_the_browser":
            order.append(EXERCISE)
    queue = RunQueue(browser, lab, order)
    try:
        yield queue
    finally:
        queue.close()


@pytest.fixture
def notebook(run_queue: RunQueue) -> Iterator[Any]:
    """``notebook(path)``: the page of ``path``, its Run All started; closed (kernel shut down) afterwards.

    ``notebook.settle()`` waits for the notebook started ahead to finish (for timing without a second kernel busy).
    """
    taken: list[NotebookPage] = []

    def take(path: str) -> NotebookPage:
        nb = run_queue.take(path)
        taken.append(nb)
        return nb

    take.settle = run_queue.settle  # type: ignore[attr-defined]
    yield take
    for nb in taken:
        nb.close()


# ------------------------------------------------------------------------------------------------ tests
def test_every_part_notebook_has_main_sliders() -> None:
    """A new part notebook needs an entry in MAIN_SLIDERS (cheap, runs without a browser too)."""
    missing = [p for p in PART_NOTEBOOKS if part_key(p) not in MAIN_SLIDERS]
    assert not missing, (f"{', '.join(missing)}: add the part's main sliders (description as shown on screen, "
                         "and whether the result shows text and/or an image) to MAIN_SLIDERS in tests/test_browser.py")
    assert PART_NOTEBOOKS, "no notebooks/part*.ipynb found"


COURSE_NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for folder in ("notebooks", "exercises", "solutions")
                          for p in (ROOT / folder).glob("*.ipynb"))


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("course_notebook", COURSE_NOTEBOOKS)
def test_notebook_opens_unmodified(course_notebook: str, lab: LabServer, browser: Any) -> None:
    """Open, let the kernel start, close: nothing asks to save, and a save (as autosave would) changes no byte."""
    file = lab.root / course_notebook
    committed = file.read_bytes()
    nb = NotebookPage(browser.new_page(), lab, course_notebook, ARTIFACTS)
    try:
        nb.open()
        nb.page.wait_for_timeout(1500)  # widget state restored, kernel info (language_info) arrived
        dirty = nb.is_dirty()
        nb.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        deadline = time.monotonic() + 15
        while nb.is_dirty() and time.monotonic() < deadline:
            time.sleep(0.2)
        saved = file.read_bytes()
        file.write_bytes(committed)  # the next test sees the committed file again
        nb.shutdown_kernel()
        asked = nb.close_tab()
    finally:
        nb.close()
    diff = _first_difference(committed, saved)
    hint = (" (language_info.version: the kernel is not the course kernel; run `make venv`, which installs it "
            "with `python -m lecture_lib.kernel`)" if '"version": "3.' in diff else "")
    assert not dirty, f"{course_notebook}: JupyterLab changed the notebook on opening; a save then changes {diff}{hint}"
    assert saved == committed, f"{course_notebook}: saving the untouched notebook changes {diff}{hint}"
    assert not asked, f"{course_notebook}: closing the untouched notebook asked: {asked!r}"


def _first_difference(before: bytes, after: bytes) -> str:
    """The first differing lines of two notebook files, for a failure message."""
    import difflib

    lines = list(difflib.unified_diff(before.decode("utf-8", "replace").splitlines(),
                                      after.decode("utf-8", "replace").splitlines(), lineterm="", n=0))
    return " | ".join(line.strip() for line in lines[2:12]) or "nothing"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", [START_PAGE, *PART_NOTEBOOKS])
def test_notebook_in_the_browser(path: str, notebook: Any) -> None:
    """Run All without errors; each main slider changes what it drives; widget latency within budget."""
    key = part_key(path)
    if key not in MAIN_SLIDERS:
        raise BrowserTestError(f"{path}: no entry for part {key} in MAIN_SLIDERS (tests/test_browser.py); add its "
                               "main sliders")
    nb = notebook(path)
    seconds = nb.wait_run_all(RUN_ALL_SECONDS)
    errors = nb.model_errors() + nb.page_errors()
    assert not errors, f"{path}: errors after running all cells: {errors}"
    assert nb.unexecuted_cells() == [], f"{path}: code cells without an execution count after Run All"
    print(f"{path}: Run All finished {seconds:.1f} s after it started")
    for label, expect in MAIN_SLIDERS[key]:
        slider = nb.slider(label)
        before = nb.wait_for_result(slider, label)
        after = nb.move_slider(slider, label, before, expect)
        assert after["readout"] != before["readout"]
        stem = Path(path).stem
        nb.screenshot_widget(slider, ARTIFACTS / f"{stem}--{re.sub(r'[^A-Za-z0-9]+', '_', label).strip('_')}.png")
    errors = nb.model_errors() + nb.page_errors()
    assert not errors, f"{path}: errors after moving the sliders: {errors}"
    if key in LATENCY_CONTROLS:
        notebook.settle()  # no other notebook running while we time this one's widgets
        samples: dict[str, list[float]] = {}
        for kind, label in LATENCY_CONTROLS[key]:
            samples[f"{kind} {label}"] = nb.control_latencies(kind, label, samples=LATENCY_SAMPLES)
        _check_latency(key, samples)
        errors = nb.model_errors() + nb.page_errors()
        assert not errors, f"{path}: errors after timing the widgets: {errors}"


def _check_latency(key: str, samples: dict[str, list[float]]) -> None:
    """Print and record p50/p95 per control; assert p95 within the budget scaled by the machine's load."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    factor = load_factor(load, os.cpu_count() or 1)
    report = json.loads(LATENCY_REPORT.read_text(encoding="utf-8")) if LATENCY_REPORT.exists() else {}
    report.setdefault("controls", {})
    over = []
    print(f"\nwidget latency, part {key} (key press or click -> new picture on screen; load average {load:.1f} "
          f"on {os.cpu_count()} CPUs, budget x{factor:.2f})")
    print(f"  {'control':<22}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}")
    for control, times in samples.items():
        summary = latency_summary(times)
        report["controls"][f"{key}: {control}"] = {**summary, "load_average": round(load, 2),
                                                  "recorded": time.strftime("%Y-%m-%dT%H:%M:%S")}
        print(f"  {control:<22}{summary['p50_ms']:>8.0f}{summary['p95_ms']:>8.0f}{summary['max_ms']:>8.0f}")
        if summary["p95_ms"] > LATENCY_BUDGET_MS * factor:
            over.append(f"{control}: p95 {summary['p95_ms']:.0f} ms")
    LATENCY_REPORT.parent.mkdir(parents=True, exist_ok=True)
    LATENCY_REPORT.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert not over, (f"part {key}: widget latency over the budget of {LATENCY_BUDGET_MS:.0f} ms x {factor:.2f} "
                      f"(load): {over}")


def _answer_sources() -> tuple[str, str]:
    """The reference answer cell of QUESTION (solution region kept) and the same cell with a known wrong answer."""
    from lecture_lib.grade.core import find_question
    from tools.make_exercises import question_regions, with_region_replaced

    solution = nbformat.read(ROOT / SOLUTION, as_version=4)
    (cell_index, region), *_ = question_regions(solution)[QUESTION]
    wrong_code = next(iter(find_question(QUESTION).wrong_answers.items()))
    assert wrong_code[0] == region, f"{QUESTION}'s first wrong answer must be for its first region"
    wrong = with_region_replaced(solution, QUESTION, 0, wrong_code[1])
    return solution.cells[cell_index].source, wrong.cells[cell_index].source


def _exercise_cells(nb: NotebookPage) -> tuple[int, int]:
    """Indices of QUESTION's answer cell (holding its stub) and of its ``check(...)`` cell."""
    cells = nb.model_summary()
    stub = f'raise NotImplementedError("{QUESTION}:'
    answer = [i for i, c in enumerate(cells) if c["type"] == "code" and stub in nb.cell_source(i)]
    check = [i for i, c in enumerate(cells) if c["type"] == "code"
             and nb.cell_source(i).strip() == f'check("{QUESTION}")']
    if len(answer) != 1 or len(check) != 1:
        raise BrowserTestError(f"{EXERCISE}: expected one {QUESTION} stub cell and one check cell; "
                               f"found {answer} and {check}")
    return answer[0], check[0]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_exercise_check_passes_and_fails_in_the_browser(notebook: Any) -> None:
    right, wrong = _answer_sources()
    nb = notebook(EXERCISE)
    nb.wait_run_all(RUN_ALL_SECONDS)
    assert not nb.model_errors() + nb.page_errors(), f"{EXERCISE}: errors after running all cells"
    answer, check = _exercise_cells(nb)
    first = nb.cell_output(check)["text"]
    assert first.startswith(f"{QUESTION} not attempted yet"), f"{EXERCISE}: before answering, check said {first!r}"

    nb.type_into_cell(answer, right)
    nb.run_cell(answer)
    passed = nb.run_cell(check)
    assert passed.startswith(f"{QUESTION} passed (2/2)"), f"{EXERCISE}: with the solution, check said {passed!r}"
    nb.expect_text_in_cell(check, f"{QUESTION} passed (2/2)")
    nb.screenshot_cell(check, ARTIFACTS / "exercise--A1_passed.png")

    nb.type_into_cell(answer, wrong)
    nb.run_cell(answer)
    failed = nb.run_cell(check)
    assert failed.startswith(f"{QUESTION} not passed yet (0/2): "), f"{EXERCISE}: wrong answer gave {failed!r}"
    assert re.search(r"\. Hint: \S", failed), f"{EXERCISE}: the failure message has no hint: {failed!r}"
    nb.expect_text_in_cell(check, "Hint:")
    nb.screenshot_cell(check, ARTIFACTS / "exercise--A1_not_passed.png")


# ------------------------------------------------------------------------------------------------ no browser
def test_artifacts_folder_is_ignored_by_git() -> None:
    assert "test-artifacts/" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_load_factor() -> None:
    assert load_factor(0.3, 2) == 1.0 and load_factor(2.0, 2) == 1.0  # idle or normally busy: the budget as stated
    assert load_factor(5.0, 2) == 2.5
    assert load_factor(40.0, 2) == 3.0  # capped
    with pytest.raises(ValueError, match="cpus"):
        load_factor(1.0, 0)


def test_latency_controls_cover_the_main_sliders() -> None:
    for key, sliders in MAIN_SLIDERS.items():
        if key == "start":
            continue
        timed = {label for kind, label in LATENCY_CONTROLS.get(key, []) if kind == "slider"}
        missing = [label for label, _ in sliders if label not in timed]
        assert not missing, f"part {key}: main sliders {missing} have no latency measurement (LATENCY_CONTROLS)"


def test_latency_summary_percentiles() -> None:
    got = latency_summary([float(v) for v in range(1, 101)])
    assert got == {"n": 100, "p50_ms": 50.5, "p95_ms": 95.0, "max_ms": 100.0}
    with pytest.raises(ValueError, match="at least one"):
        latency_summary([])


def test_part_key() -> None:
    assert part_key(START_PAGE) == "start"
    assert part_key("notebooks/partB_distillation_speculative.ipynb") == "B"
    with pytest.raises(ValueError, match="part<X>_<topic>"):
        part_key("notebooks/part_b.ipynb")


def test_ci_guard_fails_a_skipped_browser_test_only_on_ci() -> None:
    from tests.conftest import ci_browser_skip_problem

    reason = "browser tests need Chromium at /usr/bin/chromium"
    assert "skipped on CI" in ci_browser_skip_problem(True, True, reason, {"CI": "true"})
    assert reason in ci_browser_skip_problem(True, True, reason, {"CI": "true"})
    assert ci_browser_skip_problem(True, True, reason, {}) is None  # a learner's machine: skip is fine
    assert ci_browser_skip_problem(True, True, reason, {"CI": "false"}) is None
    assert ci_browser_skip_problem(False, True, reason, {"CI": "true"}) is None  # other skips are not its business
    assert ci_browser_skip_problem(True, False, reason, {"CI": "true"}) is None


def test_blank_band_tells_a_drawn_plot_from_a_blank_one() -> None:
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def png(draw: bool) -> str:
        fig, ax = plt.subplots(figsize=(4, 3))
        if draw:
            _ = ax.plot([0, 1], [0, 1])
        else:
            ax.set_axis_off()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()

    assert blank_band(png(True)) < 0.5
    assert blank_band(png(False)) == 1.0
    with pytest.raises(ValueError, match="PNG data URI"):
        blank_band("data:image/svg+xml;base64,AAAA")
