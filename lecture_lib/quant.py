"""Integer quantization: scales, zero points, granularities, packing, fake-quant for QAT.

Taught in notebook Part A (``notebooks/partA_quantization.ipynb``): Zone 0 (the five-weight INT4 example),
Zone 3 (the formulas below, checked numerically) and Zone 4 (this code, read and used).

The two schemes
---------------
*Symmetric* (``symmetric=True``, the default)::

    s = amax / (2**(bits-1) - 1)          amax = max |x| over the slice that shares the scale
    q = clamp(round(x / s), -(2**(bits-1) - 1), 2**(bits-1) - 1)
    x_hat = q * s                         zero_point = 0

The code range is *restricted*: INT4 uses -7..7 (15 levels), INT8 uses -127..127. Two's complement
could also hold -8 (or -128), but then the grid would be lopsided: with ``s = amax / 7`` the code -8 is never
produced for ``-amax``, and with ``s = amax / 8`` the value ``+amax`` would clip to 7. Dropping one code
keeps ``x -> -x`` exact (``q(-x) = -q(x)``), which is what weight matrices (roughly symmetric around 0)
want. With ``bits=2`` the scale is ``s = amax / 1``: the only codes are -1, 0, 1 (ternary weights).

*Asymmetric* (``symmetric=False``)::

    lo = min(min(x), 0),  hi = max(max(x), 0)     the range is widened to include 0
    s = (hi - lo) / (2**bits - 1)
    z = round(-lo / s)                            an integer in 0 .. 2**bits - 1
    q = clamp(round(x / s) + z, 0, 2**bits - 1)
    x_hat = (q - z) * s

Widening the range to contain 0 guarantees that 0.0 is represented exactly (it is the code ``z``), which
matters for zero padding and ReLU outputs. For all-positive data (e.g. post-ReLU activations) this means
``lo = 0`` and ``z = 0``: the range starts at 0, not at the smallest value.

Error: inside the range every element is within half a step, ``|x - x_hat| <= s/2``; for values spread
evenly over a step the *mean* error is ``s/4`` (INT8 per-tensor: max error ``amax/254``, mean ``amax/508``).

Rounding is round-half-to-even everywhere (``torch.round``). An all-zero slice gets the scale 1.0 (any
positive number would do: every code is 0 and dequantizes to exactly 0), so there is never a NaN or a
division by zero.

Granularity and the shape of ``scale`` / ``zero_point``
-------------------------------------------------------
``scale`` and ``zero_point`` are stored with *keepdim* shapes so that they broadcast against ``codes``:

* per-tensor (``axis=None``): shape ``(1, 1, ..., 1)`` (same number of dims as ``x``);
* per-axis (``axis=k``): size ``x.shape[k]`` along dim ``k`` and 1 elsewhere. For a Linear weight
  ``[out, in]``, ``axis=0`` is *per output channel*; for activations ``[tokens, d]``, ``axis=0`` is
  *per token*;
* group-wise (``group_size=g``): one scale per ``g`` consecutive elements of the last dim, shape
  ``x.shape[:-1] + (x.shape[-1] // g,)``. This does not broadcast against ``codes`` directly; use
  :meth:`QTensor.expanded_scale` (or view the codes as ``[..., n_groups, g]`` and use ``scale[..., None]``).

Storage cost (``QTensor.nbytes``)
---------------------------------
``ceil(numel * bits / 8)`` bytes of codes (packed tightly, as :func:`pack_int4` does for 4 bits) + 4 bytes
per float32 scale + 1 byte per zero point when asymmetric (symmetric stores no zero point: it is 0).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from lecture_lib._checks import as_tensor, integer

__all__ = [
    "QTensor",
    "quantize",
    "dequantize",
    "qrange",
    "scale_and_zero_point",
    "codes_from_scale",
    "pack_int4",
    "unpack_int4",
    "quantize_weights",
    "fake_quantize",
    "FakeQuantizeSTE",
    "quantization_error_stats",
    "storage_bytes",
]

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


# --------------------------------------------------------------------------------------------- checks
def _as_float_tensor(x: Any, name: str = "x") -> torch.Tensor:
    """``x`` as a float32 tensor (numpy arrays accepted); TypeError for non-float data, ValueError if empty."""
    x = as_tensor(name, x, of="floats")
    if x.dtype not in _FLOAT_DTYPES:
        raise TypeError(
            f"{name} must have a floating dtype (float16, bfloat16, float32, float64); got {x.dtype}"
        )
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty; got shape {tuple(x.shape)}")
    return x.detach().to(torch.float32)


def _check_bits(bits: Any) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 2 <= int(bits) <= 8:
        raise ValueError(f"bits must be an integer in 2..8; got {bits!r}")
    return int(bits)


def _check_finite(x: torch.Tensor, name: str = "x") -> None:
    # min and max propagate NaN and show +-inf: two passes without temporaries, ~13x cheaper than isfinite(x).all()
    if x.numel() and not (math.isfinite(float(x.amin())) and math.isfinite(float(x.amax()))):
        raise ValueError(f"{name} must be finite to compute a scale (no NaN or inf); it contains non-finite values")


def _check_axis(axis: Any, ndim: int) -> int | None:
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be None or an int; got {type(axis).__name__}")
    if not -ndim <= int(axis) < ndim or ndim == 0:
        raise ValueError(f"axis must be None or in {-ndim}..{ndim - 1} for a {ndim}-d tensor; got {axis}")
    return int(axis) % ndim


def _check_group_size(group_size: Any, shape: tuple[int, ...]) -> int | None:
    if group_size is None:
        return None
    if isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer)):
        raise TypeError(f"group_size must be None or a positive int; got {type(group_size).__name__}")
    if len(shape) == 0:
        raise ValueError("group_size needs a tensor with at least one dim; got a 0-d tensor")
    g = int(group_size)
    if g <= 0 or shape[-1] % g != 0:
        raise ValueError(
            f"group_size must be a positive divisor of the last dim ({shape[-1]}); got {group_size}"
        )
    return g


def qrange(bits: int, symmetric: bool = True) -> tuple[int, int]:
    """The code range ``(qmin, qmax)``: symmetric ``(-(2**(b-1)-1), 2**(b-1)-1)``, asymmetric ``(0, 2**b-1)``."""
    bits = _check_bits(bits)
    if symmetric:
        return -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


# --------------------------------------------------------------------------------------------- QTensor
@dataclass(frozen=True, eq=False)
class QTensor:
    """A quantized tensor: integer codes plus the parameters that map them back to real numbers.

    Attributes:
        codes: unpacked integer codes, the input's shape (int8 when symmetric, uint8 when asymmetric).
        scale: float32 scales, keepdim-shaped (see the module docstring for group-wise).
        zero_point: uint8 zero points, same shape as ``scale`` (all 0 when symmetric).
        bits: bits per code (2..8).
        symmetric: which scheme produced the codes.
        axis: the per-axis dim, or None.
        group_size: the group size along the last dim, or None.
    """

    codes: torch.Tensor
    scale: torch.Tensor
    zero_point: torch.Tensor
    bits: int
    symmetric: bool = True
    axis: int | None = None
    group_size: int | None = None

    @property
    def shape(self) -> torch.Size:
        return self.codes.shape

    @property
    def nbytes(self) -> int:
        """Bytes to store it: ``ceil(numel*bits/8)`` for packed codes + 4 per scale + 1 per zero point (asym)."""
        code_bytes = math.ceil(self.codes.numel() * self.bits / 8)
        zp_bytes = 0 if self.symmetric else self.zero_point.numel()
        return code_bytes + 4 * self.scale.numel() + zp_bytes

    def expanded_scale(self) -> torch.Tensor:
        """``scale`` broadcastable against ``codes`` (repeats group scales ``group_size`` times)."""
        if self.group_size is None:
            return self.scale
        return self.scale.repeat_interleave(self.group_size, dim=-1)

    def expanded_zero_point(self) -> torch.Tensor:
        """``zero_point`` broadcastable against ``codes``."""
        if self.group_size is None:
            return self.zero_point
        return self.zero_point.repeat_interleave(self.group_size, dim=-1)


# --------------------------------------------------------------------------------------------- core
def _reduce_dims(ndim: int, axis: int | None) -> list[int]:
    return [d for d in range(ndim) if d != axis]


def scale_and_zero_point(
    xv: torch.Tensor, dims: list[int], bits: int, symmetric: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale (float32) and zero point (float32 holding integers) reduced over ``dims`` with keepdim.

    symmetric: ``s = amax / (2**(bits-1) - 1)``, z = 0; asymmetric: ``s = (max - min) / (2**bits - 1)``
    with the range widened to include 0, ``z = round(-min / s)``. An all-zero slice gets s = 1.
    The first half of :func:`quantize` (Part A, Zone 4); :func:`codes_from_scale` is the second.
    """
    if not dims:  # nothing to reduce: every element has its own scale
        lo_in, hi_in = xv, xv
    else:
        lo_in = xv.amin(dim=dims, keepdim=True)
        hi_in = xv.amax(dim=dims, keepdim=True)
    if symmetric:
        qmax = 2 ** (bits - 1) - 1
        amax = torch.maximum(hi_in.abs(), lo_in.abs())
        scale = amax / qmax
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        return scale, torch.zeros_like(scale)
    qmax = 2**bits - 1
    lo = torch.clamp(lo_in, max=0.0)
    hi = torch.clamp(hi_in, min=0.0)
    scale = (hi - lo) / qmax
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    zp = torch.clamp(torch.round(-lo / scale), 0, qmax)
    return scale, zp


