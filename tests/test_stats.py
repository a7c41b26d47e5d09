"""Tests for lecture_lib.stats: random-testing sample sizes, Mann-Whitney U, Cohen's d, bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lecture_lib.stats import (
    bootstrap_ci,
    cases_needed,
    cohens_d,
    compare_benchmarks,
    effect_size_label,
    expected_fuzz_time,
    mann_whitney_u,
    pooled_t,
    prob_find_bug,
    simulate_find_bug,
)

# ------------------------------------------------------------------------------------------------
# How many random cases?
# ------------------------------------------------------------------------------------------------


def test_cases_needed_lecture_example_is_299_not_298() -> None:
    assert cases_needed(0.01, 0.05) == 299
    assert math.log(0.05) / math.log(0.99) == pytest.approx(298.07, abs=0.01)
    assert prob_find_bug(0.01, 298) < 0.95 <= prob_find_bug(0.01, 299)
    assert prob_find_bug(0.01, 298) == pytest.approx(0.949963, abs=1e-6)


def test_prob_find_bug_lecture_numbers() -> None:
    assert prob_find_bug(0.01, 100) == pytest.approx(0.6340, abs=1e-4)  # hypothesis / quickcheck default
    assert prob_find_bug(0.01, 256) == pytest.approx(0.9237, abs=1e-4)  # proptest default
    assert prob_find_bug(0.01, 1000) == pytest.approx(0.9999568, abs=1e-7)
    assert prob_find_bug(0.01, 1000) < 0.99996  # "exceeds 99.996 %" is not true
    assert prob_find_bug(0.3, 0) == 0.0 and prob_find_bug(1.0, 1) == 1.0 and prob_find_bug(0.0, 10**6) == 0.0
    assert prob_find_bug(1e-12, 10**6) == pytest.approx(1e-6, rel=1e-5)  # no cancellation for tiny p


@settings(max_examples=200, deadline=None)
@given(p=st.floats(min_value=1e-6, max_value=1.0), delta=st.floats(min_value=1e-9, max_value=0.999))
def test_cases_needed_is_the_smallest_sufficient_n(p: float, delta: float) -> None:
    n = cases_needed(p, delta)
    assert n >= 1
    assert prob_find_bug(p, n) >= 1 - delta - 1e-12
    if n > 1:
        assert prob_find_bug(p, n - 1) < 1 - delta + 1e-12
    # the small-p approximation ln(1/delta)/p is an upper bound (log(1-p) < -p)
    assert n <= math.ceil(math.log(1 / delta) / p) + 1


@pytest.mark.parametrize(("p", "n"), [(0.01, 100), (0.01, 299), (0.05, 20)])
def test_simulated_detection_rate_matches_formula(p: float, n: int) -> None:
    runs = 20_000
    got = simulate_find_bug(p, n, runs, rng=np.random.default_rng(42))
    expected = prob_find_bug(p, n)
    se = math.sqrt(expected * (1 - expected) / runs)
    assert abs(got - expected) < 4 * se  # 4 standard errors
    # negative control: the lecture's rounding (298 cases "give 95 %") is indistinguishable here, but the
    # linear guess n * p (= 1.0 for n = 100) is rejected
    assert abs(got - min(1.0, n * p)) > 4 * se


def test_fuzz_time() -> None:
    assert expected_fuzz_time(1e-6, 1e4) == pytest.approx(100.0)
    # geometric number of tries: the mean of simulated waiting times matches 1/(p r)
    rng = np.random.default_rng(0)
    tries = rng.geometric(1e-3, size=200_000)
    assert (tries / 1e4).mean() == pytest.approx(expected_fuzz_time(1e-3, 1e4), rel=0.01)


# ------------------------------------------------------------------------------------------------
# Mann-Whitney U
# ------------------------------------------------------------------------------------------------

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
samples = st.lists(finite, min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(x=samples, y=samples)
def test_u_identity_and_symmetry(x: list[float], y: list[float]) -> None:
    r = mann_whitney_u(x, y, method="asymptotic")
    assert r.u1 + r.u2 == pytest.approx(len(x) * len(y))
    swapped = mann_whitney_u(y, x, method="asymptotic")
    assert swapped.u1 == pytest.approx(r.u2) and swapped.p_value == pytest.approx(r.p_value)
    # definition: pairs with x > y plus half the ties
    xa, ya = np.array(x)[:, None], np.array(y)[None, :]
    assert r.u1 == pytest.approx(float((xa > ya).sum() + 0.5 * (xa == ya).sum()))
    assert 0.0 <= r.p_value <= 1.0


@settings(max_examples=120, deadline=None)
@given(x=samples, y=samples)
def test_mann_whitney_against_scipy_asymptotic(x: list[float], y: list[float]) -> None:
    assume(len(set(x + y)) > 1)  # scipy's variance is 0 if every value is tied
    ours = mann_whitney_u(x, y, method="asymptotic")
    ref = ss.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    assert ours.u1 == pytest.approx(float(ref.statistic))
    assert ours.p_value == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    x=st.lists(finite, min_size=1, max_size=9, unique=True),
    y=st.lists(finite, min_size=1, max_size=9, unique=True),
)
def test_mann_whitney_against_scipy_exact(x: list[float], y: list[float]) -> None:
    assume(not set(x) & set(y))  # exact needs no ties
    ours = mann_whitney_u(x, y, method="exact")
    ref = ss.mannwhitneyu(x, y, alternative="two-sided", method="exact")
    assert ours.u1 == pytest.approx(float(ref.statistic))
    assert ours.p_value == pytest.approx(float(ref.pvalue), rel=1e-9)


def test_mann_whitney_lecture_moments() -> None:
    # under H0 the simulated U has mean n1 n2 / 2 and variance n1 n2 (n1 + n2 + 1) / 12
    rng = np.random.default_rng(0)
    n1, n2 = 12, 9
    u = np.array([mann_whitney_u(rng.normal(size=n1), rng.normal(size=n2), method="asymptotic").u1
                  for _ in range(4000)])
    assert u.mean() == pytest.approx(n1 * n2 / 2, rel=0.02)
    assert u.var() == pytest.approx(n1 * n2 * (n1 + n2 + 1) / 12, rel=0.08)


def test_mann_whitney_false_positive_rate_and_power() -> None:
    """Under H0 about 5 % of tests reject at 0.05; with a real shift almost all do. A 'test' that ignores
    the continuity/tie corrections would still pass this, so the scipy comparison above is the sharp one;
    this checks the calibration end to end."""
    rng = np.random.default_rng(1)
    reps = 2000
    null = np.array([mann_whitney_u(rng.exponential(size=20), rng.exponential(size=20)).p_value for _ in range(reps)])
    rate = (null < 0.05).mean()
    assert abs(rate - 0.05) < 4 * math.sqrt(0.05 * 0.95 / reps)
    shifted = np.array([mann_whitney_u(rng.exponential(size=20) + 1.0, rng.exponential(size=20)).p_value
                        for _ in range(200)])
    assert (shifted < 0.05).mean() > 0.9


# ------------------------------------------------------------------------------------------------
# Cohen's d
# ------------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # scipy, on near-constant data
@settings(max_examples=150, deadline=None)
@given(x=st.lists(finite, min_size=2, max_size=40), y=st.lists(finite, min_size=2, max_size=40))
def test_cohens_d_against_scipy_t(x: list[float], y: list[float]) -> None:
    """Oracle: scipy's pooled t statistic, t = d / sqrt(1/n1 + 1/n2)."""
    xa, ya = np.array(x), np.array(y)
    sp2 = ((len(x) - 1) * xa.var(ddof=1) + (len(y) - 1) * ya.var(ddof=1)) / (len(x) + len(y) - 2)
    assume(sp2 > 1e-6)
    t = float(ss.ttest_ind(x, y, equal_var=True).statistic)
    d = cohens_d(x, y)
    assert d == pytest.approx(t * math.sqrt(1 / len(x) + 1 / len(y)), rel=1e-7, abs=1e-9)
    assert pooled_t(x, y) == pytest.approx(t, rel=1e-7, abs=1e-9)
    assert cohens_d(y, x) == pytest.approx(-d, rel=1e-12, abs=1e-12)  # antisymmetric


