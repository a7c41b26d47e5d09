"""The statistics of testing and benchmarking: property-test sample sizes, Mann-Whitney U, Cohen's d, bootstrap.

Taught in notebook Part C (``notebooks/partC_production_python.ipynb``): Zone 1 (the sample-size slider
calls :func:`prob_find_bug`), Zone 3 ("How many random cases find a bug?", "Comparing benchmarks"),
Zone 5 ("A benchmark comparison done right").

Random testing. If a fraction ``p`` of inputs triggers a bug and cases are drawn independently::

    P(found in n cases) = 1 - (1 - p)**n
    n needed for confidence 1 - delta = ceil( log(delta) / log(1 - p) )     ~ ln(1/delta) / p

For ``p = 0.01, delta = 0.05`` the bound is 298.07, so **299** cases are needed (298 give 94.996 %).
Defaults: hypothesis 100 examples, proptest 256, Rust quickcheck 100.

Mann-Whitney U (rank-sum test; no normality assumption)::

    U1 = #{(i, j): x_i > y_j} + 0.5 * #{ties}   = R1 - n1 (n1 + 1) / 2      R1 = rank sum of x (midranks)
    U1 + U2 = n1 * n2
    under H0: mean n1 n2 / 2, variance n1 n2 / 12 * ((n + 1) - sum(t^3 - t) / (n (n - 1)))

Cohen's d (effect size; pooled standard deviation with n - 1)::

    d = (mean_x - mean_y) / s_p,   s_p = sqrt(((n1 - 1) s1^2 + (n2 - 1) s2^2) / (n1 + n2 - 2))

Cohen's conventions: 0.2 small, 0.5 medium, 0.8 large (below 0.2: negligible).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special as _special

from lecture_lib._checks import fraction, integer

__all__ = [
    "BenchmarkComparison",
    "MannWhitneyResult",
    "bootstrap_ci",
    "cases_needed",
    "cohens_d",
    "compare_benchmarks",
    "effect_size_label",
    "expected_fuzz_time",
    "mann_whitney_u",
    "pooled_t",
    "prob_find_bug",
    "simulate_find_bug",
]


# ----------------------------------------------------------------------------------------------------
# Random testing
# ----------------------------------------------------------------------------------------------------


def prob_find_bug(p: float, n: int) -> float:
    """``1 - (1 - p)**n``: probability that ``n`` independent random cases hit a bug of rate ``p``.

    Computed as ``-expm1(n * log1p(-p))`` so that tiny ``p`` keeps full precision.
    """
    pv = fraction("p", p, what="a probability")
    nv = integer("n", n, 0)
    if pv == 1.0:
        return 1.0 if nv > 0 else 0.0
    return float(-math.expm1(nv * math.log1p(-pv)))


def cases_needed(p: float, delta: float) -> int:
    """Smallest ``n`` with ``1 - (1 - p)**n >= 1 - delta``: ``ceil(log(delta) / log(1 - p))``.

    ``cases_needed(0.01, 0.05) == 299``. ``p`` in (0, 1], ``delta`` in (0, 1). The result is corrected by
    +-1 so that it is the exact smallest integer despite floating-point rounding in the logarithms.
    """
    pv = fraction("p", p, what="a probability", open_low=True)
    dv = fraction("delta", delta, what="a probability", open_low=True, open_high=True)
    if pv == 1.0:
        return 1
    n = max(1, math.ceil(math.log(dv) / math.log1p(-pv)))

    def miss(k: int) -> float:  # (1 - p)**k, accurately
        return math.exp(k * math.log1p(-pv))

    while n > 1 and miss(n - 1) <= dv:
        n -= 1
    while miss(n) > dv:
        n += 1
    return n


def simulate_find_bug(p: float, n: int, n_runs: int, *, rng: np.random.Generator) -> float:
    """Fraction of ``n_runs`` test runs (each ``n`` random cases) in which at least one case hit the bug.

    The cases are uniform numbers in [0, 1); the "bug" is the input region [0, p).
    """
    pv = fraction("p", p, what="a probability")
    nv = integer("n", n, 1)
    runs = integer("n_runs", n_runs, 1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    found = 0
    chunk = max(1, 2_000_000 // nv)
    done = 0
    while done < runs:
        m = min(chunk, runs - done)
        found += int((rng.random((m, nv)) < pv).any(axis=1).sum())
        done += m
    return found / runs


def expected_fuzz_time(p: float, rate: float) -> float:
    """Mean seconds until a fuzzer trying ``rate`` inputs/s hits a crash of rate ``p``: ``1 / (p * rate)``.

    (The number of tries is geometric with mean ``1/p``.)
    """
    pv = fraction("p", p, what="a probability", open_low=True)
    r = float(rate)
    if not (math.isfinite(r) and r > 0):
        raise ValueError(f"rate must be a finite number of inputs per second > 0; got {rate}")
    return 1.0 / (pv * r)


# ----------------------------------------------------------------------------------------------------
# Two-sample statistics
# ----------------------------------------------------------------------------------------------------


def _sample(x: Any, name: str, minimum: int = 1) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sample; got shape {a.shape}")
    if a.size < minimum:
        raise ValueError(f"{name} must hold at least {minimum} values; got {a.size}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must contain only finite numbers (no NaN or inf)")
    return a


def _midranks(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks 1..n with ties sharing their average rank; also the tie-group sizes."""
    order = np.argsort(v, kind="mergesort")
    sv = v[order]
    new_group = np.concatenate([[True], sv[1:] != sv[:-1]])
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.concatenate([starts, [v.size]]))
    avg = starts + (sizes + 1) / 2.0  # 1-based average rank per tie group
    ranks = np.empty(v.size)
    ranks[order] = np.repeat(avg, sizes)
    return ranks, sizes


