"""exercises/ is generated from solutions/ (tools/make_exercises.py) and must stay in sync with it.

Also: the marker rules (regions, stubs, indentation, solution-only cells), the --check mode on a temporary
copy, and that every solution notebook fits its part's checks (a region and a check cell per question).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lecture_lib.grade.core import questions_for
from lecture_lib.grade.runner import part_of
from tools.make_exercises import (
    find_regions,
    exercise_name,
    main,
    make_exercise,
    question_regions,
    replace_regions,
    signature,
    stub,
    sync,
)

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_there_are_solution_notebooks():
    assert SOLUTIONS, "solutions/ holds no notebook"


def test_exercises_are_in_sync_with_solutions(capsys):
    status = main(["--check"])
    out = capsys.readouterr().out
    assert status == 0, f"exercises/ is out of sync; run `python tools/make_exercises.py`:\n{out}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solution_notebook_fits_its_part_checks(path):
    nb = nbformat.read(path, as_version=4)
    part = part_of(nb, path.name)
    assert part is not None and nb.metadata["lecture26"]["part"] == part
    regions = question_regions(nb)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for q in questions_for(part):
        assert q.id in regions, f"{q.id} has no '# BEGIN SOLUTION {q.id}: ...' region"
        assert f'check("{q.id}")' in code, f"no check(\"{q.id}\") cell"
        for k in q.wrong_answers:
            assert k < len(regions[q.id]), f"{q.id}: wrong answer for region {k}, which does not exist"
    assert set(regions) <= {q.id for q in questions_for(part)}, "a region names a question without checks"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_exercise_hides_every_answer(path):
    exercise = nbformat.read(ROOT / "exercises" / exercise_name(path.name), as_version=4)
    text = "\n".join(c.source for c in exercise.cells)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert not any("solution" in c.get("metadata", {}).get("tags", []) for c in exercise.cells)
    assert exercise.metadata["lecture26"] == nbformat.read(path, as_version=4).metadata["lecture26"]
    stubs = re.findall(r'raise NotImplementedError\("([A-E](?:\d+|-challenge)): ', text)
    assert sorted(set(stubs)) == sorted(q.id for q in questions_for(part_of(exercise, path.name)))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_stored_exercise_outputs_say_not_attempted(path):
    """The stored (executed) exercise shows "not attempted yet" under each check cell, never "passed"."""
    exercise = nbformat.read(ROOT / "exercises" / exercise_name(path.name), as_version=4)
    for cell in exercise.cells:
        if cell.cell_type == "code" and cell.source.startswith("check("):
            qid = cell.source.split('"')[1]
            text = "".join(o.get("text", "") for o in cell.get("outputs", []))
            assert text.startswith(f"{qid} not attempted yet"), (qid, text or "no stored output: run make notebooks")


# ------------------------------------------------------------------------------------------ marker rules
SOURCE = '''def f(x):
    """Doc."""
    # BEGIN SOLUTION A1: compute y
    y = x + 1
    return y
    # END SOLUTION


def g(x):
    if x:
        # BEGIN SOLUTION A1: the other half
        return 2
        # END SOLUTION
    return 0'''


def test_regions_become_stubs_with_the_same_indentation():
    regions = find_regions(SOURCE)
    assert [(r.begin, r.end, r.indent, r.message, r.question) for r in regions] == [
        (2, 5, "    ", "A1: compute y", "A1"), (10, 12, "        ", "A1: the other half", "A1")]
    assert stub(regions[0]) == '    raise NotImplementedError("A1: compute y")'
    out = replace_regions(SOURCE, lambda _k, r: stub(r).strip())
    assert out == '''def f(x):
    """Doc."""
    raise NotImplementedError("A1: compute y")


def g(x):
    if x:
        raise NotImplementedError("A1: the other half")
    return 0'''
    compile(out, "<exercise>", "exec")


def test_replace_keeps_regions_when_told_and_reindents_code():
    out = replace_regions(SOURCE, lambda k, _r: "a = 1\n\nreturn a" if k == 1 else None)
    assert "        a = 1\n\n        return a\n    return 0" in out
    assert "    # BEGIN SOLUTION A1: compute y\n    y = x + 1" in out


@pytest.mark.parametrize("bad,match", [
    ("# BEGIN SOLUTION A1: x\ny = 1", "without a '# END SOLUTION'"),
    ("y = 1\n# END SOLUTION", "without a '# BEGIN SOLUTION'"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n# END SOLUTION", "inside another"),
    ("y = 1  # BEGIN SOLUTION", "malformed"),
])
def test_malformed_markers_are_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        find_regions(bad)


def _solution() -> nbformat.NotebookNode:
    nb = new_notebook(metadata={"lecture26": {"part": "A"}, "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        new_markdown_cell("# Title"),
        new_markdown_cell("This is the solution notebook.", metadata={"tags": ["solution"]}),
        new_markdown_cell("Before.\n<!-- BEGIN SOLUTION -->\nThe answer is 42.\n<!-- END SOLUTION -->\nAfter."),
        new_code_cell("def f(x):\n    # BEGIN SOLUTION A1: return x + 1\n    return x + 1\n    # END SOLUTION",
                      execution_count=3, outputs=[nbformat.v4.new_output("stream", name="stdout", text="hi\n")]),
        new_code_cell('check("A1")', execution_count=4),
    ]
    return nb


def test_make_exercise_removes_answers_and_outputs_and_keeps_the_rest():
    sol = _solution()
    before = json.dumps(sol, sort_keys=True)
    ex = make_exercise(sol)
    assert json.dumps(sol, sort_keys=True) == before, "the solution must not be modified"
    assert [c.cell_type for c in ex.cells] == ["markdown", "markdown", "code", "code"]
    assert ex.cells[1].source == "Before.\nAfter."
    assert ex.cells[2].source == 'def f(x):\n    raise NotImplementedError("A1: return x + 1")'
    assert all(c.outputs == [] and c.execution_count is None for c in ex.cells if c.cell_type == "code")
    assert ex.metadata["lecture26"] == {"part": "A"}
    assert [c.id for c in ex.cells] == [sol.cells[i].id for i in (0, 2, 3, 4)]


def test_a_solution_without_regions_is_an_error():
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    with pytest.raises(ValueError, match="no '# BEGIN SOLUTION' region"):
        make_exercise(nb)


def test_check_mode_detects_drift_and_write_mode_repairs_it(tmp_path):
    sols, exs = tmp_path / "solutions", tmp_path / "exercises"
    sols.mkdir()
    nbformat.write(_solution(), sols / "partA_demo_solutions.ipynb")
    problems = sync(sols, exs, check=True)
    assert len(problems) == 1 and problems[0].endswith("partA_demo_exercises.ipynb is missing (run: python tools/make_exercises.py)")
    assert main(["--check", "--solutions", str(sols), "--exercises", str(exs)]) == 1
    assert main(["--solutions", str(sols), "--exercises", str(exs)]) == 0
    assert main(["--check", "--solutions", str(sols), "--exercises", str(exs)]) == 0
    # Outputs do not matter (the pipeline stores executed exercises) ...
    ex = nbformat.read(exs / "partA_demo_exercises.ipynb", as_version=4)
    ex.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="A1 not attempted yet\n")]
    ex.cells[-1].execution_count = 2
    nbformat.write(ex, exs / "partA_demo_exercises.ipynb")
    assert sync(sols, exs, check=True) == []
    # ... and an unchanged exercise is not rewritten (its stored outputs survive).
    assert main(["--solutions", str(sols), "--exercises", str(exs)]) == 0
    assert nbformat.read(exs / "partA_demo_exercises.ipynb", as_version=4).cells[-1].outputs
    # A changed solution source is drift.
    sol = nbformat.read(sols / "partA_demo_solutions.ipynb", as_version=4)
    sol.cells[0].source = "# New title"
    nbformat.write(sol, sols / "partA_demo_solutions.ipynb")
    assert main(["--check", "--solutions", str(sols), "--exercises", str(exs)]) == 1
    # An exercise edited by hand is drift too, and so is an exercise without a solution.
    main(["--solutions", str(sols), "--exercises", str(exs)])
    ex = nbformat.read(exs / "partA_demo_exercises.ipynb", as_version=4)
    ex.cells[2].source = "def f(x):\n    return x + 1"
    nbformat.write(ex, exs / "partA_demo_exercises.ipynb")
    assert main(["--check", "--solutions", str(sols), "--exercises", str(exs)]) == 1
    main(["--solutions", str(sols), "--exercises", str(exs)])
    nbformat.write(_solution(), exs / "partZ_stray.ipynb")
    assert main(["--check", "--solutions", str(sols), "--exercises", str(exs)]) == 1


def test_signature_ignores_outputs_and_ids_but_not_tags():
    a = make_exercise(_solution())
    b = make_exercise(_solution())
    b.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x")]
    b.cells[-1].id = "other"
    assert signature(a) == signature(b)
    b.cells[-1].metadata["tags"] = ["raises-exception"]
    assert signature(a) != signature(b)
