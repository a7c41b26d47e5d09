"""Write docs/lecture_checks.md, the ledger of every "Lecture check" callout in notebooks/*.ipynb.

The notebooks are the single source. A callout is a markdown blockquote that starts with

    <!-- lecture-check claim: <the lecture's claim, paraphrased> || course: <the value the course computes> -->
    > **Lecture check (§3.A.2, wrong).** ...

(one or more lecture sections, comma-separated, then the verdict). Its ledger row links to the notebook heading
above the callout, the section that computes the value.

    python tools/make_ledger.py           # (re)write the ledger; unchanged file when nothing changed
    python tools/make_ledger.py --check   # exit 1 when the ledger is out of date
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "docs" / "lecture_checks.md"
VERDICTS = ("correct", "wrong", "misleading", "unverifiable")
SECTION = r"§\d+(?:\.[A-Z])?(?:\.\d+)*"
HEADER = re.compile(rf"^> \*\*Lecture check \(((?:{SECTION}, )*{SECTION}), ({'|'.join(VERDICTS)})\)\.\*\*")
#: The Japanese edition's verdict words (notebooks/ja), in the order of VERDICTS.
VERDICTS_JA = ("正しい", "誤り", "誤解を招く", "検証不能")
#: ``> **講義チェック（§3.A.2「FP8量子化 — E4M3 vs E5M2」、誤り）。**``; several sections joined by ``・``.
_TITLED = rf"{SECTION}「[^」]+」"
HEADER_JA = re.compile(rf"^> \*\*講義チェック（((?:{_TITLED}・)*{_TITLED})、({'|'.join(VERDICTS_JA)})）。\*\*")
COMMENT = re.compile(r"^<!-- lecture-check claim: (.+?) \|\| course: (.+?) -->$")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Check:
    """One callout: where it is, what the lecture says, the verdict and the course's value."""

    notebook: str  # file name inside notebooks/
    sections: tuple[str, ...]
    verdict: str
    claim: str
    course: str
    heading: str  # text of the nearest heading above the callout

    @property
    def anchor(self) -> str:
        return heading_anchor(self.heading)


def heading_text(markdown: str) -> str:
    """The heading's visible text: links become their text, code and emphasis marks are dropped."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    return re.sub(r"[`*]", "", text).strip()


def heading_anchor(heading: str) -> str:
    """JupyterLab's id for a heading: its visible text with every space replaced by '-'."""
    return heading_text(heading).replace(" ", "-")


def headings(nb: nbformat.NotebookNode) -> list[str]:
    """Every markdown heading of a notebook (outside code fences), in order."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found += [h for kind, h in _lines(cell.source) if kind == "heading"]
    return found


def _lines(source: str):
    """(kind, text) for each line of a markdown cell: kind is 'heading' or 'text'; code fences are skipped."""
    fenced = False
    for line in source.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        m = None if fenced else HEADING.match(line)
        yield ("heading", m.group(2)) if m else ("text", line)


def collect(notebook: Path) -> list[Check]:
    """The callouts of one notebook, in order. Malformed ones raise ValueError naming the notebook and cell."""
    nb = nbformat.read(notebook, as_version=4)
    checks, heading = [], ""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        previous = ""
        for kind, line in _lines(cell.source):
            if kind == "heading":
                heading = line
            elif line.startswith("> **Lecture check") or line.startswith("> **講義チェック"):
                ja = line.startswith("> **講義チェック")
                m, c = (HEADER_JA if ja else HEADER).match(line), COMMENT.match(previous)
                if m is None or c is None:
                    form = ("'> **講義チェック（§N「節の題名」、判定）。**' with 判定 in " + str(VERDICTS_JA) if ja
                            else f"'> **Lecture check (§N, verdict).**' with a verdict in {VERDICTS}")
                    raise ValueError(
                        f"{notebook.name}, cell {index}: a callout must be the line '<!-- lecture-check claim: ... "
                        f"|| course: ... -->' followed by {form}; got {line[:80]!r}")
                if not heading:
                    raise ValueError(f"{notebook.name}, cell {index}: a callout needs a heading above it")
                sections = (tuple(re.findall(_TITLED, m.group(1))) if ja else tuple(m.group(1).split(", ")))
                verdict = VERDICTS[VERDICTS_JA.index(m.group(2))] if ja else m.group(2)
                checks.append(Check(notebook.name, sections, verdict, c.group(1), c.group(2), heading))
            previous = line
    return checks


@dataclass(frozen=True)
class Edition:
    """One language's ledger: where its notebooks are, where the ledger goes, and its fixed words."""

    folder: str  # notebooks' folder, relative to the course root
    ledger: str  # the ledger's path, relative to the course root
    intro: tuple[str, ...]
    columns: str
    verdicts: tuple[str, ...]  # the words shown for VERDICTS, in order
    total: str


