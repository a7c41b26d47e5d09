"""Real low-bit matrix-vector kernels on CPU: packed INT8 and INT4 weights through PyTorch's own kernels.

Taught in ``notebooks/partA_quantization.ipynb`` (Part A, Zone 6 "Is a quantized model faster on CPU?") and
timed by ``benchmarks/bench_lowbit.py``. Part A's other cells dequantize weights back to float32 (right for
measuring *accuracy*); here the weights stay packed and the kernel reads 1 or 0.5 bytes per weight.

Three kernels of torch 2.13's CPU build, each fed codes from :func:`lecture_lib.quant.quantize`:

* :func:`int8_weight_only` / :func:`int8_matvec` - ``torch.ops.aten._weight_int8pack_mm``: INT8 weights with one
  scale per output row, float activations (``y = x (codes * s)^T``).
* :func:`int4_weight_only` / :func:`int4_matvec` - ``torch.ops.aten._weight_int4pack_mm_for_cpu`` (the "tinygemm"
  layout, packed by ``_convert_weight_to_int4pack_for_cpu``): asymmetric INT4 codes ``q`` in 0..15 per group of
  ``group_size`` inputs, ``w = (q - 8) * scale + zero`` with ``zero = (8 - z) * scale`` for our zero point ``z``.
* :func:`int8_dynamic` / :func:`int8_dynamic_matvec` - ``torch.ao.quantization.quantize_dynamic``'s INT8 Linear
  (fbgemm / x86 engine): INT8 weights *and* the activation quantized to
  8 bits on the fly, integer dot products.

:func:`weight_bytes` and :func:`bandwidth_bound_ratio` are the pure model of why any of this can be faster.

Measured fact (torch 2.13 CPU wheel): the two weight-only kernels have vectorized (AVX2 / AVX-512) code for
bfloat16 activations only; with float32 activations, or under ``ATEN_CPU_CAPABILITY=default``, they run a
scalar loop several times slower than float32 ``F.linear``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from lecture_lib._checks import as_tensor as _as_tensor
from lecture_lib._checks import integer as _integer
from lecture_lib import quant

__all__ = [
    "Int8Weight",
    "Int4Weight",
    "int8_weight_only",
    "int8_matvec",
    "int4_weight_only",
    "int4_matvec",
    "int8_dynamic",
    "int8_dynamic_matvec",
    "weight_bytes",
    "bandwidth_bound_ratio",
]


def _weight(w) -> torch.Tensor:
    w = _as_tensor("w", w, of="floats")
    if w.ndim != 2 or w.numel() == 0 or not w.is_floating_point():
        raise ValueError(f"w must be a non-empty 2-D float weight [out_features, in_features]; got shape {tuple(w.shape)}")
    return w.detach().to(torch.float32).contiguous()


_ACT_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def _dtype(dtype) -> torch.dtype:
    if dtype not in _ACT_DTYPES:
        raise ValueError(f"dtype must be one of {_ACT_DTYPES} (the activations' dtype); got {dtype!r}")
    return dtype


def _input(x, k: int, dtype: torch.dtype) -> torch.Tensor:
    x = _as_tensor("x", x, of="floats")
    if x.ndim != 2 or x.shape[1] != k or not x.is_floating_point():
        raise ValueError(f"x must be a 2-D float input [batch, {k}]; got shape {tuple(x.shape)}")
    return x.to(dtype).contiguous()


@dataclass(frozen=True)
class Int8Weight:
    """INT8 codes ``[N, K]`` and one scale per output row (symmetric, ``quantize(w, 8, axis=0)``), stored in the
    activations' dtype (the kernel wants both alike)."""

    codes: torch.Tensor
    scales: torch.Tensor

    def dequantize(self) -> torch.Tensor:
        """``codes * scale`` per row, float32 ``[N, K]`` (with the scales as stored)."""
        return self.codes.to(torch.float32) * self.scales.to(torch.float32)[:, None]

    @property
    def nbytes(self) -> int:
        return self.codes.numel() + self.scales.element_size() * self.scales.numel()


@dataclass(frozen=True)
class Int4Weight:
    """Packed INT4 weight for the CPU tinygemm kernel: ``packed`` (uint8, two codes per byte, kernel layout),
    ``scales_and_zeros`` ``[K / group_size, N, 2]`` in the activations' dtype, and the unpacked ``codes`` (0..15)."""

    packed: torch.Tensor
    scales_and_zeros: torch.Tensor
    group_size: int
    codes: torch.Tensor

    def dequantize(self) -> torch.Tensor:
        """``(q - 8) * scale + zero`` per group, float32 ``[N, K]`` (what the kernel computes with)."""
        g = self.group_size
        sz = self.scales_and_zeros.to(torch.float32)
        scale = sz[..., 0].T.repeat_interleave(g, dim=1)
        zero = sz[..., 1].T.repeat_interleave(g, dim=1)
        return (self.codes.to(torch.float32) - 8.0) * scale + zero

    @property
    def nbytes(self) -> int:
        return self.packed.numel() + self.scales_and_zeros.element_size() * self.scales_and_zeros.numel()


def int8_weight_only(w, *, dtype: torch.dtype = torch.float32) -> Int8Weight:
    """Per-channel symmetric INT8 (``quant.quantize(w, 8, axis=0)``) in the layout of ``_weight_int8pack_mm``, for
    activations of ``dtype`` (float32, bfloat16 or float16; in torch 2.13 only bfloat16 has a vectorized path)."""
    dtype = _dtype(dtype)
    qt = quant.quantize(_weight(w), 8, axis=0)
    return Int8Weight(qt.codes.to(torch.int8).contiguous(), qt.scale.reshape(-1).to(dtype).contiguous())


