"""The Japanese edition: translations complete and current, code identical to English, the grader bilingual.

``tools/make_ja.py`` builds ``notebooks/ja`` and ``exercises/ja`` from the English notebooks and ``i18n/ja``;
these tests fail when an English markdown cell changed after its translation (stale), when a cell has no
translation (missing), when a Japanese notebook's code differs from the English one, and when one of the
grader's messages lacks a language. Each rule has a negative control on a small synthetic course.
"""

from __future__ import annotations

import shutil
import string
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lecture_lib import i18n
from lecture_lib.grade.core import STATUS_LABELS, Outcome
from lecture_lib.grade.help import HELP, help_for
from lecture_lib.grade.help_ja import HELP_JA

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import make_ja  # noqa: E402


def _pairs() -> list[tuple[Path, Path]]:
    return [(en, make_ja.edition(en)) for en in make_ja.english_notebooks()]


# ------------------------------------------------------------------------------------------ the real edition
def test_every_notebook_has_a_current_complete_translation():
    problems = []
    for english, _ja in _pairs():
        _nb, report = make_ja.build_one(english)
        problems += report.lines()
    assert not problems, ("translations missing or stale (an English markdown cell changed): run "
                          "python tools/make_ja.py --todo, update i18n/ja, then make notebooks:\n" + "\n".join(problems))


@pytest.mark.parametrize("english,ja", _pairs(), ids=lambda p: str(p.relative_to(ROOT)) if isinstance(p, Path) else p)
def test_japanese_notebook_is_built_from_the_current_sources(english, ja):
    assert ja.is_file(), f"{ja.relative_to(ROOT)} is missing: run python tools/make_ja.py, then make notebooks"
    built, _ = make_ja.build_one(english)
    stored = nbformat.read(ja, as_version=4)
    assert make_ja._same_sources(built, stored), (
        f"{ja.relative_to(ROOT)} differs from what tools/make_ja.py builds from {english.relative_to(ROOT)} and "
        "i18n/ja (an English cell or a translation changed): run make notebooks")


@pytest.mark.parametrize("english,ja", _pairs(), ids=lambda p: str(p.relative_to(ROOT)) if isinstance(p, Path) else p)
def test_japanese_code_is_the_english_code(english, ja):
    en_nb, ja_nb = nbformat.read(english, as_version=4), nbformat.read(ja, as_version=4)
    en_code = [(c.get("id"), c.source) for c in en_nb.cells if c.cell_type == "code"]
    ja_code = [(c.get("id"), c.source) for c in ja_nb.cells if c.cell_type == "code"]
    assert ja_code == en_code, f"{ja.relative_to(ROOT)}: code cells must be exactly the English notebook's"
    assert [c.cell_type for c in ja_nb.cells] == [c.cell_type for c in en_nb.cells]


def test_japanese_code_outputs_match_english_where_no_words_are_printed():
    """The same code gives the same numbers: compare stored outputs of cells that print no course words."""
    english = ROOT / "notebooks" / "partD_distributed_inference.ipynb"
    en_nb, ja_nb = (nbformat.read(p, as_version=4) for p in (english, make_ja.edition(english)))
    compared = 0
    for a, b in zip(en_nb.cells, ja_nb.cells):
        if a.cell_type != "code" or "check(" in a.source:
            continue
        ta = [o.get("text", "") for o in a.get("outputs", []) if o.get("output_type") == "stream"]
        tb = [o.get("text", "") for o in b.get("outputs", []) if o.get("output_type") == "stream"]
        assert ta == tb, f"cell {a.get('id')}: printed output differs between the English and Japanese notebooks"
        compared += bool(ta)
    assert compared >= 5


# ------------------------------------------------------------------------- the rules, on a synthetic course
def _course(tmp_path: Path, markdown: str = "# Title\n\nSee [Part B](partB.ipynb).") -> Path:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "exercises").mkdir()
    nb = new_notebook(cells=[new_markdown_cell(markdown, id="m1"), new_code_cell("x = 1\nprint(x)", id="c1")])
    nbformat.write(nb, tmp_path / "notebooks" / "partA.nbtest.ipynb")
    nbformat.write(new_notebook(cells=[new_markdown_cell("# B", id="b1")]), tmp_path / "notebooks" / "partB.ipynb")
    (tmp_path / "notebooks" / "ja").mkdir()
    nbformat.write(new_notebook(), tmp_path / "notebooks" / "ja" / "partB.ipynb")
    return tmp_path


