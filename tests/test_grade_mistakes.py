"""Hints that diagnose: every question's table of real learner mistakes (``Question.mistakes``), each proven.

For each mistake, in English and in Japanese, the test feeds exactly that wrong answer (the solution notebook with
the question's region replaced), then checks that the question fails, that the message carries *that* mistake's
hint (the words of the judge message the mistake names, :func:`~lecture_lib.grade.judge_messages.hint_text`) and
no other mistake's hint of the same question (distinct mistakes are told apart by the grader's inputs), over several seeds.
The command-line grader prints the same message (one ``evaluate`` serves both; see ``test_cli_gives_the_same_diagnosis``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from lecture_lib.grade.core import questions_for
from lecture_lib.grade.feedback import evaluate_locally
from lecture_lib.grade.judge_messages import hint_text
from lecture_lib.grade.runner import part_of
from tools.make_exercises import with_region_replaced

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = {part_of(nbformat.read(p, as_version=4), p.name): p for p in sorted((ROOT / "solutions").glob("*.ipynb"))}
QUESTIONS = [q for part in "ABCDE" for q in questions_for(part)]
MISTAKES = [(q, m) for q in QUESTIONS for m in q.mistakes]
SEEDS = (0, 1, 2026, 987654321)
LANGS = ("en", "ja")


def namespace(nb: Any) -> dict[str, Any]:
    """A notebook's definitions (code cells except the setup cell and the check/grade calls), run here."""
    ns: dict[str, Any] = {}
    for cell in [c for c in nb.cells if c.cell_type == "code"][1:]:
        if not cell.source.lstrip().startswith(("check(", "grade(", "hint(", "solution(")):
            exec(compile(cell.source, "<notebook>", "exec"), ns)  # noqa: S102 - our own notebook
    return ns


def wrong(qid: str, region: int, code: str) -> dict[str, Any]:
    solution = nbformat.read(SOLUTIONS[qid[0]], as_version=4)
    return namespace(with_region_replaced(solution, qid, region, code))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("q", QUESTIONS, ids=[q.id for q in QUESTIONS])
def test_every_question_has_a_table_of_mistakes(q, lang):
    assert len(q.mistakes) >= 2, f"{q.id} needs at least two real mistakes with their hints"
    hints = [hint_text(m.hint, lang) for m in q.mistakes]
    assert len(set(hints)) == len(hints), f"{q.id}: two mistakes share a hint"
    assert not any(a != b and a in b for a in hints for b in hints), f"{q.id}: one hint contains another"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("q,m", MISTAKES, ids=[f"{q.id}-{m.name}" for q, m in MISTAKES])
def test_each_mistake_gets_its_own_hint(q, m, lang):
    """In both languages: the Japanese edition's check() gives the same diagnosis in Japanese."""
    ns = wrong(q.id, m.region, m.code)
    for seed in SEEDS:
        outcome = evaluate_locally(q.id, ns, seed, lang=lang)
        assert not outcome.passed and outcome.points == 0, (seed, outcome.message)
        assert hint_text(m.hint, lang) in outcome.message, (seed, outcome.message)
        others = [o.hint for o in q.mistakes if o is not m and hint_text(o.hint, lang) in outcome.message]
        assert not others, (seed, others, outcome.message)


def test_b2_kl_div_default_reduction_is_not_told_to_multiply_by_t_squared():
    """The reported case: F.kl_div's default reduction with the T**2 factor (4 classes at T = 2 in one case)."""
    m = next(m for m in questions_for("B")[1].mistakes if m.name == "F.kl_div default reduction, with T**2")
    outcome = evaluate_locally("B2", wrong("B2", 0, m.code))
    assert "reduction='batchmean'" in outcome.message and "multiply the KL term by T**2" not in outcome.message


def test_b1_softmax_over_the_wrong_dim_is_not_told_to_divide_by_t():
    m = next(m for m in questions_for("B")[0].mistakes if m.name == "softmax over dim 0")
    outcome = evaluate_locally("B1", wrong("B1", 0, m.code))
    assert "dim=-1" in outcome.message and "divide the logits by T" not in outcome.message


@pytest.mark.slow
def test_cli_gives_the_same_diagnosis(tmp_path):
    """The command-line grader (fresh kernel, random inputs) prints the same hint as check(), uncut."""
    q = questions_for("B")[1]
    m = next(m for m in q.mistakes if m.name == "F.kl_div default reduction, with T**2")
    nb = with_region_replaced(nbformat.read(SOLUTIONS["B"], as_version=4), "B2", 0, m.code)
    path = tmp_path / "partB_kl_exercises.ipynb"
    nbformat.write(nb, path)
    proc = subprocess.run([sys.executable, "-m", "lecture_lib.grade", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    flat = " ".join(proc.stdout.split())
    assert " ".join(hint_text(m.hint, "en").split()) in flat and "..." not in proc.stdout
    assert "total 12/14" in proc.stdout  # B2 lost, the challenge at gold
