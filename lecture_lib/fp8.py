"""8-bit floating point (FP8): an E4M3FN / E5M2 codec built from bit fields, plus scaled FP8.

Taught in notebook Part A (``notebooks/partA_quantization.ipynb``): Zone 2 (the number line of every FP8 value),
Zone 3 (the formats, derived below and checked numerically) and Zone 4 (this code).

The formats (OCP 8-bit floating point specification)
----------------------------------------------------
A code is ``S EEEE MMM`` (E4M3) or ``S EEEEE MM`` (E5M2): sign, biased exponent ``e``, mantissa ``m``::

    normal    (e > 0):  (-1)**S * 2**(e - bias) * (1 + m / 2**M)
    subnormal (e = 0):  (-1)**S * 2**(1 - bias) * (m / 2**M)         (e = m = 0 is +0 or -0)

* ``"e4m3"`` = E4M3FN: bias 7, **no infinities**; only ``S.1111.111`` (0x7F, 0xFF) is NaN, so the top
  exponent still holds normal numbers and the largest finite value is ``2**8 * (1 + 6/8) = 448``
  (not 480: mantissa 111 at that exponent is the NaN). Min normal ``2**-6``, min subnormal ``2**-9``.
* ``"e5m2"``: bias 15, IEEE-like: exponent 11111 is inf (mantissa 00) or NaN. Max ``2**15 * 1.75 = 57344``,
  min normal ``2**-14``, min subnormal ``2**-16``.

Encoding rounds to nearest, ties to even, with gradual underflow (subnormals) and signed zero. Overflow
is decided after rounding, as IEEE 754 does: E4M3 values up to 464 (the midpoint between 448 and the
non-existent 480, a tie that goes to the even mantissa 110) round to 448, anything larger overflows;
E5M2 overflows from 61440 on (the midpoint 57344..65536 ties to the even 65536). On overflow,
``saturate=True`` gives ±max finite (also for ±inf input), ``saturate=False`` gives NaN (E4M3, which has
no inf) or ±inf (E5M2). NaN encodes to the NaN code 0x7F (0xFF when its sign bit is set).

Which library does what: torch 2.13's ``.to(torch.float8_e4m3fn)`` *saturates* (1000 -> 448, inf -> 448),
``ml_dtypes.float8_e4m3fn`` gives NaN above 464; both give ±inf for E5M2 overflow. Clamp explicitly when it
matters. (The tests use those libraries as oracles; this module uses only integer arithmetic.)

Scaled FP8: ``s = amax / max_finite`` (per tensor or per channel), ``codes = encode(x / s)``,
``x_hat = decode(codes) * s`` -- so the largest magnitude lands on the top of the format's range.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from lecture_lib._checks import as_tensor

__all__ = [
    "FP8_FORMATS",
    "encode",
    "decode",
    "fp8_round",
    "value_table",
    "format_info",
    "ScaledFP8",
    "quantize_fp8",
    "dequantize_fp8",
    "quantize_weights_fp8",
]

FP8_FORMATS = ("e4m3", "e5m2")


@dataclass(frozen=True)
class _Spec:
    name: str
    ebits: int
    mbits: int
    bias: int
    has_inf: bool

    @property
    def emin(self) -> int:  # unbiased exponent of the smallest normal
        return 1 - self.bias

    @property
    def max_mag(self) -> int:  # 7-bit magnitude code of the largest finite value
        if self.has_inf:  # top exponent reserved: largest normal has exponent all-ones minus one
            return ((2**self.ebits - 2) << self.mbits) | (2**self.mbits - 1)
        return 2 ** (self.ebits + self.mbits) - 2  # all ones is NaN; one below is the max

    @property
    def overflow_mag(self) -> int:  # code magnitude written on overflow without saturation
        return (2**self.ebits - 1) << self.mbits if self.has_inf else 0x7F


def _spec(fmt: Any) -> _Spec:
    if fmt == "e4m3":
        return _Spec("e4m3", 4, 3, 7, False)
    if fmt == "e5m2":
        return _Spec("e5m2", 5, 2, 15, True)
    raise ValueError(f"fmt must be one of {FP8_FORMATS} ('e4m3' = OCP E4M3FN, 'e5m2'); got {fmt!r}")


def _as_tensor(x: Any, name: str) -> torch.Tensor:
    return as_tensor(name, x).detach()


# --------------------------------------------------------------------------------------------- codec
def encode(x: Any, fmt: str = "e4m3", *, saturate: bool = True) -> torch.Tensor:
    """Round float values to FP8 codes (uint8, same shape) with round-to-nearest-even.

    Works on the IEEE bit fields of the input (float32; float64 input is processed in float64 so there is
    no double rounding; float16/bfloat16 are widened exactly to float32). float32 input takes a shortcut
    with the same result: a look-up in a table of this formula's answers for every class of float32
    that it cannot tell apart (top 16 bits with "are the low 16 bits non-zero?" in their lowest bit, see
    ``_f32_code_table``). For a finite value
    ``v = sig * 2**E`` with unbiased exponent ``p = floor(log2 |v|)``, the spacing of FP8 values around it
    is ``2**(max(p, emin) - M)``; the code magnitude is ``((max(p, emin) - emin) << M) + n`` where
    ``n = round_half_even(|v| / spacing)`` -- one formula for subnormals, normals, and the carry into the
    next binade. Magnitudes above the largest finite code overflow (see the module docstring).
    """
    spec = _spec(fmt)
    if not isinstance(saturate, (bool, np.bool_)):
        raise TypeError(f"saturate must be a bool; got {type(saturate).__name__}")
    t = _as_tensor(x, "x")
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.to(torch.float32)
    if t.dtype == torch.float32:
        return _encode_f32_by_table(t, spec, bool(saturate))
    if t.dtype == torch.float64:
        return _encode_bits(t.contiguous().view(torch.int64), spec, bool(saturate))
    raise TypeError(f"x must have a floating dtype (float16, bfloat16, float32, float64); got {t.dtype}")


def _encode_bits(bits: torch.Tensor, spec: _Spec, saturate: bool) -> torch.Tensor:
    """The bit-arithmetic encoder on the IEEE bit patterns ``bits`` (int32 = float32, int64 = float64)."""
    src_e, src_m = (8, 23) if bits.dtype == torch.int32 else (11, 52)
    src_bias = 2 ** (src_e - 1) - 1
    src_top = 2**src_e - 1

    neg = bits < 0  # the sign bit
    mag = bits & ((1 << (src_e + src_m)) - 1)  # |x| as a bit pattern
    exp_field = mag >> src_m
    is_nan = mag > (src_top << src_m)  # exponent all ones, mantissa non-zero
    # Significand with the implicit leading 1. Source subnormals (below 2**-126 or 2**-1022) are far
    # below half the FP8 minimum and become 0, like zero itself.
    sig = torch.where(exp_field > 0, (mag & ((1 << src_m) - 1)) | (1 << src_m), 0)
    p = exp_field - src_bias  # unbiased exponent: |x| = sig * 2**(p - src_m)
    p_eff = torch.clamp(p, min=spec.emin)  # below emin the FP8 spacing stops shrinking (subnormals)
    # FP8 spacing is 2**(p_eff - M): drop `shift` low bits of sig; >= src_m + 2 bits always gives 0.
    shift = torch.clamp(p_eff - p + (src_m - spec.mbits), max=src_m + 2)
    # Round half to even: add (half - 1) plus the lowest kept bit, then truncate.
    lsb = (sig >> shift) & 1
    n = (sig + ((torch.ones_like(shift) << (shift - 1)) - 1) + lsb) >> shift
    code_mag = ((p_eff - spec.emin) << spec.mbits) + n  # n == 2**M carries into the next exponent

    # Overflow is judged after rounding; inf lands here too (its exponent field is the largest).
    code_mag = torch.where(code_mag > spec.max_mag, spec.max_mag if saturate else spec.overflow_mag, code_mag)
    code_mag = torch.where(is_nan, 0x7F, code_mag)
    return (code_mag + neg * 128).to(torch.uint8)


_CHUNK = 1 << 16  # elements per step of the table encoder: its int32 scratch stays in the CPU cache


@functools.lru_cache(maxsize=None)
def _f32_code_table(fmt: str, saturate: bool) -> torch.Tensor:
    """Code of every float32 *class*, indexed by ``hi | sticky`` (2**16 uint8 entries).

    ``hi`` = top 16 bits of the float32 (sign, 8 exponent bits, top 7 mantissa bits), ``sticky`` = "are the
    low 16 bits non-zero?", OR-ed into the lowest bit of ``hi``. FP8 keeps at most 3 mantissa bits, so the
    guard bit (the first dropped bit) is always among the top 7 and the low 16 bits only matter through the
    sticky bit: whether a value is exactly on a tie / the underflow or overflow midpoint, or a hair above it
    (they also tell inf from NaN). Folding sticky into bit 16 loses nothing: every rounding boundary
    (a midpoint, a power of two, an FP8 value) has 5 significant bits or fewer, so its bits 17..0 are zero,
    and all the floats strictly between two consecutive multiples of 2**17 (in bit-pattern order) round
    alike. An odd ``hi`` already lies strictly inside such a gap, and an even ``hi`` with sticky = 1 lies in
    the same gap as ``hi + 1``. So one representative ``index << 16`` per entry, run through the
    bit-arithmetic encoder, gives the code of every float32 with that index (checked for every top half
    in tests/test_fp8.py). Cached per (fmt, saturate); read only.
    """
    idx = torch.arange(1 << 16, dtype=torch.int64)
    rep = idx << 16
    rep = torch.where(rep >= 1 << 31, rep - (1 << 32), rep).to(torch.int32)  # as a signed bit pattern
    return _encode_bits(rep, _spec(fmt), saturate)


def _encode_f32_by_table(t: torch.Tensor, spec: _Spec, saturate: bool) -> torch.Tensor:
    """float32 -> codes by one table look-up per element: ``table[(bits >> 16 & 0xFFFF) | (low 16 bits != 0)]``.

    The index takes five in-place integer operations on a cache-sized chunk: ``low = bits & 0xFFFF``;
    ``low + 0xFFFF`` carries into bit 16 exactly when ``low != 0``; OR-ing that into ``bits`` sets bit 16
    (the lowest bit of the top half) for the sticky case; then ``>> 16`` and ``& 0xFFFF`` (the shift is
    arithmetic, so the mask drops the copied sign bits).
    """
    table = _f32_code_table(spec.name, saturate)
    bits = t.contiguous().view(torch.int32).reshape(-1)
    n = bits.numel()
    out = torch.empty(n, dtype=torch.uint8)
    idx = torch.empty(min(_CHUNK, n), dtype=torch.int32)
    for start in range(0, n, _CHUNK):
        b = bits[start : start + _CHUNK]
        i = idx[: b.numel()]
        torch.bitwise_and(b, 0xFFFF, out=i)
        i.add_(0xFFFF)  # bit 16 set <=> the low 16 bits are not all zero (the sticky bit)
        i.bitwise_or_(b)
        i.bitwise_right_shift_(16)
        i.bitwise_and_(0xFFFF)
        torch.index_select(table, 0, i, out=out[start : start + b.numel()])
    return out.reshape(t.shape)


def _table(spec: _Spec) -> torch.Tensor:
    """float32 value of each of the 256 codes, from the bit fields."""
    codes = torch.arange(256, dtype=torch.int64)
    s = codes >> 7
    e = (codes >> spec.mbits) & (2**spec.ebits - 1)
    m = codes & (2**spec.mbits - 1)
    sig = torch.where(e > 0, m + 2**spec.mbits, m).to(torch.float64)
    exp = torch.where(e > 0, e - spec.bias, torch.full_like(e, spec.emin)) - spec.mbits
    val = torch.ldexp(sig, exp.to(torch.float64))
    val = torch.where(s == 1, -val, val)
    top = e == 2**spec.ebits - 1
    if spec.has_inf:
        val = torch.where(top & (m == 0), torch.where(s == 1, -torch.inf, torch.inf), val)
        val = torch.where(top & (m != 0), torch.nan, val)
    else:
        val = torch.where(top & (m == 2**spec.mbits - 1), torch.nan, val)
    return val.to(torch.float32)


def decode(codes: Any, fmt: str = "e4m3") -> torch.Tensor:
    """FP8 codes (uint8, or any integer dtype with values 0..255) -> exact float32 values, same shape."""
    spec = _spec(fmt)
    c = _as_tensor(codes, "codes")
    if c.dtype.is_floating_point or c.dtype.is_complex or c.dtype == torch.bool:
        raise TypeError(f"codes must be an integer tensor (uint8 FP8 codes); got {c.dtype}")
    if c.dtype != torch.uint8 and c.numel() and (int(c.min()) < 0 or int(c.max()) > 255):
        raise ValueError(f"codes must lie in 0..255; got values in {int(c.min())}..{int(c.max())}")
    table = _decode_table(spec.name)
    flat = c.reshape(-1)
    n = flat.numel()
    out = torch.empty(n, dtype=torch.float32)
    idx = torch.empty(min(_CHUNK, n), dtype=torch.int32)
    for start in range(0, n, _CHUNK):
        part = flat[start : start + _CHUNK]
        i = idx[: part.numel()]
        i.copy_(part)
        torch.index_select(table, 0, i, out=out[start : start + part.numel()])
    return out.reshape(c.shape)


@functools.lru_cache(maxsize=None)
def _decode_table(fmt: str) -> torch.Tensor:
    """:func:`_table`, built once per format (read only)."""
    return _table(_spec(fmt))


def fp8_round(x: Any, fmt: str = "e4m3", *, saturate: bool = True) -> torch.Tensor:
    """``decode(encode(x))``: the nearest FP8 value of each element, as float32 (simulated FP8)."""
    return decode(encode(x, fmt, saturate=saturate), fmt)


# --------------------------------------------------------------------------------------------- tables
def _classify(spec: _Spec, code: int) -> str:
    e = (code >> spec.mbits) & (2**spec.ebits - 1)
    m = code & (2**spec.mbits - 1)
    if e == 2**spec.ebits - 1:
        if spec.has_inf:
            return "inf" if m == 0 else "nan"
        if m == 2**spec.mbits - 1:
            return "nan"
    if e == 0:
        return "zero" if m == 0 else "subnormal"
    return "normal"


def value_table(fmt: str = "e4m3") -> list[dict[str, Any]]:
    """All 256 codes: ``{"code", "bits" ("S.EEEE.MMM"), "sign", "exponent", "mantissa", "value", "class"}``.

    ``class`` is one of ``"zero"``, ``"subnormal"``, ``"normal"``, ``"inf"``, ``"nan"``.
    (``pandas.DataFrame(value_table("e4m3"))`` shows it as a table.)
    """
    spec = _spec(fmt)
    vals = _table(spec).tolist()
    rows = []
    for code in range(256):
        b = f"{code:08b}"
        rows.append(
            {
                "code": code,
                "bits": f"{b[0]}.{b[1:1 + spec.ebits]}.{b[1 + spec.ebits:]}",
                "sign": code >> 7,
                "exponent": (code >> spec.mbits) & (2**spec.ebits - 1),
                "mantissa": code & (2**spec.mbits - 1),
                "value": vals[code],
                "class": _classify(spec, code),
            }
        )
    return rows


def format_info(fmt: str = "e4m3") -> dict[str, Any]:
    """Facts about a format, computed from its value table.

    Keys: ``fmt``, ``exponent_bits``, ``mantissa_bits``, ``bias``, ``max``, ``min_normal``,
    ``min_subnormal``, ``has_inf``, ``finite_codes``, ``nan_codes``, ``inf_codes``, ``distinct_finite_values``
    (+0 and -0 count once: E4M3 has 254 finite codes but 253 distinct values; E5M2 248 and 247),
    ``machine_epsilon`` (``2**-M``, the spacing above 1) and ``unit_roundoff`` (``2**-(M+1)``, the largest
    relative rounding error for normal values).
    """
    spec = _spec(fmt)
    rows = value_table(fmt)
    finite = [r["value"] for r in rows if r["class"] in ("zero", "subnormal", "normal")]
    return {
        "fmt": spec.name,
        "exponent_bits": spec.ebits,
        "mantissa_bits": spec.mbits,
        "bias": spec.bias,
        "max": max(finite),
        "min_normal": min(r["value"] for r in rows if r["class"] == "normal" and r["value"] > 0),
        "min_subnormal": min(r["value"] for r in rows if r["class"] == "subnormal" and r["value"] > 0),
        "has_inf": spec.has_inf,
        "finite_codes": len(finite),
        "nan_codes": sum(r["class"] == "nan" for r in rows),
        "inf_codes": sum(r["class"] == "inf" for r in rows),
        "distinct_finite_values": len(set(finite)),
        "machine_epsilon": 2.0**-spec.mbits,
        "unit_roundoff": 2.0 ** -(spec.mbits + 1),
    }


# --------------------------------------------------------------------------------------------- scaled FP8
class ScaledFP8(NamedTuple):
    """FP8 codes plus a float32 scale (keepdim-shaped); unpacks as ``codes, scale, fmt``."""

    codes: torch.Tensor
    scale: torch.Tensor
    fmt: str

    @property
    def nbytes(self) -> int:
        """1 byte per code + 4 bytes per float32 scale."""
        return self.codes.numel() + 4 * self.scale.numel()


def quantize_fp8(x: Any, fmt: str = "e4m3", *, axis: int | None = None) -> ScaledFP8:
    """Scaled FP8: ``s = amax / max_finite`` per tensor (``axis=None``) or per index along ``axis``.

    ``codes = encode(x / s, fmt)`` (saturating, so float rounding of ``x / s`` cannot overflow);
    an all-zero slice gets ``s = 1``. ``scale`` has a keepdim shape that broadcasts against ``x``.
    """
    spec = _spec(fmt)
    t = _as_tensor(x, "x")
    if t.dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        raise TypeError(f"x must have a floating dtype (float16, bfloat16, float32, float64); got {t.dtype}")
    if t.numel() == 0:
        raise ValueError(f"x must not be empty; got shape {tuple(t.shape)}")
    t = t.to(torch.float32)
    if not bool(torch.isfinite(t).all()):
        raise ValueError("x must be finite to compute a scale (no NaN or inf)")
    if axis is not None:
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"axis must be None or an int; got {type(axis).__name__}")
        if t.ndim == 0 or not -t.ndim <= axis < t.ndim:
            raise ValueError(f"axis must be None or in {-t.ndim}..{t.ndim - 1} for a {t.ndim}-d tensor; got {axis}")
        dims = [d for d in range(t.ndim) if d != int(axis) % t.ndim]
    else:
        dims = list(range(t.ndim))
    amax = t.abs().amax(dim=dims, keepdim=True) if dims else t.abs()
    fmax = float(_table(spec)[spec.max_mag])
    scale = amax / fmax
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return ScaledFP8(encode(t / scale, fmt, saturate=True), scale, spec.name)


def dequantize_fp8(q: ScaledFP8) -> torch.Tensor:
    """``decode(codes) * scale`` as float32."""
    if not isinstance(q, ScaledFP8):
        raise TypeError(f"q must be a ScaledFP8 (from quantize_fp8); got {type(q).__name__}")
    return decode(q.codes, q.fmt) * q.scale


def quantize_weights_fp8(model: nn.Module, fmt: str = "e4m3", *, axis: int | None = 0) -> nn.Module:
    """A deep copy of ``model`` whose ``nn.Linear`` weights are ``dequantize_fp8(quantize_fp8(W, fmt, axis))``.

    Same conventions as :func:`lecture_lib.quant.quantize_weights`: per output channel by default,
    embeddings and biases stay float, tied weights are untied, the original is untouched.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    _spec(fmt)
    out = copy.deepcopy(model)
    for module in out.modules():
        if isinstance(module, nn.Linear):
            w = module.weight
            deq = dequantize_fp8(quantize_fp8(w.detach(), fmt, axis=axis))
            module.weight = nn.Parameter(deq.to(w.dtype), requires_grad=w.requires_grad)
    return out
