"""Tests for lecture_lib.metrics: histogram_quantile (Prometheus semantics), Histogram, golden signals."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib import metrics
from lecture_lib.metrics import (
    Histogram,
    HistogramMonotonicityWarning,
    exact_quantile,
    exponential_buckets,
    golden_signals,
    histogram_quantile,
    linear_buckets,
    quantile_error,
)

INF = math.inf

# ------------------------------------------------------------------------------------------------
# Hand-computed cases
# ------------------------------------------------------------------------------------------------

B3 = [0.1, 0.5, INF]
C3 = [2, 8, 10]  # 2 obs <= 0.1, 6 in (0.1, 0.5], 2 above 0.5


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.0, 0.0),  # rank 0 in the lowest bucket: interpolate from 0
        (0.1, 0.05),  # rank 1 of 2 in (0, 0.1]
        (0.2, 0.1),  # rank 2 = the lowest bucket's count exactly
        (0.5, 0.3),  # rank 5: 0.1 + 0.4 * (5 - 2) / 6
        (0.8, 0.5),  # rank 8 = count of le=0.5 exactly
        (0.81, 0.5),  # rank 8.1 falls in the +Inf bucket -> highest finite bound
        (0.99, 0.5),
        (1.0, 0.5),
    ],
)
def test_hand_computed_positive_buckets(q: float, expected: float) -> None:
    assert histogram_quantile(q, B3, C3) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.1, -1.0),  # rank 0.8 in the lowest bucket whose bound is <= 0: that bound is returned
        (0.25, -1.0),  # rank 2 = count of the lowest bucket
        (0.5, 0.0),  # rank 4: -1 + 1 * (4 - 2) / 2
        (0.75, 0.5),  # rank 6: 0 + 1 * (6 - 4) / 4
    ],
)
def test_hand_computed_negative_lowest_bucket(q: float, expected: float) -> None:
    assert histogram_quantile(q, [-1, 0, 1, INF], [2, 4, 8, 8]) == pytest.approx(expected, abs=1e-15)


def test_lowest_bucket_exactly_zero_returns_zero() -> None:
    assert histogram_quantile(0.3, [0.0, 1.0, INF], [5, 10, 10]) == 0.0


def test_order_of_buckets_does_not_matter() -> None:
    assert histogram_quantile(0.5, [INF, 0.1, 0.5], [10, 2, 8]) == histogram_quantile(0.5, B3, C3)


def test_numpy_inputs_accepted() -> None:
    assert histogram_quantile(np.float64(0.5), np.array(B3), np.array(C3)) == pytest.approx(0.3)


# Cases from Prometheus's own test suite (promql/testdata/histograms.test): the bucket counts at 50 m
# and the values Prometheus must return. Counts are the series' values (increment x 10).
PROM_CASES = [
    # testhistogram{start="positive"}
    ([0.1, 0.2, 1.0, INF], [50, 70, 110, 120], [(0, 0.0), (1, 1.0), (0.2, 0.048), (0.5, 0.15), (0.8, 0.72)]),
    # testhistogram{start="negative"}
    ([-0.2, -0.1, 0.3, INF], [10, 20, 20, 30], [(0, -0.2), (1, 0.3), (0.2, -0.2), (0.5, -0.15), (0.8, 0.3)]),
    # sum by (le) of request_duration_seconds
    ([0.1, 0.2, INF], [100, 190, 250], [(0.3, 0.075), (0.5, 0.1277777777777778)]),
    # by job
    ([0.1, 0.2, INF], [30, 80, 100], [(0.3, 0.1), (0.5, 0.14)]),
    ([0.1, 0.2, INF], [70, 110, 150], [(0.3, 0.0642857142857143), (0.5, 0.1125)]),
    # by job and instance
    ([0.1, 0.2, INF], [10, 30, 40], [(0.3, 0.11), (0.5, 0.15)]),
    ([0.1, 0.2, INF], [20, 50, 60], [(0.3, 0.09), (0.5, 0.1333333333333333)]),
    ([0.1, 0.2, INF], [30, 40, 60], [(0.3, 0.06), (0.5, 0.1)]),
    ([0.1, 0.2, INF], [40, 70, 90], [(0.3, 0.0675), (0.5, 0.1166666666666667)]),
    # mixed_bucket ins1: le="0.2", "2e-1", "2.0e-1" are one bound; their counts are added
    ([0.1, 0.2, 0.2, 0.2, INF], [10, 10, 10, 10, 40], [(0.5, 0.15), (0.75, 0.2), (1, 0.2)]),
]


@pytest.mark.parametrize(("bounds", "counts", "cases"), PROM_CASES)
def test_prometheus_test_suite_cases(bounds: list[float], counts: list[float], cases: list[tuple[float, float]]) -> None:
    for q, expected in cases:
        assert histogram_quantile(q, bounds, counts) == pytest.approx(expected, rel=1e-9, abs=1e-12), (q, expected)
        # a rate() divides every count by the same number: the quantile is unchanged
        rates = [c / 300.0 for c in counts]
        assert histogram_quantile(q, bounds, rates) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_prometheus_nonmonotonic_case() -> None:
    bounds = [0.1, 1, 10, 100, 1000, INF]
    counts = [10, 90, 80, 80, 90, 90]
    with pytest.warns(HistogramMonotonicityWarning):
        assert histogram_quantile(0.99, bounds, counts) == pytest.approx(0.989875)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Prometheus mode repairs silently
        assert histogram_quantile(0.99, bounds, counts, strict=False) == pytest.approx(0.989875)


def test_monotonicity_envelope_hand_case() -> None:
    # [5, 3, 8, 10] -> envelope [5, 5, 8, 10]
    with pytest.warns(HistogramMonotonicityWarning):
        assert histogram_quantile(0.5, [1, 2, 3, INF], [5, 3, 8, 10]) == pytest.approx(1.0)
    with pytest.warns(HistogramMonotonicityWarning):
        assert histogram_quantile(0.6, [1, 2, 3, INF], [5, 3, 8, 10]) == pytest.approx(2 + 1 / 3)


def test_float_noise_is_repaired_silently() -> None:
    noisy = [5.0, 5.0 * (1 - 1e-14), 8.0, 10.0]  # a rate() rounding artefact, not a real decrease
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = histogram_quantile(0.5, [1, 2, 3, INF], noisy)
    assert got == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------------
# Special cases: strict (course default) vs Prometheus mode
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "bounds", "counts", "prometheus"),
    [
        (math.nan, B3, C3, math.nan),
        (-0.1, B3, C3, -INF),
        (1.01, B3, C3, INF),
        (0.5, [0.1, 0.5, 1.0], [2, 8, 10], math.nan),  # no +Inf bucket
        (0.5, [INF], [10], math.nan),  # fewer than 2 buckets
        (0.5, [INF, INF], [0, 0], math.nan),  # merged into one bucket (Prometheus's mixed_bucket ins2)
        (0.5, B3, [0, 0, 0], math.nan),  # no observations
        (0.0, [1, 2, INF], [0, 5, 5], math.nan),  # q = 0 with an empty lowest bucket: 0/0
    ],
)
def test_special_cases(q: float, bounds: list[float], counts: list[float], prometheus: float) -> None:
    got = histogram_quantile(q, bounds, counts, strict=False)
    if math.isnan(prometheus):
        assert math.isnan(got)
    else:
        assert got == prometheus
    if (q, counts) == (0.0, [0, 5, 5]):
        # strict: the limit q -> 0+, the lower edge of the first non-empty bucket
        assert histogram_quantile(q, bounds, counts) == 1.0
    else:
        with pytest.raises(ValueError):
            histogram_quantile(q, bounds, counts)


def test_q0_with_nonpositive_lowest_bound_keeps_prometheus_answer() -> None:
    # Prometheus returns the lowest bound (<= 0) for any rank in the lowest bucket, even an empty one
    assert histogram_quantile(0.0, [0, 1, 2, INF], [0, 0, 5, 5]) == 0.0
    assert histogram_quantile(0.0, [0, 1, 2, INF], [0, 0, 5, 5], strict=False) == 0.0


def test_q0_limit_matches_small_q() -> None:
    bounds, counts = [1, 2, 4, INF], [0, 0, 6, 6]
    assert histogram_quantile(0.0, bounds, counts) == 2.0
    assert histogram_quantile(1e-12, bounds, counts) == pytest.approx(2.0)
    assert histogram_quantile(0.0, [1, 2, INF], [0, 0, 5]) == 2.0  # all in +Inf: highest finite bound


def test_error_messages_name_the_argument() -> None:
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        histogram_quantile(1.5, B3, C3)
    with pytest.raises(ValueError, match=r"\+Inf"):
        histogram_quantile(0.5, [0.1, 0.5], [2, 8])
    with pytest.raises(ValueError, match="one entry per bucket"):
        histogram_quantile(0.5, B3, [1, 2])
    with pytest.raises(ValueError, match="cumulative_counts must be finite and >= 0"):
        histogram_quantile(0.5, B3, [1, -2, 3])
    with pytest.raises(ValueError, match="cumulative_counts must be finite"):
        histogram_quantile(0.5, B3, [1, math.nan, 3])
    with pytest.raises(ValueError, match="NaN"):
        histogram_quantile(0.5, [0.1, math.nan, INF], C3)
    with pytest.raises(ValueError, match="no observations"):
        histogram_quantile(0.5, B3, [0, 0, 0])
    with pytest.raises(ValueError, match="at least one finite bound"):
        histogram_quantile(0.5, [INF], [3])
    with pytest.raises(ValueError, match="at least"):
        histogram_quantile(0.5, [], [])
    with pytest.raises(TypeError, match="q must be a real number"):
        histogram_quantile("0.5", B3, C3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cumulative_counts"):
        histogram_quantile(0.5, B3, ["a", 2, 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="strict"):
        histogram_quantile(0.5, B3, C3, strict=1)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# Against exact quantiles
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [0.5, 0.9, 0.99])
def test_fine_buckets_converge_to_exact_quantile(q: float) -> None:
    rng = np.random.default_rng(7)
    samples = rng.lognormal(mean=-2.0, sigma=0.5, size=50_000)
    exact = exact_quantile(samples, q)
    coarse = quantile_error(samples, q, exponential_buckets(0.005, 2.0, 12))
    fine = quantile_error(samples, q, exponential_buckets(0.005, 1.01, 700))
    # the interpolation error is bounded by the width of the bucket holding the quantile
    assert coarse["abs_error"] <= coarse["bucket_width"]
    assert fine["abs_error"] <= fine["bucket_width"]
    # 1 % buckets: within 1 % of exact; the coarse doubling buckets are visibly worse
    assert fine["rel_error"] < 0.01
    assert fine["abs_error"] < coarse["abs_error"]
    assert fine["exact"] == exact


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(min_value=0, max_value=99), min_size=1, max_size=300),
    q=st.floats(min_value=1e-9, max_value=1.0),
)
def test_unit_buckets_bracket_the_exact_quantile(values: list[int], q: float) -> None:
    """Integer data on buckets of width 1 (bounds 0, 1, ..., 99): with observation v counted in
    (v-1, v], the estimate lies within one bucket of the exact order statistic x_(ceil(n q)).
    (q = 0 is excluded: there Prometheus returns the lowest bound 0 whenever it is <= 0, see below.)"""
    bounds = [float(b) for b in range(100)]
    h = Histogram(bounds)
    h.observe_many(values)
    est = h.quantile(q)
    exact = exact_quantile(values, q)
    assert exact - 1.0 - 1e-9 <= est <= exact + 1e-9


@settings(max_examples=80, deadline=None)
@given(
    per_bucket=st.lists(st.integers(min_value=0, max_value=50), min_size=2, max_size=12),
    qs=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=2),
)
def test_monotone_in_q_and_within_range(per_bucket: list[int], qs: list[float]) -> None:
    if sum(per_bucket) == 0:
        per_bucket[0] = 1
    bounds = [float(i + 1) for i in range(len(per_bucket) - 1)] + [INF]
    cum = np.cumsum(per_bucket).tolist()
    lo, hi = sorted(qs)
    a, b = histogram_quantile(lo, bounds, cum), histogram_quantile(hi, bounds, cum)
    assert a <= b + 1e-12
    assert 0.0 <= a and b <= bounds[-2]


@settings(max_examples=60, deadline=None)
@given(
    per_bucket=st.lists(st.integers(min_value=0, max_value=50), min_size=2, max_size=10),
    q=st.floats(min_value=0.0, max_value=1.0),
    scale=st.floats(min_value=1e-3, max_value=1e3),
    perm_seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_invariant_to_rate_scaling_and_order(per_bucket: list[int], q: float, scale: float, perm_seed: int) -> None:
    if sum(per_bucket) == 0:
        per_bucket[-1] = 1
    bounds = [0.5 * (i + 1) for i in range(len(per_bucket) - 1)] + [INF]
    cum = np.cumsum(per_bucket).astype(float)
    ref = histogram_quantile(q, bounds, cum.tolist())
    perm = np.random.default_rng(perm_seed).permutation(len(bounds))
    shuffled = histogram_quantile(q, [bounds[i] for i in perm], (cum[perm] * scale).tolist())
    assert shuffled == pytest.approx(ref, rel=1e-9, abs=1e-12)


def _naive_reference(q: float, bounds: list[float], cum: list[float]) -> float:
    """An independent re-statement of the lecture's formula for sorted, monotone buckets (0 < q <= 1)."""
    total = cum[-1]
    rank = q * total
    prev_b, prev_c = 0.0, 0.0
    for b, c in zip(bounds, cum):
        if c >= rank:
            if b == INF:
                return prev_b
            return prev_b + (b - prev_b) * (rank - prev_c) / (c - prev_c)
        prev_b, prev_c = b, c
    raise AssertionError("unreachable")