@settings(max_examples=60, deadline=None)
@given(
    x=st.lists(finite, min_size=2, max_size=30), y=st.lists(finite, min_size=2, max_size=30),
    a=st.floats(min_value=0.01, max_value=100), b=finite,
)
def test_cohens_d_is_invariant_to_units(x: list[float], y: list[float], a: float, b: float) -> None:
    xa, ya = np.array(x), np.array(y)
    sp2 = ((len(x) - 1) * xa.var(ddof=1) + (len(y) - 1) * ya.var(ddof=1)) / (len(x) + len(y) - 2)
    assume(sp2 > 1e-3)
    assert cohens_d(a * xa + b, a * ya + b) == pytest.approx(cohens_d(xa, ya), rel=1e-6, abs=1e-9)


def test_cohens_d_known_value_and_labels() -> None:
    assert cohens_d([1, 2, 3, 4, 5], [3, 4, 5, 6, 7]) == pytest.approx(-2 / math.sqrt(2.5))
    assert [effect_size_label(d) for d in (0.1, -0.3, 0.5, 0.79, -0.8, 2.0)] == [
        "negligible", "small", "medium", "medium", "large", "large"]


# ------------------------------------------------------------------------------------------------
# Bootstrap
# ------------------------------------------------------------------------------------------------


