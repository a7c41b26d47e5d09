"""Tests of lecture_lib.mixed_precision: formats against torch.finfo / ml_dtypes / real casts, the loss
scaler against torch.amp.GradScaler, gradient-cast counts against real casts, bad inputs."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib import mixed_precision as mp

TORCH_DTYPES = {
    "fp32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
    "e4m3": torch.float8_e4m3fn,
    "e5m2": torch.float8_e5m2,
}
ML_DTYPES = {
    "fp16": np.float16,
    "bf16": ml_dtypes.bfloat16,
    "e4m3": ml_dtypes.float8_e4m3fn,
    "e5m2": ml_dtypes.float8_e5m2,
}
INT_VIEW = {"fp32": torch.int32, "fp16": torch.int16, "bf16": torch.int16, "e4m3": torch.uint8, "e5m2": torch.uint8}


# ----------------------------------------------------------------------------- format constants
@pytest.mark.parametrize("name", list(TORCH_DTYPES))
def test_format_constants_match_torch_finfo(name):
    f = mp.get_format(name)
    fi = torch.finfo(TORCH_DTYPES[name])
    assert f.bits == fi.bits
    assert f.max == fi.max
    assert f.min_normal == fi.smallest_normal
    assert f.eps == fi.eps


@pytest.mark.parametrize("name", ["fp16", "bf16", "e4m3", "e5m2"])
def test_min_subnormal_matches_ml_dtypes_and_casts(name):
    f = mp.get_format(name)
    assert f.min_subnormal == float(ml_dtypes.finfo(ML_DTYPES[name]).smallest_subnormal)
    dt = TORCH_DTYPES[name]
    # the smallest subnormal survives a cast; half of it is a tie that rounds to even (zero)
    assert torch.tensor(f.min_subnormal).to(dt).float().item() == f.min_subnormal
    assert torch.tensor(f.min_subnormal / 2).to(dt).float().item() == 0.0
    assert torch.tensor(f.min_subnormal * 0.51).to(dt).float().item() == f.min_subnormal


def test_fp32_min_subnormal_matches_numpy():
    assert mp.get_format("fp32").min_subnormal == float(np.finfo(np.float32).smallest_subnormal)


def test_fp16_range_corrects_the_lecture():
    f = mp.get_format("fp16")
    assert f.max == 65504.0 == (2 - 2**-10) * 2**15  # not 2**15 = 32768
    assert f.min_normal == pytest.approx(6.1035e-5, rel=1e-4)
    assert f.min_subnormal == pytest.approx(5.96e-8, rel=1e-3)
    assert mp.classify(1e-6, "fp16") == "subnormal"  # not an underflow
    assert mp.rounding_error(1e-6, "fp16") == pytest.approx(0.0133, abs=1e-4)
    assert mp.classify(1e-8, "fp16") == "underflow_to_zero"
    assert mp.classify(2.0**-25, "fp16") == "underflow_to_zero"  # tie rounds to even = 0
    assert mp.classify(2.0**-25 * 1.001, "fp16") == "subnormal"
    # loss scale 1024: 1e-6 becomes normal; the largest gradient that survives is 65504/1024 = 63.97
    assert mp.classify(1e-6 * 1024, "fp16") == "normal"
    assert mp.classify(63.96875 * 1024, "fp16") == "normal"
    assert mp.classify(63.99 * 1024, "fp16") == "overflow"


def test_e4m3_and_e5m2_maxima():
    assert mp.get_format("e4m3").max == 448.0
    assert mp.get_format("e5m2").max == 57344.0
    assert mp.classify(464.0, "e4m3") == "normal"  # tie between 448 and (missing) 480 goes to even 448
    assert mp.classify(464.5, "e4m3") == "overflow"


def test_decimal_digits():
    for name in TORCH_DTYPES:
        f = mp.get_format(name)
        assert f.decimal_digits == pytest.approx(-math.log10(f.eps / 2))
    assert mp.get_format("fp32").decimal_digits == pytest.approx(7.22, abs=0.01)
    assert mp.get_format("fp16").decimal_digits == pytest.approx(3.31, abs=0.01)
    assert mp.get_format("bf16").decimal_digits == pytest.approx(2.41, abs=0.01)


def test_format_table_rows():
    rows = mp.format_table()
    assert [r["format"] for r in rows] == ["fp32", "fp16", "bf16", "e4m3", "e5m2"]
    assert rows[1]["max"] == 65504.0


# ----------------------------------------------------------------------------- rounding vs real casts
# Values that are exact float32 numbers, so a float32 -> format cast is a single rounding (no double rounding).
_f32 = st.floats(allow_nan=False, allow_infinity=False, width=32)
_log_uniform = st.builds(
    lambda sign, exponent, frac: float(np.float32(sign * (1 + frac) * 2.0**exponent)),
    st.sampled_from([-1.0, 1.0]),
    st.integers(min_value=-30, max_value=20),
    st.floats(min_value=0, max_value=1, exclude_max=True),
)
_values = st.one_of(_f32, _log_uniform, st.sampled_from([0.0, -0.0, 65504.0, 65520.0, 2.0**-25, 448.0, 464.0]))


def _category_from_cast(v: float, r: float, name: str) -> str:
    f = mp.get_format(name)
    if v == 0.0:
        return "zero"
    if math.isinf(r) or math.isnan(r):
        return "overflow"
    if r == 0.0:
        return "underflow_to_zero"
    return "subnormal" if abs(r) < f.min_normal else "normal"


@settings(max_examples=300, deadline=None)
@given(v=_values, name=st.sampled_from(["fp16", "bf16", "e5m2", "fp32"]))
def test_round_and_classify_match_torch_casts(v, name):
    r_torch = torch.tensor(v, dtype=torch.float32).to(TORCH_DTYPES[name]).to(torch.float64).item()
    r_ours = float(mp.round_to_format(v, name))
    assert r_ours == r_torch or (math.isnan(r_ours) and math.isnan(r_torch))
    assert math.copysign(1, r_ours) == math.copysign(1, r_torch)
    assert mp.classify(v, name) == _category_from_cast(v, r_torch, name)


@settings(max_examples=300, deadline=None)
@given(v=_values, name=st.sampled_from(["fp16", "bf16", "e4m3", "e5m2"]))
def test_round_and_classify_match_ml_dtypes_casts(v, name):
    # ml_dtypes turns an E4M3 overflow into NaN (torch saturates), so it can check E4M3 overflow too
    with np.errstate(over="ignore"):
        r_ml = float(np.array([v], dtype=np.float32).astype(ML_DTYPES[name]).astype(np.float64)[0])
    r_ours = float(mp.round_to_format(v, name))
    if math.isnan(r_ml):
        assert math.isinf(r_ours)
    else:
        assert r_ours == r_ml
    assert mp.classify(v, name) == _category_from_cast(v, r_ml, name)


@settings(max_examples=200, deadline=None)
@given(v=_values, name=st.sampled_from(list(TORCH_DTYPES)))
def test_encode_bits_matches_the_bits_of_a_real_cast(v, name):
    if mp.classify(v, name) == "overflow" and name == "e4m3":
        with pytest.raises(ValueError, match="no inf"):
            mp.encode_bits(v, name)
        return
    cast = torch.tensor(v, dtype=torch.float32).to(TORCH_DTYPES[name])
    raw = int(cast.view(INT_VIEW[name]).item()) % (1 << mp.get_format(name).bits)
    expected = format(raw, f"0{mp.get_format(name).bits}b")
    assert mp.encode_bits(v, name).replace(" ", "") == expected


def test_encode_bits_examples():
    assert mp.encode_bits(1.0, "fp16") == "0 01111 0000000000"
    assert mp.encode_bits(-2.0, "bf16") == "1 10000000 0000000"
    assert mp.encode_bits(448.0, "e4m3") == "0 1111 110"
    assert mp.encode_bits(float("nan"), "e4m3") == "0 1111 111"
    assert mp.encode_bits(1e6, "fp16") == "0 11111 0000000000"


@settings(max_examples=200, deadline=None)
@given(v=_log_uniform, name=st.sampled_from(list(TORCH_DTYPES)))
def test_relative_error_of_normals_is_at_most_half_eps(v, name):
    """The eps/2 bound holds for inputs in the normal range. (An input just below the smallest normal can round up
    to it and be classified "normal" after rounding, e.g. 1.75 * 2**-15 in e5m2, with a larger relative error.)"""
    f = mp.get_format(name)
    if f.min_normal <= abs(v) <= f.max:
        assert mp.classify(v, name) in ("normal", "overflow")
        assert mp.rounding_error(v, name) <= f.eps / 2


def test_rounding_up_from_the_subnormal_range_can_exceed_half_eps():
    """The counterexample hypothesis found: below min_normal the bound does not hold, though the result is normal."""
    v = -1.75 * 2.0**-15
    f = mp.get_format("e5m2")
    assert abs(v) < f.min_normal and mp.classify(v, "e5m2") == "normal"
    assert mp.rounding_error(v, "e5m2") > f.eps / 2


def test_a_truncating_rounder_fails_the_cast_oracle():
    """Negative control: the cast oracle is strong enough to catch round-toward-zero."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(2000).astype(np.float32)
    f = mp.get_format("fp16")
    _, e2 = np.frexp(np.abs(x.astype(np.float64)))
    q = np.ldexp(1.0, np.maximum(e2 - 1, f.emin) - f.mantissa_bits)
    truncated = np.copysign(np.floor(np.abs(x) / q) * q, x)
    real = torch.from_numpy(x).half().double().numpy()
    assert np.array_equal(mp.round_to_format(x, "fp16"), real)
    assert not np.array_equal(truncated, real)


