"""Build the Japanese edition (``notebooks/ja/``, ``exercises/ja/``) from the English notebooks and ``i18n/ja/``.

Usage::

    python tools/make_ja.py            # write notebooks/ja/*.ipynb and exercises/ja/*.ipynb (sources only; a
                                       # missing or stale translation is a warning here: the cell keeps its
                                       # English or older text)
    python tools/make_ja.py --check    # exit 1, listing them, when a translation is missing or stale, or a
                                       # Japanese notebook differs from what this would write
    python tools/make_ja.py --todo     # print every markdown cell that needs a (new) translation, with its
                                       # English source, ready to paste into the translation file
    python tools/make_ja.py --skeleton # rewrite each translation file in notebook order, adding an entry with
                                       # the English text (marked <!-- untranslated -->) for every missing cell;
                                       # a stale entry gets the new English, its old translation in a comment

One source per language. Code cells are never translated: each Japanese notebook is a copy of its English
notebook in which only the markdown cells are replaced. The replacements live in one Markdown file per notebook,
``i18n/ja/<folder>/<notebook stem>.md``, as a list of entries::

    <!-- cell 1a2b3c4d en:0123456789ab -->
    (the Japanese markdown of the cell whose id is 1a2b3c4d)

``en:`` is the first 12 hex digits of the SHA-256 of the English cell's source when it was translated. When the
English cell changes, its hash changes and ``--check`` reports the translation as stale; ``--todo`` prints the
new English text beside the old translation. Links are written as they would be in the English notebook
(relative to ``notebooks/`` or ``exercises/``); the build points them at the Japanese edition of a notebook where
one exists (``docs/x.md`` -> ``docs/x.ja.md`` too) and adds the extra ``../`` otherwise. A link target written ``en:name.ipynb`` means the English file.

``make notebooks`` runs this before executing the notebooks, so the Japanese notebooks' outputs come from the
same code as the English ones (the grader answers in Japanese in them: :mod:`lecture_lib.i18n`).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbnormalize import dumps, normalize  # noqa: E402

LANG = "ja"
#: English folders that have a Japanese edition (solutions/ has none: exercises are translated directly).
FOLDERS = ("notebooks", "exercises")
ENTRY = re.compile(r"^<!-- cell (?P<id>[A-Za-z0-9_-]+) en:(?P<hash>[0-9a-f]{12}) -->[ \t]*$", re.MULTILINE)
LINK = re.compile(r"(\]\()(<?)([^)\s>]+)(>?)(\))")
#: First line of a skeleton entry that still holds the English text (counts as missing).
UNTRANSLATED = "<!-- untranslated -->"
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|#|/)", re.IGNORECASE)


def source_hash(source: str) -> str:
    """The first 12 hex digits of the SHA-256 of a cell's source (what a translation entry records)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Entry:
    """One translated markdown cell."""

    cell_id: str
    en_hash: str
    text: str


def parse(text: str, *, name: str = "translation") -> dict[str, Entry]:
    """The entries of one translation file, by cell id. Text before the first entry is a free comment."""
    matches = list(ENTRY.finditer(text))
    entries: dict[str, Entry] = {}
    for k, m in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(text)
        body = text[m.end():end].strip("\n")
        if m["id"] in entries:
            raise ValueError(f"{name}: cell {m['id']} is translated twice")
        if not body.strip():
            raise ValueError(f"{name}: cell {m['id']} has an empty translation")
        entries[m["id"]] = Entry(m["id"], m["hash"], body)
    return entries


def render_entry(cell_id: str, source: str, text: str) -> str:
    """One entry as it is written in a translation file."""
    return f"<!-- cell {cell_id} en:{source_hash(source)} -->\n{text.strip(chr(10))}\n"


def english_notebooks(root: Path = ROOT) -> list[Path]:
    return [p for folder in FOLDERS for p in sorted((root / folder).glob("*.ipynb"))]


def translation_file(english: Path, root: Path = ROOT) -> Path:
    rel = english.relative_to(root)
    return root / "i18n" / LANG / rel.parent / f"{english.stem}.md"


def edition(english: Path, root: Path = ROOT) -> Path:
    """Where the Japanese edition of an English notebook lives: ``<folder>/ja/<same name>``."""
    return english.parent / LANG / english.name


def rewrite_links(markdown: str, english: Path, root: Path = ROOT) -> str:
    """Links written for the English notebook's folder, made right for the Japanese edition's folder."""
    folder = english.parent
    target_folder = edition(english, root).parent

    def fix(m: re.Match[str]) -> str:
        target = m.group(3)
        if target.startswith("en:"):
            path, keep_ja = target[3:], False
        elif _EXTERNAL.match(target):
            return m.group(0)
        else:
            path, keep_ja = target, True
        file, _, anchor = path.partition("#")
        resolved = Path(os.path.normpath(folder / file))
        if keep_ja and resolved.suffix == ".ipynb" and resolved.parent.name != LANG:
            candidate = resolved.parent / LANG / resolved.name
            if resolved.parent.name in FOLDERS and resolved.parent.parent == root and resolved.is_file():
                resolved = candidate  # every English notebook of a translated folder has a Japanese edition
        elif keep_ja and resolved.suffix == ".md" and resolved.with_suffix(f".{LANG}.md").exists():
            resolved = resolved.with_suffix(f".{LANG}.md")  # e.g. docs/lecture_checks.ja.md, README.ja.md
        new = os.path.relpath(resolved, target_folder).replace(os.sep, "/")
        if anchor:
            new += "#" + anchor
        return f"{m.group(1)}{m.group(2)}{new}{m.group(4)}{m.group(5)}"

    out, fenced = [], False
    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append(line if fenced else LINK.sub(fix, line))
    return "\n".join(out)


