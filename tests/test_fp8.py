"""Tests for lecture_lib.fp8 against two oracles: torch's float8 dtypes (E4M3 cast saturates) and ml_dtypes
(E4M3 cast gives NaN on overflow). Every code, dense random samples, exact midpoints, boundaries, specials."""

from __future__ import annotations

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lecture_lib.fp8 import (
    ScaledFP8,
    _encode_bits,
    _spec,
    _table,
    decode,
    dequantize_fp8,
    encode,
    format_info,
    fp8_round,
    quantize_fp8,
    quantize_weights_fp8,
    value_table,
)

TORCH = {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2}
MLD = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2}
MAX = {"e4m3": 448.0, "e5m2": 57344.0}
FMTS = ["e4m3", "e5m2"]
ALL = torch.arange(256, dtype=torch.uint8)


def oracle_codes(x: torch.Tensor, fmt: str, saturate: bool) -> torch.Tensor:
    """Codes from the libraries, in the overflow mode each implements; NaN inputs excluded by the caller."""
    if fmt == "e4m3" and saturate:  # torch 2.13 saturates E4M3 (1000 -> 448, inf -> 448)
        return x.to(TORCH[fmt]).view(torch.uint8)
    if saturate:  # E5M2: both libraries overflow to inf, so saturate by clamping first (same as RNE + clamp)
        x = x.clamp(-MAX[fmt], MAX[fmt])
    return torch.from_numpy(x.numpy().astype(MLD[fmt]).view(np.uint8))  # ml_dtypes: NaN / inf on overflow


def neighbours(fmt: str) -> np.ndarray:
    """Sorted distinct non-negative finite FP8 values."""
    v = decode(ALL, fmt)
    return np.unique(v[torch.isfinite(v) & (v >= 0)].numpy().astype(np.float64))


# ------------------------------------------------------------------ every code
@pytest.mark.parametrize("fmt", FMTS)
def test_decode_every_code_matches_torch_and_ml_dtypes(fmt):
    ours = decode(ALL, fmt)
    ref_t = ALL.view(TORCH[fmt]).float()
    ref_m = torch.from_numpy(ALL.numpy().view(MLD[fmt]).astype(np.float32))
    for ref in (ref_t, ref_m):
        assert torch.equal(torch.isnan(ours), torch.isnan(ref))
        fin = ~torch.isnan(ref)
        assert torch.equal(ours[fin], ref[fin])
        assert torch.equal(torch.signbit(ours[fin]), torch.signbit(ref[fin]))  # -0 decodes to -0


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("saturate", [True, False])
def test_every_non_nan_code_round_trips_exactly(fmt, saturate):
    v = decode(ALL, fmt)
    keep = ~torch.isnan(v)
    if saturate:
        keep &= ~torch.isinf(v)  # inf saturates to max
    assert torch.equal(encode(v[keep], fmt, saturate=saturate), ALL[keep])
    assert torch.equal(encode(v[keep].double(), fmt, saturate=saturate), ALL[keep])


# ------------------------------------------------------------------ dense random samples vs oracles
@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("saturate", [True, False])
def test_dense_random_float32_matches_oracle(fmt, saturate):
    gen = torch.Generator().manual_seed(7)
    # log-uniform magnitudes from far below the smallest subnormal to far above the max, both signs
    lo, hi = (-14, 11) if fmt == "e4m3" else (-20, 18)
    mag = torch.exp2(torch.rand(400_000, generator=gen) * (hi - lo) + lo)
    sign = torch.where(torch.rand(400_000, generator=gen) < 0.5, -1.0, 1.0)
    x = mag * sign
    # plus random bit patterns (any finite float32)
    bits = torch.randint(-(2**31), 2**31 - 1, (200_000,), generator=gen, dtype=torch.int32).view(torch.float32)
    x = torch.cat([x, bits[torch.isfinite(bits)]])
    assert torch.equal(encode(x, fmt, saturate=saturate), oracle_codes(x, fmt, saturate))


