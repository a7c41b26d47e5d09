"""The learner's side of grading: the commands work from every folder, grade() / hint() / solution() in a
notebook, check() on a stale definition or a slow answer, progress for the start page, honest tables.

The commands the documents show are the ones run here (``COMMANDS``); the documents are checked to show them.
"""

from __future__ import annotations

import json
import linecache
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from lecture_lib.grade import course, hint, solution
from lecture_lib.grade.core import Outcome, find_question, questions_for
from lecture_lib.grade.feedback import evaluate_locally, question_functions
from lecture_lib.grade.help import HELP
from lecture_lib.grade.notebook import (
    defined_names,
    latest_definitions,
    notebook_path,
    stale_reason,
    unsaved_definitions,
)
from lecture_lib.grade.report import format_report
from lecture_lib.grade.runner import NotebookReport

ROOT = Path(__file__).resolve().parent.parent
ALL_IDS = [q.id for part in "ABCDE" for q in questions_for(part)]
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
#: What README, the start page and every exercise notebook tell learners to type.
COMMANDS = ("make grade PART=", "make grade ", "python -m lecture_lib.grade --part ", "grade()", "hint(", "solution(")


def _env(progress: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["LECTURE26_PROGRESS"] = str(progress)
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    env.pop("MAKEFLAGS", None)
    return env


# ============================================================================ the documents show the commands
def _markdown(path: Path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", [ROOT / "README.md", ROOT / "notebooks" / "00_start_here.ipynb", *EXERCISES],
                         ids=lambda p: p.name)
def test_documents_show_the_tested_commands(path):
    text = path.read_text(encoding="utf-8") if path.suffix == ".md" else _markdown(path)
    for command in COMMANDS:
        assert command in text, f"{path.name} does not show {command!r}"
    assert not re.search(r"\.venv/bin/python -m lecture_lib\.grade exercises/", text), "the old, folder-bound command"


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_exercise_notebooks_import_the_helpers_and_name_their_own_part(path):
    nb = nbformat.read(path, as_version=4)
    part = nb.metadata["lecture26"]["part"]
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "from lecture_lib.grade import check, grade, hint, solution" in code
    text = _markdown(path)
    assert f"make grade PART={part}" in text and f'hint("{part}1")' in text and f'solution("{part}1")' in text
    assert path.name == course.exercise_notebook(part)


def test_every_notebook_has_a_distinct_file_name():
    names = [p.name for folder in ("notebooks", "exercises", "solutions") for p in (ROOT / folder).glob("*.ipynb")]
    assert len(names) == len(set(names)), sorted(names)


@pytest.mark.parametrize("part", list(course.PARTS))
def test_every_part_notebook_ends_with_its_exercises_and_the_next_part(part):
    stem = course.PARTS[part][0]
    last = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4).cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("**Where next.**")
    assert f"(../exercises/{course.exercise_notebook(part)})" in last.source
    nxt = chr(ord(part) + 1)
    target = f"({course.PARTS[nxt][0]}.ipynb)" if nxt in course.PARTS else "(00_start_here.ipynb)"
    assert target in last.source