# ----------------------------------------------------------------------------- gradient cast counts
@pytest.mark.parametrize("name", ["fp16", "bf16", "e5m2"])
@pytest.mark.parametrize("scale", [1.0, 2.0**10, 2.0**16, 2.0**24])
def test_underflow_fraction_matches_real_cast_counts(name, scale):
    gen = torch.Generator().manual_seed(1)
    grads = [torch.randn(500, generator=gen) * 10.0 ** torch.empty(500).uniform_(-10, 0, generator=gen) for _ in range(3)]
    grads[0][:17] = 0.0
    rep = mp.underflow_fraction(grads, scale, name)
    g = torch.cat(grads)
    cast = (g.double() * scale).float().to(TORCH_DTYPES[name]).double()
    assert rep.total == 1500 and rep.zero == 17
    assert rep.vanished == int(((g != 0) & (cast == 0)).sum())
    assert rep.overflow == int((~torch.isfinite(cast)).sum())
    fmin = mp.get_format(name).min_normal
    assert rep.subnormal == int(((cast != 0) & (cast.abs() < fmin)).sum())
    assert rep.zero + rep.vanished + rep.subnormal + rep.normal + rep.overflow == rep.total


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), log_s1=st.integers(-4, 30), log_s2=st.integers(-4, 30))
def test_larger_scale_never_vanishes_more_or_overflows_less(seed, log_s1, log_s2):
    lo, hi = sorted((log_s1, log_s2))
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(300) * 10.0 ** rng.uniform(-12, 1, 300)
    a = mp.underflow_fraction(g, 2.0**lo, "fp16")
    b = mp.underflow_fraction(g, 2.0**hi, "fp16")
    assert b.vanished <= a.vanished
    assert b.overflow >= a.overflow