@pytest.mark.parametrize("fmt", FMTS)
def test_exact_midpoints_tie_to_even(fmt):
    vals = neighbours(fmt)
    mids = (vals[:-1] + vals[1:]) / 2  # exactly representable in float32
    x = torch.from_numpy(np.concatenate([mids, -mids]).astype(np.float32))
    assert torch.equal(torch.from_numpy(x.numpy().astype(np.float64)), torch.from_numpy(np.concatenate([mids, -mids])))
    got = encode(x, fmt)
    assert torch.equal(got, oracle_codes(x, fmt, saturate=False))
    # and from first principles: the result's mantissa is even (lowest code bit 0)
    assert bool(((got & 1) == 0).all())
    # just above / below a midpoint rounds away from / towards the lower neighbour
    up = torch.nextafter(x.abs(), torch.tensor(math.inf)) * torch.sign(x)
    dn = torch.nextafter(x.abs(), torch.tensor(0.0)) * torch.sign(x)
    assert torch.equal(encode(up, fmt), oracle_codes(up, fmt, saturate=True))
    assert torch.equal(encode(dn, fmt), oracle_codes(dn, fmt, saturate=True))


def exact_nearest_code(v: float, fmt: str) -> int:
    """Independent reference in exact rational arithmetic: the nearest finite code, ties to the even code,
    values beyond max rounded as if the format continued (then saturated)."""
    vals = decode(ALL, fmt)
    cands = [(Fraction(float(vals[c])), c) for c in range(128) if math.isfinite(float(vals[c]))]
    a = Fraction(abs(v))
    top_val, top_code = max(cands)
    if a >= top_val:
        code = top_code
    else:
        best = min(abs(a - fv) for fv, _ in cands)
        tied = [c for fv, c in cands if abs(a - fv) == best]
        code = min(tied, key=lambda c: (c & 1, c))  # tie -> the even code
    return code | (128 if math.copysign(1.0, v) < 0 else 0)


def test_float64_input_has_no_double_rounding():
    # A float64 value a hair off a midpoint: converting to float32 first lands exactly on the midpoint and
    # tie-to-even then picks the wrong neighbour. 1.0625 is the midpoint of 1.0 (even) and 1.125; 432 the
    # midpoint of 416 and 448 (even). We round once, from the float64 bits.
    x = torch.tensor([1.0625 + 2**-40, 432.0 - 2**-40], dtype=torch.float64)
    assert decode(encode(x)).tolist() == [1.125, 416.0]
    assert [exact_nearest_code(v, "e4m3") for v in x.tolist()] == encode(x).tolist()
    assert decode(encode(x.float())).tolist() == [1.0, 448.0]  # float32 rounds onto the midpoints first
    # Both libraries convert float64 through float32 and so double-round here (torch 2.13, ml_dtypes):
    assert x.to(torch.float8_e4m3fn).float().tolist() == [1.0, 448.0]


@settings(max_examples=150, deadline=None)
@given(st.floats(-6e4, 6e4, allow_nan=False), st.sampled_from(FMTS))
def test_hypothesis_float64_exact_reference(v, fmt):
    assert encode(torch.tensor([v], dtype=torch.float64), fmt).item() == exact_nearest_code(v, fmt)


# ------------------------------------------------------------------ boundaries and specials
def test_e4m3_overflow_boundary():
    x = torch.tensor([448.0, 450.0, 463.99, 464.0, 464.01, 480.0, 1000.0, math.inf])
    assert decode(encode(x, "e4m3")).tolist() == [448.0] * 8  # saturate
    nan = decode(encode(x, "e4m3", saturate=False))
    assert nan[:4].tolist() == [448.0] * 4  # up to the midpoint 464 (ties to even mantissa 110 = 448)
    assert torch.isnan(nan[4:]).all()  # above 464: NaN (E4M3FN has no inf)
    assert encode(-x, "e4m3").tolist() == [0xFE] * 8
    assert encode(torch.tensor([-1000.0, -math.inf]), "e4m3", saturate=False).tolist() == [0xFF, 0xFF]


def test_e5m2_overflow_boundary():
    x = torch.tensor([57344.0, 61439.0, 61440.0, 1e6, math.inf])
    assert decode(encode(x, "e5m2"), "e5m2").tolist() == [57344.0] * 5
    got = decode(encode(x, "e5m2", saturate=False), "e5m2").tolist()
    assert got == [57344.0, 57344.0, math.inf, math.inf, math.inf]  # midpoint 61440 ties to even 65536: inf
    assert decode(encode(-x, "e5m2", saturate=False), "e5m2").tolist()[2:] == [-math.inf] * 3
    assert encode(torch.tensor([math.inf, -math.inf]), "e5m2", saturate=False).tolist() == [0x7C, 0xFC]


