"""Incremental key/value cache of the tiny LM with pluggable storage (Part A "KV-cache quantization",
Part B "speculative decoding": verify k draft tokens in one call, roll back after a rejection).

During decoding, attention layer ``l`` needs the keys and values of every earlier position. Recomputing
them costs O(t) work per new token; caching them makes each step O(1) projections plus O(t) attention.

A ``KVCache`` holds one *storage* object per attention layer. Anything with the ``KVStorage`` methods
works, so ``lecture_lib.kvcache`` can store K/V as INT8/INT4/FP8 codes. Shapes are
``[batch, n_heads, t, head_dim]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor


@runtime_checkable
class KVStorage(Protocol):
    """Storage for one attention layer's keys and values.

    ``append(k, v)``: add ``t_new`` positions; k, v are ``[batch, n_heads, t_new, head_dim]`` in the
    compute dtype. ``keys_values()``: everything stored so far as ``[batch, n_heads, t, head_dim]``,
    dequantized to the dtype of the last append. ``truncate(length)``: keep the first ``length``
    positions (rollback). ``len(storage)``: positions stored. ``nbytes``: bytes the stored K and V occupy
    as stored (codes + scales).
    """

    def append(self, k: Tensor, v: Tensor) -> None: ...

    def keys_values(self) -> tuple[Tensor, Tensor]: ...

    def truncate(self, length: int) -> None: ...

    def __len__(self) -> int: ...

    @property
    def nbytes(self) -> int: ...


def _check_kv(k: Tensor, v: Tensor) -> None:
    if not (isinstance(k, Tensor) and isinstance(v, Tensor)):
        raise TypeError("k and v must be torch.Tensor")
    if k.ndim != 4 or k.shape != v.shape:
        raise ValueError(
            f"k and v must both be [batch, n_heads, t_new, head_dim]; got {tuple(k.shape)} and {tuple(v.shape)}"
        )


def _check_length(length: int, current: int) -> int:
    if isinstance(length, bool) or not isinstance(length, int):
        raise TypeError(f"length must be an int; got {type(length).__name__}")
    if not 0 <= length <= current:
        raise ValueError(f"length must be in 0..{current} (positions stored); got {length}")
    return length


class FloatKVStorage:
    """Default storage: K and V kept exactly, in the dtype they arrive in (float32, or bfloat16 under autocast).

    A preallocated buffer that doubles when full, so an append copies only the new positions.
    Rolling back just moves the length; the positions behind it are overwritten by later appends.
    """

    def __init__(self) -> None:
        self._k: Tensor | None = None
        self._v: Tensor | None = None
        self._len = 0

    def append(self, k: Tensor, v: Tensor) -> None:
        _check_kv(k, v)
        t_new = k.shape[2]
        if self._k is not None and (self._k.shape[:2] != k.shape[:2] or self._k.shape[3] != k.shape[3]):
            raise ValueError(
                f"k must keep [batch, n_heads, *, head_dim] = {tuple(self._k.shape[:2])}+{self._k.shape[3]}; "
                f"got {tuple(k.shape)}"
            )
        need = self._len + t_new
        if self._k is None or need > self._k.shape[2] or self._k.dtype != k.dtype:
            cap = max(need, 2 * (self._k.shape[2] if self._k is not None else 0), 16)
            new_k = k.new_empty((*k.shape[:2], cap, k.shape[3]))
            new_v = v.new_empty((*v.shape[:2], cap, v.shape[3]))
            if self._len:
                new_k.narrow(2, 0, self._len).copy_(self._k.narrow(2, 0, self._len))
                new_v.narrow(2, 0, self._len).copy_(self._v.narrow(2, 0, self._len))
            self._k, self._v = new_k, new_v
        # narrow + copy_ is the same copy as `self._k[:, :, len:need] = k` with less per-call overhead
        self._k.narrow(2, self._len, t_new).copy_(k)
        self._v.narrow(2, self._len, t_new).copy_(v)
        self._len = need

    def keys_values(self) -> tuple[Tensor, Tensor]:
        if self._k is None:
            raise ValueError("keys_values() needs at least one append; the storage is empty")
        return self._k.narrow(2, 0, self._len), self._v.narrow(2, 0, self._len)

    def truncate(self, length: int) -> None:
        self._len = _check_length(length, self._len)

    def __len__(self) -> int:
        return self._len

    @property
    def nbytes(self) -> int:
        if self._k is None:
            return 0
        per_pos = self._k[:, :, :1].numel() * self._k.element_size()
        return 2 * per_pos * self._len


class KVCache:
    """The cache of one generation: one storage per attention layer, all of the same length.

    Made by ``model.new_cache(batch_size, storage)``; passed as ``model(idx, cache=cache)``.
    ``len(cache)`` is the number of cached positions; ``truncate(n)`` / ``rollback(n)`` keep the first n.
    """

    def __init__(
        self,
        n_layer: int,
        batch_size: int = 1,
        storage: Callable[[], KVStorage] | None = None,
        *,
        block_size: int | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
        if storage is not None and not callable(storage):
            raise TypeError(
                "storage must be None (float storage) or a zero-argument callable returning a fresh "
                f"KVStorage per layer; got {type(storage).__name__}"
            )
        factory = FloatKVStorage if storage is None else storage
        self.layers: list[KVStorage] = []
        for i in range(n_layer):
            s = factory()
            missing = [m for m in ("append", "keys_values", "truncate", "__len__", "nbytes") if not hasattr(s, m)]
            if missing:
                raise TypeError(f"storage() must return a KVStorage; the object for layer {i} lacks {missing}")
            if len(s) != 0:
                raise ValueError(f"storage() must return an empty storage; layer {i} got {len(s)} positions")
            self.layers.append(s)
        self.batch_size = batch_size
        self.block_size = block_size

    def __len__(self) -> int:
        return len(self.layers[0]) if self.layers else 0

    def truncate(self, length: int) -> None:
        """Keep the first ``length`` positions in every layer (rollback after rejected draft tokens)."""
        _check_length(length, len(self))
        for s in self.layers:
            s.truncate(length)

    rollback = truncate

    @property
    def nbytes(self) -> int:
        """Bytes of all stored keys and values, as stored, summed over layers."""
        return sum(int(s.nbytes) for s in self.layers)

    def __repr__(self) -> str:
        return f"KVCache(layers={len(self.layers)}, positions={len(self)}, nbytes={self.nbytes})"
