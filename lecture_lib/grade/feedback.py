"""``check("A1")``: immediate feedback inside a notebook, with the same question definitions as the grader.

The probe and the judge both run in the notebook's own process here, so this is *feedback*, not a score:
the score comes from ``python -m lecture_lib.grade``, which re-executes the notebook in a fresh kernel and judges
in its own process. ``check`` uses a fixed seed, so its output is the same on every run.

Before judging, ``check`` makes sure it looks at what the learner last ran: when the last cell that defines one
of the question's functions failed (a SyntaxError, an exception before the ``def``), it says the definition is
stale instead of judging the older one (:func:`lecture_lib.grade.notebook.stale_reason`). A question that takes
longer than ``timeout`` seconds (default :data:`CHECK_TIMEOUT`) is interrupted and reported as timed out.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import signal
import sys
import threading
from collections import ChainMap
from typing import Any, Sequence

import numpy as np

from lecture_lib.i18n import language, message

from . import probe_runtime
from .core import Outcome, Question, evaluate, find_question
from .judge_messages import speaking
from .notebook import shell_history, stale_reason

#: Seed of the inputs ``check`` uses (the command-line grader draws a fresh one every run).
LOCAL_SEED = 2026
#: Seconds ``check`` waits for an answer before interrupting it.
CHECK_TIMEOUT = 30.0


def question_functions(question: Question) -> list[str]:
    """The names of the learner's functions a question's probe looks up (``get_function(ns, "name")``)."""
    return re.findall(r"get_function\(\s*ns\s*,\s*[\"']([A-Za-z_]\w*)[\"']", inspect.getsource(question.probe))


class _Timer:
    """Interrupt the main thread with KeyboardInterrupt after ``seconds`` (SIGALRM; a no-op where unavailable)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.fired = False
        self.active = (seconds is not None and hasattr(signal, "setitimer")
                       and threading.current_thread() is threading.main_thread())

    def _handler(self, _signum: int, _frame: Any) -> None:
        self.fired = True
        raise KeyboardInterrupt

    def __enter__(self) -> "_Timer":
        if self.active:
            self._previous = signal.signal(signal.SIGALRM, self._handler)
            signal.setitimer(signal.ITIMER_REAL, float(self.seconds))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)


def _namespace(frame_globals: dict[str, Any]) -> Any:
    """The caller's globals, falling back to IPython's user namespace for names not found there."""
    ipython = sys.modules.get("IPython")
    shell = None
    if ipython is not None:
        try:
            shell = ipython.get_ipython()
        except Exception:  # noqa: BLE001
            shell = None
    user_ns = getattr(shell, "user_ns", None)
    if isinstance(user_ns, dict) and user_ns is not frame_globals:
        return ChainMap(frame_globals, user_ns)
    return frame_globals


def evaluate_locally(question_id: str, namespace: Any, seed: int = LOCAL_SEED, *,
                     history: Sequence[str] | None = None, timeout: float | None = None,
                     lang: str = "en") -> Outcome:
    """Probe and judge ``question_id`` in this process, on the names in ``namespace``; returns the Outcome.

    What :func:`check` prints and what the tests use to judge a namespace directly. The inputs travel through
    the same wire format as with the command-line grader, so the judge sees exactly what it would see there.
    history: the notebook's inputs so far (oldest first), to detect a stale definition; timeout: seconds;
    lang: the language of the course's own words (``"en"``, ``"ja"``).
    """
    question = find_question(question_id)
    if history is not None:
        for name in question_functions(question):
            fn = namespace.get(name) if hasattr(namespace, "get") else None
            reason = stale_reason(name, fn, history) if callable(fn) else None
            if reason is not None:
                return Outcome(question.id, 0, question.points, "stale", reason)
    with speaking(lang):
        inputs = question.make_inputs(np.random.default_rng(seed))
    kernel_inputs = probe_runtime.decode(probe_runtime.encode(inputs), plain_arrays=True)
    timer = _Timer(timeout)
    with timer:
        envelope = probe_runtime.run(question.probe, namespace, kernel_inputs)
    if timer.fired:
        return Outcome(question.id, 0, question.points, "timeout", message("timed out after", lang, seconds=timeout))
    return evaluate(question, inputs, json.loads(json.dumps(envelope)), lang)


def check(question_id: str, *, timeout: float | None = None) -> None:
    """Check your answer to ``question_id`` (e.g. ``"A1"``) and print one line of feedback; returns None.

    Speaks the notebook's language (:func:`lecture_lib.i18n.language`). Looks up your functions in the calling
    notebook's namespace, calls them on the grader's inputs and compares
    the results with the course's reference implementation. Never raises: an unfinished stub prints
    "not attempted yet", an error in your code prints the error, a cell that failed to define your function
    says so, and an answer slower than ``timeout`` seconds (default :data:`CHECK_TIMEOUT`, or a challenge's own
    time limit) is interrupted.
    """
    lang = "en"
    try:
        lang = language()
        frame = sys._getframe(1)
        ns = _namespace(frame.f_globals)
        del frame
        question = find_question(question_id)
        if question.is_challenge and os.environ.get("LECTURE26_GRADING"):
            print(message("check challenge skipped", lang, qid=question.id))
            return None
        if timeout is None:
            timeout = CHECK_TIMEOUT if question.timeout is None else question.timeout
        outcome = evaluate_locally(question_id, ns, history=shell_history(), timeout=timeout, lang=lang)
        print(outcome.feedback_line(lang))
    except KeyboardInterrupt:
        print(message("interrupted", lang, qid=question_id))
    except ValueError as err:
        print(message("check bad id", lang, qid=question_id, error=err))
    except BaseException as err:  # noqa: BLE001 - feedback must never raise into the notebook
        print(message("check could not run", lang, qid=question_id, error=f"{type(err).__name__}: {err}"))
    return None