@dataclass(frozen=True)
class MannWhitneyResult:
    u1: float  # U for the first sample: pairs with x > y (+0.5 per tie)
    u2: float  # U for the second sample; u1 + u2 == n1 * n2
    p_value: float  # two-sided
    method: str  # "exact" or "asymptotic"
    z: float  # normal-approximation z of max(u1, u2) (with continuity correction)

    @property
    def common_language_effect(self) -> float:
        """``u1 / (n1 n2)``: probability that a random x exceeds a random y (ties count half)."""
        return self.u1 / (self.u1 + self.u2)


def _mwu_exact_sf(u: int, n1: int, n2: int) -> float:
    """P(U >= u) under H0 without ties, by counting: c(i, j, k) = c(i-1, j, k-j) + c(i, j-1, k)."""
    # counts[j][k]: number of arrangements of i x's and j y's with U = k, updated over i
    m = n1 * n2
    # dp over i for fixed j progression: use the standard recurrence in one table over (j, k)
    prev = [np.zeros(m + 1) for _ in range(n2 + 1)]
    for j in range(n2 + 1):
        prev[j][0] = 1.0  # i = 0: U = 0 in exactly one way
    for i in range(1, n1 + 1):
        cur = [np.zeros(m + 1) for _ in range(n2 + 1)]
        cur[0][0] = 1.0
        for j in range(1, n2 + 1):
            # last element is an x (beats all j y's): c(i-1, j, k-j); last is a y: c(i, j-1, k)
            shifted = np.zeros(m + 1)
            shifted[j:] = prev[j][: m + 1 - j]
            cur[j] = shifted + cur[j - 1]
        prev = cur
    counts = prev[n2]
    total = counts.sum()
    return float(counts[u:].sum() / total)


