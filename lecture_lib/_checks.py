"""Shared argument checks for the algorithm modules: one home for "must be a number > 0" and friends.

Every check names the argument and what is allowed, raises ``TypeError`` for the wrong kind of value
(bools are never numbers here) and ``ValueError`` for a value outside the domain, and returns the value
converted to a plain Python ``float``/``int``. Examples of the messages::

    positive("period", 0, unit="seconds")           period must be a finite number of seconds > 0; got 0
    fraction("p", 1.5, what="a probability")        p must be a probability in [0, 1]; got 1.5
    integer("n_requests", 0)                        n_requests must be an integer >= 1; got 0
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["as_rng", "as_tensor", "fraction", "integer", "nonnegative", "positive"]


def _real(name: str, value: Any, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {allowed}; got {type(value).__name__}")
    return float(value)


def positive(name: str, value: Any, *, unit: str = "") -> float:
    """``value`` as a float; it must be a finite real number > 0 (``unit`` only words the message)."""
    allowed = f"a finite number{' of ' + unit if unit else ''} > 0"
    v = _real(name, value, allowed)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return v


def nonnegative(name: str, value: Any, *, unit: str = "") -> float:
    """``value`` as a float; it must be a finite real number >= 0."""
    allowed = f"a finite number{' of ' + unit if unit else ''} >= 0"
    v = _real(name, value, allowed)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return v


def fraction(
    name: str, value: Any, *, open_low: bool = False, open_high: bool = False, what: str = "a number", note: str = ""
) -> float:
    """``value`` as a float in [0, 1] (``open_low``/``open_high`` exclude 0/1): a probability, a share, a load."""
    lo, hi = ("(0" if open_low else "[0"), ("1)" if open_high else "1]")
    allowed = f"{what} in {lo}, {hi}{', ' + note if note else ''}"
    v = _real(name, value, allowed)
    if not ((v > 0 if open_low else v >= 0) and (v < 1 if open_high else v <= 1)):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return v


def integer(name: str, value: Any, minimum: int = 1, *, what: str = "an integer") -> int:
    """``value`` as an int >= ``minimum`` (Python or NumPy integers; bools and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {what} >= {minimum}; got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be {what} >= {minimum}; got {value}")
    return int(value)


def as_tensor(name: str, x: Any, *, of: str = "") -> Any:
    """``x`` as a ``torch.Tensor`` (a NumPy array is wrapped without copying when it is contiguous).

    ``of`` words the message, e.g. ``of="floats"``: "x must be a torch.Tensor or numpy.ndarray of floats".
    """
    import torch  # only the tensor-valued modules need torch

    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy.ndarray{' of ' + of if of else ''}; got {type(x).__name__}")
    return x


def as_rng(rng: Any) -> np.random.Generator:
    """``None`` (fresh entropy), a seed (int >= 0) or a ``numpy.random.Generator`` -> a Generator."""
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, a seed (int >= 0) or a numpy.random.Generator; got {type(rng).__name__}")
