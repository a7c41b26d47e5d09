"""The grader: question judges, check() feedback, the wire format, the kernel runner and the command line.

Fast tests (no kernel) exercise the judges and check() in-process. Kernel tests grade real notebooks:
the solution scores full marks, the exercise zero, each question's wrong answer loses exactly that question's
points, and bad learner code (sys.exit, an endless loop, os._exit, a segfault, a raise, a missing function,
monkeypatching the grader, printing a fake pass) costs only its own question.

Variant notebooks replace the setup cell by imports of math, numpy and torch: ``setup()`` also imports pandas and
matplotlib (several seconds per kernel start) and changes nothing that is graded. The real notebooks keep it.
These contract tests run for every part here; the per-part test files test only what is special to a part.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lecture_lib.grade import check, probe_runtime
from lecture_lib.grade import kernel as kernel_mod
from lecture_lib.grade.core import Fail, Outcome, evaluate, find_question, known_parts, questions_for
from lecture_lib.grade.kernel import LearnerKernel
from lecture_lib.grade.runner import grade_notebook, parse_envelope, part_of, probe_cell, probe_source
from lecture_lib.grade.feedback import evaluate_locally
from tools.make_exercises import exercise_name, find_regions, question_regions, replace_regions, with_region_replaced

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = {part_of(nbformat.read(p, as_version=4), p.name): p for p in sorted((ROOT / "solutions").glob("*.ipynb"))}
QUESTIONS = questions_for("A")
MAX = sum(q.points for q in QUESTIONS)
POINTS = {q.id: q.points for q in QUESTIONS}
LIGHT_SETUP = "import math\nimport numpy as np\nimport torch"
TIMEOUT = 60.0


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def solution_nb(part: str = "A") -> Any:
    return nbformat.read(SOLUTIONS[part], as_version=4)


def _definitions(nb: Any) -> dict[str, Any]:
    """Execute a notebook's code cells here (no kernel), except the setup cell and the check() calls."""
    ns: dict[str, Any] = {}
    code_cells = [c for c in nb.cells if c.cell_type == "code"][1:]
    for cell in code_cells:
        if not cell.source.lstrip().startswith("check("):
            exec(compile(cell.source, "<solution>", "exec"), ns)  # noqa: S102 - our own notebook
    return ns


def solution_namespace() -> dict[str, Any]:
    """The Part A solution notebook's definitions."""
    return _definitions(solution_nb())


def variant(tmp_path: Path, name: str, nb: Any, *, extra: list[str] = ()) -> Path:
    """Store ``nb`` (light setup cell, optional extra code cells at the end) as tmp_path/name."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source = LIGHT_SETUP
    for code in extra:
        nb.cells.append(nbformat.v4.new_code_cell(code))
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def replaced(replacements: dict[tuple[str, int], str]) -> Any:
    nb = solution_nb(next(iter(replacements))[0][0])
    for (qid, k), code in replacements.items():
        nb = with_region_replaced(nb, qid, k, code)
    return nb


def by_id(report: Any) -> dict[str, Outcome]:
    return {o.id: o for o in report.outcomes}


def local(qid: str, ns: dict, seed: int = 0):
    """Probe + judge in this process (what check() does), with a chosen seed."""
    return evaluate_locally(qid, ns, seed)


def wrong_ns(qid: str, k: int, code: str) -> dict[str, Any]:
    """The solution's definitions with region k of question qid replaced by ``code``."""
    return _definitions(with_region_replaced(solution_nb(qid[0]), qid, k, code))


# ============================================================================ judges, in-process (fast)
def test_part_a_questions_and_points():
    ids = [q.id for q in QUESTIONS]
    assert ids[:3] == ["A1", "A2", "A3"] and [POINTS[i] for i in ids[:3]] == [2, 2, 3]
    assert all(q.wrong_answers for q in QUESTIONS), "every question needs a wrong answer for the tests"


