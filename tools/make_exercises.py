"""Generate ``exercises/`` from ``solutions/``: the learner's notebooks are the solutions minus the answers.

Usage::

    python tools/make_exercises.py            # write exercises/*.ipynb for every solutions/*.ipynb
    python tools/make_exercises.py --check    # exit 1 (listing them) when exercises/ is out of sync

Rules, applied to a copy of each solution notebook:

* In code cells, each region from a line ``# BEGIN SOLUTION X1: what to write`` to a line ``# END SOLUTION``
  (both lines included) becomes one line, at the BEGIN line's indentation:
  ``raise NotImplementedError("X1: what to write")``. Put regions inside function bodies, so the exercise
  still defines the function and ``check("X1")`` reports "not attempted yet".
* In markdown cells, text from ``<!-- BEGIN SOLUTION -->`` to ``<!-- END SOLUTION -->`` is removed.
* Cells tagged ``solution`` are removed (e.g. "this is the solution notebook").
* Outputs and execution counts are cleared; notebook metadata (``lecture26.part``) and cell ids are kept.
* ``solutions/partX_topic_solutions.ipynb`` becomes ``exercises/partX_topic_exercises.ipynb`` (distinct file
  names, so a lesson, its exercises and its solutions never open as look-alike tabs).

It also writes ``lecture_lib/grade/reference.json``: per question, the solution cells that answer it (markers
removed, other questions' regions stubbed), which ``solution("B2")`` prints in a notebook (the package must
carry them: on Colab only the package is installed).

``make notebooks`` runs this, then ``tools/run_notebooks.py``, which executes the exercises so that they are
stored with their "not attempted yet" outputs. An exercise whose sources already match is left untouched
(its stored outputs survive). ``--check`` compares sources only (cell types, sources, tags, part), never outputs.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbnormalize import dumps, normalize  # noqa: E402

SOLUTION_TAG = "solution"
_BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?:[ \t]+(?P<message>\S.*?))?[ \t]*$")
_END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
_QID = re.compile(r"^([A-E](?:[0-9]{1,2}|-challenge)):")
_MD_REGION = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->.*?<!--\s*END SOLUTION\s*-->\n?", re.DOTALL)


@dataclass(frozen=True)
class Region:
    """Lines ``begin..end`` (0-based, inclusive, marker lines included) of one cell's source."""

    begin: int
    end: int
    indent: str
    message: str

    @property
    def question(self) -> str | None:
        match = _QID.match(self.message)
        return match.group(1) if match else None


def find_regions(source: str) -> list[Region]:
    """The solution regions of one code cell; raises ValueError for unmatched or nested markers."""
    regions: list[Region] = []
    open_at: tuple[int, str, str] | None = None
    for n, line in enumerate(source.split("\n")):
        begin = _BEGIN.match(line)
        if begin:
            if open_at is not None:
                raise ValueError(f"line {n + 1}: '# BEGIN SOLUTION' inside another solution region")
            open_at = (n, begin.group("indent"), begin.group("message") or "write your solution here")
        elif _END.match(line):
            if open_at is None:
                raise ValueError(f"line {n + 1}: '# END SOLUTION' without a '# BEGIN SOLUTION'")
            regions.append(Region(open_at[0], n, open_at[1], open_at[2]))
            open_at = None
        elif "BEGIN SOLUTION" in line or "END SOLUTION" in line:
            raise ValueError(f"line {n + 1}: malformed solution marker {line.strip()!r} "
                             "(use '# BEGIN SOLUTION X1: message' and '# END SOLUTION' on lines of their own)")
    if open_at is not None:
        raise ValueError(f"line {open_at[0] + 1}: '# BEGIN SOLUTION' without a '# END SOLUTION'")
    return regions


def stub(region: Region) -> str:
    """The line that replaces a region in the exercise."""
    return f"{region.indent}raise NotImplementedError({json.dumps(region.message, ensure_ascii=False)})"


def replace_regions(source: str, replacement: Callable[[int, Region], str | None]) -> str:
    """``source`` with region k replaced by ``replacement(k, region)`` (None keeps the region as it is).

    The replacement text is re-indented to the region's indentation (give it without indentation).
    """
    lines = source.split("\n")
    out: list[str] = []
    pos = 0
    for k, region in enumerate(find_regions(source)):
        out.extend(lines[pos:region.begin])
        text = replacement(k, region)
        if text is None:
            out.extend(lines[region.begin:region.end + 1])
        else:
            out.extend((region.indent + t) if t.strip() else "" for t in text.rstrip("\n").split("\n"))
        pos = region.end + 1
    out.extend(lines[pos:])
    return "\n".join(out)


def _source(cell: Any) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def make_exercise(solution: Any) -> Any:
    """The exercise notebook for a solution notebook (a new object; the input is not modified)."""
    nb = copy.deepcopy(solution)
    cells = []
    n_regions = 0
    for index, cell in enumerate(nb["cells"]):
        if SOLUTION_TAG in _tags(cell):
            continue
        source = _source(cell)
        if cell["cell_type"] == "code":
            try:
                regions = find_regions(source)
            except ValueError as err:
                raise ValueError(f"cell {index + 1}: {err}") from None
            n_regions += len(regions)
            cell["source"] = replace_regions(source, lambda _k, region: stub(region).lstrip(" \t"))
            cell["outputs"] = []
            cell["execution_count"] = None
        elif cell["cell_type"] == "markdown":
            cell["source"] = _MD_REGION.sub("", source)
        cells.append(cell)
    if n_regions == 0:
        raise ValueError("no '# BEGIN SOLUTION' region: a solution notebook needs at least one")
    nb["cells"] = cells
    return nb