def test_loss_scale_rescues_small_gradients():
    g = torch.full((100,), 1e-8)
    assert mp.underflow_fraction(g, 1.0).vanished_fraction == 1.0
    assert mp.underflow_fraction(g, 1024.0).vanished_fraction == 0.0
    assert mp.underflow_fraction(torch.full((4,), 100.0), 1024.0).overflow_fraction == 1.0


# ----------------------------------------------------------------------------- loss scaler vs GradScaler
def _run_pair(grad_values, **kw):
    """Train one parameter with GradScaler("cpu") and with LossScaler on the same gradients."""
    results = []
    for kind in ("torch", "ours"):
        p = torch.nn.Parameter(torch.linspace(-1, 1, 4))
        opt = torch.optim.SGD([p], lr=0.01)
        scaler = torch.amp.GradScaler("cpu", **kw) if kind == "torch" else mp.LossScaler(**kw)
        scales, stepped = [], []
        for g in grad_values:
            opt.zero_grad()
            loss = (p * torch.tensor(g, dtype=torch.float32)).sum()
            before = p.detach().clone()
            (scaler.scale(loss) if kind == "torch" else scaler.scale_loss(loss)).backward()
            scaler.step(opt)
            scaler.update()
            stepped.append(not torch.equal(before, p.detach()))
            scales.append(float(scaler.get_scale()) if kind == "torch" else scaler.scale)
        results.append((scales, stepped, p.detach().clone()))
    return results


