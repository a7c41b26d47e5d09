"""``python -m lecture_lib.grade [PATH ...] [--part X] [--json FILE] [--timeout SECONDS]``

Executes each notebook in a fresh kernel, runs its part's checks and prints a per-question table and totals.
Never writes to the notebooks. Without a PATH it grades the exercise notebooks of the course folder it is run
in (from the course folder itself, ``notebooks/`` or ``exercises/``); ``--part B`` picks one part's; ``--lang ja``
(default inside a ``ja`` folder) the Japanese edition's, graded with the course's words in Japanese.
Results for a course folder's exercise notebooks are remembered for the start page's progress map
(:mod:`lecture_lib.grade.course`). Exit status 0 when every notebook could be graded (whatever the score),
2 when one could not be read (missing file, not a notebook, unknown part) or no notebook was found.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import sys
from pathlib import Path

from lecture_lib.i18n import LANGUAGES, language

from .course import PARTS, exercise_folder, exercise_notebook, exercise_notebooks, find_course_root, record_progress
from .report import format_report, format_summary, write_json
from .runner import NotebookReport, grade_notebook


def expand(paths: list[str]) -> list[Path]:
    """Files as given; folders replaced by the notebooks inside them (sorted, checkpoints skipped)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            found.extend(inside if inside else [path])
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def default_paths(part: str | None, cwd: Path | None = None, lang: str = "en") -> list[Path]:
    """The course folder's exercise notebooks in ``lang`` (one part's with ``part``); raises ValueError outside a
    course."""
    root = find_course_root(cwd)
    if root is None:
        raise ValueError("no PATH given and this folder is not inside the course folder "
                         "(one holding exercises/ and notebooks/00_start_here.ipynb): give a notebook's path")
    if part is not None:
        return [exercise_folder(root, lang) / exercise_notebook(part)]
    found = exercise_notebooks(root, lang)
    if not found:
        raise ValueError(f"no exercise notebooks found in {exercise_folder(root, lang)}")
    return found


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it lies below it, else as given (shorter tables)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lecture_lib.grade",
        description="Grade course notebooks: execute each in a fresh kernel and run its part's checks. "
                    "Without PATH: the exercise notebooks of the course folder you are in.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="a notebook, or a folder of notebooks")
    parser.add_argument("--part", type=str.upper, choices=list(PARTS),
                        help="without PATH: grade only this part's exercise notebook")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the results as JSON to FILE")
    parser.add_argument("--timeout", metavar="SECONDS", type=float, default=60.0,
                        help="time limit per cell and per question (default 60)")
    parser.add_argument("--seed", type=int, default=None, help="seed for the checks' inputs (default: random)")
    parser.add_argument("--lang", choices=LANGUAGES, default=None,
                        help="without PATH: grade the English (en) or Japanese (ja) exercise notebooks "
                             "(default: ja inside a 'ja' folder, else en); the table speaks each notebook's language")
    parser.add_argument("--width", type=int, default=None, metavar="COLUMNS",
                        help="width of the table (default: the terminal's, or 146 when not a terminal)")
    args = parser.parse_args(argv)
    if not args.timeout > 0:
        parser.error(f"--timeout must be a positive number of seconds; got {args.timeout}")
    if args.paths and args.part:
        parser.error("--part picks a notebook of the course folder; give either PATH or --part, not both")
    try:
        lang = args.lang or language()
        paths = expand(args.paths) if args.paths else default_paths(args.part, lang=lang)
    except ValueError as err:
        parser.error(str(err))

    columns = args.width or (shutil.get_terminal_size((146, 24)).columns if sys.stdout.isatty() else 146)
    message_width = max(40, columns - 37)  # the message column starts at character 36

    reports: list[NotebookReport] = []
    for path in paths:
        if path.is_dir():
            report = NotebookReport(path=str(path), error=f"no notebooks (*.ipynb) found in folder {path}")
        else:
            report = grade_notebook(path, timeout=args.timeout, seed=args.seed)
        reports.append(report)
        shown = NotebookReport(**{**report.__dict__, "path": _shown(path)})
        print(format_report(shown, message_width=message_width, lang=language(path)), flush=True)
        print(flush=True)
    print(format_summary(reports, lang=lang), flush=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    record_progress([{**r.as_json(), "path": str(Path(r.path).resolve())} for r in reports], when=stamp)
    if args.json is not None:
        write_json(reports, args.json)
    return 0 if all(r.graded for r in reports) else 2


if __name__ == "__main__":
    sys.exit(main())
