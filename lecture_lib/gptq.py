"""GPTQ: quantize a Linear layer column by column, pushing each column's rounding error onto the columns not yet
quantized so that the layer's *output* on calibration data changes as little as possible.

Taught in notebook Part A (``notebooks/partA_quantization.ipynb``), Zone 6 (beyond the lecture: GPTQ against
round-to-nearest at the same bits, on the tiny LM).

Round-to-nearest (RTN) minimises the weight error ``||W - Q||``; what matters is the output error
``||X W^T - X Q^T||**2`` on real inputs ``X`` ([n, in]). Per output row ``w`` that error is
``(w - q)^T H (w - q)`` with ``H = X^T X`` (the same for every row). GPTQ (Frantar et al., 2023, after Optimal
Brain Surgeon) goes through the input columns in order; after rounding column ``i`` it updates the remaining
columns ``j > i`` by ``-e_i * [H^-1]_{ij} / [H^-1]_{ii}`` (``e_i = w_i - q_i``), the least-squares optimal
correction given that column ``i`` is fixed. With the upper Cholesky factor ``U`` of ``H^-1`` this is
``W[:, j] -= e_i * U[i, j] / U[i, i]`` (the inverse of the Hessian restricted to the later columns is read off
``U`` without re-inverting).

Scales are symmetric, as in :func:`lecture_lib.quant.quantize`: per output row (``group_size=None``, computed
from the original weights) or per group of ``group_size`` input columns (computed when the group is reached,
from the already-updated weights). ``damp`` adds ``damp * mean(diag H)`` to the diagonal (a zero input column
would make ``H`` singular). When ``H`` is diagonal the corrections vanish and GPTQ equals RTN.
"""

from __future__ import annotations

from typing import Any

import torch

from .quant import _check_bits, qrange

__all__ = ["hessian", "gptq_quantize", "rtn_quantize", "output_error"]


def _as_2d(x: Any, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(x)
    if not x.dtype.is_floating_point:
        raise TypeError(f"{name} must be a float tensor; got {x.dtype}")
    if x.ndim != 2 or x.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 2-d tensor; got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return x.detach().to(torch.float64)


def hessian(x: Any) -> torch.Tensor:
    """``H = X^T X / n`` for calibration inputs ``x`` of shape [n, in] (float64)."""
    xs = _as_2d(x, "x")
    return xs.T @ xs / xs.shape[0]


def _scales(w: torch.Tensor, qmax: int) -> torch.Tensor:
    amax = w.abs().amax(dim=1, keepdim=True)
    s = amax / qmax
    return torch.where(s > 0, s, torch.ones_like(s))


def rtn_quantize(weight: Any, bits: int, *, group_size: int | None = None) -> torch.Tensor:
    """Round-to-nearest with symmetric scales per row (or per group of ``group_size`` columns), dequantized."""
    w = _as_2d(weight, "weight")
    bits = _check_bits(bits)
    qmin, qmax = qrange(bits)
    g = _group(group_size, w.shape[1])
    out = torch.empty_like(w)
    for c0 in range(0, w.shape[1], g):
        blk = w[:, c0 : c0 + g]
        s = _scales(blk, qmax)
        out[:, c0 : c0 + g] = torch.clamp(torch.round(blk / s), qmin, qmax) * s
    return out.to(torch.float32)


def _group(group_size: Any, cols: int) -> int:
    if group_size is None:
        return cols
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size <= 0 or cols % group_size:
        raise ValueError(f"group_size must be None or a positive divisor of the input dim ({cols}); got {group_size!r}")
    return group_size


def gptq_quantize(
    weight: Any, h: Any, bits: int, *, group_size: int | None = None, damp: float = 0.01,
    return_codes: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """GPTQ-quantized copy of ``weight`` [out, in] (dequantized float32) for inputs with second moment ``h`` [in, in].

    Every returned element is ``q * s`` with an integer ``q`` in the symmetric ``bits``-bit range and the row's
    (or group's) scale ``s``. See the module docstring for the algorithm. ``return_codes=True`` returns
    ``(weight_hat, codes, scale)`` with int8 ``codes`` and ``scale`` both of shape [out, in] (scale repeated).
    """
    w = _as_2d(weight, "weight").clone()
    hm = _as_2d(h, "h")
    bits = _check_bits(bits)
    cols = w.shape[1]
    if hm.shape != (cols, cols):
        raise ValueError(f"h must be [in, in] = [{cols}, {cols}] for a weight of shape {tuple(w.shape)}; got {tuple(hm.shape)}")
    if not (isinstance(damp, (int, float)) and damp >= 0):
        raise ValueError(f"damp must be a number >= 0; got {damp!r}")
    g = _group(group_size, cols)
    qmin, qmax = qrange(bits)
    hm = (hm + hm.T) / 2
    dead = torch.diagonal(hm) <= 0
    hm = hm.clone()
    hm[dead, dead] = 1.0
    w[:, dead] = 0.0
    hm += damp * torch.diagonal(hm).mean() * torch.eye(cols, dtype=hm.dtype)
    try:
        hinv = torch.cholesky_inverse(torch.linalg.cholesky(hm))
        u = torch.linalg.cholesky(hinv, upper=True)
    except RuntimeError as err:  # pragma: no cover - only for pathological input
        raise ValueError("h must be symmetric positive semi-definite (try a larger damp)") from err
    q = torch.empty_like(w)
    codes = torch.empty_like(w)
    scales = torch.empty_like(w)
    s = _scales(w, qmax)
    for i in range(cols):
        if i % g == 0 and g != cols:
            s = _scales(w[:, i : i + g], qmax)
        col = w[:, i : i + 1]
        code = torch.clamp(torch.round(col / s), qmin, qmax)
        qc = code * s
        q[:, i : i + 1] = qc
        codes[:, i : i + 1] = code
        scales[:, i : i + 1] = s
        err = (col - qc) / u[i, i]
        w[:, i + 1 :] -= err * u[i, i + 1 :].unsqueeze(0)
    if return_codes:
        return q.to(torch.float32), codes.to(torch.int8), scales.to(torch.float32)
    return q.to(torch.float32)


def output_error(x: Any, weight: Any, weight_hat: Any) -> float:
    """Relative output error ``||X W^T - X W_hat^T||_F / ||X W^T||_F``."""
    xs = _as_2d(x, "x")
    w = _as_2d(weight, "weight")
    wh = _as_2d(weight_hat, "weight_hat")
    if wh.shape != w.shape:
        raise ValueError(f"weight_hat must have weight's shape {tuple(w.shape)}; got {tuple(wh.shape)}")
    ref = xs @ w.T
    return float(torch.linalg.norm(ref - xs @ wh.T) / torch.linalg.norm(ref))
