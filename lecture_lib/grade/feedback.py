"""``check("A1")``: immediate feedback inside a notebook, with the same question definitions as the grader.

The probe and the judge both run in the notebook's own process here, so this is *feedback*, not a score:
the score comes from ``python -m lecture_lib.grade``, which re-executes the notebook in a fresh kernel and judges
in its own process. ``check`` uses a fixed seed, so its output is the same on every run.
"""

from __future__ import annotations

import json
import sys
from collections import ChainMap
from typing import Any

import numpy as np

from . import probe_runtime
from .core import Outcome, evaluate, find_question

#: Seed of the inputs ``check`` uses (the command-line grader draws a fresh one every run).
LOCAL_SEED = 2026


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


def evaluate_locally(question_id: str, namespace: Any, seed: int = LOCAL_SEED) -> Outcome:
    """Probe and judge ``question_id`` in this process, on the names in ``namespace``; returns the Outcome.

    What :func:`check` prints and what the tests use to judge a namespace directly. The inputs travel through
    the same wire format as with the command-line grader, so the judge sees exactly what it would see there.
    """
    question = find_question(question_id)
    inputs = question.make_inputs(np.random.default_rng(seed))
    kernel_inputs = probe_runtime.decode(probe_runtime.encode(inputs), plain_arrays=True)
    envelope = json.loads(json.dumps(probe_runtime.run(question.probe, namespace, kernel_inputs)))
    return evaluate(question, inputs, envelope)


def check(question_id: str) -> None:
    """Check your answer to ``question_id`` (e.g. ``"A1"``) and print one line of feedback; returns None.

    Looks up your functions in the calling notebook's namespace, calls them on the grader's inputs and compares
    the results with the course's reference implementation. Never raises: an unfinished stub prints
    "not attempted yet", an error in your code prints the error.
    """
    try:
        frame = sys._getframe(1)
        ns = _namespace(frame.f_globals)
        del frame
        print(evaluate_locally(question_id, ns).feedback_line())
    except KeyboardInterrupt:
        print(f"{question_id}: interrupted (does your code loop forever?)")
    except ValueError as err:
        print(f"check({question_id!r}): {err}")
    except BaseException as err:  # noqa: BLE001 - feedback must never raise into the notebook
        print(f"check({question_id!r}) could not run: {type(err).__name__}: {err}")
    return None
