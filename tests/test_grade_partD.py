"""Part D's graded exercises beyond the contract that tests/test_grade.py checks for every part: the exercise is
generated from the solution, D6's statistical judge fails wrong jitter schemes deterministically while passing the
right one on every seed tried, and common mistakes get a specific hint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from lecture_lib.grade.core import find_question, questions_for
from lecture_lib.grade.feedback import evaluate_locally
from tools.make_exercises import make_exercise, with_region_replaced

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "partD_distributed_inference_solutions.ipynb"
EXERCISE = ROOT / "exercises" / "partD_distributed_inference_exercises.ipynb"
QUESTIONS = questions_for("D")
MAX = sum(q.points for q in QUESTIONS)


def solution_nb() -> Any:
    return nbformat.read(SOLUTION, as_version=4)


def namespace(nb: Any) -> dict[str, Any]:
    ns: dict[str, Any] = {"np": np}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith("def "):
            exec(compile(cell.source, "<notebook>", "exec"), ns)  # noqa: S102 - our own notebook
    return ns


def local(qid: str, ns: dict, seed: int = 0):
    """Probe + judge in this process (what check() does), with a chosen seed."""
    return evaluate_locally(qid, ns, seed)


def test_questions_and_points():
    regular = questions_for("D", with_challenge=False)
    assert [q.id for q in regular] == ["D1", "D2", "D3", "D4", "D5", "D6"] and sum(q.points for q in regular) == 10
    assert [q.id for q in QUESTIONS] == [*(q.id for q in regular), "D-challenge"] and MAX == 13
    assert all(q.wrong_answers for q in QUESTIONS)


def test_exercise_is_generated_from_the_solution():
    made = make_exercise(solution_nb())
    stored = nbformat.read(EXERCISE, as_version=4)
    assert [c.source for c in made.cells] == [c.source for c in stored.cells]
    assert stored.metadata["lecture26"]["part"] == "D"


D6_MISTAKES = [
    ("no cap", "return [float(rng.uniform(0, base * 2 ** n)) for n in range(attempts)]", "cap"),
    ("no jitter", "return [min(cap, base * 2 ** n) for n in range(attempts)]", "no jitter"),
    ("equal jitter", "return [min(cap, base * 2 ** n) / 2 + rng.uniform(0, min(cap, base * 2 ** n) / 2) "
                     "for n in range(attempts)]", "equal jitter"),
    ("the lecture's additive jitter", "return [min(cap, base * 2 ** n) + rng.uniform(0, base / 2) "
                                      "for n in range(attempts)]", "between 0 and"),
    ("uniform on half the window", "return [rng.uniform(0, min(cap, base * 2 ** n) / 2) for n in range(attempts)]",
     "mean delay"),
    ("exponent off by one", "return [rng.uniform(0, min(cap, base * 2 ** (n + 1))) for n in range(attempts)]", ""),
    ("one draw reused", "u = rng.uniform()\nreturn [u * min(cap, base * 2 ** n) for n in range(attempts)]", "independent"),
]


@pytest.mark.parametrize("name,code,words", D6_MISTAKES, ids=[m[0] for m in D6_MISTAKES])
def test_d6_wrong_jitter_fails_deterministically(name, code, words):
    ns = namespace(with_region_replaced(solution_nb(), "D6", 0, code))
    for seed in range(4):
        outcome = local("D6", ns, seed)
        assert not outcome.passed and outcome.status == "failed", (name, outcome.message)
        assert words in outcome.message, outcome.message


def test_d6_correct_answer_passes_on_many_seeds():
    ns = namespace(solution_nb())
    assert all(local("D6", ns, seed).passed for seed in range(25))


def test_common_mistakes_get_a_specific_hint():
    cases = [
        ("D2", "new = [c + w for c, w in zip(current, weights)]\nbest = max(range(len(new)), key=new.__getitem__)\n"
               "return best, new", "heavy worker always wins"),
        ("D3", "return connections.index(max(connections))", "minimum, not the maximum"),
        ("D4", "return alpha * previous + (1 - alpha) * sample", "NEW sample"),
        ("D5", None, ">= the threshold"),
        ("D1", "return [(k + 1) % n_workers for k in range(n)]", "start at worker 0"),
    ]
    for qid, code, words in cases:
        q = find_question(qid)
        ns = namespace(with_region_replaced(solution_nb(), qid, 0, code or q.wrong_answers[0]))
        outcome = local(qid, ns)
        assert not outcome.passed and words in outcome.message, (qid, outcome.message)


# ---------------------------------------------------------------------------------------------- real kernel