@settings(max_examples=80, deadline=None)
@given(
    per_bucket=st.lists(st.integers(min_value=1, max_value=40), min_size=2, max_size=10),
    q=st.floats(min_value=1e-6, max_value=1.0),
)
def test_matches_lecture_formula(per_bucket: list[int], q: float) -> None:
    bounds = [0.25 * (i + 1) for i in range(len(per_bucket) - 1)] + [INF]
    cum = np.cumsum(per_bucket).astype(float).tolist()
    assert histogram_quantile(q, bounds, cum) == pytest.approx(_naive_reference(q, bounds, cum), rel=1e-12, abs=1e-12)


def test_negative_control_wrong_interpolation_is_caught() -> None:
    """A deliberately wrong variant (interpolating the lowest bucket from its own bound, i.e. no 'from 0'
    rule, and returning +Inf for the top bucket) disagrees with the Prometheus cases above."""

    def wrong(q: float, bounds: list[float], cum: list[float]) -> float:
        rank = q * cum[-1]
        for i, (b, c) in enumerate(zip(bounds, cum)):
            if c >= rank:
                lo = bounds[i - 1] if i else b
                prev = cum[i - 1] if i else 0.0
                return lo + (b - lo) * (rank - prev) / (c - prev) if b != INF else INF
        return INF

    bounds, counts, cases = PROM_CASES[0]
    mismatches = [q for q, exp in cases if wrong(q, bounds, counts) != pytest.approx(exp)]
    assert mismatches  # the suite would catch it


