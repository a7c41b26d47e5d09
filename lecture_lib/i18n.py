"""The course's two languages: which one a notebook speaks, and the grader's messages in both.

The Japanese edition (``notebooks/ja/``, ``exercises/ja/``) runs exactly the same code as the English notebooks
(``tools/make_ja.py`` copies the code cells), so the language cannot be written in the code. It is read from
where the notebook lives instead: a kernel runs in its notebook's folder (JupyterLab, nbclient, nbval), and a
folder named ``ja`` means Japanese. ``LECTURE26_LANG=ja`` (or ``en``) overrides it, e.g. on Colab.

:data:`MESSAGES` is the one table of the grader's own sentences (status words, the report's headings, help
labels), each in both languages; :func:`message` picks one and fills in its fields. The judges' words (what a
question requires, the diagnosis of each mistake) are in :mod:`lecture_lib.grade.judge_messages`, the help per
question in :mod:`lecture_lib.grade.help` and :mod:`lecture_lib.grade.help_ja`.
"""

from __future__ import annotations

import os
import string
import unicodedata
from pathlib import Path

__all__ = ["LANGUAGES", "MESSAGES", "language", "message", "pad", "width"]

#: The languages the course speaks; the first is the default.
LANGUAGES = ("en", "ja")
_ENV = "LECTURE26_LANG"


def language(path: str | os.PathLike[str] | None = None) -> str:
    """``"ja"`` when ``path`` (default: the current folder) is a ``ja`` folder or inside one, else ``"en"``.

    The environment variable ``LECTURE26_LANG`` (``en`` or ``ja``) wins when set. A notebook *file* counts by
    its folder: ``exercises/ja/partB_..._exercises.ipynb`` is Japanese.
    """
    chosen = os.environ.get(_ENV, "").strip().lower()
    if chosen:
        if chosen not in LANGUAGES:
            raise ValueError(f"{_ENV} must be one of {LANGUAGES}; got {chosen!r}")
        return chosen
    here = Path.cwd() if path is None else Path(path)
    if here.suffix == ".ipynb":
        here = here.parent
    return "ja" if here.resolve().name == "ja" else "en"