def int8_matvec(x, weight: Int8Weight) -> torch.Tensor:
    """``x [M, K] @ dequantize(weight)^T`` by torch's packed INT8 weight-only kernel (``x`` is cast to the
    weight's activation dtype; the result has that dtype)."""
    x = _input(x, weight.codes.shape[1], weight.scales.dtype)
    return torch.ops.aten._weight_int8pack_mm(x, weight.codes, weight.scales)


def int4_weight_only(w, group_size: int = 32, *, inner_k_tiles: int = 2, dtype: torch.dtype = torch.float32) -> Int4Weight:
    """Asymmetric INT4 per group (``quant.quantize(w, 4, symmetric=False, group_size=g)``), packed for
    ``_weight_int4pack_mm_for_cpu``. ``K`` must be a multiple of ``group_size`` (32, 64, 128 or 256) and of
    ``16 * inner_k_tiles``; ``N`` a multiple of 8 (the kernel's tiles). ``dtype``: the activations' dtype (the
    scales and zeros are stored in it; in torch 2.13 only bfloat16 has a vectorized path)."""
    dtype = _dtype(dtype)
    w = _weight(w)
    g = _integer("group_size", group_size)
    if g not in (32, 64, 128, 256):
        raise ValueError(f"group_size must be one of 32, 64, 128, 256 (the kernel's group sizes); got {group_size}")
    if inner_k_tiles not in (2, 4, 8):
        raise ValueError(f"inner_k_tiles must be 2, 4 or 8; got {inner_k_tiles!r}")
    n, k = w.shape
    if k % g or k % (16 * inner_k_tiles) or n % 8:
        raise ValueError(f"w's shape {tuple(w.shape)} must have in_features divisible by group_size={g} and by "
                         f"{16 * inner_k_tiles}, and out_features divisible by 8")
    qt = quant.quantize(w, 4, symmetric=False, group_size=g)
    scale = qt.scale.to(torch.float32)  # [N, K/g]
    zero = (8.0 - qt.zero_point.to(torch.float32)) * scale
    codes = qt.codes.to(torch.int32).contiguous()
    packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes, inner_k_tiles)
    sz = torch.stack([scale.T, zero.T], dim=-1).to(dtype).contiguous()
    return Int4Weight(packed, sz, g, qt.codes)


def int4_matvec(x, weight: Int4Weight) -> torch.Tensor:
    """``x [M, K] @ dequantize(weight)^T`` by torch's packed INT4 kernel for CPU (``x`` is cast to the weight's
    activation dtype; the result has that dtype)."""
    x = _input(x, weight.codes.shape[1], weight.scales_and_zeros.dtype)
    return torch.ops.aten._weight_int4pack_mm_for_cpu(x, weight.packed, weight.group_size, weight.scales_and_zeros)


def int8_dynamic(w):
    """fbgemm's prepacked INT8 weight as ``torch.ao.quantization.quantize_dynamic`` builds it (per-tensor affine
    ``qint8`` from a min/max observer). Returns ``(qlinear, dequantized_weight)``: the quantized module for
    :func:`int8_dynamic_matvec` and the float32 weight its codes stand for."""
    w = _weight(w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch 2.13 marks the torch.ao quantization APIs deprecated
        lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
        with torch.no_grad():
            lin.weight.copy_(w)
        qlin = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear}, dtype=torch.qint8)[0]
    return qlin, qlin.weight().dequantize()


def int8_dynamic_matvec(x, qlinear) -> torch.Tensor:
    """``x @ W^T`` by fbgemm's dynamic INT8 linear: ``x`` is quantized to 8 bits per call (per tensor)."""
    x = _input(x, qlinear.in_features, torch.float32)
    with torch.no_grad():
        return qlinear(x)


def weight_bytes(out_features: int, in_features: int, bits: int, *, group_size: int | None = None,
                 scale_bytes: int = 4) -> int:
    """Bytes a matrix-vector product must read for an ``[out, in]`` weight at ``bits`` per weight (32: float32),
    plus ``scale_bytes`` per scale (one per row, or per group of ``group_size``; INT4 here also stores a zero).
    A matrix-vector product reads every weight once and does 2 flops per weight: at 0.5 flop/byte (float32) it
    is bound by memory bandwidth, not arithmetic, on any CPU."""
    n, k = _integer("out_features", out_features), _integer("in_features", in_features)
    if bits not in (4, 8, 16, 32):
        raise ValueError(f"bits must be 4, 8, 16 or 32; got {bits!r}")
    body = n * k * bits // 8
    if bits == 32 or bits == 16:
        return body
    if group_size is None:
        return body + n * scale_bytes
    g = _integer("group_size", group_size)
    return body + 2 * n * math.ceil(k / g) * scale_bytes


def bandwidth_bound_ratio(out_features: int, in_features: int, bits: int, *, group_size: int | None = None) -> float:
    """The speed-up over float32 a purely bandwidth-bound kernel would reach: float32 bytes / low-bit bytes
    (about 32 / bits). A real kernel reaches it only when the weight does not fit in cache and the unpacking
    work hides behind the memory traffic."""
    return weight_bytes(out_features, in_features, 32) / weight_bytes(out_features, in_features, bits,
                                                                      group_size=group_size)