def _coverage(ci_fn, reps: int = 300, n: int = 60) -> float:
    rng = np.random.default_rng(123)
    hits = 0
    for _ in range(reps):
        x = rng.lognormal(0.0, 0.5, n)
        _, lo, hi = ci_fn(x, rng)
        hits += lo <= math.exp(0.125) <= hi  # true mean of lognormal(0, 0.5)
    return hits / reps


def test_bootstrap_ci_covers_the_true_mean() -> None:
    """A 95 % percentile bootstrap CI covers the true mean ~95 % of the time (a little less for skewed data
    at n = 60). Tolerance: 300 replications give a binomial SE of 1.3 %, so 0.88..0.99 is ~5 SE wide."""
    cov = _coverage(lambda x, rng: bootstrap_ci((x,), np.mean, n_resamples=1000, rng=rng))
    assert 0.88 <= cov <= 0.99
    # negative control: a "bootstrap" that forgets to resample (interval of width 0 at the sample mean)
    # or asks for 50 % confidence is caught by the same check
    bad = _coverage(lambda x, rng: (x.mean(), x.mean(), x.mean()))
    assert not 0.88 <= bad <= 0.99
    narrow = _coverage(lambda x, rng: bootstrap_ci((x,), np.mean, confidence=0.5, n_resamples=1000, rng=rng))
    assert not 0.88 <= narrow <= 0.99


def test_bootstrap_close_to_scipy_percentile() -> None:
    rng = np.random.default_rng(5)
    x = rng.lognormal(0, 0.4, 80)
    _, lo, hi = bootstrap_ci((x,), np.mean, n_resamples=5000, rng=np.random.default_rng(1))
    ref = ss.bootstrap((x,), np.mean, method="percentile", n_resamples=5000, random_state=np.random.default_rng(2))
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert lo == pytest.approx(ref.confidence_interval.low, abs=0.05 * width)
    assert hi == pytest.approx(ref.confidence_interval.high, abs=0.05 * width)


def test_compare_benchmarks_detects_a_real_speedup_and_not_a_fake_one() -> None:
    rng = np.random.default_rng(9)
    base = rng.lognormal(np.log(1e-3), 0.05, 40)
    fast = rng.lognormal(np.log(0.9e-3), 0.05, 40)
    same = rng.lognormal(np.log(1e-3), 0.05, 40)
    r = compare_benchmarks(base, fast, rng=np.random.default_rng(0))
    assert r.ratio_low <= r.ratio <= r.ratio_high < 1.0
    assert r.ratio == pytest.approx(0.9, abs=0.03)
    assert r.p_value < 1e-6 and r.effect == "large" and r.prob_candidate_faster > 0.9
    n = compare_benchmarks(base, same, rng=np.random.default_rng(0))
    assert n.ratio_low <= 1.0 <= n.ratio_high
    assert n.p_value > 0.01


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"p must be a probability in \(0, 1\]"):
        cases_needed(0.0, 0.05)
    with pytest.raises(ValueError, match=r"delta must be a probability in \(0, 1\)"):
        cases_needed(0.01, 1.0)
    with pytest.raises(ValueError, match="n must be an integer >= 0"):
        prob_find_bug(0.1, -1)
    with pytest.raises(TypeError, match="p must be a probability"):
        prob_find_bug("0.1", 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        mann_whitney_u([1.0, math.nan], [2.0])
    with pytest.raises(ValueError, match="without ties"):
        mann_whitney_u([1, 2], [2, 3], method="exact")
    with pytest.raises(ValueError, match="method must be"):
        mann_whitney_u([1], [2], method="fast")
    with pytest.raises(ValueError, match="at least 2"):
        cohens_d([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="zero spread"):
        cohens_d([1.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(([1.0, 2.0],), np.mean, confidence=95, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        bootstrap_ci(([1.0, 2.0],), np.mean, rng=1)  # type: ignore[arg-type]