@pytest.mark.parametrize("fmt", FMTS)
def test_subnormal_boundary_and_signed_zero(fmt):
    info = format_info(fmt)
    sub = info["min_subnormal"]
    x = torch.tensor([sub, sub / 2, sub / 2 * 1.0001, sub * 1.5, sub * 2.5, -sub / 2, -0.0, 0.0, 1e-30, -1e-45])
    got = decode(encode(x, fmt), fmt)
    assert got.tolist() == [sub, 0.0, sub, 2 * sub, 2 * sub, -0.0, -0.0, 0.0, 0.0, -0.0]
    assert torch.signbit(got).tolist() == [False, False, False, False, False, True, True, False, False, True]
    assert encode(torch.tensor([-0.0]), fmt).item() == 0x80
    # the largest subnormal rounds up into the smallest normal at its midpoint + ulp
    mn = info["min_normal"]
    assert decode(encode(torch.tensor([mn - sub / 2]), fmt), fmt).item() == mn  # tie -> even (the normal)


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("saturate", [True, False])
def test_nan_gives_nan_code(fmt, saturate):
    x = torch.tensor([math.nan, -math.nan, 1.0])
    codes = encode(x, fmt, saturate=saturate)
    assert torch.isnan(decode(codes, fmt)[:2]).all()
    assert codes[0].item() == 0x7F
    assert decode(codes, fmt)[2].item() == 1.0


def test_half_precision_inputs():
    x = torch.tensor([0.1, -3.0, 300.0])
    for dt in (torch.float16, torch.bfloat16):
        assert torch.equal(encode(x.to(dt)), x.to(dt).float().to(torch.float8_e4m3fn).view(torch.uint8))
    assert torch.equal(encode(x.numpy()), encode(x))


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, width=32), st.sampled_from(FMTS), st.booleans())
def test_hypothesis_any_float32(v, fmt, saturate):
    x = torch.tensor([v], dtype=torch.float32)
    assert torch.equal(encode(x, fmt, saturate=saturate), oracle_codes(x, fmt, saturate))


@settings(max_examples=200, deadline=None)
@given(st.floats(-400, 400, allow_nan=False))
def test_hypothesis_relative_error_bound(v):
    # unit roundoff 2**-4 for normal E4M3 values; absolute half-spacing 2**-10 in the subnormal range
    got = float(decode(encode(torch.tensor([v], dtype=torch.float64))).item())
    assert abs(got - v) <= max(abs(v) * 2**-4, 2**-10) * (1 + 1e-12)


# ------------------------------------------------------------------ tables
@pytest.mark.parametrize("fmt", FMTS)
def test_value_table(fmt):
    rows = value_table(fmt)
    assert len(rows) == 256 and [r["code"] for r in rows] == list(range(256))
    classes = [r["class"] for r in rows]
    assert set(classes) <= {"zero", "subnormal", "normal", "nan", "inf"}
    ref = ALL.view(TORCH[fmt]).float()
    for r in rows:
        ref_v = ref[r["code"]].item()
        if r["class"] == "nan":
            assert math.isnan(ref_v) and math.isnan(r["value"])
        else:
            assert r["value"] == ref_v
        assert r["class"] != "inf" or math.isinf(ref_v)
        assert r["class"] != "zero" or ref_v == 0
        assert r["bits"].replace(".", "") == f"{r['code']:08b}"
    assert classes.count("zero") == 2
    assert classes.count("subnormal") == 2 * (2 ** format_info(fmt)["mantissa_bits"] - 1)


def test_format_info():
    e4 = format_info("e4m3")
    assert (e4["exponent_bits"], e4["mantissa_bits"], e4["bias"]) == (4, 3, 7)
    assert e4["max"] == 448.0 == torch.finfo(torch.float8_e4m3fn).max
    assert e4["min_normal"] == 2**-6 == torch.finfo(torch.float8_e4m3fn).tiny
    assert e4["min_subnormal"] == 2**-9
    assert (e4["finite_codes"], e4["distinct_finite_values"], e4["nan_codes"], e4["inf_codes"]) == (254, 253, 2, 0)
    e5 = format_info("e5m2")
    assert (e5["exponent_bits"], e5["mantissa_bits"], e5["bias"]) == (5, 2, 15)
    assert e5["max"] == 57344.0 == torch.finfo(torch.float8_e5m2).max
    assert e5["min_normal"] == 2**-14 == torch.finfo(torch.float8_e5m2).tiny
    assert e5["min_subnormal"] == 2**-16
    assert (e5["finite_codes"], e5["distinct_finite_values"], e5["nan_codes"], e5["inf_codes"]) == (248, 247, 6, 2)
    assert e4["unit_roundoff"] == 2**-4 and e4["machine_epsilon"] == torch.finfo(torch.float8_e4m3fn).eps