@dataclass
class Report:
    missing: list[tuple[Path, str]]
    stale: list[tuple[Path, str]]
    orphans: list[tuple[Path, str]]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.orphans)

    def lines(self, root: Path = ROOT) -> list[str]:
        out = []
        for kind, items in (("missing", self.missing), ("stale", self.stale), ("no such English cell", self.orphans)):
            out += [f"{p.relative_to(root)}: cell {cid}: {kind}" for p, cid in items]
        return out


def build_one(english: Path, root: Path = ROOT) -> tuple[nbformat.NotebookNode, Report]:
    """The Japanese notebook for one English notebook (sources only), and what its translation lacks."""
    nb = nbformat.read(english, as_version=4)
    tfile = translation_file(english, root)
    entries = parse(tfile.read_text(encoding="utf-8"), name=str(tfile.relative_to(root))) if tfile.exists() else {}
    report = Report([], [], [])
    ids = set()
    ja = copy.deepcopy(nb)
    for cell in ja.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if cell.cell_type != "markdown":
            continue
        cid = cell.get("id")
        ids.add(cid)
        entry = entries.get(cid)
        if entry is None or entry.text.startswith(UNTRANSLATED):
            report.missing.append((tfile, cid))
            continue
        if entry.en_hash != source_hash(cell.source):
            report.stale.append((tfile, cid))
        cell.source = rewrite_links(entry.text, english, root)
    report.orphans += [(tfile, cid) for cid in entries if cid not in ids]
    ja.metadata.setdefault("lecture26", {})["lang"] = LANG
    return ja, report


def _same_sources(a: nbformat.NotebookNode, b: nbformat.NotebookNode) -> bool:
    def key(nb: nbformat.NotebookNode) -> list[tuple[str, str, str]]:
        return [(c.cell_type, c.get("id", ""), c.source) for c in nb.cells]

    return key(a) == key(b) and a.metadata.get("lecture26") == b.metadata.get("lecture26")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="report missing/stale translations and stale notebooks")
    mode.add_argument("--todo", action="store_true", help="print the cells that need a translation")
    mode.add_argument("--skeleton", action="store_true", help="add untranslated entries for missing cells")
    args = parser.parse_args(argv)
    problems: list[str] = []
    for english in english_notebooks():
        ja, report = build_one(english)
        problems += report.lines()
        target = edition(english)
        if args.skeleton:
            write_skeleton(english)
            continue
        if args.todo:
            _print_todo(english, report)
            continue
        current = nbformat.read(target, as_version=4) if target.exists() else None
        if current is not None and _same_sources(current, ja):
            continue  # keep its stored outputs
        if args.check:
            problems.append(f"{target.relative_to(ROOT)}: out of date (run python tools/make_ja.py)")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dumps(normalize(ja)), encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
    if args.todo or args.skeleton:
        return 0
    for line in problems:
        print(("" if args.check else "warning: ") + line, file=sys.stderr)
    # Building never fails on a missing or stale translation (the cell keeps its English or older text);
    # --check (and tests/test_translations.py) does.
    return 1 if problems and args.check else 0


def write_skeleton(english: Path, root: Path = ROOT) -> None:
    """Rewrite ``english``'s translation file in notebook order; missing cells get an untranslated entry."""
    nb = nbformat.read(english, as_version=4)
    tfile = translation_file(english, root)
    entries = parse(tfile.read_text(encoding="utf-8"), name=str(tfile)) if tfile.exists() else {}
    head = tfile.read_text(encoding="utf-8")[:ENTRY.search(tfile.read_text(encoding="utf-8")).start()] \
        if entries else f"<!-- Japanese text of {english.relative_to(root)}; format: tools/make_ja.py -->\n\n"
    parts = [head]
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        entry = entries.get(cell.id)
        if entry is None:
            parts.append(f"<!-- cell {cell.id} en:{source_hash(cell.source)} -->\n{UNTRANSLATED}\n{cell.source}\n")
        elif entry.en_hash != source_hash(cell.source) and not entry.text.startswith(UNTRANSLATED):
            old = entry.text.replace("-->", "--&gt;")
            parts.append(f"<!-- cell {cell.id} en:{source_hash(cell.source)} -->\n{UNTRANSLATED}\n"
                         f"<!-- previous translation (the English cell changed since):\n{old}\n-->\n{cell.source}\n")
        else:
            parts.append(f"<!-- cell {entry.cell_id} en:{entry.en_hash} -->\n{entry.text}\n")
    ids = {c.id for c in nb.cells}
    parts += [f"<!-- cell {e.cell_id} en:{e.en_hash} -->\n{e.text}\n" for e in entries.values() if e.cell_id not in ids]
    tfile.parent.mkdir(parents=True, exist_ok=True)
    tfile.write_text("\n".join(parts), encoding="utf-8")


def _print_todo(english: Path, report: Report) -> None:
    nb = nbformat.read(english, as_version=4)
    by_id = {c.get("id"): c for c in nb.cells}
    tfile = translation_file(english)
    entries = parse(tfile.read_text(encoding="utf-8")) if tfile.exists() else {}
    for _path, cid in report.missing + report.stale:
        cell = by_id[cid]
        print(f"===== {tfile.relative_to(ROOT)}  ({'stale' if cid in entries else 'missing'})")
        if cid in entries:
            print("----- old translation:")
            print(entries[cid].text)
        print("----- new entry (translate the text below the marker):")
        print(render_entry(cid, cell.source, cell.source))


if __name__ == "__main__":
    sys.exit(main())
