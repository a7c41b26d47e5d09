"""Question definitions and scoring: what a question is, and how a probe's envelope becomes points.

A :class:`Question` bundles

* ``make_inputs(rng)`` - the grader's inputs (plain data: NumPy arrays, numbers, strings, lists, tuples, dicts),
  drawn from a generator the grader seeds (a fresh random seed per command-line run, a fixed one in ``check``);
* ``probe(ns, inputs)`` - runs where the learner's code lives; looks up and calls the learner's functions and
  returns what they gave back (see :mod:`lecture_lib.grade.probe_runtime` for the helpers it may use);
* ``judge(inputs, result)`` - runs in the grader's process with the reference implementation; returns a
  one-line pass message or raises :class:`Fail` naming the requirement (plus a hint for the common mistake).

:func:`evaluate` turns the probe's envelope into an :class:`Outcome` (points, status, message). Points are
all-or-nothing per question, and they are never taken from anything the learner's kernel claims.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from lecture_lib.i18n import MESSAGES, message

from .judge_messages import say, speaking, speaking_language, stub_text
from .probe_runtime import Arr, Opaque, Raised, decode

__all__ = [
    "STATUS_LABELS", "Fail", "Mistake", "Outcome", "Question", "Scored", "as_tensor", "first_match", "as_array", "as_number", "describe", "evaluate",
    "find_question", "known_parts", "questions_for", "raised",
]

#: Status codes and how the table prints them. Only "passed" earns points.
STATUS_LABELS: Mapping[str, str] = MappingProxyType({
    "passed": "passed",
    "failed": "failed",
    "not_attempted": "not attempted",
    "missing": "missing",
    "error": "error",
    "interrupted": "interrupted",
    "timeout": "timed out",
    "died": "kernel died",
    "not_run": "not run",
    "stale": "not checked",
})

_ID = re.compile(r"^[A-E](?:[0-9]{1,2}|-challenge)$")


class Fail(Exception):
    """Raised by a judge: ``requirement`` says what is required and what was found; ``hint`` the likely fix.

    ``status`` is "failed" (a wrong result) or "error" (the learner's code raised, see :func:`raised`).
    """

    def __init__(self, requirement: str, hint: str | None = None, *, status: str = "failed") -> None:
        super().__init__(requirement)
        if status not in ("failed", "error"):
            raise ValueError(f"Fail status must be 'failed' or 'error'; got {status!r}")
        self.requirement = requirement
        self.hint = hint
        self.status = status

    def text(self) -> str:
        """The requirement and the hint as one message, in the language being graded."""
        return self.requirement + (say("core.fail.hint", hint=self.hint) if self.hint else "")


@dataclass(frozen=True)
class Scored:
    """A judge's verdict worth ``points`` (1 .. the question's points): a tier of a challenge question.

    A judge returns a plain message for full points, a ``Scored`` for part of them, or raises :class:`Fail`
    for none. ``message`` names the tier and the measured figure.
    """

    points: int
    message: str


@dataclass(frozen=True)
class Mistake:
    """A wrong answer learners really write, and the diagnosis it earns (a question's table of mistakes).

    name: short label; code: the wrong answer, replacing solution region ``region`` of the question (the tests
    feed exactly this code); hint: words of the hint the judge gives for this mistake and for no other.
    """

    name: str
    code: str
    hint: str
    region: int = 0


@dataclass(frozen=True)
class Question:
    """One graded question.

    id: "A1" style (part letter + number); points: all-or-nothing; title: short name for tables.
    make_inputs / probe / judge: see the module docstring. ``probe`` must be a plain module-level ``def``
    whose name starts with ``probe`` and which uses only its arguments, the helpers of
    :mod:`~lecture_lib.grade.probe_runtime` and imports inside its body (its source is sent to the kernel).
    wrong_answers: for the tests - region number (0-based among this question's ``# BEGIN SOLUTION`` regions)
    -> code that replaces that region in the solution notebook and must lose exactly this question's points.
    mistakes: the question's table of real learner mistakes; each one's hint is proven by a test that feeds
    that exact wrong answer (``tests/test_grade_mistakes.py``).
    """

    id: str
    points: int
    title: str
    make_inputs: Callable[[np.random.Generator], Any]
    probe: Callable[[Any, Any], Any]
    judge: Callable[[Any, Any], str]
    wrong_answers: Mapping[int, str] = field(default_factory=dict)
    mistakes: tuple[Mistake, ...] = ()
    #: seconds the probe may take (None: the grader's per-cell limit); a challenge's own time limit
    timeout: float | None = None

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"Question.id must look like 'A1' or 'A-challenge' (part letter A-E and a number); "
                             f"got {self.id!r}")
        if not isinstance(self.points, int) or self.points <= 0:
            raise ValueError(f"Question.points must be a positive int; got {self.points!r}")
        if not self.probe.__name__.startswith("probe"):
            raise ValueError(f"Question.probe's name must start with 'probe'; got {self.probe.__name__!r}")

    @property
    def part(self) -> str:
        return self.id[0]

    @property
    def is_challenge(self) -> bool:
        """A measured challenge ("A-challenge"), scored in tiers, rather than an all-or-nothing question."""
        return self.id.endswith("-challenge")


@dataclass
class Outcome:
    """The result of one question for one notebook."""

    id: str
    points: int
    max_points: int
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def label_in(self, lang: str) -> str:
        """The status label in ``lang`` (``"en"`` or ``"ja"``; :mod:`lecture_lib.i18n`)."""
        key = f"status {self.status}"
        return message(key, lang) if key in MESSAGES else self.status

    def feedback_line(self, lang: str = "en") -> str:
        """The one line ``check()`` prints, in ``lang``."""
        key = {"passed": "line passed", "not_attempted": "line not attempted", "failed": "line failed",
               "stale": "line stale"}.get(self.status, "line other")
        return message(key, lang, qid=self.id, score=f"({self.points}/{self.max_points})", text=self.message,
                       label=self.label_in(lang))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "points": self.points, "max_points": self.max_points, "passed": self.passed,
            "message": self.message, "status": self.status,
        }


def evaluate(question: Question, inputs: Any, envelope: Any, lang: str = "en") -> Outcome:
    """Score a probe envelope (untrusted plain data) with ``question.judge``, in this process; the judge speaks
    ``lang``."""
    with speaking(lang):
        return _evaluate(question, inputs, envelope)


def _evaluate(question: Question, inputs: Any, envelope: Any) -> Outcome:
    def zero(status: str, message: str) -> Outcome:
        return Outcome(question.id, 0, question.points, status, message)

    if not isinstance(envelope, dict) or not isinstance(envelope.get("status"), str):
        return zero("error", say("core.evaluate.no_result"))
    status = envelope["status"]
    message = str(envelope.get("message", ""))[:2000]
    if status == "ok":
        try:
            value = decode(envelope.get("value"))
        except (ValueError, TypeError, KeyError) as err:
            return zero("error", say("core.evaluate.unreadable", err=err))
        try:
            text = question.judge(inputs, value)
        except Fail as fail:
            return zero(fail.status, fail.text())
        except Exception as err:  # noqa: BLE001 - an odd result must not crash the grader
            return zero("failed", say("core.evaluate.unchecked", error=f"{type(err).__name__}: {err}"))
        if isinstance(text, Scored):
            points = min(max(int(text.points), 1), question.points)
            return Outcome(question.id, points, question.points, "passed", str(text.message))
        return Outcome(question.id, question.points, question.points, "passed", str(text))
    if status in ("not_attempted", "missing", "error", "interrupted"):
        return zero(status, _probe_message(status, envelope, message))
    return zero("error", say("core.evaluate.unknown_status", status=status))


def _probe_message(status: str, envelope: Mapping[str, Any], message: str) -> str:
    """The probe's own message in the language being graded, when the probe said why (``"why"``) or the stub
    of an exercise was reached (its request translated by :func:`~.judge_messages.stub_text`), else as sent."""
    prefix = "NotImplementedError: "
    if status == "not_attempted" and message.startswith(prefix):
        return prefix + stub_text(message[len(prefix):], speaking_language())
    why, name, got = (str(envelope.get(k, ""))[:200] for k in ("why", "name", "got"))
    if why in ("undefined", "not_callable") and name.isidentifier():
        return say(f"core.probe.{why}", name=name, got=got)
    if why in ("interrupted", "exit"):
        return say(f"core.probe.{why}", code=got)
    return message


# -------------------------------------------------------------------------------------------- registry
def known_parts() -> list[str]:
    """Parts that have a checks module (``lecture_lib/grade/part<X>.py``)."""
    parts = []
    for letter in "ABCDE":
        if importlib.util.find_spec(f"lecture_lib.grade.part{letter}") is not None:
            parts.append(letter)
    return parts


def questions_for(part: str, *, with_challenge: bool = True) -> list[Question]:
    """The questions of ``part`` ("A".."E"), in order, its challenge last (``with_challenge=False``: without it);
    raises ValueError for a part without checks."""
    if not isinstance(part, str) or len(part) != 1 or part not in "ABCDE":
        raise ValueError(f"part must be one of 'A'..'E'; got {part!r}")
    try:
        module = importlib.import_module(f"lecture_lib.grade.part{part}")
    except ModuleNotFoundError as err:
        if err.name == f"lecture_lib.grade.part{part}":
            raise ValueError(f"part {part} has no checks yet (known parts: {', '.join(known_parts())})") from None
        raise
    questions = list(module.QUESTIONS)
    if with_challenge:
        from .challenges import CHALLENGES

        if part in CHALLENGES:
            questions.append(CHALLENGES[part])
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids) or any(q.part != part for q in questions):
        raise ValueError(f"lecture_lib.grade.part{part}.QUESTIONS must have unique ids starting with {part}")
    return questions


def find_question(question_id: str) -> Question:
    """The question with this id; raises ValueError naming the known ids."""
    qid = question_id.strip().upper().replace("-CHALLENGE", "-challenge") if isinstance(question_id, str) else ""
    if not _ID.match(qid):
        raise ValueError(f"question id must look like 'A1' or 'A-challenge'; got {question_id!r}")
    questions = questions_for(qid[0])
    for q in questions:
        if q.id == qid:
            return q
    raise ValueError(f"unknown question {qid!r}; part {qid[0]} has {', '.join(q.id for q in questions)}")


# ---------------------------------------------------------------------------------- helpers for judges
def plain(value: Any) -> Any:
    """Decoded probe results as plain Python: ``Arr`` arrays become (nested) lists, inside tuples and lists too."""
    if isinstance(value, Arr):
        return value.value.tolist()
    if isinstance(value, tuple):
        return tuple(plain(x) for x in value)
    if isinstance(value, list):
        return [plain(x) for x in value]
    return value


def describe(value: Any) -> str:
    """A short human description of a decoded value, for messages."""
    if isinstance(value, Arr):
        return say("core.describe.tensor" if value.kind == "torch" else "core.describe.array", dtype=value.dtype,
                   shape=tuple(value.value.shape))
    if isinstance(value, Raised):
        return say("core.describe.2", value_message=value.message)
    if isinstance(value, Opaque):
        return say("core.describe.3", value_type_name=value.type_name)
    if isinstance(value, tuple):
        return say("core.describe.4", n_value=len(value))
    if isinstance(value, list):
        return say("core.describe.5", n_value=len(value))
    if value is None:
        return say("core.describe.6")
    return say("core.describe.7", type_value_name=type(value).__name__, value=value)


def raised(value: Any, call_text: str, label: str, hint: str | None = None) -> None:
    """Raise an "error" :class:`Fail` when ``value`` is a :class:`Raised` (the learner's function raised)."""
    if isinstance(value, Raised):
        raise Fail(say("core.raised.1", call_text=call_text, label=label, value_message=value.message),
                   hint, status="error")


def as_array(value: Any, what: str) -> np.ndarray:
    """``value`` (a decoded tensor/array, number or list of numbers) as a NumPy array, else :class:`Fail`."""
    if isinstance(value, Arr):
        return np.asarray(value.value)
    if isinstance(value, (bool, int, float)):
        return np.asarray(value)
    if isinstance(value, (list, tuple)) and all(isinstance(x, (int, float)) for x in value):
        return np.asarray(value, dtype=np.float64)
    raise Fail(say("core.as_array.1", what=what, describe_value=describe(value)))


def as_tensor(value: Any, what: str) -> np.ndarray:
    """Like :func:`as_array`, but only a ``torch.Tensor`` is accepted (a NumPy array or a list fails clearly)."""
    if isinstance(value, Arr) and value.kind == "torch":
        return np.asarray(value.value)
    raise Fail(say("core.as_tensor.1", what=what, describe_value=describe(value)),
               say("core.as_tensor.2"))


def first_match(got: Sequence[float], candidates: Mapping[str, Sequence[float]], *, rel_tol: float = 1e-6,
                abs_tol: float = 1e-9) -> str | None:
    """The first candidate (a known mistake's values) equal to ``got`` on every case, else None."""
    for name, values in candidates.items():
        if len(values) == len(got) and all(math.isclose(g, v, rel_tol=rel_tol, abs_tol=abs_tol)
                                           for g, v in zip(got, values)):
            return name
    return None


def as_number(value: Any, what: str) -> float:
    """A Python float from a number or a one-element tensor/array, else :class:`Fail`."""
    if isinstance(value, bool):
        raise Fail(say("core.as_number.1", what=what))
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Arr) and value.value.size == 1 and value.value.dtype.kind in "iuf":
        return float(value.value.reshape(-1)[0])
    raise Fail(say("core.as_number.2", what=what, describe_value=describe(value)))

