"""Grading helpers used *inside* an exercise notebook: ``grade()``, ``hint("B2", level)``, ``solution("B2")``,
and what ``check()`` needs to know about the notebook's own history (a stale definition).

``grade()`` saves nothing: it grades the notebook file as last saved, with the command-line grader in a separate
process (a fresh kernel, the same table as ``make grade``). It finds the file from the kernel's session
(``__session__``, set by Jupyter to the notebook's path when the kernel started), else the only exercise notebook
in the kernel's working folder; ``grade("path.ipynb")`` names it explicitly.

*The open copy is newer* is detected from the kernel's input history: for every function or class the notebook
defines, the code as the learner last ran it must appear verbatim in a code cell of the saved file; when it does
not, the learner ran code that is not saved yet (:func:`unsaved_definitions`).

A *stale definition* (:func:`stale_reason`): the last cell run that defines ``f`` failed (a SyntaxError, or an
exception before the ``def``), so the ``f`` in the namespace still comes from an older run; ``check()`` says so
instead of judging the old ``f``.
"""

from __future__ import annotations

import ast
import json
import linecache
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .core import find_question
from lecture_lib.i18n import language, message

from .help import help_for

__all__ = [
    "defined_names", "grade", "hint", "latest_definitions", "notebook_path", "solution", "stale_reason",
    "unsaved_definitions",
]

#: Characters per line of the table grade() prints (a notebook output area at a laptop's screen width).
NOTEBOOK_WIDTH = 88
_DEF_LINE = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)
_CALL_ONLY = re.compile(r"^\s*(?:check|grade|hint|solution)\(.*\)\s*$", re.DOTALL)


# ------------------------------------------------------------------------------------------- history (pure)
def defined_names(source: str) -> set[str]:
    """Top-level functions and classes a cell defines (by its ``def``/``class`` lines when it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(_DEF_LINE.findall(source))
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def latest_definitions(history: Sequence[str]) -> dict[str, str]:
    """name -> the most recent input in ``history`` (oldest first) that defines it."""
    latest: dict[str, str] = {}
    for source in history:
        for name in defined_names(source):
            latest[name] = source
    return latest


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def stale_reason(name: str, fn: Any, history: Sequence[str]) -> str | None:
    """Why ``fn`` (the object bound to ``name``) is not what the learner last ran, or None when it is.

    history: the kernel's inputs so far, oldest first, without the current cell. Needs the source of the cell
    ``fn`` came from (IPython keeps it in ``linecache``); returns None when that cannot be known.
    """
    latest = latest_definitions(history).get(name)
    code = getattr(fn, "__code__", None)
    if latest is None or code is None:
        return None
    lines = linecache.getlines(code.co_filename)
    if not lines or _norm("".join(lines)) == _norm(latest):
        return None
    try:
        compile(latest, "<cell>", "exec")
    except SyntaxError as err:
        return (f"the last cell you ran that defines {name} has a SyntaxError ({err.msg}, line {err.lineno}), "
                f"so {name} is still an older definition; fix that cell and run it again")
    return (f"the last cell you ran that defines {name} raised an error before defining it, so {name} is still "
            f"an older definition; fix that cell and run it again")


def unsaved_definitions(history: Iterable[str], saved_sources: Iterable[str]) -> list[str]:
    """Names whose code as last run is not in any saved code cell: the open copy is newer than the file."""
    saved = {_norm(s) for s in saved_sources}
    runs = [s for s in history if s.strip() and not _CALL_ONLY.match(s)]
    return sorted(name for name, source in latest_definitions(runs).items() if _norm(source) not in saved)


def shell_history() -> list[str] | None:
    """This IPython kernel's inputs so far, oldest first, without the running cell (None outside IPython)."""
    shell = _shell()
    raw = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    if not isinstance(raw, list):
        return None
    return [s for s in raw[1:-1] if isinstance(s, str)]


def _shell() -> Any:
    ipython = sys.modules.get("IPython")
    try:
        return ipython.get_ipython() if ipython is not None else None
    except Exception:  # noqa: BLE001
        return None