def codes_from_scale(xv: torch.Tensor, scale: torch.Tensor, zp: torch.Tensor, bits: int, symmetric: bool) -> torch.Tensor:
    """Integer codes (as floats) ``q = clamp(round(x / s) + z, qmin, qmax)``, round half to even (Part A, Zone 4)."""
    qmin, qmax = qrange(bits, symmetric)
    return torch.clamp(torch.round(xv / scale) + zp, qmin, qmax)


_BLOCK = 1 << 16  # elements per block when computing codes: the temporaries stay in the CPU cache


def _codes_blockwise(
    xv: torch.Tensor, scale: torch.Tensor, zp: torch.Tensor, bits: int, symmetric: bool, dtype: torch.dtype
) -> torch.Tensor:
    """:func:`codes_from_scale` applied to blocks of rows along dim 0, each block checked finite and stored as ``dtype``.

    Same arithmetic element by element as one call on the whole tensor, but the float temporaries are
    block-sized (cache-resident) instead of full-sized, and the finiteness check rides along.
    """
    out = torch.empty(xv.shape, dtype=dtype)
    if xv.ndim == 0:
        xv, scale, zp, out_rows = xv.reshape(1), scale.reshape(1), zp.reshape(1), out.reshape(1)
    else:
        out_rows = out
    n0 = xv.shape[0]
    step = max(1, _BLOCK // max(1, xv.numel() // n0))
    for r0 in range(0, n0, step):
        xs = xv[r0 : r0 + step]
        _check_finite(xs)
        ss = scale if scale.shape[0] == 1 else scale[r0 : r0 + step]
        zs = zp if zp.shape[0] == 1 else zp[r0 : r0 + step]
        out_rows[r0 : r0 + step].copy_(codes_from_scale(xs, ss, zs, bits, symmetric))
    return out


def quantize(
    x: Any,
    bits: int,
    *,
    symmetric: bool = True,
    axis: int | None = None,
    group_size: int | None = None,
) -> QTensor:
    """Quantize ``x`` to ``bits``-bit integer codes (formulas in the module docstring).

    Args:
        x: float tensor or numpy array (computed in float32). Must be non-empty and finite.
        bits: 2..8.
        symmetric: restricted symmetric range with zero point 0 (default) or asymmetric min/max.
        axis: None for one scale per tensor; ``k`` for one scale per index along dim ``k``
            (``axis=0`` = per output channel of a ``[out, in]`` weight, per token of ``[tokens, d]``).
        group_size: one scale per ``group_size`` consecutive elements along the last dim; needs
            ``axis=None`` (groups already give every row its own scales).

    Returns:
        A :class:`QTensor`; ``dequantize(quantize(x, ...))`` approximates ``x`` with
        ``|x - x_hat| <= s/2`` for every element (up to float32 rounding).

    Example (the lecture's Zone 0 numbers):
        >>> qt = quantize(torch.tensor([0.5, -0.3, 0.8, -0.1, 0.2]), 4)
        >>> qt.codes.tolist(), round(qt.scale.item(), 4)
        ([4, -3, 7, -1, 2], 0.1143)
    """
    bits = _check_bits(bits)
    if not isinstance(symmetric, (bool, np.bool_)):
        raise TypeError(f"symmetric must be a bool; got {type(symmetric).__name__}")
    symmetric = bool(symmetric)
    xf = _as_float_tensor(x)
    ax = _check_axis(axis, xf.ndim)
    g = _check_group_size(group_size, tuple(xf.shape))
    if g is not None and ax is not None:
        raise ValueError(
            f"axis must be None when group_size is set (group-wise scales are already per row); got axis={axis}"
        )
    code_dtype = torch.int8 if symmetric else torch.uint8

    if g is not None:
        xv = xf.reshape(*xf.shape[:-1], xf.shape[-1] // g, g)
        scale, zp = scale_and_zero_point(xv, [xv.ndim - 1], bits, symmetric)
        codes = _codes_blockwise(xv, scale, zp, bits, symmetric, code_dtype).reshape(xf.shape)
        scale, zp = scale.squeeze(-1), zp.squeeze(-1)
    else:
        scale, zp = scale_and_zero_point(xf, _reduce_dims(xf.ndim, ax), bits, symmetric)
        codes = _codes_blockwise(xf, scale, zp, bits, symmetric, code_dtype)
    return QTensor(
        codes=codes,
        scale=scale.contiguous(),
        zero_point=zp.to(torch.uint8).contiguous(),
        bits=bits,
        symmetric=symmetric,
        axis=ax,
        group_size=g,
    )


def dequantize(qt: QTensor) -> torch.Tensor:
    """``x_hat = (codes - zero_point) * scale`` as float32, the input's shape."""
    if not isinstance(qt, QTensor):
        raise TypeError(f"qt must be a QTensor (from quantize); got {type(qt).__name__}")
    codes, scale, zp = qt.codes, qt.scale, qt.zero_point
    if qt.group_size is not None:  # view the codes as [..., n_groups, g] so the group scales broadcast
        codes = codes.reshape(*codes.shape[:-1], codes.shape[-1] // qt.group_size, qt.group_size)
        scale, zp = scale.unsqueeze(-1), zp.unsqueeze(-1)
    q = torch.empty(codes.shape, dtype=torch.float32).copy_(codes)  # float(code), in place from here on
    if not qt.symmetric:
        q.sub_(zp.to(torch.float32))  # exact: small integers in float32
    return q.mul_(scale).reshape(qt.codes.shape)


# --------------------------------------------------------------------------------------------- packing
def _as_int_tensor(codes: Any, name: str) -> torch.Tensor:
    codes = as_tensor(name, codes, of="integers")
    if codes.dtype.is_floating_point or codes.dtype.is_complex or codes.dtype == torch.bool:
        raise TypeError(f"{name} must have an integer dtype; got {codes.dtype}")
    return codes


def pack_int4(codes: Any, *, signed: bool = True) -> torch.Tensor:
    """Pack 4-bit codes two per byte: element ``2i`` in the LOW nibble of byte ``i``, ``2i+1`` in the high one.

    ``signed=True``: codes in -8..7, stored as two's complement nibbles (-1 -> 0xF, -8 -> 0x8).
    ``signed=False``: codes in 0..15 (asymmetric INT4). The input is flattened in row-major order; an odd
    count leaves the last high nibble 0. Returns a 1-d uint8 tensor of ``ceil(numel / 2)`` bytes.
    """
    c = _as_int_tensor(codes, "codes").reshape(-1).to(torch.int16)
    lo_ok, hi_ok = (-8, 7) if signed else (0, 15)
    if c.numel() and (int(c.min()) < lo_ok or int(c.max()) > hi_ok):
        raise ValueError(
            f"codes must lie in {lo_ok}..{hi_ok} for {'signed' if signed else 'unsigned'} int4; "
            f"got values in {int(c.min())}..{int(c.max())}"
        )
    nib = (c & 0xF).to(torch.uint8)  # two's complement nibble for negatives
    if nib.numel() % 2:
        nib = torch.cat([nib, nib.new_zeros(1)])
    pairs = nib.reshape(-1, 2)
    return pairs[:, 0] | (pairs[:, 1] << 4)


def unpack_int4(packed: Any, numel: int, *, signed: bool = True) -> torch.Tensor:
    """Inverse of :func:`pack_int4`: the first ``numel`` codes as a 1-d int8 tensor (sign-extended if signed)."""
    p = _as_int_tensor(packed, "packed")
    if p.dtype != torch.uint8:
        raise TypeError(f"packed must be a uint8 tensor (from pack_int4); got {p.dtype}")
    p = p.reshape(-1)
    if isinstance(numel, bool) or not isinstance(numel, (int, np.integer)) or not 0 <= numel <= 2 * p.numel():
        raise ValueError(f"numel must be an int in 0..{2 * p.numel()} (two codes per byte); got {numel!r}")
    nib = torch.stack([p & 0xF, p >> 4], dim=1).reshape(-1)[: int(numel)].to(torch.int8)
    if signed:
        nib = torch.where(nib >= 8, nib - 16, nib)
    return nib


# --------------------------------------------------------------------------------------------- models
def quantize_weights(
    model: nn.Module,
    bits: int,
    *,
    symmetric: bool = True,
    axis: int | None = 0,
    group_size: int | None = None,
    embeddings: bool = False,
) -> nn.Module:
    """A deep copy of ``model`` whose ``nn.Linear`` weights are ``dequantize(quantize(W, ...))`` (PTQ).

    Simulated ("fake") quantization: the weights keep their float dtype but take only the values the
    integer grid can represent, so the copy computes exactly what an integer kernel would (up to the
    float accumulation). ``axis=0`` (default) = per output channel; ``axis=None`` = per tensor;
    ``group_size=g`` = group-wise along the input dim (``axis`` is then ignored). Biases stay float.

    Embeddings (``nn.Embedding``) are left in float by default, as most weight-only schemes do;
    ``embeddings=True`` quantizes them too, one scale per token row (or by ``group_size``). Every
    quantized weight becomes a new Parameter, so a weight tied between an embedding and the output Linear
    is untied in the copy: the Linear gets quantized values, the embedding keeps its own.
    The original model is never modified.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    _check_bits(bits)
    out = copy.deepcopy(model)
    kinds: tuple[type[nn.Module], ...] = (nn.Linear, nn.Embedding) if embeddings else (nn.Linear,)
    for module in out.modules():
        if isinstance(module, kinds) and getattr(module, "weight", None) is not None:
            w = module.weight
            ax = None if group_size is not None else (0 if isinstance(module, nn.Embedding) else axis)
            qt = quantize(w.detach(), bits, symmetric=symmetric, axis=ax, group_size=group_size)
            module.weight = nn.Parameter(dequantize(qt).to(w.dtype), requires_grad=w.requires_grad)
    return out


# --------------------------------------------------------------------------------------------- QAT
class FakeQuantizeSTE(torch.autograd.Function):
    """Fake quantization with the *clipped* straight-through estimator (STE).

    forward: ``x_hat = (clamp(round(x/s) + z, qmin, qmax) - z) * s``.
    backward: ``dL/dx = dL/dx_hat`` where the clamp is inactive (``qmin <= round(x/s) + z <= qmax``, i.e. ``x``
    inside the clipping range ``[(qmin - z - 1/2) s, (qmax - z + 1/2) s]``) and 0 where it clips. round()
    has derivative 0 almost everywhere; the STE pretends it is the identity, while the clamp keeps its true
    derivative (1 inside, 0 outside). This is the same mask as PyTorch's ``fake_quantize_per_tensor_affine``.
    The scale and zero point get no gradient (they are treated as constants, unlike LSQ).
    """

    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax):  # type: ignore[override]
        q_unclamped = torch.round(x / scale) + zero_point
        ctx.save_for_backward((q_unclamped >= qmin) & (q_unclamped <= qmax))
        q = torch.clamp(q_unclamped, qmin, qmax)
        return (q - zero_point) * scale

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        (inside,) = ctx.saved_tensors
        return grad_out * inside, None, None, None, None


def fake_quantize(
    x: torch.Tensor,
    bits: int,
    *,
    symmetric: bool = True,
    axis: int | None = None,
    group_size: int | None = None,
    scale: torch.Tensor | float | None = None,
    zero_point: torch.Tensor | float | None = None,
) -> torch.Tensor:
    """Differentiable ``dequantize(quantize(x))`` for quantization-aware training (clipped STE).

    The forward value equals ``dequantize(quantize(x, bits, ...))`` cast to ``x.dtype``. By default the
    scale is computed from ``x`` itself (amax or min/max), so nothing is clipped and the gradient passes
    through unchanged. Pass a fixed ``scale`` (and for asymmetric a ``zero_point``), broadcastable against
    ``x``, to clip: elements whose code would leave ``qmin..qmax`` then get gradient 0.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor (autograd needs one); got {type(x).__name__}")
    bits = _check_bits(bits)
    xf = x.to(torch.float32)
    qmin, qmax = qrange(bits, symmetric)
    if scale is None:
        if zero_point is not None:
            raise ValueError("zero_point may only be given together with scale")
        qt = quantize(x.detach(), bits, symmetric=symmetric, axis=axis, group_size=group_size)
        s, z = qt.expanded_scale(), qt.expanded_zero_point().to(torch.float32)
    else:
        if group_size is not None or axis is not None:
            raise ValueError("a fixed scale replaces axis/group_size: pass scale already shaped to broadcast")
        s = torch.as_tensor(scale, dtype=torch.float32)
        if not bool(torch.isfinite(s).all()) or not bool((s > 0).all()):
            raise ValueError("scale must be finite and > 0")
        if symmetric:
            if zero_point is not None:
                raise ValueError("zero_point must be None when symmetric=True (it is 0)")
            z = torch.zeros_like(s)
        else:
            z = torch.as_tensor(0.0 if zero_point is None else zero_point, dtype=torch.float32)
        try:
            torch.broadcast_shapes(s.shape, z.shape, x.shape)
        except RuntimeError as err:
            raise ValueError(f"scale/zero_point must broadcast against x of shape {tuple(x.shape)}") from err
    out = FakeQuantizeSTE.apply(xf, s, z, float(qmin), float(qmax))
    return out.to(x.dtype)


# --------------------------------------------------------------------------------------------- errors
def quantization_error_stats(x: Any, qt: QTensor | Any) -> dict[str, float]:
    """Error of a quantized approximation: mean |e|, max |e|, MSE and SNR in dB, with ``e = x - x_hat``.

    ``qt`` is a :class:`QTensor` or an already dequantized tensor of ``x``'s shape.
    ``snr_db = 10 log10(sum x**2 / sum e**2)`` (``inf`` when the error is exactly 0).
    """
    xf = _as_float_tensor(x)
    xh = dequantize(qt) if isinstance(qt, QTensor) else _as_float_tensor(qt, "qt")
    if xh.shape != xf.shape:
        raise ValueError(f"qt must have x's shape {tuple(xf.shape)}; got {tuple(xh.shape)}")
    e = (xf - xh).to(torch.float64)
    noise = float((e**2).sum())
    signal = float((xf.to(torch.float64) ** 2).sum())
    if noise == 0.0:
        snr = math.inf
    elif signal == 0.0:
        snr = -math.inf
    else:
        snr = 10.0 * math.log10(signal / noise)
    return {
        "mean_abs_error": float(e.abs().mean()),
        "max_abs_error": float(e.abs().max()),
        "mse": float((e**2).mean()),
        "snr_db": snr,
    }


# --------------------------------------------------------------------------------------------- memory
def storage_bytes(n_weights: int, bits: int, *, group_size: int | None = None, scale_bytes: int = 4) -> int:
    """Bytes to store ``n_weights`` numbers at ``bits`` bits each, plus one scale per group:

        ceil(n_weights * bits / 8) + ceil(n_weights / group_size) * scale_bytes

    ``group_size=None`` counts no scales (a float format such as FP16, or one scale for a whole tensor,
    which is negligible). With ``bits`` 2..8 and float32 scales (``scale_bytes=4``) this is
    :attr:`QTensor.nbytes` of a symmetric group-wise tensor; ``scale_bytes=2`` is an FP16 scale.
    Used for whole models in Part A, Zone 0 (a 13B model at INT4) and for a separate INT4 draft copy in
    Part B, Zone 6. Example: 13e9 weights at 4 bits, group 128, FP16 scales: 6.70 GB.
    """
    n = integer("n_weights", n_weights)
    b = integer("bits", bits, what="an integer number of bits")
    if b > 64:
        raise ValueError(f"bits must be an integer in 1..64; got {bits}")
    sb = integer("scale_bytes", scale_bytes, 0)
    scales = 0 if group_size is None else -(-n // integer("group_size", group_size, what="None or an integer"))
    return -(-n * b // 8) + scales * sb
