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
            ("the lecture's vector [0.5, -0.3, 0.8, -0.1, 0.2]", np.array(LECTURE_W, dtype=f32), "torch"),
            ("exact ties (max|w| = 7, so s = 1)", np.array([7, 2.5, -0.5, 1.5, -3.5, 0.5, -7], dtype=f32), "torch"),
            ("a random 8x16 matrix", (rng.standard_normal((8, 16)) * rng.uniform(0.01, 2.0)).astype(f32), "torch"),
            ("a vector whose largest |w| is negative", neg, "torch"),
            ("an all-zero tensor", np.zeros(6, dtype=f32), "torch"),
            ("a NumPy array (not a tensor)", rng.standard_normal(10).astype(f32), "numpy"),
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
        return "did you divide by 8 (2**bits/2) instead of 7 (2**(bits-1) - 1)?"
    if near(scale, amax / 15) or near(scale, amax / 16):
        return "the signed INT4 range used here is [-7, 7], so s = max|w|/7 (15 or 16 steps is the unsigned range)"
    if w.size and near(scale, float(w.max()) / 7) and not near(scale, amax / 7):
        return "take the absolute value: s = max|w|/7, not max(w)/7 (the largest magnitude may be negative)"
    if near(scale, round(amax / 7, 4)) and not near(scale, amax / 7):
        return "do not round the scale (the lecture printed 0.1143, but the computation uses 0.8/7 exactly)"
    return "s = max|w| / (2**(4-1) - 1) = max|w|/7"


def _rounding_hint(got: np.ndarray, ratio: np.ndarray) -> str:
    def same(candidate: np.ndarray) -> bool:
        return np.array_equal(got, np.clip(candidate, -7, 7))

    if same(np.trunc(ratio)):
        return ("converting with .to(torch.int8) or int() truncates toward zero; "
                "round first with torch.round")
    if same(np.floor(ratio + 0.5)):
        return "floor(x + 0.5) rounds every half up; use torch.round, which rounds half to even (2.5 -> 2)"
    if same(np.sign(ratio) * np.floor(np.abs(ratio) + 0.5)):
        return ("that is round-half-away-from-zero (Rust's and C's round); this course rounds half to even "
                "like torch.round and NumPy (2.5 -> 2, -3.5 -> -4)")
    return "codes = clamp(torch.round(w / s), -7, 7)"