@pytest.mark.parametrize("part", known_parts())
def test_every_part_with_checks_is_well_formed(part):
    """For authors of parts B-E: unique ids, probes that can be sent to a kernel, wrong answers, a solution."""
    import inspect

    questions = questions_for(part)
    assert questions and len({q.id for q in questions}) == len(questions)
    runtime = inspect.getsource(probe_runtime)
    for q in questions:
        ns: dict[str, Any] = {"__name__": "probe_check"}
        exec(compile(runtime + "\n" + probe_source(q), f"<probe {q.id}>", "exec"), ns)  # noqa: S102
        assert callable(ns[q.probe.__name__])
        assert q.wrong_answers, f"{q.id} needs a wrong answer (Question.wrong_answers) for the tests"
        assert isinstance(q.make_inputs(np.random.default_rng(0)), dict)
    assert part in SOLUTIONS, f"part {part} has checks but no solutions/part{part}_*.ipynb"


def test_reference_matches_the_lecture_and_the_errata():
    """The judges' reference (lecture_lib.quant) against the numbers worked out by hand in errata.md."""
    from lecture_lib import quant

    qt = quant.quantize(torch.tensor([0.5, -0.3, 0.8, -0.1, 0.2]), 4)
    assert qt.codes.tolist() == [4, -3, 7, -1, 2]
    assert math.isclose(float(qt.scale.reshape(-1)[0]), 0.8 / 7, rel_tol=1e-6)
    w_hat = qt.codes.float() * qt.scale.reshape(-1)[0]
    mae = float((torch.tensor([0.5, -0.3, 0.8, -0.1, 0.2]) - w_hat).abs().mean())
    assert math.isclose(mae, 9 / 350, rel_tol=1e-5) and not math.isclose(mae, 0.024286, rel_tol=1e-3)
    qa = quant.quantize(torch.tensor([[-0.4, 0.1, 0.7, 1.6, 2.1]]), 8, symmetric=False, axis=0)
    assert qa.codes.tolist() == [[0, 51, 112, 204, 255]]
    assert int(qa.zero_point.reshape(-1)[0]) == 41
    assert math.isclose(float(qa.scale.reshape(-1)[0]), 2.5 / 255, rel_tol=1e-6)


@pytest.mark.parametrize("part", sorted(SOLUTIONS))
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_solution_passes_every_question_on_random_inputs(part, seed):
    # The challenges are scored in tiers on held-out sets; their tiers are tested on fixed seeds in
    # tests/test_challenges.py (a random held-out set can put the reference one tier lower).
    ns = _definitions(solution_nb(part))
    for q in questions_for(part, with_challenge=False):
        outcome = local(q.id, ns, seed)
        assert outcome.passed, outcome.message
        assert outcome.points == q.points


@pytest.mark.parametrize("part", sorted(SOLUTIONS))
@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_each_wrong_answer_fails_its_question_only(part, seed):
    """In-process, for every part: each wrong answer fails its own question and no other."""
    questions = questions_for(part)
    for q in questions:
        for k, code in q.wrong_answers.items():
            ns = wrong_ns(q.id, k, code)
            # a challenge (a long simulation) is judged against its own wrong answer only; that the others
            # leave it at gold is covered by test_solution_passes_every_question_on_random_inputs
            for other in [o for o in questions if not o.is_challenge or o.id == q.id]:
                outcome = local(other.id, ns, seed)
                assert outcome.passed == (other.id != q.id), (q.id, other.id, outcome.message)


# Each question's table of real mistakes (Question.mistakes) is proven in tests/test_grade_mistakes.py.


def test_evaluate_rejects_malformed_envelopes():
    q = find_question("A1")
    inputs = q.make_inputs(np.random.default_rng(0))
    for envelope in (None, [], {}, {"status": 3}, {"status": "passed"}, {"status": "ok", "value": [1, 2]},
                     {"status": "ok", "value": {"__nd__": "not base64!"}}, {"status": "ok", "value": None}):
        outcome = evaluate(q, inputs, envelope)
        assert outcome.points == 0 and not outcome.passed, envelope


def test_fail_requires_a_known_status():
    with pytest.raises(ValueError, match="status"):
        Fail("x", status="passed")


