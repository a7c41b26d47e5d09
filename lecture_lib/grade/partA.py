"""Checks for Part A (quantization): ``solutions/partA_quantization_solutions.ipynb`` / ``exercises/partA_quantization_exercises.ipynb``.

A1  symmetric INT4 per-tensor quantization   ``quantize_int4(w) -> (codes, scale)``
A2  dequantization and the mean |error|      ``dequantize_int4(codes, scale)``, ``mean_abs_error(w, w_hat)``
A3  asymmetric 8-bit per-channel             ``quantize_asym_per_channel(w) -> (codes, scale, zero_point)``
A4  INT4 packing, two codes per byte         ``pack_int4(codes) -> uint8``, ``unpack_int4(packed, n) -> int8``
A5  decode an FP8 E4M3 byte by hand          ``decode_e4m3(code) -> float``
A6  KV-cache bytes with grouped-query attn   ``kv_cache_bytes_per_token(layers, n_heads, n_kv_heads, head_dim, bytes)``
A7  fake quantization with the STE           ``fake_quant_ste(x, scale, qmin, qmax)`` (forward and gradient)

The judges compare with :mod:`lecture_lib.quant` (``quantize(w, 4)``,
``quantize(w, 8, symmetric=False, axis=0)``, ``pack_int4``, ``FakeQuantizeSTE``), :mod:`lecture_lib.fp8` (``decode``)
and :mod:`lecture_lib.kvcache` (``kv_cache_bytes``). Codes must match exactly, except that a code may differ by one
where ``w/s`` lies within 1e-4 of a rounding tie on a *random* case (float32 vs float64 arithmetic); the
designed tie case (``max|w| = 7`` so ``s = 1``) is exact and checks round-half-to-even.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import Mistake, Fail, Question, as_array, as_number, describe, raised
from .judge_messages import say
from .probe_runtime import Arr, call, get_function, to_torch

__all__ = ["QUESTIONS"]

LECTURE_W = (0.5, -0.3, 0.8, -0.1, 0.2)
LECTURE_CODES = (4, -3, 7, -1, 2)
ERRATA_ROW = (-0.4, 0.1, 0.7, 1.6, 2.1)  # errata row 33: s = 0.0098039, z = 41, q = [0, 51, 112, 204, 255]
_TIE_WINDOW = 1e-4


def _quant() -> Any:
    from lecture_lib import quant

    return quant


def _torch() -> Any:
    import torch

    return torch


def _near_tie(ratio: np.ndarray) -> np.ndarray:
    return np.abs(np.abs(ratio - np.floor(ratio)) - 0.5) < _TIE_WINDOW


def _mismatches(got: np.ndarray, ref: np.ndarray, ratio: np.ndarray, strict: bool) -> np.ndarray:
    """Indices where ``got`` differs from ``ref`` beyond the allowed one-code slack at near-ties."""
    diff = got.astype(np.int64) - ref.astype(np.int64)
    bad = diff != 0
    if not strict:
        bad &= ~((np.abs(diff) == 1) & _near_tie(ratio))
    return np.argwhere(bad)


def _first(arr: np.ndarray, index: np.ndarray) -> Any:
    return arr[tuple(index)].item()


def _is_int_array(value: Any) -> bool:
    return isinstance(value, Arr) and value.value.dtype.kind in "iu"


# ================================================================================================== A1
def inputs_a1(rng: np.random.Generator) -> dict[str, Any]:
    f32 = np.float32
    neg = rng.uniform(-1.0, 0.5, size=32).astype(f32)
    neg[int(rng.integers(32))] = f32(-1.3)  # max|w| comes from a negative weight
    return {
        "cases": [
            (say("A.inputs_a1.1"), np.array(LECTURE_W, dtype=f32), "torch"),
            (say("A.inputs_a1.2"), np.array([7, 2.5, -0.5, 1.5, -3.5, 0.5, -7], dtype=f32), "torch"),
            (say("A.inputs_a1.3"), (rng.standard_normal((8, 16)) * rng.uniform(0.01, 2.0)).astype(f32), "torch"),
            (say("A.inputs_a1.4"), neg, "torch"),
            (say("A.inputs_a1.5"), np.zeros(6, dtype=f32), "torch"),
            (say("A.inputs_a1.6"), rng.standard_normal(10).astype(f32), "numpy"),
        ]
    }


def probe_a1(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "quantize_int4")
    out = []
    for _label, w, kind in inputs["cases"]:
        out.append(call(f, to_torch(w) if kind == "torch" else w.copy()))
    return out


def _scale_hint_a1(w: np.ndarray, scale: float) -> str:
    amax = float(np.abs(w).max()) if w.size else 0.0
    near = lambda a, b: b != 0 and math.isclose(a, b, rel_tol=1e-4)  # noqa: E731
    if near(scale, amax / 8):
        return say("A.scale_hint_a1.1")
    if near(scale, amax / 15) or near(scale, amax / 16):
        return say("A.scale_hint_a1.2")
    if w.size and near(scale, float(w.max()) / 7) and not near(scale, amax / 7):
        return say("A.scale_hint_a1.3")
    if near(scale, round(amax / 7, 4)) and not near(scale, amax / 7):
        return say("A.scale_hint_a1.4")
    return say("A.scale_hint_a1.5")


def _rounding_hint(got: np.ndarray, ratio: np.ndarray) -> str:
    def same(candidate: np.ndarray) -> bool:
        return np.array_equal(got, np.clip(candidate, -7, 7))

    if same(np.trunc(ratio)):
        return (say("A.rounding_hint.1"))
    if same(np.floor(ratio + 0.5)):
        return say("A.rounding_hint.2")
    if same(np.sign(ratio) * np.floor(np.abs(ratio) + 0.5)):
        return (say("A.rounding_hint.3"))
    return say("A.rounding_hint.4")


def judge_a1(inputs: Any, result: Any) -> str:
    torch = _torch()
    quant = _quant()
    cases = inputs["cases"]
    if not isinstance(result, list) or len(result) != len(cases):
        raise Fail(say("A.judge_a1.1", describe_result=describe(result)))
    for k, ((label, w, kind), r) in enumerate(zip(cases, result)):
        raised(r, "quantize_int4", label,
               say("A.judge_a1.2")
               if kind == "numpy" else None)
        if not (isinstance(r, (tuple, list)) and len(r) == 2):
            raise Fail(say("A.judge_a1.3", describe_r=describe(r), label=label))
        codes_v, scale_v = r
        if kind == "torch" and not (isinstance(codes_v, Arr) and codes_v.kind == "torch"):
            raise Fail(say("A.judge_a1.4", describe_codes_v=describe(codes_v), label=label))
        codes = as_array(codes_v, "codes")
        scale = as_number(scale_v, "scale")
        if codes.shape != w.shape:
            raise Fail(say("A.judge_a1.5", w_shape=tuple(w.shape), codes_shape=tuple(codes.shape), label=label))
        if not math.isfinite(scale) or (codes.dtype.kind == "f" and not np.isfinite(codes).all()):
            raise Fail(say("A.judge_a1.6", scale=scale, label=label),
                       say("A.judge_a1.7"))
        if codes.dtype.kind not in "iu":
            raise Fail(say("A.judge_a1.8", value1=getattr(codes_v, 'dtype', codes.dtype)),
                       say("A.judge_a1.9"))
        if codes.size and (codes.min() < -7 or codes.max() > 7):
            raise Fail(say("A.judge_a1.10", codes_min=codes.min(), codes_max=codes.max(), label=label),
                       _scale_hint_a1(w, scale))
        ref = quant.quantize(torch.from_numpy(w.copy()), 4)
        ref_scale = float(ref.scale.reshape(-1)[0])
        ref_codes = ref.codes.numpy()
        amax = float(np.abs(w).max())
        if amax == 0.0:
            if not scale > 0:
                raise Fail(say("A.judge_a1.11", scale=scale),
                           say("A.judge_a1.12"))
        elif not math.isclose(scale, ref_scale, rel_tol=1e-5):
            raise Fail(say("A.judge_a1.13", ref_scale=ref_scale, label=label, scale=scale),
                       _scale_hint_a1(w, scale))
        ratio = w.astype(np.float64) / (ref_scale if amax > 0 else 1.0)
        bad = _mismatches(codes, ref_codes, ratio, strict=k < 2)  # the lecture's vector, exact ties
        if len(bad):
            i = bad[0]
            raise Fail(say("A.judge_a1.14", n_bad=len(bad), codes_size=codes.size, label=label,
                           int_k_for_k_in_i=tuple((int(k) for k in i)), first_ratio_i=_first(ratio, i),
                           first_codes_i=_first(codes, i), first_ref_codes_i=_first(ref_codes, i)),
                       _rounding_hint(codes, ratio))
    first_codes, first_scale = result[0]
    shown = ", ".join(str(int(c)) for c in as_array(first_codes, "codes").tolist())
    return (say("A.judge_a1.15", n_cases=len(cases), shown=shown, value3=as_number(first_scale, 'scale')))


WRONG_A1 = """\
w = torch.as_tensor(w, dtype=torch.float32)
scale = float(w.abs().max()) / 8
codes = torch.round(w / scale).to(torch.int8)
return codes, scale
"""

# ================================================================================================== A2
def inputs_a2(rng: np.random.Generator) -> dict[str, Any]:
    f32 = np.float32
    w = np.array(LECTURE_W, dtype=f32)
    s = f32(0.8) / f32(7)
    w_hat = (np.array(LECTURE_CODES, dtype=f32) * s).astype(f32)
    rw = rng.standard_normal((3, 5)).astype(f32)
    return {
        "dequantize": [
            (say("A.inputs_a2.1"), np.array(LECTURE_CODES, dtype=np.int8),
             float(s)),
            (say("A.inputs_a2.2"), rng.integers(-7, 8, size=(4, 8)).astype(np.int8), float(rng.uniform(0.001, 0.5))),
            (say("A.inputs_a2.3"), np.zeros(5, dtype=np.int8), 1.0),
        ],
        "mean_abs_error": [
            (say("A.inputs_a2.4"), w, w_hat),
            (say("A.inputs_a2.5"), rw, (rw + rng.normal(0.0, 0.1, size=(3, 5))).astype(f32)),
            (say("A.inputs_a2.6"), rw, rw.copy()),
        ],
    }


def probe_a2(ns: Any, inputs: Any) -> Any:
    deq = get_function(ns, "dequantize_int4")
    mae = get_function(ns, "mean_abs_error")
    return {
        "dequantize": [call(deq, to_torch(c), s) for _label, c, s in inputs["dequantize"]],
        "mean_abs_error": [call(mae, to_torch(a), to_torch(b)) for _label, a, b in inputs["mean_abs_error"]],
    }


def _judge_dequantize(cases: list[Any], results: Any) -> None:
    for (label, codes, scale), r in zip(cases, results):
        raised(r, "dequantize_int4", label)
        if not (isinstance(r, Arr) and r.kind == "torch"):
            raise Fail(say("A.judge_dequantize.1", describe_r=describe(r), label=label))
        got = r.value
        if got.dtype.kind != "f":
            raise Fail(say("A.judge_dequantize.2", r_dtype=r.dtype, label=label),
                       say("A.judge_dequantize.3"))
        if got.shape != codes.shape:
            raise Fail(say("A.judge_dequantize.4", codes_shape=tuple(codes.shape), got_shape=tuple(got.shape)))
        expected = codes.astype(np.float64) * scale
        if not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
            hint = say("A.judge_dequantize.5")
            if np.allclose(got, codes.astype(np.float64) * round(scale, 4), rtol=1e-6, atol=1e-9):
                hint = say("A.judge_dequantize.6")
            elif np.allclose(got, codes, atol=1e-9):
                hint = say("A.judge_dequantize.7")
            elif scale != 0 and np.allclose(got, codes / scale, rtol=1e-6, atol=1e-9):
                hint = say("A.judge_dequantize.8")
            raise Fail(say("A.judge_dequantize.9", label=label), hint)


def _judge_mae(cases: list[Any], results: Any) -> float:
    first = float("nan")
    for k, ((label, a, b), r) in enumerate(zip(cases, results)):
        raised(r, "mean_abs_error", label)
        got = as_number(r, "mean_abs_error(w, w_hat)")
        err = a.astype(np.float64) - b.astype(np.float64)
        expected = float(np.abs(err).mean())
        if k == 0:
            first = got
        if not math.isclose(got, expected, rel_tol=1e-5, abs_tol=1e-9):
            hint = say("A.judge_mae.1")
            candidates = [
                (float(err.mean()), say("A.judge_mae.2")),
                (abs(float(err.mean())), say("A.judge_mae.3")),
                (float(np.abs(err).sum()), say("A.judge_mae.4")),
                (float((err ** 2).mean()), say("A.judge_mae.5")),
                (float(np.abs(err).max()), say("A.judge_mae.6")),
            ]
            for value, text in candidates:
                if math.isclose(got, value, rel_tol=1e-5, abs_tol=1e-12):
                    hint = text
                    break
            raise Fail(say("A.judge_mae.7", expected=expected, label=label, got=got), hint)
    return first


def judge_a2(inputs: Any, result: Any) -> str:
    if not isinstance(result, dict) or set(result) != {"dequantize", "mean_abs_error"}:
        raise Fail(say("A.judge_a2.1", describe_result=describe(result)))
    _judge_dequantize(inputs["dequantize"], result["dequantize"])
    lecture_mae = _judge_mae(inputs["mean_abs_error"], result["mean_abs_error"])
    return (say("A.judge_a2.2", lecture_mae=lecture_mae))


WRONG_A2_MEAN = """\
return float((torch.as_tensor(w) - torch.as_tensor(w_hat)).mean())
"""

# ================================================================================================== A3
def inputs_a3(rng: np.random.Generator) -> dict[str, Any]:
    f32 = np.float32
    rows = rng.standard_normal((6, 24)) * (10.0 ** rng.uniform(-2, 1, size=(6, 1))) + rng.normal(0, 0.5, (6, 1))
    rows[1] = np.abs(rows[1]) + 0.25  # all positive: the range must be widened down to 0
    rows[2] = -np.abs(rows[2]) - 0.25  # all negative: widened up to 0
    rows[4] = 0.0  # all zero: no NaN
    big = rng.standard_normal((16, 64)) * rng.uniform(0.01, 1.0, size=(16, 1)) + rng.normal(0, 0.2, (16, 1))
    return {
        "cases": [
            (say("A.inputs_a3.1"), np.array([ERRATA_ROW], dtype=f32)),
            (say("A.inputs_a3.2"),
             rows.astype(f32)),
            (say("A.inputs_a3.3"), big.astype(f32)),
        ]
    }


def probe_a3(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "quantize_asym_per_channel")
    return [call(f, to_torch(w)) for _label, w in inputs["cases"]]


def _per_row(value: Any, what: str, w: np.ndarray, label: str) -> np.ndarray:
    arr = as_array(value, what).astype(np.float64).reshape(-1)
    rows, cols = w.shape
    if arr.size == rows:
        return arr
    if arr.size == 1:
        raise Fail(say("A.per_row.1", what=what, rows=rows, label=label), say("A.per_row.2"))
    if arr.size == cols:
        raise Fail(say("A.per_row.3", what=what, rows=rows, cols=cols, label=label),
                   say("A.per_row.4"))
    raise Fail(say("A.per_row.5", what=what, rows=rows, arr_size=arr.size, label=label))


def judge_a3(inputs: Any, result: Any) -> str:
    torch = _torch()
    quant = _quant()
    cases = inputs["cases"]
    if not isinstance(result, list) or len(result) != len(cases):
        raise Fail(say("A.judge_a3.1", describe_result=describe(result)))
    for k, ((label, w), r) in enumerate(zip(cases, result)):
        raised(r, "quantize_asym_per_channel", label)
        if not (isinstance(r, (tuple, list)) and len(r) == 3):
            raise Fail(say("A.judge_a3.2", describe_r=describe(r)))
        codes_v, scale_v, zp_v = r
        if not (isinstance(codes_v, Arr) and codes_v.kind == "torch"):
            raise Fail(say("A.judge_a3.3", describe_codes_v=describe(codes_v), label=label))
        if not _is_int_array(codes_v):
            raise Fail(say("A.judge_a3.4", codes_v_dtype=codes_v.dtype),
                       say("A.judge_a3.5"))
        codes = codes_v.value.astype(np.int64)
        if codes.shape != w.shape:
            raise Fail(say("A.judge_a3.6", w_shape=tuple(w.shape), codes_shape=tuple(codes.shape), label=label))
        scale = _per_row(scale_v, "scale", w, label)
        zp = _per_row(zp_v, "zero_point", w, label)
        if not (np.isfinite(scale).all() and (scale > 0).all()):
            raise Fail(say("A.judge_a3.7", scale=scale.tolist(), label=label),
                       say("A.judge_a3.8"))
        if not np.isfinite(zp).all() or not np.array_equal(zp, np.round(zp)) or zp.min() < 0 or zp.max() > 255:
            raise Fail(say("A.judge_a3.9", zp=zp.tolist(), label=label),
                       say("A.judge_a3.10"))
        if codes.min() < 0 or codes.max() > 255:
            raise Fail(say("A.judge_a3.11", codes_min=codes.min(), codes_max=codes.max(), label=label),
                       say("A.judge_a3.12"))
        ref = quant.quantize(torch.from_numpy(w.copy()), 8, symmetric=False, axis=0)
        ref_s = ref.scale.numpy().astype(np.float64).reshape(-1)
        ref_z = ref.zero_point.numpy().astype(np.float64).reshape(-1)
        ref_q = ref.codes.numpy().astype(np.int64)
        live = (w != 0).any(axis=1)
        lo = np.minimum(w.min(axis=1), 0).astype(np.float64)
        hi = np.maximum(w.max(axis=1), 0).astype(np.float64)
        for i in np.flatnonzero(live):
            if not math.isclose(scale[i], ref_s[i], rel_tol=1e-5):
                hint = say("A.judge_a3.13")
                if math.isclose(scale[i], (hi[i] - lo[i]) / 256, rel_tol=1e-4):
                    hint = say("A.judge_a3.14")
                elif math.isclose(scale[i], float(w[i].max() - w[i].min()) / 255, rel_tol=1e-4):
                    hint = (say("A.judge_a3.15"))
                raise Fail(say("A.judge_a3.16", i=i, ref_s_i=ref_s[i], label=label, scale_i=scale[i]), hint)
            ratio = -lo[i] / ref_s[i]
            if zp[i] != ref_z[i] and not (abs(zp[i] - ref_z[i]) == 1 and _near_tie(np.array(ratio))):
                raise Fail(say("A.judge_a3.17", i=i, ref_z_i=int(ref_z[i]), label=label, zp_i=int(zp[i])),
                           say("A.judge_a3.18"))
        for i in np.flatnonzero(~live):
            if not (codes[i] == zp[i]).all():
                raise Fail(say("A.judge_a3.19", codes_i=sorted(set(codes[i].tolist())), i=i, zp_i=int(zp[i]),
                               label=label))
        ratio = w.astype(np.float64) / ref_s[:, None]
        bad = _mismatches(codes, ref_q, ratio, strict=k == 0)  # the lecture's row
        bad = np.array([b for b in bad if live[b[0]]])
        if len(bad):
            i = bad[0]
            hint = say("A.judge_a3.20")
            shifted = np.clip(np.round((w.astype(np.float64) - lo[:, None]) / ref_s[:, None]), 0, 255)
            if np.array_equal(codes[live], shifted[live]):
                hint = say("A.judge_a3.21")
            raise Fail(say("A.judge_a3.22", n_bad=len(bad), codes_size=codes.size, label=label,
                           int_k_for_k_in_i=tuple((int(k) for k in i)), first_codes_i=_first(codes, i),
                           first_ref_q_i=_first(ref_q, i)), hint)
    c0, s0, z0 = result[0]
    shown = ", ".join(str(int(c)) for c in c0.value.reshape(-1).tolist())
    s_first = float(as_array(s0, "scale").reshape(-1)[0])
    z_first = int(as_array(z0, "zero_point").reshape(-1)[0])
    return (say("A.judge_a3.23", n_cases=len(cases), s_first=s_first, z_first=z_first, shown=shown))


WRONG_A3_PER_TENSOR = """\
w = torch.as_tensor(w, dtype=torch.float32)
lo = torch.clamp(w.min(), max=0.0)
hi = torch.clamp(w.max(), min=0.0)
scale = torch.clamp((hi - lo) / 255, min=1e-12)
zero_point = torch.round(-lo / scale)
codes = torch.clamp(torch.round(w / scale) + zero_point, 0, 255).to(torch.uint8)
return codes, scale.reshape(1), zero_point.reshape(1)
"""

# ================================================================================================== A4
def inputs_a4(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "pack": [
            (say("A.inputs_a4.1"), np.array([1, 2, -1, -8], dtype=np.int8)),
            (say("A.inputs_a4.2"), np.arange(-8, 8, dtype=np.int8)),
            (say("A.inputs_a4.3"), rng.integers(-8, 8, size=7).astype(np.int8)),
            (say("A.inputs_a4.4"), rng.integers(-8, 8, size=1000).astype(np.int8)),
        ],
        "unpack": [
            (say("A.inputs_a4.5"), np.array([0x21, 0x8F], dtype=np.uint8), 4),
            (say("A.inputs_a4.6"), rng.integers(0, 256, size=5).astype(np.uint8), 9),
            (say("A.inputs_a4.7"), rng.integers(0, 256, size=300).astype(np.uint8), 600),
        ],
    }


def probe_a4(ns: Any, inputs: Any) -> Any:
    import torch

    pack = get_function(ns, "pack_int4")
    unpack = get_function(ns, "unpack_int4")
    return {
        "pack": [call(pack, to_torch(c)) for _label, c in inputs["pack"]],
        "unpack": [call(unpack, to_torch(p, torch.uint8), n) for _label, p, n in inputs["unpack"]],
    }


def _pack_hint(got: np.ndarray, codes: np.ndarray) -> str:
    quant = _quant()
    torch = _torch()
    even = codes if codes.size % 2 == 0 else np.concatenate([codes, np.zeros(1, dtype=codes.dtype)])
    nib = (even.astype(np.int64) & 0xF).reshape(-1, 2)
    if got.size == nib.shape[0] and np.array_equal(got.astype(np.int64), (nib[:, 0] << 4) | nib[:, 1]):
        return say("A.pack_hint.1")
    offset = (even.astype(np.int64) + 8).reshape(-1, 2)
    if got.size == offset.shape[0] and np.array_equal(got.astype(np.int64), offset[:, 0] | (offset[:, 1] << 4)):
        return say("A.pack_hint.2")
    ref = quant.pack_int4(torch.from_numpy(codes.copy())).numpy()
    if got.size != ref.size:
        return say("A.pack_hint.3", ref_size=ref.size)
    return say("A.pack_hint.4")


def judge_a4(inputs: Any, result: Any) -> str:
    torch = _torch()
    quant = _quant()
    if not isinstance(result, dict) or set(result) != {"pack", "unpack"}:
        raise Fail(say("A.judge_a4.1", describe_result=describe(result)))
    for (label, codes), r in zip(inputs["pack"], result["pack"]):
        raised(r, "pack_int4", label)
        if not (isinstance(r, Arr) and r.kind == "torch" and r.dtype == "torch.uint8"):
            raise Fail(say("A.judge_a4.2", describe_r=describe(r), label=label),
                       say("A.judge_a4.3"))
        got = r.value.reshape(-1)
        ref = quant.pack_int4(torch.from_numpy(codes.copy())).numpy()
        if got.shape != ref.shape or not np.array_equal(got, ref):
            raise Fail(say("A.judge_a4.4", got_4=got[:4].tolist(), ref_4=ref[:4].tolist(), label=label),
                       _pack_hint(got, codes))
    for (label, packed, n), r in zip(inputs["unpack"], result["unpack"]):
        raised(r, "unpack_int4", label)
        if not (isinstance(r, Arr) and r.value.dtype.kind in "iu"):
            raise Fail(say("A.judge_a4.5", describe_r=describe(r), label=label))
        got = r.value.reshape(-1).astype(np.int64)
        ref = quant.unpack_int4(torch.from_numpy(packed.copy()), n).numpy().astype(np.int64)
        if got.shape != ref.shape or not np.array_equal(got, ref):
            hint = say("A.judge_a4.6")
            if got.shape == ref.shape and np.array_equal(got, ref & 0xF):
                hint = say("A.judge_a4.7")
            elif got.shape != ref.shape:
                hint = say("A.judge_a4.8", n=n)
            raise Fail(say("A.judge_a4.9", got_4=got[:4].tolist(), ref_4=ref[:4].tolist(), label=label), hint)
    first = result["pack"][0].value.reshape(-1).tolist()
    return (say("A.judge_a4.10", value1=len(inputs['pack']) + len(inputs['unpack']),
                hex_b_for_b_in_first=[hex(b) for b in first]))


WRONG_A4_HIGH_FIRST = """\
c = torch.as_tensor(codes).reshape(-1).to(torch.int16)
if c.numel() % 2:
    c = torch.cat([c, c.new_zeros(1)])