def judge_a1(inputs: Any, result: Any) -> str:
    torch = _torch()
    quant = _quant()
    cases = inputs["cases"]
    if not isinstance(result, list) or len(result) != len(cases):
        raise Fail(f"quantize_int4 results could not be collected; got {describe(result)}")
    for (label, w, kind), r in zip(cases, result):
        raised(r, "quantize_int4", label,
               "accept NumPy input too: start with w = torch.as_tensor(w, dtype=torch.float32)"
               if kind == "numpy" else None)
        if not (isinstance(r, (tuple, list)) and len(r) == 2):
            raise Fail(f"quantize_int4 must return a pair (codes, scale); got {describe(r)} for {label}")
        codes_v, scale_v = r
        if kind == "torch" and not (isinstance(codes_v, Arr) and codes_v.kind == "torch"):
            raise Fail(f"codes must be a torch tensor for a tensor input; got {describe(codes_v)} for {label}")
        codes = as_array(codes_v, "codes")
        scale = as_number(scale_v, "scale")
        if codes.shape != w.shape:
            raise Fail(f"codes must have the input's shape {tuple(w.shape)}; got {tuple(codes.shape)} for {label}")
        if not math.isfinite(scale) or (codes.dtype.kind == "f" and not np.isfinite(codes).all()):
            raise Fail(f"scale and codes must be finite; got scale {scale} for {label}",
                       "when max|w| = 0, w/s is 0/0 = NaN: use a scale of 1 (any positive number works)")
        if codes.dtype.kind not in "iu":
            raise Fail(f"codes must be integers (e.g. torch.int8); got dtype {getattr(codes_v, 'dtype', codes.dtype)}",
                       "torch.round returns floats: convert with .to(torch.int8)")
        if codes.size and (codes.min() < -7 or codes.max() > 7):
            raise Fail(f"codes must be round(w/s) with s = max|w|/7; got codes outside [-7, 7] "
                       f"(from {codes.min()} to {codes.max()}) for {label}", _scale_hint_a1(w, scale))
        ref = quant.quantize(torch.from_numpy(w.copy()), 4)
        ref_scale = float(ref.scale.reshape(-1)[0])
        ref_codes = ref.codes.numpy()
        amax = float(np.abs(w).max())
        if amax == 0.0:
            if not scale > 0:
                raise Fail(f"an all-zero tensor needs a usable scale (finite and > 0); got {scale}",
                           "when max|w| = 0, use s = 1 so that w/s is defined")
        elif not math.isclose(scale, ref_scale, rel_tol=1e-5):
            raise Fail(f"scale must be s = max|w|/7 = {ref_scale:.7g} for {label}; got {scale:.7g}",
                       _scale_hint_a1(w, scale))
        ratio = w.astype(np.float64) / (ref_scale if amax > 0 else 1.0)
        bad = _mismatches(codes, ref_codes, ratio, strict=label.startswith(("exact", "the lecture")))
        if len(bad):
            i = bad[0]
            raise Fail(f"codes must be clamp(round_half_even(w/s), -7, 7); {len(bad)} of {codes.size} codes differ "
                       f"for {label} (at index {tuple(int(k) for k in i)}: w/s = {_first(ratio, i):.4g}, "
                       f"got {_first(codes, i)}, expected {_first(ref_codes, i)})",
                       _rounding_hint(codes, ratio))
    first_codes, first_scale = result[0]
    shown = ", ".join(str(int(c)) for c in as_array(first_codes, "codes").tolist())
    return (f"codes and scale match lecture_lib.quant.quantize(w, 4) on {len(cases)} inputs; the lecture's "
            f"vector gives codes [{shown}] and s = {as_number(first_scale, 'scale'):.7g}")


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
            ("the lecture's codes [4, -3, 7, -1, 2] with s = 0.8/7", np.array(LECTURE_CODES, dtype=np.int8),
             float(s)),
            ("random 4x8 codes", rng.integers(-7, 8, size=(4, 8)).astype(np.int8), float(rng.uniform(0.001, 0.5))),
            ("all-zero codes", np.zeros(5, dtype=np.int8), 1.0),
        ],
        "mean_abs_error": [
            ("the lecture's vector and its INT4 reconstruction", w, w_hat),
            ("a random 3x5 pair", rw, (rw + rng.normal(0.0, 0.1, size=(3, 5))).astype(f32)),
            ("two equal tensors", rw, rw.copy()),
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
            raise Fail(f"dequantize_int4 must return a torch tensor; got {describe(r)} for {label}")
        got = r.value
        if got.dtype.kind != "f":
            raise Fail(f"dequantize_int4 must return floats (float32); got dtype {r.dtype} for {label}",
                       "convert the codes first: codes.to(torch.float32) * scale")
        if got.shape != codes.shape:
            raise Fail(f"dequantize_int4 must keep the shape {tuple(codes.shape)}; got {tuple(got.shape)}")
        expected = codes.astype(np.float64) * scale
        if not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
            hint = "w_hat = q * s"
            if np.allclose(got, codes.astype(np.float64) * round(scale, 4), rtol=1e-6, atol=1e-9):
                hint = "do not round the scale (the lecture's 0.4572 and 0.8001 come from multiplying by 0.1143)"
            elif np.allclose(got, codes, atol=1e-9):
                hint = "multiply the codes by the scale"
            elif scale != 0 and np.allclose(got, codes / scale, rtol=1e-6, atol=1e-9):
                hint = "multiply by the scale, do not divide"
            raise Fail(f"dequantize_int4 must return codes * scale; got different values for {label}", hint)


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
            hint = "mean |w - w_hat| over all elements"
            candidates = [
                (float(err.mean()), "take |w - w_hat| of each element before averaging (errors of opposite "
                                    "signs cancel otherwise)"),
                (abs(float(err.mean())), "take |w - w_hat| of each element before averaging, not |mean(w - w_hat)|"),
                (float(np.abs(err).sum()), "divide by the number of elements: it is a mean, not a sum"),
                (float((err ** 2).mean()), "this is the mean absolute error, not the mean squared error"),
                (float(np.abs(err).max()), "average the errors; the maximum is a different statistic"),
            ]
            for value, text in candidates:
                if math.isclose(got, value, rel_tol=1e-5, abs_tol=1e-12):
                    hint = text
                    break
            raise Fail(f"mean_abs_error must be mean(|w - w_hat|) = {expected:.6g} for {label}; got {got:.6g}", hint)
    return first


def judge_a2(inputs: Any, result: Any) -> str:
    if not isinstance(result, dict) or set(result) != {"dequantize", "mean_abs_error"}:
        raise Fail(f"results could not be collected; got {describe(result)}")
    _judge_dequantize(inputs["dequantize"], result["dequantize"])
    lecture_mae = _judge_mae(inputs["mean_abs_error"], result["mean_abs_error"])
    return (f"dequantize_int4 and mean_abs_error match the reference; the lecture's vector gives mean |error| "
            f"{lecture_mae:.6f} (= 9/350; the lecture printed 0.024286, which is wrong)")


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
            ("the lecture's row [[-0.4, 0.1, 0.7, 1.6, 2.1]]", np.array([ERRATA_ROW], dtype=f32)),
            ("a 6x24 matrix with very different row ranges (one row all positive, one all negative, one zero)",
             rows.astype(f32)),
            ("a random 16x64 matrix", big.astype(f32)),
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
        raise Fail(f"{what} must have one value per output channel (row), {rows} here; got one {what} for "
                   f"the whole tensor for {label}", "reduce over the input dim: w.amin(dim=1), w.amax(dim=1)")
    if arr.size == cols:
        raise Fail(f"{what} must have one value per row ({rows}); got one per column ({cols}) for {label}",
                   "reduce over dim=1 (the inputs of each output channel), not dim=0")
    raise Fail(f"{what} must have one value per row ({rows}); got {arr.size} values for {label}")


def judge_a3(inputs: Any, result: Any) -> str:
    torch = _torch()
    quant = _quant()
    cases = inputs["cases"]
    if not isinstance(result, list) or len(result) != len(cases):
        raise Fail(f"results could not be collected; got {describe(result)}")
    for (label, w), r in zip(cases, result):
        raised(r, "quantize_asym_per_channel", label)
        if not (isinstance(r, (tuple, list)) and len(r) == 3):
            raise Fail(f"quantize_asym_per_channel must return (codes, scale, zero_point); got {describe(r)}")
        codes_v, scale_v, zp_v = r
        if not (isinstance(codes_v, Arr) and codes_v.kind == "torch"):
            raise Fail(f"codes must be a torch tensor; got {describe(codes_v)} for {label}")
        if not _is_int_array(codes_v):
            raise Fail(f"codes must be integers in [0, 255] (torch.uint8); got dtype {codes_v.dtype}",
                       "convert after rounding and clamping: .to(torch.uint8)")
        codes = codes_v.value.astype(np.int64)
        if codes.shape != w.shape:
            raise Fail(f"codes must have the input's shape {tuple(w.shape)}; got {tuple(codes.shape)} for {label}")
        scale = _per_row(scale_v, "scale", w, label)
        zp = _per_row(zp_v, "zero_point", w, label)
        if not (np.isfinite(scale).all() and (scale > 0).all()):
            raise Fail(f"every scale must be finite and > 0; got {scale.tolist()} for {label}",
                       "an all-zero row has max - min = 0: use a scale of 1 for it")
        if not np.isfinite(zp).all() or not np.array_equal(zp, np.round(zp)) or zp.min() < 0 or zp.max() > 255:
            raise Fail(f"zero points must be integers z = round(-min/s) in [0, 255]; got {zp.tolist()} for {label}",
                       "widen the range to include 0 (min = min(w.min, 0), max = max(w.max, 0)) and mind "
                       "the minus sign in z = round(-min/s)")
        if codes.min() < 0 or codes.max() > 255:
            raise Fail(f"codes must lie in [0, 255]; got {codes.min()}..{codes.max()} for {label}",
                       "clamp round(w/s) + z to [0, 255]")
        ref = quant.quantize(torch.from_numpy(w.copy()), 8, symmetric=False, axis=0)
        ref_s = ref.scale.numpy().astype(np.float64).reshape(-1)
        ref_z = ref.zero_point.numpy().astype(np.float64).reshape(-1)
        ref_q = ref.codes.numpy().astype(np.int64)
        live = (w != 0).any(axis=1)
        lo = np.minimum(w.min(axis=1), 0).astype(np.float64)
        hi = np.maximum(w.max(axis=1), 0).astype(np.float64)
        for i in np.flatnonzero(live):
            if not math.isclose(scale[i], ref_s[i], rel_tol=1e-5):
                hint = "s = (max - min) / (2**8 - 1) per row, with the range widened to include 0"
                if math.isclose(scale[i], (hi[i] - lo[i]) / 256, rel_tol=1e-4):
                    hint = "8 bits give 2**8 - 1 = 255 steps between the 256 codes, so divide by 255"
                elif math.isclose(scale[i], float(w[i].max() - w[i].min()) / 255, rel_tol=1e-4):
                    hint = ("widen the range to include 0 first: min = min(w.min, 0), max = max(w.max, 0) "
                            "(this row is all positive or all negative)")
                raise Fail(f"scale of row {i} must be (max - min)/255 = {ref_s[i]:.6g} for {label}; got "
                           f"{scale[i]:.6g}", hint)
            ratio = -lo[i] / ref_s[i]
            if zp[i] != ref_z[i] and not (abs(zp[i] - ref_z[i]) == 1 and _near_tie(np.array(ratio))):
                raise Fail(f"zero point of row {i} must be z = round(-min/s) = {int(ref_z[i])} for {label}; "
                           f"got {int(zp[i])}", "z = round(-min / s), with min = min(w.min, 0)")
        for i in np.flatnonzero(~live):
            if not (codes[i] == zp[i]).all():
                raise Fail(f"an all-zero row must quantize to codes equal to its zero point; got "
                           f"{sorted(set(codes[i].tolist()))} for row {i} with z = {int(zp[i])} for {label}")
        ratio = w.astype(np.float64) / ref_s[:, None]
        bad = _mismatches(codes, ref_q, ratio, strict=label.startswith("the lecture"))
        bad = np.array([b for b in bad if live[b[0]]])
        if len(bad):
            i = bad[0]
            hint = "codes = clamp(round(w/s) + z, 0, 255)"
            shifted = np.clip(np.round((w.astype(np.float64) - lo[:, None]) / ref_s[:, None]), 0, 255)
            if np.array_equal(codes[live], shifted[live]):
                hint = "compute round(w/s) + z (not round((w - min)/s)), so that w = 0 maps exactly to the code z"
            raise Fail(f"codes must be clamp(round(w/s) + z, 0, 255); {len(bad)} of {codes.size} differ for {label} "
                       f"(at {tuple(int(k) for k in i)}: got {_first(codes, i)}, expected {_first(ref_q, i)})", hint)
    c0, s0, z0 = result[0]
    shown = ", ".join(str(int(c)) for c in c0.value.reshape(-1).tolist())
    s_first = float(as_array(s0, "scale").reshape(-1)[0])
    z_first = int(as_array(z0, "zero_point").reshape(-1)[0])
    return (f"codes, scales and zero points match lecture_lib.quant.quantize(w, 8, symmetric=False, axis=0) on "
            f"{len(cases)} matrices; the lecture's row gives s = {s_first:.5g}, z = {z_first}, codes [{shown}]")


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
            ("the codes [1, 2, -1, -8]", np.array([1, 2, -1, -8], dtype=np.int8)),
            ("all 16 codes -8..7", np.arange(-8, 8, dtype=np.int8)),
            ("an odd number of codes (7)", rng.integers(-8, 8, size=7).astype(np.int8)),
            ("1000 random codes", rng.integers(-8, 8, size=1000).astype(np.int8)),
        ],
        "unpack": [
            ("the bytes [0x21, 0x8F]", np.array([0x21, 0x8F], dtype=np.uint8), 4),
            ("5 random bytes holding 9 codes", rng.integers(0, 256, size=5).astype(np.uint8), 9),
            ("300 random bytes", rng.integers(0, 256, size=300).astype(np.uint8), 600),
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
        return "the FIRST code of each pair goes into the LOW nibble: byte = (c0 & 0xF) | ((c1 & 0xF) << 4)"
    offset = (even.astype(np.int64) + 8).reshape(-1, 2)
    if got.size == offset.shape[0] and np.array_equal(got.astype(np.int64), offset[:, 0] | (offset[:, 1] << 4)):
        return "store two's complement nibbles (c & 0xF, so -1 -> 0xF), not c + 8"
    ref = quant.pack_int4(torch.from_numpy(codes.copy())).numpy()
    if got.size != ref.size:
        return f"n codes need ceil(n/2) bytes ({ref.size} here); pad an odd count with one zero code"
    return "byte i = (codes[2i] & 0xF) | ((codes[2i+1] & 0xF) << 4)"


def judge_a4(inputs: Any, result: Any) -> str:
    torch = _torch()
    quant = _quant()
    if not isinstance(result, dict) or set(result) != {"pack", "unpack"}:
        raise Fail(f"results could not be collected; got {describe(result)}")
    for (label, codes), r in zip(inputs["pack"], result["pack"]):
        raised(r, "pack_int4", label)
        if not (isinstance(r, Arr) and r.kind == "torch" and r.dtype == "torch.uint8"):
            raise Fail(f"pack_int4 must return a torch.uint8 tensor; got {describe(r)} for {label}",
                       "build the bytes as integers and convert with .to(torch.uint8)")
        got = r.value.reshape(-1)
        ref = quant.pack_int4(torch.from_numpy(codes.copy())).numpy()
        if got.shape != ref.shape or not np.array_equal(got, ref):
            raise Fail(f"pack_int4 must put code 2i in the low nibble and 2i+1 in the high nibble of byte i; "
                       f"got {got[:4].tolist()}... instead of {ref[:4].tolist()}... for {label}",
                       _pack_hint(got, codes))
    for (label, packed, n), r in zip(inputs["unpack"], result["unpack"]):
        raised(r, "unpack_int4", label)
        if not (isinstance(r, Arr) and r.value.dtype.kind in "iu"):
            raise Fail(f"unpack_int4 must return an integer tensor (torch.int8); got {describe(r)} for {label}")
        got = r.value.reshape(-1).astype(np.int64)
        ref = quant.unpack_int4(torch.from_numpy(packed.copy()), n).numpy().astype(np.int64)
        if got.shape != ref.shape or not np.array_equal(got, ref):
            hint = "low nibble first, then sign-extend: a nibble v >= 8 is the code v - 16"
            if got.shape == ref.shape and np.array_equal(got, ref & 0xF):
                hint = "sign-extend: nibbles 8..15 are the negative codes -8..-1 (v - 16)"
            elif got.shape != ref.shape:
                hint = f"return exactly n = {n} codes (drop the padding nibble of an odd count)"
            raise Fail(f"unpack_int4 must invert pack_int4; got {got[:4].tolist()}... instead of "
                       f"{ref[:4].tolist()}... for {label}", hint)
    first = result["pack"][0].value.reshape(-1).tolist()
    return (f"pack_int4 and unpack_int4 match lecture_lib.quant on {len(inputs['pack']) + len(inputs['unpack'])} "
            f"inputs; [1, 2, -1, -8] packs to bytes {[hex(b) for b in first]}")


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
        return "exponent field 0 is subnormal: value = (-1)^s * 2^(1-7) * (m/8), no implicit leading 1"
    if e > 0 and math.isclose(got, sign * 2.0 ** (e - 8) * (1 + m / 8), rel_tol=1e-6):
        return "the E4M3 exponent bias is 7: value = (-1)^s * 2^(e-7) * (1 + m/8)"
    if e == 15 and m == 7:
        return "S.1111.111 (0x7F, 0xFF) is NaN in E4M3FN (there is no infinity); return float('nan')"
    if e == 15 and not math.isnan(got) and math.isinf(got):
        return "E4M3FN has no infinity: exponent 1111 still holds normal numbers (up to 448); only m = 111 is NaN"
    if math.isclose(got, -sign * abs(got), rel_tol=0) and got != 0:
        return "bit 7 is the sign: 1 means negative"
    return "fields: sign = bit 7, exponent = bits 6..3, mantissa = bits 2..0"


def judge_a5(inputs: Any, result: Any) -> str:
    torch = _torch()
    from lecture_lib import fp8

    codes = inputs["codes"]
    if not isinstance(result, list) or len(result) != len(codes):
        raise Fail(f"results could not be collected; got {describe(result)}")
    ref = fp8.decode(torch.tensor(codes, dtype=torch.uint8), "e4m3").double().numpy()
    for code, r, expected in zip(codes, result, ref):
        raised(r, "decode_e4m3", f"code 0x{code:02X}")
        got = as_number(r, f"decode_e4m3(0x{code:02X})")
        if math.isnan(expected):
            if not math.isnan(got):
                raise Fail(f"decode_e4m3(0x{code:02X}) must be NaN; got {got!r}", _e4m3_hint(code, got))
            continue
        if math.isnan(got) or got != expected or math.copysign(1, got) != math.copysign(1, expected):
            raise Fail(f"decode_e4m3(0x{code:02X}) (bits {code >> 7}.{(code >> 3) & 0xF:04b}.{code & 7:03b}) must be "
                       f"{float(expected)!r}; got {got!r}", _e4m3_hint(code, got))
    return "all 256 E4M3 codes decode exactly like lecture_lib.fp8.decode (max 0x7E = 448, 0x7F = NaN, -0.0 kept)"


WRONG_A5_NO_SUBNORMAL = """\
s, e, m = code >> 7, (code >> 3) & 0xF, code & 0x7
if e == 15 and m == 7:
    return float("nan")
return (-1.0) ** s * 2.0 ** (e - 7) * (1 + m / 8)
"""


# ================================================================================================== A6
def inputs_a6(rng: np.random.Generator) -> dict[str, Any]:
    cases = [
        ("LLaMA-2-70B (80 layers, 64 heads, 8 KV heads, head_dim 128, fp16)", 80, 64, 8, 128, 2.0),
        ("multi-head attention (n_kv_heads = n_heads = 32), fp16", 32, 32, 32, 128, 2.0),
        ("an INT4 cache (0.5 bytes per value)", 40, 40, 8, 128, 0.5),
    ]
    for _ in range(3):
        kv = int(rng.choice([1, 2, 4, 8]))
        heads = kv * int(rng.integers(1, 9))
        cases.append((f"random model ({heads} heads, {kv} KV heads)", int(rng.integers(1, 96)), heads, kv,
                      int(rng.choice([64, 80, 96, 128])), float(rng.choice([0.5, 1.0, 2.0, 4.0]))))
    return {"cases": cases}


def probe_a6(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "kv_cache_bytes_per_token")
    return [call(f, layers, heads, kv, d, b) for _label, layers, heads, kv, d, b in inputs["cases"]]


def judge_a6(inputs: Any, result: Any) -> str:
    from lecture_lib import kvcache

    cases = inputs["cases"]
    if not isinstance(result, list) or len(result) != len(cases):
        raise Fail(f"results could not be collected; got {describe(result)}")
    for (label, layers, heads, kv, d, b), r in zip(cases, result):
        raised(r, "kv_cache_bytes_per_token", label)
        got = as_number(r, "kv_cache_bytes_per_token(...)")
        expected = float(kvcache.kv_cache_bytes(layers, kv, d, 1, 1, b))
        if not math.isclose(got, expected, rel_tol=1e-9):
            hint = "bytes per token = 2 (K and V) * layers * n_kv_heads * head_dim * bytes_per_value"
            if math.isclose(got, expected * heads / kv, rel_tol=1e-9) and heads != kv:
                hint = ("with grouped-query attention only the n_kv_heads key/value heads are cached "
                        "(the query heads share them), not all n_heads")
            elif math.isclose(got, expected / 2, rel_tol=1e-9):
                hint = "count both K and V: the factor 2"
            raise Fail(f"kv_cache_bytes_per_token must be {expected:g} for {label}; got {got:g}", hint)
    mb = float(kvcache.kv_cache_bytes(80, 8, 128, 1, 1, 2)) / 1e6
    return (f"bytes per token match on {len(cases)} models; LLaMA-2-70B with GQA needs {mb:.2f} MB per token "
            f"(the lecture's multi-head figure 2.62 MB is 8x too large)")


WRONG_A6_ALL_HEADS = """\
return 2 * layers * n_heads * head_dim * bytes_per_value
"""


# ================================================================================================== A7
def inputs_a7(rng: np.random.Generator) -> dict[str, Any]:
    f32 = np.float32
    x = rng.uniform(-2.0, 2.0, size=40).astype(f32)
    return {
        "cases": [
            ("x = [-2.0, -0.3, 0.0, 0.26, 0.9, 2.4] with s = 0.25 on INT4 (-7..7)",
             np.array([-2.0, -0.3, 0.0, 0.26, 0.9, 2.4], dtype=f32), 0.25, -7, 7),
            ("40 values in [-2, 2] with s = 0.1 on INT4 (-7..7)", x, 0.1, -7, 7),
            ("a 3x8 matrix with s = 0.05 on INT8 (-127..127)",
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
        raise Fail(f"results could not be collected; got {describe(result)}")
    for (label, x, scale, qmin, qmax), (y, grad) in zip(cases, result):
        raised(y, "fake_quant_ste", label)
        if not (isinstance(y, Arr) and y.kind == "torch"):
            raise Fail(f"fake_quant_ste must return a torch tensor; got {describe(y)} for {label}")
        xt = torch.from_numpy(x.copy()).requires_grad_(True)
        ref = quant.FakeQuantizeSTE.apply(xt, torch.tensor(scale), torch.tensor(0.0), float(qmin), float(qmax))
        upstream = torch.arange(1, ref.numel() + 1, dtype=ref.dtype).reshape(ref.shape)
        ref.backward(upstream)
        if y.value.shape != x.shape or not np.allclose(y.value, ref.detach().numpy(), rtol=1e-6, atol=1e-7):
            hint = "forward: clamp(round(x / s), qmin, qmax) * s"
            unclamped = np.round(x.astype(np.float64) / scale) * scale
            if y.value.shape == x.shape and np.allclose(y.value, unclamped, atol=1e-6):
                hint = "clamp the codes to [qmin, qmax] before multiplying by the scale"
            raise Fail(f"fake_quant_ste(x) must equal dequantize(quantize(x)) in the forward pass for {label}", hint)
        if grad is None:
            raise Fail(f"fake_quant_ste must be differentiable (gradients must reach x) for {label}",
                       "torch.round has zero gradient: use x + (q - x).detach() or a torch.autograd.Function")
        g = as_array(grad, "x.grad")
        expected = xt.grad.numpy()
        if g.shape != x.shape or not np.allclose(g, expected, atol=1e-6):
            hint = ("straight-through: the gradient is 1 where round(x/s) lies inside [qmin, qmax] and 0 where the "
                    "clamp cuts (the clamp keeps its true derivative)")
            if np.allclose(g, 0):
                hint = "round() has derivative 0 almost everywhere; the STE replaces it by 1 (pass the gradient through)"
            elif np.allclose(g, upstream.numpy()):
                hint = "values outside the clipping range must get gradient 0 (mask by qmin <= round(x/s) <= qmax)"
            raise Fail(f"the gradient of fake_quant_ste must be the clipped straight-through estimator for {label}",
                       hint)
    return ("forward = clamp(round(x/s))*s and gradient = 1 inside the range, 0 where clipped, on "
            f"{len(cases)} inputs (the same as lecture_lib.quant.fake_quantize)")


WRONG_A7_NO_CLIP_MASK = """\
q = torch.clamp(torch.round(x / scale), qmin, qmax) * scale
return x + (q - x).detach()
"""

# ================================================================================== the table of real mistakes
_A1 = "w = torch.as_tensor(w, dtype=torch.float32)\n"
MISTAKES_A1 = (
    Mistake("divides by 8", WRONG_A1, "did you divide by 8"),
    Mistake("floor(x + 0.5)", _A1 + "amax = float(w.abs().max())\ns = amax / 7 if amax else 1.0\n"
            "return torch.clamp(torch.floor(w / s + 0.5), -7, 7).to(torch.int8), s", "rounds every half up"),
    Mistake("truncates with .to(int8)", _A1 + "amax = float(w.abs().max())\ns = amax / 7 if amax else 1.0\n"
            "return torch.clamp(w / s, -7, 7).to(torch.int8), s", "truncates toward zero"),
    Mistake("max(w) instead of max|w|", _A1 + "s = float(w.max()) / 7 if float(w.max()) else 1.0\n"
            "return torch.clamp(torch.round(w / s), -7, 7).to(torch.int8), s", "take the absolute value"),
    Mistake("no guard for an all-zero tensor", _A1 + "s = float(w.abs().max()) / 7\n"
            "return torch.clamp(torch.round(w / s), -7, 7).to(torch.int8), s", "an all-zero tensor needs a usable scale"),
    Mistake("float codes", "amax = float(w.abs().max())\ns = amax / 7 if amax else 1.0\n"
            "return torch.clamp(torch.round(w / s), -7, 7), s", "codes must be integers"),
)
MISTAKES_A2 = (
    Mistake("rounded scale", "return torch.as_tensor(codes).to(torch.float32) * round(scale, 4)",
            "do not round the scale"),
    Mistake("divides by the scale", "return torch.as_tensor(codes).to(torch.float32) / scale",
            "multiply by the scale, do not divide"),
    Mistake("sum instead of mean", "return float((torch.as_tensor(w) - torch.as_tensor(w_hat)).abs().sum())",
            "it is a mean, not a sum", region=1),
    Mistake("squared error", "return float(((torch.as_tensor(w) - torch.as_tensor(w_hat)) ** 2).mean())",
            "not the mean squared error", region=1),
    Mistake("no absolute value", WRONG_A2_MEAN, "errors of opposite signs cancel", region=1),
)
_A3 = "w = torch.as_tensor(w, dtype=torch.float32)\n"
MISTAKES_A3 = (
    Mistake("range not widened to include 0", _A3 + "lo, hi = w.amin(dim=1), w.amax(dim=1)\n"
            "s = torch.where(hi > lo, (hi - lo) / 255, torch.ones_like(hi))\nz = torch.round(-lo / s)\n"
            "return torch.clamp(torch.round(w / s[:, None]) + z[:, None], 0, 255).to(torch.uint8), s, z",
            "widen the range to include 0"),
    Mistake("codes from (w - min) / s", _A3 + "lo = w.amin(dim=1).clamp(max=0)\nhi = w.amax(dim=1).clamp(min=0)\n"
            "s = torch.where(hi > lo, (hi - lo) / 255, torch.ones_like(hi))\nz = torch.round(-lo / s)\n"
            "return torch.clamp(torch.round((w - lo[:, None]) / s[:, None]), 0, 255).to(torch.uint8), s, z",
            "so that w = 0 maps exactly"),
    Mistake("divides by 256", _A3 + "lo = w.amin(dim=1).clamp(max=0)\nhi = w.amax(dim=1).clamp(min=0)\n"
            "s = torch.where(hi > lo, (hi - lo) / 256, torch.ones_like(hi))\nz = torch.round(-lo / s)\n"
            "return torch.clamp(torch.round(w / s[:, None]) + z[:, None], 0, 255).to(torch.uint8), s, z",
            "so divide by 255"),
    Mistake("one scale for the whole tensor", WRONG_A3_PER_TENSOR, "must have one value per output channel"),
    Mistake("reduced over the wrong dim", _A3 + "lo = w.amin(dim=0).clamp(max=0)\nhi = w.amax(dim=0).clamp(min=0)\n"
            "s = torch.where(hi > lo, (hi - lo) / 255, torch.ones_like(hi))\nz = torch.round(-lo / s)\n"
            "return torch.clamp(torch.round(w / s) + z, 0, 255).to(torch.uint8), s, z", "not dim=0"),
)
_A4 = "c = torch.as_tensor(codes).reshape(-1).to(torch.int16)\nif c.numel() % 2:\n    c = torch.cat([c, c.new_zeros(1)])\n"
MISTAKES_A4 = (
    Mistake("first code in the high nibble", WRONG_A4_HIGH_FIRST, "the FIRST code of each pair goes into the LOW nibble"),
    Mistake("offset c + 8 instead of two's complement", _A4 + "nib = (c + 8).reshape(-1, 2)\n"
            "return (nib[:, 0] | (nib[:, 1] << 4)).to(torch.uint8)", "not c + 8"),
    Mistake("no sign extension", "p = torch.as_tensor(packed).reshape(-1).to(torch.int16)\n"
            "return torch.stack([p & 0xF, p >> 4], dim=1).reshape(-1)[:n].to(torch.int8)",
            "sign-extend: nibbles 8..15", region=1),
    Mistake("padding nibble kept", "p = torch.as_tensor(packed).reshape(-1).to(torch.int16)\n"
            "nib = torch.stack([p & 0xF, p >> 4], dim=1).reshape(-1)\n"
            "return torch.where(nib >= 8, nib - 16, nib).to(torch.int8)", "return exactly n =", region=1),
)
_A5 = "s, e, m = code >> 7, (code >> 3) & 0xF, code & 0x7\nsign = -1.0 if s else 1.0\n"
MISTAKES_A5 = (
    Mistake("no subnormals", WRONG_A5_NO_SUBNORMAL, "exponent field 0 is subnormal"),
    Mistake("exponent bias 8", _A5 + "if e == 15 and m == 7:\n    return float('nan')\nif e == 0:\n"
            "    return sign * 2.0 ** -6 * (m / 8)\nreturn sign * 2.0 ** (e - 8) * (1 + m / 8)",
            "the E4M3 exponent bias is 7"),
    Mistake("IEEE infinities at the top exponent", _A5 + "if e == 15:\n    return float('nan') if m == 7 else sign * float('inf')\n"
            "if e == 0:\n    return sign * 2.0 ** -6 * (m / 8)\nreturn sign * 2.0 ** (e - 7) * (1 + m / 8)",
            "E4M3FN has no infinity"),
    Mistake("sign bit ignored", "e, m = (code >> 3) & 0xF, code & 0x7\nif e == 15 and m == 7:\n    return float('nan')\n"
            "if e == 0:\n    return 2.0 ** -6 * (m / 8)\nreturn 2.0 ** (e - 7) * (1 + m / 8)", "bit 7 is the sign"),
)
MISTAKES_A6 = (
    Mistake("all query heads cached", WRONG_A6_ALL_HEADS, "only the n_kv_heads key/value heads are cached"),
    Mistake("K only (no factor 2)", "return layers * n_kv_heads * head_dim * bytes_per_value", "the factor 2"),
)
MISTAKES_A7 = (
    Mistake("gradient not masked where clipped", WRONG_A7_NO_CLIP_MASK, "must get gradient 0"),
    Mistake("no straight-through (plain round)", "return torch.clamp(torch.round(x / scale), qmin, qmax) * scale",
            "round() has derivative 0 almost everywhere"),
    Mistake("no clamp in the forward pass", "q = torch.round(x / scale) * scale\nreturn x + (q - x).detach()",
            "clamp the codes to [qmin, qmax] before multiplying"),
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
