"""Prometheus-style histograms, ``histogram_quantile`` and the four golden signals.

Taught in notebook Part C (``notebooks/partC_production_python.ipynb``): Zone 1 (the bucket-layout
slider), Zone 3 ("Percentiles from buckets", the interpolation formula checked numerically), Zone 4 (this
code) and Zone 5 ("p99 from histograms vs exact").

A Prometheus histogram does not keep the observations. It keeps, for a fixed list of upper bounds
``le_1 < le_2 < ... < le_k < +Inf``, the *cumulative* count of observations ``<= le_i`` (the last bucket,
``le="+Inf"``, counts everything). A quantile is then *estimated* from those counts:

    rank = q * total                                  total = count of the +Inf bucket
    b    = the first bucket whose cumulative count >= rank
    Q(q) = lower_b + (upper_b - lower_b) * (rank - count_{b-1}) / (count_b - count_{b-1})

where ``lower_b`` is the previous bucket's upper bound (``0`` for the lowest bucket when its upper bound
is positive). Two special rules: if the rank falls into the ``+Inf`` bucket, the answer is the highest
finite bound (there is nothing to interpolate towards); if the lowest bucket's bound is ``<= 0``, that
bound itself is returned. The estimate assumes observations are spread uniformly inside a bucket, so its
error is bounded by the width of the bucket the quantile lands in: choose bounds that are dense where your
SLO threshold and your p99 live.

Everything here is pure (no global registry, no I/O, no clock); a :class:`Histogram` is a small object
that you own and pass around.
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_BUCKETS",
    "GoldenSignals",
    "Histogram",
    "HistogramMonotonicityWarning",
    "exact_quantile",
    "exponential_buckets",
    "golden_signals",
    "histogram_quantile",
    "linear_buckets",
    "quantile_error",
]

#: The default latency buckets (seconds) of the Prometheus Python client
#: (``prometheus_client.Histogram.DEFAULT_BUCKETS`` without its +Inf).
#: The Go client's ``prometheus.DefBuckets`` differ: they have no 0.075, 0.75 and 7.5.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)

#: Relative tolerance under which two neighbouring cumulative counts are treated as equal (floating-point
#: noise from ``rate()``), as Prometheus does before forcing monotonicity.
_PRECISION_TOLERANCE = 1e-12


class HistogramMonotonicityWarning(UserWarning):
    """Cumulative counts decreased from one bucket to the next and were repaired (see histogram_quantile)."""


# ----------------------------------------------------------------------------------------------------
# histogram_quantile
# ----------------------------------------------------------------------------------------------------


def _as_float_list(values: Any, name: str) -> list[float]:
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one entry per bucket); got shape {values.shape}")
        if values.dtype.kind in "fiu":
            return values.astype(np.float64).tolist()
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be a sequence of numbers; got {type(values).__name__}")
    out: list[float] = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name}[{i}] must be a real number; got {v!r} ({type(v).__name__})")
        out.append(float(v))
    return out


def _repair_counts(counts: list[float]) -> tuple[list[float], bool, bool]:
    """Prometheus's repair of cumulative counts: ignore tiny float noise, then remove any decrease.

    Walks the buckets from low to high with ``prev`` = the last accepted count. A count within a relative
    ``1e-12`` of ``prev`` is set to ``prev`` (precision noise, either direction); a count below ``prev``
    is raised to ``prev`` (the monotone *envelope*). Returns (counts, forced_monotonic, fixed_precision).
    """
    fixed = list(counts)
    forced = precision = False
    prev = fixed[0]
    for i in range(1, len(fixed)):
        curr = fixed[i]
        if curr == prev:
            continue
        if abs(curr - prev) <= _PRECISION_TOLERANCE * max(abs(curr), abs(prev)):
            fixed[i] = prev
            precision = True
            continue
        if curr < prev:
            fixed[i] = prev
            forced = True
            continue
        prev = curr
    return fixed, forced, precision


def histogram_quantile(
    q: float,
    upper_bounds: Sequence[float],
    cumulative_counts: Sequence[float],
    *,
    strict: bool = True,
) -> float:
    """Estimate the ``q``-quantile from cumulative bucket counts, as PromQL's ``histogram_quantile`` does.

    Parameters
    ----------
    q : the quantile, ``0 <= q <= 1`` (0.99 for p99).
    upper_bounds : the ``le`` bounds of the buckets; the largest must be ``+inf`` (``math.inf``).
        Any order is accepted (pairs are sorted by bound, as Prometheus does); buckets with the same bound
        are merged by *adding* their counts (Prometheus's ``coalesceBuckets``).
    cumulative_counts : for each bound, the number (or rate) of observations ``<= bound``; non-negative.
    strict : ``True`` (the default) raises ``ValueError`` where Prometheus would silently answer NaN or
        +-Inf; ``False`` returns exactly what Prometheus returns (see the table below).

    Algorithm (Prometheus ``bucketQuantile``)::

        sort by bound; merge equal bounds; repair counts (float noise <= 1e-12 relative -> equal;
        any decrease -> raised to the running maximum)
        total = count(+Inf);  rank = q * total
        b = first bucket with count_b >= rank          (searched among the finite buckets)
        if b is the +Inf bucket:           return the highest finite bound
        if b == 0 and upper_0 <= 0:        return upper_0
        lower = upper_{b-1} (or 0 if b == 0);  in_bucket = count_b - count_{b-1};  r = rank - count_{b-1}
        return lower + (upper_b - lower) * r / in_bucket

    Special cases, Prometheus (``strict=False``) vs this course's default (``strict=True``):

    ====================================  ===============  ===================================================
    input                                 Prometheus       strict=True
    ====================================  ===============  ===================================================
    q is NaN                              NaN              ValueError
    q < 0 / q > 1                         -Inf / +Inf      ValueError
    largest bound is not +Inf             NaN              ValueError
    fewer than 2 buckets (after merging)  NaN              ValueError
    total count is 0 (no observations)    NaN              ValueError (a quantile of nothing is undefined)
    q == 0 and the lowest bucket is       NaN (0/0)        the limit q -> 0+: the lower edge of the first
    empty (its bound > 0)                                  non-empty bucket
    counts decrease somewhere             repaired         repaired, and a HistogramMonotonicityWarning
    ====================================  ===============  ===================================================

    Inputs that Prometheus never sees (NaN bounds, NaN/negative/infinite counts, mismatched lengths,
    an empty list) raise ``ValueError`` in both modes.

    Example (three buckets, 10 observations: 2 <= 0.1 s, 8 <= 0.5 s, 10 <= +Inf)::

        >>> histogram_quantile(0.5, [0.1, 0.5, math.inf], [2, 8, 10])   # rank 5 in (0.1, 0.5]: 0.1 + 0.4*3/6
        0.30000000000000004
        >>> histogram_quantile(0.99, [0.1, 0.5, math.inf], [2, 8, 10])  # rank 9.9 in +Inf bucket
        0.5
    """
    if not isinstance(strict, bool):
        raise TypeError(f"strict must be True or False; got {strict!r}")
    if isinstance(q, bool) or not isinstance(q, (int, float, np.integer, np.floating)):
        raise TypeError(f"q must be a real number in [0, 1]; got {q!r} ({type(q).__name__})")
    q = float(q)
    bounds = _as_float_list(upper_bounds, "upper_bounds")
    counts = _as_float_list(cumulative_counts, "cumulative_counts")
    if len(bounds) != len(counts):
        raise ValueError(
            "upper_bounds and cumulative_counts must have one entry per bucket; "
            f"got {len(bounds)} bounds and {len(counts)} counts"
        )
    if not bounds:
        raise ValueError("upper_bounds must hold at least the +Inf bucket and one finite bucket; got none")
    if any(math.isnan(b) for b in bounds):
        raise ValueError("upper_bounds must not contain NaN (a bucket needs a real 'le' bound)")
    for i, c in enumerate(counts):
        if not math.isfinite(c) or c < 0:
            raise ValueError(f"cumulative_counts must be finite and >= 0; got {c!r} at index {i}")

    # q outside [0, 1] (Prometheus answers before looking at the buckets).
    if math.isnan(q):
        if strict:
            raise ValueError("q must be a number in [0, 1]; got NaN (Prometheus would answer NaN)")
        return math.nan
    if q < 0 or q > 1:
        if strict:
            raise ValueError(f"q must be in [0, 1] (0.99 for p99); got {q} (Prometheus would answer "
                             f"{'-Inf' if q < 0 else '+Inf'})")
        return -math.inf if q < 0 else math.inf

    # Sort by bound (stable, like Go's pdqsort it keeps no promise for ties; ties are merged next).
    pairs = sorted(zip(bounds, counts), key=lambda bc: bc[0])
    if pairs[-1][0] != math.inf:
        if strict:
            raise ValueError(
                "upper_bounds must include +Inf (the le=\"+Inf\" bucket that counts every observation); "
                f"the largest bound is {pairs[-1][0]}"
            )
        return math.nan
    merged_b: list[float] = []
    merged_c: list[float] = []
    for b, c in pairs:
        if merged_b and merged_b[-1] == b:
            merged_c[-1] += c
        else:
            merged_b.append(b)
            merged_c.append(c)
    fixed, forced, _ = _repair_counts(merged_c)
    if len(merged_b) < 2:
        if strict:
            raise ValueError(
                "upper_bounds must contain at least one finite bound besides +Inf (with only the +Inf "
                "bucket every quantile is unknown)"
            )
        return math.nan
    total = fixed[-1]
    if total == 0:
        if strict:
            raise ValueError(
                "cumulative_counts: the histogram holds no observations (+Inf count is 0), so a quantile is "
                "undefined (Prometheus would answer NaN)"
            )
        return math.nan
    if forced and strict:
        warnings.warn(
            "cumulative_counts decreased from one bucket to the next (cumulative counts must be "
            "non-decreasing); repaired by taking the running maximum, as Prometheus does",
            HistogramMonotonicityWarning,
            stacklevel=2,
        )

    rank = q * total
    n_finite = len(merged_b) - 1
    b = bisect.bisect_left(fixed, rank, 0, n_finite)  # first index < n_finite with fixed[i] >= rank
    if b == n_finite:
        return merged_b[-2]
    if b == 0 and merged_b[0] <= 0:
        return merged_b[0]
    start = 0.0
    end = merged_b[b]
    in_bucket = fixed[b]
    if b > 0:
        start = merged_b[b - 1]
        in_bucket -= fixed[b - 1]
        rank -= fixed[b - 1]
    if in_bucket == 0:
        # Only reachable with rank == 0 (q == 0) and an empty lowest bucket: Prometheus computes 0/0.
        if not strict:
            return math.nan
        first = next(i for i, c in enumerate(fixed) if c > 0)
        if first == n_finite:
            return merged_b[-2]
        if first == 0:
            return merged_b[0] if merged_b[0] <= 0 else 0.0
        return merged_b[first - 1]
    return start + (end - start) * (rank / in_bucket)


# ----------------------------------------------------------------------------------------------------
# Bucket layouts
# ----------------------------------------------------------------------------------------------------


def linear_buckets(start: float, width: float, count: int) -> list[float]:
    """``count`` finite bounds ``start, start + width, ..., start + (count-1)*width`` (no +Inf)."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be an integer >= 1; got {count!r}")
    if not (math.isfinite(start) and math.isfinite(width)) or width <= 0:
        raise ValueError(f"width must be a finite number > 0 and start finite; got start={start}, width={width}")
    return [start + i * width for i in range(int(count))]


