"""Tests for lecture_lib.quant: an independent numpy reference, hypothesis properties, a statistical
test with a negative control, the lecture's Zone 0 example, packing, models, fake-quant and bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch import nn

from lecture_lib.quant import (
    QTensor,
    dequantize,
    fake_quantize,
    pack_int4,
    quantization_error_stats,
    quantize,
    quantize_weights,
    storage_bytes,
    unpack_int4,
)

SETTINGS = settings(max_examples=60, deadline=None)


# ------------------------------------------------------------------ independent reference (numpy, float32)
def ref_quantize(x: np.ndarray, bits: int, symmetric: bool, reduce_axes: tuple[int, ...]):
    """Straight from the formulas, reducing over `reduce_axes` (keepdims)."""
    x = x.astype(np.float32)
    if symmetric:
        qmax = np.float32(2 ** (bits - 1) - 1)
        amax = np.abs(x).max(axis=reduce_axes, keepdims=True)
        s = amax / qmax
        s = np.where(s == 0, np.float32(1), s).astype(np.float32)
        q = np.clip(np.round(x / s), -qmax, qmax)
        return q, s, np.zeros_like(s)
    qmax = np.float32(2**bits - 1)
    lo = np.minimum(x.min(axis=reduce_axes, keepdims=True), np.float32(0))
    hi = np.maximum(x.max(axis=reduce_axes, keepdims=True), np.float32(0))
    s = (hi - lo) / qmax
    s = np.where(s == 0, np.float32(1), s).astype(np.float32)
    z = np.clip(np.round(-lo / s), 0, qmax)
    q = np.clip(np.round(x / s) + z, 0, qmax)
    return q, s, z


finite32 = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=32)
arrays_2d = hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9), elements=finite32)
bits_st = st.integers(2, 8)


# ------------------------------------------------------------------ the lecture's Zone 0 example
def test_zone0_example_exact():
    w = torch.tensor([0.5, -0.3, 0.8, -0.1, 0.2])
    qt = quantize(w, 4)
    assert qt.codes.tolist() == [4, -3, 7, -1, 2]
    assert qt.scale.item() == pytest.approx(0.8 / 7, rel=1e-7)
    assert qt.codes.dtype == torch.int8 and qt.scale.dtype == torch.float32
    deq = dequantize(qt)
    assert torch.allclose(deq, torch.tensor([0.457143, -0.342857, 0.8, -0.114286, 0.228571]), atol=1e-6)
    stats = quantization_error_stats(w, qt)
    assert stats["mean_abs_error"] == pytest.approx(9 / 350, abs=1e-7)  # 0.025714...
    assert abs(stats["mean_abs_error"] - 0.024286) > 1e-3  # the lecture's printed value is wrong
    assert stats["max_abs_error"] == pytest.approx(3 / 70, abs=1e-7)


def test_round_half_to_even():
    # bits=3 symmetric: qmax = 3, amax = 3 -> s = 1, so x/s are exact ties
    qt = quantize(torch.tensor([3.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5]), 3)
    assert qt.scale.item() == 1.0
    assert qt.codes.tolist() == [3, 0, 2, 2, 0, -2, -2]


def test_bits2_scale_is_amax():
    x = torch.tensor([0.9, -0.2, 0.5, -0.45])
    qt = quantize(x, 2)
    assert qt.scale.item() == pytest.approx(0.9)
    assert qt.codes.tolist() == [1, 0, 1, 0]  # 0.5/0.9 = 0.56 -> 1; 0.45/0.9 = 0.5 -> 0 (tie to even)
    assert set(qt.codes.unique().tolist()) <= {-1, 0, 1}


def test_symmetric_restricted_range_int4():
    x = torch.linspace(-1, 1, 1001)
    qt = quantize(x, 4)
    assert qt.codes.min().item() == -7 and qt.codes.max().item() == 7  # never -8 (two's complement has it)
    assert qt.codes.unique().numel() == 15


def test_asymmetric_all_positive_widened_to_zero():
    x = torch.tensor([2.0, 3.0, 5.0])
    qt = quantize(x, 8, symmetric=False)
    assert qt.zero_point.item() == 0
    assert qt.scale.item() == pytest.approx(5.0 / 255)
    assert qt.codes.max().item() == 255
    x = torch.tensor([-2.0, -3.0, -5.0])  # all negative: zero is the top code
    qt = quantize(x, 8, symmetric=False)
    assert qt.zero_point.item() == 255
    assert dequantize(qt).tolist() == pytest.approx(x.tolist(), abs=5 / 255 / 2 + 1e-6)


def test_scale_shapes_broadcast():
    x = torch.randn(6, 8, 4)
    assert quantize(x, 8).scale.shape == (1, 1, 1)
    assert quantize(x, 8, axis=0).scale.shape == (6, 1, 1)
    assert quantize(x, 8, axis=1).scale.shape == (1, 8, 1)
    assert quantize(x, 8, axis=-1).scale.shape == (1, 1, 4)
    qt = quantize(x, 8, group_size=2, symmetric=False)
    assert qt.scale.shape == (6, 8, 2) and qt.zero_point.shape == (6, 8, 2)
    assert qt.expanded_scale().shape == x.shape
    for qt in (quantize(x, 8, axis=1), quantize(x, 4, symmetric=False, axis=0)):
        assert qt.zero_point.shape == qt.scale.shape
        assert torch.broadcast_shapes(qt.scale.shape, qt.codes.shape) == x.shape


def test_nbytes_convention():
    x = torch.randn(64, 128)
    assert quantize(x, 8).nbytes == 64 * 128 + 4
    assert quantize(x, 8, axis=0).nbytes == 64 * 128 + 4 * 64
    assert quantize(x, 4, axis=0).nbytes == 64 * 128 // 2 + 4 * 64
    assert quantize(x, 4, symmetric=False, axis=0).nbytes == 64 * 128 // 2 + 4 * 64 + 64
    assert quantize(x, 4, group_size=32).nbytes == 64 * 128 // 2 + 4 * 64 * 4
    assert quantize(x, 3).nbytes == math.ceil(64 * 128 * 3 / 8) + 4
    assert quantize(torch.randn(5), 4).nbytes == 3 + 4  # ceil(5 * 4 / 8) = 3 bytes of codes
    assert quantize(torch.randn(5), 4).nbytes == pack_int4(quantize(torch.randn(5), 4).codes).numel() + 4


def test_numpy_input_and_dtypes():
    x = np.array([[0.1, -0.4], [0.3, 0.2]], dtype=np.float64)
    qt = quantize(x, 8, axis=0)
    assert isinstance(qt.codes, torch.Tensor)
    assert dequantize(qt).dtype == torch.float32 and dequantize(qt).shape == (2, 2)
    assert quantize(torch.tensor([1.0, -0.5], dtype=torch.bfloat16), 8).codes.tolist() == [127, -64]


def test_scalar_tensor():
    qt = quantize(torch.tensor(0.7), 8)
    assert qt.codes.shape == () and dequantize(qt).item() == pytest.approx(0.7)


# ------------------------------------------------------------------ against the reference
@SETTINGS
@given(arrays_2d, bits_st, st.booleans(), st.sampled_from([None, 0, 1]))
def test_matches_reference(x, bits, symmetric, axis):
    qt = quantize(x, bits, symmetric=symmetric, axis=axis)
    reduce = (0, 1) if axis is None else (1 - axis,)
    q, s, z = ref_quantize(x, bits, symmetric, reduce)
    np.testing.assert_array_equal(qt.codes.numpy().astype(np.int64), q.astype(np.int64))
    np.testing.assert_array_equal(qt.scale.numpy(), s)
    np.testing.assert_array_equal(qt.zero_point.numpy().astype(np.int64), z.astype(np.int64))
    np.testing.assert_allclose(dequantize(qt).numpy(), (q - z) * s, rtol=1e-6, atol=0)


@SETTINGS
@given(
    hnp.arrays(np.float32, st.tuples(st.integers(1, 5), st.sampled_from([4, 8, 12])), elements=finite32),
    bits_st,
    st.booleans(),
    st.sampled_from([1, 2, 4]),
)
def test_group_wise_equals_per_tensor_on_each_group(x, bits, symmetric, g):
    qt = quantize(x, bits, symmetric=symmetric, group_size=g)
    deq = dequantize(qt).numpy()
    for r in range(x.shape[0]):
        for j in range(x.shape[1] // g):
            sl = slice(j * g, (j + 1) * g)
            one = quantize(x[r, sl], bits, symmetric=symmetric)
            assert torch.equal(qt.codes[r, sl], one.codes)
            assert qt.scale[r, j].item() == one.scale.item()
            np.testing.assert_array_equal(deq[r, sl], dequantize(one).numpy())


# ------------------------------------------------------------------ properties
@SETTINGS
@given(arrays_2d, bits_st, st.booleans(), st.sampled_from([None, 0, 1]))
def test_error_at_most_half_step_and_codes_in_range(x, bits, symmetric, axis):
    qt = quantize(x, bits, symmetric=symmetric, axis=axis)
    lo, hi = (-(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1) if symmetric else (0, 2**bits - 1)
    assert int(qt.codes.min()) >= lo and int(qt.codes.max()) <= hi
    err = (torch.from_numpy(x) - dequantize(qt)).abs()
    s = qt.scale.expand_as(err)
    amax = float(np.abs(x).max())
    assert bool((err <= s / 2 + 1e-6 * amax + 1e-30).all())
    assert not torch.isnan(dequantize(qt)).any()


@SETTINGS
@given(arrays_2d, bits_st, st.booleans(), st.sampled_from([None, 0, 1]))
def test_idempotent(x, bits, symmetric, axis):
    qt = quantize(x, bits, symmetric=symmetric, axis=axis)
    qt2 = quantize(dequantize(qt), bits, symmetric=symmetric, axis=axis)
    assert torch.equal(qt.codes, qt2.codes)
    assert torch.equal(qt.zero_point, qt2.zero_point)
    torch.testing.assert_close(qt2.scale, qt.scale, rtol=1e-6, atol=0)


@SETTINGS
@given(arrays_2d, bits_st, st.booleans(), st.integers(-6, 6))
def test_scale_equivariance(x, bits, symmetric, k):
    c = 2.0**k  # a power of two scales exactly in float32, so codes must be identical
    qt = quantize(x, bits, symmetric=symmetric, axis=0)
    qc = quantize(x * np.float32(c), bits, symmetric=symmetric, axis=0)
    assert torch.equal(qt.codes, qc.codes)
    assert torch.equal(qc.scale[qt.scale != 1], (qt.scale * c)[qt.scale != 1])


@SETTINGS
@given(arrays_2d, bits_st, st.sampled_from([None, 0, 1]))
def test_asymmetric_zero_is_exact(x, bits, axis):
    x = x.copy()
    x.flat[0] = 0.0
    qt = quantize(x, bits, symmetric=False, axis=axis)
    assert dequantize(qt).reshape(-1)[0].item() == 0.0
    assert int(qt.zero_point.max()) <= 2**bits - 1


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("kw", [dict(axis=None), dict(axis=0), dict(axis=1), dict(group_size=2)])
def test_all_zero_slices_give_no_nan(symmetric, kw):
    x = torch.zeros(3, 4)
    x[1] = torch.tensor([0.5, -1.0, 0.25, 0.0])
    qt = quantize(x, 4, symmetric=symmetric, **kw)
    assert torch.isfinite(qt.scale).all() and (qt.scale > 0).all()
    deq = dequantize(qt)
    assert torch.isfinite(deq).all()
    assert (deq[0] == 0).all() and (deq[2] == 0).all()
    assert torch.isfinite(dequantize(quantize(torch.zeros(4), 8, symmetric=symmetric))).all()


def test_tiny_values_give_usable_scale():
    x = torch.tensor([1e-45, -1e-45, 0.0])  # amax / 127 underflows to 0 in float32
    qt = quantize(x, 8)
    assert torch.isfinite(dequantize(qt)).all() and (qt.scale > 0).all()


# ------------------------------------------------------------------ statistical: mean |error| = s/4
def _mean_error_over_quarter_step(quantizer, seed: int) -> float:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(200_000, generator=gen) * 2 - 1
    x[0], x[1] = 1.0, -1.0  # pin amax so s = 1/7 exactly for INT4
    xh, s = quantizer(x)
    return float((x - xh).abs().mean() / (s / 4))


def _ours(x):
    qt = quantize(x, 4)
    return dequantize(qt), qt.scale.item()


def _truncating(x):  # deliberately wrong: truncation instead of rounding
    s = x.abs().max().item() / 7
    return torch.trunc(x / s) * s, s


def test_mean_abs_error_is_quarter_step_with_negative_control():
    # Uniform inputs -> rounding error is uniform on [-s/2, s/2] -> E|e| = s/4. The standard error of the
    # ratio is about sqrt(1/3 - 1/4) / (1/4) / sqrt(n) = 0.0026 for n = 2e5; a 2 % band is > 7 sigma.
    for seed in range(3):
        assert abs(_mean_error_over_quarter_step(_ours, seed) - 1.0) < 0.02
    # negative control: truncation has E|e| = s/2, so the ratio is ~2 and the same check must fail
    assert abs(_mean_error_over_quarter_step(_truncating, 0) - 1.0) > 0.5


# ------------------------------------------------------------------ packing
def test_pack_every_int4_code_round_trip():
    codes = torch.arange(-8, 8, dtype=torch.int8)
    packed = pack_int4(codes)
    assert packed.dtype == torch.uint8 and packed.numel() == 8
    assert torch.equal(unpack_int4(packed, 16), codes)
    # every pair of codes, both orders
    a, b = torch.meshgrid(codes, codes, indexing="ij")
    pairs = torch.stack([a.reshape(-1), b.reshape(-1)], 1).reshape(-1)
    assert torch.equal(unpack_int4(pack_int4(pairs), pairs.numel()), pairs)


def test_pack_layout_low_nibble_first_twos_complement():
    assert pack_int4(torch.tensor([1, 2])).tolist() == [0x21]
    assert pack_int4(torch.tensor([-1, 0])).tolist() == [0x0F]
    assert pack_int4(torch.tensor([-8, 7])).tolist() == [0x78]
    assert pack_int4(torch.tensor([3])).tolist() == [0x03]  # odd count: high nibble zero
    assert pack_int4(torch.tensor([15, 0]), signed=False).tolist() == [0x0F]
    assert unpack_int4(torch.tensor([0xF0], dtype=torch.uint8), 2, signed=False).tolist() == [0, 15]


@SETTINGS
@given(hnp.arrays(np.int8, hnp.array_shapes(min_dims=1, max_dims=3, max_side=7), elements=st.integers(-8, 7)))
def test_pack_round_trip_any_shape(c):
    t = torch.from_numpy(c)
    p = pack_int4(c)
    assert p.numel() == math.ceil(c.size / 2)
    assert torch.equal(unpack_int4(p, c.size).reshape(t.shape), t)


def test_pack_rejects_bad_input():
    with pytest.raises(ValueError, match="-8..7"):
        pack_int4(torch.tensor([8]))
    with pytest.raises(ValueError, match="0..15"):
        pack_int4(torch.tensor([-1]), signed=False)
    with pytest.raises(TypeError, match="integer dtype"):
        pack_int4(torch.tensor([1.0]))
    with pytest.raises(TypeError, match="uint8"):
        unpack_int4(torch.tensor([1], dtype=torch.int32), 2)
    with pytest.raises(ValueError, match="numel"):
        unpack_int4(torch.tensor([1], dtype=torch.uint8), 3)


# ------------------------------------------------------------------ models
class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 8)
        self.fc = nn.Linear(8, 16)
        self.head = nn.Linear(16, 10, bias=False)

    def forward(self, idx):
        return self.head(torch.relu(self.fc(self.emb(idx))))


def test_quantize_weights_copies_and_replaces_linear_only():
    torch.manual_seed(0)
    m = _Tiny()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    q = quantize_weights(m, 4)
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k])  # original untouched
    assert torch.equal(q.fc.weight, dequantize(quantize(m.fc.weight, 4, axis=0)))
    assert torch.equal(q.head.weight, dequantize(quantize(m.head.weight, 4, axis=0)))
    assert torch.equal(q.fc.bias, m.fc.bias)
    assert torch.equal(q.emb.weight, m.emb.weight)  # embeddings left alone by default
    assert q.fc.weight.unique().numel() <= 16 * 15
    qe = quantize_weights(m, 8, embeddings=True, axis=None)
    assert torch.equal(qe.emb.weight, dequantize(quantize(m.emb.weight, 8, axis=0)))
    assert torch.equal(qe.fc.weight, dequantize(quantize(m.fc.weight, 8)))
    qg = quantize_weights(m, 4, group_size=4, symmetric=False)
    assert torch.equal(qg.fc.weight, dequantize(quantize(m.fc.weight, 4, group_size=4, symmetric=False)))
    idx = torch.tensor([[1, 2, 3]])
    assert q(idx).shape == m(idx).shape


def test_quantize_weights_unties_shared_embedding():
    m = _Tiny()
    m.head = nn.Linear(8, 10, bias=False)
    m.fc = nn.Identity()
    m.head.weight = m.emb.weight  # tied
    q = quantize_weights(m, 4)
    assert torch.equal(q.emb.weight, m.emb.weight)
    assert not torch.equal(q.head.weight, m.emb.weight)


def test_quantize_weights_bad_input():
    with pytest.raises(TypeError, match="nn.Module"):
        quantize_weights(torch.zeros(3), 8)
    with pytest.raises(ValueError, match="bits"):
        quantize_weights(_Tiny(), 9)


# ------------------------------------------------------------------ fake-quant (QAT)
def test_fake_quantize_forward_and_identity_gradient():
    torch.manual_seed(1)
    x = torch.randn(5, 7, requires_grad=True)
    y = fake_quantize(x, 4, axis=0)
    assert torch.equal(y.detach(), dequantize(quantize(x.detach(), 4, axis=0)))
    g = torch.randn(5, 7)
    y.backward(g)
    assert torch.equal(x.grad, g)  # scale from amax: nothing clipped, STE passes everything


def test_fake_quantize_clipped_ste():
    x = torch.tensor([-2.0, -0.7, 0.0, 0.3, 0.7, 1.5], requires_grad=True)
    y = fake_quantize(x, 8, scale=0.7 / 127)  # clipping range [-0.7, 0.7] plus half a step
    assert y.detach().tolist() == pytest.approx([-0.7, -0.7, 0.0, 0.3, 0.7, 0.7], abs=0.7 / 254 + 1e-7)
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    xa = torch.tensor([-1.0, 0.0, 2.0, 3.0], requires_grad=True)
    ya = fake_quantize(xa, 2, symmetric=False, scale=1.0, zero_point=1.0)  # grid -1, 0, 1, 2
    assert ya.detach().tolist() == [-1.0, 0.0, 2.0, 2.0]
    ya.sum().backward()
    assert xa.grad.tolist() == [1.0, 1.0, 1.0, 0.0]


def test_fake_quantize_group_and_dtype():
    x = torch.randn(3, 8, dtype=torch.float64, requires_grad=True)
    y = fake_quantize(x, 4, symmetric=False, group_size=4)
    assert y.dtype == torch.float64
    assert torch.equal(y.detach().float(), dequantize(quantize(x.detach(), 4, symmetric=False, group_size=4)))
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_fake_quantize_bad_input():
    with pytest.raises(ValueError, match="scale"):
        fake_quantize(torch.randn(3), 8, scale=0.0)
    with pytest.raises(ValueError, match="zero_point"):
        fake_quantize(torch.randn(3), 8, zero_point=1.0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        fake_quantize([1.0], 8)


# ------------------------------------------------------------------ error stats
def test_error_stats_values():
    x = torch.tensor([1.0, -2.0, 3.0, 0.0])
    xh = torch.tensor([1.5, -2.0, 2.0, 0.0])
    st_ = quantization_error_stats(x, xh)
    assert st_["mean_abs_error"] == pytest.approx(1.5 / 4)
    assert st_["max_abs_error"] == pytest.approx(1.0)
    assert st_["mse"] == pytest.approx(1.25 / 4)
    assert st_["snr_db"] == pytest.approx(10 * math.log10(14 / 1.25))
    assert quantization_error_stats(x, x)["snr_db"] == math.inf
    with pytest.raises(ValueError, match="shape"):
        quantization_error_stats(x, torch.zeros(3))


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("bits", [1, 9, 0, -4, 4.0, True, "4"])
def test_bad_bits(bits):
    with pytest.raises(ValueError, match=r"bits must be an integer in 2\.\.8"):
        quantize(torch.randn(4), bits)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_raises(bad):
    with pytest.raises(ValueError, match="finite"):
        quantize(torch.tensor([1.0, bad]), 8)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("kw", [{}, {"axis": 0}, {"axis": 1}, {"axis": 2}, {"group_size": 4}, {"axis": 0, "bits": 4}])
def test_non_finite_anywhere_raises(bad, kw):
    # quantize() checks finiteness block by block while computing codes; a non-finite value in any block,
    # for every granularity and scheme, must raise.
    kw = dict(kw)
    bits = kw.pop("bits", 8)
    for pos in [(0, 0, 0), (1, 2, 3), (2, 4, 7), (1, 0, 5)]:
        for symmetric in (True, False):
            x = torch.randn(3, 5, 8)
            x[pos] = bad
            with pytest.raises(ValueError, match="finite"):
                quantize(x, bits, symmetric=symmetric, **kw)


def _reference_quantize(x: torch.Tensor, bits: int, symmetric: bool, dims: list[int]):
    """The formulas of the module docstring, written plainly on full tensors (amin/amax, no blocks)."""
    lo_in, hi_in = (x.amin(dim=dims, keepdim=True), x.amax(dim=dims, keepdim=True)) if dims else (x, x)
    if symmetric:
        qmax = 2 ** (bits - 1) - 1
        s = torch.maximum(hi_in.abs(), lo_in.abs()) / qmax
        s = torch.where(s > 0, s, torch.ones_like(s))
        return torch.clamp(torch.round(x / s), -qmax, qmax).to(torch.int8), s
    qmax = 2**bits - 1
    lo, hi = torch.clamp(lo_in, max=0.0), torch.clamp(hi_in, min=0.0)
    s = (hi - lo) / qmax
    s = torch.where(s > 0, s, torch.ones_like(s))
    z = torch.clamp(torch.round(-lo / s), 0, qmax)
    return torch.clamp(torch.round(x / s) + z, 0, qmax).to(torch.uint8), s


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("shape", [(300, 517), (3, 70000), (70001,), (2, 3, 40, 300)])
def test_blockwise_codes_equal_the_plain_formula(shape, symmetric):
    # quantize() computes codes in blocks of rows; shapes here cross block
    # boundaries (rows longer than a block, a ragged last block) and the result must be the same bits.
    x = torch.randn(shape, generator=torch.Generator().manual_seed(3)) * 0.05
    for axis in [None, 0] + ([x.ndim - 1] if x.ndim > 1 else []):
        dims = [d for d in range(x.ndim) if d != axis]
        codes, s = _reference_quantize(x, 8, symmetric, dims)
        qt = quantize(x, 8, symmetric=symmetric, axis=axis)
        assert torch.equal(qt.codes, codes) and torch.equal(qt.scale, s)
        z = qt.zero_point.to(torch.float32)
        assert torch.equal(dequantize(qt), (codes.to(torch.float32) - (0 if symmetric else z)) * s)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="empty"):
        quantize(torch.zeros(0), 8)
    with pytest.raises(ValueError, match="group_size must be a positive divisor of the last dim"):
        quantize(torch.randn(4, 6), 4, group_size=4)
    with pytest.raises(ValueError, match="group_size"):
        quantize(torch.randn(4, 6), 4, group_size=0)
    with pytest.raises(ValueError, match="axis must be None when group_size"):
        quantize(torch.randn(4, 6), 4, axis=0, group_size=3)
    with pytest.raises(ValueError, match="axis"):
        quantize(torch.randn(4, 6), 4, axis=2)
    with pytest.raises(TypeError, match="axis"):
        quantize(torch.randn(4, 6), 4, axis=1.0)
    with pytest.raises(TypeError, match="floating dtype"):
        quantize(torch.arange(4), 4)
    with pytest.raises(TypeError, match="torch.Tensor or numpy"):
        quantize([1.0, 2.0], 4)
    with pytest.raises(TypeError, match="symmetric"):
        quantize(torch.randn(3), 4, symmetric="yes")
    with pytest.raises(TypeError, match="QTensor"):
        dequantize(torch.randn(3))
    assert isinstance(quantize(torch.randn(3), 4), QTensor)


# ------------------------------------------------------------------ storage_bytes (whole-model memory)
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("group_size", [8, 32])
def test_storage_bytes_equals_qtensor_nbytes(bits, group_size):
    x = torch.randn(6, 64, generator=torch.Generator().manual_seed(bits))
    qt = quantize(x, bits, group_size=group_size)
    assert storage_bytes(x.numel(), bits, group_size=group_size) == qt.nbytes


def test_storage_bytes_model_sizes():
    n = 13_000_000_000
    assert storage_bytes(n, 32) == 52_000_000_000
    assert storage_bytes(n, 16) == 26_000_000_000
    assert storage_bytes(n, 4) == 6_500_000_000
    # INT4, one FP16 scale per 128 weights: 4 + 16/128 = 4.125 bits per weight
    assert storage_bytes(n, 4, group_size=128, scale_bytes=2) == 6_703_125_000
    assert storage_bytes(5, 4, group_size=5) == 3 + 4  # odd count: codes rounded up to whole bytes


@pytest.mark.parametrize("kwargs, err, name", [
    ({"n_weights": 0, "bits": 4}, ValueError, "n_weights"), ({"n_weights": 1.5, "bits": 4}, TypeError, "n_weights"),
    ({"n_weights": 10, "bits": 0}, ValueError, "bits"), ({"n_weights": 10, "bits": 65}, ValueError, "bits"),
    ({"n_weights": 10, "bits": 4, "group_size": 0}, ValueError, "group_size"),
    ({"n_weights": 10, "bits": 4, "scale_bytes": -1}, ValueError, "scale_bytes"),
])
def test_storage_bytes_bad_input(kwargs, err, name):
    with pytest.raises(err, match=name):
        storage_bytes(**kwargs)