EDITIONS = {
    "en": Edition("notebooks", "docs/lecture_checks.md", (
        "# Lecture checks",
        "",
        "<!-- Generated by tools/make_ledger.py from the \"Lecture check\" callouts in notebooks/*.ipynb "
        "(`make notebooks`). Do not edit by hand. -->",
        "",
        "Every claim of the lecture that the course checks, with the lecture's section, the verdict, the value the",
        "course computes and the notebook section where it does. Verdicts: **correct**; **wrong**; **misleading**",
        "(the arithmetic holds but the framing or the assumptions are off); **unverifiable** (no data, code or",
        "source to check it against).",
        "",
        "| Verdict | Checks |",
    ), "| Lecture | The lecture's claim | Verdict | The course computes | Where |", VERDICTS, "total"),
    "ja": Edition("notebooks/ja", "docs/lecture_checks.ja.md", (
        "# 講義チェック一覧",
        "",
        "<!-- tools/make_ledger.py が notebooks/ja/*.ipynb の「講義チェック」から生成します（`make notebooks`）。"
        "手で編集しないでください。 -->",
        "",
        "コースが検証した講義の主張のすべてを、講義の節、判定、コースが計算した値、それを計算するノートブックの節とともに"
        "並べます。判定: **正しい**、**誤り**、**誤解を招く**（計算は合っているが前提や見せ方に問題がある）、"
        "**検証不能**（確かめるためのデータ・コード・出典がない）。English: [lecture_checks.md](lecture_checks.md)",
        "",
        "| 判定 | 件数 |",
    ), "| 講義 | 講義の主張 | 判定 | コースが計算した値 | 場所 |", VERDICTS_JA, "合計"),
}


def notebooks(root: Path = ROOT, lang: str = "en") -> list[Path]:
    return sorted((root / EDITIONS[lang].folder).glob("*.ipynb"))


def render(checks: list[Check], lang: str = "en") -> str:
    """The ledger as markdown: counts by verdict, then one table per notebook."""
    def cell(text: str) -> str:
        return text.replace("|", r"\|")

    edition = EDITIONS[lang]
    words = dict(zip(VERDICTS, edition.verdicts))
    counts = Counter(c.verdict for c in checks)
    out = [
        *edition.intro,
        "|---|---|",
        *[f"| {words[v]} | {counts[v]} |" for v in VERDICTS],
        f"| **{edition.total}** | **{len(checks)}** |",
    ]
    for name in sorted({c.notebook for c in checks}, key=lambda n: [c.notebook for c in checks].index(n)):
        out += ["", f"## [{name}](../{edition.folder}/{name})", "", edition.columns, "|---|---|---|---|---|"]
        out += [f"| {', '.join(c.sections)} | {cell(c.claim)} | {words[c.verdict]} | {cell(c.course)} | "
                f"[{cell(heading_text(c.heading))}](<../{edition.folder}/{name}#{c.anchor}>) |"
                for c in checks if c.notebook == name]
    return "\n".join(out) + "\n"


def build(root: Path = ROOT, lang: str = "en") -> str:
    return render([c for nb in notebooks(root, lang) for c in collect(nb)], lang)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a ledger is out of date")
    args = parser.parse_args(argv)
    stale = 0
    for lang, edition in EDITIONS.items():
        if not notebooks(ROOT, lang):
            continue
        text, ledger = build(ROOT, lang), ROOT / edition.ledger
        current = ledger.read_text(encoding="utf-8") if ledger.exists() else None
        if current == text:
            continue
        if args.check:
            print(f"{edition.ledger} is out of date: run python tools/make_ledger.py", file=sys.stderr)
            stale += 1
        else:
            ledger.write_text(text, encoding="utf-8")
            print(f"wrote {edition.ledger}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