def _translate(root: Path, english: Path, text: str, source: str | None = None) -> None:
    nb = nbformat.read(english, as_version=4)
    cell = nb.cells[0]
    tfile = make_ja.translation_file(english, root)
    tfile.parent.mkdir(parents=True, exist_ok=True)
    tfile.write_text(make_ja.render_entry(cell.id, cell.source if source is None else source, text), encoding="utf-8")


def test_current_translation_is_used_and_code_copied(tmp_path):
    root = _course(tmp_path)
    english = root / "notebooks" / "partA.nbtest.ipynb"
    _translate(root, english, "# 題名\n\n[パートB](partB.ipynb) を参照。")
    ja, report = make_ja.build_one(english, root)
    assert report.ok, report.lines(root)
    assert ja.cells[0].source == "# 題名\n\n[パートB](partB.ipynb) を参照。"  # the ja edition of Part B exists
    assert ja.cells[1].source == "x = 1\nprint(x)" and ja.cells[1].outputs == []


def test_changed_english_cell_makes_the_translation_stale(tmp_path):
    root = _course(tmp_path)
    english = root / "notebooks" / "partA.nbtest.ipynb"
    _translate(root, english, "# 題名", source="# An older title")
    _ja, report = make_ja.build_one(english, root)
    assert [cid for _p, cid in report.stale] == ["m1"] and not report.missing


def test_untranslated_and_absent_entries_are_missing(tmp_path):
    root = _course(tmp_path)
    english = root / "notebooks" / "partA.nbtest.ipynb"
    _ja, report = make_ja.build_one(english, root)
    assert [cid for _p, cid in report.missing] == ["m1"]
    _translate(root, english, make_ja.UNTRANSLATED + "\n# Title")
    _ja, report = make_ja.build_one(english, root)
    assert [cid for _p, cid in report.missing] == ["m1"]


def test_entry_for_a_cell_that_no_longer_exists_is_reported(tmp_path):
    root = _course(tmp_path)
    english = root / "notebooks" / "partA.nbtest.ipynb"
    tfile = make_ja.translation_file(english, root)
    tfile.parent.mkdir(parents=True)
    tfile.write_text(make_ja.render_entry("m1", "# Title\n\nSee [Part B](partB.ipynb).", "# 題名")
                     + make_ja.render_entry("gone", "old", "古い"), encoding="utf-8")
    _ja, report = make_ja.build_one(english, root)
    assert [cid for _p, cid in report.orphans] == ["gone"]


def test_code_that_differs_from_english_is_caught():
    english = ROOT / "notebooks" / "partD_distributed_inference.ipynb"
    built, _ = make_ja.build_one(english)
    tampered = nbformat.read(make_ja.edition(english), as_version=4)
    first_code = next(c for c in tampered.cells if c.cell_type == "code" and c.source.strip())
    first_code.source += "\n# translated by hand"
    assert not make_ja._same_sources(built, tampered)


def test_parse_rejects_duplicates_and_empty_entries():
    with pytest.raises(ValueError, match="twice"):
        make_ja.parse("<!-- cell a en:0123456789ab -->\nx\n<!-- cell a en:0123456789ab -->\ny\n")
    with pytest.raises(ValueError, match="empty"):
        make_ja.parse("<!-- cell a en:0123456789ab -->\n\n")


@pytest.mark.parametrize("link,expected", [
    ("[B](partB.ipynb)", "[B](partB.ipynb)"),                                     # same folder, ja edition exists
    ("[C](partC.ipynb)", "[C](../partC.ipynb)"),                                  # no ja edition: the English one
    ("[E](en:partB.ipynb)", "[E](../partB.ipynb)"),                               # explicitly the English one
    ("[L](../lecture_lib/quant.py)", "[L](../../lecture_lib/quant.py)"),
    ("[W](https://example.org/a.ipynb)", "[W](https://example.org/a.ipynb)"),
    ("[S](#zone-1)", "[S](#zone-1)"),
    ("[A](<partB.ipynb#Zone 1>)", "[A](<partB.ipynb#Zone 1>)"),
    ("```\n[B](partC.ipynb)\n```", "```\n[B](partC.ipynb)\n```"),                # fenced code is left alone
])
def test_links_are_rewritten_for_the_japanese_folder(tmp_path, link, expected):
    root = _course(tmp_path)
    assert make_ja.rewrite_links(link, root / "notebooks" / "partA.nbtest.ipynb", root) == expected


