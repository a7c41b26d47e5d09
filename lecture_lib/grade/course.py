"""Where the learner's course folder is, which exercise notebooks it holds, and the learner's progress file.

* :func:`find_course_root` - the course folder seen from any folder inside it (``notebooks/``, ``exercises/``
  or the course folder itself): the nearest folder, going up, that holds ``exercises/`` and
  ``notebooks/00_start_here.ipynb``. ``python -m lecture_lib.grade`` without a path grades its exercises.
* Progress: after grading, the results of each exercise notebook of the course folder are kept in
  ``<course folder>/.progress/grades.json`` (git-ignored; the environment variable ``LECTURE26_PROGRESS``
  names another file, or ``none`` to keep nothing: the course's own tools set that, so stored notebooks never
  show a developer's grades). The start page reads it (:func:`show_progress`) to show the learner's progress
  per part and what to do next.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from lecture_lib.i18n import language, message, pad

from .judge_messages import judge_message

__all__ = [
    "PARTS", "PROGRESS_ENV", "exercise_notebook", "exercise_notebooks", "find_course_root", "load_progress",
    "next_step", "progress_file", "progress_rows", "record_progress", "show_progress",
]

#: The parts, their lesson notebooks (in ``notebooks/``) and their titles, in course order.
PARTS: Mapping[str, tuple[str, str]] = {
    "A": ("partA_quantization", "Quantization"),
    "B": ("partB_distillation_speculative", "Distillation & speculative decoding"),
    "C": ("partC_production_python", "Production-quality Python"),
    "D": ("partD_distributed_inference", "Distributed inference"),
    "E": ("partE_serving_training_optimization", "Training & serving optimization"),
}
#: The parts' titles in the Japanese edition.
TITLES_JA: Mapping[str, str] = {
    "A": "量子化", "B": "蒸留と投機的デコーディング", "C": "Production品質のPython", "D": "分散推論",
    "E": "訓練とサービングの最適化",
}
#: Environment variable naming the progress file (default: ``<course folder>/.progress/grades.json``).
PROGRESS_ENV = "LECTURE26_PROGRESS"
EXERCISE_SUFFIX = "_exercises.ipynb"


def find_course_root(start: str | Path | None = None) -> Path | None:
    """The course folder containing ``start`` (default: the current folder), or None outside a course folder."""
    here = Path.cwd() if start is None else Path(start)
    here = here.resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises").is_dir() and (folder / "notebooks" / "00_start_here.ipynb").is_file():
            return folder
    return None


def exercise_notebook(part: str) -> str:
    """The file name of ``part``'s exercise notebook, e.g. ``partB_distillation_speculative_exercises.ipynb``."""
    if not isinstance(part, str) or part.upper() not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}; got {part!r}")
    return PARTS[part.upper()][0] + EXERCISE_SUFFIX


def exercise_folder(root: Path, lang: str = "en") -> Path:
    """The exercise notebooks' folder of the course folder ``root``: ``exercises/``, or ``exercises/ja/``."""
    return Path(root) / "exercises" / ("ja" if lang == "ja" else "")


def exercise_notebooks(root: Path, lang: str = "en") -> list[Path]:
    """The exercise notebooks (in ``lang``) of the course folder ``root`` that exist, in part order."""
    return [p for p in (exercise_folder(root, lang) / exercise_notebook(x) for x in PARTS) if p.is_file()]


def progress_file(root: Path | None) -> Path | None:
    """Where progress is stored: ``$LECTURE26_PROGRESS`` if set, else ``<root>/.progress/grades.json``."""
    override = os.environ.get(PROGRESS_ENV, "").strip()
    if override.lower() == "none":
        return None
    if override:
        return Path(override)
    return None if root is None else Path(root) / ".progress" / "grades.json"


def _course_exercise(path: Path) -> tuple[Path, str] | None:
    """(course folder, part) when ``path`` is one of a course folder's exercise notebooks, else None."""
    path = Path(path).resolve()
    folder = path.parent.parent if path.parent.name == "ja" else path.parent  # the Japanese edition counts too
    root = folder.parent
    if folder.name != "exercises" or find_course_root(root) != root:
        return None
    for part in PARTS:
        if path.name == exercise_notebook(part):
            return root, part
    return None