# ------------------------------------------------------------------------------------------------
# Histogram
# ------------------------------------------------------------------------------------------------


def test_histogram_le_semantics() -> None:
    h = Histogram([1, 2, 3])
    for v in [0.5, 1, 1.5, 2, 3, 4, -1]:
        h.observe(v)
    assert h.bucket_counts() == [3, 2, 1, 1]  # -1, 0.5, 1 | 1.5, 2 | 3 | 4
    assert h.cumulative_counts() == [3, 5, 6, 7]
    assert h.upper_bounds == [1.0, 2.0, 3.0, INF]
    assert h.count == 7 and h.sum == pytest.approx(11.0)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(min_value=-10, max_value=10, allow_nan=False), max_size=200))
def test_observe_many_equals_observe(values: list[float]) -> None:
    bounds = [-5, -1, 0, 0.5, 1, 2.5, 5]
    one, many = Histogram(bounds), Histogram(bounds)
    for v in values:
        one.observe(v)
    many.observe_many(values)
    assert one.bucket_counts() == many.bucket_counts()
    assert one.count == many.count
    assert one.sum == pytest.approx(many.sum, abs=1e-9)


def test_histogram_matches_prometheus_client_if_installed() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    bounds = [0.01, 0.1, 0.5, 1.0, 2.5]
    theirs = prometheus_client.Histogram("lat", "latency", buckets=bounds, registry=registry)
    ours = Histogram(bounds)
    values = np.random.default_rng(3).lognormal(-1.5, 1.0, 2000)
    values[:5] = bounds[:5]  # exact bound hits go into that bucket (le)
    for v in values.tolist():
        theirs.observe(v)
    ours.observe_many(values)
    cum = {s.labels["le"]: s.value for s in registry.collect().__next__().samples if s.name == "lat_bucket"}
    assert [cum[k] for k in sorted(cum, key=float)] == ours.cumulative_counts()