def mann_whitney_u(x: Any, y: Any, *, method: str = "auto") -> MannWhitneyResult:
    """Two-sided Mann-Whitney U test of ``x`` vs ``y`` (same conventions as ``scipy.stats.mannwhitneyu``).

    ``method``: ``"exact"`` (the permutation distribution, counted by dynamic programming; only without
    ties), ``"asymptotic"`` (normal approximation with tie correction and continuity correction) or
    ``"auto"`` (exact when there are no ties and both samples have at most 8 values, like scipy).
    """
    a = _sample(x, "x")
    b = _sample(y, "y")
    if method not in ("auto", "exact", "asymptotic"):
        raise ValueError(f"method must be 'auto', 'exact' or 'asymptotic'; got {method!r}")
    n1, n2 = a.size, b.size
    ranks, ties = _midranks(np.concatenate([a, b]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2.0)
    u2 = n1 * n2 - u1
    has_ties = bool((ties > 1).any())
    if method == "auto":
        method = "exact" if (not has_ties and max(n1, n2) <= 8) else "asymptotic"
    if method == "exact" and has_ties:
        raise ValueError("method='exact' needs samples without ties; use method='asymptotic'")
    if method == "exact" and n1 * n2 > 10_000:
        raise ValueError(f"method='exact' is limited to n1 * n2 <= 10000 (got {n1 * n2}); use 'asymptotic'")
    n = n1 + n2
    u = max(u1, u2)
    tie_term = float((ties**3 - ties).sum()) / (n * (n - 1)) if n > 1 else 0.0
    var = n1 * n2 / 12.0 * ((n + 1) - tie_term)
    z = (u - n1 * n2 / 2.0 - 0.5) / math.sqrt(var) if var > 0 else 0.0
    if method == "exact":
        p = min(1.0, 2.0 * _mwu_exact_sf(int(round(u)), n1, n2))
    else:
        p = min(1.0, float(2.0 * _special.ndtr(-z))) if var > 0 else 1.0
    return MannWhitneyResult(u1=u1, u2=u2, p_value=p, method=method, z=z)


def cohens_d(x: Any, y: Any) -> float:
    """``(mean(x) - mean(y)) / s_pooled`` with the pooled, ``n - 1`` standard deviation (formula above)."""
    a = _sample(x, "x", 2)
    b = _sample(y, "y", 2)
    n1, n2 = a.size, b.size
    sp2 = ((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2)
    if sp2 == 0:
        raise ValueError("x and y have zero spread (all values equal); Cohen's d is undefined")
    return float((a.mean() - b.mean()) / math.sqrt(sp2))


def pooled_t(x: Any, y: Any) -> float:
    """Student's two-sample t with pooled variance: ``d / sqrt(1/n1 + 1/n2)`` (d = :func:`cohens_d`)."""
    a = _sample(x, "x", 2)
    b = _sample(y, "y", 2)
    return cohens_d(a, b) / math.sqrt(1.0 / a.size + 1.0 / b.size)


def effect_size_label(d: float) -> str:
    """Cohen's words for ``|d|``: negligible (< 0.2), small (< 0.5), medium (< 0.8), large."""
    v = abs(float(d))
    if not math.isfinite(v):
        raise ValueError(f"d must be finite; got {d}")
    if v < 0.2:
        return "negligible"
    if v < 0.5:
        return "small"
    if v < 0.8:
        return "medium"
    return "large"


# ----------------------------------------------------------------------------------------------------
# Bootstrap
# ----------------------------------------------------------------------------------------------------


def bootstrap_ci(
    samples: Sequence[Any],
    statistic: Callable[..., np.ndarray],
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator,
) -> tuple[float, float, float]:
    """Percentile bootstrap: ``(point estimate, low, high)`` for ``statistic(*samples)``.

    Each sample is resampled *independently* with replacement ``n_resamples`` times;
    ``statistic(*resampled, axis=-1)`` must reduce the last axis (``np.mean``, ``np.median`` or a
    function of several samples such as ``lambda a, b, axis: np.median(b, axis) / np.median(a, axis)``).
    The interval is the ``(1-c)/2`` and ``(1+c)/2`` quantiles of the resampled statistics.
    """
    if not isinstance(samples, (list, tuple)) or not samples:
        raise TypeError("samples must be a non-empty list or tuple of 1-D samples, e.g. (x,) or (x, y)")
    arrays = [_sample(s, f"samples[{i}]", 2) for i, s in enumerate(samples)]
    c = float(confidence)
    if not (0.0 < c < 1.0):
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence}")
    B = integer("n_resamples", n_resamples, 100)
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    point = float(statistic(*arrays, axis=-1))
    resampled = [a[rng.integers(0, a.size, size=(B, a.size))] for a in arrays]
    stats = np.asarray(statistic(*resampled, axis=-1), dtype=np.float64)
    if stats.shape != (B,):
        raise ValueError(f"statistic must reduce the last axis (got shape {stats.shape}, expected ({B},))")
    lo, hi = np.quantile(stats, [(1 - c) / 2, (1 + c) / 2])
    return point, float(lo), float(hi)


@dataclass(frozen=True)
class BenchmarkComparison:
    """Candidate vs baseline timings (seconds): ratio of medians with a bootstrap CI, U test, effect size."""

    ratio: float  # median(candidate) / median(baseline); < 1 means the candidate is faster
    ratio_low: float
    ratio_high: float
    p_value: float  # Mann-Whitney, two-sided
    cohens_d: float  # (candidate - baseline) / pooled sd
    effect: str  # Cohen's label for |d|
    prob_candidate_faster: float  # P(random candidate run < random baseline run), ties half


def compare_benchmarks(
    baseline: Any, candidate: Any, *, confidence: float = 0.95, n_resamples: int = 4000,
    rng: np.random.Generator,
) -> BenchmarkComparison:
    """A benchmark comparison done right: effect (ratio of medians + bootstrap CI), test, and effect size."""
    a = _sample(baseline, "baseline", 2)
    b = _sample(candidate, "candidate", 2)

    def ratio(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(y, axis=axis) / np.median(x, axis=axis)

    point, lo, hi = bootstrap_ci((a, b), ratio, confidence=confidence, n_resamples=n_resamples, rng=rng)
    mw = mann_whitney_u(b, a)
    d = cohens_d(b, a)
    return BenchmarkComparison(
        ratio=point, ratio_low=lo, ratio_high=hi, p_value=mw.p_value, cohens_d=d,
        effect=effect_size_label(d), prob_candidate_faster=mw.u2 / (mw.u1 + mw.u2),
    )
