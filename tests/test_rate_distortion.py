"""Rate-distortion helpers and GPTQ: published tables (Max 1960), Monte Carlo, scipy, properties, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib import gptq, rate_distortion as rd

# Max (1960), "Quantizing for minimum distortion", Tables I and II: MSE of N(0, 1)
LLOYD_MAX = {2: 0.3634, 4: 0.1175, 8: 0.03454, 16: 0.009497}
OPT_UNIFORM = {2: (1.596, 0.3634), 4: (0.9957, 0.1188), 8: (0.5860, 0.03744), 16: (0.3352, 0.01154)}


@pytest.mark.parametrize("n", sorted(LLOYD_MAX))
def test_lloyd_max_gaussian_matches_max_1960(n):
    t, y, mse = rd.lloyd_max_gaussian(n)
    assert mse == pytest.approx(LLOYD_MAX[n], rel=1e-3)
    assert np.allclose(y, -y[::-1]) and np.all(np.diff(y) > 0)
    assert np.allclose(t, (y[1:] + y[:-1]) / 2)


@pytest.mark.parametrize("n", sorted(OPT_UNIFORM))
def test_optimal_clip_matches_max_1960(n):
    clip, mse = rd.optimal_clip(n)
    step = 2 * clip / (n - 1)
    assert step == pytest.approx(OPT_UNIFORM[n][0], rel=2e-3)
    assert mse == pytest.approx(OPT_UNIFORM[n][1], rel=2e-3)


def test_gaussian_mse_agrees_with_monte_carlo_and_a_wrong_formula_does_not():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(400_000)
    t, y = rd.uniform_quantizer(15, 2.5)
    mc = float(np.mean((x - rd.quantize_to_levels(x, t, y)) ** 2))
    exact = rd.gaussian_mse(t, y)
    se = np.std((x - rd.quantize_to_levels(x, t, y)) ** 2) / math.sqrt(x.size)
    assert abs(mc - exact) < 4 * se
    # negative control: forgetting the clipping (overload) region is detectably wrong
    step = y[1] - y[0]
    granular_only = step**2 / 12
    assert abs(mc - granular_only) > 4 * se


def test_ordering_bound_lloyd_clip_absmax():
    for bits in range(1, 9):
        n = 2**bits
        bound = rd.gaussian_rd_bound(bits)
        lm = rd.lloyd_max_gaussian(n)[2]
        clip = rd.optimal_clip(n)[1]
        absmax = rd.gaussian_mse(*rd.uniform_quantizer(n, rd.gaussian_block_absmax(4096)))
        assert bound < lm <= clip * (1 + 1e-9) < absmax
    # high rate: Lloyd-Max approaches the Panter-Dite constant sqrt(3) pi / 2 times the bound
    assert rd.lloyd_max_gaussian(256)[2] / rd.gaussian_rd_bound(8) == pytest.approx(math.sqrt(3) * math.pi / 2, rel=0.02)


def test_block_absmax_is_the_median_of_the_max():
    rng = np.random.default_rng(1)
    maxima = np.abs(rng.standard_normal((4000, 128))).max(axis=1)
    assert np.median(maxima) == pytest.approx(rd.gaussian_block_absmax(128), rel=0.01)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.sampled_from([2, 3, 4, 7, 8, 16]))
def test_sample_lloyd_max_beats_uniform_and_its_own_start(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.standard_t(df=4, size=3000)
    t, y, mse = rd.lloyd_max(x, n)
    assert y.size == n and np.all(np.diff(y) >= 0)
    t0, y0, mse0 = rd.lloyd_max(x, n, max_iter=1)
    assert mse <= mse0 + 1e-12
    tu, yu = rd.uniform_quantizer(n, float(np.abs(x).max()))
    assert mse <= np.mean((x - rd.quantize_to_levels(x, tu, yu)) ** 2) + 1e-12


@pytest.mark.parametrize(
    "call",
    [
        lambda: rd.gaussian_rd_bound(-1),
        lambda: rd.gaussian_rd_bound(4, sigma=0),
        lambda: rd.uniform_quantizer(0, 1.0),
        lambda: rd.uniform_quantizer(4, float("nan")),
        lambda: rd.gaussian_mse([0.0], [1.0]),
        lambda: rd.gaussian_mse([1.0, 0.0], [0.0, 1.0, 2.0]),
        lambda: rd.lloyd_max([], 4),
        lambda: rd.lloyd_max([1.0, float("nan")], 2),
        lambda: rd.lloyd_max_gaussian(True),
        lambda: rd.gaussian_block_absmax(0),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


# ----------------------------------------------------------------------------------------------- GPTQ
def _correlated(seed: int, n: int = 1024, d: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g) / d**0.5 * 2 + torch.eye(d)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mix.to(torch.float64)


def test_gptq_equals_rtn_when_inputs_are_uncorrelated():
    w = torch.randn(16, 32, generator=torch.Generator().manual_seed(0))
    for g in (None, 8):
        assert torch.equal(gptq.gptq_quantize(w, torch.eye(32), 4, group_size=g, damp=0.0),
                           gptq.rtn_quantize(w, 4, group_size=g))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), bits=st.sampled_from([3, 4, 6]), group=st.sampled_from([None, 16]))
def test_gptq_output_is_on_the_grid_and_beats_rtn(seed, bits, group):
    x = _correlated(seed)
    w = torch.randn(24, 64, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64) * 0.1
    q, codes, scale = gptq.gptq_quantize(w, gptq.hessian(x), bits, group_size=group, return_codes=True)
    qmax = 2 ** (bits - 1) - 1
    assert codes.dtype == torch.int8 and int(codes.abs().max()) <= qmax
    assert torch.allclose(q, codes.float() * scale, rtol=1e-6, atol=1e-9)
    g = group or 64
    blocks = scale.reshape(24, 64 // g, g)
    assert torch.equal(blocks, blocks[..., :1].expand_as(blocks))  # one scale per row / group
    assert gptq.output_error(x, w, q) < gptq.output_error(x, w, gptq.rtn_quantize(w, bits, group_size=group))


def test_gptq_negative_control_wrong_sign_update_is_worse_than_rtn():
    x = _correlated(3)
    w = torch.randn(24, 64, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 0.1
    h = gptq.hessian(x)
    good = gptq.output_error(x, w, gptq.gptq_quantize(w, h, 3))
    rtn = gptq.output_error(x, w, gptq.rtn_quantize(w, 3))
    # a GPTQ that pushes the error the wrong way (flip the sign of the correlations in H)
    flipped = h.clone()
    off = ~torch.eye(64, dtype=torch.bool)
    flipped[off] = -flipped[off]
    flipped = flipped + torch.eye(64, dtype=h.dtype) * float(torch.linalg.eigvalsh(flipped).min().abs() + 1e-3)
    bad = gptq.output_error(x, w, gptq.gptq_quantize(w, flipped, 3))
    assert good < rtn < bad


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda: gptq.gptq_quantize(torch.zeros(2, 4), torch.eye(3), 4), ValueError),
        (lambda: gptq.gptq_quantize(torch.zeros(2, 4), torch.eye(4), 9), ValueError),
        (lambda: gptq.gptq_quantize(torch.zeros(2, 4), torch.eye(4), 4, group_size=3), ValueError),
        (lambda: gptq.gptq_quantize(torch.full((2, 4), float("nan")), torch.eye(4), 4), ValueError),
        (lambda: gptq.hessian(torch.zeros(3, dtype=torch.long)), TypeError),
        (lambda: gptq.output_error(torch.ones(3, 4), torch.ones(2, 4), torch.ones(2, 3)), ValueError),
    ],
)
def test_gptq_bad_input(call, exc):
    with pytest.raises(exc):
        call()
