"""The judges' own words, in both languages: what a question requires, the diagnosis of a mistake, the pass line.

Every message a judge gives a learner (``raise Fail(...)``, the hints, the one-line verdict) is looked up here by
key with :func:`say`, in the language being graded: :func:`speaking` sets it around a judgement
(:func:`lecture_lib.grade.core.evaluate`, the inputs' labels in :func:`~lecture_lib.grade.feedback.evaluate_locally`
and :func:`~lecture_lib.grade.runner.grade_notebook`), English otherwise. Keys name where a message is used:
``"<part>.<function>.<n>"`` (``"A.judge_a1.3"`` is the third message of ``judge_a1`` in
:mod:`lecture_lib.grade.partA`); the fields (``{label}``, ``{got:.6g}`` ...) are filled with :meth:`str.format`, and
both languages of a key have the same fields (``tests/test_translations.py``). The English texts are exactly
what the grader printed before it spoke Japanese. The frame's words (status labels, report headings) are in
:data:`lecture_lib.i18n.MESSAGES`.
"""

from __future__ import annotations

import contextlib
import contextvars
import string
from typing import Iterator

from lecture_lib.i18n import LANGUAGES

__all__ = ["JUDGE_MESSAGES", "fields_of", "hint_text", "judge_message", "say", "speaking", "speaking_language",
           "stub_text"]

_SPEAKING: contextvars.ContextVar[str] = contextvars.ContextVar("lecture26_judge_language", default="en")


@contextlib.contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Within the block, :func:`say` answers in ``lang`` (``"en"`` or ``"ja"``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}; got {lang!r}")
    token = _SPEAKING.set(lang)
    try:
        yield
    finally:
        _SPEAKING.reset(token)


def speaking_language() -> str:
    """The language :func:`say` currently answers in."""
    return _SPEAKING.get()


def _text(key: str, lang: str) -> str:
    """The raw text of message ``key`` in ``lang`` (fields unfilled); ValueError for an unknown key or language."""
    if key not in JUDGE_MESSAGES:
        raise ValueError(f"key must be one of the judges' messages (lecture_lib.grade.judge_messages); got {key!r}")
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}; got {lang!r}")
    return JUDGE_MESSAGES[key][lang]


def judge_message(key: str, lang: str, /, **fields: object) -> str:
    """The judge message ``key`` in ``lang`` with ``fields`` filled in; ValueError for an unknown key or language."""
    return _text(key, lang).format(**fields)


def say(key: str, /, **fields: object) -> str:
    """The judge message ``key`` in the language being graded (:func:`speaking`), with ``fields`` filled in."""
    return judge_message(key, _SPEAKING.get(), **fields)


def fields_of(text: str) -> set[str]:
    """The field names of a message text (``"{got:.6g} for {label}"`` -> ``{"got", "label"}``)."""
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def hint_text(key: str, lang: str) -> str:
    """The words a learner sees of message ``key`` whatever its fields hold: its longest field-free stretch.

    A :class:`~lecture_lib.grade.core.Mistake` names the message that diagnoses it; the tests look for these words
    in the judge's answer to that exact wrong code. ValueError for an unknown key or language.
    """
    return max((lit for lit, *_ in string.Formatter().parse(_text(key, lang))), key=len).strip()


def stub_text(text: str, lang: str) -> str:
    """What an exercise stub asks for (``raise NotImplementedError("B1: ...")``, the same code in both editions),
    in ``lang``: the ``"stub.*"`` message whose English is ``text``, or ``text`` itself when there is none."""
    for key, texts in JUDGE_MESSAGES.items():
        if key.startswith("stub.") and texts["en"].replace("{{", "{").replace("}}", "}") == text:
            return texts[lang].replace("{{", "{").replace("}}", "}")
    return text