def test_scaler_matches_gradscaler_on_a_gradient_sequence():
    inf, nan = float("inf"), float("nan")
    seq = [[1, 2, 3, 4]] * 5 + [[1, inf, 0, 0]] + [[0.5, 0.5, 0.5, 0.5]] * 7 + [[nan, 1, 1, 1]]
    seq += [[1e35, 1, 1, 1]] * 3  # finite, but overflows float32 once multiplied by the scale
    seq += [[1e-3, -1e-3, 2e-3, 0]] * 10
    (ts, tstep, tp), (os_, ostep, op) = _run_pair(seq, init_scale=2.0**16, growth_interval=3)
    assert os_ == ts
    assert ostep == tstep
    assert torch.equal(op, tp)
    assert False in ostep and True in ostep
    assert max(os_) > 2.0**16 and min(os_) < 2.0**16


def test_scaler_matches_gradscaler_with_unusual_factors():
    seq = [[1, 1, 1, 1]] * 6 + [[float("inf"), 1, 1, 1]] * 2 + [[1, 1, 1, 1]] * 6
    (ts, tstep, tp), (os_, ostep, op) = _run_pair(
        seq, init_scale=3.0, growth_factor=1.1, backoff_factor=0.3, growth_interval=2
    )
    assert os_ == ts and ostep == tstep and torch.equal(op, tp)


@settings(max_examples=60, deadline=None)
@given(
    found=st.lists(st.booleans(), min_size=1, max_size=40),
    init_exp=st.integers(-10, 127),
    growth=st.sampled_from([2.0, 1.5, 1.1, 4.0]),
    backoff=st.sampled_from([0.5, 0.25, 0.9, 0.3]),
    interval=st.integers(1, 5),
)
def test_update_scale_matches_torch_kernel(found, init_exp, growth, backoff, interval):
    s_t = torch.full((), 2.0**init_exp, dtype=torch.float32)
    tracker_t = torch.zeros((), dtype=torch.int32)
    s, tracker = 2.0**init_exp, 0
    for f in found:
        torch._amp_update_scale_(s_t, tracker_t, torch.full((), float(f)), growth, backoff, interval)
        s, tracker = mp.update_scale(
            s, tracker, f, growth_factor=growth, backoff_factor=backoff, growth_interval=interval
        )
        assert s == s_t.item() and tracker == tracker_t.item()


def test_scale_never_grows_past_float32():
    s, tr = 2.0**127, 0
    for _ in range(5):
        s, tr = mp.update_scale(s, tr, False, growth_interval=1)
    assert s == 2.0**127


def test_scaler_history_and_explicit_found_inf():
    sc = mp.LossScaler(init_scale=8.0, growth_interval=2)
    assert sc.update(found_inf=False) == 8.0
    assert sc.update(found_inf=False) == 16.0
    assert sc.update(found_inf=True) == 8.0
    assert [r.found_inf for r in sc.history] == [False, False, True]
    assert [r.new_scale for r in sc.history] == [8.0, 16.0, 8.0]


