"""Compare a notebook cell's numbers with a stated tolerance, for the few results that depend on float order.

Strict nbval compares outputs as exact strings. Almost every course output is printed so that it is the same
on every CPU (integers, rounded values, bounds, float64 experiments). A few cells report a measurement whose
last digits genuinely depend on which float kernels the CPU runs: half-precision training (the point of Part E
Zone 5 is 16-bit arithmetic, so it cannot move to float64), and argmax or rounding counts next to a quantized
KV cache. Such a cell carries a tag stating its tolerance::

    nbval-tolerance=0.02      every number in the cell's text output may differ by at most 0.02
    nbval-tolerance=1%        ... by at most 1 % of the stored value

and the comparison (``tests/conftest.py`` installs it into nbval) accepts a fresh output only when

* the text around the numbers is identical (same words, same table layout, same count of numbers), and
* every number is within the tolerance of the stored one.

Then the stored text stands in for the fresh one and nbval's exact comparison passes; otherwise the fresh
output is left as it is and nbval reports the difference as usual. Any other change still fails.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

TAG_PREFIX = "nbval-tolerance="

#: A decimal number as printed by Python, NumPy or pandas (sign, digits, fraction, exponent).
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")

#: Output fields whose text is compared (nbval also compares these as strings).
TEXT_FIELDS = ("text/plain", "text/html")


@dataclass(frozen=True)
class Tolerance:
    """Absolute (``relative=False``) or relative tolerance for every number of a cell's output."""

    value: float
    relative: bool = False

    def accepts(self, fresh: float, stored: float) -> bool:
        if math.isnan(fresh) or math.isnan(stored):
            return math.isnan(fresh) and math.isnan(stored)
        bound = self.value * abs(stored) if self.relative else self.value
        # half a unit of the printed last digit is already inside the comparison of rounded values
        return abs(fresh - stored) <= bound * (1 + 1e-9)


def parse_tag(tag: str) -> Tolerance | None:
    """The :class:`Tolerance` of a ``nbval-tolerance=...`` tag, ``None`` for any other tag.

    Raises ``ValueError`` for a malformed or unreasonable tolerance (it must be finite and > 0; a relative one
    at most 10 %), so a typo cannot silently switch the comparison off.
    """
    if not isinstance(tag, str) or not tag.startswith(TAG_PREFIX):
        return None
    text = tag[len(TAG_PREFIX):]
    relative = text.endswith("%")
    try:
        value = float(text[:-1] if relative else text)
    except ValueError:
        raise ValueError(f"tag {tag!r}: the tolerance must be a number like 0.02 or a percentage like 1%") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"tag {tag!r}: the tolerance must be finite and > 0")
    if relative:
        if value > 10:
            raise ValueError(f"tag {tag!r}: a relative tolerance above 10% would hide real changes")
        return Tolerance(value / 100, relative=True)
    return Tolerance(value)


def cell_tolerance(metadata: dict[str, Any]) -> Tolerance | None:
    """The tolerance stated by a cell's tags (at most one ``nbval-tolerance=`` tag), or ``None``."""
    found = [t for t in (parse_tag(tag) for tag in metadata.get("tags", []) or []) if t is not None]
    if len(found) > 1:
        raise ValueError("a cell may carry at most one nbval-tolerance= tag")
    return found[0] if found else None


def split_numbers(text: str) -> tuple[list[str], list[float]]:
    """The text with every number cut out (the pieces between numbers) and the numbers themselves."""
    pieces, numbers, last = [], [], 0
    for match in _NUMBER.finditer(text):
        pieces.append(text[last:match.start()])
        numbers.append(float(match.group()))
        last = match.end()
    pieces.append(text[last:])
    return pieces, numbers


def texts_match(fresh: str, stored: str, tolerance: Tolerance) -> bool:
    """True when ``fresh`` equals ``stored`` except for numbers that each lie within ``tolerance``."""
    if fresh == stored:
        return True
    fresh_pieces, fresh_numbers = split_numbers(fresh)
    stored_pieces, stored_numbers = split_numbers(stored)
    if fresh_pieces != stored_pieces or len(fresh_numbers) != len(stored_numbers):
        return False
    return all(tolerance.accepts(f, s) for f, s in zip(fresh_numbers, stored_numbers))


def _as_text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def accept_within_tolerance(fresh: Sequence[dict[str, Any]], stored: Sequence[dict[str, Any]],
                            tolerance: Tolerance) -> list[dict[str, Any]]:
    """``fresh`` outputs with each text field replaced by the stored one where :func:`texts_match` holds.

    Outputs are paired by position and must have the same type (and stream name); anything else is returned
    unchanged, so nbval's own comparison reports it. The inputs are not modified.
    """
    result = [copy.copy(out) for out in fresh]  # shallow copies of the same type (nbval uses NotebookNode)
    if len(fresh) != len(stored):
        return result
    for out, ref in zip(result, stored):
        if out.get("output_type") != ref.get("output_type") or out.get("name") != ref.get("name"):
            continue
        if "text" in out and "text" in ref and texts_match(_as_text(out["text"]), _as_text(ref["text"]), tolerance):
            out["text"] = ref["text"]
        if isinstance(out.get("data"), dict) and isinstance(ref.get("data"), dict):
            data = copy.copy(out["data"])
            for key in TEXT_FIELDS:
                if key in data and key in ref["data"] and texts_match(_as_text(data[key]), _as_text(ref["data"][key]),
                                                                     tolerance):
                    data[key] = ref["data"][key]
            out["data"] = data
    return result


def install() -> bool:
    """Make nbval's cell comparison honour ``nbval-tolerance=`` tags (idempotent). False without nbval."""
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # pragma: no cover - nbval is a test dependency
        return False
    exact = IPyNbCell.compare_outputs
    if getattr(exact, "honours_tolerance_tags", False):
        return True

    def compare_outputs(self, test, ref, skip_compare=None):
        tolerance = cell_tolerance(self.cell.metadata)
        if tolerance is not None:
            test = accept_within_tolerance(test, ref, tolerance)
        return exact(self, test, ref, skip_compare)

    compare_outputs.honours_tolerance_tags = True  # type: ignore[attr-defined]
    IPyNbCell.compare_outputs = compare_outputs
    return True


def pytest_configure(config: Any) -> None:
    """Also usable as a pytest plugin: ``pytest -p tools.nbtolerance --nbval ...``."""
    install()