nib = (c & 0xF).reshape(-1, 2)
return ((nib[:, 0] << 4) | nib[:, 1]).to(torch.uint8)
"""


# ================================================================================================== A5
def inputs_a5(rng: np.random.Generator) -> dict[str, Any]:
    order = rng.permutation(256)
    return {"codes": [int(c) for c in order]}


def probe_a5(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "decode_e4m3")
    return [call(f, c) for c in inputs["codes"]]


def _e4m3_hint(code: int, got: float) -> str:
    s, e, m = code >> 7, (code >> 3) & 0xF, code & 0x7
    sign = -1.0 if s else 1.0
    if e == 0 and math.isclose(got, sign * 2.0 ** (-7) * (1 + m / 8), rel_tol=1e-6):
        return say("A.e4m3_hint.1")
    if e > 0 and math.isclose(got, sign * 2.0 ** (e - 8) * (1 + m / 8), rel_tol=1e-6):
        return say("A.e4m3_hint.2")
    if e == 15 and m == 7:
        return say("A.e4m3_hint.3")
    if e == 15 and not math.isnan(got) and math.isinf(got):
        return say("A.e4m3_hint.4")
    if math.isclose(got, -sign * abs(got), rel_tol=0) and got != 0:
        return say("A.e4m3_hint.5")
    return say("A.e4m3_hint.6")


def judge_a5(inputs: Any, result: Any) -> str:
    torch = _torch()
    from lecture_lib import fp8

    codes = inputs["codes"]
    if not isinstance(result, list) or len(result) != len(codes):
        raise Fail(say("A.judge_a5.1", describe_result=describe(result)))
    ref = fp8.decode(torch.tensor(codes, dtype=torch.uint8), "e4m3").double().numpy()
    for code, r, expected in zip(codes, result, ref):
        raised(r, "decode_e4m3", f"code 0x{code:02X}")
        got = as_number(r, f"decode_e4m3(0x{code:02X})")
        if math.isnan(expected):
            if not math.isnan(got):
                raise Fail(say("A.judge_a5.2", code=code, got=got), _e4m3_hint(code, got))
            continue
        if math.isnan(got) or got != expected or math.copysign(1, got) != math.copysign(1, expected):
            raise Fail(say("A.judge_a5.3", code=code, code_7=code >> 7, code_3_15=code >> 3 & 15, code_7_2=code & 7,
                           expected=float(expected), got=got), _e4m3_hint(code, got))
    return say("A.judge_a5.4")


WRONG_A5_NO_SUBNORMAL = """\
s, e, m = code >> 7, (code >> 3) & 0xF, code & 0x7
if e == 15 and m == 7:
    return float("nan")