# ----------------------------------------------------------------------------- bad inputs
def test_bad_inputs():
    with pytest.raises(ValueError, match="fmt must be one of"):
        mp.get_format("fp12")
    with pytest.raises(TypeError, match="fmt must be"):
        mp.get_format(16)
    with pytest.raises(TypeError, match="value must be a real number"):
        mp.classify("1e-6")
    with pytest.raises(TypeError, match="value must be a real number"):
        mp.classify(True)
    with pytest.raises(ValueError, match="value must be finite"):
        mp.rounding_error(float("inf"))
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="scale must be a finite number > 0"):
            mp.underflow_fraction(torch.ones(3), bad)
    with pytest.raises(ValueError, match="at least one"):
        mp.underflow_fraction(torch.ones(0), 1.0)
    with pytest.raises(ValueError, match="at least one tensor"):
        mp.underflow_fraction([], 1.0)
    with pytest.raises(TypeError, match="grads must be"):
        mp.underflow_fraction("grads", 1.0)
    with pytest.raises(ValueError, match="growth_factor must be a finite number > 1"):
        mp.LossScaler(growth_factor=0.5)
    with pytest.raises(ValueError, match=r"backoff_factor must be in \(0, 1\)"):
        mp.LossScaler(backoff_factor=1.5)
    with pytest.raises(ValueError, match="growth_interval must be an int >= 1"):
        mp.LossScaler(growth_interval=0)
    with pytest.raises(TypeError, match="growth_interval must be an int"):
        mp.LossScaler(growth_interval=2.5)
    with pytest.raises(ValueError, match="scale must be a finite number > 0"):
        mp.LossScaler(init_scale=0.0)
    with pytest.raises(ValueError, match="found_inf must be given"):
        mp.LossScaler().update()
    with pytest.raises(ValueError, match="growth_tracker must be in"):
        mp.update_scale(1.0, 5, False, growth_interval=5)
    with pytest.raises(TypeError, match="found_inf must be a bool"):
        mp.update_scale(1.0, 0, "yes")
    with pytest.raises(TypeError, match="loss must be a torch.Tensor"):
        mp.LossScaler().scale_loss(1.0)
    with pytest.raises(TypeError, match="optimizer must be"):
        mp.LossScaler().step([torch.zeros(1)])


# ----------------------------------------------------------------------------- training steps of the tiny LM
def _tiny_lm(seed=0):
    from lecture_lib.tinylm import GPTConfig, TinyGPT

    torch.manual_seed(seed)
    cfg = GPTConfig(n_layer=2, n_head=4, n_embd=64, block_size=64)
    model = TinyGPT(cfg).train()
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, cfg.vocab_size, (8, 64), generator=gen)
    return model, idx, idx.roll(-1, dims=1)


def test_fp32_grads_are_plain_autograd_and_emulation_is_a_cast():
    model, idx, tg = _tiny_lm()
    loss, grads = mp.precision_grads(model, idx, tg, precision="fp32", loss_scale=1024.0)
    logits = model(idx)
    ref_loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tg.reshape(-1))
    (ref_loss * 1024.0).backward()
    ref = [p.grad.clone() for p in model.parameters()]
    assert loss == pytest.approx(ref_loss.item())
    for g, r in zip(grads, ref):
        assert torch.equal(g, r)
    _, exact = mp.precision_grads(model, idx, tg, precision="fp64", loss_scale=1024.0)
    for g, r in zip(exact, ref):
        assert g.dtype == torch.float32 and torch.allclose(g, r, rtol=1e-3, atol=1e-6 * float(r.abs().max()))
    _, emulated = mp.precision_grads(model, idx, tg, precision="fp16", loss_scale=1024.0, emulate=True)
    for g, r in zip(emulated, exact):  # storage model: each exact gradient cast to fp16 once
        assert g.dtype == torch.float32 and torch.equal(g, g.half().float())
        off = g != r.half().float()  # fp64 -> fp16 and fp64 -> fp32 -> fp16 differ only on rare double-rounding ties
        assert float(off.float().mean()) < 1e-3
    counts = mp.count_vanished(emulated, exact)
    assert abs(counts["vanished"] - mp.underflow_fraction(exact, 1.0, "fp16").vanished) <= 2


