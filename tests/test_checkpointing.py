"""Tests of lecture_lib.checkpointing: saved-tensor bytes against hand counts, checkpointed gradients equal
to plain ones, memory shrinking with segments as the memory model says, bad inputs."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lecture_lib import checkpointing as ck
from lecture_lib.tinylm import GPTConfig, TinyGPT


def _tiny(n_layer=4, n_embd=32, block=32, seed=0):
    torch.manual_seed(seed)
    cfg = GPTConfig(n_layer=n_layer, n_head=4, n_embd=n_embd, block_size=block)
    model = TinyGPT(cfg).train()
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, cfg.vocab_size, (3, block), generator=gen)
    targets = torch.randint(0, cfg.vocab_size, (3, block), generator=gen)
    return model, idx, targets


# ----------------------------------------------------------------------------- the measuring instrument
def test_saved_bytes_of_a_small_mlp_by_hand():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))
    x = torch.randn(4, 8)
    _, saved = ck.saved_tensor_bytes(lambda: net(x).sum(), exclude=list(net.parameters()))
    # Linear saves its input [4, 8]; GELU its input [4, 16]; the second Linear its input [4, 16]
    assert saved.total_bytes == 4 * (4 * 8 + 4 * 16 + 4 * 16)
    assert saved.n_storages == 3
    # the second weight is saved too (to pass the gradient back to the hidden layer), but it is a
    # parameter, not an activation; the first weight is not saved since x needs no gradient
    _, with_params = ck.saved_tensor_bytes(lambda: net(x).sum())
    assert with_params.total_bytes == saved.total_bytes + 4 * (8 * 16)


def test_a_tensor_saved_twice_counts_once():
    y = torch.randn(10, 10, requires_grad=True)
    _, saved = ck.saved_tensor_bytes(lambda: (y * y).sum())
    assert saved.total_bytes == 400 and saved.n_storages == 1


def test_segment_bounds():
    assert ck.segment_bounds(4, 1) == [(0, 4)]
    assert ck.segment_bounds(4, 3) == [(0, 2), (2, 3), (3, 4)]
    assert ck.segment_bounds(9, 3) == [(0, 3), (3, 6), (6, 9)]


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 40), data=st.data())
def test_segment_bounds_partition_the_blocks(n, data):
    k = data.draw(st.integers(1, n))
    b = ck.segment_bounds(n, k)
    assert len(b) == k and b[0][0] == 0 and b[-1][1] == n
    assert all(x[1] == y[0] for x, y in zip(b, b[1:]))
    sizes = [s - a for a, s in b]
    assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
    assert max(sizes) == math.ceil(n / k)


# ----------------------------------------------------------------------------- correctness
@pytest.mark.parametrize("segments", [1, 2, 3, 4])
def test_checkpointed_gradients_equal_plain_gradients(segments):
    model, idx, targets = _tiny()
    plain = ck.model_gradients(model, idx, targets, 0)
    ckpt = ck.model_gradients(model, idx, targets, segments)
    assert plain.keys() == ckpt.keys() and len(plain) == len(list(model.parameters()))
    for name in plain:
        torch.testing.assert_close(ckpt[name], plain[name], rtol=0, atol=1e-6)


def test_the_model_is_restored_and_checkpoint_really_runs():
    model, idx, targets = _tiny()
    original = model.blocks
    with ck.gradient_checkpointing(model, 2):
        assert all(isinstance(m, ck.CheckpointedSegment) for m in model.blocks)
        calls = []
        h = original[0].register_forward_hook(lambda *a: calls.append(1))
        ck.lm_loss(model, idx, targets).backward()
        h.remove()
        assert len(calls) == 2  # forward, then the recomputation during backward
    assert model.blocks is original
    with torch.no_grad():
        assert torch.equal(model(idx), model(idx))


# ----------------------------------------------------------------------------- memory
def test_forward_saved_bytes_are_outside_plus_one_input_per_segment():
    model, idx, targets = _tiny(n_layer=6)
    m0 = ck.activation_memory(model, idx, targets, 0)
    assert m0.input_bytes == idx.numel() * 32 * 4
    assert m0.forward_saved_bytes == m0.outside_bytes + sum(m0.block_bytes)
    assert len(set(m0.block_bytes)) == 1  # identical blocks save identical bytes
    assert m0.block_bytes[0] > 10 * m0.input_bytes  # a block keeps many times its input
    for k in range(1, 7):
        mk = ck.activation_memory(model, idx, targets, k)
        assert mk.forward_saved_bytes == m0.outside_bytes + k * m0.input_bytes
        assert mk.peak_bytes == ck.predicted_memory(k, 6, m0.input_bytes, m0.block_bytes[0], m0.outside_bytes)


def test_saved_bytes_shrink_with_segments():
    model, idx, targets = _tiny(n_layer=4)
    peaks = {k: ck.activation_memory(model, idx, targets, k).peak_bytes for k in range(5)}
    assert peaks[1] == peaks[0]  # one segment: everything is recomputed at once
    assert peaks[2] < 0.6 * peaks[0]
    assert peaks[4] < peaks[2] < peaks[1]
    forward = {k: ck.activation_memory(model, idx, targets, k).forward_saved_bytes for k in range(5)}
    assert forward[1] < 0.1 * forward[0]


def test_sqrt_rule_and_the_measured_optimum():
    assert [ck.sqrt_rule(n) for n in (1, 4, 9, 16, 24)] == [1, 2, 3, 4, 5]
    # when a layer keeps as much as its input (M = c), the model's optimum is the sqrt rule
    assert ck.optimal_segments(16, 1.0, 1.0) == 4
    assert ck.optimal_segments(100, 1.0, 1.0) == 10
    # a transformer block keeps ~16x its input: the optimum moves to one segment per block here
    model, idx, targets = _tiny(n_layer=4)
    m0 = ck.activation_memory(model, idx, targets, 0)
    best = ck.optimal_segments(4, m0.input_bytes, m0.block_bytes[0])
    measured = min(range(1, 5), key=lambda k: ck.activation_memory(model, idx, targets, k).peak_bytes)
    assert best == measured == 4


def test_tradeoff_curve_without_timing():
    model, idx, targets = _tiny(n_layer=2)
    rows = ck.tradeoff_curve(model, idx, targets, [2], measure_time=False)
    assert [r["segments"] for r in rows] == [0, 2]
    assert rows[0]["peak_fraction"] == 1.0 and rows[1]["peak_fraction"] < 1.0
    assert rows[1]["predicted_peak_bytes"] == rows[1]["peak_bytes"]


def test_step_seconds_with_a_fake_clock():
    model, idx, targets = _tiny(n_layer=2)
    ticks = iter(range(100))
    assert ck.step_seconds(model, idx, targets, 1, repeats=3, clock=lambda: float(next(ticks))) == 1.0
    assert all(p.grad is None for p in model.parameters())


# ----------------------------------------------------------------------------- bad inputs
def test_bad_inputs():
    model, idx, targets = _tiny(n_layer=2)
    with pytest.raises(ValueError, match=r"segments must be in 0..2"):
        ck.activation_memory(model, idx, targets, 3)
    with pytest.raises(ValueError, match=r"segments must be in 0..2"):
        ck.model_gradients(model, idx, targets, -1)
    with pytest.raises(TypeError, match="segments must be an int"):
        ck.activation_memory(model, idx, targets, 1.5)
    with pytest.raises(TypeError, match="nn.ModuleList `blocks`"):
        with ck.gradient_checkpointing(nn.Linear(2, 2), 1):
            pass
    with pytest.raises(ValueError, match=r"both be \[batch, t\]"):
        ck.lm_loss(model, idx, targets[:, :-1])
    with pytest.raises(ValueError, match="n_layers must be an int >= 1"):
        ck.segment_bounds(0, 1)
    with pytest.raises(ValueError, match="to split blocks"):
        ck.segment_bounds(4, 0)
    with pytest.raises(ValueError, match="without a KV cache"):
        with ck.gradient_checkpointing(model, 1):
            model.blocks[0](torch.zeros(1, 4, 32), storage=object())
    with pytest.raises(ValueError, match="repeats must be an int >= 1"):
        ck.step_seconds(model, idx, targets, 1, repeats=0)