return (-1.0) ** s * 2.0 ** (e - 7) * (1 + m / 8)
"""


# ================================================================================================== A6
def inputs_a6(rng: np.random.Generator) -> dict[str, Any]:
    cases = [
        (say("A.inputs_a6.1"), 80, 64, 8, 128, 2.0),
        (say("A.inputs_a6.2"), 32, 32, 32, 128, 2.0),
        (say("A.inputs_a6.3"), 40, 40, 8, 128, 0.5),
    ]
    for _ in range(3):
        kv = int(rng.choice([1, 2, 4, 8]))
        heads = kv * int(rng.integers(1, 9))
        cases.append((say("A.inputs_a6.4", heads=heads, kv=kv), int(rng.integers(1, 96)), heads, kv,
                      int(rng.choice([64, 80, 96, 128])), float(rng.choice([0.5, 1.0, 2.0, 4.0]))))
    return {"cases": cases}


def probe_a6(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "kv_cache_bytes_per_token")
    return [call(f, layers, heads, kv, d, b) for _label, layers, heads, kv, d, b in inputs["cases"]]


def judge_a6(inputs: Any, result: Any) -> str:
    from lecture_lib import kvcache

    cases = inputs["cases"]
    if not isinstance(result, list) or len(result) != len(cases):
        raise Fail(say("A.judge_a6.1", describe_result=describe(result)))
    for (label, layers, heads, kv, d, b), r in zip(cases, result):
        raised(r, "kv_cache_bytes_per_token", label)
        got = as_number(r, "kv_cache_bytes_per_token(...)")
        expected = float(kvcache.kv_cache_bytes(layers, kv, d, 1, 1, b))
        if not math.isclose(got, expected, rel_tol=1e-9):
            hint = say("A.judge_a6.2")
            if math.isclose(got, expected * heads / kv, rel_tol=1e-9) and heads != kv:
                hint = (say("A.judge_a6.3"))
            elif math.isclose(got, expected / 2, rel_tol=1e-9):
                hint = say("A.judge_a6.4")
            raise Fail(say("A.judge_a6.5", expected=expected, label=label, got=got), hint)
    mb = float(kvcache.kv_cache_bytes(80, 8, 128, 1, 1, 2)) / 1e6
    return (say("A.judge_a6.6", n_cases=len(cases), mb=mb))


WRONG_A6_ALL_HEADS = """\
return 2 * layers * n_heads * head_dim * bytes_per_value
"""


# ================================================================================================== A7
def inputs_a7(rng: np.random.Generator) -> dict[str, Any]:
    f32 = np.float32
    x = rng.uniform(-2.0, 2.0, size=40).astype(f32)
    return {
        "cases": [
            (say("A.inputs_a7.1"),
             np.array([-2.0, -0.3, 0.0, 0.26, 0.9, 2.4], dtype=f32), 0.25, -7, 7),
            (say("A.inputs_a7.2"), x, 0.1, -7, 7),
            (say("A.inputs_a7.3"),
             rng.normal(0, 3.0, size=(3, 8)).astype(f32), 0.05, -127, 127),
        ]
    }


def probe_a7(ns: Any, inputs: Any) -> Any:
    import torch

    f = get_function(ns, "fake_quant_ste")
    out = []
    for _label, x, scale, qmin, qmax in inputs["cases"]:
        xt = to_torch(x).requires_grad_(True)
        y = call(f, xt, scale, qmin, qmax)
        if not isinstance(y, torch.Tensor):
            out.append((y, None))
            continue
        grad = None
        if y.requires_grad:
            y.backward(torch.arange(1, y.numel() + 1, dtype=y.dtype).reshape(y.shape))
            grad = xt.grad
        out.append((y.detach(), grad))
    return out


def judge_a7(inputs: Any, result: Any) -> str:
    torch = _torch()
    quant = _quant()
    cases = inputs["cases"]
    if not isinstance(result, list) or len(result) != len(cases):
        raise Fail(say("A.judge_a7.1", describe_result=describe(result)))
    for (label, x, scale, qmin, qmax), (y, grad) in zip(cases, result):
        raised(y, "fake_quant_ste", label)
        if not (isinstance(y, Arr) and y.kind == "torch"):
            raise Fail(say("A.judge_a7.2", describe_y=describe(y), label=label))
        xt = torch.from_numpy(x.copy()).requires_grad_(True)
        ref = quant.FakeQuantizeSTE.apply(xt, torch.tensor(scale), torch.tensor(0.0), float(qmin), float(qmax))
        upstream = torch.arange(1, ref.numel() + 1, dtype=ref.dtype).reshape(ref.shape)
        ref.backward(upstream)
        if y.value.shape != x.shape or not np.allclose(y.value, ref.detach().numpy(), rtol=1e-6, atol=1e-7):
            hint = say("A.judge_a7.3")
            unclamped = np.round(x.astype(np.float64) / scale) * scale
            if y.value.shape == x.shape and np.allclose(y.value, unclamped, atol=1e-6):
                hint = say("A.judge_a7.4")
            raise Fail(say("A.judge_a7.5", label=label), hint)
        if grad is None:
            raise Fail(say("A.judge_a7.6", label=label),
                       say("A.judge_a7.7"))
        g = as_array(grad, "x.grad")
        expected = xt.grad.numpy()
        if g.shape != x.shape or not np.allclose(g, expected, atol=1e-6):
            hint = (say("A.judge_a7.8"))
            if np.allclose(g, 0):
                hint = say("A.judge_a7.9")
            elif np.allclose(g, upstream.numpy()):
                hint = say("A.judge_a7.10")
            raise Fail(say("A.judge_a7.11", label=label),
                       hint)
    return (say("A.judge_a7.12", n_cases=len(cases)))


WRONG_A7_NO_CLIP_MASK = """\
q = torch.clamp(torch.round(x / scale), qmin, qmax) * scale
return x + (q - x).detach()
"""

# ================================================================================== the table of real mistakes
_A1 = "w = torch.as_tensor(w, dtype=torch.float32)\n"
MISTAKES_A1 = (
    Mistake("divides by 8", WRONG_A1, "A.scale_hint_a1.1"),
    Mistake("floor(x + 0.5)", _A1 + "amax = float(w.abs().max())\ns = amax / 7 if amax else 1.0\n"
            "return torch.clamp(torch.floor(w / s + 0.5), -7, 7).to(torch.int8), s", "A.rounding_hint.2"),
    Mistake("truncates with .to(int8)", _A1 + "amax = float(w.abs().max())\ns = amax / 7 if amax else 1.0\n"
            "return torch.clamp(w / s, -7, 7).to(torch.int8), s", "A.rounding_hint.1"),
    Mistake("max(w) instead of max|w|", _A1 + "s = float(w.max()) / 7 if float(w.max()) else 1.0\n"
            "return torch.clamp(torch.round(w / s), -7, 7).to(torch.int8), s", "A.scale_hint_a1.3"),
    Mistake("no guard for an all-zero tensor", _A1 + "s = float(w.abs().max()) / 7\n"
            "return torch.clamp(torch.round(w / s), -7, 7).to(torch.int8), s", "A.judge_a1.11"),
    Mistake("float codes", "amax = float(w.abs().max())\ns = amax / 7 if amax else 1.0\n"
            "return torch.clamp(torch.round(w / s), -7, 7), s", "A.judge_a1.8"),
)
MISTAKES_A2 = (
    Mistake("rounded scale", "return torch.as_tensor(codes).to(torch.float32) * round(scale, 4)",
            "A.judge_dequantize.6"),
    Mistake("divides by the scale", "return torch.as_tensor(codes).to(torch.float32) / scale",
            "A.judge_dequantize.8"),
    Mistake("sum instead of mean", "return float((torch.as_tensor(w) - torch.as_tensor(w_hat)).abs().sum())",
            "A.judge_mae.4", region=1),
    Mistake("squared error", "return float(((torch.as_tensor(w) - torch.as_tensor(w_hat)) ** 2).mean())",
            "A.judge_mae.5", region=1),
    Mistake("no absolute value", WRONG_A2_MEAN, "A.judge_mae.2", region=1),
)
_A3 = "w = torch.as_tensor(w, dtype=torch.float32)\n"
MISTAKES_A3 = (
    Mistake("range not widened to include 0", _A3 + "lo, hi = w.amin(dim=1), w.amax(dim=1)\n"
            "s = torch.where(hi > lo, (hi - lo) / 255, torch.ones_like(hi))\nz = torch.round(-lo / s)\n"
            "return torch.clamp(torch.round(w / s[:, None]) + z[:, None], 0, 255).to(torch.uint8), s, z",
            "A.judge_a3.10"),
    Mistake("codes from (w - min) / s", _A3 + "lo = w.amin(dim=1).clamp(max=0)\nhi = w.amax(dim=1).clamp(min=0)\n"
            "s = torch.where(hi > lo, (hi - lo) / 255, torch.ones_like(hi))\nz = torch.round(-lo / s)\n"
            "return torch.clamp(torch.round((w - lo[:, None]) / s[:, None]), 0, 255).to(torch.uint8), s, z",
            "A.judge_a3.21"),
    Mistake("divides by 256", _A3 + "lo = w.amin(dim=1).clamp(max=0)\nhi = w.amax(dim=1).clamp(min=0)\n"
            "s = torch.where(hi > lo, (hi - lo) / 256, torch.ones_like(hi))\nz = torch.round(-lo / s)\n"
            "return torch.clamp(torch.round(w / s[:, None]) + z[:, None], 0, 255).to(torch.uint8), s, z",
            "A.judge_a3.14"),
    Mistake("one scale for the whole tensor", WRONG_A3_PER_TENSOR, "A.per_row.1"),
    Mistake("reduced over the wrong dim", _A3 + "lo = w.amin(dim=0).clamp(max=0)\nhi = w.amax(dim=0).clamp(min=0)\n"
            "s = torch.where(hi > lo, (hi - lo) / 255, torch.ones_like(hi))\nz = torch.round(-lo / s)\n"
            "return torch.clamp(torch.round(w / s) + z, 0, 255).to(torch.uint8), s, z", "A.per_row.4"),
)
_A4 = "c = torch.as_tensor(codes).reshape(-1).to(torch.int16)\nif c.numel() % 2:\n    c = torch.cat([c, c.new_zeros(1)])\n"
MISTAKES_A4 = (
    Mistake("first code in the high nibble", WRONG_A4_HIGH_FIRST, "A.pack_hint.1"),
    Mistake("offset c + 8 instead of two's complement", _A4 + "nib = (c + 8).reshape(-1, 2)\n"
            "return (nib[:, 0] | (nib[:, 1] << 4)).to(torch.uint8)", "A.pack_hint.2"),
    Mistake("no sign extension", "p = torch.as_tensor(packed).reshape(-1).to(torch.int16)\n"
            "return torch.stack([p & 0xF, p >> 4], dim=1).reshape(-1)[:n].to(torch.int8)",
            "A.judge_a4.7", region=1),
    Mistake("padding nibble kept", "p = torch.as_tensor(packed).reshape(-1).to(torch.int16)\n"
            "nib = torch.stack([p & 0xF, p >> 4], dim=1).reshape(-1)\n"
            "return torch.where(nib >= 8, nib - 16, nib).to(torch.int8)", "A.judge_a4.8", region=1),
)
_A5 = "s, e, m = code >> 7, (code >> 3) & 0xF, code & 0x7\nsign = -1.0 if s else 1.0\n"
MISTAKES_A5 = (
    Mistake("no subnormals", WRONG_A5_NO_SUBNORMAL, "A.e4m3_hint.1"),
    Mistake("exponent bias 8", _A5 + "if e == 15 and m == 7:\n    return float('nan')\nif e == 0:\n"
            "    return sign * 2.0 ** -6 * (m / 8)\nreturn sign * 2.0 ** (e - 8) * (1 + m / 8)",
            "A.e4m3_hint.2"),
    Mistake("IEEE infinities at the top exponent", _A5 + "if e == 15:\n    return float('nan') if m == 7 else sign * float('inf')\n"
            "if e == 0:\n    return sign * 2.0 ** -6 * (m / 8)\nreturn sign * 2.0 ** (e - 7) * (1 + m / 8)",
            "A.e4m3_hint.4"),
    Mistake("sign bit ignored", "e, m = (code >> 3) & 0xF, code & 0x7\nif e == 15 and m == 7:\n    return float('nan')\n"
            "if e == 0:\n    return 2.0 ** -6 * (m / 8)\nreturn 2.0 ** (e - 7) * (1 + m / 8)", "A.e4m3_hint.5"),
)
MISTAKES_A6 = (
    Mistake("all query heads cached", WRONG_A6_ALL_HEADS, "A.judge_a6.3"),
    Mistake("K only (no factor 2)", "return layers * n_kv_heads * head_dim * bytes_per_value", "A.judge_a6.4"),
)
MISTAKES_A7 = (
    Mistake("gradient not masked where clipped", WRONG_A7_NO_CLIP_MASK, "A.judge_a7.10"),
    Mistake("no straight-through (plain round)", "return torch.clamp(torch.round(x / scale), qmin, qmax) * scale",
            "A.judge_a7.9"),
    Mistake("no clamp in the forward pass", "q = torch.round(x / scale) * scale\nreturn x + (q - x).detach()",
            "A.judge_a7.4"),
)

QUESTIONS = [
    Question("A1", 2, "symmetric INT4 per-tensor quantization", inputs_a1, probe_a1, judge_a1,
             wrong_answers={0: WRONG_A1}, mistakes=MISTAKES_A1),
    Question("A2", 2, "dequantization and mean absolute error", inputs_a2, probe_a2, judge_a2,
             wrong_answers={1: WRONG_A2_MEAN}, mistakes=MISTAKES_A2),
    Question("A3", 3, "asymmetric 8-bit per-channel quantization", inputs_a3, probe_a3, judge_a3,
             wrong_answers={0: WRONG_A3_PER_TENSOR}, mistakes=MISTAKES_A3),
    Question("A4", 2, "INT4 packing and unpacking", inputs_a4, probe_a4, judge_a4,
             wrong_answers={0: WRONG_A4_HIGH_FIRST}, mistakes=MISTAKES_A4),
    Question("A5", 2, "decode an FP8 E4M3 byte", inputs_a5, probe_a5, judge_a5,
             wrong_answers={0: WRONG_A5_NO_SUBNORMAL}, mistakes=MISTAKES_A5),
    Question("A6", 1, "KV-cache bytes per token with grouped-query attention", inputs_a6, probe_a6, judge_a6,
             wrong_answers={0: WRONG_A6_ALL_HEADS}, mistakes=MISTAKES_A6),
    Question("A7", 2, "fake quantization with the straight-through estimator", inputs_a7, probe_a7, judge_a7,
             wrong_answers={0: WRONG_A7_NO_CLIP_MASK}, mistakes=MISTAKES_A7),
]
