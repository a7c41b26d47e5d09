"""Tests for lecture_lib.timeouts: the deadline on a fake clock, budgets per hop, the call-chain identity
(work without propagation = work with it + orphaned work; failures unchanged), timeouts from percentiles, and the
timeout/retry simulation checked against M/M/1 (statistical, with negative controls) and against its fixed-point
model."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib import timeouts as to
from lecture_lib.resilience import FakeClock

FAST = settings(max_examples=int(os.environ.get("PARTD_EXAMPLES", 40)), deadline=None)


def test_deadline_on_fake_clock():
    clock = FakeClock(10.0)
    d = to.Deadline.after(0.5, clock)
    assert d.expires_at == 10.5 and d.remaining() == 0.5 and not d.expired()
    child = d.child(reserve=0.1)
    clock.advance(0.3)
    assert d.remaining() == pytest.approx(0.2) and child.remaining() == pytest.approx(0.1)
    clock.advance(0.3)
    assert d.remaining() == 0.0 and d.expired()
    with pytest.raises(to.DeadlineExceeded, match="no time left"):
        d.check()
    assert isinstance(to.DeadlineExceeded("x"), TimeoutError)
    with pytest.raises(ValueError, match="budget"):
        to.Deadline.after(0.0, clock)
    with pytest.raises(ValueError, match="reserve"):
        d.child(-1.0)


@FAST
@given(budget=st.floats(0.01, 10), elapsed=st.lists(st.floats(0, 3), max_size=8))
def test_hop_budgets_spend_one_budget(budget, elapsed):
    b = to.hop_budgets(budget, elapsed)
    assert len(b) == len(elapsed) + 1 and b[0] == budget
    assert b[-1] == pytest.approx(budget - sum(elapsed))
    assert all(x >= y for x, y in zip(b, b[1:]))


@FAST
@given(medians=st.lists(st.floats(0.01, 0.5), min_size=1, max_size=5), budget=st.floats(0.05, 2.0),
       seed=st.integers(0, 1000))
def test_propagation_removes_exactly_the_orphaned_work(medians, budget, seed):
    kw = dict(budget=budget, n_requests=500, seed=seed)
    off = to.simulate_call_chain(medians, propagate=False, **kw)
    on = to.simulate_call_chain(medians, propagate=True, **kw)
    assert off.failed == on.failed  # the caller's outcome does not change
    assert on.orphaned == 0.0 and off.orphaned >= 0.0
    assert off.work == pytest.approx(on.work + off.orphaned, rel=1e-12)
    assert (off.orphaned > 0) == (off.failed > 0)


def test_chain_failure_rate_matches_a_single_lognormal_hop():
    # one hop: fails iff L > B, L lognormal(median m, sigma) -> P = 1 - Phi(ln(B/m) / sigma)
    from scipy.stats import norm

    r = to.simulate_call_chain([0.1], budget=0.2, propagate=True, sigma=0.8, n_requests=40_000, seed=3)
    p = 1 - norm.cdf(math.log(2.0) / 0.8)
    se = math.sqrt(p * (1 - p) / 40_000)
    assert abs(r.failed - p) < 4 * se
    assert abs(r.failed - (1 - norm.cdf(math.log(2.0) / 0.4))) > 4 * se  # negative control: a wrong sigma


def test_timeout_from_latencies():
    x = np.arange(1, 101, dtype=float)
    assert to.timeout_from_latencies(x, 50) == np.percentile(x, 50)
    assert to.timeout_from_latencies(x, 99, margin=0.1) == pytest.approx(1.1 * np.percentile(x, 99))
    for bad in (0, 100, 150, -1):
        with pytest.raises(ValueError, match="percentile"):
            to.timeout_from_latencies(x, bad)
    with pytest.raises(ValueError, match="latencies"):
        to.timeout_from_latencies([], 50)
    with pytest.raises(ValueError, match="latencies"):
        to.timeout_from_latencies([1.0, float("nan")], 50)


def test_no_retries_success_is_the_mm1_sojourn_cdf():
    # M/M/1 at rho: sojourn ~ Exp(mu (1 - rho)), so one attempt succeeds with 1 - exp(-(1 - rho) t)
    rho, t = 0.5, 2.0
    runs = [to.simulate_timeout_retries(load=rho, timeout=t, max_attempts=1, n_requests=20_000, seed=s) for s in range(6)]
    s = np.array([r.success for r in runs])
    expected = 1 - math.exp(-(1 - rho) * t)
    half = 4 * s.std(ddof=1) / math.sqrt(s.size) + 0.005
    assert abs(s.mean() - expected) < half
    assert abs(s.mean() - (1 - math.exp(-t))) > half  # negative control: the service-time CDF, not the sojourn's
    assert all(r.attempts_per_request == 1.0 for r in runs)


def test_no_timeout_is_plain_mm1():
    r = to.simulate_timeout_retries(load=0.5, timeout=1e12, max_attempts=3, n_requests=50_000, seed=1)
    assert r.attempts_per_request == 1.0 and r.success == 1.0 and r.wasted_work == 0.0
    assert r.p99_latency == pytest.approx(-math.log(0.01) / 0.5, rel=0.1)  # Exp(mu - lambda) p99 = 9.2


def test_retries_amplify_and_deadlines_contain_them():
    kw = dict(load=0.7, timeout=2.3, max_attempts=3, n_requests=10_000, seed=2)
    plain = to.simulate_timeout_retries(**kw)
    cancel = to.simulate_timeout_retries(cancel=True, **kw)
    assert plain.attempts_per_request > 2.5 and plain.goodput < 0.1 and plain.wasted_work > 0.9
    assert cancel.goodput > 0.85 and cancel.wasted_work < plain.wasted_work
    assert 1.0 < cancel.attempts_per_request < plain.attempts_per_request <= 3.0


def test_fixed_point_model():
    assert to.retry_amplification_fixed_point(0.5, 1e6, 3) == pytest.approx(0.5)
    assert to.retry_amplification_fixed_point(0.7, 0.5, 3) == math.inf
    assert to.retry_amplification_fixed_point(0.5, 0.01, 1) == pytest.approx(0.5)  # no retries, no amplification
    # at low load the model and the simulation agree on the amplification; at higher load the model is low
    # (a retry arrives while the queue that delayed it is still long: attempts are not independent)
    def sim(rho0, t):
        return np.mean([to.simulate_timeout_retries(load=rho0, timeout=t, max_attempts=3, seed=s).attempts_per_request
                        for s in range(4)])

    low = sim(0.1, 3.0)
    assert low == pytest.approx(to.retry_amplification_fixed_point(0.1, 3.0, 3) / 0.1, rel=0.04)
    assert low > 1.05  # not trivially 1
    assert sim(0.3, 3.0) > 1.3 * to.retry_amplification_fixed_point(0.3, 3.0, 3) / 0.3


def test_bad_input():
    with pytest.raises(ValueError, match="load"):
        to.simulate_timeout_retries(load=0.0, timeout=1.0)
    with pytest.raises(ValueError, match="timeout"):
        to.simulate_timeout_retries(load=0.5, timeout=-1.0)
    with pytest.raises(TypeError, match="max_attempts"):
        to.simulate_timeout_retries(load=0.5, timeout=1.0, max_attempts=2.5)
    with pytest.raises(ValueError, match="hop_medians"):
        to.simulate_call_chain([], budget=1.0, propagate=True)
    with pytest.raises(ValueError, match=r"hop_medians\[0\]"):
        to.simulate_call_chain([0.0], budget=1.0, propagate=True)
    with pytest.raises(ValueError, match="load"):
        to.retry_amplification_fixed_point(1.0, 1.0, 3)