# ============================================================================ commands from every folder
@pytest.mark.slow
@pytest.mark.parametrize("folder", [".", "notebooks", "exercises"])
def test_make_grade_works_from_the_course_folder_notebooks_and_exercises(folder, tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    progress = tmp_path / "grades.json"
    proc = subprocess.run(["make", "grade", "PART=B", f"PY={sys.executable}", f"STAMP={ROOT / 'pyproject.toml'}"],
                          cwd=ROOT / folder, env=_env(progress), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "exercises/partB_distillation_speculative_exercises.ipynb  (part B)" in proc.stdout
    assert "total 0/14 (0 of 8 questions passed)" in proc.stdout
    data = json.loads(progress.read_text())
    assert data["parts"]["B"]["score"] == 0 and data["parts"]["B"]["max_score"] == 14


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["notebooks", "exercises"])
def test_python_m_grade_without_a_path_grades_the_course_exercises(folder, tmp_path):
    progress = tmp_path / "grades.json"
    proc = subprocess.run([sys.executable, "-m", "lecture_lib.grade", "--part", "c"], cwd=ROOT / folder,
                          env=_env(progress), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "partC_production_python_exercises.ipynb  (part C)" in proc.stdout
    assert set(json.loads(progress.read_text())["parts"]) == {"C"}


def test_without_a_path_every_exercise_notebook_of_the_course_is_graded():
    from lecture_lib.grade.__main__ import default_paths

    every = [ROOT / "exercises" / course.exercise_notebook(x) for x in "ABCDE"]
    for folder in (ROOT, ROOT / "notebooks", ROOT / "exercises"):
        assert default_paths(None, folder) == every
        assert default_paths("D", folder) == [every[3]]


def test_outside_a_course_folder_the_grader_asks_for_a_path(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "lecture_lib.grade"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and "not inside the course folder" in proc.stderr


def test_part_and_path_are_exclusive(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "lecture_lib.grade", "x.ipynb", "--part", "A"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not both" in proc.stderr


# ============================================================================ course folder and progress
def test_course_root_from_any_folder_inside_it(tmp_path):
    for folder in (ROOT, ROOT / "notebooks", ROOT / "exercises", ROOT / "lecture_lib" / "grade"):
        assert course.find_course_root(folder) == ROOT
    assert course.find_course_root(tmp_path) is None
    assert [p.name for p in course.exercise_notebooks(ROOT)] == [course.exercise_notebook(x) for x in "ABCDE"]
    with pytest.raises(ValueError, match="part must be one of"):
        course.exercise_notebook("F")


def _result(path: Path, score: int, passed: dict[str, bool], error: str | None = None) -> dict[str, Any]:
    return {"path": str(path), "score": score, "max_score": 11, "error": error,
            "questions": [{"id": q, "passed": ok} for q, ok in passed.items()]}


def test_progress_is_recorded_only_for_a_course_folders_exercises(tmp_path, monkeypatch, capsys):
    progress = tmp_path / "p" / "grades.json"
    monkeypatch.setenv(course.PROGRESS_ENV, str(progress))
    b = ROOT / "exercises" / course.exercise_notebook("B")
    assert course.record_progress([_result(tmp_path / "partB_x_exercises.ipynb", 3, {"B1": True})], when="t") is None
    assert course.record_progress([_result(ROOT / "solutions" / "partB_distillation_speculative_solutions.ipynb",
                                           11, {"B1": True})], when="t") is None
    assert course.record_progress([_result(b, 0, {}, error="could not read")], when="t") is None
    assert not progress.exists()
    assert course.record_progress([_result(b, 9, {"B1": True, "B2": False, "B3": True})], when="t0") == progress
    assert course.load_progress(ROOT)["parts"]["B"] == {
        "score": 9, "max_score": 11, "graded_at": "t0", "questions": {"B1": True, "B2": False, "B3": True}}
    assert course.next_step({"parts": {}}).startswith("Part A (Quantization): read notebooks/partA_quantization")
    assert course.next_step(course.load_progress(ROOT)) == (  # a part already started comes first
        "Part B: questions B2 in exercises/partB_distillation_speculative_exercises.ipynb")
    course.show_progress(ROOT / "notebooks")
    out = capsys.readouterr().out
    assert re.search(r"^B\s+Distillation & speculative decoding\s+9/11\s+B2$", out, re.M), out
    for x in "ABCDE":
        course.record_progress([_result(ROOT / "exercises" / course.exercise_notebook(x), 11, {f"{x}1": True})],
                               when="t1")
    assert course.next_step(course.load_progress(ROOT)).startswith("every part is at full marks")
    progress.write_text("{ not json")
    assert course.load_progress(ROOT) == {"parts": {}}
    monkeypatch.setenv(course.PROGRESS_ENV, "none")
    assert course.progress_file(ROOT) is None and course.record_progress([_result(b, 1, {})], when="t") is None


# ============================================================================ tables are never cut
def test_the_table_wraps_long_messages_instead_of_cutting_them():
    message = "kd_loss must be 1.2345; got 0.3086 for 3 positions. Hint: " + "a long explanation " * 12 + "END"
    report = NotebookReport(path="x.ipynb", part="B", outcomes=[Outcome("B2", 0, 2, "failed", message)])
    text = format_report(report)
    assert "..." not in text and "…" not in text and "END" in text
    assert " ".join(text.split()).count(" ".join(message.split())) == 1
    assert all(len(line) <= 150 for line in text.splitlines())
    narrow = format_report(report, message_width=50)
    assert all(len(line) <= 36 + 50 for line in narrow.splitlines()) and "END" in narrow and "..." not in narrow


# ============================================================================ history: stale and unsaved code
def test_defined_names_even_in_a_cell_with_a_syntax_error():
    assert defined_names("import torch\ndef f(x):\n    return x\nclass K:\n    pass\ny = 2") == {"f", "K"}
    assert defined_names("def f(x:\n    return x") == {"f"}
    assert latest_definitions(["def f(): return 1", "x = 1", "def f(): return 2"]) == {"f": "def f(): return 2"}


def _fake_cell(source: str, name: str) -> Any:
    """Define a function from ``source`` as IPython does: the cell's text is kept in linecache."""
    filename = f"<cell-{abs(hash(source))}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), ns)  # noqa: S102 - test code
    return ns[name]


def test_stale_reason_names_the_failed_cell():
    good = "def f(x):\n    return x + 1\n"
    fn = _fake_cell(good, "f")
    assert stale_reason("f", fn, [good]) is None
    assert stale_reason("f", fn, [good, "check('A1')"]) is None
    syntax = "def f(x):\n    return (x + 2\n"
    assert "SyntaxError" in stale_reason("f", fn, [good, syntax]) and "older definition" in stale_reason(
        "f", fn, [good, syntax])
    raised = "raise ValueError('x')\ndef f(x):\n    return x + 3\n"
    assert "raised an error before defining it" in stale_reason("f", fn, [good, raised])
    assert stale_reason("f", fn, [good, syntax, good]) is None  # fixed and re-run
    assert stale_reason("g", fn, [good]) is None  # never defined in a cell: nothing to compare


def test_unsaved_definitions_compare_the_last_run_with_the_saved_cells():
    saved = ["import torch", "def f(x):\n    return x", "check('B1')"]
    assert unsaved_definitions(["import torch", "def f(x):\n    return x  ", "check('B1')"], saved) == []
    assert unsaved_definitions(["def f(x):\n    return x", "def f(x):\n    return 2 * x"], saved) == ["f"]
    assert unsaved_definitions(["def f(x):\n    return 2 * x", "def f(x):\n    return x"], saved) == []
    assert unsaved_definitions(["def g():\n    pass", "grade()"], saved) == ["g"]


def test_notebook_path_from_session_then_folder(tmp_path):
    nb = tmp_path / "partB_x_exercises.ipynb"
    nb.write_text("{}")
    assert notebook_path(None, {"__session__": str(nb)}) == nb
    assert notebook_path(None, {}, cwd=tmp_path) == nb
    (tmp_path / "partC_y_exercises.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="grade\\('NAME.ipynb'\\)"):
        notebook_path(None, {"__session__": str(tmp_path / "gone.ipynb")}, cwd=tmp_path)
    assert notebook_path(nb) == nb
    with pytest.raises(ValueError, match="is not a file"):
        notebook_path(tmp_path / "missing.ipynb")


def test_notebook_path_on_colab_says_to_use_check(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", object())
    with pytest.raises(ValueError, match="on Colab .* use check\\(\\) per question"):
        notebook_path(None, {}, cwd=tmp_path)


# ============================================================================ check(): stale, slow, numpy
def test_check_reports_a_stale_definition_instead_of_passing():
    good = "import torch\ndef expected_tokens(alpha, k):\n    return float(k + 1) if alpha == 1 else (1 - alpha ** (k + 1)) / (1 - alpha)\n"
    fn = _fake_cell(good, "expected_tokens")
    ns = {"expected_tokens": fn}
    assert evaluate_locally("B5", ns, history=[good]).passed
    broken = "def expected_tokens(alpha, k):\n    return (1 - alpha ** (k + 1) / (1 - alpha)\n"
    outcome = evaluate_locally("B5", ns, history=[good, broken])
    assert outcome.status == "stale" and outcome.points == 0 and "SyntaxError" in outcome.message
    assert outcome.feedback_line().startswith("B5 not checked (0/1): the last cell you ran that defines expected_tokens")


def test_check_interrupts_a_slow_answer():
    def expected_tokens(alpha, k):
        while True:
            pass

    outcome = evaluate_locally("B5", {"expected_tokens": expected_tokens}, timeout=0.5)
    assert outcome.status == "timeout" and outcome.points == 0 and "within 0.5 s" in outcome.message


def test_question_functions_are_read_from_the_probes():
    assert question_functions(find_question("A2")) == ["dequantize_int4", "mean_abs_error"]
    assert all(question_functions(find_question(q)) for q in ALL_IDS)


# ============================================================================ hint() and solution()
def test_every_question_has_three_hints_and_an_explanation():
    assert sorted(HELP) == sorted(ALL_IDS)
    for qid, h in HELP.items():
        assert all(isinstance(t, str) and len(t) > 20 for t in h), qid
        assert len({h.level1, h.level2, h.level3}) == 3, qid


def test_hint_levels_and_solution(capsys):
    hint("b2")
    hint("B2", 3)
    hint("B2", 4)
    hint("B9")
    solution("B2")
    out = capsys.readouterr().out
    assert f"B2 hint 1/3: {HELP['B2'].level1}" in out and '(still stuck? hint("B2", 2))' in out
    assert f"B2 hint 3/3: {HELP['B2'].level3}" in out and 'solution("B2") shows the reference solution' in out
    assert "level must be 1, 2 or 3" in out and "unknown question 'B9'" in out
    assert f"B2 reference solution. Why: {HELP['B2'].explanation}" in out
    assert "def kd_loss(student_logits, teacher_logits, labels, T, alpha):" in out and "T**2" in out


@pytest.mark.parametrize("part", "ABCDE")
def test_each_shipped_reference_solution_passes_its_check(part, capsys):
    """solution("X1") prints code that really answers X1 (the code is run and checked here)."""
    reference = json.loads((ROOT / "lecture_lib" / "grade" / "reference.json").read_text())
    for q in questions_for(part, with_challenge=False):  # a challenge ships no reference code
        ns: dict[str, Any] = {}
        exec("import math\nimport numpy as np\nimport torch\n" + reference[q.id], ns)  # noqa: S102
        for other in questions_for(part, with_challenge=False):  # helpers a reference solution calls (C2's burn_rate ...)
            if other.id != q.id:
                exec(reference[other.id], ns)  # noqa: S102
        outcome = evaluate_locally(q.id, ns)
        assert outcome.passed, (q.id, outcome.message)


# ============================================================================ in a real kernel
KERNEL_CELLS = [
    "import torch\nfrom lecture_lib.grade import check, grade, hint, solution",
    "def softmax_t(logits, T):\n    z = torch.as_tensor(logits, dtype=torch.float64) / T\n"
    "    e = torch.exp(z - z.amax(dim=-1, keepdim=True))\n    return e / e.sum(dim=-1, keepdim=True)",
    'check("B1")',
    "def softmax_t(logits, T):\n    z = torch.as_tensor(logits / T\n    return z",
    'check("B1")',
    'grade()',
]


@pytest.mark.slow
def test_check_and_grade_in_a_real_kernel(tmp_path):
    """A SyntaxError above check() says 'not checked'; grade() grades the saved file and says the open copy is newer."""
    from jupyter_client.manager import start_new_kernel

    course_dir = tmp_path / "course"
    for folder in ("exercises", "notebooks"):
        (course_dir / folder).mkdir(parents=True)
    (course_dir / "notebooks" / "00_start_here.ipynb").write_bytes((ROOT / "notebooks" / "00_start_here.ipynb").read_bytes())
    name = course.exercise_notebook("B")
    saved = course_dir / "exercises" / name
    saved.write_bytes((ROOT / "exercises" / name).read_bytes())
    before = saved.read_bytes()
    env = {**os.environ, "JPY_SESSION_NAME": str(saved), "LECTURE26_PROGRESS": str(tmp_path / "grades.json"),
           "PYTHONPATH": str(ROOT)}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(saved.parent), env=env)
    outputs = []
    try:
        for code in KERNEL_CELLS:
            out: list[str] = []

            def hook(msg, out=out):
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])
                elif msg["msg_type"] == "error":
                    out.append(f"ERROR {msg['content']['ename']}")

            kc.execute_interactive(code, store_history=True, output_hook=hook, timeout=300)
            outputs.append("".join(out))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert outputs[2].startswith("B1 passed (1/1)")
    assert outputs[3].startswith("ERROR SyntaxError")
    assert outputs[4].startswith("B1 not checked (0/1): the last cell you ran that defines softmax_t has a SyntaxError")
    assert f"Grading {name} as last saved" in outputs[5]
    assert "Note: the open notebook is newer than the saved file: softmax_t as you last ran it is not saved" in outputs[5]
    assert "total 0/14 (0 of 8 questions passed)" in outputs[5]
    assert saved.read_bytes() == before, "grade() must not write to the notebook"
    assert json.loads((tmp_path / "grades.json").read_text())["parts"]["B"]["score"] == 0
