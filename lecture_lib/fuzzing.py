"""A small binary parser with a planted bug, random testing against it, the expected time to find the bug, and
the lecture's greedy shrinker.

Taught in notebook Part C (``notebooks/partC_production_python.ipynb``, Zone 6 "Coverage-guided fuzzing"); the
coverage-guided fuzzer that hunts the same bug is :mod:`lecture_lib.experiments.fuzzing` (atheris).

The record format (a packed tensor, as Part A stores INT4 weights)::

    magic (default b"QT") | dtype: 0 = int8, 1 = int4 packed two per byte | count n (one byte) | payload

A well-formed payload holds ``n`` bytes (int8) or ``ceil(n / 2)`` bytes (int4). The planted bug computes the int4
payload size as ``n // 2``: for odd ``n`` the length check accepts one byte too few, and unpacking the last code
reads past the end (``IndexError``). Malformed input is rejected with :class:`RecordError`, which is *not* a bug.

Random testing draws a length ``L`` uniform in ``0 .. max_len`` and ``L`` uniform bytes. With ``m = len(magic)``
the crash needs the magic, dtype 1, and the one odd count ``n = 2 (L - m - 2) + 1 <= 255`` that makes the buggy
length check pass (``m + 2 <= L <= m + 129``)::

    p_crash = #{L in 0 .. max_len : m + 2 <= L <= m + 129} / (max_len + 1) * 256**-(m + 2)
    E[inputs to find] = 1 / p_crash,      E[T] = 1 / (p_crash * r)      (r inputs per second; geometric)

With the default magic (``m = 2``) and ``max_len = 16`` that is one input in about 5.6e9.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "RecordError",
    "crash_probability",
    "expected_inputs",
    "greedy_shrink",
    "is_planted_crash",
    "parse_record",
    "random_testing",
    "shrink_candidates",
]


class RecordError(ValueError):
    """The input is not a well-formed record (expected for most fuzz inputs; not a bug)."""


def parse_record(data: bytes, *, magic: bytes = b"QT", planted_bug: bool = True) -> list[int]:
    """Decode one record into its integer codes (int8: -128..127, int4: -8..7).

    ``planted_bug=True`` sizes an int4 payload as ``n // 2`` bytes (wrong for odd ``n``); ``False`` uses the
    correct ``(n + 1) // 2``. Raises :class:`RecordError` for malformed input.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be bytes; got {type(data).__name__}")
    m = len(magic)
    if len(data) < m + 2:
        raise RecordError(f"record too short: {len(data)} bytes, the header needs {m + 2}")
    if data[:m] != magic:
        raise RecordError(f"bad magic {bytes(data[:m])!r}; expected {magic!r}")
    dtype, n = data[m], data[m + 1]
    payload = data[m + 2:]
    if dtype == 0:
        if len(payload) != n:
            raise RecordError(f"int8 record of {n} codes needs {n} payload bytes; got {len(payload)}")
        return [b - 256 if b > 127 else b for b in payload]
    if dtype == 1:
        size = n // 2 if planted_bug else (n + 1) // 2
        if len(payload) != size:
            raise RecordError(f"int4 record of {n} codes needs {size} payload bytes; got {len(payload)}")
        codes = []
        for i in range(n):
            nibble = (payload[i // 2] >> (4 * (i % 2))) & 0xF
            codes.append(nibble - 16 if nibble > 7 else nibble)
        return codes
    raise RecordError(f"dtype must be 0 (int8) or 1 (int4); got {dtype}")


def is_planted_crash(data: bytes, *, magic: bytes = b"QT") -> bool:
    """True if ``parse_record(data, magic=magic)`` hits the planted bug (raises ``IndexError``)."""
    try:
        parse_record(data, magic=magic)
    except RecordError:
        return False
    except IndexError:
        return True
    return False


def crash_probability(max_len: int, *, magic: bytes = b"QT") -> float:
    """P(one random input crashes the parser): length uniform in ``0..max_len``, then uniform bytes.

    For a length ``L`` the crash needs the ``m`` magic bytes, dtype 1 and the one count ``n = 2 (L - m - 2) + 1``
    (odd, at most 255): ``256**-(m + 2)``; lengths outside ``m + 2 .. m + 2 + 127`` never crash.
    """
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 0:
        raise ValueError(f"max_len must be an integer >= 0; got {max_len!r}")
    m = len(magic)
    good_lengths = sum(1 for L in range(max_len + 1) if 0 <= L - m - 2 <= 127)
    return good_lengths / (max_len + 1) * 256.0 ** (-(m + 2))


def random_testing(max_inputs: int, *, max_len: int = 16, magic: bytes = b"QT", seed: int = 0,
                   chunk: int = 65536) -> dict[str, Any]:
    """Feed uniformly random inputs (as :func:`crash_probability` describes) to :func:`parse_record` until the
    planted bug crashes it or ``max_inputs`` have run. Returns ``found``, ``inputs`` (executions, including the
    crashing one) and ``crash`` (the input, or None)."""
    if isinstance(max_inputs, bool) or not isinstance(max_inputs, int) or max_inputs < 1:
        raise ValueError(f"max_inputs must be an integer >= 1; got {max_inputs!r}")
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 0:
        raise ValueError(f"max_len must be an integer >= 0; got {max_len!r}")
    rng = np.random.default_rng(seed)
    done = 0
    while done < max_inputs:
        k = min(chunk, max_inputs - done)
        lengths = rng.integers(0, max_len + 1, k).tolist()
        rows = rng.integers(0, 256, (k, max(max_len, 1)), dtype=np.uint8)
        for i in range(k):
            data = rows[i, :lengths[i]].tobytes()
            try:
                parse_record(data, magic=magic)
            except RecordError:
                continue
            except IndexError:
                return {"found": True, "inputs": done + i + 1, "crash": data}
        done += k
    return {"found": False, "inputs": done, "crash": None}


def expected_inputs(max_len: int, *, magic: bytes = b"QT") -> float:
    """``1 / p_crash``: mean number of random inputs until the first crash (geometric)."""
    p = crash_probability(max_len, magic=magic)
    return math.inf if p == 0 else 1.0 / p


# ----------------------------------------------------------------------------------------------------
# Shrinking: the lecture's greedy search for a simpler failing input
# ----------------------------------------------------------------------------------------------------


def _simpler_numbers(v: float) -> list[float]:
    """Numbers simpler than ``v``, simplest first: 0, its integer part, half of it (toward 0)."""
    out: list[float] = []
    for c in (0.0, float(math.trunc(v)), float(math.trunc(v / 2))):
        if c != v and c not in out and (abs(c) < abs(v) or v != math.trunc(v)):
            out.append(c)
    return out


def shrink_candidates(xs: list[float]) -> list[list[float]]:
    """Inputs simpler than ``xs``, simplest first: shorter lists (one element deleted), then one element
    replaced by a simpler number (0, its integer part, half of it)."""
    out = [xs[:i] + xs[i + 1:] for i in range(len(xs)) if len(xs) > 1]
    for i, v in enumerate(xs):
        out += [xs[:i] + [c] + xs[i + 1:] for c in _simpler_numbers(v)]
    return out


def greedy_shrink(xs: Sequence[float], fails: Callable[[list[float]], bool], *, max_steps: int = 1000
                  ) -> list[list[float]]:
    """The lecture's shrinker: from a failing input, repeatedly move to the first simpler candidate
    (:func:`shrink_candidates`) that still fails; stop when none does. Returns the path, first to minimal.

    Terminates: every step shortens the list or moves one number to a simpler one (0, an integer, half of an
    integer) - a well-founded order.
    """
    cur = [float(x) for x in xs]
    if not fails(cur):
        raise ValueError("xs must be a failing input (fails(xs) is False)")
    path = [cur]
    for _ in range(max_steps):
        for cand in shrink_candidates(cur):
            if fails(cand):
                cur = cand
                path.append(cur)
                break
        else:
            return path
    return path
