"""Text table and JSON of grading results (honest labels: only "passed" is ever called passed).

Messages are never cut: a long one wraps onto indented continuation lines under the message column.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Sequence

from lecture_lib.i18n import message, pad

from .runner import NotebookReport


def _wrap(text: str, width: int, indent: int) -> str:
    """``text`` on lines of at most ``width`` characters, continuation lines indented by ``indent`` spaces."""
    lines = textwrap.wrap(" ".join(str(text).split()), width, break_long_words=False, break_on_hyphens=False)
    return ("\n" + " " * indent).join(lines or [""])


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