def test_docs_links_prefer_the_japanese_document(tmp_path):
    root = _course(tmp_path)
    (root / "docs").mkdir()
    (root / "docs" / "guide.md").write_text("x")
    (root / "docs" / "other.md").write_text("x")
    (root / "docs" / "guide.ja.md").write_text("x")
    english = root / "notebooks" / "partA.nbtest.ipynb"
    assert make_ja.rewrite_links("[g](../docs/guide.md)", english, root) == "[g](../../docs/guide.ja.md)"
    assert make_ja.rewrite_links("[o](../docs/other.md)", english, root) == "[o](../../docs/other.md)"


def test_skeleton_keeps_translations_and_adds_missing_cells(tmp_path):
    root = _course(tmp_path)
    english = root / "notebooks" / "partB.ipynb"
    make_ja.write_skeleton(english, root)
    entries = make_ja.parse(make_ja.translation_file(english, root).read_text(encoding="utf-8"))
    assert entries["b1"].text == make_ja.UNTRANSLATED + "\n# B"
    make_ja.translation_file(english, root).write_text(make_ja.render_entry("b1", "# B", "# パートB"), encoding="utf-8")
    make_ja.write_skeleton(english, root)
    entries = make_ja.parse(make_ja.translation_file(english, root).read_text(encoding="utf-8"))
    assert entries["b1"].text == "# パートB"


# -------------------------------------------------------------------------------------- the grader's words
def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(i18n.MESSAGES))
def test_every_message_has_both_languages_with_the_same_fields(key):
    texts = i18n.MESSAGES[key]
    assert set(texts) == set(i18n.LANGUAGES), f"message {key!r} must exist in {i18n.LANGUAGES}"
    assert all(t.strip() for t in texts.values())
    assert _fields(texts["ja"]) == _fields(texts["en"]), f"message {key!r}: both languages need the same fields"


def test_one_unsaved_message_says_one_or_many():
    one, many = (i18n.message("unsaved", "en", names=n, count=c) for n, c in (("f", 1), ("f, g", 2)))
    assert "f as you last ran it is not saved." in one and "f, g as you last ran they are not saved." in many
    assert "最後に実行した 2 個の関数（f, g）は保存されていません" in i18n.message("unsaved", "ja", names="f, g", count=2)
    assert i18n.message("total", "en", score=3, max_score=4, verdict="x") == "  total 3/4 (x)"  # plain fields unchanged


def test_status_labels_are_unchanged_in_english_and_translated_in_japanese():
    for status, label in STATUS_LABELS.items():
        o = Outcome("A1", 0, 1, status, "m")
        assert o.label_in("en") == label
        assert o.label_in("ja") != label, f"status {status!r} has no Japanese label"


def test_feedback_line_in_both_languages():
    o = Outcome("B2", 0, 2, "failed", "requirement")
    assert o.feedback_line() == "B2 not passed yet (0/2): requirement"
    assert o.feedback_line("ja") == "B2 未合格 (0/2): requirement"


def test_japanese_help_covers_every_question():
    assert list(HELP_JA) == list(HELP)
    for qid, english in HELP.items():
        ja = help_for(qid, "ja")
        assert len(ja) == 4 and all(isinstance(t, str) and t.strip() for t in ja), qid
        assert ja != english, f"{qid}: the Japanese help is the English text"
    assert help_for("A1") == HELP["A1"]


def test_language_comes_from_the_folder_and_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("LECTURE26_LANG", raising=False)
    (tmp_path / "ja").mkdir()
    assert i18n.language(tmp_path) == "en"
    assert i18n.language(tmp_path / "ja") == "ja"
    assert i18n.language(tmp_path / "ja" / "partA_exercises.ipynb") == "ja"
    assert i18n.language(tmp_path / "japan") == "en"
    monkeypatch.chdir(tmp_path / "ja")
    assert i18n.language() == "ja"
    monkeypatch.setenv("LECTURE26_LANG", "en")
    assert i18n.language() == "en"
    monkeypatch.setenv("LECTURE26_LANG", "fr")
    with pytest.raises(ValueError, match="LECTURE26_LANG"):
        i18n.language()


