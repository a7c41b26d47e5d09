"""``python -m lecture_lib.grade PATH [PATH ...] [--json FILE] [--timeout SECONDS]``

Executes each notebook in a fresh kernel, runs its part's checks and prints a per-question table and totals.
Never writes to the notebooks. Exit status 0 when every notebook could be graded (whatever the score),
2 when one could not be read (missing file, not a notebook, unknown part) or no notebook was found.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lecture_lib.grade",
        description="Grade course notebooks: execute each in a fresh kernel and run its part's checks.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a notebook, or a folder of notebooks")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the results as JSON to FILE")
    parser.add_argument("--timeout", metavar="SECONDS", type=float, default=60.0,
                        help="time limit per cell and per question (default 60)")
    parser.add_argument("--seed", type=int, default=None, help="seed for the checks' inputs (default: random)")
    args = parser.parse_args(argv)
    if not args.timeout > 0:
        parser.error(f"--timeout must be a positive number of seconds; got {args.timeout}")

    reports: list[NotebookReport] = []
    for path in expand(args.paths):
        if path.is_dir():
            report = NotebookReport(path=str(path), error=f"no notebooks (*.ipynb) found in folder {path}")
        else:
            report = grade_notebook(path, timeout=args.timeout, seed=args.seed)
        reports.append(report)
        print(format_report(report), flush=True)
        print(flush=True)
    print(format_summary(reports), flush=True)
    if args.json is not None:
        write_json(reports, args.json)
    return 0 if all(r.graded for r in reports) else 2


if __name__ == "__main__":
    sys.exit(main())