def test_fp64_reference_keeps_exact_zeros_zero():
    """Attention's key bias gets no gradient (softmax ignores a constant added to a row of scores): exactly 0 in
    the float64 reference, rounding noise in float32 (the negative control)."""
    model, idx, tg = _tiny_lm()
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    i = names.index("blocks.0.attn.qkv.bias")
    d = model.config.n_embd
    _, exact = mp.precision_grads(model, idx, tg, precision="fp64", loss_scale=1024.0)
    _, fp32 = mp.precision_grads(model, idx, tg, precision="fp32", loss_scale=1024.0)
    key_bias = slice(d, 2 * d)
    assert torch.count_nonzero(exact[i][key_bias]) == 0
    assert torch.count_nonzero(exact[i][:d]) > 0 and torch.count_nonzero(exact[i][2 * d:]) > 0
    assert torch.count_nonzero(fp32[i][key_bias]) > 0


def test_autocast_rejects_other_precisions():
    with pytest.raises(ValueError, match="precision must be one of"):
        with mp.autocast("fp32"):
            pass


def test_real_fp16_autocast_loses_gradients_that_loss_scaling_keeps():
    model, idx, tg = _tiny_lm()
    _, ref = mp.precision_grads(model, idx, tg, precision="fp32")
    _, g1 = mp.precision_grads(model, idx, tg, precision="fp16", loss_scale=1.0)
    _, g16 = mp.precision_grads(model, idx, tg, precision="fp16", loss_scale=2.0**16)
    _, gb = mp.precision_grads(model, idx, tg, precision="bf16", loss_scale=1.0)
    v1, v16, vb = mp.count_vanished(g1, ref), mp.count_vanished(g16, ref), mp.count_vanished(gb, ref)
    assert v1["vanished"] > 0
    assert v16["vanished"] < v1["vanished"]
    assert vb["vanished"] == 0  # bf16 has fp32's exponent range
    assert v1["overflow"] == v16["overflow"] == 0


def test_scaler_skips_overflowing_steps_and_backs_off():
    model, idx, tg = _tiny_lm()
    scaler = mp.LossScaler(init_scale=2.0**30, growth_interval=100)
    before = [p.detach().clone() for p in model.parameters()]
    stats = mp.train_run(model, [(idx, tg)] * 3, precision="fp16", scaler=scaler, emulate=True, reference_every=1)
    assert stats[0].skipped and stats[0].overflow > 0
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))  # skipped steps change nothing
    assert [s.scale for s in stats] == [2.0**30, 2.0**29, 2.0**28]
    assert [r.found_inf for r in scaler.history] == [s.skipped for s in stats]


def test_a_clean_run_trains():
    model, idx, tg = _tiny_lm()
    stats = mp.train_run(model, [(idx, tg)] * 8, precision="bf16", lr=3e-3)
    assert stats[-1].loss < stats[0].loss
    assert not any(s.skipped for s in stats) and all(s.vanished == -1 for s in stats)


def test_training_bad_inputs():
    model, idx, tg = _tiny_lm()
    with pytest.raises(ValueError, match="precision must be one of"):
        mp.precision_grads(model, idx, tg, precision="fp8")
    with pytest.raises(ValueError, match="emulate=True applies to precision='fp16' only"):
        mp.precision_grads(model, idx, tg, precision="bf16", emulate=True)
    with pytest.raises(ValueError, match=r"both be \[batch, t\]"):
        mp.precision_grads(model, idx, tg[:, 1:])
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        mp.train_run(model, [(idx, tg)], lr=0)
    with pytest.raises(ValueError, match="same parameters"):
        mp.count_vanished([torch.ones(2)], [])