# ============================================================================ wire format
@settings(max_examples=40, deadline=None)
@given(arr=hnp.arrays(dtype=st.sampled_from([np.int8, np.uint8, np.int32, np.float32, np.float64, np.bool_]),
                      shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)),
       as_tensor=st.booleans())
def test_wire_format_round_trips_arrays_and_tensors(arr, as_tensor):
    value = torch.from_numpy(arr.copy()) if as_tensor else arr
    out = probe_runtime.decode(json.loads(json.dumps(probe_runtime.encode((value, [1.5, None], {"k": "s"})))))
    got, rest, mapping = out
    assert isinstance(out, tuple) and rest == [1.5, None] and mapping == {"k": "s"}
    assert got.kind == ("torch" if as_tensor else "numpy")
    assert got.value.dtype == arr.dtype and got.value.shape == arr.shape
    np.testing.assert_array_equal(got.value, arr)


def test_wire_format_keeps_special_floats_and_marks_unknown_types():
    out = probe_runtime.decode(json.loads(json.dumps(probe_runtime.encode(
        [float("nan"), float("inf"), object(), probe_runtime.Raised("ValueError: x"), torch.tensor(1.0).to(torch.bfloat16)]))))
    assert math.isnan(out[0]) and out[1] == math.inf
    assert isinstance(out[2], probe_runtime.Opaque) and out[2].type_name == "object"
    assert out[3] == probe_runtime.Raised("ValueError: x")
    assert out[4].dtype == "torch.bfloat16" and out[4].value.dtype == np.float32


@pytest.mark.parametrize("bad", [[1], {"x": 1}, {"__nd__": "AAAA"}, {"__tuple__": 5}, {"__dict__": {}}, {}])
def test_decode_rejects_what_is_not_the_wire_format(bad):
    with pytest.raises(ValueError):
        probe_runtime.decode(bad)


def test_envelope_needs_this_runs_nonce():
    import base64

    payload = base64.b64encode(json.dumps({"status": "ok", "value": 1}).encode()).decode()
    text = f"noise\n<<lecture26:abc>>{payload}<<end:abc>>\n"
    assert parse_envelope(text, "abc") == {"status": "ok", "value": 1}
    assert parse_envelope(text, "abd") is None
    assert parse_envelope("<<lecture26:abc>>!!!<<end:abc>>", "abc") is None


def test_probe_cell_adds_nothing_to_the_namespace_and_prints_a_marked_result():
    q = find_question("A1")
    inputs = q.make_inputs(np.random.default_rng(1))
    ns = solution_namespace()
    before = set(ns)
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(probe_cell(q, inputs, "n0nce"), ns)  # noqa: S102 - what the kernel runs
    assert set(ns) - before <= {"__builtins__"}
    outcome = evaluate(q, inputs, parse_envelope(buf.getvalue(), "n0nce"))
    assert outcome.passed, outcome.message


def test_part_from_metadata_then_file_name():
    assert part_of({"metadata": {"lecture26": {"part": "b"}}}, "whatever.ipynb") == "B"
    assert part_of({"metadata": {}}, "partC_prod.ipynb") == "C"
    assert part_of({"metadata": {"lecture26": {"part": "Z"}}}, "partD_x.ipynb") == "D"
    assert part_of({"metadata": {}}, "my_partA.ipynb") is None


# ============================================================================ check() in-process
def test_check_prints_one_line_and_returns_none(capsys):
    added = {k: v for k, v in solution_namespace().items() if k.startswith(("quantize", "dequantize", "mean_"))}
    assert "quantize_int4" in added and not set(added) & set(globals())
    globals().update(added)
    try:
        assert check("A1") is None
        out = capsys.readouterr().out
        assert out.startswith("A1 passed (2/2): ") and out.count("\n") == 1
        assert "[4, -3, 7, -1, 2]" in out
    finally:
        for name in added:
            globals().pop(name, None)


def _run_check_in(ns_code: str, qid: str) -> str:
    """Run ``check(qid)`` from a module namespace built by ``ns_code`` and return what it printed."""
    ns: dict[str, Any] = {"check": check}
    exec(compile("import torch, sys, os\n" + ns_code, "<learner>", "exec"), ns)  # noqa: S102
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        result = eval("check(%r)" % qid, ns)  # noqa: S307 - called from the learner namespace
    assert result is None
    return buf.getvalue()