# ------------------------------------------------------------------ scaled FP8
def test_quantize_fp8_per_tensor_and_channel():
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(16, 32, generator=gen) * torch.logspace(-3, 1, 16).unsqueeze(1)
    q = quantize_fp8(w)
    assert isinstance(q, ScaledFP8) and q.codes.dtype == torch.uint8 and q.scale.shape == (1, 1)
    assert q.scale.item() == pytest.approx(w.abs().max().item() / 448)
    assert decode(q.codes).abs().max().item() == 448.0  # amax lands on the top of the range
    qc = quantize_fp8(w, axis=0)
    assert qc.scale.shape == (16, 1) and qc.nbytes == 16 * 32 + 16 * 4
    codes, scale, fmt = qc  # unpacks like a tuple
    assert fmt == "e4m3"
    ref = (w / scale).to(torch.float8_e4m3fn).float() * scale
    assert torch.equal(dequantize_fp8(qc), ref)
    # rows span 4 decades: with one scale the smallest row falls into the subnormals and loses precision
    err_t = ((dequantize_fp8(q) - w).abs() / w.abs())[0].mean()
    err_c = ((dequantize_fp8(qc) - w).abs() / w.abs())[0].mean()
    assert err_c < err_t / 2
    rel = ((dequantize_fp8(qc) - w).abs() / w.abs()).max()
    assert rel <= 2**-4 + 1e-6 or (dequantize_fp8(qc) - w).abs().max() <= (scale * 2**-10).max()


@pytest.mark.parametrize("fmt", FMTS)
def test_quantize_fp8_zero_slice_and_e5m2(fmt):
    x = torch.zeros(3, 4)
    x[1] = torch.tensor([1.0, -2.0, 0.5, 0.0])
    q = quantize_fp8(x, fmt, axis=0)
    assert torch.isfinite(q.scale).all() and (q.scale > 0).all()
    assert torch.equal(dequantize_fp8(q), x)  # these values are exact in both formats
    assert q.scale[1].item() == pytest.approx(2.0 / MAX[fmt], rel=1e-7)


def test_fp8_round_and_weights():
    x = torch.tensor([0.3, 1000.0])
    assert fp8_round(x).tolist() == [0.3125, 448.0]
    m = nn.Sequential(nn.Embedding(5, 4), nn.Linear(4, 3))
    before = m[1].weight.clone()
    q = quantize_weights_fp8(m, "e5m2")
    assert torch.equal(m[1].weight, before)
    assert torch.equal(q[1].weight, dequantize_fp8(quantize_fp8(before, "e5m2", axis=0)))
    assert torch.equal(q[0].weight, m[0].weight) and torch.equal(q[1].bias, m[1].bias)


# ------------------------------------------------------------------ float32 table vs the bit arithmetic
def _patterns(hi: torch.Tensor, low: int) -> torch.Tensor:
    b = (hi << 16) | low
    return torch.where(b >= 2**31, b - 2**32, b).to(torch.int32)  # as signed int32 bit patterns


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("saturate", [True, False])
def test_float32_table_equals_bit_arithmetic_for_every_top_half(fmt, saturate):
    # encode() looks float32 up in a table indexed by the top 16 bits and "low 16 bits non-zero"; the
    # bit-arithmetic encoder (_encode_bits, which built the table and still encodes float64) is the
    # reference. Every one of the 2**16 top halves (all signs, exponents incl. subnormals / inf / NaN,
    # ties, underflow and overflow midpoints) with low halves that are zero, tiny, at and around the
    # half-way point, all ones, and random.
    spec = _spec(fmt)
    hi = torch.arange(2**16, dtype=torch.int64)
    lows = [0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF] + torch.randint(1, 2**16, (4,), generator=torch.Generator().manual_seed(5)).tolist()
    for low in lows:
        bits = _patterns(hi, low)
        assert torch.equal(encode(bits.view(torch.float32), fmt, saturate=saturate), _encode_bits(bits, spec, saturate)), low
    # random full bit patterns, also in non-contiguous and multi-dim layouts
    bits = torch.randint(-(2**31), 2**31 - 1, (600, 1000), generator=torch.Generator().manual_seed(6), dtype=torch.int32)
    x = bits.view(torch.float32)
    want = _encode_bits(bits, spec, saturate)
    assert torch.equal(encode(x, fmt, saturate=saturate), want)
    assert torch.equal(encode(x.t(), fmt, saturate=saturate), want.t())