#: key -> {language: text}; ``{name}`` fields are filled by :func:`message`. The English texts are exactly what
#: the grader printed before it spoke Japanese (stored notebook outputs depend on them). A field written
#: ``{count:one|many}`` picks the first form when ``count`` is 1, the second otherwise (English plurals).
MESSAGES: dict[str, dict[str, str]] = {
    # check(): one line per question
    "line passed": {"en": "{qid} passed {score}: {text}", "ja": "{qid} 合格 {score}: {text}"},
    "line not attempted": {"en": "{qid} not attempted yet {score}: {text}", "ja": "{qid} 未着手 {score}: {text}"},
    "line failed": {"en": "{qid} not passed yet {score}: {text}", "ja": "{qid} 未合格 {score}: {text}"},
    "line stale": {"en": "{qid} not checked {score}: {text}", "ja": "{qid} 未チェック {score}: {text}"},
    "line other": {"en": "{qid} {label} {score}: {text}", "ja": "{qid} {label} {score}: {text}"},
    "interrupted": {"en": "{qid}: interrupted (does your code loop forever?)",
                    "ja": "{qid}: 中断しました（コードが無限ループしていませんか？）"},
    "check challenge skipped": {"en": "{qid}: measured by the grader itself (check() skips it while grading)",
                                "ja": "{qid}: 採点プログラム自身が測定します（採点中の check() では省略します）"},
    "check bad id": {"en": "check({qid!r}): {error}", "ja": "check({qid!r}): {error}"},
    "check could not run": {"en": "check({qid!r}) could not run: {error}",
                            "ja": "check({qid!r}) を実行できませんでした: {error}"},
    "timed out after": {"en": ("no answer within {seconds:g} s (does the code loop forever, or do far more work than "
                               "needed?); it was interrupted"),
                        "ja": ("{seconds:g} 秒以内に答えが返りませんでした（無限ループ、または必要以上の計算を"
                               "していませんか？）。中断しました")},
    # status labels of the grading table
    "status passed": {"en": "passed", "ja": "合格"},
    "status failed": {"en": "failed", "ja": "不合格"},
    "status not_attempted": {"en": "not attempted", "ja": "未着手"},
    "status missing": {"en": "missing", "ja": "関数なし"},
    "status error": {"en": "error", "ja": "エラー"},
    "status interrupted": {"en": "interrupted", "ja": "中断"},
    "status timeout": {"en": "timed out", "ja": "時間切れ"},
    "status died": {"en": "kernel died", "ja": "カーネル停止"},
    "status not_run": {"en": "not run", "ja": "未実行"},
    "status stale": {"en": "not checked", "ja": "未チェック"},
    # hint() and solution()
    "hint": {"en": "{qid} hint {level}/3: {text}\n({after})", "ja": "{qid} ヒント {level}/3: {text}\n（{after}）"},
    "hint next": {"en": "still stuck? hint(\"{qid}\", {next})", "ja": "まだ難しければ hint(\"{qid}\", {next})"},
    "hint last": {"en": "still stuck? solution(\"{qid}\") shows the reference solution",
                  "ja": "まだ難しければ solution(\"{qid}\") で模範解答を表示できます"},
    "hint bad id": {"en": "hint({qid!r}): {error}", "ja": "hint({qid!r}): {error}"},
    "hint bad level": {"en": "hint({qid!r}, level={level!r}): level must be 1, 2 or 3",
                       "ja": "hint({qid!r}, level={level!r}): level は 1、2、3 のいずれかです"},
    "solution": {"en": ("{qid} reference solution. Why: {why}\n\n{code}\n\n"
                        "(type it in yourself rather than pasting it: then run check(\"{qid}\"))"),
                 "ja": ("{qid} の模範解答。ポイント: {why}\n\n{code}\n\n"
                        "（貼り付けずに自分で打ち込み、check(\"{qid}\") を実行しましょう）")},
    "solution bad id": {"en": "solution({qid!r}): {error}", "ja": "solution({qid!r}): {error}"},
    "solution challenge": {
        "en": ("{qid} has no single answer and no reference code in the package: the tiers reward what you build. "
               "Why it works, in one line: {why} (hints: hint(\"{qid}\", 1) .. hint(\"{qid}\", 3); one reference "
               "solution is in the course repository's solutions/ folder)"),
        "ja": ("{qid} には唯一の正解がなく、パッケージにも参照コードは入っていません。段階（ティア）は作ったものの"
               "出来を評価します。ポイントを一言で: {why}（ヒント: hint(\"{qid}\", 1) .. hint(\"{qid}\", 3)。参照解の"
               "一例はコースのリポジトリの solutions/ フォルダにあります）")},
    "solution none": {"en": "solution({qid!r}): no reference solution is shipped for {qid}",
                      "ja": "solution({qid!r}): {qid} の模範解答は同梱されていません"},
    # grade() inside a notebook
    "grade skipped": {"en": "grade(): skipped while the grader itself runs this notebook",
                      "ja": "grade(): 採点プログラム自身がこのノートブックを実行しているため省略しました"},
    "grading": {"en": "Grading {name} as last saved, in a fresh kernel (a few seconds) ...",
                "ja": "{name} を最後に保存した状態で、新しいカーネルで採点します（数秒かかります）..."},
    "unsaved": {"en": ("Note: the open notebook is newer than the saved file: {names} as you last ran {count:it is|they are} "
                       "not saved. This grades the saved file; save (Ctrl+S, or File > Save) and run grade() again to "
                       "grade your latest code."),
                "ja": ("注意: 開いているノートブックは保存したファイルより新しくなっています。最後に実行した {count} 個の関数"
                       "（{names}）は保存されていません。採点するのは保存したファイルです。最新のコードを採点するには、保存"
                       "（Ctrl+S または File > Save）してから grade() をもう一度実行してください。")},
    # the command-line grader's table
    "table header": {"en": "question   points  status         message",
                     "ja": "問題          得点  状態           メッセージ"},
    "part": {"en": "  (part {part})", "ja": "  （パート{part}）"},
    "not graded": {"en": "  NOT GRADED: {error}", "ja": "  採点できませんでした: {error}"},
    "note": {"en": "  note: {text}", "ja": "  注意: {text}"},
    "total": {"en": "  total {score}/{max_score} ({verdict})", "ja": "  合計 {score}/{max_score}（{verdict}）"},
    "all passed": {"en": "all questions passed", "ja": "全問合格"},
    "some passed": {"en": "{passed} of {n} questions passed", "ja": "{n} 問中 {passed} 問合格"},
    "overall": {"en": "overall {score}/{max_score} over {n} graded notebook(s)",
                "ja": "総合 {score}/{max_score}（採点したノートブック {n} 冊）"},
    # the start page's progress map (show_progress)
    "progress header": {"en": "part  topic                                 last grade      still to pass",
                        "ja": "パート テーマ                                最後の採点      未合格の問題"},
    "not graded yet": {"en": "not graded yet", "ja": "未採点"},
    "to do all": {"en": "all", "ja": "すべて"},
    "to do done": {"en": "done", "ja": "完了"},
    "next": {"en": "Next: {step}", "ja": "次のステップ: {step}"},
    "next finish": {"en": "Part {part}: questions {to_do} in {exercises}",
                    "ja": "パート{part}: {exercises} の問題 {to_do}"},
    "next start": {"en": "Part {part} ({title}): read {lesson}, then solve {exercises}",
                   "ja": "パート{part}（{title}）: {lesson} を読み、{exercises} を解きましょう"},
    "next done": {"en": "every part is at full marks: try the challenge questions and Zone 6 of each part",
                  "ja": "すべてのパートが満点です。チャレンジ問題と各パートのゾーン6に挑戦しましょう"},
    "overall failed": {"en": "; {n} notebook(s) could not be graded", "ja": "、採点できなかったノートブック {n} 冊"},
}


def message(key: str, lang: str | None = None, /, **fields: object) -> str:
    """The message ``key`` in ``lang`` (default: :func:`language`), with ``fields`` filled in.

    >>> message("some passed", "ja", passed=2, n=3)
    '3 問中 2 問合格'
    """
    if key not in MESSAGES:
        raise ValueError(f"key must be one of the grader's messages ({len(MESSAGES)} in lecture_lib.i18n.MESSAGES); "
                         f"got {key!r}")
    lang = language() if lang is None else lang
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}; got {lang!r}")
    return _FORMATTER.format(MESSAGES[key][lang], **fields)


class _PluralFormatter(string.Formatter):
    """:meth:`str.format`, plus ``{count:one|many}``: the form for a count of 1, or for any other count."""

    def format_field(self, value: object, format_spec: str) -> str:
        if "|" in format_spec and isinstance(value, int):
            one, many = format_spec.split("|", 1)
            return one if value == 1 else many
        return super().format_field(value, format_spec)


_FORMATTER = _PluralFormatter()


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal or a notebook's fixed-width output: wide (CJK) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int) -> str:
    """``text`` padded with spaces to ``columns`` display columns (:func:`width`), so Japanese tables line up."""
    return text + " " * max(0, columns - width(text))
