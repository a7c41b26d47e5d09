"""Shared argument checks for the algorithm modules: one home for "must be a number > 0" and friends.

Every check names the argument and what is allowed, raises ``TypeError`` for the wrong kind of value
(bools are never numbers here) and ``ValueError`` for a value outside the domain, and returns the value
converted to a plain Python ``float``/``int``. ``what`` adds a short description after the name, e.g.
``positive("T", T, what="temperature")`` -> ``"T (temperature) must be a finite number > 0; got -1.0"``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["as_rng", "fraction", "integer", "nonnegative", "positive"]


def _label(name: str, what: str) -> str:
    return f"{name} ({what})" if what else name


def _real(name: str, value: Any, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number {allowed}; got {type(value).__name__}")
    return float(value)


def positive(name: str, value: Any, *, what: str = "") -> float:
    """``value`` as a float; it must be a finite real number > 0."""
    label = _label(name, what)
    v = _real(label, value, "> 0")
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{label} must be a finite number > 0; got {value!r}")
    return v


def nonnegative(name: str, value: Any, *, what: str = "") -> float:
    """``value`` as a float; it must be a finite real number >= 0."""
    label = _label(name, what)
    v = _real(label, value, ">= 0")
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{label} must be a finite number >= 0; got {value!r}")
    return v


def fraction(name: str, value: Any, *, open_low: bool = False, open_high: bool = False, what: str = "") -> float:
    """``value`` as a float in [0, 1] (``open_low``/``open_high`` exclude 0/1): a probability or a share."""
    label = _label(name, what)
    lo, hi = ("(0" if open_low else "[0"), ("1)" if open_high else "1]")
    v = _real(label, value, f"in {lo}, {hi}")
    if not ((v > 0 if open_low else v >= 0) and (v < 1 if open_high else v <= 1)):
        raise ValueError(f"{label} must be in {lo}, {hi}; got {value!r}")
    return v


def integer(name: str, value: Any, minimum: int = 1, *, what: str = "") -> int:
    """``value`` as an int >= ``minimum`` (Python or NumPy integers; bools and floats are refused)."""
    label = _label(name, what)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{label} must be an integer >= {minimum}; got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{label} must be an integer >= {minimum}; got {value}")
    return int(value)


def as_rng(rng: Any) -> np.random.Generator:
    """``None`` (fresh entropy), a seed (int >= 0) or a ``numpy.random.Generator`` -> a Generator."""
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, a seed (int >= 0) or a numpy.random.Generator; got {type(rng).__name__}")
