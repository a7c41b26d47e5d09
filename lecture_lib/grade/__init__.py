"""Graded exercises: ``check("A1")`` in a notebook, ``python -m lecture_lib.grade PATH`` for a score.

In a notebook (after the setup cell)::

    from lecture_lib.grade import check
    check("A1")        # prints one line: passed, not passed yet (+ hint), not attempted yet, error ...

On the command line::

    python -m lecture_lib.grade exercises/partA_quantization_exercises.ipynb [--json results.json] [--timeout 60]

How it works. Every question is a *probe* plus a *judge* (:class:`~lecture_lib.grade.core.Question`). The probe
runs where the learner's code lives: it calls the learner's functions on inputs the grader chose and returns
plain data (arrays travel as ``.npy`` bytes). The judge runs in the grader's process and compares that data with
the course's reference implementation (``lecture_lib.quant`` etc.). The command-line grader executes a copy of
the notebook in a fresh kernel (timeouts interrupt; a crashed kernel is restarted and the notebook replayed
without the crashing cell), sends each probe as source text with a random nonce, and scores nothing that the
kernel merely claims. ``check`` runs probe and judge in the notebook itself: it is feedback, not the score.

Adding questions for a part (recipe for parts B-E)
---------------------------------------------------
1. Create ``lecture_lib/grade/part<X>.py`` with ``QUESTIONS = [Question(...), ...]`` (see ``partA.py``):

   * ``make_inputs(rng) -> dict`` of plain data (NumPy arrays, numbers, strings, lists/tuples/dicts); use
     ``rng`` for random cases and add the lecture's own example as a fixed case.
   * ``def probe_x1(ns, inputs)`` - a plain module-level function whose name starts with ``probe``. It may use
     only its arguments, ``get_function``, ``to_torch`` and ``call`` (imported from ``probe_runtime``) and
     imports inside its body, because its source text is sent to the learner's kernel. Fetch the learner's
     function with ``f = get_function(ns, "name")``, call it with ``call(f, ...)`` (an exception then becomes
     a ``Raised`` value for that case), and return the raw results (tensors, arrays, numbers, tuples).
   * ``judge(inputs, result) -> str``: compare with the reference implementation; return a one-line pass
     message or ``raise Fail(say("X.judge_x1.1", got=...), say("X.judge_x1.2"))`` (the requirement, what was
     found, and the likely mistake). Every sentence a learner reads - these, the case labels of ``make_inputs``
     and each ``Mistake``'s hint key - is a key of ``lecture_lib/grade/judge_messages.py`` with its English and
     Japanese text (``say`` answers in the language being graded; ``tests/test_judge_messages.py`` checks it).
     Helpers (``lecture_lib.grade.core``): ``raised(value, "f", label)`` turns a case where the learner's
     function raised into an "error" ``Fail``; ``as_array``, ``as_number``, ``describe``. Decoded arrays are
     ``Arr`` objects (``.value`` NumPy array, ``.kind`` "torch"/"numpy", ``.dtype`` original dtype name).
   * ``points`` (all or nothing) and ``wrong_answers={region_number: "code"}``: a typical wrong answer that
     the tests put into the solution notebook; it must lose exactly this question's points.
2. Write ``solutions/part<X>_<topic>.ipynb``: title, intro, the BOOTSTRAP_CELL (``lecture_lib.nbsetup``) as the
   first code cell, a cell ``from lecture_lib.grade import check``, then per question a statement (markdown),
   a code cell whose solution lines sit between ``# BEGIN SOLUTION X1: <what to write>`` and
   ``# END SOLUTION`` (inside the function body), and a ``check("X1")`` cell. Cells tagged ``solution`` are
   solution-only. Set notebook metadata ``{"lecture26": {"part": "X"}}``.
3. ``python tools/make_exercises.py`` writes ``exercises/`` (stubs raise ``NotImplementedError("X1: ...")``);
   ``make notebooks`` also executes them. ``tests/test_grade.py`` then proves: solution = full marks,
   exercise = zero, each wrong answer loses exactly its question's points.
"""

from __future__ import annotations

from .core import Fail, Outcome, Question, evaluate, find_question, questions_for
from .course import show_progress
from .feedback import check
from .notebook import grade, hint, solution
from .probe_runtime import Arr, Raised, call, get_function, to_torch

__all__ = [
    "Arr", "Fail", "Outcome", "Question", "Raised", "call", "check", "evaluate", "find_question",
    "get_function", "grade", "hint", "questions_for", "show_progress", "solution", "to_torch",
]
