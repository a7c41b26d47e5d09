"""The judges speak the notebook's language: every learner-facing judge message is a key of one table.

``lecture_lib.grade.judge_messages.JUDGE_MESSAGES`` holds each message in English and Japanese with the same
fields; the judges look messages up with ``say(key, ...)``. An AST scan of ``lecture_lib/grade`` keeps it that
way (a ``Fail`` built from a raw string, an unknown key or a judge returning a literal sentence is reported), with
a negative control; and a wrong answer graded in Japanese gets a Japanese diagnosis, in English the old one.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

from lecture_lib.grade.feedback import evaluate_locally
from lecture_lib.grade.judge_messages import (JUDGE_MESSAGES, fields_of, hint_text, judge_message, say, speaking,
                                              speaking_language, stub_text)

ROOT = Path(__file__).resolve().parent.parent
GRADE = ROOT / "lecture_lib" / "grade"
#: Modules whose judge messages are not keyed yet (English in both languages); the report lists them.
NOT_KEYED_YET: set[str] = set()
#: Keys looked up with a computed name: ``say(f"B.{name}")`` for Part B's mistake table, the probe's reasons and
#: the challenges' tier names (``say(f"challenges.tier.{tier}")``).
DYNAMIC = re.compile(r"^(B\.b[12]_\w+|core\.probe\.\w+|core\.runner\.\w+|core\.describe\.(tensor|array)|stub\..+"
                     r"|challenges\.tier\.[123])$")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
#: Three plain English words in a row: prose, not a formula or a name of code.
PROSE = re.compile(r"\b[a-z]{2,} [a-z]{2,} [a-z]{2,}\b")


def test_every_message_has_both_languages_with_the_same_fields():
    problems = []
    for key, texts in JUDGE_MESSAGES.items():
        if set(texts) != {"en", "ja"} or not all(texts.values()):
            problems.append(f"{key}: needs a non-empty 'en' and 'ja'")
        elif fields_of(texts["en"]) != fields_of(texts["ja"]):
            problems.append(f"{key}: fields {sorted(fields_of(texts['en']))} vs {sorted(fields_of(texts['ja']))}")
    assert not problems, "\n".join(problems)


def test_japanese_sentences_are_japanese():
    """A Japanese entry that is a whole English sentence was forgotten (formulas and code may stay as they are)."""
    forgotten = [k for k, t in JUDGE_MESSAGES.items()
                 if PROSE.search(t["ja"])]
    assert not forgotten
    assert sum(bool(JAPANESE.search(t["ja"])) for t in JUDGE_MESSAGES.values()) > 0.85 * len(JUDGE_MESSAGES)


def test_say_follows_the_language_being_graded():
    assert speaking_language() == "en"
    assert say("core.describe.5", n_value=3) == "a list of 3"
    with speaking("ja"):
        assert say("core.describe.5", n_value=3) == "要素 3 個のリスト"
        assert speaking_language() == "ja"
    assert say("core.describe.5", n_value=3) == "a list of 3"
    with pytest.raises(ValueError, match="lang must be one of"), speaking("fr"):
        pass
    with pytest.raises(ValueError, match="key must be one of"):
        judge_message("no such key", "en")


def test_hint_text_is_the_longest_literal_stretch():
    assert hint_text("core.as_tensor.1", "en") == "must return a torch.Tensor; got"
    assert hint_text("B.b2_kl_sum", "ja") == JUDGE_MESSAGES["B.b2_kl_sum"]["ja"]
    with pytest.raises(ValueError, match="key must be one of"):
        hint_text("English words of an unkeyed hint", "ja")


# ---------------------------------------------------------------------------------------------- the AST guard
def _is_say(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "say"


def _literal_sentence(node: ast.AST | None) -> bool:
    """A string literal, an f-string or a sum of them (what a keyed message replaces)."""
    if isinstance(node, ast.IfExp):
        return _literal_sentence(node.body) or _literal_sentence(node.orelse)
    if isinstance(node, ast.BinOp):
        return _literal_sentence(node.left) or _literal_sentence(node.right)
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def unkeyed_messages(source: str, name: str = "<source>") -> list[str]:
    """Where ``source`` gives a learner a sentence that is not looked up by key (see the module docstring)."""
    problems = []
    tree = ast.parse(source)
    for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("judge")]:
        for ret in [n for n in ast.walk(fn) if isinstance(n, ast.Return)]:
            if _literal_sentence(ret.value):
                problems.append(f"{name}:{ret.lineno}: {fn.name} returns a literal sentence")
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        where = f"{name}:{node.lineno}"
        if node.func.id == "Fail":
            if not node.args or not _is_say(node.args[0]):
                problems.append(f"{where}: Fail(...) needs say(<key>, ...) as its requirement")
            hints = node.args[1:2] + [k.value for k in node.keywords if k.arg == "hint"]
            problems += [f"{where}: Fail's hint is a literal sentence" for h in hints if _literal_sentence(h)]
        elif node.func.id == "raised" and len(node.args) > 3 and _literal_sentence(node.args[3]):
            problems.append(f"{where}: raised(...)'s hint is a literal sentence")
        elif node.func.id == "say":
            key = node.args[0] if node.args else None
            if isinstance(key, ast.Constant) and key.value not in JUDGE_MESSAGES:
                problems.append(f"{where}: say({key.value!r}) is not a key of JUDGE_MESSAGES")
        elif node.func.id == "Mistake" and len(node.args) > 2:
            hint = node.args[2]
            if not (isinstance(hint, ast.Constant) and hint.value in JUDGE_MESSAGES):
                problems.append(f"{where}: Mistake's hint must be a key of JUDGE_MESSAGES")
    return problems


@pytest.mark.parametrize("path", sorted(p for p in GRADE.glob("*.py") if p.name not in NOT_KEYED_YET),
                         ids=lambda p: p.name)
def test_judges_give_keyed_messages_only(path):
    assert not unkeyed_messages(path.read_text(encoding="utf-8"), path.name)


def test_the_guard_catches_raw_sentences():
    """Negative control: each way of bypassing the table is reported."""
    bad = textwrap.dedent('''
        def judge_x(inputs, result):
            if result != 1:
                raise Fail(f"x must be 1; got {result}")
            if result is None:
                raise Fail(say("no such key"), "a literal hint")
            raised(result, "x", "a case", "a literal hint")
            return f"x matches on {len(inputs)} cases"
        MISTAKES = (Mistake("off by one", "return 2", "x must be 1"),)
    ''')
    problems = unkeyed_messages(bad)
    for text in ("Fail(...) needs say", "not a key", "Fail's hint is a literal", "raised(...)'s hint",
                 "returns a literal sentence", "Mistake's hint must be a key"):
        assert any(text in p for p in problems), (text, problems)
    good = 'def judge_x(inputs, result):\n    raise Fail(say("core.as_number.1", what="x"), hint)\n'
    assert unkeyed_messages(good) == []


def test_every_key_is_used():
    source = "\n".join(p.read_text(encoding="utf-8") for p in GRADE.glob("*.py"))
    literals = set(re.findall(r'"([A-Za-z]+\.[\w.]+)"', source))
    unused = [k for k in JUDGE_MESSAGES if k not in literals and not DYNAMIC.match(k)]
    assert not unused


# ---------------------------------------------------------------------------------------- a wrong answer graded
def _wrong_softmax() -> dict:
    ns: dict = {}
    exec("import torch\n"  # noqa: S102 - a fixed wrong answer: softmax without the temperature
         "def softmax_t(logits, T):\n"
         "    z = torch.as_tensor(logits, dtype=torch.float64)\n"
         "    return torch.softmax(z, dim=-1)\n", ns)
    return ns


def test_a_wrong_answer_graded_in_japanese_gets_a_japanese_diagnosis():
    outcome = evaluate_locally("B1", _wrong_softmax(), lang="ja")
    assert not outcome.passed
    line = outcome.feedback_line("ja")
    assert line.startswith("B1 未合格 (0/1): softmax_t は最後の次元について")
    assert "ヒント: " + JUDGE_MESSAGES["B.b1_no_T"]["ja"] in line
    assert "（講義のロジット [5.0, 3.5, 0.2]、T = 5）" in line
    assert not PROSE.search(line), line


def test_the_same_wrong_answer_in_english_is_unchanged():
    outcome = evaluate_locally("B1", _wrong_softmax())
    assert outcome.message == (
        "softmax_t must equal exp(z/T)/sum exp(z/T) over the last dim; got [0.8121 0.1812 0.0067] instead of "
        "[0.4709 0.3488 0.1803] for the lecture's logits [5.0, 3.5, 0.2] at T = 5. Hint: T was not used: divide "
        "the logits by T before the softmax")


@pytest.mark.parametrize("lang,expected", [
    ("en", "softmax_t is not defined (did the cell that defines it run without an error?)"),
    ("ja", "softmax_t が定義されていません（定義するセルはエラーなしで実行できましたか？）"),
])
def test_a_missing_function_is_reported_in_the_language(lang, expected):
    outcome = evaluate_locally("B1", {}, lang=lang)
    assert outcome.status == "missing" and outcome.message == expected


def test_the_grader_table_wraps_japanese_by_display_width():
    """A long Japanese message fits the message column: wide characters count 2, no line starts with 、 or 。."""
    from lecture_lib.grade.report import _wrap
    from lecture_lib.i18n import width

    text = _wrong_softmax_message_ja()
    lines = _wrap(text, 50, 4).split("\n")
    assert len(lines) > 3 and all(width(line.removeprefix("    ")) <= 50 for line in lines)
    assert not any(line.strip()[0] in "、。）" for line in lines)
    assert "".join(line.strip() for line in lines).replace(" ", "") == text.replace(" ", "")
    english = "x " * 40
    assert _wrap(english, 30, 2) == "x " * 14 + "x\n  " + "x " * 14 + "x\n  " + "x " * 9 + "x"


def _wrong_softmax_message_ja() -> str:
    return evaluate_locally("B1", _wrong_softmax(), lang="ja").message


# ------------------------------------------------------------------------------------------- exercise stubs
def _stubs() -> set[str]:
    """What every stub of exercises/*.ipynb asks for: the text of ``raise NotImplementedError("...")``."""
    found = set()
    for path in (ROOT / "exercises").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                found |= {ast.literal_eval(m) for m in re.findall(r'raise NotImplementedError\((".*?")\)\s*$',
                                                                  cell.source, re.M)}
    return found


def test_every_exercise_stub_is_translated_and_no_translation_is_stale():
    stubs = _stubs()
    assert len(stubs) >= 30
    known = {t["en"].replace("{{", "{").replace("}}", "}") for k, t in JUDGE_MESSAGES.items() if k.startswith("stub.")}
    missing = sorted(stubs - known)
    assert not missing, ("exercise stubs without a Japanese text: add a 'stub.<id>.<n>' entry to "
                         "lecture_lib/grade/judge_messages.py for each of:\n" + "\n".join(missing))
    assert not sorted(known - stubs), "stub entries whose English no exercise asks any more (stale)"
    assert stub_text("B1: something else", "ja") == "B1: something else"  # an unknown stub is shown as it is


def test_an_untouched_stub_is_reported_in_the_notebook_language():
    stub = {}
    exec("def softmax_t(logits, T):\n"  # noqa: S102 - the exercise's own stub
         "    raise NotImplementedError('B1: divide by T, subtract the row max, exponentiate, normalize over the "
         "last dim')\n", stub)
    en, ja = (evaluate_locally("B1", stub, lang=lang) for lang in ("en", "ja"))
    assert en.status == ja.status == "not_attempted"
    assert en.message == ("NotImplementedError: B1: divide by T, subtract the row max, exponentiate, normalize over "
                          "the last dim")
    assert ja.message == "NotImplementedError: B1: T で割り、行の最大値を引き、exp を取り、最後の次元で正規化する"
