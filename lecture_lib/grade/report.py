"""Text table and JSON of grading results (honest labels: only "passed" is ever called passed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from .runner import NotebookReport


def _cut(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def format_report(report: NotebookReport, *, message_width: int = 110) -> str:
    """One notebook: a per-question table, the notes about its cells, and its total."""
    lines = [f"{report.path}" + (f"  (part {report.part})" if report.part else "")]
    if report.error is not None:
        lines.append(f"  NOT GRADED: {report.error}")
        return "\n".join(lines)
    lines.append(f"  {'question':<9} {'points':>7}  {'status':<14} message")
    for o in report.outcomes:
        lines.append(f"  {o.id:<9} {f'{o.points}/{o.max_points}':>7}  {o.label:<14} {_cut(o.message, message_width)}")
    for note in report.notes:
        lines.append(f"  note: {_cut(note, message_width + 20)}")
    passed = sum(o.passed for o in report.outcomes)
    n = len(report.outcomes)
    verdict = "all questions passed" if n and passed == n else f"{passed} of {n} questions passed"
    lines.append(f"  total {report.score}/{report.max_score} ({verdict})")
    return "\n".join(lines)


def format_summary(reports: Sequence[NotebookReport]) -> str:
    graded = [r for r in reports if r.graded]
    score = sum(r.score for r in graded)
    max_score = sum(r.max_score for r in graded)
    text = f"overall {score}/{max_score} over {len(graded)} graded notebook(s)"
    failed = len(reports) - len(graded)
    if failed:
        text += f"; {failed} notebook(s) could not be graded"
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
