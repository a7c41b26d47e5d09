"""KV-cache memory: how many bytes the keys and values take, and a quantized KV storage.

Taught in notebook Part A (``notebooks/partA_quantization.ipynb``): Zone 3 (the byte formula and the LLaMA-70B
numbers, corrected for grouped-query attention) and Zone 5 (perplexity of the tiny LM with an INT8 / INT4 /
FP8 KV cache, and the bytes it saves).

The formula
-----------
Every layer keeps one key and one value vector per KV head, per position, per sequence::

    bytes = 2 (K and V) * layers * kv_heads * head_dim * seq_len * batch * bytes_per_value

* The lecture's "LLaMA-70B" figure assumes multi-head attention (64 KV heads of 128 dims, 80 layers,
  fp16): ``2 * 80 * 64 * 128 * 2 = 2,621,440`` bytes = 2.62 MB per token, 85.9 GB (80 GiB) at 32K tokens.
* The real LLaMA-2-70B uses grouped-query attention with **8** KV heads: ``2 * 80 * 8 * 128 * 2 = 327,680``
  bytes = 0.33 MB per token, 10.7 GB (10 GiB) at 32K tokens -- 8x less.

``QuantizedKVStorage`` stores one attention layer's K and V as INT8, INT4 or FP8 codes with one float32
scale per token vector. It follows the ``KVStorage`` protocol of ``lecture_lib.tinylm.cache`` (duck-typed;
this module does not import the model layer), so
``model.new_cache(storage=lambda: QuantizedKVStorage("int4"))`` gives the tiny LM a 4-bit KV cache.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from . import fp8 as _fp8
from ._checks import integer
from .quant import pack_int4, quantize, unpack_int4

__all__ = ["KINDS", "kv_cache_bytes", "bytes_per_value", "QuantizedKVStorage"]

KINDS = ("fp32", "fp16", "bf16", "int8", "int4", "fp8", "fp8_e5m2")
_FLOAT_KINDS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def kv_cache_bytes(
    layers: int,
    kv_heads: int,
    head_dim: int,
    seq_len: int,
    batch: int = 1,
    bytes_per_value: float = 2,
) -> int | float:
    """``2 * layers * kv_heads * head_dim * seq_len * batch * bytes_per_value`` (the 2 is K and V).

    ``bytes_per_value``: 4 (fp32), 2 (fp16/bf16, the default), 1 (int8/fp8), 0.5 (int4), or
    :func:`bytes_per_value` of a storage kind to include the per-token scales. Returns an int when the
    result is a whole number of bytes.

    >>> kv_cache_bytes(80, 64, 128, 1)      # the lecture's multi-head "LLaMA-70B": 2.62 MB per token
    2621440
    >>> kv_cache_bytes(80, 8, 128, 1)       # LLaMA-2-70B has grouped-query attention: 0.33 MB per token
    327680
    >>> kv_cache_bytes(80, 8, 128, 32768) / 2**30   # GiB at a 32K context
    10.0
    """
    n = 2
    for v, name in ((layers, "layers"), (kv_heads, "kv_heads"), (head_dim, "head_dim"), (seq_len, "seq_len"),
                    (batch, "batch")):
        n *= integer(name, v)
    if isinstance(bytes_per_value, bool) or not isinstance(bytes_per_value, (int, float, np.integer, np.floating)):
        raise TypeError(f"bytes_per_value must be a positive number; got {type(bytes_per_value).__name__}")
    if not math.isfinite(bytes_per_value) or bytes_per_value <= 0:
        raise ValueError(f"bytes_per_value must be a positive finite number; got {bytes_per_value!r}")
    total = n * bytes_per_value
    return int(total) if float(total).is_integer() else float(total)


def _check_kind(kind: Any) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    return kind


def bytes_per_value(kind: str, head_dim: int) -> float:
    """Bytes per stored K or V element for a storage kind, including its share of the per-token scale.

    fp32 4, fp16/bf16 2, int8 and fp8 ``1 + 4/head_dim``, int4 ``ceil(head_dim/2)/head_dim + 4/head_dim``.
    """
    kind = _check_kind(kind)
    d = integer("head_dim", head_dim)
    if kind in _FLOAT_KINDS:
        return float(torch.tensor([], dtype=_FLOAT_KINDS[kind]).element_size())
    code_bytes = math.ceil(d / 2) if kind == "int4" else d
    return (code_bytes + 4) / d


class _Growing:
    """A [batch, heads, capacity, width] buffer that doubles when full (appends copy only new positions)."""

    def __init__(self) -> None:
        self.data: Tensor | None = None

    def write(self, start: int, chunk: Tensor) -> None:
        need = start + chunk.shape[2]
        if self.data is None or need > self.data.shape[2]:
            cap = max(need, 2 * (self.data.shape[2] if self.data is not None else 0), 16)
            new = chunk.new_empty((*chunk.shape[:2], cap, chunk.shape[3]))
            if self.data is not None and start:
                new[:, :, :start] = self.data[:, :, :start]
            self.data = new
        self.data[:, :, start:need] = chunk

    def view(self, length: int) -> Tensor:
        assert self.data is not None
        return self.data[:, :, :length]


class QuantizedKVStorage:
    """One attention layer's keys and values stored as codes plus one float32 scale per token vector.

    ``kind``:

    * ``"int8"``: symmetric INT8, ``s = amax / 127`` per ``[batch, head, position]`` vector over head_dim;
      error ``<= s/2``. 1 byte per value + 4 bytes per vector.
    * ``"int4"``: symmetric INT4 (codes -7..7), ``s = amax / 7``, really packed two codes per byte
      (:func:`lecture_lib.quant.pack_int4`, low nibble first; an odd head_dim is padded by one code).
    * ``"fp8"``: E4M3 with ``s = amax / 448`` per vector (relative error <= 2**-4 for normal values).
      ``"fp8_e5m2"``: the same with E5M2 (``s = amax / 57344``, relative error <= 2**-3).
    * ``"fp32"``, ``"fp16"``, ``"bf16"``: plain float storage (baselines), no scales.

    K and V get separate scales. Each token's scale depends only on that token, so appending in chunks
    gives the same codes as one big append, and rolling back never changes what is kept.
    Protocol (``lecture_lib.tinylm.cache.KVStorage``): ``append(k, v)`` with ``[batch, n_heads, t_new,
    head_dim]`` floats; ``keys_values()`` dequantized to the dtype of the last append; ``truncate(length)``;
    ``len()``; ``nbytes`` = codes + scales of the positions kept.
    """

    def __init__(self, kind: str = "int8") -> None:
        self.kind = _check_kind(kind)
        self._codes = (_Growing(), _Growing())
        self._scales = (_Growing(), _Growing())
        self._len = 0
        self._shape: tuple[int, int, int] | None = None  # batch, heads, head_dim
        self._dtype: torch.dtype | None = None

    def __repr__(self) -> str:
        return f"QuantizedKVStorage(kind={self.kind!r}, positions={self._len}, nbytes={self.nbytes})"

    # ----------------------------------------------------------------------------------- encode / decode
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """``[batch, heads, t, head_dim]`` floats -> (stored codes, per-vector scales or None), as ``kind`` says."""
        b, h, t, d = x.shape
        if self.kind in _FLOAT_KINDS:
            return x.to(_FLOAT_KINDS[self.kind]), None
        if self.kind in ("fp8", "fp8_e5m2"):
            q = _fp8.quantize_fp8(x.reshape(-1, d), "e4m3" if self.kind == "fp8" else "e5m2", axis=0)
            return q.codes.reshape(b, h, t, d), q.scale.reshape(b, h, t, 1)
        bits = 8 if self.kind == "int8" else 4
        qt = quantize(x, bits, group_size=d)  # one scale per [b, h, position] vector
        codes = qt.codes
        if bits == 4:
            if d % 2:
                codes = torch.cat([codes, codes.new_zeros((b, h, t, 1))], dim=-1)
            codes = pack_int4(codes).reshape(b, h, t, -1)
        return codes, qt.scale

    def decode(self, codes: Tensor, scale: Tensor | None) -> Tensor:
        """Stored codes and scales back to floats in the dtype of the last append (the inverse of :meth:`encode`)."""
        assert self._shape is not None and self._dtype is not None
        if self.kind in _FLOAT_KINDS:
            return codes.to(self._dtype)
        b, h, t, _ = codes.shape
        d = self._shape[2]
        if self.kind in ("fp8", "fp8_e5m2"):
            values = _fp8.decode(codes, "e4m3" if self.kind == "fp8" else "e5m2")
        elif self.kind == "int8":
            values = codes.to(torch.float32)
        else:
            values = unpack_int4(codes.contiguous(), codes.numel() * 2).to(torch.float32)
            values = values.reshape(b, h, t, -1)[..., :d]
        return (values * scale).to(self._dtype)

    # ----------------------------------------------------------------------------------- protocol
    def append(self, k: Tensor, v: Tensor) -> None:
        """Quantize and store ``t_new`` new positions of K and V (``[batch, n_heads, t_new, head_dim]``)."""
        for name, x in (("k", k), ("v", v)):
            if not isinstance(x, Tensor):
                raise TypeError(
                    f"{name} must be a torch.Tensor [batch, n_heads, t_new, head_dim]; got {type(x).__name__}"
                )
            if not x.dtype.is_floating_point:
                raise TypeError(f"{name} must have a floating dtype; got {x.dtype}")
        if k.ndim != 4 or k.shape != v.shape:
            raise ValueError(
                f"k and v must both be [batch, n_heads, t_new, head_dim]; got {tuple(k.shape)} and {tuple(v.shape)}"
            )
        shape = (k.shape[0], k.shape[1], k.shape[3])
        if self._shape is not None and shape != self._shape:
            raise ValueError(
                f"k must keep [batch, n_heads, *, head_dim] = {self._shape} from earlier appends; got {tuple(k.shape)}"
            )
        if min(shape) == 0:
            raise ValueError(f"batch, n_heads and head_dim must be positive; got {tuple(k.shape)}")
        if self.kind not in _FLOAT_KINDS:
            for name, x in (("k", k), ("v", v)):
                if not bool(torch.isfinite(x).all()):
                    raise ValueError(f"{name} must be finite (no NaN or inf) to compute per-token scales")
        self._shape = shape
        self._dtype = k.dtype
        t_new = k.shape[2]
        if t_new == 0:
            return
        for i, x in enumerate((k, v)):
            codes, scale = self.encode(x.detach())
            self._codes[i].write(self._len, codes)
            if scale is not None:
                self._scales[i].write(self._len, scale)
        self._len += t_new

    def keys_values(self) -> tuple[Tensor, Tensor]:
        """All stored K and V, dequantized to the dtype of the last append, ``[batch, n_heads, t, head_dim]``."""
        if self._shape is None:
            raise ValueError("keys_values() needs at least one append; the storage is empty")
        if self._len == 0:
            b, h, d = self._shape
            empty = torch.empty((b, h, 0, d), dtype=self._dtype)
            return empty, empty.clone()
        out = []
        for i in range(2):
            scale = None if self.kind in _FLOAT_KINDS else self._scales[i].view(self._len)
            out.append(self.decode(self._codes[i].view(self._len), scale))
        return out[0], out[1]

    def truncate(self, length: int) -> None:
        """Keep the first ``length`` positions (0 <= length <= len(self))."""
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
            raise TypeError(f"length must be an int; got {type(length).__name__}")
        if not 0 <= length <= self._len:
            raise ValueError(f"length must be in 0..{self._len} (positions stored); got {length}")
        self._len = int(length)

    def __len__(self) -> int:
        return self._len

    @property
    def nbytes(self) -> int:
        """Bytes of the kept positions as stored: codes (int4 packed) + 4 per float32 scale, for K and V."""
        if self._shape is None or self._len == 0:
            return 0
        total = 0
        for i in range(2):
            codes = self._codes[i].view(self._len)
            total += codes.numel() * codes.element_size()
            if self.kind not in _FLOAT_KINDS:
                total += self._scales[i].view(self._len).numel() * 4
        return total
