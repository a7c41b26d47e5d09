"""Tests for lecture_lib.lowbit: torch's packed INT8 / INT4 CPU kernels, fed by our quantizer, compute
x @ W_deq^T within stated tolerances (float32 activations: float32 rounding; bfloat16: bfloat16 rounding; dynamic
INT8: activation quantization), and a wrong reference is caught (negative controls). Byte counts are exact.
No timings here: those are in benchmarks/bench_lowbit.py."""

from __future__ import annotations

import pytest
import torch

from lecture_lib import lowbit, quant
from lecture_lib.experiments import partA as E


def _case(n=256, k=512, m=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g) * 0.02, torch.randn(m, k, generator=g)


def _rel(y, ref):
    return ((y.double() - ref).abs().max() / ref.abs().max()).item()


@pytest.mark.parametrize("shape", [(512, 128), (128, 512), (264, 96)])
def test_int8_weight_only_matches_dequantized_reference(shape):
    w, x = _case(*shape)
    w8 = lowbit.int8_weight_only(w)
    assert torch.equal(w8.dequantize(), quant.dequantize(quant.quantize(w, 8, axis=0)))
    ref = x.double() @ w8.dequantize().double().T
    assert _rel(lowbit.int8_matvec(x, w8), ref) < 1e-5
    # bfloat16 activations: the kernel sees x rounded to bfloat16 and returns bfloat16
    w8b = lowbit.int8_weight_only(w, dtype=torch.bfloat16)
    xb = x.to(torch.bfloat16)
    yb = lowbit.int8_matvec(x, w8b)
    assert yb.dtype == torch.bfloat16
    assert _rel(yb, xb.double() @ w8b.dequantize().double().T) < 5e-3


@pytest.mark.parametrize(("shape", "group"), [((512, 128), 32), ((128, 512), 32), ((256, 512), 128), ((64, 256), 64)])
def test_int4_weight_only_matches_dequantized_reference(shape, group):
    w, x = _case(*shape)
    w4 = lowbit.int4_weight_only(w, group)
    # the kernel's (q - 8) * s + zero is our asymmetric (q - z) * s
    assert torch.allclose(w4.dequantize(), quant.dequantize(quant.quantize(w, 4, symmetric=False, group_size=group)),
                          rtol=0, atol=1e-7)
    ref = x.double() @ w4.dequantize().double().T
    assert _rel(lowbit.int4_matvec(x, w4), ref) < 1e-5
    w4b = lowbit.int4_weight_only(w, group, dtype=torch.bfloat16)
    assert _rel(lowbit.int4_matvec(x, w4b), x.to(torch.bfloat16).double() @ w4b.dequantize().double().T) < 5e-3


def test_int4_negative_control_codes_without_offset():
    w, x = _case(128, 256)
    w4 = lowbit.int4_weight_only(w)
    sz = w4.scales_and_zeros
    wrong = w4.codes.double() * sz[..., 0].T.double().repeat_interleave(32, 1) + sz[..., 1].T.double().repeat_interleave(32, 1)
    assert _rel(lowbit.int4_matvec(x, w4), x.double() @ wrong.T) > 1e-2


def test_dynamic_int8_within_activation_rounding_and_not_tighter():
    w, x = _case(256, 512)
    qlin, wd = lowbit.int8_dynamic(w)
    ref = x.double() @ wd.double().T
    err = _rel(lowbit.int8_dynamic_matvec(x, qlin), ref)
    assert err < 5e-2
    assert err > 1e-3  # it really quantizes the activation: the weight-only tolerance would fail


def test_numerics_table_meets_the_notebook_bounds():
    num = E.lowbit_numerics()
    assert list(num.index) == list(E.LOWBIT_KERNELS)
    bound = {"fp32": 1e-5, "bf16": 5e-3, "int8 w-only, fp32 act": 1e-5, "int8 w-only, bf16 act": 5e-3,
             "int4 w-only, fp32 act": 1e-5, "int4 w-only, bf16 act": 5e-3, "int8 dynamic": 5e-2}
    for name, row in num.iterrows():
        assert row["vs its dequantized weight"] < bound[name], name
    assert num.loc["int4 w-only, fp32 act", "vs the float32 weight"] > num.loc["int8 w-only, fp32 act", "vs the float32 weight"]