def question_regions(nb: Any) -> dict[str, list[tuple[int, int]]]:
    """question id -> [(cell index, region number within that cell), ...] in notebook order."""
    found: dict[str, list[tuple[int, int]]] = {}
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        for k, region in enumerate(find_regions(_source(cell))):
            if region.question is not None:
                found.setdefault(region.question, []).append((index, k))
    return found


def with_region_replaced(solution: Any, question: str, number: int, code: str) -> Any:
    """A copy of ``solution`` whose ``number``-th region of ``question`` holds ``code`` instead."""
    nb = copy.deepcopy(solution)
    cell_index, k_in_cell = question_regions(nb)[question][number]
    cell = nb["cells"][cell_index]
    cell["source"] = replace_regions(_source(cell), lambda k, _r: code if k == k_in_cell else None)
    return nb


def signature(nb: Any) -> dict[str, Any]:
    """What ``--check`` compares: cell types, sources and tags, and the notebook's ``lecture26`` metadata."""
    return {
        "cells": [(c["cell_type"], _source(c), sorted(_tags(c))) for c in nb["cells"]],
        "lecture26": nb.get("metadata", {}).get("lecture26"),
    }


SOLUTION_SUFFIX = "_solutions.ipynb"
EXERCISE_SUFFIX = "_exercises.ipynb"


def exercise_name(solution_name: str) -> str:
    """``partB_topic_solutions.ipynb`` -> ``partB_topic_exercises.ipynb``; ValueError for other names."""
    if not solution_name.endswith(SOLUTION_SUFFIX):
        raise ValueError(f"a solution notebook's name must end with {SOLUTION_SUFFIX!r}; got {solution_name!r}")
    return solution_name[: -len(SOLUTION_SUFFIX)] + EXERCISE_SUFFIX


REFERENCE = ROOT / "lecture_lib" / "grade" / "reference.json"


def reference_code(solution: Any) -> dict[str, str]:
    """question id -> the code cells of ``solution`` that answer it, without markers (others' regions stubbed).

    Challenges ("A-challenge") are left out: their reference solutions stay in ``solutions/``, so that no tier
    can be reached by asking the package for the answer.
    """
    found: dict[str, list[str]] = {}
    for cell in solution["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = _source(cell)
        regions = find_regions(source)
        for qid in dict.fromkeys(r.question for r in regions if r.question and not r.question.endswith("-challenge")):
            def keep(_k: int, region: Region, qid: str = qid) -> str:
                if region.question != qid:
                    return stub(region).lstrip(" \t")
                lines = source.split("\n")[region.begin + 1:region.end]
                return "\n".join(line[len(region.indent):] if line.startswith(region.indent) else line.lstrip()
                                 for line in lines)
            found.setdefault(qid, []).append(replace_regions(source, keep).strip("\n"))
    return {qid: "\n\n\n".join(cells) for qid, cells in found.items()}


def reference_text(solutions: Path) -> str:
    """The content of ``reference.json`` for every solution notebook in ``solutions``."""
    code: dict[str, str] = {}
    for sol_path in sorted(solutions.glob("*.ipynb")):
        code.update(reference_code(nbformat.read(sol_path, as_version=4)))
    return json.dumps(dict(sorted(code.items())), indent=1, ensure_ascii=False) + "\n"


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it lies below it (shorter messages)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def sync(solutions: Path, exercises: Path, *, check: bool) -> list[str]:
    """Write (or with ``check`` only compare) the exercises; returns the problems found / files written."""
    problems: list[str] = []
    wanted = set()
    for sol_path in sorted(solutions.glob("*.ipynb")):
        try:
            target = exercises / exercise_name(sol_path.name)
        except ValueError as err:
            raise SystemExit(f"{_shown(sol_path)}: {err}") from None
        wanted.add(target.name)
        try:
            expected = make_exercise(nbformat.read(sol_path, as_version=4))
        except ValueError as err:
            raise SystemExit(f"{_shown(sol_path)}: {err}") from None
        current = nbformat.read(target, as_version=4) if target.exists() else None
        if current is not None and signature(current) == signature(expected):
            continue
        if check:
            problems.append(f"{_shown(target)} is {'missing' if current is None else 'out of date'} "
                            f"(run: python tools/make_exercises.py)")
        else:
            exercises.mkdir(parents=True, exist_ok=True)
            target.write_text(dumps(normalize(expected)), encoding="utf-8")
            problems.append(f"wrote {_shown(target)}")
    reference = reference_text(solutions)
    if solutions.resolve() == (ROOT / "solutions").resolve():
        current_ref = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else None
        if current_ref != reference:
            if check:
                problems.append(f"{_shown(REFERENCE)} is out of date (run: python tools/make_exercises.py)")
            else:
                REFERENCE.write_text(reference, encoding="utf-8")
                problems.append(f"wrote {_shown(REFERENCE)}")
    for stray in sorted(exercises.glob("*.ipynb")):
        if stray.name not in wanted:
            problems.append(f"{_shown(stray)} has no solution notebook in {_shown(solutions)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate exercises/ from solutions/.")
    parser.add_argument("--check", action="store_true", help="only report whether exercises/ is in sync")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    parser.add_argument("--exercises", type=Path, default=ROOT / "exercises")
    args = parser.parse_args(argv)
    messages = sync(args.solutions, args.exercises, check=args.check)
    for message in messages:
        print(message)
    if args.check:
        if messages:
            return 1
        print("exercises/ is in sync with solutions/")
        return 0
    return 1 if any(not m.startswith("wrote ") for m in messages) else 0


if __name__ == "__main__":
    sys.exit(main())
