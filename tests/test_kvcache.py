"""Tests for lecture_lib.kvcache: the byte formula (lecture's MHA figure and the real GQA figure), and
QuantizedKVStorage against the KVStorage protocol, reference quantizers, error bounds and honest nbytes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib.kvcache import KINDS, QuantizedKVStorage, bytes_per_value, kv_cache_bytes
from lecture_lib.quant import dequantize, quantize

QUANT_KINDS = ["int8", "int4", "fp8", "fp8_e5m2"]


def kv(b=2, h=3, t=5, d=8, seed=0, dtype=torch.float32, spread=True):
    g = torch.Generator().manual_seed(seed)
    k = torch.randn(b, h, t, d, generator=g)
    v = torch.randn(b, h, t, d, generator=g)
    if spread:  # token vectors with very different magnitudes: per-token scales matter
        k = k * torch.logspace(-2, 2, t).view(1, 1, t, 1)
    return k.to(dtype), v.to(dtype)


# ------------------------------------------------------------------ the byte formula
def test_kv_cache_bytes_llama70b_mha_vs_gqa():
    mha = kv_cache_bytes(80, 64, 128, 1, 1, 2)  # the lecture's figure: multi-head attention, d_model 8192
    assert mha == 2_621_440 == 2 * 80 * 8192 * 2  # 2.62 MB per token
    gqa = kv_cache_bytes(80, 8, 128, 1, 1, 2)  # LLaMA-2-70B: grouped-query attention, 8 KV heads
    assert gqa == 327_680  # 0.33 MB per token, 8x less
    assert kv_cache_bytes(80, 64, 128, 32768) == 80 * 2**30  # 85.9 GB = 80 GiB at 32K tokens
    assert kv_cache_bytes(80, 8, 128, 32768) == 10 * 2**30  # 10.7 GB = 10 GiB
    assert round(kv_cache_bytes(80, 64, 128, 32768, 1, 1) / 1e9, 2) == 42.95  # FP8 halves it
    assert kv_cache_bytes(2, 4, 32, 100, batch=3, bytes_per_value=0.5) == 2 * 2 * 4 * 32 * 100 * 3 // 2
    assert isinstance(kv_cache_bytes(1, 1, 1, 1, 1, 0.5), int)
    assert kv_cache_bytes(1, 1, 3, 1, 1, 0.5) == 3.0


def test_bytes_per_value():
    assert bytes_per_value("fp32", 64) == 4 and bytes_per_value("fp16", 64) == 2 and bytes_per_value("bf16", 7) == 2
    assert bytes_per_value("int8", 64) == pytest.approx(1 + 4 / 64)
    assert bytes_per_value("fp8", 128) == pytest.approx(1 + 4 / 128)
    assert bytes_per_value("int4", 64) == pytest.approx(0.5 + 4 / 64)
    assert bytes_per_value("int4", 5) == pytest.approx((3 + 4) / 5)


def test_kv_cache_bytes_bad_input():
    for args in [(0, 8, 128, 1), (80, -1, 128, 1), (80, 8, 128.0, 1), (80, 8, 128, 1, True)]:
        with pytest.raises((ValueError, TypeError), match="must be an integer >= 1"):
            kv_cache_bytes(*args)
    with pytest.raises(ValueError, match="bytes_per_value"):
        kv_cache_bytes(1, 1, 1, 1, 1, 0)
    with pytest.raises(ValueError, match="bytes_per_value"):
        kv_cache_bytes(1, 1, 1, 1, 1, math.inf)
    with pytest.raises(TypeError, match="bytes_per_value"):
        kv_cache_bytes(1, 1, 1, 1, 1, "2")
    with pytest.raises(ValueError, match="kind must be one of"):
        bytes_per_value("int3", 8)


# ------------------------------------------------------------------ storage: protocol behaviour
@pytest.mark.parametrize("kind", KINDS)
def test_shapes_dtype_len_and_chunked_appends(kind):
    k, v = kv(t=9)
    whole = QuantizedKVStorage(kind)
    whole.append(k, v)
    chunked = QuantizedKVStorage(kind)
    for a, b in [(0, 1), (1, 4), (4, 4), (4, 9)]:  # includes an empty append
        chunked.append(k[:, :, a:b], v[:, :, a:b])
    assert len(whole) == len(chunked) == 9
    kw, vw = whole.keys_values()
    kc, vc = chunked.keys_values()
    assert kw.shape == vw.shape == k.shape and kw.dtype == torch.float32
    assert torch.equal(kw, kc) and torch.equal(vw, vc)  # per-token scales: chunking changes nothing
    assert whole.nbytes == chunked.nbytes


@pytest.mark.parametrize("kind", KINDS)
def test_dtype_follows_last_append(kind):
    s = QuantizedKVStorage(kind)
    k, v = kv(t=3)
    s.append(k, v)
    s.append(*kv(t=2, seed=1, dtype=torch.bfloat16))
    kk, vv = s.keys_values()
    assert kk.dtype == vv.dtype == torch.bfloat16 and kk.shape == (2, 3, 5, 8)
    s.append(*kv(t=1, seed=2, dtype=torch.float16))
    assert s.keys_values()[0].dtype == torch.float16


@pytest.mark.parametrize("kind", KINDS)
def test_truncate_then_append(kind):
    k, v = kv(t=10)
    s = QuantizedKVStorage(kind)
    s.append(k[:, :, :7], v[:, :, :7])
    n7 = s.nbytes
    s.truncate(4)
    assert len(s) == 4 and s.nbytes == n7 * 4 // 7
    k2, v2 = kv(t=6, seed=5)
    s.append(k2, v2)
    ref = QuantizedKVStorage(kind)
    ref.append(torch.cat([k[:, :, :4], k2], 2), torch.cat([v[:, :, :4], v2], 2))
    assert torch.equal(s.keys_values()[0], ref.keys_values()[0])
    assert torch.equal(s.keys_values()[1], ref.keys_values()[1])
    s.truncate(0)
    assert len(s) == 0 and s.nbytes == 0 and s.keys_values()[0].shape == (2, 3, 0, 8)
    s.truncate(0)


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(QUANT_KINDS),
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 6)), min_size=1, max_size=6),
)
def test_random_append_truncate_sequences_match_reference(kind, ops):
    """Any sequence of (append t_new, then truncate to a length) equals quantizing the kept tokens at once."""
    s = QuantizedKVStorage(kind)
    kept_k, kept_v = [], []
    for i, (t_new, cut) in enumerate(ops):
        k, v = kv(b=1, h=2, t=t_new, d=6, seed=i)
        s.append(k, v)
        kept_k.append(k)
        kept_v.append(v)
        allk, allv = torch.cat(kept_k, 2), torch.cat(kept_v, 2)
        length = min(cut, allk.shape[2])
        s.truncate(length)
        kept_k, kept_v = [allk[:, :, :length]], [allv[:, :, :length]]
    ref = QuantizedKVStorage(kind)
    ref.append(kept_k[0], kept_v[0])
    assert len(s) == len(ref)
    a, b = s.keys_values(), ref.keys_values()
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and s.nbytes == ref.nbytes


# ------------------------------------------------------------------ storage: values
def test_int_kinds_equal_per_token_reference():
    k, v = kv(t=6, d=7)  # odd head_dim exercises int4 padding
    for kind, bits in (("int8", 8), ("int4", 4)):
        s = QuantizedKVStorage(kind)
        s.append(k, v)
        kk, vv = s.keys_values()
        for x, got in ((k, kk), (v, vv)):
            ref = torch.empty_like(x)
            for idx in np.ndindex(*x.shape[:3]):  # one scale per [batch, head, position] vector
                ref[idx] = dequantize(quantize(x[idx], bits))
            assert torch.equal(got, ref)


def test_fp8_kind_equals_torch_cast_with_per_token_scale():
    k, v = kv(t=6)
    s = QuantizedKVStorage("fp8")
    s.append(k, v)
    for x, got in zip((k, v), s.keys_values()):
        scale = x.abs().amax(-1, keepdim=True) / 448
        assert torch.equal(got, (x / scale).to(torch.float8_e4m3fn).float() * scale)
    s = QuantizedKVStorage("fp8_e5m2")
    s.append(k, v)
    scale = k.abs().amax(-1, keepdim=True) / 57344
    assert torch.equal(s.keys_values()[0], (k / scale).to(torch.float8_e5m2).float() * scale)


@pytest.mark.parametrize("kind", KINDS)
def test_error_bound_per_kind(kind):
    k, v = kv(t=12, d=16)
    s = QuantizedKVStorage(kind)
    s.append(k, v)
    for x, got in zip((k, v), s.keys_values()):
        err = (got - x).abs()
        amax = x.abs().amax(-1, keepdim=True)
        if kind == "int8":
            bound = amax / 127 / 2
        elif kind == "int4":
            bound = amax / 7 / 2
        elif kind == "fp8":  # relative 2**-4 for normals; half the smallest subnormal step below
            bound = torch.maximum(x.abs() * 2**-4, amax / 448 * 2**-10)
        elif kind == "fp8_e5m2":
            bound = torch.maximum(x.abs() * 2**-3, amax / 57344 * 2**-17)
        elif kind == "fp16":
            bound = torch.clamp(x.abs() * 2**-11, min=2**-25)  # fp16 subnormal step is 2**-24
        elif kind == "bf16":
            bound = x.abs() * 2**-8
        else:
            bound = torch.zeros_like(x)
        assert bool((err <= bound * (1 + 1e-5) + 1e-30).all()), kind
    if kind != "fp32":
        assert bool((s.keys_values()[0] != k).any())  # something was actually rounded


def test_per_token_scale_beats_per_tensor():
    # Token vectors spanning 4 decades: the small tokens keep their precision with per-token scales.
    k, v = kv(t=16, d=32)
    s = QuantizedKVStorage("int4")
    s.append(k, v)
    per_token = ((s.keys_values()[0] - k).abs() / k.abs().amax(-1, keepdim=True)).mean()
    per_tensor = ((dequantize(quantize(k, 4)) - k).abs() / k.abs().amax(-1, keepdim=True)).mean()
    assert per_token * 5 < per_tensor


def test_zero_vectors_stay_zero():
    k = torch.zeros(1, 2, 3, 4)
    for kind in KINDS:
        s = QuantizedKVStorage(kind)
        s.append(k, k)
        assert torch.equal(s.keys_values()[0], k) and torch.isfinite(s.keys_values()[1]).all()


# ------------------------------------------------------------------ storage: honest nbytes
def test_nbytes_exact_and_ratios():
    b, h, t, d = 2, 4, 10, 64
    k, v = kv(b, h, t, d, spread=False)
    n_vec = b * h * t  # per tensor (K or V)
    sizes = {}
    for kind in KINDS:
        s = QuantizedKVStorage(kind)
        s.append(k, v)
        sizes[kind] = s.nbytes
    assert sizes["fp32"] == 2 * n_vec * d * 4
    assert sizes["fp16"] == sizes["bf16"] == 2 * n_vec * d * 2
    assert sizes["int8"] == 2 * n_vec * (d + 4) == sizes["fp8"] == sizes["fp8_e5m2"]
    assert sizes["int4"] == 2 * n_vec * (d // 2 + 4)
    # codes alone: exactly 4x and 8x smaller than float32; with one float32 scale per 64 values a bit less
    assert (sizes["fp32"] / (sizes["int8"] - 2 * n_vec * 4), sizes["fp32"] / (sizes["int4"] - 2 * n_vec * 4)) == (4, 8)
    assert sizes["fp32"] / sizes["int8"] == pytest.approx(4 * 64 / 68)  # 3.76x
    assert sizes["fp32"] / sizes["int4"] == pytest.approx(4 * 64 / 36)  # 7.11x
    # agrees with the formula: one layer, kv_heads = h, batch b
    for kind in KINDS:
        assert sizes[kind] == pytest.approx(kv_cache_bytes(1, h, d, t, b, bytes_per_value(kind, d)))


def test_int4_really_packed():
    s = QuantizedKVStorage("int4")
    k, v = kv(1, 1, 3, 5)
    s.append(k, v)
    assert s.nbytes == 2 * 3 * (3 + 4)  # ceil(5/2) = 3 bytes of codes + 4 bytes of scale per vector
    assert s._codes[0].view(3).dtype == torch.uint8 and s._codes[0].view(3).shape[-1] == 3


def test_empty_storage():
    s = QuantizedKVStorage("int8")
    assert len(s) == 0 and s.nbytes == 0
    with pytest.raises(ValueError, match="needs at least one append"):
        s.keys_values()
    s.append(torch.zeros(1, 2, 0, 4), torch.zeros(1, 2, 0, 4))
    assert s.keys_values()[0].shape == (1, 2, 0, 4)


def test_bad_inputs():
    with pytest.raises(ValueError, match="kind must be one of"):
        QuantizedKVStorage("int2")
    s = QuantizedKVStorage("int8")
    k, v = kv()
    with pytest.raises(ValueError, match="batch, n_heads, t_new, head_dim"):
        s.append(k[0], v[0])
    with pytest.raises(ValueError, match="batch, n_heads, t_new, head_dim"):
        s.append(k, v[:, :, :2])
    with pytest.raises(TypeError, match="floating dtype"):
        s.append(k.long(), v.long())
    with pytest.raises(TypeError, match="torch.Tensor"):
        s.append(k.numpy(), v)
    bad = k.clone()
    bad[0, 0, 0, 0] = math.nan
    with pytest.raises(ValueError, match="finite"):
        s.append(bad, v)
    assert len(s) == 0
    s.append(k, v)
    with pytest.raises(ValueError, match="keep"):
        s.append(*kv(d=4))
    with pytest.raises(ValueError, match=r"length must be in 0\.\.5"):
        s.truncate(6)
    with pytest.raises(ValueError, match="length"):
        s.truncate(-1)
    with pytest.raises(TypeError, match="length"):
        s.truncate(2.0)


# ------------------------------------------------------------------ plugged into the tiny LM
def test_plugs_into_tinylm():
    tinylm = pytest.importorskip("lecture_lib.tinylm")
    torch.manual_seed(0)
    model = tinylm.TinyGPT(tinylm.GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=32)).eval()
    idx = torch.randint(0, model.config.vocab_size, (2, 12))
    with torch.no_grad():
        full = model(idx)  # no cache: the reference
        results = {}
        for kind in ("fp32", "int8", "int4", "fp8"):
            cache = model.new_cache(batch_size=2, storage=lambda kind=kind: QuantizedKVStorage(kind))
            steps = [model(idx[:, :5], cache)] + [model(idx[:, i : i + 1], cache) for i in range(5, 12)]
            results[kind] = (torch.cat(steps, 1), cache.nbytes, len(cache))
    assert torch.allclose(results["fp32"][0], full, atol=1e-5)
    err = {kind: (results[kind][0] - full).abs().max().item() for kind in results}
    assert err["int8"] < err["int4"] and 0 < err["int8"] < 0.05 and err["fp8"] > 0
    head_dim = 32 // 2
    for kind in results:
        assert results[kind][2] == 12
        assert results[kind][1] == pytest.approx(kv_cache_bytes(2, 2, head_dim, 12, 2, bytes_per_value(kind, head_dim)))
    assert results["fp32"][1] / results["int4"][1] == pytest.approx(4 * head_dim / (head_dim / 2 + 4))