def test_the_table_index_arithmetic_gives_the_bit_encoders_codes():
    # encode() builds the table index with integer arithmetic (low half + 0xFFFF carries the sticky bit into
    # bit 16); on random bit patterns of every sign and class, and on every top half with a low half of 0x8000,
    # its codes equal the bit-arithmetic encoder's.
    bits = torch.randint(-(2**31), 2**31 - 1, (200_000,), generator=torch.Generator().manual_seed(7), dtype=torch.int32)
    bits[:2**16] = _patterns(torch.arange(2**16, dtype=torch.int64), 0x8000)
    bits[2**16:2**16 + 4] = torch.tensor([0, -(2**31), 0xFFFF, -(2**31) + 1], dtype=torch.int32)  # +-0, low half only
    x = bits.view(torch.float32)
    for fmt in FMTS:
        for saturate in (True, False):
            assert torch.equal(encode(x, fmt, saturate=saturate), _encode_bits(bits, _spec(fmt), saturate))


def test_a_wrong_table_key_fails_the_table_check():
    # Negative control: keying the table on the top 16 bits alone (dropping the sticky bit) misses ties,
    # the underflow and overflow midpoints and NaNs whose payload sits in the low half.
    spec = _spec("e4m3")
    hi = torch.arange(2**16, dtype=torch.int64)
    table = _encode_bits(_patterns(hi, 0), spec, False)
    bits = _patterns(hi, 1)
    wrong = table[hi]
    assert not torch.equal(wrong, _encode_bits(bits, spec, False))
    assert torch.equal(encode(bits.view(torch.float32), "e4m3", saturate=False), _encode_bits(bits, spec, False))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs_use_the_same_codes(dtype):
    bits = torch.arange(2**16, dtype=torch.int32).to(torch.int16).view(dtype)
    for fmt in FMTS:
        want = _encode_bits(bits.to(torch.float32).view(torch.int32), _spec(fmt), True)
        assert torch.equal(encode(bits, fmt), want)


def test_decode_any_shape_and_integer_dtype():
    codes = torch.randint(0, 256, (3, 70000), generator=torch.Generator().manual_seed(2), dtype=torch.uint8)
    for fmt in FMTS:
        ref = _table(_spec(fmt))[codes.long()]  # the bit-field formula, indexed directly
        got = decode(codes, fmt)
        assert got.shape == codes.shape and torch.equal(got.view(torch.int32), ref.view(torch.int32))
        got_t = decode(codes.t().to(torch.int64), fmt)
        assert torch.equal(got_t.view(torch.int32), ref.t().contiguous().view(torch.int32))
        oracle = ALL.view(TORCH[fmt]).float()[codes.long()]  # torch's cast (its NaN carries the code's sign)
        assert torch.equal(torch.isnan(got), torch.isnan(oracle))
        assert torch.equal(got[~torch.isnan(got)], oracle[~torch.isnan(oracle)])


# ------------------------------------------------------------------ bad inputs
def test_bad_inputs():
    with pytest.raises(ValueError, match="fmt must be one of"):
        encode(torch.ones(2), "e3m4")
    with pytest.raises(ValueError, match="fmt must be one of"):
        decode(ALL, "fp8")
    with pytest.raises(TypeError, match="floating dtype"):
        encode(torch.ones(2, dtype=torch.int32))
    with pytest.raises(TypeError, match="torch.Tensor or numpy"):
        encode([1.0])
    with pytest.raises(TypeError, match="saturate"):
        encode(torch.ones(2), saturate="yes")
    with pytest.raises(TypeError, match="integer"):
        decode(torch.ones(2))
    with pytest.raises(ValueError, match="0..255"):
        decode(torch.tensor([256]))
    with pytest.raises(ValueError, match="finite"):
        quantize_fp8(torch.tensor([1.0, math.inf]))
    with pytest.raises(ValueError, match="empty"):
        quantize_fp8(torch.zeros(0))
    with pytest.raises(ValueError, match="axis"):
        quantize_fp8(torch.zeros(2, 2), axis=2)
    with pytest.raises(TypeError, match="ScaledFP8"):
        dequantize_fp8((torch.zeros(2, dtype=torch.uint8), torch.ones(1), "e4m3"))
    assert decode(torch.tensor([0x38], dtype=torch.int64)).item() == 1.0  # other integer dtypes are fine
