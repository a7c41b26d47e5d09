"""Gradient checkpointing: trade recomputation for activation memory (Part E).

Taught in ``notebooks/partE_serving_training_optimization.ipynb``: Zone 1 (segments slider), Zone 3
(the memory model and the square-root rule), Zone 5 (the measured trade-off on the tiny LM).

Training keeps, between the forward and the backward pass, every tensor that autograd saved to compute
gradients ("activations"). Gradient checkpointing splits the ``n`` transformer blocks into ``k``
contiguous segments and runs each under ``torch.utils.checkpoint`` (non-reentrant): only the segment's
*input* is kept; its inside is recomputed during the backward pass, one segment at a time.

**Memory model.** With block input ``c`` bytes and ``M`` bytes saved inside one block,

    memory(k) ~ other + k * c + (n / k) * M - c        (k inputs kept + one segment recomputed at a time)

minimised at ``k* = sqrt(n * M / c)``. The classic "sqrt(n) segments" rule is the case ``M = c`` (each
layer keeps about as much as its input). A transformer block saves many times its input
(LayerNorm, Q/K/V, attention output, the 4x wide MLP), so ``k*`` is larger than ``sqrt(n)``; the notebook
compares the rule with the measured curve.

**Time.** Non-reentrant checkpointing recomputes every checkpointed block's forward once during backward,
whatever ``k``. With backward ~ 2x forward, a step costs about ``(1 + 2 + 1) / 3 = 4/3`` of a normal step
(+33 %; the lecture says +30 %).

**How memory is measured.** Exactly, not with an allocator: ``torch.autograd.graph.saved_tensors_hooks``
sees every tensor autograd saves outside checkpointed regions; their storages are deduplicated (a tensor
saved twice, or two views of one buffer, count once) and parameter storages are excluded (weights are not
activations). The recompute term is measured too: a run *without* checkpointing attributes each saved
storage to the block that saved it first.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from lecture_lib.training import lm_loss

__all__ = [
    "ActivationMemory",
    "CheckpointedSegment",
    "activation_memory",
    "gradient_checkpointing",
    "lm_loss",
    "model_gradients",
    "optimal_segments",
    "predicted_memory",
    "saved_tensor_bytes",
    "segment_bounds",
    "sqrt_rule",
    "step_seconds",
    "tradeoff_curve",
]


def _blocks_of(model: nn.Module) -> nn.ModuleList:
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.ModuleList) or len(blocks) == 0:
        raise TypeError("model must have a non-empty nn.ModuleList `blocks` (like lecture_lib.tinylm models)")
    return blocks


def _check_segments(segments, n_layers: int) -> int:
    """0/None mean no checkpointing; otherwise 1..n_layers."""
    if segments is None:
        return 0
    if isinstance(segments, bool) or not isinstance(segments, numbers.Integral):
        raise TypeError(f"segments must be an int in 0..{n_layers} (0 = no checkpointing); got {type(segments).__name__}")
    if not 0 <= segments <= n_layers:
        raise ValueError(f"segments must be in 0..{n_layers} (0 = no checkpointing, at most one per block); got {segments}")
    return int(segments)


def segment_bounds(n_layers: int, segments: int) -> list[tuple[int, int]]:
    """Split blocks ``0..n_layers-1`` into ``segments`` contiguous ``[start, stop)`` ranges whose sizes
    differ by at most one (larger ones first)."""
    if isinstance(n_layers, bool) or not isinstance(n_layers, numbers.Integral) or n_layers < 1:
        raise ValueError(f"n_layers must be an int >= 1; got {n_layers!r}")
    k = _check_segments(segments, n_layers)
    if k == 0:
        raise ValueError(f"segments must be in 1..{n_layers} to split blocks; got 0")
    base, extra = divmod(n_layers, k)
    bounds, start = [], 0
    for i in range(k):
        stop = start + base + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


class CheckpointedSegment(nn.Module):
    """Runs a contiguous group of blocks under ``torch.utils.checkpoint(use_reentrant=False)``."""

    def __init__(self, blocks: Sequence[nn.Module]) -> None:
        super().__init__()
        self.inner = nn.ModuleList(blocks)

    def _run(self, x: Tensor) -> Tensor:
        for block in self.inner:
            x = block(x)
        return x

    def forward(self, x: Tensor, storage=None) -> Tensor:
        if storage is not None:
            raise ValueError("gradient checkpointing is for training: call the model without a KV cache")
        if not torch.is_grad_enabled():
            return self._run(x)
        return checkpoint(self._run, x, use_reentrant=False)


@contextmanager
def gradient_checkpointing(model: nn.Module, segments: int | None) -> Iterator[nn.Module]:
    """Inside the ``with`` block, ``model``'s blocks run as ``segments`` checkpointed segments.

    ``segments`` = 0 or None: unchanged. The model's own ``forward`` is used as is: ``model.blocks`` is
    temporarily replaced by one :class:`CheckpointedSegment` per segment (holding the same block modules,
    so parameters and gradients are shared), and restored on exit. Run the backward pass inside the block.
    """
    blocks = _blocks_of(model)
    k = _check_segments(segments, len(blocks))
    if k == 0:
        yield model
        return
    original = model.blocks
    model.blocks = nn.ModuleList(CheckpointedSegment(list(blocks)[a:b]) for a, b in segment_bounds(len(blocks), k))
    try:
        yield model
    finally:
        model.blocks = original


def _storage_key(t: Tensor) -> tuple[int, int]:
    s = t.untyped_storage()
    return s.data_ptr(), s.nbytes()


@dataclass(frozen=True)
class SavedTensors:
    """Bytes of distinct storages autograd saved for backward, with the region that saved each first."""

    total_bytes: int
    n_storages: int
    by_region: dict[str, int]


def saved_tensor_bytes(
    fn: Callable[[], Tensor], *, exclude: Sequence[Tensor] = (), blocks: Sequence[nn.Module] | None = None
) -> tuple[Tensor, SavedTensors]:
    """Run ``fn()`` (a forward pass returning the loss) and measure what autograd saves for backward.

    Storages are deduplicated; storages of ``exclude`` (pass the parameters) are not counted. With
    ``blocks``, each storage is attributed to ``"block i"`` if first saved while block ``i`` ran, else to
    ``"outside"`` (embeddings, final norm, head, loss). Returns ``(fn's result, SavedTensors)``; keep the
    result alive to backpropagate, or drop it to free the graph.
    """
    skip = {_storage_key(p) for p in exclude}
    seen: dict[tuple[int, int], str] = {}
    sizes: dict[tuple[int, int], int] = {}
    region = ["outside"]
    handles = []
    if blocks is not None:
        for i, block in enumerate(blocks):
            handles.append(block.register_forward_pre_hook(lambda m, a, i=i: region.__setitem__(0, f"block {i}")))
            handles.append(block.register_forward_hook(lambda m, a, o: region.__setitem__(0, "outside")))

    def pack(t: Tensor) -> Tensor:
        key = _storage_key(t)
        if key not in skip and key not in seen:
            seen[key] = region[0]
            sizes[key] = key[1]
        return t

    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = fn()
    finally:
        for h in handles:
            h.remove()
    by_region: dict[str, int] = {}
    for key, name in seen.items():
        by_region[name] = by_region.get(name, 0) + sizes[key]
    return out, SavedTensors(sum(sizes.values()), len(sizes), by_region)


@dataclass(frozen=True)
class ActivationMemory:
    """Activation memory of one training step with ``segments`` checkpointed segments (0 = none).

    ``forward_saved_bytes``: measured bytes held between forward and backward.
    ``recompute_bytes``: the largest segment's extra bytes while it is recomputed during backward
    (its blocks' saved bytes from a run without checkpointing, minus its input, which is already held).
    ``peak_bytes`` = forward_saved_bytes + recompute_bytes.
    """

    segments: int
    forward_saved_bytes: int
    recompute_bytes: int
    block_bytes: tuple[int, ...]
    input_bytes: int
    outside_bytes: int

    @property
    def peak_bytes(self) -> int:
        return self.forward_saved_bytes + self.recompute_bytes


def activation_memory(model: nn.Module, idx: Tensor, targets: Tensor, segments: int | None) -> ActivationMemory:
    """Measure the activation memory of one forward pass of ``lm_loss`` with ``segments`` segments."""
    blocks = _blocks_of(model)
    n = len(blocks)
    k = _check_segments(segments, n)
    params = list(model.parameters())
    with torch.enable_grad():
        _, plain = saved_tensor_bytes(lambda: lm_loss(model, idx, targets), exclude=params, blocks=list(blocks))
        block_bytes = tuple(plain.by_region.get(f"block {i}", 0) for i in range(n))
        hidden = getattr(getattr(model, "config", None), "n_embd", None)
        width = hidden if hidden is not None else _probe_width(model, idx)
        input_bytes = idx.numel() * width * 4  # block input: [batch, t, d] float32
        if k == 0:
            return ActivationMemory(0, plain.total_bytes, 0, block_bytes, input_bytes, plain.by_region.get("outside", 0))
        with gradient_checkpointing(model, k):
            _, ck = saved_tensor_bytes(lambda: lm_loss(model, idx, targets), exclude=params)
    recompute = max(sum(block_bytes[a:b]) - input_bytes for a, b in segment_bounds(n, k))
    return ActivationMemory(k, ck.total_bytes, recompute, block_bytes, input_bytes, plain.by_region.get("outside", 0))


def _probe_width(model: nn.Module, idx: Tensor) -> int:
    widths = []
    h = _blocks_of(model)[0].register_forward_pre_hook(lambda m, a: widths.append(a[0].shape[-1]))
    try:
        with torch.no_grad():
            model(idx)
    finally:
        h.remove()
    return int(widths[0])


def predicted_memory(segments: int, n_layers: int, input_bytes: float, block_bytes: float, outside_bytes: float = 0.0) -> float:
    """Memory model: ``outside + n*M`` without checkpointing; with ``k`` segments
    ``outside + k*c + (ceil(n/k)*M - c)`` (inputs kept + the largest segment recomputed)."""
    n = int(n_layers)
    k = _check_segments(segments, n)
    if k == 0:
        return outside_bytes + n * block_bytes
    return outside_bytes + k * input_bytes + math.ceil(n / k) * block_bytes - input_bytes


def sqrt_rule(n_layers: int) -> int:
    """The textbook rule: about ``sqrt(n)`` segments (rounded, at least 1)."""
    if isinstance(n_layers, bool) or not isinstance(n_layers, numbers.Integral) or n_layers < 1:
        raise ValueError(f"n_layers must be an int >= 1; got {n_layers!r}")
    return max(1, round(math.sqrt(n_layers)))


def optimal_segments(n_layers: int, input_bytes: float, block_bytes: float) -> int:
    """The ``k`` in 1..n minimising :func:`predicted_memory` (continuous optimum ``sqrt(n*M/c)``)."""
    return min(range(1, n_layers + 1), key=lambda k: (predicted_memory(k, n_layers, input_bytes, block_bytes), k))


def model_gradients(model: nn.Module, idx: Tensor, targets: Tensor, segments: int | None) -> dict[str, Tensor]:
    """Gradients of ``lm_loss`` for every parameter (by name), computed with ``segments`` segments."""
    model.zero_grad(set_to_none=True)
    with torch.enable_grad(), gradient_checkpointing(model, segments):
        lm_loss(model, idx, targets).backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return grads


def step_seconds(
    model: nn.Module,
    idx: Tensor,
    targets: Tensor,
    segments: int | None,
    *,
    repeats: int = 5,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Median seconds (by ``clock``) of one forward + backward of ``lm_loss`` with ``segments`` segments."""
    if isinstance(repeats, bool) or not isinstance(repeats, numbers.Integral) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1; got {repeats!r}")
    times = []
    for i in range(warmup + repeats):
        model.zero_grad(set_to_none=True)
        t0 = clock()
        with torch.enable_grad(), gradient_checkpointing(model, segments):
            lm_loss(model, idx, targets).backward()
        if i >= warmup:
            times.append(clock() - t0)
    model.zero_grad(set_to_none=True)
    return float(np.median(times))


def tradeoff_curve(
    model: nn.Module,
    idx: Tensor,
    targets: Tensor,
    segment_options: Sequence[int] | None = None,
    *,
    repeats: int = 3,
    clock: Callable[[], float] = time.perf_counter,
    measure_time: bool = True,
) -> list[dict]:
    """One record per segment count (default 0..n): measured bytes, the memory model's prediction, and
    (if ``measure_time``) the step time as a ratio to no checkpointing. Time repeats are interleaved
    across options so slow drifts of the machine hit every option alike."""
    n = len(_blocks_of(model))
    options = list(range(0, n + 1)) if segment_options is None else [_check_segments(k, n) for k in segment_options]
    if 0 not in options:
        options = [0] + options
    mems = {k: activation_memory(model, idx, targets, k) for k in options}
    m0 = mems[0]
    mean_block = float(np.mean(m0.block_bytes))
    times: dict[int, list[float]] = {k: [] for k in options}
    if measure_time:
        for k in options:  # warm-up
            step_seconds(model, idx, targets, k, repeats=1, warmup=0, clock=clock)
        for _ in range(repeats):
            for k in options:
                times[k].append(step_seconds(model, idx, targets, k, repeats=1, warmup=0, clock=clock))
    rows = []
    for k in options:
        m = mems[k]
        row = {
            "segments": k,
            "forward_saved_bytes": m.forward_saved_bytes,
            "recompute_bytes": m.recompute_bytes,
            "peak_bytes": m.peak_bytes,
            "peak_fraction": m.peak_bytes / m0.peak_bytes,
            "predicted_peak_bytes": predicted_memory(k, n, m0.input_bytes, mean_block, m0.outside_bytes),
        }
        if measure_time:
            row["seconds"] = float(np.median(times[k]))
            row["time_ratio"] = row["seconds"] / float(np.median(times[0]))
        rows.append(row)
    return rows