def test_message_rejects_unknown_keys_and_languages():
    with pytest.raises(ValueError, match="key must be"):
        i18n.message("no such message", "en")
    with pytest.raises(ValueError, match="lang must be"):
        i18n.message("all passed", "fr")


def test_grader_finds_the_japanese_exercises(tmp_path):
    from lecture_lib.grade.__main__ import default_paths

    ja = default_paths("B", cwd=ROOT, lang="ja")
    assert ja == [ROOT / "exercises" / "ja" / "partB_distillation_speculative_exercises.ipynb"]
    assert all(p.is_file() for p in default_paths(None, cwd=ROOT, lang="ja"))
    assert default_paths("B", cwd=ROOT)[0].parent == ROOT / "exercises"


def test_progress_counts_the_japanese_exercises(tmp_path, monkeypatch):
    from lecture_lib.grade import course

    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("part*"))
    (tmp_path / "exercises" / "ja").mkdir(parents=True)
    path = tmp_path / "exercises" / "ja" / course.exercise_notebook("C")
    path.write_text("{}")
    monkeypatch.delenv(course.PROGRESS_ENV, raising=False)
    written = course.record_progress([{"path": str(path), "score": 3, "max_score": 9, "questions": []}], when="t")
    assert written == tmp_path / ".progress" / "grades.json"
    assert course.load_progress(tmp_path)["parts"]["C"]["score"] == 3


# ------------------------------------------------------------------------------------------ make, LANG=ja
def _dry(*args: str, cwd: Path = ROOT) -> str:
    import subprocess

    done = subprocess.run(["make", "-n", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_and_grade_in_japanese():
    assert "default_url=/lab/tree/notebooks/ja/00_start_here.ipynb" in _dry("lab", "LANG=ja")
    assert "default_url=/lab/tree/notebooks/00_start_here.ipynb" in _dry("lab", "LANG=ja_JP.UTF-8")
    assert "--lang ja" in _dry("grade", "LANG=ja", "PART=B")
    assert "--lang ja" not in _dry("grade", "PART=B")
    # a terminal opened in notebooks/ja or exercises/ja: plain `make grade` grades the Japanese exercises
    for folder in ("notebooks/ja", "exercises/ja"):
        assert "--lang ja" in _dry("grade", "PART=B", cwd=ROOT / folder)


def test_skeleton_turns_a_stale_entry_into_an_untranslated_one_with_the_old_text(tmp_path):
    root = _course(tmp_path)
    english = root / "notebooks" / "partB.ipynb"
    make_ja.translation_file(english, root).parent.mkdir(parents=True, exist_ok=True)
    make_ja.translation_file(english, root).write_text(make_ja.render_entry("b1", "# Old B", "# 旧パートB"),
                                                       encoding="utf-8")
    make_ja.write_skeleton(english, root)
    entry = make_ja.parse(make_ja.translation_file(english, root).read_text(encoding="utf-8"))["b1"]
    assert entry.en_hash == make_ja.source_hash("# B")
    assert entry.text.startswith(make_ja.UNTRANSLATED) and "# 旧パートB" in entry.text and entry.text.endswith("# B")
    _ja, report = make_ja.build_one(english, root)
    assert [cid for _p, cid in report.missing] == ["b1"]


def _glossary_names() -> list[str]:
    import re

    rows = [line for line in (ROOT / "docs" / "glossary.ja.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and not line.startswith("| 日本語")]
    names = []
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        module = ""
        for raw in re.findall(r"`([^`]+)`", cells[-1]):
            name = re.sub(r"\(.*$", "", raw).removeprefix("lecture_lib.")
            if raw.startswith("lecture_lib."):
                module = name  # `lecture_lib.fp8`（`quantize_fp8`）: later bare names live in that module
            names.append(f"{module}.{name}" if "." not in name and module and name != module else name)
    return names


def _resolve(name: str) -> object:
    import importlib

    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module("lecture_lib." + ".".join(parts[:k]))
        except ImportError:
            continue
        for attr in parts[k:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(name)


def test_glossary_names_exist():
    names = _glossary_names()
    assert len(names) >= 40
    missing = []
    for name in names:
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert missing == [], f"docs/glossary.ja.md names what lecture_lib does not have: {missing}"
    with pytest.raises(AttributeError):
        _resolve("quant.no_such_function")  # negative control
