"""Text table and JSON of grading results (honest labels: only "passed" is ever called passed).

Messages are never cut: a long one wraps onto indented continuation lines under the message column.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any, Sequence

from lecture_lib.i18n import message, pad, width

from .runner import NotebookReport


#: Characters a Japanese line must not start with, and ones it must not end with (kinsoku).
_NO_LINE_START = set("、。，．）」』】〕：；！？")
_NO_LINE_END = set("（「『【〔")


def _pieces(text: str) -> list[str]:
    """``text`` cut where a line may break: at spaces (kept as ``" "`` pieces) and beside each wide (CJK)
    character, but never inside a run of narrow characters, before 、 or 。, or after an opening bracket."""
    pieces: list[str] = []
    for token in re.findall(r"\S+| ", text):
        if token == " ":
            pieces.append(token)
            continue
        pieces.append(token[0])
        for ch in token[1:]:
            last = pieces[-1][-1]
            if ch in _NO_LINE_START or last in _NO_LINE_END or (width(ch) == 1 and width(last) == 1):
                pieces[-1] += ch
            else:
                pieces.append(ch)
    return pieces


def _wrap(text: str, columns: int, indent: int) -> str:
    """``text`` on lines of at most ``columns`` display columns, continuation lines indented by ``indent`` spaces.

    English breaks at spaces only (textwrap); a text with wide characters (Japanese) counts them as 2 columns and
    may also break between them, never before 、 or 。.
    """
    text = " ".join(str(text).split())
    if width(text) == len(text):
        lines = textwrap.wrap(text, columns, break_long_words=False, break_on_hyphens=False)
        return ("\n" + " " * indent).join(lines or [""])
    lines, line = [], ""
    for piece in _pieces(text):
        if piece == " ":
            line += " " if line else ""
        elif line and width(line + piece) > columns:
            lines.append(line.rstrip())
            line = piece
        else:
            line += piece
    lines.append(line.rstrip())
    return ("\n" + " " * indent).join(lines)


def format_report(report: NotebookReport, *, message_width: int = 110, lang: str = "en") -> str:
    """One notebook: a per-question table, the notes about its cells, and its total (course words in ``lang``)."""
    lines = [f"{report.path}" + (message("part", lang, part=report.part) if report.part else "")]
    if report.error is not None:
        lines.append(message("not graded", lang, error=report.error))
        return "\n".join(lines)
    lines.append(f"  {message('table header', lang)}")
    column = 2 + 9 + 1 + 7 + 2 + 14 + 1
    for o in report.outcomes:
        lines.append(f"  {o.id:<9} {f'{o.points}/{o.max_points}':>7}  {pad(o.label_in(lang), 14)} "
                     f"{_wrap(o.message, message_width, column)}")
    for note in report.notes:
        lines.append(message("note", lang, text=_wrap(note, message_width + 20, 8)))
    passed = sum(o.passed for o in report.outcomes)
    n = len(report.outcomes)
    verdict = message("all passed", lang) if n and passed == n else message("some passed", lang, passed=passed, n=n)
    lines.append(message("total", lang, score=report.score, max_score=report.max_score, verdict=verdict))
    return "\n".join(lines)


def format_summary(reports: Sequence[NotebookReport], *, lang: str = "en") -> str:
    graded = [r for r in reports if r.graded]
    score = sum(r.score for r in graded)
    max_score = sum(r.max_score for r in graded)
    text = message("overall", lang, score=score, max_score=max_score, n=len(graded))
    failed = len(reports) - len(graded)
    if failed:
        text += message("overall failed", lang, n=failed)
    return text


def to_json(reports: Sequence[NotebookReport]) -> dict[str, Any]:
    """``{"notebooks": [{"path", "score", "max_score", "questions": [...]}, ...]}`` plus overall totals."""
    return {
        "notebooks": [r.as_json() for r in reports],
        "score": sum(r.score for r in reports),
        "max_score": sum(r.max_score for r in reports),
    }


def write_json(reports: Sequence[NotebookReport], path: Path) -> None:
    path.write_text(json.dumps(to_json(reports), indent=2) + "\n", encoding="utf-8")