# ------------------------------------------------------------------------------------------------- grade()
def notebook_path(explicit: str | os.PathLike[str] | None = None, user_ns: Mapping[str, Any] | None = None,
                  cwd: Path | None = None) -> Path:
    """The notebook file to grade; raises ValueError saying how to name it when it cannot be found."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ValueError(f"path {str(explicit)!r} is not a file; give the notebook's path, e.g. "
                             "grade('partB_distillation_speculative_exercises.ipynb')")
        return path
    session = (user_ns or {}).get("__session__") or os.environ.get("JPY_SESSION_NAME")
    if isinstance(session, str) and session.endswith(".ipynb") and Path(session).is_file():
        return Path(session)
    folder = Path.cwd() if cwd is None else cwd
    candidates = sorted(folder.glob("part*_exercises.ipynb"))
    if len(candidates) == 1:
        return candidates[0]
    if "google.colab" in sys.modules:
        raise ValueError("on Colab the notebook is not a file on this machine, so it cannot be graded as saved; "
                         "use check() per question (or download the notebook and grade it locally)")
    raise ValueError("cannot tell which notebook this kernel belongs to; call grade('NAME.ipynb') with the "
                     "notebook's file name")


def grade(path: str | os.PathLike[str] | None = None, *, timeout: float = 60.0) -> None:
    """Grade this notebook as last saved on disk (nothing is saved or changed); prints the grader's table.

    path: the notebook file (default: the notebook this kernel runs). timeout: seconds per cell and question.
    Says so first when the open notebook has code that is not saved yet.
    """
    lang = language()
    if os.environ.get("LECTURE26_GRADING"):
        print(message("grade skipped", lang))
        return None
    shell = _shell()
    user_ns = getattr(shell, "user_ns", None) or sys._getframe(1).f_globals
    try:
        target = notebook_path(path, user_ns)
    except ValueError as err:
        print(f"grade(): {err}")
        return None
    lang = language(target)
    print(message("grading", lang, name=target.name))
    history = shell_history()
    if history is not None:
        try:
            saved = json.loads(target.read_text(encoding="utf-8"))
            sources = ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else str(c.get("source", ""))
                       for c in saved.get("cells", []) if c.get("cell_type") == "code"]
        except (OSError, ValueError, AttributeError):
            sources = None
        newer = unsaved_definitions(history, sources) if sources is not None else []
        if newer:
            print(message("unsaved", lang, names=", ".join(newer), count=len(newer)))
    sys.stdout.flush()
    proc = subprocess.run([sys.executable, "-m", "lecture_lib.grade", str(target), "--timeout", f"{timeout:g}",
                           "--width", str(NOTEBOOK_WIDTH)],
                          capture_output=True, text=True, cwd=str(target.parent))
    print(proc.stdout.rstrip("\n"))
    if proc.returncode != 0 and proc.stderr.strip():
        print(proc.stderr.strip()[-2000:])
    return None


# ------------------------------------------------------------------------------------------ hint / solution
def _reference() -> dict[str, str]:
    path = Path(__file__).with_name("reference.json")
    return json.loads(path.read_text(encoding="utf-8"))


def hint(question_id: str, level: int = 1) -> None:
    """Print hint ``level`` (1: the idea, 2: the formula or steps, 3: the code shape) for ``question_id``."""
    lang = language()
    try:
        qid = find_question(question_id).id
    except ValueError as err:
        print(message("hint bad id", lang, qid=question_id, error=err))
        return None
    if isinstance(level, bool) or not isinstance(level, int) or level not in (1, 2, 3):
        print(message("hint bad level", lang, qid=question_id, level=level))
        return None
    text = help_for(qid, lang)[level - 1]
    after = (message("hint next", lang, qid=qid, next=level + 1) if level < 3
             else message("hint last", lang, qid=qid))
    print(message("hint", lang, qid=qid, level=level, text=text, after=after))
    return None


def solution(question_id: str) -> None:
    """Print the reference solution of ``question_id`` with a one-line explanation."""
    lang = language()
    try:
        qid = find_question(question_id).id
    except ValueError as err:
        print(message("solution bad id", lang, qid=question_id, error=err))
        return None
    if qid.endswith("-challenge"):
        print(message("solution challenge", lang, qid=qid, why=help_for(qid, lang).explanation))
        return None
    code = _reference().get(qid)
    if code is None:
        print(message("solution none", lang, qid=qid))
        return None
    print(message("solution", lang, qid=qid, why=help_for(qid, lang).explanation, code=code))
    return None