def test_packed_sizes_and_byte_model():
    w, _ = _case(512, 128)
    w8, w4 = lowbit.int8_weight_only(w), lowbit.int4_weight_only(w, 32)
    assert w8.nbytes == lowbit.weight_bytes(512, 128, 8) == 512 * 128 + 4 * 512
    assert w4.packed.numel() == 512 * 128 // 2
    assert w4.nbytes == lowbit.weight_bytes(512, 128, 4, group_size=32) == 512 * 64 + 2 * 4 * 512 * 4
    assert lowbit.weight_bytes(4096, 4096, 32) == 4 * 4096 * 4096
    assert lowbit.bandwidth_bound_ratio(4096, 4096, 4, group_size=32) == pytest.approx(32 / 6)  # 4 bits + 2 x 32 bits per 32
    assert 3.9 < lowbit.bandwidth_bound_ratio(4096, 4096, 8) < 4.0


def test_speedups_table_from_timings():
    import pandas as pd

    t = pd.DataFrame([{"out": 8, "in": 32, "kernel": k, "us": us} for k, us in
                      zip(E.LOWBIT_KERNELS, (10.0, 20.0, 40.0, 5.0, 80.0, 4.0, 2.0))])
    sp = E.lowbit_speedups(t)
    assert sp.loc[(8, 32), "int8 dynamic"] == 5.0 and sp.loc[(8, 32), "bf16"] == 0.5
    assert sp.loc[(8, 32), "fp32 MB"] == 8 * 32 * 4 / 1e6
    with pytest.raises(ValueError, match="kernels must be drawn from"):
        E.lowbit_timings([(8, 32)], kernels=["fp64"])


def test_recorded_table_names_its_cpu():
    meta, rec = E.load_lowbit()
    assert meta["cpu"] and meta["capability"] and set(rec["kernel"]) == set(E.LOWBIT_KERNELS)
    assert {(r["out"], r["in"]) for _, r in rec.iterrows()} == set(E.LOWBIT_SIZES)


def test_bad_input():
    w, x = _case(64, 128)
    with pytest.raises(ValueError, match="group_size"):
        lowbit.int4_weight_only(w, 48)
    with pytest.raises(ValueError, match="out_features divisible by 8"):
        lowbit.int4_weight_only(torch.randn(63, 128))
    with pytest.raises(ValueError, match="w must be a non-empty 2-D"):
        lowbit.int8_weight_only(torch.randn(8))
    with pytest.raises(ValueError, match="dtype"):
        lowbit.int8_weight_only(w, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"x must be a 2-D float input \[batch, 128\]"):
        lowbit.int8_matvec(torch.randn(2, 64), lowbit.int8_weight_only(w))
    with pytest.raises(ValueError, match="bits"):
        lowbit.weight_bytes(8, 8, 3)
    with pytest.raises(TypeError, match="w must be"):
        lowbit.int8_weight_only([[1.0]])


def test_recorded_table_supports_the_notebook_text():
    """Part A's prose about the recorded table (Zone 6): re-recording must keep these true, or the text changes."""
    _, rec = E.load_lowbit()
    sp = E.lowbit_speedups(rec)
    small, big = sp[sp["fp32 MB"] < 0.3], sp[sp["fp32 MB"] > 10]
    packed = [k for k in E.LOWBIT_KERNELS if k not in ("fp32", "bf16")]
    assert (small[packed] < 1).all().all()  # 1. small weights: no packed kernel wins
    assert (big["int4 w-only, bf16 act"] > 2).all() and (big["int8 w-only, bf16 act"] > 1.5).all()  # 2.
    assert (big["int8 dynamic"] > 1.5).all()
    assert (sp[["int8 w-only, fp32 act", "int4 w-only, fp32 act"]] < 1).all().all()  # 3. the scalar fallback