@pytest.mark.parametrize("code,expected", [
    ('def quantize_int4(w):\n    raise NotImplementedError("A1: compute the scale and the codes")',
     "A1 not attempted yet (0/2): NotImplementedError: A1: compute the scale and the codes"),
    ("", "A1 missing (0/2): quantize_int4 is not defined"),
    ("quantize_int4 = 3", "A1 missing (0/2): quantize_int4 must be a function"),
    ("def quantize_int4(w):\n    sys.exit(2)", "A1 error (0/2): SystemExit(2)"),
    ("def quantize_int4(w):\n    raise KeyboardInterrupt", "A1 interrupted (0/2)"),
    ("def quantize_int4(w):\n    return 1 / 0", "A1 error (0/2): quantize_int4 must work on the lecture's vector"),
    ("def quantize_int4(w):\n    return None", "A1 not passed yet (0/2): quantize_int4 must return a pair"),
])
def test_check_never_raises_and_labels_honestly(code, expected):
    out = _run_check_in(code, "A1")
    assert out.startswith(expected), out
    assert "passed (" not in out or "not passed" in out


def test_check_unknown_question():
    assert "unknown question 'A9'" in _run_check_in("", "A9")
    assert "must look like 'A1'" in _run_check_in("", "hello")


# ============================================================================ kernel runner (no torch)
def test_kernel_survives_a_hung_cell_and_a_crash(monkeypatch, tmp_path):
    monkeypatch.setattr(kernel_mod, "INTERRUPT_GRACE", 0.5)
    cells = [
        (1, "x = 1"),
        (2, "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass"),
        (3, "import os\nos._exit(1)"),
        (4, "y = x + 1"),
        (5, "while True:\n    pass"),
        (6, "raise ValueError('boom')"),
        (7, "exit()"),
        (8, "z = y + 1"),
    ]
    lk = LearnerKernel(cells=cells, cwd=tmp_path, timeout=1.5)
    try:
        lk.run_notebook()
        result = lk.probe("print(x, y, z)")
        assert result.status == "ok" and result.stdout.strip() == "1 2 3"
        crash = lk.probe("import os; os._exit(3)")
        assert crash.status == "died"
        after = lk.probe("print(y)")  # restarted and replayed
        assert after.status == "ok" and after.stdout.strip() == "2"
    finally:
        lk.close()
    notes = "\n".join(lk.notes)
    assert "cell 2 did not stop after an interrupt" in notes
    assert "cell 3 crashed the kernel" in notes
    assert "cell 5 timed out" in notes
    assert "cell 6 raised ValueError: boom" in notes
    assert "cell 7 called exit() or quit()" in notes
    assert lk.restarts == 4 and lk.skipped == {1, 2, 4, 6}
    assert list(tmp_path.iterdir()) == []  # nothing written into the notebook's folder


