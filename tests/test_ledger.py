"""docs/lecture_checks.md is generated from the notebooks' "Lecture check" callouts and stays in step with them."""
from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_ledger as ml  # noqa: E402

LINK = re.compile(r"\]\(<\.\./notebooks/([^>#]+\.ipynb)#([^>]*)>\)")


def _anchors(root: Path) -> dict[str, set[str]]:
    return {p.name: {ml.heading_anchor(h) for h in ml.headings(nbformat.read(p, as_version=4))}
            for p in ml.notebooks(root)}


def broken_links(ledger: str, root: Path = ROOT) -> list[str]:
    """Every ledger link whose notebook or heading anchor does not exist."""
    anchors = _anchors(root)
    return [f"{nb}#{a}" for nb, a in LINK.findall(ledger) if a not in anchors.get(nb, set())]


def missing_checks(ledger: str, checks: list[ml.Check]) -> list[ml.Check]:
    """The callouts that have no row (section, verdict, claim and link) in the ledger."""
    rows = ledger.splitlines()
    return [c for c in checks if not any(
        r.startswith(f"| {', '.join(c.sections)} | {c.claim.replace('|', chr(92) + '|')} | {c.verdict} |")
        and f"(<../notebooks/{c.notebook}#{c.anchor}>)" in r for r in rows)]


@pytest.fixture(scope="module")
def checks() -> list[ml.Check]:
    return [c for p in ml.notebooks() for c in ml.collect(p)]


def test_ledger_is_up_to_date():
    assert ml.LEDGER.read_text(encoding="utf-8") == ml.build(), "run: python tools/make_ledger.py"


def test_every_callout_is_in_the_ledger(checks):
    raw = sum(line.startswith("> **Lecture check") for p in ml.notebooks()
              for c in nbformat.read(p, as_version=4).cells if c.cell_type == "markdown"
              for line in c.source.splitlines())
    assert len(checks) == raw >= 20
    assert missing_checks(ml.LEDGER.read_text(encoding="utf-8"), checks) == []


def test_every_link_resolves_to_a_heading(checks):
    ledger = ml.LEDGER.read_text(encoding="utf-8")
    assert len(LINK.findall(ledger)) == len(checks)
    assert broken_links(ledger) == []


def test_counts_by_verdict_add_up(checks):
    ledger = ml.LEDGER.read_text(encoding="utf-8")
    for verdict in ml.VERDICTS:
        assert f"| {verdict} | {sum(c.verdict == verdict for c in checks)} |" in ledger
    assert f"| **total** | **{len(checks)}** |" in ledger


def test_no_notebook_mentions_errata():
    paths = [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb"), *ROOT.glob("exercises/*.ipynb")]
    assert paths
    assert [p.name for p in paths if "errata" in p.read_text(encoding="utf-8").lower()] == []


def test_regenerating_is_idempotent(tmp_path):
    (tmp_path / "docs").mkdir()
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    assert ml.build(tmp_path) == ml.build(tmp_path) == ml.build()


def test_ledger_links_from_readme_and_start_page():
    assert "docs/lecture_checks.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../docs/lecture_checks.md" in (ROOT / "notebooks" / "00_start_here.ipynb").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------- negative controls
def test_control_a_callout_missing_from_the_ledger_is_found(checks):
    ledger = ml.LEDGER.read_text(encoding="utf-8")
    row = next(r for r in ledger.splitlines() if f"#{checks[3].anchor}>)" in r and checks[3].claim[:30] in r)
    assert missing_checks(ledger.replace(row + "\n", ""), checks) == [checks[3]]


def test_control_a_broken_anchor_is_found():
    ledger = ml.LEDGER.read_text(encoding="utf-8")
    nb, anchor = LINK.findall(ledger)[0]
    assert broken_links(ledger.replace(f"#{anchor}>)", f"#{anchor}-renamed>)", 1)) == [f"{nb}#{anchor}-renamed"]


def test_control_a_stale_ledger_is_found(tmp_path):
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    path = tmp_path / "notebooks" / "partD_distributed_inference.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if "> **Lecture check (§3.D.1, correct).**" in text:
            cell["source"] = text.replace("(§3.D.1, correct)", "(§3.D.1, wrong)")
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert ml.build(tmp_path) != ml.build()


@pytest.mark.parametrize("header, comment", [
    ("> **Lecture check.** The lecture says x.", "<!-- lecture-check claim: x || course: y -->"),
    ("> **Lecture check (errata row 3, wrong).** x", "<!-- lecture-check claim: x || course: y -->"),
    ("> **Lecture check (§3.A.1, dubious).** x", "<!-- lecture-check claim: x || course: y -->"),
    ("> **Lecture check (§3.A.1, wrong).** x", "no comment above"),
])
def test_control_malformed_callouts_are_rejected(tmp_path, header, comment):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"## A heading\n\n{comment}\n{header}")])
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="bad.ipynb, cell 0"):
        ml.collect(path)


def test_a_well_formed_callout_is_read(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "## 2.1 A `code` heading\n\n<!-- lecture-check claim: a | b || course: c -->\n"
        "> **Lecture check (§3.A.1, §0, misleading).** x")])
    nbformat.write(nb, tmp_path / "ok.ipynb")
    (c,) = ml.collect(tmp_path / "ok.ipynb")
    assert (c.sections, c.verdict, c.claim, c.course, c.anchor) == (
        ("§3.A.1", "§0"), "misleading", "a | b", "c", "2.1-A-code-heading")
    assert r"a \| b" in ml.render([c])


# ------------------------------------------------------------------------------------- the Japanese ledger
LINK_JA = re.compile(r"\]\(<\.\./notebooks/ja/([^>#]+\.ipynb)#([^>]*)>\)")


def test_japanese_ledger_is_up_to_date_and_its_links_resolve():
    ledger = (ROOT / ml.EDITIONS["ja"].ledger).read_text(encoding="utf-8")
    assert ledger == ml.build(ROOT, "ja"), "run: python tools/make_ledger.py"
    anchors = {p.name: {ml.heading_anchor(h) for h in ml.headings(nbformat.read(p, as_version=4))}
               for p in ml.notebooks(ROOT, "ja")}
    links = LINK_JA.findall(ledger)
    assert links and [f"{nb}#{a}" for nb, a in links if a not in anchors.get(nb, set())] == []


def test_japanese_callouts_match_the_english_ones(checks):
    """Same checks, same order, same verdicts and section numbers; the Japanese headers name the sections."""
    ja = [c for p in ml.notebooks(ROOT, "ja") for c in ml.collect(p)]
    assert [(c.notebook, c.verdict) for c in ja] == [(c.notebook, c.verdict) for c in checks]
    assert [[s.split("「")[0] for s in c.sections] for c in ja] == [list(c.sections) for c in checks]
    assert all("「" in s for c in ja for s in c.sections)


def test_control_a_malformed_japanese_callout_is_rejected(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "# 見出し\n\n<!-- lecture-check claim: a || course: b -->\n> **講義チェック（§3.A.2、誤り）。** 節の題名がない")])
    nbformat.write(nb, tmp_path / "x.ipynb")
    with pytest.raises(ValueError, match="講義チェック"):
        ml.collect(tmp_path / "x.ipynb")