def test_merge_is_sum_by_le() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.exponential(0.2, 500), rng.exponential(0.3, 700)
    ha, hb, hab = Histogram(), Histogram(), Histogram()
    ha.observe_many(a)
    hb.observe_many(b)
    hab.observe_many(np.concatenate([a, b]))
    m = ha.merge(hb)
    assert m.bucket_counts() == hab.bucket_counts() and m.count == 1200
    with pytest.raises(ValueError, match="identical"):
        ha.merge(Histogram([1, 2]))


def test_histogram_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        Histogram([1, 1, 2])
    with pytest.raises(ValueError, match="at least one finite"):
        Histogram([INF])
    with pytest.raises(ValueError, match="NaN"):
        Histogram([1]).observe(math.nan)
    with pytest.raises(ValueError, match="NaN"):
        Histogram([1]).observe_many([1.0, math.nan])
    with pytest.raises(ValueError, match="no observations"):
        Histogram([1]).quantile(0.5)


def test_bucket_helpers() -> None:
    assert linear_buckets(0.1, 0.1, 3) == pytest.approx([0.1, 0.2, 0.3])
    assert exponential_buckets(1, 2, 4) == [1, 2, 4, 8]
    assert metrics.DEFAULT_BUCKETS[0] == 0.005 and metrics.DEFAULT_BUCKETS[-1] == 10.0
    with pytest.raises(ValueError, match="factor"):
        exponential_buckets(1, 1, 3)
    with pytest.raises(ValueError, match="count"):
        linear_buckets(0, 1, 0)