# ============================================================================ grading real notebooks
def test_cli_grades_solutions_and_exercises(tmp_path):
    """Every solution notebook scores full marks and every untouched exercise zero ("not attempted")."""
    folder = tmp_path / "mine"
    folder.mkdir()
    for path in SOLUTIONS.values():  # the learner's exercises, in a folder of their own
        name = exercise_name(path.name)
        (folder / name).write_bytes((ROOT / "exercises" / name).read_bytes())
    files = [*SOLUTIONS.values(), *sorted(folder.iterdir())]
    before = {p: sha(p) for p in files}
    out_json = tmp_path / "grades.json"
    proc = subprocess.run(
        [sys.executable, "-m", "lecture_lib.grade", *map(str, SOLUTIONS.values()), str(folder),
         "--json", str(out_json), "--timeout", str(TIMEOUT)],
        capture_output=True, text=True, cwd=ROOT, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {p: sha(p) for p in files} == before, "grading must not write to the learner's notebook"
    assert sorted(folder.iterdir()) == files[len(SOLUTIONS):], "nor next to it"
    data = json.loads(out_json.read_text())
    assert len(data["notebooks"]) == 2 * len(SOLUTIONS)
    for nb in data["notebooks"]:
        assert set(nb) >= {"path", "score", "max_score", "questions"}
        part = nb["part"]
        assert nb["max_score"] == sum(q.points for q in questions_for(part)) > 0
        assert [q["id"] for q in nb["questions"]] == [q.id for q in questions_for(part)]
        for q in nb["questions"]:
            assert set(q) >= {"id", "points", "max_points", "passed", "message"}
            assert isinstance(q["passed"], bool) and isinstance(q["points"], int) and q["message"]
        if Path(nb["path"]).parent == folder:
            assert nb["score"] == 0
            assert all(q["status"] == "not_attempted" for q in nb["questions"]), nb["questions"]
            assert all(q["message"].startswith(f"NotImplementedError: {q['id']}:") for q in nb["questions"])
        else:
            assert nb["score"] == nb["max_score"], nb["questions"]
            assert all(q["passed"] for q in nb["questions"])
    # the table: one row per question, honest totals
    for part in SOLUTIONS:
        n, full = len(questions_for(part)), sum(q.points for q in questions_for(part))
        assert f"total {full}/{full} (all questions passed)" in proc.stdout
        assert f"total 0/{full} (0 of {n} questions passed)" in proc.stdout
    assert proc.stdout.count(" not attempted ") == sum(len(questions_for(p)) for p in SOLUTIONS)
    total = sum(q.points for p in SOLUTIONS for q in questions_for(p))
    assert f"overall {total}/{2 * total} over {2 * len(SOLUTIONS)} graded notebook(s)" in proc.stdout


def test_cli_exit_status_for_unreadable_paths(tmp_path, capsys):
    from lecture_lib.grade.__main__ import main

    text = tmp_path / "partA_notes.txt"
    text.write_text("not a notebook")
    broken = tmp_path / "partA_broken.ipynb"
    broken.write_text("{ this is not json")
    unknown = tmp_path / "homework.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), unknown)
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    bad = [tmp_path / "missing.ipynb", text, broken, unknown, empty_dir]
    for path in bad:  # each one alone (in-process: no kernel is started for these)
        assert main([str(path), "--json", str(tmp_path / "o.json")]) == 2, path
        assert "NOT GRADED" in capsys.readouterr().out
        data = json.loads((tmp_path / "o.json").read_text())
        assert data["notebooks"][0]["score"] == 0 and data["notebooks"][0]["questions"] == []
    proc = subprocess.run([sys.executable, "-m", "lecture_lib.grade", *map(str, bad)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and proc.stdout.count("NOT GRADED") == len(bad), proc.stdout
    assert "5 notebook(s) could not be graded" in proc.stdout


def test_cli_usage_errors():
    proc = subprocess.run([sys.executable, "-m", "lecture_lib.grade", "x.ipynb", "--timeout", "0"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "--timeout must be a positive" in proc.stderr


ALL_QUESTIONS = [q for part in sorted(SOLUTIONS) for q in questions_for(part)]


@pytest.mark.parametrize("q", ALL_QUESTIONS, ids=[q.id for q in ALL_QUESTIONS])
def test_wrong_answer_loses_exactly_its_points(q, tmp_path):
    """Through the real kernel grader, for every part: a wrong answer costs its own question's points only."""
    full = sum(other.points for other in questions_for(q.part))
    for k, code in q.wrong_answers.items():
        path = variant(tmp_path, f"part{q.part}_wrong_{q.id}_{k}.ipynb", replaced({(q.id, k): code}))
        digest = sha(path)
        report = grade_notebook(path, timeout=TIMEOUT)
        assert sha(path) == digest
        outcomes = by_id(report)
        assert report.score == full - q.points, [o.as_json() for o in report.outcomes]
        assert outcomes[q.id].status == "failed" and outcomes[q.id].message


def test_exit_and_crash_cost_only_their_questions(tmp_path):
    nb = replaced({("A1", 0): "import os\nos._exit(1)", ("A3", 0): "import sys\nsys.exit(1)"})
    path = variant(tmp_path, "partA_exits.ipynb", nb)
    digest = sha(path)
    report = grade_notebook(path, timeout=TIMEOUT)
    assert sha(path) == digest
    got = by_id(report)
    assert (got["A1"].status, got["A1"].points) == ("died", 0)
    assert (got["A3"].status, got["A3"].points) == ("error", 0) and "SystemExit" in got["A3"].message
    assert all(o.passed for o in report.outcomes if o.id not in ("A1", "A3"))
    assert report.score == MAX - POINTS["A1"] - POINTS["A3"]
    assert any("crashed the kernel" in n for n in report.notes)  # the notebook's own check("A1") cell


def test_endless_loop_and_segfault_cost_only_their_questions(tmp_path):
    nb = replaced({("A2", 1): "while True:\n    pass", ("A3", 0): "import ctypes\nctypes.string_at(0)"})
    path = variant(tmp_path, "partA_loops.ipynb", nb)
    report = grade_notebook(path, timeout=5.0)
    got = by_id(report)
    assert (got["A2"].status, got["A2"].points) == ("timeout", 0)
    assert (got["A3"].status, got["A3"].points) == ("died", 0)
    assert all(o.passed for o in report.outcomes if o.id not in ("A2", "A3")), [o.as_json() for o in report.outcomes]
    assert report.score == MAX - POINTS["A2"] - POINTS["A3"]


def test_raise_and_missing_function_cost_only_their_questions(tmp_path):
    nb = replaced({("A2", 0): 'raise RuntimeError("boom")'})
    for cell in nb.cells:
        cell.source = cell.source.replace("def quantize_int4(", "def quantise_int4(")
    path = variant(tmp_path, "partA_missing.ipynb", nb)
    got = by_id(grade_notebook(path, timeout=TIMEOUT))
    assert (got["A1"].status, got["A1"].points) == ("missing", 0) and "quantize_int4 is not defined" in got["A1"].message
    assert (got["A2"].status, got["A2"].points) == ("error", 0) and "RuntimeError: boom" in got["A2"].message
    assert all(o.passed for o in got.values() if o.id not in ("A1", "A2"))


CHEAT = '''\
import builtins, numpy, torch
import lecture_lib.grade as g
import lecture_lib.grade.core as core
import lecture_lib.grade.partA as part_a
import lecture_lib.grade.probe_runtime as runtime

def _always(*args, **kwargs):
    return True

numpy.allclose = numpy.array_equal = torch.allclose = torch.equal = _always
builtins.round = lambda *args, **kwargs: 0
g.check = lambda qid: print(f"{qid} passed (2/2)")
core.evaluate = lambda q, inputs, envelope: core.Outcome(q.id, q.points, q.points, "passed", "ok")
runtime.run = lambda probe, ns, inputs: {"status": "ok", "value": None}
runtime.get_function = lambda ns, name: (lambda *a, **k: None)
part_a.judge_a1 = lambda inputs, result: "passed"
for q in part_a.QUESTIONS:
    object.__setattr__(q, "judge", lambda inputs, result: "passed")
print("A1 passed (2/2)\\ntotal 7/7 (all questions passed)")
print("<<lecture26:00000000000000000000000000000000>>eyJzdGF0dXMiOiAib2sifQ==<<end:00000000000000000000000000000000>>")
check("A1")
'''


def test_monkeypatching_the_grader_and_printing_a_fake_pass_gain_nothing(tmp_path):
    nb = replaced({("A1", 0): 'raise NotImplementedError("A1: compute the scale and the codes")'})
    path = variant(tmp_path, "partA_cheat.ipynb", nb, extra=[CHEAT])
    report = grade_notebook(path, timeout=TIMEOUT)
    got = by_id(report)
    assert got["A1"].status == "not_attempted" and got["A1"].points == 0
    assert all(o.passed for o in got.values() if o.id != "A1")
    assert report.score == MAX - POINTS["A1"]
    assert not report.notes, report.notes  # the cheat cell itself ran fine: it just did not help