def load_progress(root: Path | None) -> dict[str, Any]:
    """The stored progress ``{"parts": {"A": {...}, ...}}`` (empty when nothing was graded or unreadable)."""
    path = progress_file(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path is not None else {}
    except (OSError, ValueError):
        data = {}
    parts = data.get("parts") if isinstance(data, dict) else None
    return {"parts": parts if isinstance(parts, dict) else {}}


def record_progress(results: Sequence[Mapping[str, Any]], *, when: str) -> Path | None:
    """Store the results of graded course exercise notebooks; returns the file written (None: nothing to store).

    results: ``NotebookReport.as_json()`` dicts; only graded exercise notebooks of a course folder count.
    when: the time stamp to store (ISO 8601).
    """
    written = None
    for result in results:
        found = _course_exercise(Path(str(result.get("path", ""))))
        if found is None or result.get("error") is not None:
            continue
        root, part = found
        path = progress_file(root)
        if path is None:
            continue
        data = load_progress(root)
        data["parts"][part] = {
            "score": int(result.get("score", 0)), "max_score": int(result.get("max_score", 0)), "graded_at": when,
            "questions": {str(q.get("id")): bool(q.get("passed")) for q in result.get("questions", [])},
        }
        tiers = {str(q.get("id")): [int(q.get("points", 0)), int(q.get("max_points", 0))]
                 for q in result.get("questions", []) if str(q.get("id", "")).endswith("-challenge")}
        if tiers:  # a challenge's points (its tier), shown by the progress map
            data["parts"][part]["challenges"] = tiers
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)
        written = path
    return written


def progress_rows(progress: Mapping[str, Any], lang: str = "en") -> list[dict[str, Any]]:
    """One row per part: part, title, score text ("-" when never graded), questions still to pass."""
    rows = []
    parts = progress.get("parts", {})
    for part, (_stem, title) in PARTS.items():
        title = TITLES_JA[part] if lang == "ja" else title
        entry = parts.get(part)
        if not isinstance(entry, dict):
            rows.append({"part": part, "title": title, "score": "not graded yet", "to_do": "all"})
            continue
        # in course order: the numbered questions first, the challenge last (stored keys are sorted as text)
        open_ids = sorted((q for q, ok in entry.get("questions", {}).items() if not ok),
                          key=lambda q: (q.endswith("challenge"), len(q), q))
        for qid, tier in (entry.get("challenges") or {}).items():  # a challenge below gold: say where it stands
            if isinstance(tier, list) and len(tier) == 2 and 0 < tier[0] < tier[1]:
                open_ids.append(f"{qid} ({judge_message(f'challenges.tier.{tier[0]}', lang)})")
        rows.append({"part": part, "title": title,
                     "score": f"{entry.get('score', 0)}/{entry.get('max_score', 0)}",
                     "to_do": ", ".join(open_ids) if open_ids else "done"})
    return rows


def next_step(progress: Mapping[str, Any], lang: str = "en") -> str:
    """What to do next: finish a part already started (graded, not at full marks), else start the first part
    never graded, in course order."""
    rows = progress_rows(progress, lang)
    ja = "ja/" if lang == "ja" else ""
    for row in rows:
        if row["to_do"] not in ("all", "done"):
            return message("next finish", lang, part=row["part"], to_do=row["to_do"],
                           exercises=f"exercises/{ja}{exercise_notebook(row['part'])}")
    for row in rows:
        if row["to_do"] == "all":
            stem = PARTS[row["part"]][0]
            return message("next start", lang, part=row["part"], title=row["title"],
                           lesson=f"notebooks/{ja}{stem}.ipynb",
                           exercises=f"exercises/{ja}{exercise_notebook(row['part'])}")
    return message("next done", lang)


def show_progress(start: str | Path | None = None) -> None:
    """Print the learner's last grades per part and the next thing to do (the start page's progress map), in
    the start page's language (:func:`lecture_lib.i18n.language`)."""
    lang = language(start)
    root = find_course_root(start)
    progress = load_progress(root)
    print(message("progress header", lang))
    for row in progress_rows(progress, lang):
        score = message("not graded yet", lang) if row["score"] == "not graded yet" else row["score"]
        to_do = message(f"to do {row['to_do']}", lang) if row["to_do"] in ("all", "done") else row["to_do"]
        print(f"{row['part']:<5} {pad(row['title'], 37)} {pad(score, 15)} {to_do}")
    print(message("next", lang, step=next_step(progress, lang)))