def test_exact_quantile_is_the_ceil_nq_th_smallest() -> None:
    x = np.arange(1, 1001)[::-1].astype(float)  # 1000, 999, ..., 1
    assert exact_quantile(x, 0.99) == 990.0  # the 990th smallest (11th largest)
    assert exact_quantile(x, 0.0) == 1.0
    with pytest.raises(ValueError, match="at least one value"):
        exact_quantile([], 0.5)


# ------------------------------------------------------------------------------------------------
# Golden signals
# ------------------------------------------------------------------------------------------------


def test_golden_signals_of_simulated_mm1() -> None:
    from lecture_lib.queueing import mm1, simulate_mm1

    # rho = 0.5 keeps the run short-correlated: over 5 seeds p50 and p99 landed within 2 % of the formula
    lam, mu = 25.0, 50.0
    rng = np.random.default_rng(11)
    tr = simulate_mm1(lam, mu, 200_000, rng=rng)
    is_error = rng.random(tr.arrivals.size) < 0.02
    t_end = float(tr.arrivals[-1])
    g = golden_signals(tr.arrivals, tr.sojourn, is_error, tr.service, window=(0.1 * t_end, t_end),
                       bounds=exponential_buckets(0.001, 1.02, 500))
    f = mm1(lam, mu)
    # sojourn time in M/M/1 is exponential with rate mu - lambda: p50 = W ln 2, p99 = W ln 100
    assert g.latency_p50 == pytest.approx(math.log(2) * f.W, rel=0.04)
    assert g.latency_p99 == pytest.approx(math.log(100) * f.W, rel=0.04)
    assert g.traffic == pytest.approx(lam, rel=0.02)
    assert g.error_ratio == pytest.approx(0.02, abs=0.003)
    assert g.saturation == pytest.approx(f.rho, rel=0.02)
    # negative control: the mean-based "p99" of a normal model (W + 2.33 sd, sd = W) is far off
    assert abs((f.W + 2.326 * f.W) - g.latency_p99) > 0.2 * g.latency_p99


def test_golden_signals_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="same length"):
        golden_signals([0, 1], [0.1], [False, False], [0.1, 0.1], window=(0, 2))
    with pytest.raises(ValueError, match="window"):
        golden_signals([0, 1], [0.1, 0.1], [False, False], [0.1, 0.1], window=(2, 1))
    with pytest.raises(ValueError, match="no requests"):
        golden_signals([0, 1], [0.1, 0.1], [False, False], [0.1, 0.1], window=(5, 6))