#: key -> {language: text}. Sections follow the modules that use them.
JUDGE_MESSAGES: dict[str, dict[str, str]] = {
    # -------------------- the judges' shared helpers (lecture_lib.grade.core)
    'core.describe.tensor': {
        "en": 'a tensor of dtype {dtype} and shape {shape}',
        "ja": 'テンソル（dtype {dtype}、形状 {shape}）',
    },
    'core.describe.array': {
        "en": 'a NumPy array of dtype {dtype} and shape {shape}',
        "ja": 'NumPy 配列（dtype {dtype}、形状 {shape}）',
    },
    'core.describe.2': {
        "en": 'an exception ({value_message})',
        "ja": '例外（{value_message}）',
    },
    'core.describe.3': {
        "en": 'a {value_type_name}',
        "ja": '{value_type_name} 型の値',
    },
    'core.describe.4': {
        "en": 'a tuple of {n_value}',
        "ja": '要素 {n_value} 個のタプル',
    },
    'core.describe.5': {
        "en": 'a list of {n_value}',
        "ja": '要素 {n_value} 個のリスト',
    },
    'core.describe.6': {
        "en": 'None',
        "ja": 'None',
    },
    'core.describe.7': {
        "en": 'a {type_value_name} ({value!r})',
        "ja": '{type_value_name} 型の値（{value!r}）',
    },
    'core.raised.1': {
        "en": '{call_text} must work on {label}; it raised {value_message}',
        "ja": '{call_text} は {label} で動く必要がありますが、{value_message} が発生しました',
    },
    'core.as_array.1': {
        "en": '{what} must be a tensor; got {describe_value}',
        "ja": '{what} はテンソルである必要があります。実際の値: {describe_value}',
    },
    'core.as_tensor.1': {
        "en": '{what} must return a torch.Tensor; got {describe_value}',
        "ja": '{what} は torch.Tensor を返す必要があります。実際の戻り値: {describe_value}',
    },
    'core.as_tensor.2': {
        "en": ('compute it with torch operations on the input tensor (torch.exp, .sum(dim=-1, keepdim=True), ...), '
               'or wrap a NumPy result in torch.from_numpy(...)'),
        "ja": ('入力テンソルに対する torch の演算（torch.exp、.sum(dim=-1, keepdim=True) など）で計算するか、NumPy の結果を '
               'torch.from_numpy(...) で包んでください'),
    },
    'core.as_number.1': {
        "en": '{what} must be a number; got a bool',
        "ja": '{what} は数値である必要があります。実際の値は bool です',
    },
    'core.as_number.2': {
        "en": '{what} must be a number (a float or a one-element tensor); got {describe_value}',
        "ja": '{what} は数値（float または要素 1 個のテンソル）である必要があります。実際の値: {describe_value}',
    },
    'core.fail.hint': {
        "en": '. Hint: {hint}',
        "ja": '。ヒント: {hint}',
    },
    'core.evaluate.no_result': {
        "en": 'the probe returned no usable result',
        "ja": 'プローブが使える結果を返しませんでした',
    },
    'core.evaluate.unreadable': {
        "en": "the probe's result could not be read: {err}",
        "ja": 'プローブの結果を読み取れませんでした: {err}',
    },
    'core.evaluate.unchecked': {
        "en": 'the result could not be checked ({error}); check the types and shapes your functions return',
        "ja": '結果をチェックできませんでした（{error}）。関数が返す値の型と形状を確認してください',
    },
    'core.evaluate.unknown_status': {
        "en": 'unknown probe status {status!r}',
        "ja": 'プローブの状態 {status!r} は不明です',
    },
    'core.probe.undefined': {
        "en": '{name} is not defined (did the cell that defines it run without an error?)',
        "ja": '{name} が定義されていません（定義するセルはエラーなしで実行できましたか？）',
    },
    'core.probe.not_callable': {
        "en": '{name} must be a function; got a {got}',
        "ja": '{name} は関数である必要があります。実際は {got} 型の値です',
    },
    'core.probe.interrupted': {
        "en": 'interrupted (does the code loop forever?)',
        "ja": '中断しました（コードが無限ループしていませんか？）',
    },
    'core.probe.exit': {
        "en": 'SystemExit({code}): the code called sys.exit() or exit()',
        "ja": 'SystemExit({code}): コードが sys.exit() または exit() を呼びました',
    },
    'core.runner.timeout': {
        "en": 'no answer within {limit:g} s (does the code loop forever?); it was interrupted',
        "ja": '{limit:g} 秒以内に答えが返りませんでした（無限ループしていませんか？）。中断しました',
    },
    'core.runner.exited': {
        "en": "this question's code called exit() or quit(); the kernel was restarted",
        "ja": 'この問題のコードが exit() または quit() を呼びました。カーネルを再起動しました',
    },
    'core.runner.died': {
        "en": "this question's code crashed the kernel (os._exit, a segfault ...); the kernel was restarted",
        "ja": 'この問題のコードがカーネルを停止させました（os._exit、セグメンテーション違反など）。カーネルを再起動しました',
    },
    'core.runner.no_result': {
        "en": "the grader's probe produced no result (was print, sys.stdout or exec replaced?){detail}",
        "ja": '採点用プローブが結果を返しませんでした（print、sys.stdout、exec を置き換えていませんか？）{detail}',
    },
    # -------------------- Part A (lecture_lib.grade.partA)
    'A.inputs_a1.1': {
        "en": "the lecture's vector [0.5, -0.3, 0.8, -0.1, 0.2]",
        "ja": '講義のベクトル [0.5, -0.3, 0.8, -0.1, 0.2]',
    },
    'A.inputs_a1.2': {
        "en": 'exact ties (max|w| = 7, so s = 1)',
        "ja": 'ちょうど同点になる値（max|w| = 7、よって s = 1）',
    },
    'A.inputs_a1.3': {
        "en": 'a random 8x16 matrix',
        "ja": 'ランダムな 8x16 行列',
    },
    'A.inputs_a1.4': {
        "en": 'a vector whose largest |w| is negative',
        "ja": '絶対値が最大の |w| が負のベクトル',
    },
    'A.inputs_a1.5': {
        "en": 'an all-zero tensor',
        "ja": 'すべて 0 のテンソル',
    },
    'A.inputs_a1.6': {
        "en": 'a NumPy array (not a tensor)',
        "ja": 'NumPy 配列（テンソルではない）',
    },
    'A.inputs_a2.1': {
        "en": "the lecture's codes [4, -3, 7, -1, 2] with s = 0.8/7",
        "ja": '講義の codes [4, -3, 7, -1, 2]、s = 0.8/7',
    },
    'A.inputs_a2.2': {
        "en": 'random 4x8 codes',
        "ja": 'ランダムな 4x8 の codes',
    },
    'A.inputs_a2.3': {
        "en": 'all-zero codes',
        "ja": 'すべて 0 の codes',
    },
    'A.inputs_a2.4': {
        "en": "the lecture's vector and its INT4 reconstruction",
        "ja": '講義のベクトルとその INT4 再構成',
    },
    'A.inputs_a2.5': {
        "en": 'a random 3x5 pair',
        "ja": 'ランダムな 3x5 のペア',
    },
    'A.inputs_a2.6': {
        "en": 'two equal tensors',
        "ja": '等しい 2 つのテンソル',
    },
    'A.inputs_a3.1': {
        "en": "the lecture's row [[-0.4, 0.1, 0.7, 1.6, 2.1]]",
        "ja": '講義の行 [[-0.4, 0.1, 0.7, 1.6, 2.1]]',
    },
    'A.inputs_a3.2': {
        "en": 'a 6x24 matrix with very different row ranges (one row all positive, one all negative, one zero)',
        "ja": '行ごとの範囲が大きく異なる 6x24 行列（すべて正の行、すべて負の行、0 の行を含む）',
    },
    'A.inputs_a3.3': {
        "en": 'a random 16x64 matrix',
        "ja": 'ランダムな 16x64 行列',
    },
    'A.inputs_a4.1': {
        "en": 'the codes [1, 2, -1, -8]',
        "ja": 'codes [1, 2, -1, -8]',
    },
    'A.inputs_a4.2': {
        "en": 'all 16 codes -8..7',
        "ja": '16 個すべての code -8..7',
    },
    'A.inputs_a4.3': {
        "en": 'an odd number of codes (7)',
        "ja": '奇数個（7 個）の codes',
    },
    'A.inputs_a4.4': {
        "en": '1000 random codes',
        "ja": 'ランダムな 1000 個の codes',
    },
    'A.inputs_a4.5': {
        "en": 'the bytes [0x21, 0x8F]',
        "ja": 'バイト [0x21, 0x8F]',
    },
    'A.inputs_a4.6': {
        "en": '5 random bytes holding 9 codes',
        "ja": '9 個の code を格納したランダムな 5 バイト',
    },
    'A.inputs_a4.7': {
        "en": '300 random bytes',
        "ja": 'ランダムな 300 バイト',
    },
    'A.inputs_a6.1': {
        "en": 'LLaMA-2-70B (80 layers, 64 heads, 8 KV heads, head_dim 128, fp16)',
        "ja": 'LLaMA-2-70B（80 層、64 ヘッド、KV ヘッド 8、head_dim 128、fp16）',
    },
    'A.inputs_a6.2': {
        "en": 'multi-head attention (n_kv_heads = n_heads = 32), fp16',
        "ja": 'マルチヘッドアテンション（n_kv_heads = n_heads = 32）、fp16',
    },
    'A.inputs_a6.3': {
        "en": 'an INT4 cache (0.5 bytes per value)',
        "ja": 'INT4 のキャッシュ（値あたり 0.5 バイト）',
    },
    'A.inputs_a6.4': {
        "en": 'random model ({heads} heads, {kv} KV heads)',
        "ja": 'ランダムなモデル（{heads} ヘッド、KV ヘッド {kv}）',
    },
    'A.inputs_a7.1': {
        "en": 'x = [-2.0, -0.3, 0.0, 0.26, 0.9, 2.4] with s = 0.25 on INT4 (-7..7)',
        "ja": 'x = [-2.0, -0.3, 0.0, 0.26, 0.9, 2.4]、s = 0.25、INT4（-7..7）',
    },
    'A.inputs_a7.2': {
        "en": '40 values in [-2, 2] with s = 0.1 on INT4 (-7..7)',
        "ja": '[-2, 2] の 40 個の値、s = 0.1、INT4（-7..7）',
    },
    'A.inputs_a7.3': {
        "en": 'a 3x8 matrix with s = 0.05 on INT8 (-127..127)',
        "ja": '3x8 行列、s = 0.05、INT8（-127..127）',
    },
    'A.scale_hint_a1.1': {
        "en": 'did you divide by 8 (2**bits/2) instead of 7 (2**(bits-1) - 1)?',
        "ja": '7（2**(bits-1) - 1）ではなく 8（2**bits/2）で割っていませんか？',
    },
    'A.scale_hint_a1.2': {
        "en": 'the signed INT4 range used here is [-7, 7], so s = max|w|/7 (15 or 16 steps is the unsigned range)',
        "ja": 'ここで使う符号付き INT4 の範囲は [-7, 7] なので s = max|w|/7 です（15 や 16 段階は符号なしの範囲）',
    },
    'A.scale_hint_a1.3': {
        "en": 'take the absolute value: s = max|w|/7, not max(w)/7 (the largest magnitude may be negative)',
        "ja": '絶対値を取ってください: max(w)/7 ではなく s = max|w|/7 です（絶対値が最大の重みは負かもしれません）',
    },
    'A.scale_hint_a1.4': {
        "en": 'do not round the scale (the lecture printed 0.1143, but the computation uses 0.8/7 exactly)',
        "ja": 'スケールを丸めないでください（講義では 0.1143 と表示しましたが、計算には 0.8/7 をそのまま使います）',
    },
    'A.scale_hint_a1.5': {
        "en": 's = max|w| / (2**(4-1) - 1) = max|w|/7',
        "ja": 's = max|w| / (2**(4-1) - 1) = max|w|/7',
    },
    'A.rounding_hint.1': {
        "en": 'converting with .to(torch.int8) or int() truncates toward zero; round first with torch.round',
        "ja": '.to(torch.int8) や int() による変換は 0 方向への切り捨てです。先に torch.round で丸めてください',
    },
    'A.rounding_hint.2': {
        "en": 'floor(x + 0.5) rounds every half up; use torch.round, which rounds half to even (2.5 -> 2)',
        "ja": 'floor(x + 0.5) はちょうど半分を常に切り上げます。偶数丸め（2.5 -> 2）をする torch.round を使ってください',
    },
    'A.rounding_hint.3': {
        "en": ("that is round-half-away-from-zero (Rust's and C's round); this course rounds half to even like "
               'torch.round and NumPy (2.5 -> 2, -3.5 -> -4)'),
        "ja": 'それは 0 から遠い方への丸め（Rust や C の round）です。この講座では torch.round や NumPy と同じく偶数丸めを使います（2.5 -> 2、-3.5 -> -4）',
    },
    'A.rounding_hint.4': {
        "en": 'codes = clamp(torch.round(w / s), -7, 7)',
        "ja": 'codes = clamp(torch.round(w / s), -7, 7)',
    },
    'A.judge_a1.1': {
        "en": 'quantize_int4 results could not be collected; got {describe_result}',
        "ja": 'quantize_int4 の結果を集められませんでした。実際の値: {describe_result}',
    },
    'A.judge_a1.2': {
        "en": 'accept NumPy input too: start with w = torch.as_tensor(w, dtype=torch.float32)',
        "ja": 'NumPy の入力も受け付けてください: 最初に w = torch.as_tensor(w, dtype=torch.float32) とします',
    },
    'A.judge_a1.3': {
        "en": 'quantize_int4 must return a pair (codes, scale); got {describe_r} for {label}',
        "ja": 'quantize_int4 はペア (codes, scale) を返す必要があります。実際の値: {describe_r}（{label}）',
    },
    'A.judge_a1.4': {
        "en": 'codes must be a torch tensor for a tensor input; got {describe_codes_v} for {label}',
        "ja": 'テンソルを入力したときは codes も torch のテンソルである必要があります。実際の値: {describe_codes_v}（{label}）',
    },
    'A.judge_a1.5': {
        "en": "codes must have the input's shape {w_shape}; got {codes_shape} for {label}",
        "ja": 'codes は入力と同じ形状 {w_shape} である必要があります。実際の形状: {codes_shape}（{label}）',
    },
    'A.judge_a1.6': {
        "en": 'scale and codes must be finite; got scale {scale} for {label}',
        "ja": 'scale と codes は有限値である必要があります。実際の scale: {scale}（{label}）',
    },
    'A.judge_a1.7': {
        "en": 'when max|w| = 0, w/s is 0/0 = NaN: use a scale of 1 (any positive number works)',
        "ja": 'max|w| = 0 のとき w/s は 0/0 = NaN になります: スケールを 1 にしてください（正の数なら何でも構いません）',
    },
    'A.judge_a1.8': {
        "en": 'codes must be integers (e.g. torch.int8); got dtype {value1}',
        "ja": 'codes は整数（例: torch.int8）である必要があります。実際の dtype: {value1}',
    },
    'A.judge_a1.9': {
        "en": 'torch.round returns floats: convert with .to(torch.int8)',
        "ja": 'torch.round は浮動小数点数を返します: .to(torch.int8) で変換してください',
    },
    'A.judge_a1.10': {
        "en": ('codes must be round(w/s) with s = max|w|/7; got codes outside [-7, 7] (from {codes_min} to '
               '{codes_max}) for {label}'),
        "ja": ('codes は s = max|w|/7 として round(w/s) である必要がありますが、[-7, 7] の外の codes があります（{codes_min} から '
               '{codes_max}、{label}）'),
    },
    'A.judge_a1.11': {
        "en": 'an all-zero tensor needs a usable scale (finite and > 0); got {scale}',
        "ja": 'すべて 0 のテンソルにも使えるスケール（有限かつ > 0）が必要です。実際の値: {scale}',
    },
    'A.judge_a1.12': {
        "en": 'when max|w| = 0, use s = 1 so that w/s is defined',
        "ja": 'max|w| = 0 のときは s = 1 として w/s が定義されるようにしてください',
    },
    'A.judge_a1.13': {
        "en": 'scale must be s = max|w|/7 = {ref_scale:.7g} for {label}; got {scale:.7g}',
        "ja": 'scale は s = max|w|/7 = {ref_scale:.7g} である必要があります（{label}）。実際の値: {scale:.7g}',
    },
    'A.judge_a1.14': {
        "en": ('codes must be clamp(round_half_even(w/s), -7, 7); {n_bad} of {codes_size} codes differ for {label} '
               '(at index {int_k_for_k_in_i}: w/s = {first_ratio_i:.4g}, got {first_codes_i}, expected '
               '{first_ref_codes_i})'),
        "ja": ('codes は clamp(round_half_even(w/s), -7, 7) である必要があります。{label} で {codes_size} 個中 {n_bad} 個の code '
               'が異なります（インデックス {int_k_for_k_in_i}: w/s = {first_ratio_i:.4g}、実際 {first_codes_i}、期待値 '
               '{first_ref_codes_i}）'),
    },
    'A.judge_a1.15': {
        "en": ("codes and scale match lecture_lib.quant.quantize(w, 4) on {n_cases} inputs; the lecture's vector "
               'gives codes [{shown}] and s = {value3:.7g}'),
        "ja": ('codes と scale は {n_cases} 個の入力で lecture_lib.quant.quantize(w, 4) と一致します。講義のベクトルでは codes '
               '[{shown}]、s = {value3:.7g} です'),
    },
    'A.judge_dequantize.1': {
        "en": 'dequantize_int4 must return a torch tensor; got {describe_r} for {label}',
        "ja": 'dequantize_int4 は torch のテンソルを返す必要があります。実際の値: {describe_r}（{label}）',
    },
    'A.judge_dequantize.2': {
        "en": 'dequantize_int4 must return floats (float32); got dtype {r_dtype} for {label}',
        "ja": 'dequantize_int4 は浮動小数点数（float32）を返す必要があります。実際の dtype: {r_dtype}（{label}）',
    },
    'A.judge_dequantize.3': {
        "en": 'convert the codes first: codes.to(torch.float32) * scale',
        "ja": '先に codes を変換してください: codes.to(torch.float32) * scale',
    },
    'A.judge_dequantize.4': {
        "en": 'dequantize_int4 must keep the shape {codes_shape}; got {got_shape}',
        "ja": 'dequantize_int4 は形状 {codes_shape} を保つ必要があります。実際の形状: {got_shape}',
    },
    'A.judge_dequantize.5': {
        "en": 'w_hat = q * s',
        "ja": 'w_hat = q * s',
    },
    'A.judge_dequantize.6': {
        "en": "do not round the scale (the lecture's 0.4572 and 0.8001 come from multiplying by 0.1143)",
        "ja": 'スケールを丸めないでください（講義の 0.4572 と 0.8001 は 0.1143 を掛けた値です）',
    },
    'A.judge_dequantize.7': {
        "en": 'multiply the codes by the scale',
        "ja": 'codes にスケールを掛けてください',
    },
    'A.judge_dequantize.8': {
        "en": 'multiply by the scale, do not divide',
        "ja": 'スケールは掛けます。割るのではありません',
    },
    'A.judge_dequantize.9': {
        "en": 'dequantize_int4 must return codes * scale; got different values for {label}',
        "ja": 'dequantize_int4 は codes * scale を返す必要がありますが、値が異なります（{label}）',
    },
    'A.judge_mae.1': {
        "en": 'mean |w - w_hat| over all elements',
        "ja": '全要素にわたる |w - w_hat| の平均',
    },
    'A.judge_mae.2': {
        "en": 'take |w - w_hat| of each element before averaging (errors of opposite signs cancel otherwise)',
        "ja": '平均する前に各要素の |w - w_hat| を取ってください（そうしないと符号の異なる誤差が打ち消し合います）',
    },
    'A.judge_mae.3': {
        "en": 'take |w - w_hat| of each element before averaging, not |mean(w - w_hat)|',
        "ja": '平均する前に各要素の |w - w_hat| を取ってください。|mean(w - w_hat)| ではありません',
    },
    'A.judge_mae.4': {
        "en": 'divide by the number of elements: it is a mean, not a sum',
        "ja": '要素数で割ってください: 求めるのは合計ではなく平均です',
    },
    'A.judge_mae.5': {
        "en": 'this is the mean absolute error, not the mean squared error',
        "ja": '求めるのは平均絶対誤差で、平均二乗誤差ではありません',
    },
    'A.judge_mae.6': {
        "en": 'average the errors; the maximum is a different statistic',
        "ja": '誤差を平均してください。最大値は別の統計量です',
    },
    'A.judge_mae.7': {
        "en": 'mean_abs_error must be mean(|w - w_hat|) = {expected:.6g} for {label}; got {got:.6g}',
        "ja": 'mean_abs_error は mean(|w - w_hat|) = {expected:.6g} である必要があります（{label}）。実際の値: {got:.6g}',
    },
    'A.judge_a2.1': {
        "en": 'results could not be collected; got {describe_result}',
        "ja": '結果を集められませんでした。実際の値: {describe_result}',
    },
    'A.judge_a2.2': {
        "en": ("dequantize_int4 and mean_abs_error match the reference; the lecture's vector gives mean |error| "
               '{lecture_mae:.6f} (= 9/350; the lecture printed 0.024286, which is wrong)'),
        "ja": ('dequantize_int4 と mean_abs_error は参照実装と一致します。講義のベクトルの平均 |誤差| は {lecture_mae:.6f}（= 9/350。講義で表示した '
               '0.024286 は誤り）です'),
    },
    'A.per_row.1': {
        "en": ('{what} must have one value per output channel (row), {rows} here; got one {what} for the whole '
               'tensor for {label}'),
        "ja": '{what} は出力チャネル（行）ごとに 1 つ、ここでは {rows} 個の値が必要ですが、テンソル全体で 1 つの {what} になっています（{label}）',
    },
    'A.per_row.2': {
        "en": 'reduce over the input dim: w.amin(dim=1), w.amax(dim=1)',
        "ja": '入力の次元で縮約してください: w.amin(dim=1)、w.amax(dim=1)',
    },
    'A.per_row.3': {
        "en": '{what} must have one value per row ({rows}); got one per column ({cols}) for {label}',
        "ja": '{what} は行ごとに 1 つ（{rows} 個）の値が必要ですが、列ごとに 1 つ（{cols} 個）になっています（{label}）',
    },
    'A.per_row.4': {
        "en": 'reduce over dim=1 (the inputs of each output channel), not dim=0',
        "ja": 'dim=0 ではなく dim=1（各出力チャネルへの入力）で縮約してください',
    },
    'A.per_row.5': {
        "en": '{what} must have one value per row ({rows}); got {arr_size} values for {label}',
        "ja": '{what} は行ごとに 1 つ（{rows} 個）の値が必要です。実際は {arr_size} 個（{label}）',
    },
    'A.judge_a3.1': {
        "en": 'results could not be collected; got {describe_result}',
        "ja": '結果を集められませんでした。実際の値: {describe_result}',
    },
    'A.judge_a3.2': {
        "en": 'quantize_asym_per_channel must return (codes, scale, zero_point); got {describe_r}',
        "ja": 'quantize_asym_per_channel は (codes, scale, zero_point) を返す必要があります。実際の値: {describe_r}',
    },
    'A.judge_a3.3': {
        "en": 'codes must be a torch tensor; got {describe_codes_v} for {label}',
        "ja": 'codes は torch のテンソルである必要があります。実際の値: {describe_codes_v}（{label}）',
    },
    'A.judge_a3.4': {
        "en": 'codes must be integers in [0, 255] (torch.uint8); got dtype {codes_v_dtype}',
        "ja": 'codes は [0, 255] の整数（torch.uint8）である必要があります。実際の dtype: {codes_v_dtype}',
    },
    'A.judge_a3.5': {
        "en": 'convert after rounding and clamping: .to(torch.uint8)',
        "ja": '丸めとクランプの後で変換してください: .to(torch.uint8)',
    },
    'A.judge_a3.6': {
        "en": "codes must have the input's shape {w_shape}; got {codes_shape} for {label}",
        "ja": 'codes は入力と同じ形状 {w_shape} である必要があります。実際の形状: {codes_shape}（{label}）',
    },
    'A.judge_a3.7': {
        "en": 'every scale must be finite and > 0; got {scale} for {label}',
        "ja": 'scale はすべて有限かつ > 0 である必要があります。実際の値: {scale}（{label}）',
    },
    'A.judge_a3.8': {
        "en": 'an all-zero row has max - min = 0: use a scale of 1 for it',
        "ja": 'すべて 0 の行は max - min = 0 です: その行のスケールは 1 にしてください',
    },
    'A.judge_a3.9': {
        "en": 'zero points must be integers z = round(-min/s) in [0, 255]; got {zp} for {label}',
        "ja": 'ゼロ点は [0, 255] の整数 z = round(-min/s) である必要があります。実際の値: {zp}（{label}）',
    },
    'A.judge_a3.10': {
        "en": ('widen the range to include 0 (min = min(w.min, 0), max = max(w.max, 0)) and mind the minus sign in '
               'z = round(-min/s)'),
        "ja": '範囲を 0 を含むように広げ（min = min(w.min, 0)、max = max(w.max, 0)）、z = round(-min/s) のマイナス符号に注意してください',
    },
    'A.judge_a3.11': {
        "en": 'codes must lie in [0, 255]; got {codes_min}..{codes_max} for {label}',
        "ja": 'codes は [0, 255] に収まる必要があります。実際の範囲: {codes_min}..{codes_max}（{label}）',
    },
    'A.judge_a3.12': {
        "en": 'clamp round(w/s) + z to [0, 255]',
        "ja": 'round(w/s) + z を [0, 255] にクランプしてください',
    },
    'A.judge_a3.13': {
        "en": 's = (max - min) / (2**8 - 1) per row, with the range widened to include 0',
        "ja": '行ごとに s = (max - min) / (2**8 - 1)。範囲は 0 を含むように広げます',
    },
    'A.judge_a3.14': {
        "en": '8 bits give 2**8 - 1 = 255 steps between the 256 codes, so divide by 255',
        "ja": '8 ビットでは 256 個の code の間に 2**8 - 1 = 255 段階あるので、255 で割ってください',
    },
    'A.judge_a3.15': {
        "en": ('widen the range to include 0 first: min = min(w.min, 0), max = max(w.max, 0) (this row is all '
               'positive or all negative)'),
        "ja": 'まず範囲を 0 を含むように広げてください: min = min(w.min, 0)、max = max(w.max, 0)（この行はすべて正、またはすべて負です）',
    },
    'A.judge_a3.16': {
        "en": 'scale of row {i} must be (max - min)/255 = {ref_s_i:.6g} for {label}; got {scale_i:.6g}',
        "ja": '行 {i} の scale は (max - min)/255 = {ref_s_i:.6g} である必要があります（{label}）。実際の値: {scale_i:.6g}',
    },
    'A.judge_a3.17': {
        "en": 'zero point of row {i} must be z = round(-min/s) = {ref_z_i} for {label}; got {zp_i}',
        "ja": '行 {i} のゼロ点は z = round(-min/s) = {ref_z_i} である必要があります（{label}）。実際の値: {zp_i}',
    },
    'A.judge_a3.18': {
        "en": 'z = round(-min / s), with min = min(w.min, 0)',
        "ja": 'z = round(-min / s)、ただし min = min(w.min, 0)',
    },
    'A.judge_a3.19': {
        "en": ('an all-zero row must quantize to codes equal to its zero point; got {codes_i} for row {i} with z = '
               '{zp_i} for {label}'),
        "ja": 'すべて 0 の行は、ゼロ点と等しい codes に量子化される必要があります。実際の値: {codes_i}（行 {i}、z = {zp_i}、{label}）',
    },
    'A.judge_a3.20': {
        "en": 'codes = clamp(round(w/s) + z, 0, 255)',
        "ja": 'codes = clamp(round(w/s) + z, 0, 255)',
    },
    'A.judge_a3.21': {
        "en": 'compute round(w/s) + z (not round((w - min)/s)), so that w = 0 maps exactly to the code z',
        "ja": 'round((w - min)/s) ではなく round(w/s) + z を計算してください。そうすれば w = 0 がちょうど code z に写ります',
    },
    'A.judge_a3.22': {
        "en": ('codes must be clamp(round(w/s) + z, 0, 255); {n_bad} of {codes_size} differ for {label} (at '
               '{int_k_for_k_in_i}: got {first_codes_i}, expected {first_ref_q_i})'),
        "ja": ('codes は clamp(round(w/s) + z, 0, 255) である必要があります。{label} で {codes_size} 個中 {n_bad} 個が異なります（位置 '
               '{int_k_for_k_in_i}: 実際 {first_codes_i}、期待値 {first_ref_q_i}）'),
    },
    'A.judge_a3.23': {
        "en": ('codes, scales and zero points match lecture_lib.quant.quantize(w, 8, symmetric=False, axis=0) on '
               "{n_cases} matrices; the lecture's row gives s = {s_first:.5g}, z = {z_first}, codes [{shown}]"),
        "ja": ('codes・scale・ゼロ点は {n_cases} 個の行列で lecture_lib.quant.quantize(w, 8, symmetric=False, axis=0) '
               'と一致します。講義の行では s = {s_first:.5g}、z = {z_first}、codes [{shown}] です'),
    },
    'A.pack_hint.1': {
        "en": 'the FIRST code of each pair goes into the LOW nibble: byte = (c0 & 0xF) | ((c1 & 0xF) << 4)',
        "ja": '各ペアの最初の code を下位ニブルに入れます: byte = (c0 & 0xF) | ((c1 & 0xF) << 4)',
    },
    'A.pack_hint.2': {
        "en": "store two's complement nibbles (c & 0xF, so -1 -> 0xF), not c + 8",
        "ja": 'c + 8 ではなく 2 の補数のニブル（c & 0xF、つまり -1 -> 0xF）を格納してください',
    },
    'A.pack_hint.3': {
        "en": 'n codes need ceil(n/2) bytes ({ref_size} here); pad an odd count with one zero code',
        "ja": 'n 個の code には ceil(n/2) バイト（ここでは {ref_size}）が必要です。奇数個のときは code 0 を 1 つ足して埋めてください',
    },
    'A.pack_hint.4': {
        "en": 'byte i = (codes[2i] & 0xF) | ((codes[2i+1] & 0xF) << 4)',
        "ja": 'byte i = (codes[2i] & 0xF) | ((codes[2i+1] & 0xF) << 4)',
    },
    'A.judge_a4.1': {
        "en": 'results could not be collected; got {describe_result}',
        "ja": '結果を集められませんでした。実際の値: {describe_result}',
    },
    'A.judge_a4.2': {
        "en": 'pack_int4 must return a torch.uint8 tensor; got {describe_r} for {label}',
        "ja": 'pack_int4 は torch.uint8 のテンソルを返す必要があります。実際の値: {describe_r}（{label}）',
    },
    'A.judge_a4.3': {
        "en": 'build the bytes as integers and convert with .to(torch.uint8)',
        "ja": 'バイトを整数として組み立て、.to(torch.uint8) で変換してください',
    },
    'A.judge_a4.4': {
        "en": ('pack_int4 must put code 2i in the low nibble and 2i+1 in the high nibble of byte i; got {got_4}... '
               'instead of {ref_4}... for {label}'),
        "ja": 'pack_int4 は code 2i をバイト i の下位ニブルに、2i+1 を上位ニブルに入れる必要があります。実際: {got_4}...、期待値: {ref_4}...（{label}）',
    },
    'A.judge_a4.5': {
        "en": 'unpack_int4 must return an integer tensor (torch.int8); got {describe_r} for {label}',
        "ja": 'unpack_int4 は整数のテンソル（torch.int8）を返す必要があります。実際の値: {describe_r}（{label}）',
    },
    'A.judge_a4.6': {
        "en": 'low nibble first, then sign-extend: a nibble v >= 8 is the code v - 16',
        "ja": '下位ニブルが先、その後で符号拡張します: ニブル v >= 8 は code v - 16 です',
    },
    'A.judge_a4.7': {
        "en": 'sign-extend: nibbles 8..15 are the negative codes -8..-1 (v - 16)',
        "ja": '符号拡張してください: ニブル 8..15 は負の code -8..-1（v - 16）です',
    },
    'A.judge_a4.8': {
        "en": 'return exactly n = {n} codes (drop the padding nibble of an odd count)',
        "ja": 'ちょうど n = {n} 個の code を返してください（奇数個のときの埋め草ニブルは捨てます）',
    },
    'A.judge_a4.9': {
        "en": 'unpack_int4 must invert pack_int4; got {got_4}... instead of {ref_4}... for {label}',
        "ja": 'unpack_int4 は pack_int4 の逆変換である必要があります。実際: {got_4}...、期待値: {ref_4}...（{label}）',
    },
    'A.judge_a4.10': {
        "en": ('pack_int4 and unpack_int4 match lecture_lib.quant on {value1} inputs; [1, 2, -1, -8] packs to '
               'bytes {hex_b_for_b_in_first}'),
        "ja": ('pack_int4 と unpack_int4 は {value1} 個の入力で lecture_lib.quant と一致します。[1, 2, -1, -8] はバイト '
               '{hex_b_for_b_in_first} にパックされます'),
    },
    'A.e4m3_hint.1': {
        "en": 'exponent field 0 is subnormal: value = (-1)^s * 2^(1-7) * (m/8), no implicit leading 1',
        "ja": '指数フィールドが 0 なら非正規化数です: 値 = (-1)^s * 2^(1-7) * (m/8)。暗黙の先頭の 1 はありません',
    },
    'A.e4m3_hint.2': {
        "en": 'the E4M3 exponent bias is 7: value = (-1)^s * 2^(e-7) * (1 + m/8)',
        "ja": 'E4M3 の指数バイアスは 7 です: 値 = (-1)^s * 2^(e-7) * (1 + m/8)',
    },
    'A.e4m3_hint.3': {
        "en": "S.1111.111 (0x7F, 0xFF) is NaN in E4M3FN (there is no infinity); return float('nan')",
        "ja": "S.1111.111（0x7F、0xFF）は E4M3FN では NaN です（無限大はありません）。float('nan') を返してください",
    },
    'A.e4m3_hint.4': {
        "en": 'E4M3FN has no infinity: exponent 1111 still holds normal numbers (up to 448); only m = 111 is NaN',
        "ja": 'E4M3FN には無限大がありません: 指数 1111 も通常の数（最大 448）を表し、NaN は m = 111 のときだけです',
    },
    'A.e4m3_hint.5': {
        "en": 'bit 7 is the sign: 1 means negative',
        "ja": 'ビット 7 が符号です: 1 なら負',
    },
    'A.e4m3_hint.6': {
        "en": 'fields: sign = bit 7, exponent = bits 6..3, mantissa = bits 2..0',
        "ja": 'フィールド: 符号 = ビット 7、指数 = ビット 6..3、仮数 = ビット 2..0',
    },
    'A.judge_a5.1': {
        "en": 'results could not be collected; got {describe_result}',
        "ja": '結果を集められませんでした。実際の値: {describe_result}',
    },
    'A.judge_a5.2': {
        "en": 'decode_e4m3(0x{code:02X}) must be NaN; got {got!r}',
        "ja": 'decode_e4m3(0x{code:02X}) は NaN である必要があります。実際の値: {got!r}',
    },
    'A.judge_a5.3': {
        "en": ('decode_e4m3(0x{code:02X}) (bits {code_7}.{code_3_15:04b}.{code_7_2:03b}) must be {expected!r}; got '
               '{got!r}'),
        "ja": ('decode_e4m3(0x{code:02X})（ビット {code_7}.{code_3_15:04b}.{code_7_2:03b}）は {expected!r} '
               'である必要があります。実際の値: {got!r}'),
    },
    'A.judge_a5.4': {
        "en": ('all 256 E4M3 codes decode exactly like lecture_lib.fp8.decode (max 0x7E = 448, 0x7F = NaN, -0.0 '
               'kept)'),
        "ja": 'E4M3 の 256 個の code すべてが lecture_lib.fp8.decode と完全に同じくデコードされます（最大 0x7E = 448、0x7F = NaN、-0.0 も保持）',
    },
    'A.judge_a6.1': {
        "en": 'results could not be collected; got {describe_result}',
        "ja": '結果を集められませんでした。実際の値: {describe_result}',
    },
    'A.judge_a6.2': {
        "en": 'bytes per token = 2 (K and V) * layers * n_kv_heads * head_dim * bytes_per_value',
        "ja": 'トークンあたりのバイト数 = 2（K と V） * layers * n_kv_heads * head_dim * bytes_per_value',
    },
    'A.judge_a6.3': {
        "en": ('with grouped-query attention only the n_kv_heads key/value heads are cached (the query heads share '
               'them), not all n_heads'),
        "ja": 'グループ化クエリアテンション（GQA）では n_kv_heads 個のキー/バリューヘッドだけがキャッシュされます（クエリヘッドはそれを共有）。n_heads 全部ではありません',
    },
    'A.judge_a6.4': {
        "en": 'count both K and V: the factor 2',
        "ja": 'K と V の両方を数えてください: 係数 2 です',
    },
    'A.judge_a6.5': {
        "en": 'kv_cache_bytes_per_token must be {expected:g} for {label}; got {got:g}',
        "ja": 'kv_cache_bytes_per_token は {expected:g} である必要があります（{label}）。実際の値: {got:g}',
    },
    'A.judge_a6.6': {
        "en": ('bytes per token match on {n_cases} models; LLaMA-2-70B with GQA needs {mb:.2f} MB per token (the '
               "lecture's multi-head figure 2.62 MB is 8x too large)"),
        "ja": ('トークンあたりのバイト数は {n_cases} 個のモデルで一致します。GQA を使う LLaMA-2-70B はトークンあたり {mb:.2f} MB です（講義のマルチヘッドでの値 2.62 '
               'MB は 8 倍大きすぎます）'),
    },
    'A.judge_a7.1': {
        "en": 'results could not be collected; got {describe_result}',
        "ja": '結果を集められませんでした。実際の値: {describe_result}',
    },
    'A.judge_a7.2': {
        "en": 'fake_quant_ste must return a torch tensor; got {describe_y} for {label}',
        "ja": 'fake_quant_ste は torch のテンソルを返す必要があります。実際の値: {describe_y}（{label}）',
    },
    'A.judge_a7.3': {
        "en": 'forward: clamp(round(x / s), qmin, qmax) * s',
        "ja": '順伝播: clamp(round(x / s), qmin, qmax) * s',
    },
    'A.judge_a7.4': {
        "en": 'clamp the codes to [qmin, qmax] before multiplying by the scale',
        "ja": 'スケールを掛ける前に codes を [qmin, qmax] にクランプしてください',
    },
    'A.judge_a7.5': {
        "en": 'fake_quant_ste(x) must equal dequantize(quantize(x)) in the forward pass for {label}',
        "ja": '順伝播で fake_quant_ste(x) は dequantize(quantize(x)) と等しい必要があります（{label}）',
    },
    'A.judge_a7.6': {
        "en": 'fake_quant_ste must be differentiable (gradients must reach x) for {label}',
        "ja": 'fake_quant_ste は微分可能である（勾配が x に届く）必要があります（{label}）',
    },
    'A.judge_a7.7': {
        "en": 'torch.round has zero gradient: use x + (q - x).detach() or a torch.autograd.Function',
        "ja": 'torch.round の勾配は 0 です: x + (q - x).detach() か torch.autograd.Function を使ってください',
    },
    'A.judge_a7.8': {
        "en": ('straight-through: the gradient is 1 where round(x/s) lies inside [qmin, qmax] and 0 where the '
               'clamp cuts (the clamp keeps its true derivative)'),
        "ja": 'ストレートスルー: round(x/s) が [qmin, qmax] の内側なら勾配は 1、クランプで切られる所では 0 です（クランプは本来の導関数のまま）',
    },
    'A.judge_a7.9': {
        "en": 'round() has derivative 0 almost everywhere; the STE replaces it by 1 (pass the gradient through)',
        "ja": 'round() の導関数はほとんど至る所で 0 です。STE はそれを 1 に置き換えます（勾配をそのまま通します）',
    },
    'A.judge_a7.10': {
        "en": 'values outside the clipping range must get gradient 0 (mask by qmin <= round(x/s) <= qmax)',
        "ja": 'クリッピング範囲の外の値は勾配 0 になる必要があります（qmin <= round(x/s) <= qmax でマスク）',
    },
    'A.judge_a7.11': {
        "en": 'the gradient of fake_quant_ste must be the clipped straight-through estimator for {label}',
        "ja": 'fake_quant_ste の勾配はクリップ付きストレートスルー推定量である必要があります（{label}）',
    },
    'A.judge_a7.12': {
        "en": ('forward = clamp(round(x/s))*s and gradient = 1 inside the range, 0 where clipped, on {n_cases} '
               'inputs (the same as lecture_lib.quant.fake_quantize)'),
        "ja": ('{n_cases} 個の入力で、順伝播 = clamp(round(x/s))*s、勾配 = 範囲内で 1・クリップされた所で 0 '
               'です（lecture_lib.quant.fake_quantize と同じ）'),
    },
    # -------------------- Part B (lecture_lib.grade.partB)
    'B.inputs_b1.1': {
        "en": "the lecture's logits [5.0, 3.5, 0.2] at T = 1",
        "ja": '講義のロジット [5.0, 3.5, 0.2]、T = 1',
    },
    'B.inputs_b1.2': {
        "en": "the lecture's logits [5.0, 3.5, 0.2] at T = 5",
        "ja": '講義のロジット [5.0, 3.5, 0.2]、T = 5',
    },
    'B.inputs_b1.3': {
        "en": 'a random [4, 7] batch at T = 2.5',
        "ja": 'ランダムな [4, 7] のバッチ、T = 2.5',
    },
    'B.inputs_b1.4': {
        "en": 'large logits [1000, 999, 990] at T = 1',
        "ja": '大きなロジット [1000, 999, 990]、T = 1',
    },
    'B.inputs_b1.5': {
        "en": 'a random vector at T = {v_0_3:g} (sharper than T = 1)',
        "ja": 'ランダムなベクトル、T = {v_0_3:g}（T = 1 より鋭い）',
    },
    'B.inputs_b2.1': {
        "en": '{N} positions, {V} classes, T = {T:g}, alpha = {alpha:g}',
        "ja": '{N} 位置、{V} クラス、T = {T:g}、alpha = {alpha:g}',
    },
    'B.inputs_b3.1': {
        "en": "the lecture's p = [0.5, 0.3, 0.2], q = [0.2, 0.5, 0.3]",
        "ja": '講義の p = [0.5, 0.3, 0.2]、q = [0.2, 0.5, 0.3]',
    },
    'B.inputs_b3.2': {
        "en": 'random p and q over {V} tokens',
        "ja": '{V} トークン上のランダムな p と q',
    },
    'B.inputs_b3.3': {
        "en": 'q(x) = 0 for a token p likes',
        "ja": 'p が好むトークンで q(x) = 0',
    },
    'B.inputs_b3.4': {
        "en": 'p == q (the residual is all zero: return p)',
        "ja": 'p == q（残差はすべて 0: p を返す）',
    },
    'B.inputs_b4.1': {
        "en": 'all 2 draft tokens accepted (bonus token)',
        "ja": 'ドラフトトークン 2 個をすべて受理（ボーナストークンあり）',
    },
    'B.inputs_b4.2': {
        "en": 'the first draft token rejected',
        "ja": '最初のドラフトトークンを棄却',
    },
    'B.inputs_b4.3': {
        "en": 'random case {len_cases_1}: k = {k}, {V} tokens',
        "ja": 'ランダムなケース {len_cases_1}: k = {k}、{V} トークン',
    },
    'B.inputs_b7.1': {
        "en": "the lecture's p = [0.5, 0.3, 0.2], q = [0.2, 0.5, 0.3]",
        "ja": '講義の p = [0.5, 0.3, 0.2]、q = [0.2, 0.5, 0.3]',
    },
    'B.inputs_b7.2': {
        "en": 'p == q',
        "ja": 'p == q',
    },
    'B.inputs_b7.3': {
        "en": 'disjoint supports',
        "ja": '台が重ならない分布',
    },
    'B.inputs_b7.4': {
        "en": 'random p and q over {V} tokens',
        "ja": '{V} トークン上のランダムな p と q',
    },
    'B.b1_no_T': {
        "en": 'T was not used: divide the logits by T before the softmax',
        "ja": 'T が使われていません: softmax の前にロジットを T で割ってください',
    },
    'B.b1_times_T': {
        "en": 'divide the logits by T; multiplying by T sharpens instead of softening',
        "ja": 'ロジットは T で割ります。T を掛けると分布は滑らかになるどころか鋭くなります',
    },
    'B.b1_dim0': {
        "en": 'normalize over the last dim (dim=-1, the classes), not over dim 0',
        "ja": 'dim 0 ではなく最後の次元（dim=-1、クラスの次元）で正規化してください',
    },
    'B.b1_overflow': {
        "en": "exp(1000) overflows: subtract the row's max logit before exp (softmax does not change)",
        "ja": 'exp(1000) はオーバーフローします: exp の前に行の最大ロジットを引いてください（softmax の値は変わりません）',
    },
    'B.b2_no_T2': {
        "en": 'multiply the KL term by T**2 (Hinton: the soft gradients shrink like 1/T**2 otherwise)',
        "ja": 'KL 項に T**2 を掛けてください（Hinton: そうしないとソフトな勾配が 1/T**2 のように縮みます）',
    },
    'B.b2_kl_mean': {
        "en": ("F.kl_div's default reduction='mean' divides by N*V (every element), not by N: use "
               "reduction='batchmean' (sum over the classes, mean over the positions)"),
        "ja": "F.kl_div の既定 reduction='mean' は N ではなく N*V（全要素数）で割ります: reduction='batchmean'（クラスで和、位置で平均）を使ってください",
    },
    'B.b2_kl_mean_no_T2': {
        "en": ("two things: F.kl_div's default reduction='mean' divides by N*V, use reduction='batchmean'; and "
               'multiply the KL term by T**2'),
        "ja": ("2 点あります: F.kl_div の既定 reduction='mean' は N*V で割るので reduction='batchmean' を使うこと、そして KL 項に T**2 "
               'を掛けること'),
    },
    'B.b2_kl_sum': {
        "en": 'average the KL over the positions (batchmean), do not sum it',
        "ja": 'KL は位置について平均してください（batchmean）。合計ではありません',
    },
    'B.b2_reversed': {
        "en": "the KL is KL(teacher || student): weight log(p_T / p_S) by the teacher's probabilities p_T",
        "ja": 'KL は KL(teacher || student) です: log(p_T / p_S) を教師の確率 p_T で重み付けしてください',
    },
    'B.b2_dim0': {
        "en": 'take both softmaxes over the classes (dim=-1), not over the positions (dim=0)',
        "ja": '2 つの softmax はどちらも位置（dim=0）ではなくクラス（dim=-1）について取ってください',
    },
    'B.b2_no_T_inside': {
        "en": "divide both the student's and the teacher's logits by T inside the softmaxes",
        "ja": 'softmax の中で、生徒と教師の両方のロジットを T で割ってください',
    },
    'B.b2_alpha_swapped': {
        "en": 'alpha weights the soft (KL) term and 1 - alpha the cross-entropy, not the other way round',
        "ja": 'alpha はソフトな（KL）項に、1 - alpha は交差エントロピーに掛かります。逆ではありません',
    },
    'B.b2_ce_at_T': {
        "en": 'the cross-entropy uses the raw student logits, not student_logits / T',
        "ja": '交差エントロピーには student_logits / T ではなく生の生徒ロジットを使います',
    },
    'B.b2_detached': {
        "en": "do not detach the student logits; detach the teacher's only",
        "ja": '生徒のロジットは detach しないでください。detach するのは教師のロジットだけです',
    },
    'B.judge_b1.1': {
        "en": "softmax_t must keep the logits' shape {want_shape}; got {got_shape} for {label}",
        "ja": 'softmax_t はロジットの形状 {want_shape} を保つ必要があります。実際の形状: {got_shape}（{label}）',
    },
    'B.judge_b1.2': {
        "en": 'normalize over the last dim only: sum(dim=-1, keepdim=True)',
        "ja": '最後の次元だけで正規化してください: sum(dim=-1, keepdim=True)',
    },
    'B.judge_b1.3': {
        "en": 'softmax_t must return finite probabilities; got NaN/inf for {label}',
        "ja": 'softmax_t は有限の確率を返す必要がありますが、NaN/inf になりました（{label}）',
    },
    'B.judge_b1.4': {
        "en": 'p_i = exp(z_i / T) / sum_j exp(z_j / T) over the last dim',
        "ja": '最後の次元について p_i = exp(z_i / T) / sum_j exp(z_j / T)',
    },
    'B.judge_b1.5': {
        "en": ('softmax_t must equal exp(z/T)/sum exp(z/T) over the last dim; got {got_reshape_1_4} instead of '
               '{want_reshape_1_4} for {label}'),
        "ja": ('softmax_t は最後の次元について exp(z/T)/sum exp(z/T) と等しい必要があります。実際: {got_reshape_1_4}、期待値: '
               '{want_reshape_1_4}（{label}）'),
    },
    'B.judge_b1.6': {
        "en": 'softmax_t matches on {n_inputs_cases} cases (lecture logits at T = 5: {lect})',
        "ja": 'softmax_t は {n_inputs_cases} ケースで一致します（講義のロジットを T = 5 で: {lect}）',
    },
    'B.judge_b2.1': {
        "en": ('L = alpha * T**2 * KL(softmax(z_T/T) || softmax(z_S/T)) + (1 - alpha) * CE(z_S, labels), the KL '
               'summed over the classes and averaged over the positions'),
        "ja": ('L = alpha * T**2 * KL(softmax(z_T/T) || softmax(z_S/T)) + (1 - alpha) * CE(z_S, labels)。KL '
               'はクラスについて和を取り、位置について平均します'),
    },
    'B.judge_b2.2': {
        "en": 'kd_loss must be {wants_k:.6g}; got {gots_k:.6g} for {label}',
        "ja": 'kd_loss は {wants_k:.6g} である必要があります。実際の値: {gots_k:.6g}（{label}）',
    },
    'B.judge_b2.3': {
        "en": ('kd_loss must be a differentiable torch scalar (autograd to the student logits); got {value1} for '
               '{label}'),
        "ja": 'kd_loss は微分可能な torch のスカラー（生徒ロジットまで autograd が届く）である必要があります。実際の値: {value1}（{label}）',
    },
    'B.judge_b2.4': {
        "en": 'compute it with torch operations on student_logits (no .item(), .numpy() or float())',
        "ja": 'student_logits に対する torch の演算で計算してください（.item()、.numpy()、float() は使わない）',
    },
    'B.judge_b2.5': {
        "en": ('the gradient of kd_loss w.r.t. the student logits must be alpha*T*(p_S - p_T)/N + CE part; it '
               'differs for {label}'),
        "ja": '生徒ロジットに関する kd_loss の勾配は alpha*T*(p_S - p_T)/N + CE の部分である必要がありますが、異なります（{label}）',
    },
    'B.judge_b2.6': {
        "en": 'kd_loss and its gradient match on {n_inputs_cases} cases',
        "ja": 'kd_loss とその勾配は {n_inputs_cases} ケースで一致します',
    },
    'B.judge_b3.1': {
        "en": 'residual = max(0, p - q) / sum(max(0, p - q)); when that sum is 0 (p == q) return p',
        "ja": 'residual = max(0, p - q) / sum(max(0, p - q))。その和が 0（p == q）なら p を返します',
    },
    'B.judge_b3.2': {
        "en": 'normalize: divide max(0, p - q) by its sum so the residual is a distribution',
        "ja": '正規化してください: max(0, p - q) をその和で割ると、残差が確率分布になります',
    },
    'B.judge_b3.3': {
        "en": "p == q gives 0/0: return p when the residual's sum is 0",
        "ja": 'p == q だと 0/0 になります: 残差の和が 0 なら p を返してください',
    },
    'B.judge_b3.4': {
        "en": 'use max(0, p - q), not |p - q|: only tokens the draft under-proposes get the mass',
        "ja": '|p - q| ではなく max(0, p - q) を使ってください: 確率質量を受け取るのは、ドラフトが過小に提案したトークンだけです',
    },
    'B.judge_b3.5': {
        "en": "the residual is max(0, p - q), the target's p minus the draft's q (not q - p)",
        "ja": '残差は max(0, p - q)、つまりターゲットの p からドラフトの q を引いたものです（q - p ではありません）',
    },
    'B.judge_b3.6': {
        "en": 'residual must be {want}; got {value2} for {label}',
        "ja": 'residual は {want} である必要があります。実際の値: {value2}（{label}）',
    },
    'B.judge_b3.7': {
        "en": 'residual matches on {n_inputs_cases} cases ([0.5, 0.3, 0.2] vs [0.2, 0.5, 0.3] -> [1, 0, 0])',
        "ja": 'residual は {n_inputs_cases} ケースで一致します（[0.5, 0.3, 0.2] と [0.2, 0.5, 0.3] -> [1, 0, 0]）',
    },
    'B.judge_b4.1': {
        "en": 'verify_step must return a list of int token ids; got {describe_r} for {label}',
        "ja": 'verify_step は int のトークン ID のリストを返す必要があります。実際の値: {describe_r}（{label}）',
    },
    'B.judge_b4.2': {
        "en": 'convert tensor elements with int(...)',
        "ja": 'テンソルの要素は int(...) で変換してください',
    },
    'B.judge_b4.3': {
        "en": ('accept draft token i iff u[i] < p[i, x_i] / q[i, x_i]; at the first rejection append one token '
               'drawn from the residual of row i by inverse CDF with v, and stop; if all are accepted, append the '
               'bonus token drawn from p[k]'),
        "ja": ('u[i] < p[i, x_i] / q[i, x_i] のときに限りドラフトトークン i を受理します。最初に棄却したら、行 i の残差から v を使って逆 CDF で 1 '
               'トークン引いて追加し、終了します。すべて受理したら、p[k] からボーナストークンを引いて追加します'),
    },
    'B.judge_b4.4': {
        "en": 'every verify step emits one token more than it accepts: the corrected or the bonus token',
        "ja": '検証ステップは毎回、受理した数より 1 つ多くトークンを出します: 修正トークンかボーナストークンです',
    },
    'B.judge_b4.5': {
        "en": ('the last token: from the residual max(0, p_i - q_i) normalized after a rejection, from p[k] when '
               'all k are accepted; inverse CDF = first index whose cumulative sum exceeds v'),
        "ja": '最後のトークン: 棄却後は正規化した残差 max(0, p_i - q_i) から、k 個すべて受理したときは p[k] から引きます。逆 CDF = 累積和が v を超える最初のインデックス',
    },
    'B.judge_b4.6': {
        "en": 'verify_step must return {want}; got {r} for {label}',
        "ja": 'verify_step は {want} を返す必要があります。実際の値: {r}（{label}）',
    },
    'B.judge_b4.7': {
        "en": 'verify_step matches on {n_inputs_cases} cases',
        "ja": 'verify_step は {n_inputs_cases} ケースで一致します',
    },
    'B.judge_b5.1': {
        "en": 'alpha = 1 divides 0 by 0: every draft token is accepted, so k + 1',
        "ja": 'alpha = 1 では 0 を 0 で割ることになります: ドラフトトークンはすべて受理されるので k + 1 です',
    },
    'B.judge_b5.2': {
        "en": 'E[tokens per target call] = (1 - alpha**(k+1)) / (1 - alpha), and k + 1 at alpha = 1',
        "ja": 'E[ターゲット呼び出しあたりのトークン数] = (1 - alpha**(k+1)) / (1 - alpha)。alpha = 1 では k + 1',
    },
    'B.judge_b5.3': {
        "en": 'count the token the target adds itself (corrected or bonus): accepted + 1',
        "ja": 'ターゲット自身が追加するトークン（修正またはボーナス）も数えてください: 受理数 + 1',
    },
    'B.judge_b5.4': {
        "en": 'that is the k -> infinity limit; use the finite-k formula',
        "ja": 'それは k -> 無限大の極限です。有限の k の式を使ってください',
    },
    'B.judge_b5.5': {
        "en": 'expected_tokens({a:.4g}, {k}) must be {want:.6g}; got {got:.6g}',
        "ja": 'expected_tokens({a:.4g}, {k}) は {want:.6g} である必要があります。実際の値: {got:.6g}',
    },
    'B.judge_b5.6': {
        "en": 'expected_tokens matches on {n_inputs_cases} cases (alpha = 0.8, k = 4: 3.3616)',
        "ja": 'expected_tokens は {n_inputs_cases} ケースで一致します（alpha = 0.8、k = 4: 3.3616）',
    },
    'B.judge_b6.1': {
        "en": 'alpha = 1: (1 - alpha**(k+1)) / (1 - alpha) is k + 1',
        "ja": 'alpha = 1: (1 - alpha**(k+1)) / (1 - alpha) は k + 1 です',
    },
    'B.judge_b6.2': {
        "en": 'speedup = tokens per step / cost per step = (1 - alpha**(k+1)) / ((1 - alpha) (k c + 1))',
        "ja": '高速化率 = ステップあたりのトークン数 / ステップあたりのコスト = (1 - alpha**(k+1)) / ((1 - alpha) (k c + 1))',
    },
    'B.judge_b6.3': {
        "en": 'a step runs the draft k times: its cost is k*c + 1 target calls, not 1 + c',
        "ja": '1 ステップでドラフトを k 回動かします: コストは 1 + c ではなく k*c + 1 回分のターゲット呼び出しです',
    },
    'B.judge_b6.4': {
        "en": 'divide by the cost of a step, k*c + 1 target calls',
        "ja": '1 ステップのコスト（ターゲット呼び出し k*c + 1 回分）で割ってください',
    },
    'B.judge_b6.5': {
        "en": 'speedup({a:.4g}, {k}, {c:.4g}) must be {want:.6g}; got {got:.6g}',
        "ja": 'speedup({a:.4g}, {k}, {c:.4g}) は {want:.6g} である必要があります。実際の値: {got:.6g}',
    },
    'B.judge_b6.6': {
        "en": 'speedup matches on {n_inputs_cases} cases (alpha = 0.9, k = 4, c = 0.05: 3.41x)',
        "ja": 'speedup は {n_inputs_cases} ケースで一致します（alpha = 0.9、k = 4、c = 0.05: 3.41 倍）',
    },
    'B.judge_b7.1': {
        "en": 'alpha = sum_x q(x) min(1, p(x)/q(x)) = sum_x min(p(x), q(x)) = 1 - TV(p, q)',
        "ja": 'alpha = sum_x q(x) min(1, p(x)/q(x)) = sum_x min(p(x), q(x)) = 1 - TV(p, q)',
    },
    'B.judge_b7.2': {
        "en": 'total variation is HALF the L1 distance: alpha = 1 - 0.5 * sum |p - q|',
        "ja": '全変動距離は L1 距離の半分です: alpha = 1 - 0.5 * sum |p - q|',
    },
    'B.judge_b7.3': {
        "en": 'a token is accepted with probability min(1, p/q): sum min(p(x), q(x)), not max',
        "ja": 'トークンは確率 min(1, p/q) で受理されます: max ではなく sum min(p(x), q(x)) です',
    },
    'B.judge_b7.4': {
        "en": 'cap the acceptance probability at 1: min(1, p(x)/q(x)), i.e. sum_x min(p(x), q(x))',
        "ja": '受理確率は 1 で頭打ちにしてください: min(1, p(x)/q(x))、つまり sum_x min(p(x), q(x))',
    },
    'B.judge_b7.5': {
        "en": 'acceptance_rate must be {want:.6g}; got {got:.6g} for {label}',
        "ja": 'acceptance_rate は {want:.6g} である必要があります。実際の値: {got:.6g}（{label}）',
    },
    'B.judge_b7.6': {
        "en": "acceptance_rate matches on {n_inputs_cases} cases (the lecture's example: 0.7)",
        "ja": 'acceptance_rate は {n_inputs_cases} ケースで一致します（講義の例: 0.7）',
    },
    # -------------------- Part C (lecture_lib.grade.partC)
    'C.judge_c1.1': {
        "en": 'budget = (1 - slo) x the period; the period in minutes is days x 24 x 60',
        "ja": '予算 = (1 - slo) × 期間。期間を分で表すと days × 24 × 60 です',
    },
    'C.judge_c1.2': {
        "en": 'that is hours: multiply by 60 for minutes',
        "ja": 'それは時間単位です: 分にするには 60 を掛けてください',
    },
    'C.judge_c1.3': {
        "en": 'that is seconds: divide by 60 for minutes',
        "ja": 'それは秒単位です: 分にするには 60 で割ってください',
    },
    'C.judge_c1.4': {
        "en": 'the budget is the *failing* fraction, 1 - slo, not slo',
        "ja": '予算は*失敗してよい*割合 1 - slo です。slo ではありません',
    },
    'C.judge_c1.5': {
        "en": 'budget_minutes(slo={s}, days={d}) must be (1 - slo) * days * 1440 = {want:.6g}; got {got:.6g}',
        "ja": ('budget_minutes(slo={s}, days={d}) は (1 - slo) * days * 1440 = {want:.6g} である必要があります。実際の値: '
               '{got:.6g}'),
    },
    'C.judge_c1.6': {
        "en": 'budget_minutes({s}) must raise ValueError (slo must be a fraction in (0, 1)); got {b}',
        "ja": 'budget_minutes({s}) は ValueError を送出する必要があります（slo は (0, 1) の割合）。実際の値: {b}',
    },
    'C.judge_c1.7': {
        "en": 'check 0 < slo < 1 first and raise ValueError naming the allowed range (99.9 is a percent)',
        "ja": 'まず 0 < slo < 1 を確認し、許される範囲を示す ValueError を送出してください（99.9 はパーセントです）',
    },
    'C.judge_c1.8': {
        "en": 'budget_minutes matches on {n_inputs_cases} cases: 99 % over 30 days = 432 min, 99.9 % = 43.2 min',
        "ja": 'budget_minutes は {n_inputs_cases} ケースで一致します: 30 日で 99 % なら 432 分、99.9 % なら 43.2 分',
    },
    'C.judge_c2.1': {
        "en": 'burn rate = error_rate / (1 - slo)',
        "ja": 'バーンレート = error_rate / (1 - slo)',
    },
    'C.judge_c2.2': {
        "en": 'divide by the budget 1 - slo, not by slo',
        "ja": 'slo ではなく予算 1 - slo で割ってください',
    },
    'C.judge_c2.3': {
        "en": 'burn_rate({label}) must be {want:.6g}; got {got:.6g}',
        "ja": 'burn_rate({label}) は {want:.6g} である必要があります。実際の値: {got:.6g}',
    },
    'C.judge_c2.4': {
        "en": ('fast burn fires at burn >= 14.4, medium burn at >= 6, slow burn at >= 1 (a constant rate fills '
               'both windows of each alert)'),
        "ja": '高速バーンはバーンレート >= 14.4、中速は >= 6、低速は >= 1 で発火します（一定のレートは各アラートの 2 つのウィンドウを両方満たします）',
    },
    'C.judge_c2.5': {
        "en": ('every alert whose threshold the burn reaches fires, not only the most severe one (a fast burn is '
               'also a medium and a slow burn)'),
        "ja": 'バーンレートがしきい値に達したアラートはすべて発火します。最も深刻なものだけではありません（高速バーンは中速・低速バーンでもあります）',
    },
    'C.judge_c2.6': {
        "en": 'alerts_firing({label}) must list {expected} (burn {want:.4g}); got {value4}',
        "ja": 'alerts_firing({label}) は {expected} を列挙する必要があります（バーンレート {want:.4g}）。実際の値: {value4}',
    },
    'C.judge_c2.7': {
        "en": 'burn rates and firing alerts match lecture_lib.slo on {n_inputs_cases} cases',
        "ja": 'バーンレートと発火するアラートは {n_inputs_cases} ケースで lecture_lib.slo と一致します',
    },
    'C.judge_c3.1': {
        "en": 'rank = q * total; first bucket with cumulative count >= rank; interpolate linearly inside it',
        "ja": 'rank = q * total。累積カウントが rank 以上になる最初のバケットを選び、その中で線形補間します',
    },
    'C.judge_c3.2': {
        "en": ('the lowest bucket starts at 0: for j = 0 use lower = 0 and below = 0 (in Python upper_bounds[j - '
               '1] is then the LAST bound, +Inf)'),
        "ja": ('最も低いバケットは 0 から始まります: j = 0 では lower = 0、below = 0 としてください（Python では upper_bounds[j - 1] は最後の境界 '
               '+Inf になってしまいます）'),
    },
    'C.judge_c3.3': {
        "en": 'if the rank falls into the +Inf bucket, return the largest finite bound',
        "ja": 'rank が +Inf のバケットに入るときは、最大の有限な境界を返してください',
    },
    'C.judge_c3.4': {
        "en": 'interpolate inside the bucket instead of returning its upper bound',
        "ja": 'バケットの上限を返すのではなく、バケットの中で補間してください',
    },
    'C.judge_c3.5': {
        "en": 'histogram_quantile({label}) must be {want:.6g}; got {got:.6g}',
        "ja": 'histogram_quantile({label}) は {want:.6g} である必要があります。実際の値: {got:.6g}',
    },
    'C.judge_c3.6': {
        "en": "matches Prometheus's histogram_quantile on {n_result} histograms (the first: p99 = {first:.6g} s)",
        "ja": '{n_result} 個のヒストグラムで Prometheus の histogram_quantile と一致します（1 つ目: p99 = {first:.6g} 秒）',
    },
    'C.judge_c4.1': {
        "en": 'L = lambda W, so W = L / lambda',
        "ja": 'L = lambda W、よって W = L / lambda',
    },
    'C.judge_c4.2': {
        "en": 'solve L = lambda * W for W: W = L / lambda (seconds)',
        "ja": 'L = lambda * W を W について解いてください: W = L / lambda（秒）',
    },
    'C.judge_c4.3': {
        "en": 'littles_law_latency({L:.4g}, {lam:.4g}) must be {want:.6g} s; got {got:.6g}',
        "ja": 'littles_law_latency({L:.4g}, {lam:.4g}) は {want:.6g} 秒である必要があります。実際の値: {got:.6g}',
    },
    'C.judge_c4.4': {
        "en": 'L = rho / (1 - rho) with rho = arrival_rate / service_rate',
        "ja": 'L = rho / (1 - rho)、ただし rho = arrival_rate / service_rate',
    },
    'C.judge_c4.5': {
        "en": 'that is Lq, the number *waiting*; L counts the one in service too: rho / (1 - rho)',
        "ja": 'それは Lq、つまり*待っている*数です。L はサービス中の 1 件も数えます: rho / (1 - rho)',
    },
    'C.judge_c4.6': {
        "en": 'mm1_in_system({lam:.4g}, {mu:.4g}) must be L = {ref_l:.6g}; got {got:.6g}',
        "ja": 'mm1_in_system({lam:.4g}, {mu:.4g}) は L = {ref_l:.6g} である必要があります。実際の値: {got:.6g}',
    },
    'C.judge_c4.7': {
        "en": 'mm1_in_system({lam}, {mu}) must raise ValueError (rho >= 1: no steady state); got {u}',
        "ja": 'mm1_in_system({lam}, {mu}) は ValueError を送出する必要があります（rho >= 1: 定常状態がない）。実際の値: {u}',
    },
    'C.judge_c4.8': {
        "en": 'check arrival_rate < service_rate first',
        "ja": 'まず arrival_rate < service_rate を確認してください',
    },
    'C.judge_c4.9': {
        "en": "Little's law and the M/M/1 L match lecture_lib.queueing (L = 2.33 at rho 0.7, 9.0 at rho 0.9)",
        "ja": 'リトルの法則と M/M/1 の L は lecture_lib.queueing と一致します（rho 0.7 で L = 2.33、rho 0.9 で 9.0）',
    },
    'C.judge_c5.1': {
        "en": 'the smallest integer n with (1 - p)**n <= delta: n = ceil(log(delta) / log(1 - p))',
        "ja": '(1 - p)**n <= delta となる最小の整数 n: n = ceil(log(delta) / log(1 - p))',
    },
    'C.judge_c5.2': {
        "en": 'round *up* (math.ceil): with one case fewer the confidence is below 1 - delta',
        "ja": '*切り上げ*てください（math.ceil）: 1 ケース少ないと信頼度が 1 - delta を下回ります',
    },
    'C.judge_c5.3': {
        "en": 'ln(1/delta)/p is only an approximation for small p; use log(delta)/log(1 - p)',
        "ja": 'ln(1/delta)/p は p が小さいときの近似にすぎません。log(delta)/log(1 - p) を使ってください',
    },
    'C.judge_c5.4': {
        "en": 'cases_needed(p={p:.4g}, delta={d:.4g}) must be {want}; got {got:g}',
        "ja": 'cases_needed(p={p:.4g}, delta={d:.4g}) は {want} である必要があります。実際の値: {got:g}',
    },
    'C.judge_c5.5': {
        "en": 'cases_needed matches on {n_result} cases (p = 0.01, delta = 0.05 needs {value2}, not 298)',
        "ja": 'cases_needed は {n_result} ケースで一致します（p = 0.01、delta = 0.05 では 298 ではなく {value2} 件必要）',
    },
    'C.judge_c6.1': {
        "en": 'd = (mean(x) - mean(y)) / s_p, s_p = sqrt(((n1-1) s1^2 + (n2-1) s2^2) / (n1 + n2 - 2))',
        "ja": 'd = (mean(x) - mean(y)) / s_p、s_p = sqrt(((n1-1) s1^2 + (n2-1) s2^2) / (n1 + n2 - 2))',
    },
    'C.judge_c6.2': {
        "en": 'the sign: mean(x) - mean(y)',
        "ja": '符号: mean(x) - mean(y)',
    },
    'C.judge_c6.3': {
        "en": ('weight each variance by its degrees of freedom (n - 1); a plain average of the two variances is '
               'only right for equal sizes'),
        "ja": '各分散を自由度（n - 1）で重み付けしてください。2 つの分散の単純平均が正しいのはサイズが等しいときだけです',
    },
    'C.judge_c6.4': {
        "en": 'use the sample variances (ddof=1, divide by n - 1) and the pooled n1 + n2 - 2',
        "ja": '標本分散（ddof=1、n - 1 で割る）と、合併した自由度 n1 + n2 - 2 を使ってください',
    },
    'C.judge_c6.5': {
        "en": 'cohens_d for {label} must be {want:.6g}; got {got:.6g}',
        "ja": '{label} の cohens_d は {want:.6g} である必要があります。実際の値: {got:.6g}',
    },
    'C.judge_c6.6': {
        "en": 'Cohen: |d| < 0.2 negligible, < 0.5 small, < 0.8 medium, else large',
        "ja": 'Cohen の基準: |d| < 0.2 は negligible、< 0.5 は small、< 0.8 は medium、それ以外は large',
    },
    'C.judge_c6.7': {
        "en": 'label the size |d|: a negative d of the same size gets the same label',
        "ja": '大きさ |d| でラベルを付けてください: 同じ大きさの負の d には同じラベルが付きます',
    },
    'C.judge_c6.8': {
        "en": 'effect_label({v}) must be {want!r}; got {r!r}',
        "ja": 'effect_label({v}) は {want!r} である必要があります。実際の値: {r!r}',
    },
    'C.judge_c6.9': {
        "en": ("Cohen's d matches scipy-checked lecture_lib.stats on {n_result_d} pairs; labels follow Cohen "
               '(0.2/0.5/0.8)'),
        "ja": 'Cohen の d は {n_result_d} 組で（scipy で検証済みの）lecture_lib.stats と一致し、ラベルは Cohen の基準（0.2/0.5/0.8）に従います',
    },
    'C.judge_c6.samples': {
        "en": 'samples of sizes {n1} and {n2}',
        "ja": 'サイズ {n1} と {n2} の標本',
    },
    'C.no_error': {
        "en": 'no error',
        "ja": '例外なし',
    },
    # -------------------- Part D (lecture_lib.grade.partD)
    'D.inputs_d1.1': {
        "en": '3 workers, 7 requests',
        "ja": 'ワーカー 3 台、リクエスト 7 件',
    },
    'D.inputs_d1.2': {
        "en": '1 worker, 4 requests',
        "ja": 'ワーカー 1 台、リクエスト 4 件',
    },
    'D.inputs_d1.3': {
        "en": '5 workers, 0 requests',
        "ja": 'ワーカー 5 台、リクエスト 0 件',
    },
    'D.inputs_d1.4': {
        "en": '{c} workers, 40 requests',
        "ja": 'ワーカー {c} 台、リクエスト 40 件',
    },
    'D.inputs_d2.1': {
        "en": 'weights {{5, 1, 1}}',
        "ja": '重み {{5, 1, 1}}',
    },
    'D.inputs_d2.2': {
        "en": 'weights {{1, 1}}',
        "ja": '重み {{1, 1}}',
    },
    'D.inputs_d2.3': {
        "en": 'random weights {weights}',
        "ja": 'ランダムな重み {weights}',
    },
    'D.inputs_d2.4': {
        "en": 'a tie between workers 0 and 1',
        "ja": 'ワーカー 0 と 1 が同点',
    },
    'D.inputs_d2.5': {
        "en": 'current weights {cur} and weights [3, 2, 1]',
        "ja": '現在の重み {cur}、重み [3, 2, 1]',
    },
    'D.inputs_d3.1': {
        "en": '[3, 1, 2]',
        "ja": '[3, 1, 2]',
    },
    'D.inputs_d3.2': {
        "en": 'a tie [2, 0, 5, 0]',
        "ja": '同点あり [2, 0, 5, 0]',
    },
    'D.inputs_d3.3': {
        "en": 'all equal [4, 4, 4]',
        "ja": 'すべて等しい [4, 4, 4]',
    },
    'D.inputs_d3.4': {
        "en": 'one worker [7]',
        "ja": 'ワーカー 1 台 [7]',
    },
    'D.inputs_d3.5': {
        "en": 'random {v}',
        "ja": 'ランダム {v}',
    },
    'D.inputs_d4.1': {
        "en": "the lecture's alpha = 0.1 (100 ms, new sample 500 ms)",
        "ja": '講義の alpha = 0.1（100 ms、新しいサンプル 500 ms）',
    },
    'D.inputs_d4.2': {
        "en": 'alpha = 1 (only the newest sample)',
        "ja": 'alpha = 1（最新のサンプルだけ）',
    },
    'D.inputs_d4.3': {
        "en": 'random values',
        "ja": 'ランダムな値',
    },
    'D.inputs_d5.1': {
        "en": 'closed, 9 calls with 5 failures, a 10th call fails: 6/10',
        "ja": 'closed、9 回の呼び出しで失敗 5 回、10 回目が失敗: 6/10',
    },
    'D.inputs_d5.2': {
        "en": 'closed, 10th call succeeds: exactly 5/10 = the threshold',
        "ja": 'closed、10 回目が成功: ちょうど 5/10 = しきい値',
    },
    'D.inputs_d5.3': {
        "en": 'closed, 8 calls all failed + 1: below minimum_calls',
        "ja": 'closed、8 回すべて失敗 + 1 回: minimum_calls 未満',
    },
    'D.inputs_d5.4': {
        "en": 'closed, full window of 10 successes, one failure: the oldest drops out',
        "ja": 'closed、成功 10 回で満杯のウィンドウに失敗 1 回: 最も古い結果が外れる',
    },
    'D.inputs_d5.5': {
        "en": 'closed, full window [T, F*9] + a success: the old failure leaves the window',
        "ja": 'closed、満杯のウィンドウ [T, F*9] に成功 1 回: 古い失敗がウィンドウから外れる',
    },
    'D.inputs_d5.6': {
        "en": 'half_open, first trial succeeds',
        "ja": 'half_open、最初の試行が成功',
    },
    'D.inputs_d5.7': {
        "en": 'half_open, third trial succeeds after [F, T]: 1/3 failed',
        "ja": 'half_open、[F, T] の後の 3 回目の試行が成功: 失敗 1/3',
    },
    'D.inputs_d5.8': {
        "en": 'half_open, third trial fails after [F, T]: 2/3 failed',
        "ja": 'half_open、[F, T] の後の 3 回目の試行が失敗: 失敗 2/3',
    },
    'D.inputs_d5.9': {
        "en": 'open: a late result is ignored',
        "ja": 'open: 遅れて届いた結果は無視される',
    },
    'D.inputs_d5.10': {
        "en": 'closed, threshold 0.3 and window 5: 2 failures of 5',
        "ja": 'closed、しきい値 0.3、ウィンドウ 5: 5 回中 2 回失敗',
    },
    'D.inputs_d5.11': {
        "en": 'random closed case {k}',
        "ja": 'ランダムな closed のケース {k}',
    },
    'D.inputs_d5.12': {
        "en": 'random half-open case {k}',
        "ja": 'ランダムな half-open のケース {k}',
    },
    'D.inputs_d6.1': {
        "en": '0 retries',
        "ja": 'リトライ 0 回',
    },
    'D.inputs_d6.2': {
        "en": 'base 0.1 s, cap 3 s, 8 retries',
        "ja": 'base 0.1 秒、cap 3 秒、リトライ 8 回',
    },
    'D.inputs_d6.3': {
        "en": "the lecture's base 200 ms, cap 10 s, 3 retries",
        "ja": '講義の base 200 ms、cap 10 秒、リトライ 3 回',
    },
    'D.inputs_d6.4': {
        "en": 'base 1, cap 1 (always capped), 4 retries',
        "ja": 'base 1、cap 1（常に上限で切られる）、リトライ 4 回',
    },
    'D.int_list.1': {
        "en": '{what} must return a list of ints; got {describe_value} for {label}',
        "ja": '{what} は int のリストを返す必要があります。実際の値: {describe_value}（{label}）',
    },
    'D.judge_d1.1': {
        "en": 'request k goes to worker k % n_workers, starting with worker 0',
        "ja": 'リクエスト k はワーカー k % n_workers に送ります。最初はワーカー 0 です',
    },
    'D.judge_d1.2': {
        "en": 'start at worker 0: the first request (k = 0) goes to worker 0',
        "ja": 'ワーカー 0 から始めてください: 最初のリクエスト（k = 0）はワーカー 0 に送ります',
    },
    'D.judge_d1.3': {
        "en": 'return one worker index per request ({n} here)',
        "ja": 'リクエストごとに 1 つのワーカー番号を返してください（ここでは {n} 個）',
    },
    'D.judge_d1.4': {
        "en": 'round_robin_picks({c}, {n}) must be {want_12}{if_n_12_else}; got {got_12}{if_len_got_12_else}',
        "ja": ('round_robin_picks({c}, {n}) は {want_12}{if_n_12_else} である必要があります。実際の値: '
               '{got_12}{if_len_got_12_else}'),
    },
    'D.judge_d1.5': {
        "en": 'round-robin picks match on {n_inputs_cases} cases (3 workers: {value2})',
        "ja": 'ラウンドロビンの選択は {n_inputs_cases} ケースで一致します（ワーカー 3 台: {value2}）',
    },
    'D.judge_d2.1': {
        "en": 'smooth_wrr_step must return a pair (chosen, new_current); got {describe_got} for {label}',
        "ja": 'smooth_wrr_step はペア (chosen, new_current) を返す必要があります。実際の値: {describe_got}（{label}）',
    },
    'D.judge_d2.2': {
        "en": ("each step: add every worker's weight to its current weight, pick the largest (lowest index on a "
               'tie), then subtract the total weight from the chosen one only'),
        "ja": '各ステップ: すべてのワーカーの重みを現在の重みに足し、最大のもの（同点なら番号の小さい方）を選び、選んだワーカーだけから重みの合計を引きます',
    },
    'D.judge_d2.3': {
        "en": ('the heavy worker always wins: after picking, lower its current weight by the total weight so the '
               'others catch up'),
        "ja": '重いワーカーがいつも勝っています: 選んだ後、その現在の重みを重みの合計だけ下げて、他のワーカーが追いつけるようにしてください',
    },
    'D.judge_d2.4': {
        "en": 'subtract the TOTAL weight (the sum of all weights) from the chosen worker, not its own weight',
        "ja": '選んだワーカーから引くのは自分の重みではなく、重みの合計（全ワーカーの重みの和）です',
    },
    'D.judge_d2.5': {
        "en": 'on a tie pick the LOWEST index (the first maximum), not the last',
        "ja": '同点のときは最後ではなく最小の番号（最初の最大値）を選んでください',
    },
    'D.judge_d2.6': {
        "en": 'repeated smooth_wrr_step from zero current weights with {label} must pick {want}; got {got}',
        "ja": '現在の重み 0 から {label} で smooth_wrr_step を繰り返すと {want} を選ぶ必要があります。実際の値: {got}',
    },
    'D.judge_d2.7': {
        "en": 'smooth_wrr_step must return a pair (chosen, new_current); got {describe_r} for {label}',
        "ja": 'smooth_wrr_step はペア (chosen, new_current) を返す必要があります。実際の値: {describe_r}（{label}）',
    },
    'D.judge_d2.8': {
        "en": ('smooth_wrr_step({cur}, {weights}) must return ({chosen}, {new}); got {describe_r} = {r!r} for '
               '{label}'),
        "ja": ('smooth_wrr_step({cur}, {weights}) は ({chosen}, {new}) を返す必要があります。実際の値: {describe_r} = '
               '{r!r}（{label}）'),
    },
    'D.judge_d2.9': {
        "en": 'on a tie the lowest index wins (use >, not >=, when scanning)',
        "ja": '同点のときは最小の番号が勝ちます（走査では >= ではなく > を使う）',
    },
    'D.judge_d2.10': {
        "en": "smooth weighted round-robin matches nginx's on {n_inputs_sequences} sequences ({{5,1,1}}: {shown})",
        "ja": '重み付きスムーズラウンドロビンは {n_inputs_sequences} 個の系列で nginx と一致します（{{5,1,1}}: {shown}）',
    },
    'D.judge_d3.1': {
        "en": 'the worker with the fewest connections; on a tie, the lowest index (list.index(min(...)))',
        "ja": '接続数が最も少ないワーカー。同点なら最小の番号（list.index(min(...))）',
    },
    'D.judge_d3.2': {
        "en": 'on a tie take the lowest index',
        "ja": '同点のときは最小の番号を選んでください',
    },
    'D.judge_d3.3': {
        "en": 'least-connections picks the minimum, not the maximum',
        "ja": 'least-connections は最大ではなく最小を選びます',
    },
    'D.judge_d3.4': {
        "en": 'least_connections_pick({conns}) must be {want}; got {describe_r}',
        "ja": 'least_connections_pick({conns}) は {want} である必要があります。実際の値: {describe_r}',
    },
    'D.judge_d3.5': {
        "en": 'least-connections picks match on {n_inputs_cases} cases, ties included',
        "ja": 'least-connections の選択は同点を含む {n_inputs_cases} ケースで一致します',
    },
    'D.judge_d4.1': {
        "en": 'ewma_update must return a number; got {describe_r} for {label}',
        "ja": 'ewma_update は数値を返す必要があります。実際の値: {describe_r}（{label}）',
    },
    'D.judge_d4.2': {
        "en": 'EWMA_t = alpha * L_t + (1 - alpha) * EWMA_{{t-1}}',
        "ja": 'EWMA_t = alpha * L_t + (1 - alpha) * EWMA_{{t-1}}',
    },
    'D.judge_d4.3': {
        "en": 'alpha weighs the NEW sample: alpha * sample + (1 - alpha) * previous',
        "ja": 'alpha は新しいサンプルに掛かる重みです: alpha * sample + (1 - alpha) * previous',
    },
    'D.judge_d4.4': {
        "en": 'the old estimate gets weight 1 - alpha, so that the two weights add up to 1',
        "ja": '古い推定値の重みは 1 - alpha です。そうすれば 2 つの重みの和が 1 になります',
    },
    'D.judge_d4.5': {
        "en": 'ewma_update({prev:.4g}, {sample:.4g}, {alpha:.4g}) must be {want:.6g}; got {r:.6g} for {label}',
        "ja": 'ewma_update({prev:.4g}, {sample:.4g}, {alpha:.4g}) は {want:.6g} である必要があります。実際の値: {r:.6g}（{label}）',
    },
    'D.judge_d4.6': {
        "en": ("EWMA updates match; the lecture's alpha = 0.1 moves 100 ms toward 500 ms to {plain_result_0:.4g} "
               'ms'),
        "ja": 'EWMA の更新は一致します。講義の alpha = 0.1 では 100 ms が 500 ms に向かって {plain_result_0:.4g} ms へ動きます',
    },
    'D.judge_d5.1': {
        "en": ('breaker_on_result must return (state, window) with state a str and window a tuple; got '
               '{describe_r} for {label}'),
        "ja": ('breaker_on_result は (state, window) を返す必要があります（state は str、window はタプル）。実際の値: '
               '{describe_r}（{label}）'),
    },
    'D.judge_d5.2': {
        "en": 'closed: append, keep the last window_size outcomes, open when enough calls and rate >= threshold',
        "ja": 'closed: 結果を追加して直近 window_size 件を残し、呼び出し数が十分で失敗率 >= しきい値なら open にします',
    },
    'D.judge_d5.3': {
        "en": 'the breaker opens when the failure rate is >= the threshold (5/10 = 0.5 opens it)',
        "ja": 'ブレーカーは失敗率がしきい値以上（>=）で開きます（5/10 = 0.5 で開く）',
    },
    'D.judge_d5.4': {
        "en": 'no verdict before minimum_calls outcomes are in the window',
        "ja": 'ウィンドウに minimum_calls 件の結果がそろうまでは判定しません',
    },
    'D.judge_d5.5': {
        "en": 'keep only the newest window_size outcomes (drop the oldest)',
        "ja": '直近 window_size 件の結果だけを残してください（古いものから捨てる）',
    },
    'D.judge_d5.6': {
        "en": ('half-open: collect trial results; after permitted_calls_in_half_open of them reopen if their '
               'failure rate >= threshold, else close; either way start with an empty window'),
        "ja": ('half-open: 試行の結果を集め、permitted_calls_in_half_open 件たまったら失敗率 >= しきい値なら再び open、そうでなければ close '
               'にします。どちらの場合も空のウィンドウから始めます'),
    },
    'D.judge_d5.7': {
        "en": 'while open, results of calls admitted earlier change nothing',
        "ja": 'open の間は、それ以前に通した呼び出しの結果が届いても何も変わりません',
    },
    'D.judge_d5.8': {
        "en": ('breaker_on_result({state!r}, {window}, failed={failed}, {cfg}) must return {want}; got {got} '
               '({label})'),
        "ja": ('breaker_on_result({state!r}, {window}, failed={failed}, {cfg}) は {want} を返す必要があります。実際の値: '
               '{got}（{label}）'),
    },
    'D.judge_d5.9': {
        "en": 'every transition matches lecture_lib.resilience.breaker_record on {n_inputs_cases} cases',
        "ja": 'すべての遷移が {n_inputs_cases} ケースで lecture_lib.resilience.breaker_record と一致します',
    },
    'D.judge_d6.1': {
        "en": 'full_jitter_delays must return a list of {attempts} floats; got {describe_r} for {label}',
        "ja": 'full_jitter_delays は {attempts} 個の float のリストを返す必要があります。実際の値: {describe_r}（{label}）',
    },
    'D.judge_d6.2': {
        "en": 'full_jitter_delays({attempts}, ...) must return {attempts} delays; got {value2} for {label}',
        "ja": 'full_jitter_delays({attempts}, ...) は {attempts} 個の待ち時間を返す必要があります。実際の値: {value2}（{label}）',
    },
    'D.judge_d6.3': {
        "en": 'delays must be finite; got NaN/inf for {label}',
        "ja": '待ち時間は有限である必要がありますが、NaN/inf になりました（{label}）',
    },
    'D.judge_d6.4': {
        "en": 'delay n is uniform on [0, min(cap, base * 2**n)]',
        "ja": 'n 回目の待ち時間は [0, min(cap, base * 2**n)] 上の一様分布です',
    },
    'D.judge_d6.5': {
        "en": 'apply the cap before drawing: t = min(cap, base * 2**n), then U(0, t)',
        "ja": '乱数を引く前に上限を適用してください: t = min(cap, base * 2**n)、その後 U(0, t)',
    },
    'D.judge_d6.6': {
        "en": ('retry {n} must wait between 0 and t_{n} = {t_n:.6g}; got values up to {d_n_max:.6g} (min '
               '{d_n_min:.6g}) for {label}'),
        "ja": ('{n} 回目のリトライの待ち時間は 0 から t_{n} = {t_n:.6g} の間である必要があります。実際は最大 {d_n_max:.6g}（最小 '
               '{d_n_min:.6g}）です（{label}）'),
    },
    'D.judge_d6.7': {
        "en": 'full jitter draws uniformly from the whole window [0, t_n], so its mean is t_n / 2',
        "ja": 'フルジッターはウィンドウ [0, t_n] 全体から一様に引くので、平均は t_n / 2 です',
    },
    'D.judge_d6.8': {
        "en": 'that is equal jitter (t/2 + U(0, t/2)); full jitter is U(0, t)',
        "ja": 'それはイコールジッター（t/2 + U(0, t/2)）です。フルジッターは U(0, t) です',
    },
    'D.judge_d6.9': {
        "en": 'no jitter: draw the delay with rng.uniform(0, t)',
        "ja": 'ジッターがありません: 待ち時間は rng.uniform(0, t) で引いてください',
    },
    'D.judge_d6.10': {
        "en": ('the mean delay of retry {n} must be t_{n}/2 = {t_n_2:.6g} (± {_D6_SIGMAS:g} standard errors = '
               '{d6_sigmas_se_n:.3g}); got {mean_n:.6g} over {draws} draws for {label}'),
        "ja": ('{n} 回目のリトライの平均待ち時間は t_{n}/2 = {t_n_2:.6g}（± 標準誤差の {_D6_SIGMAS:g} 倍 = '
               '{d6_sigmas_se_n:.3g}）である必要があります。実際の値: {draws} 回の抽選で {mean_n:.6g}（{label}）'),
    },
    'D.judge_d6.11': {
        "en": ("retry {n}'s delays must fill [0, t_{n}] = [0, {t_n:.6g}]; got [{d_n_min:.6g}, {d_n_max:.6g}] over "
               '{draws} draws for {label}'),
        "ja": ('{n} 回目のリトライの待ち時間は [0, t_{n}] = [0, {t_n:.6g}] 全体に広がる必要があります。実際の範囲: {draws} 回の抽選で [{d_n_min:.6g}, '
               '{d_n_max:.6g}]（{label}）'),
    },
    'D.judge_d6.12': {
        "en": 'draw uniformly from 0 to t_n, not from a narrower range',
        "ja": '狭い範囲からではなく、0 から t_n まで一様に引いてください',
    },
    'D.judge_d6.13': {
        "en": ('the delays of retries {n} and {n_1} must be independent draws; their correlation over {draws} '
               'schedules is {corr:.3f} for {label}'),
        "ja": '{n} 回目と {n_1} 回目のリトライの待ち時間は独立に引く必要がありますが、{draws} 個のスケジュールでの相関が {corr:.3f} です（{label}）',
    },
    'D.judge_d6.14': {
        "en": 'draw a new random number for every retry (inside the loop)',
        "ja": 'リトライごとに（ループの中で）新しい乱数を引いてください',
    },
    'D.judge_d6.15': {
        "en": 'full_jitter_delays(0, ...) must return an empty list; got {describe_zero}',
        "ja": 'full_jitter_delays(0, ...) は空のリストを返す必要があります。実際の値: {describe_zero}',
    },
    'D.judge_d6.16': {
        "en": ('full-jitter delays stay in [0, min(cap, base 2^n)] with mean t_n/2 on {n_lines} settings ({draws} '
               'draws each)'),
        "ja": 'フルジッターの待ち時間は {n_lines} 通りの設定（各 {draws} 回の抽選）で [0, min(cap, base 2^n)] に収まり、平均は t_n/2 です',
    },
    # -------------------- Part E (lecture_lib.grade.partE)
    'E.inputs_e2.1': {
        "en": 'a clean step, tracker 0',
        "ja": '正常なステップ、トラッカー 0',
    },
    'E.inputs_e2.2': {
        "en": 'an inf step',
        "ja": 'inf のステップ',
    },
    'E.inputs_e2.3': {
        "en": 'the 2000th clean step',
        "ja": '2000 回目の正常なステップ',
    },
    'E.inputs_e2.4': {
        "en": 'growth_interval=3, third clean step',
        "ja": 'growth_interval=3、3 回目の正常なステップ',
    },
    'E.inputs_e2.5': {
        "en": 'an inf step, factors 4 and 0.25',
        "ja": 'inf のステップ、係数 4 と 0.25',
    },
    'E.inputs_e2.6': {
        "en": 'growth that would overflow float32',
        "ja": 'float32 があふれるような成長',
    },
    'E.inputs_e2.7': {
        "en": 'random case {i}',
        "ja": 'ランダムなケース {i}',
    },
    'E.inputs_e3.1': {
        "en": 'teacher-like, k = 0',
        "ja": '教師モデル相当、k = 0',
    },
    'E.inputs_e3.2': {
        "en": 'teacher-like, k = 1',
        "ja": '教師モデル相当、k = 1',
    },
    'E.inputs_e3.3': {
        "en": 'teacher-like, k = 4 (uneven segments)',
        "ja": '教師モデル相当、k = 4（不均等なセグメント）',
    },
    'E.inputs_e3.4': {
        "en": 'k = n',
        "ja": 'k = n',
    },
    'E.inputs_e3.5': {
        "en": 'n = 12, k = 5',
        "ja": 'n = 12、k = 5',
    },
    'E.inputs_e3.6': {
        "en": 'random case {i}',
        "ja": 'ランダムなケース {i}',
    },
    'E.inputs_e6.1': {
        "en": '7B fp16, 100 GB/s, B=1',
        "ja": '7B fp16、100 GB/s、B=1',
    },
    'E.inputs_e6.2': {
        "en": '7B fp16, 100 GB/s, B=32',
        "ja": '7B fp16、100 GB/s、B=32',
    },
    'E.inputs_e6.3': {
        "en": '7B int4, 100 GB/s, B=1',
        "ja": '7B int4、100 GB/s、B=1',
    },
    'E.inputs_e6.4': {
        "en": 'tiny LM teacher fp32, 20 GB/s, B=8',
        "ja": 'tiny LM の教師モデル fp32、20 GB/s、B=8',
    },
    'E.inputs_e6.5': {
        "en": 'random case {i}',
        "ja": 'ランダムなケース {i}',
    },
    'E.judge_e1.1': {
        "en": 'round to the nearest fp16 value first, then look at where the rounded value lies',
        "ja": 'まず最も近い fp16 の値に丸め、その丸めた値がどこにあるかを見てください',
    },
    'E.judge_e1.2': {
        "en": "fp16's largest finite value is 65504 = (2 - 2^-10) * 2^15, and values below 65520 round down to it",
        "ja": 'fp16 の最大の有限値は 65504 = (2 - 2^-10) * 2^15 で、65520 未満の値はそこへ切り下がります',
    },
    'E.judge_e1.3': {
        "en": ('the smallest subnormal is 2^-24 = 5.96e-8; anything above half of it (2^-25) rounds up to it, and '
               '1e-6 is a subnormal, not an underflow'),
        "ja": '最小の非正規化数は 2^-24 = 5.96e-8 です。その半分（2^-25）より大きい値はそこへ切り上がります。1e-6 はアンダーフローではなく非正規化数です',
    },
    'E.judge_e1.4': {
        "en": 'at exactly 2^-25 (half the smallest subnormal) the tie goes to the even neighbour, 0',
        "ja": 'ちょうど 2^-25（最小の非正規化数の半分）では、同点は偶数側の隣、つまり 0 に丸まります',
    },
    'E.judge_e1.5': {
        "en": 'the smallest normal is 2^-14 = 6.10e-5; a value just below it may round up to it',
        "ja": '最小の正規化数は 2^-14 = 6.10e-5 です。そのすぐ下の値は切り上がってそこへ丸まることがあります',
    },
    'E.judge_e1.6': {
        "en": 'fp16_category({v!r}) must be {want!r}; got {value3}',
        "ja": 'fp16_category({v!r}) は {want!r} である必要があります。実際の値: {value3}',
    },
    'E.judge_e1.7': {
        "en": "fp16 categories right on {n_inputs_values} values (1e-6 -> 'subnormal', 65519 -> 'normal')",
        "ja": "{n_inputs_values} 個の値で fp16 の分類が正しいです（1e-6 -> 'subnormal'、65519 -> 'normal'）",
    },
    'E.judge_e2.1': {
        "en": 'scaler_update must return a pair (new_scale, new_growth_tracker); got {describe_r} for {label}',
        "ja": 'scaler_update はペア (new_scale, new_growth_tracker) を返す必要があります。実際の値: {describe_r}（{label}）',
    },
    'E.judge_e2.2': {
        "en": ('on inf/NaN: multiply by backoff_factor and restart the tracker at 0; otherwise count the clean '
               'step and grow (then restart at 0) when the count reaches growth_interval'),
        "ja": ('inf/NaN のとき: backoff_factor を掛け、トラッカーを 0 に戻します。そうでなければ正常なステップを数え、その数が growth_interval '
               'に達したらスケールを大きくします（その後 0 に戻す）'),
    },
    'E.judge_e2.3': {
        "en": 'an inf/NaN step restarts the growth tracker at 0, as well as backing the scale off',
        "ja": 'inf/NaN のステップでは、スケールを下げるだけでなく成長トラッカーも 0 に戻します',
    },
    'E.judge_e2.4': {
        "en": 'when the clean-step count reaches growth_interval the scale grows and the tracker restarts at 0',
        "ja": '正常なステップの数が growth_interval に達したら、スケールを大きくしてトラッカーを 0 に戻します',
    },
    'E.judge_e2.5': {
        "en": 'if growing would overflow float32 (inf), keep the old scale',
        "ja": '大きくすると float32 があふれる（inf になる）なら、元のスケールのままにしてください',
    },
    'E.judge_e2.6': {
        "en": 'scaler_update({s!r}, {t}, {inf}{value4}) must return {want}; got {r!r} ({label})',
        "ja": 'scaler_update({s!r}, {t}, {inf}{value4}) は {want} を返す必要があります。実際の値: {r!r}（{label}）',
    },
    'E.judge_e2.7': {
        "en": "loss-scaler updates match GradScaler's rule on {n_inputs_cases} cases",
        "ja": 'ロススケーラーの更新は {n_inputs_cases} ケースで GradScaler の規則と一致します',
    },
    'E.judge_e3.1': {
        "en": "kept: outside + k segment inputs; then, during backward, one segment's blocks at a time",
        "ja": '保持するもの: outside と k 個のセグメントの入力。その後、逆伝播中は一度に 1 つのセグメントのブロック',
    },
    'E.judge_e3.2': {
        "en": 'segments have ceil(n/k) blocks at most: the largest segment sets the peak',
        "ja": 'セグメントのブロック数は最大 ceil(n/k) です: 最大のセグメントがピークを決めます',
    },
    'E.judge_e3.3': {
        "en": "the recomputed segment's input is already counted among the k kept inputs: subtract c once",
        "ja": '再計算するセグメントの入力は、保持した k 個の入力にすでに数えられています: c を 1 回引いてください',
    },
    'E.judge_e3.4': {
        "en": 'k = 0 means no checkpointing: every block keeps its M bytes',
        "ja": 'k = 0 はチェックポイントなしを意味します: どのブロックも M バイトを保持します',
    },
    'E.judge_e3.5': {
        "en": ('checkpoint_peak_bytes(n={n}, k={k}, c={c}, M={m}, outside={o}) must be {want:g}; got {got:g} '
               '({label})'),
        "ja": ('checkpoint_peak_bytes(n={n}, k={k}, c={c}, M={m}, outside={o}) は {want:g} である必要があります。実際の値: '
               '{got:g}（{label}）'),
    },
    'E.judge_e3.6': {
        "en": 'peak activation memory right on {n_inputs_cases} cases',
        "ja": '活性化メモリのピークは {n_inputs_cases} ケースで正しいです',
    },
    'E.judge_e4.1': {
        "en": 'one step takes a + b*B seconds and yields one token for each of the B sequences',
        "ja": '1 ステップは a + b*B 秒かかり、B 本の系列それぞれに 1 トークンを生成します',
    },
    'E.judge_e4.2': {
        "en": 'each step produces B tokens, not one: multiply by the batch size',
        "ja": '各ステップは 1 トークンではなく B トークンを生成します: バッチサイズを掛けてください',
    },
    'E.judge_e4.3': {
        "en": 'b is the cost per sequence: a step of B sequences takes a + b*B seconds',
        "ja": 'b は系列あたりのコストです: B 本の系列の 1 ステップは a + b*B 秒かかります',
    },
    'E.judge_e4.4': {
        "en": 'tokens_per_second({bs}, {a}, {b}) must be {want:.6g}; got {got:.6g}',
        "ja": 'tokens_per_second({bs}, {a}, {b}) は {want:.6g} である必要があります。実際の値: {got:.6g}',
    },
    'E.judge_e4.5': {
        "en": 'throughput right on {n_inputs_cases} cases (B=16, a=4 ms, b=0.3 ms: {value2:.0f} tokens/s)',
        "ja": 'スループットは {n_inputs_cases} ケースで正しいです（B=16、a=4 ms、b=0.3 ms: {value2:.0f} トークン/秒）',
    },
    'E.judge_e5.1': {
        "en": "Little's law: L = lambda * W (requests per second times seconds = requests)",
        "ja": 'リトルの法則: L = lambda * W（毎秒のリクエスト数 × 秒 = リクエスト数）',
    },
    'E.judge_e5.2': {
        "en": 'multiply, do not divide: L = lambda * W has units (1/s) * s = requests',
        "ja": '割るのではなく掛けてください: L = lambda * W の単位は (1/s) * s = リクエスト数です',
    },
    'E.judge_e5.3': {
        "en": 'requests_in_system({lam}, {w}) must be {lam_w:.6g}; got {got:.6g}',
        "ja": 'requests_in_system({lam}, {w}) は {lam_w:.6g} である必要があります。実際の値: {got:.6g}',
    },
    'E.judge_e5.4': {
        "en": 'max_arrival_rate({slots}, {w}) must be {slots_w:.6g}; got {got:.6g}',
        "ja": 'max_arrival_rate({slots}, {w}) は {slots_w:.6g} である必要があります。実際の値: {got:.6g}',
    },
    'E.judge_e5.5': {
        "en": 'solve L = lambda * W for lambda with L = the number of slots: lambda = slots / W',
        "ja": 'L = スロット数として L = lambda * W を lambda について解いてください: lambda = slots / W',
    },
    'E.judge_e5.6': {
        "en": "Little's law right both ways (30 req/s x 0.27 s = 8.1 requests in the system)",
        "ja": 'リトルの法則はどちら向きでも正しいです（30 req/s × 0.27 s = システム内に 8.1 リクエスト）',
    },
    'E.judge_e6.1': {
        "en": 'every step reads all n_params * bytes_per_param weight bytes once, and yields batch_size tokens',
        "ja": '各ステップは n_params * bytes_per_param バイトの重みを 1 回ずつ全部読み、batch_size 個のトークンを生成します',
    },
    'E.judge_e6.2': {
        "en": 'the weights are read once per step for the whole batch: multiply by batch_size',
        "ja": '重みはバッチ全体で 1 ステップに 1 回読まれます: batch_size を掛けてください',
    },
    'E.judge_e6.3': {
        "en": 'weight bytes = n_params * bytes_per_param',
        "ja": '重みのバイト数 = n_params * bytes_per_param',
    },
    'E.judge_e6.4': {
        "en": 'max_tokens_per_second({n:g}, {bpp}, {bw:g}, {bs}) must be {want:.6g}; got {got:.6g} ({label})',
        "ja": 'max_tokens_per_second({n:g}, {bpp}, {bw:g}, {bs}) は {want:.6g} である必要があります。実際の値: {got:.6g}（{label}）',
    },
    'E.judge_e6.5': {
        "en": 'bandwidth bound right (7B in fp16 at 100 GB/s: at most 7.1 tokens/s for one sequence)',
        "ja": '帯域幅による上限は正しいです（fp16 の 7B を 100 GB/s で: 1 系列あたり最大 7.1 トークン/秒）',
    },
    # -------------------- the challenges (lecture_lib.grade.challenges)
    'challenges.verdict.1': {
        "en": '{figure}: not yet bronze ({thresholds})',
        "ja": '{figure}: まだブロンズに届いていません（{thresholds}）',
    },
    'challenges.verdict.2': {
        "en": 'gold: {figure} ({thresholds})',
        "ja": 'ゴールド: {figure}（{thresholds}）',
    },
    'challenges.judge_d_challenge.1': {
        "en": 'running MyBalancer on held-out trace {k_1} raised {r_message}',
        "ja": '評価用トレース {k_1} で MyBalancer を動かすと {r_message} が発生しました',
    },
    'challenges.judge_d_challenge.2': {
        "en": 'pick(now) must return a worker index 0..n_workers-1; dispatched() and completed() must not raise',
        "ja": 'pick(now) は 0..n_workers-1 のワーカー番号を返す必要があります。dispatched() と completed() は例外を出してはいけません',
    },
    'challenges.judge_d_challenge.3': {
        "en": "the balancer's run must give one worker per request; got {describe_r}",
        "ja": 'ロードバランサーの実行結果はリクエストごとに 1 つのワーカーである必要があります。実際の値: {describe_r}',
    },
    'challenges.judge_d_challenge.4': {
        "en": "nearly every request goes to one worker: compare the workers' expected delays at every pick",
        "ja": 'ほぼすべてのリクエストが 1 つのワーカーに送られています: 選ぶたびに各ワーカーの予想遅延を比べてください',
    },
    'challenges.judge_d_challenge.5': {
        "en": ("every worker gets about the same share although their speeds differ: learn each worker's service "
               'time from completed() and send more to the fast ones'),
        "ja": '速度が違うのに、どのワーカーもほぼ同じ割合を受け取っています: completed() から各ワーカーのサービス時間を学び、速いワーカーに多く送ってください',
    },
    'challenges.judge_d_challenge.6': {
        "en": "weigh each worker's queue by its estimated service time, learned from the completions",
        "ja": '各ワーカーのキューを、完了から学んだ推定サービス時間で重み付けしてください',
    },
    'challenges.judge_d_challenge.7': {
        "en": ('p99 latency {s_ratio:.2f} x the better of P2C and peak-EWMA (geometric mean over {n_assignments} '
               'held-out traces)'),
        "ja": 'p99 レイテンシは P2C と peak-EWMA の良い方の {s_ratio:.2f} 倍（評価用トレース {n_assignments} 本の幾何平均）',
    },
    'challenges.judge_d_challenge.8': {
        "en": '{figure}: not yet bronze (bronze <= {d_thresholds_0:g} x)',
        "ja": '{figure}: まだブロンズに届いていません（ブロンズ <= {d_thresholds_0:g} 倍）',
    },
    'challenges.judge_d_challenge.9': {
        "en": ('p99 latency {s_ratio:.2f} x the better of P2C and peak-EWMA (geometric mean over {n_assignments} '
               'held-out traces; median p99 {s_p99:.3g} s vs P2C {s_p2c:.3g} s, peak-EWMA {s_ewma:.3g} s)'),
        "ja": ('p99 レイテンシは P2C と peak-EWMA の良い方の {s_ratio:.2f} 倍（評価用トレース {n_assignments} 本の幾何平均。p99 の中央値 '
               '{s_p99:.3g} 秒、P2C {s_p2c:.3g} 秒、peak-EWMA {s_ewma:.3g} 秒）'),
    },
    'challenges.judge_b_challenge.1': {
        "en": 'draft_tokens raised {result_message}',
        "ja": 'draft_tokens で {result_message} が発生しました',
    },
    'challenges.judge_b_challenge.2': {
        "en": 'return a list of at most k token ids (ints)',
        "ja": '最大 k 個のトークン ID（int）のリストを返してください',
    },
    'challenges.judge_b_challenge.3': {
        "en": 'the draft steps do not replay: {err}',
        "ja": 'ドラフトの各ステップを再現できません: {err}',
    },
    'challenges.judge_b_challenge.4': {
        "en": ('a draft step cost {cost:.2f} target calls (wall-clock in the same run); a draft must cost at most '
               '{B_COST_LIMIT:g} of a target call, or speculation cannot pay'),
        "ja": ('ドラフトの 1 ステップにターゲット呼び出し {cost:.2f} 回分の時間がかかりました（同じ実行での実時間）。ドラフトのコストはターゲット呼び出しの {B_COST_LIMIT:g} '
               '倍以下でないと、投機的デコーディングは割に合いません'),
    },
    'challenges.judge_b_challenge.5': {
        "en": ("no teacher calls inside the draft; keep a small model's KV cache between steps or use tables built "
               'before decoding'),
        "ja": 'ドラフトの中で教師モデルを呼ばないでください。小さなモデルの KV キャッシュをステップ間で保持するか、デコード前に作った表を使ってください',
    },
    'challenges.judge_b_challenge.6': {
        "en": 'propose tokens: an empty draft makes every step one plain decoding step',
        "ja": 'トークンを提案してください: 空のドラフトでは、どのステップも普通のデコード 1 ステップになります',
    },
    'challenges.judge_b_challenge.7': {
        "en": ('prompt lookup alone rarely matches fresh text: add a model of the language (n-grams of the '
               'training text, or a small model with its own KV cache)'),
        "ja": 'プロンプトルックアップだけでは新しいテキストにほとんど一致しません: 言語のモデル（学習テキストの n-gram、または自前の KV キャッシュを持つ小さなモデル）を加えてください',
    },
    'challenges.judge_b_challenge.8': {
        "en": ('{r_tokens_per_call:.2f} tokens per target call on {n_greedy} held-out prompts: not yet bronze '
               '(bronze >= {b_thresholds_0:g})'),
        "ja": ('評価用プロンプト {n_greedy} 個でターゲット呼び出しあたり {r_tokens_per_call:.2f} トークン: まだブロンズに届いていません（ブロンズ >= '
               '{b_thresholds_0:g}）'),
    },
    'challenges.judge_b_challenge.9': {
        "en": ('{r_tokens_per_call:.2f} tokens per target call on {n_greedy} held-out prompts, output identical to '
               'greedy decoding ({v_100_r_accepted_fraction:.0f} % of draft tokens accepted; draft cost {value4} '
               'of a target call)'),
        "ja": ('評価用プロンプト {n_greedy} 個でターゲット呼び出しあたり {r_tokens_per_call:.2f} トークン、出力は貪欲デコードと同一（ドラフトトークンの受理率 '
               '{v_100_r_accepted_fraction:.0f} %、ドラフトのコストはターゲット呼び出しの {value4}）'),
    },
    'challenges.judge_a_challenge.1': {
        "en": 'quantize_teacher raised {result_message}',
        "ja": 'quantize_teacher で {result_message} が発生しました',
    },
    'challenges.judge_a_challenge.2': {
        "en": 'return {{name: (codes, scale, zero)}} for every Linear layer of the model',
        "ja": 'モデルのすべての Linear 層について {{name: (codes, scale, zero)}} を返してください',
    },
    'challenges.judge_a_challenge.3': {
        "en": 'quantize_teacher must return a dict {{layer name: (codes, scale, zero)}}; got {describe_result}',
        "ja": 'quantize_teacher は辞書 {{層の名前: (codes, scale, zero)}} を返す必要があります。実際の値: {describe_result}',
    },
    'challenges.judge_a_challenge.4': {
        "en": ('quantize_teacher must quantize every Linear layer of the teacher ({n_layers}); missing '
               '{join_missing_4}{if_len_missing_4_else}'),
        "ja": ('quantize_teacher は教師モデルのすべての Linear 層（{n_layers} 個）を量子化する必要があります。不足: '
               '{join_missing_4}{if_len_missing_4_else}'),
    },
    'challenges.judge_a_challenge.5': {
        "en": '{name}: each layer must map to (codes, scale, zero); got {describe_entry}',
        "ja": '{name}: 各層は (codes, scale, zero) に対応させる必要があります。実際の値: {describe_entry}',
    },
    'challenges.judge_a_challenge.6': {
        "en": "{name}: codes must be an integer tensor of the weight's shape {out_cols}; got {describe_entry_0}",
        "ja": '{name}: codes は重みと同じ形状 {out_cols} の整数テンソルである必要があります。実際の値: {describe_entry_0}',
    },
    'challenges.judge_a_challenge.7': {
        "en": '{name}: codes must lie in 0..{v_2_a_bits_1} (3 bits); found {codes_min}..{codes_max}',
        "ja": '{name}: codes は 0..{v_2_a_bits_1}（3 ビット）に収まる必要があります。実際の範囲: {codes_min}..{codes_max}',
    },
    'challenges.judge_a_challenge.8': {
        "en": 'shift the codes by the zero point: code = round(w / s) + z, and w = s * (code - z)',
        "ja": 'codes をゼロ点だけずらしてください: code = round(w / s) + z、w = s * (code - z)',
    },
    'challenges.judge_a_challenge.9': {
        "en": ('{name}: scale and zero must both have shape [{out}, in / g] for a group size g that divides '
               '{cols}; got {describe_entry_1} and {describe_entry_2}'),
        "ja": ('{name}: scale と zero はどちらも、{cols} を割り切るグループサイズ g について形状 [{out}, in / g] である必要があります。実際の値: '
               '{describe_entry_1} と {describe_entry_2}'),
    },
    'challenges.judge_a_challenge.10': {
        "en": '{name}: scale and zero must be finite in float16 (|x| < 65504)',
        "ja": '{name}: scale と zero は float16 で有限（|x| < 65504）である必要があります',
    },
    'challenges.judge_a_challenge.11': {
        "en": ('{bits:.3f} bits per weight (3 per code, 16 per scale and per zero point): over the budget of '
               '{A_BUDGET:g}'),
        "ja": '重みあたり {bits:.3f} ビット（code ごとに 3、scale とゼロ点ごとに 16）: 予算 {A_BUDGET:g} を超えています',
    },
    'challenges.judge_a_challenge.12': {
        "en": ("every group's scale and zero point cost 32 bits, 32 / g per weight: groups of 128 columns fit "
               'exactly'),
        "ja": '各グループの scale とゼロ点で 32 ビット、重みあたり 32 / g ビットかかります: 128 列のグループでちょうど収まります',
    },
    'challenges.judge_a_challenge.13': {
        "en": ('perplexity +{s_increase_pct:.1f} % over the float teacher ({s_perplexity:.2f} vs {s_float:.2f} on '
               '{n_inputs_starts} held-out windows of {A_CHARS} characters) at {bits:.3f} bits per weight'),
        "ja": ('パープレキシティは浮動小数点の教師モデルより +{s_increase_pct:.1f} %（{A_CHARS} 文字の評価用ウィンドウ {n_inputs_starts} 個で '
               '{s_perplexity:.2f} 対 {s_float:.2f}）、重みあたり {bits:.3f} ビット'),
    },
    'challenges.judge_a_challenge.14': {
        "en": '{figure}: not yet bronze ({bars})',
        "ja": '{figure}: まだブロンズに届いていません（{bars}）',
    },
    'challenges.judge_a_challenge.15': {
        "en": ("use all 8 codes: an asymmetric grid per group (from the group's min to its max) wastes no level; "
               'then correct the rounding errors on real inputs (GPTQ)'),
        "ja": '8 個の code をすべて使ってください: グループごとの非対称な格子（グループの最小値から最大値まで）ならレベルを無駄にしません。そのうえで実際の入力で丸め誤差を補正します（GPTQ）',
    },
    'challenges.bool_array.1': {
        "en": 'page_policy raised {value_message} on {what}',
        "ja": 'page_policy で {value_message} が発生しました（{what}）',
    },
    'challenges.bool_array.2': {
        "en": 'page_policy must return one bool per minute ({n} here) for {what}; got {describe_value}',
        "ja": 'page_policy は 1 分ごとに bool を 1 つ（ここでは {n} 個）返す必要があります（{what}）。実際の値: {describe_value}',
    },
    'challenges.judge_c_challenge.1': {
        "en": "the probe's prefixes were tampered with",
        "ja": 'プローブの前半部分が改ざんされました',
    },
    'challenges.judge_c_challenge.2': {
        "en": ('page_policy must decide each minute from the past only: on the first {cut} minutes of trace {k_1} '
               'it fired differently than on the whole trace'),
        "ja": 'page_policy は各分を過去の情報だけで判定する必要があります: トレース {k_1} の最初の {cut} 分だけを与えると、トレース全体のときと違う発火をしました',
    },
    'challenges.judge_c_challenge.3': {
        "en": ("compute minute m's decision from requests[:m + 1] and errors[:m + 1] only (trailing windows, no "
               'centred smoothing, no look-ahead)'),
        "ja": 'm 分目の判定は requests[:m + 1] と errors[:m + 1] だけから計算してください（後ろ向きのウィンドウ。中心化した平滑化や先読みはしない）',
    },
    'challenges.judge_c_challenge.4': {
        "en": ('the policy paged outside an incident on {s_noise_pages} of {n_firing} held-out traces (the short '
               'blips spend at most {v_100_c_blip_budget:g} % of the budget each): a page there wakes someone for '
               'nothing, so no tier'),
        "ja": ('評価用トレース {n_firing} 本中 {s_noise_pages} 本で、インシデントでないのに呼び出しました（短いブリップはそれぞれ予算の最大 '
               '{v_100_c_blip_budget:g} % しか使いません）: そこでの呼び出しは無駄に人を起こすので、ティアはありません'),
    },
    'challenges.judge_c_challenge.5': {
        "en": 'require that a window has burnt a real share of the budget, not only a high rate for a minute',
        "ja": '1 分間だけ高いレートではなく、ウィンドウが予算の相応の割合を実際に消費したことを条件にしてください',
    },
    'challenges.tier.1': {
        "en": 'bronze',
        "ja": 'ブロンズ',
    },
    'challenges.tier.2': {
        "en": 'silver',
        "ja": 'シルバー',
    },
    'challenges.tier.3': {
        "en": 'gold',
        "ja": 'ゴールド',
    },
    'challenges.verdict.tier': {
        "en": '{tier}: {figure} ({thresholds})',
        "ja": '{tier}: {figure}（{thresholds}）',
    },
    'challenges.bars.sep': {
        "en": ', ',
        "ja": '、',
    },
    'challenges.bar.le_x': {
        "en": '{tier} <= {t:g} x',
        "ja": '{tier} <= {t:g} 倍',
    },
    'challenges.bar.ge': {
        "en": '{tier} >= {t:g}',
        "ja": '{tier} >= {t:g}',
    },
    'challenges.bar.le_pct': {
        "en": '{tier} <= {t:g} %',
        "ja": '{tier} <= {t:g} %',
    },
    'challenges.bar.le_plus_pct': {
        "en": '{tier} <= +{t:g} %',
        "ja": '{tier} <= +{t:g} %',
    },
    'challenges.judge_c_challenge.missed': {
        "en": '; {missed} missed',
        "ja": '、見逃し {missed} 件',
    },
    'challenges.judge_c_challenge.figure': {
        "en": ('no page on noise; an incident spent {mean_spent:.2f} % of the 30-day budget before the page (mean '
               'over {incidents} held-out incidents; median time to page {median_minutes:.0f} min{missed})'),
        "ja": ('ノイズでは呼び出しなし。呼び出しまでにインシデントが 30 日予算の {mean_spent:.2f} % を消費（評価用インシデント {incidents} 件の平均。呼び出しまでの時間の中央値 '
               '{median_minutes:.0f} 分{missed}）'),
    },
    'challenges.judge_b_challenge.below': {
        "en": 'below {limit:g}',
        "ja": '{limit:g} 未満',
    },
    'challenges.what.trace': {
        "en": 'held-out trace {k}',
        "ja": '評価用トレース {k}',
    },
    'challenges.what.prefix': {
        "en": 'the first {cut} minutes of trace {k}',
        "ja": 'トレース {k} の最初の {cut} 分',
    },
    'challenges.what.part': {
        "en": "{name}'s {what}",
        "ja": '{name} の {what}',
    },
    # -------------------- what each exercise stub asks for (raise NotImplementedError(...) in exercises/; see stub_text)
    'stub.A-challenge.1': {
        "en": 'A-challenge: return {{name: (codes, scale, zero)}} for every Linear layer of the model',
        "ja": 'A-challenge: モデルのすべての Linear 層について {{name: (codes, scale, zero)}} を返す',
    },
    'stub.A1.1': {
        "en": 'A1: compute the scale s = max|w|/7 and the codes',
        "ja": 'A1: スケール s = max|w|/7 と codes を計算する',
    },
    'stub.A2.1': {
        "en": 'A2: average |w - w_hat| over all elements',
        "ja": 'A2: 全要素にわたって |w - w_hat| を平均する',
    },
    'stub.A2.2': {
        "en": 'A2: multiply the codes by the scale (as float32)',
        "ja": 'A2: codes にスケールを掛ける（float32 で）',
    },
    'stub.A3.1': {
        "en": 'A3: compute one scale and one zero point per row, then the codes',
        "ja": 'A3: 行ごとにスケールとゼロ点を 1 つずつ計算し、それから codes を求める',
    },
    'stub.A4.1': {
        "en": 'A4: pair up the codes and put the first of each pair in the low nibble',
        "ja": 'A4: codes を 2 つずつ組にし、各組の最初を下位ニブルに入れる',
    },
    'stub.A4.2': {
        "en": 'A4: split each byte into its low and high nibble, then sign-extend',
        "ja": 'A4: 各バイトを下位・上位ニブルに分け、符号拡張する',
    },
    'stub.A5.1': {
        "en": 'A5: split the byte into sign, exponent and mantissa and apply the formula',
        "ja": 'A5: バイトを符号・指数・仮数に分け、式を当てはめる',
    },
    'stub.A6.1': {
        "en": 'A6: 2 (K and V) x layers x KV heads x head_dim x bytes per value',
        "ja": 'A6: 2（K と V）× 層数 × KV ヘッド数 × head_dim × 値あたりのバイト数',
    },
    'stub.A7.1': {
        "en": 'A7: forward value q, gradient 1 inside the range and 0 where clipped',
        "ja": 'A7: 順伝播の値は q、勾配は範囲内で 1、クリップされた所で 0',
    },
    'stub.B-challenge.1': {
        "en": 'B-challenge: return a list of at most k token ids (the first call may build tables)',
        "ja": 'B-challenge: 最大 k 個のトークン ID のリストを返す（最初の呼び出しで表を作ってもよい）',
    },
    'stub.B1.1': {
        "en": 'B1: divide by T, subtract the row max, exponentiate, normalize over the last dim',
        "ja": 'B1: T で割り、行の最大値を引き、exp を取り、最後の次元で正規化する',
    },
    'stub.B2.1': {
        "en": 'B2: alpha * T**2 * batch-mean KL(teacher || student at T) + (1 - alpha) * CE',
        "ja": 'B2: alpha * T**2 * KL(teacher || 温度 T の student) のバッチ平均 + (1 - alpha) * CE',
    },
    'stub.B3.1': {
        "en": 'B3: clamp p - q at 0, normalize; fall back to p when the sum is 0',
        "ja": 'B3: p - q を 0 で下から切って正規化する。和が 0 なら p を返す',
    },
    'stub.B4.1': {
        "en": 'B4: accept while u[i] < p/q; then one token from the residual (or the bonus row) by inverse CDF',
        "ja": 'B4: u[i] < p/q の間は受理し、その後、残差（またはボーナス行）から逆 CDF で 1 トークン引く',
    },
    'stub.B5.1': {
        "en": 'B5: (1 - alpha**(k+1)) / (1 - alpha), and k + 1 at alpha = 1',
        "ja": 'B5: (1 - alpha**(k+1)) / (1 - alpha)。alpha = 1 では k + 1',
    },
    'stub.B6.1': {
        "en": 'B6: tokens per step / (k * c + 1)',
        "ja": 'B6: ステップあたりのトークン数 / (k * c + 1)',
    },
    'stub.B7.1': {
        "en": 'B7: sum over x of min(p(x), q(x))',
        "ja": 'B7: x についての min(p(x), q(x)) の和',
    },
    'stub.C-challenge.1': {
        "en": 'C-challenge: return one bool per minute: page at the end of that minute?',
        "ja": 'C-challenge: 1 分ごとに bool を 1 つ返す（その分の終わりに呼び出すか？）',
    },
    'stub.C1.1': {
        "en": 'C1: validate slo, then return (1 - slo) * days * 24 * 60',
        "ja": 'C1: slo を検証してから (1 - slo) * days * 24 * 60 を返す',
    },
    'stub.C2.1': {
        "en": 'C2: compare the burn rate with 14.4, 6 and 1',
        "ja": 'C2: バーンレートを 14.4、6、1 と比べる',
    },
    'stub.C2.2': {
        "en": 'C2: error_rate divided by the budget 1 - slo',
        "ja": 'C2: error_rate を予算 1 - slo で割る',
    },
    'stub.C3.1': {
        "en": 'C3: find the bucket holding rank q*total, then interpolate inside it',
        "ja": 'C3: rank q*total を含むバケットを探し、その中で補間する',
    },
    'stub.C4.1': {
        "en": 'C4: rho = arrival_rate / service_rate; reject rho >= 1',
        "ja": 'C4: rho = arrival_rate / service_rate。rho >= 1 は拒否する',
    },
    'stub.C4.2': {
        "en": 'C4: solve L = lambda * W for W',
        "ja": 'C4: L = lambda * W を W について解く',
    },
    'stub.C5.1': {
        "en": 'C5: n = ceil(log(delta) / log(1 - p))',
        "ja": 'C5: n = ceil(log(delta) / log(1 - p))',
    },
    'stub.C6.1': {
        "en": 'C6: pooled variance weighted by n - 1, then the mean difference over its square root',
        "ja": 'C6: n - 1 で重み付けした合併分散を求め、平均の差をその平方根で割る',
    },
    'stub.C6.2': {
        "en": 'C6: thresholds 0.2, 0.5, 0.8 on |d|',
        "ja": 'C6: |d| に対するしきい値 0.2、0.5、0.8',
    },
    'stub.D-challenge.1': {
        "en": 'D-challenge: choose a worker for the request arriving now',
        "ja": 'D-challenge: いま到着したリクエストのワーカーを選ぶ',
    },
    'stub.D-challenge.2': {
        "en": 'D-challenge: learn from a completed request',
        "ja": 'D-challenge: 完了したリクエストから学ぶ',
    },
    'stub.D-challenge.3': {
        "en": 'D-challenge: note that a request went to worker',
        "ja": 'D-challenge: リクエストがワーカーに送られたことを記録する',
    },
    'stub.D-challenge.4': {
        "en": 'D-challenge: set up what the balancer remembers',
        "ja": 'D-challenge: ロードバランサーが覚えておく状態を用意する',
    },
    'stub.D1.1': {
        "en": 'D1: return the list of worker indices for requests 0 .. n-1',
        "ja": 'D1: リクエスト 0 .. n-1 のワーカー番号のリストを返す',
    },
    'stub.D2.1': {
        "en": 'D2: add the weights, pick the largest, subtract the total from the chosen one',
        "ja": 'D2: 重みを足し、最大を選び、選んだワーカーから合計を引く',
    },
    'stub.D3.1': {
        "en": 'D3: the index of the smallest count (lowest index on a tie)',
        "ja": 'D3: 最小のカウントの番号（同点なら小さい番号）',
    },
    'stub.D4.1': {
        "en": 'D4: one EWMA step',
        "ja": 'D4: EWMA の 1 ステップ',
    },
    'stub.D5.1': {
        "en": 'D5: the closed, half-open and open cases',
        "ja": 'D5: closed、half-open、open の各場合',
    },
    'stub.D6.1': {
        "en": 'D6: one uniform draw per retry from [0, min(cap, base * 2**n)]',
        "ja": 'D6: リトライごとに [0, min(cap, base * 2**n)] から一様に 1 回引く',
    },
    'stub.E1.1': {
        "en": 'E1: round |x| to the fp16 grid, then classify the rounded value',
        "ja": 'E1: |x| を fp16 の格子に丸め、丸めた値を分類する',
    },
    'stub.E2.1': {
        "en": 'E2: back off and reset on inf; otherwise count, and grow every growth_interval clean steps',
        "ja": 'E2: inf ならスケールを下げてリセットする。そうでなければ数え、正常なステップ growth_interval 回ごとに大きくする',
    },
    'stub.E3.1': {
        "en": 'E3: no checkpointing for k = 0; else k inputs kept plus the largest segment recomputed',
        "ja": 'E3: k = 0 ならチェックポイントなし。それ以外は保持する k 個の入力 + 再計算する最大のセグメント',
    },
    'stub.E4.1': {
        "en": 'E4: B tokens per step of a + b*B seconds',
        "ja": 'E4: a + b*B 秒の 1 ステップで B トークン',
    },
    'stub.E5.1': {
        "en": 'E5: L = lambda * W',
        "ja": 'E5: L = lambda * W',
    },
    'stub.E5.2': {
        "en": 'E5: lambda = L / W with L = slots',
        "ja": 'E5: lambda = L / W、ただし L = slots',
    },
    'stub.E6.1': {
        "en": 'E6: weight bytes per step = n_params * bytes_per_param; batch_size tokens per step',
        "ja": 'E6: ステップあたりの重みのバイト数 = n_params * bytes_per_param。ステップあたり batch_size トークン',
    },
}