def exponential_buckets(start: float, factor: float, count: int) -> list[float]:
    """``count`` finite bounds ``start, start*factor, ..., start*factor**(count-1)`` (no +Inf).

    Relative resolution is constant: every bucket is ``factor`` times wider than the previous, so the
    worst-case relative error of an interpolated quantile is about ``factor - 1``.
    """
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be an integer >= 1; got {count!r}")
    if not math.isfinite(start) or start <= 0:
        raise ValueError(f"start must be a finite number > 0; got {start}")
    if not math.isfinite(factor) or factor <= 1:
        raise ValueError(f"factor must be a finite number > 1; got {factor}")
    return [start * factor**i for i in range(int(count))]


# ----------------------------------------------------------------------------------------------------
# Histogram
# ----------------------------------------------------------------------------------------------------


@dataclass
class Histogram:
    """A Prometheus-style histogram: fixed finite bounds plus an implicit +Inf bucket.

    ``observe(v)`` adds one observation to the first bucket whose bound is ``>= v`` (``le`` = "less or
    equal"); ``observe_many`` does the same for an array in one vectorized call. The histogram stores
    per-bucket counts, the running ``sum`` and ``count``; :meth:`cumulative_counts` gives what Prometheus
    exposes as ``<name>_bucket{le=...}``.
    """

    bounds: tuple[float, ...]
    _counts: list[int] = field(init=False, repr=False)
    sum: float = field(init=False, default=0.0)
    count: int = field(init=False, default=0)

    def __init__(self, bounds: Sequence[float] = DEFAULT_BUCKETS) -> None:
        b = _as_float_list(bounds, "bounds")
        if b and b[-1] == math.inf:
            b = b[:-1]  # +Inf is implicit; accept it written out
        if not b:
            raise ValueError("bounds must contain at least one finite upper bound (the +Inf bucket is implicit)")
        if not all(math.isfinite(x) for x in b):
            raise ValueError(f"bounds must be finite numbers (only the implicit last bucket is +Inf); got {b}")
        if any(b2 <= b1 for b1, b2 in zip(b, b[1:])):
            raise ValueError(f"bounds must be strictly increasing; got {b}")
        self.bounds = tuple(b)
        self._counts = [0] * (len(b) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Count one observation (for example a latency in seconds)."""
        v = float(value)
        if math.isnan(v):
            raise ValueError("value must not be NaN (it would poison the histogram's sum)")
        self._counts[bisect.bisect_left(self.bounds, v)] += 1
        self.sum += v
        self.count += 1

    def observe_many(self, values: Any) -> None:
        """Count many observations at once (vectorized ``searchsorted``; same buckets as ``observe``)."""
        arr = np.asarray(values, dtype=np.float64).ravel()
        if np.isnan(arr).any():
            raise ValueError("values must not contain NaN (it would poison the histogram's sum)")
        idx = np.searchsorted(np.asarray(self.bounds), arr, side="left")
        per_bucket = np.bincount(idx, minlength=len(self._counts))
        for i, c in enumerate(per_bucket.tolist()):
            self._counts[i] += c
        self.sum += float(arr.sum())
        self.count += int(arr.size)

    @property
    def upper_bounds(self) -> list[float]:
        """The bounds including the final ``+inf``, aligned with :meth:`cumulative_counts`."""
        return [*self.bounds, math.inf]

    def bucket_counts(self) -> list[int]:
        """Per-bucket (non-cumulative) counts, the last one being the +Inf bucket."""
        return list(self._counts)

    def cumulative_counts(self) -> list[int]:
        """Cumulative counts ``<= le`` for each bound of :attr:`upper_bounds`."""
        return np.cumsum(self._counts).tolist()

    def quantile(self, q: float, *, strict: bool = True) -> float:
        """``histogram_quantile(q, self.upper_bounds, self.cumulative_counts())``."""
        return histogram_quantile(q, self.upper_bounds, self.cumulative_counts(), strict=strict)

    def merge(self, other: Histogram) -> Histogram:
        """A new histogram holding both (what ``sum by (le)`` does in PromQL); bounds must match."""
        if not isinstance(other, Histogram):
            raise TypeError(f"other must be a Histogram; got {type(other).__name__}")
        if other.bounds != self.bounds:
            raise ValueError("histograms can only be merged when their bounds are identical")
        out = Histogram(self.bounds)
        out._counts = [a + b for a, b in zip(self._counts, other._counts)]
        out.sum = self.sum + other.sum
        out.count = self.count + other.count
        return out


# ----------------------------------------------------------------------------------------------------
# Exact quantiles and estimation error
# ----------------------------------------------------------------------------------------------------


def exact_quantile(samples: Any, q: float) -> float:
    """The sample quantile ``x_(ceil(n*q))`` (the ``ceil(nq)``-th *smallest* value; numpy ``inverted_cdf``).

    For ``n = 1000`` and ``q = 0.99`` this is the 990th smallest value (the 11th largest), not "the 990th
    largest" as the lecture words it. ``q = 0`` returns the minimum.
    """
    arr = np.asarray(samples, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError("samples must contain at least one value")
    if not np.isfinite(arr).all():
        raise ValueError("samples must be finite numbers")
    if not (0.0 <= float(q) <= 1.0):
        raise ValueError(f"q must be in [0, 1]; got {q}")
    return float(np.quantile(arr, float(q), method="inverted_cdf"))


def quantile_error(samples: Any, q: float, bounds: Sequence[float]) -> dict[str, float]:
    """Observe ``samples`` into a histogram with ``bounds`` and compare its ``q``-quantile with the exact one.

    Returns ``{"estimate", "exact", "abs_error", "rel_error", "bucket_width"}`` where ``bucket_width`` is
    the width of the bucket that holds the exact quantile (the error bound of linear interpolation when
    the quantile lands in a finite bucket; ``inf`` if it lands in the +Inf bucket).
    """
    h = Histogram(bounds)
    h.observe_many(samples)
    est = h.quantile(q)
    exact = exact_quantile(samples, q)
    ub = h.upper_bounds
    j = bisect.bisect_left(ub, exact)
    lower = ub[j - 1] if j > 0 else min(0.0, ub[0])
    width = ub[j] - lower
    return {
        "estimate": est,
        "exact": exact,
        "abs_error": abs(est - exact),
        "rel_error": abs(est - exact) / abs(exact) if exact != 0 else math.inf,
        "bucket_width": width,
    }


# ----------------------------------------------------------------------------------------------------
# The four golden signals
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldenSignals:
    """Latency (p50/p99 from a histogram), traffic, errors and saturation over one window."""

    latency_p50: float
    latency_p99: float
    traffic: float  # requests per second
    error_ratio: float  # errors / requests
    saturation: float  # busy time / window (server utilisation)


def golden_signals(
    arrival_times: Any,
    latencies: Any,
    is_error: Any,
    service_times: Any,
    *,
    window: tuple[float, float],
    bounds: Sequence[float] = DEFAULT_BUCKETS,
    servers: int = 1,
) -> GoldenSignals:
    """The four golden signals of the requests that *arrived* in ``window = (t0, t1)`` (seconds).

    * latency: p50 and p99 via :func:`histogram_quantile` on a histogram with ``bounds``;
    * traffic: ``count / (t1 - t0)`` requests per second (the arrival rate lambda);
    * errors: ``errors / count``;
    * saturation: total service time / (``servers`` * window length), the utilisation rho = lambda / mu for
      a single queue (an approximation at the window's edges).
    """
    a = np.asarray(arrival_times, dtype=np.float64)
    lat = np.asarray(latencies, dtype=np.float64)
    err = np.asarray(is_error, dtype=bool)
    svc = np.asarray(service_times, dtype=np.float64)
    if not (a.shape == lat.shape == err.shape == svc.shape) or a.ndim != 1:
        raise ValueError("arrival_times, latencies, is_error and service_times must be 1-D and the same length")
    t0, t1 = (float(x) for x in window)
    if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
        raise ValueError(f"window must be (t0, t1) with t0 < t1; got {window}")
    if isinstance(servers, bool) or not isinstance(servers, int) or servers < 1:
        raise ValueError(f"servers must be an integer >= 1; got {servers!r}")
    sel = (a >= t0) & (a < t1)
    n = int(sel.sum())
    if n == 0:
        raise ValueError("window contains no requests; the golden signals are undefined")
    h = Histogram(bounds)
    h.observe_many(lat[sel])
    length = t1 - t0
    return GoldenSignals(
        latency_p50=h.quantile(0.5),
        latency_p99=h.quantile(0.99),
        traffic=n / length,
        error_ratio=float(err[sel].mean()),
        saturation=float(svc[sel].sum()) / (servers * length),
    )
