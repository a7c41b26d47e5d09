"""Tests for lecture_lib.resilience: backoff and jitter (ranges and means, with negative controls), the circuit
breaker on a mock clock, the bulkhead under concurrent asyncio load, timeouts and retries against a flaky
backend, the retry-storm simulation, and input validation."""

from __future__ import annotations

import asyncio
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib import resilience as rs

FAST = settings(max_examples=int(os.environ.get("PARTD_EXAMPLES", 40)), deadline=None)


def run(coro):
    return asyncio.run(coro)


# ---------------------------------------------------------------------------------------------------------
# backoff and jitter
# ---------------------------------------------------------------------------------------------------------


def test_no_jitter_is_capped_exponential():
    assert rs.backoff_delays(6, base=0.2, cap=5.0, jitter="none") == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0]
    big = rs.backoff_delays(3000, base=1.0, cap=60.0, jitter="none")  # 2**3000 must not overflow
    assert big[-1] == 60.0 and len(big) == 3000
    assert rs.backoff_delays(0, base=1.0, cap=2.0) == []


def test_lecture_additive_scheme_ranges():
    # errata row 111: base 200 ms * 2**n + U[0, 100] gives 200-300, 400-500, 800-900 ms
    draws = np.array([rs.additive_jitter_delays(3, base=200, cap=1e6, spread=100, rng=s) for s in range(300)])
    for n, lo in enumerate((200, 400, 800)):
        assert lo <= draws[:, n].min() and draws[:, n].max() <= lo + 100


REPS = 4000


def _draws(jitter: str, fn=rs.backoff_delays, base=0.1, cap=100.0, attempts=6) -> np.ndarray:
    rng = np.random.default_rng(11)
    return np.array([fn(attempts, base=base, cap=cap, jitter=jitter, rng=rng) for _ in range(REPS)])


def _expected_means(jitter: str, base=0.1, cap=100.0, attempts=6) -> list[float]:
    t = [min(cap, base * 2**n) for n in range(attempts)]
    if jitter == "none":
        return t
    if jitter == "full":
        return [x / 2 for x in t]
    if jitter == "equal":
        return [0.75 * x for x in t]
    means, prev = [], base  # decorrelated, cap out of reach: E d_n = (base + 3 E d_{n-1}) / 2
    for _ in range(attempts):
        prev = (base + 3 * prev) / 2
        means.append(prev)
    return means


def _means_match(draws: np.ndarray, expected) -> bool:
    se = draws.std(axis=0, ddof=1) / math.sqrt(draws.shape[0])
    return bool(np.all(np.abs(draws.mean(axis=0) - expected) <= 4.5 * se + 1e-12))


@pytest.mark.parametrize("jitter", ["full", "equal", "decorrelated"])
def test_jitter_means(jitter):
    assert _means_match(_draws(jitter), _expected_means(jitter))


@pytest.mark.parametrize("jitter", ["full", "equal", "decorrelated"])
def test_jitter_means_negative_controls(jitter):
    # the mean check tells the strategies apart: each fails against another strategy's expected means
    other = {"full": "equal", "equal": "full", "decorrelated": "equal"}[jitter]
    assert not _means_match(_draws(jitter), _expected_means(other))

    # and a plausible bug, "equal" written as t/2 + U(0, t), fails the "equal" check
    def wrong_equal(attempts, *, base, cap, jitter, rng):
        return [min(cap, base * 2**n) / 2 + rng.uniform(0, min(cap, base * 2**n)) for n in range(attempts)]

    assert not _means_match(_draws("equal", fn=wrong_equal), _expected_means("equal"))


@FAST
@given(
    st.integers(0, 40),
    st.floats(1e-3, 10.0),
    st.floats(1.0, 1000.0),
    st.sampled_from(rs.JITTERS),
    st.integers(0, 2**32 - 1),
)
def test_jitter_ranges(attempts, base, cap_factor, jitter, seed):
    cap = base * cap_factor
    d = rs.backoff_delays(attempts, base=base, cap=cap, jitter=jitter, rng=seed)
    assert len(d) == attempts
    assert d == rs.backoff_delays(attempts, base=base, cap=cap, jitter=jitter, rng=seed)  # reproducible
    prev = base
    for n, x in enumerate(d):
        t = min(cap, base * 2.0 ** min(n, 1100))
        assert math.isfinite(x)
        if jitter == "none":
            assert x == t
        elif jitter == "full":
            assert 0 <= x <= t
        elif jitter == "equal":
            assert t / 2 <= x <= t
        else:
            assert base <= x <= min(cap, 3 * prev) * (1 + 1e-12)
            prev = x


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(attempts=-1), ValueError, "attempts"),
        (dict(attempts=2.0), TypeError, "attempts"),
        (dict(base=0.0), ValueError, "base"),
        (dict(base=float("inf")), ValueError, "base"),
        (dict(cap=0.05), ValueError, "cap must be >= base"),
        (dict(jitter="random"), ValueError, "jitter must be one of"),
        (dict(rng="seed"), TypeError, "rng"),
    ],
)
def test_backoff_bad_inputs(kwargs, exc, words):
    args = dict(attempts=3, base=0.1, cap=1.0, jitter="full", rng=0) | kwargs
    with pytest.raises(exc, match=words):
        rs.backoff_delays(args.pop("attempts"), **args)


# ---------------------------------------------------------------------------------------------------------
# circuit breaker
# ---------------------------------------------------------------------------------------------------------

CFG = rs.BreakerConfig(window_size=10, failure_rate_threshold=0.5, minimum_calls=10, wait_in_open=30.0,
                       permitted_calls_in_half_open=3)


def breaker_scenario(allow, record) -> list[str]:
    """Drive a breaker through an outage on a mock clock; return the problems found (empty = correct)."""
    problems = []
    state = rs.BreakerState()
    t = 0.0

    def call(failed: bool):
        nonlocal state, t
        t += 1.0
        ok, state = allow(state, t, CFG)
        if ok:
            state = record(state, failed, t, CFG)
        return ok

    # minimum_calls: nine failures in a row are not yet a verdict; the tenth call is
    for _ in range(9):
        call(True)
    if state.state != "closed":
        problems.append("opened before minimum_calls")
    call(True)
    if state.state != "open":
        problems.append("did not open at minimum_calls with a 100 % failure rate")
    # sliding window, on a fresh breaker: S S S S S S F F F F is 4/10, still closed ...
    state = rs.BreakerState(since=t)
    for failed in [False] * 6 + [True] * 4:
        call(failed)
    if state.state != "closed" or abs(state.failure_rate - 0.4) > 1e-12:
        problems.append(f"opened below the threshold or window wrong: {state}")
    # ... one more failure pushes the oldest success out: 5/10 = threshold, open exactly now
    call(True)
    if state.state != "open":
        problems.append(f"did not open when the window reached the threshold: {state}")
    opened = t
    # open: every call rejected until exactly opened + wait
    t = opened + CFG.wait_in_open - 1e-6
    ok, state = allow(state, t, CFG)
    if ok:
        problems.append("let a call through while open")
    t = opened + CFG.wait_in_open
    oks = []
    for _ in range(4):
        ok, state = allow(state, t, CFG)
        oks.append(ok)
    if state.state != "half_open" or state.since != opened + CFG.wait_in_open or oks != [True, True, True, False]:
        problems.append(f"half-open admission wrong: {oks}, {state}")
    # 2 of 3 trial calls fail: reopen
    for failed in (True, False, True):
        state = record(state, failed, t, CFG)
    if state.state != "open":
        problems.append("half-open did not reopen on failing trials")
    # next half-open: trials succeed -> closed with an empty window
    t += CFG.wait_in_open
    for _ in range(3):
        ok, state = allow(state, t, CFG)
        state = record(state, False, t, CFG)
    if state.state != "closed" or state.outcomes != ():
        problems.append(f"half-open did not close on good trials: {state}")
    return problems


def test_breaker_scenario_on_mock_clock():
    assert breaker_scenario(rs.breaker_allow, rs.breaker_record) == []


def test_breaker_scenario_negative_control():
    """A breaker that counts failures since it last closed (no sliding window) fails the same scenario."""

    def cumulative_record(state, failed, now, config):
        if state.state != "closed":
            return rs.breaker_record(state, failed, now, config)
        outcomes = state.outcomes + (bool(failed),)  # never drops old outcomes
        if len(outcomes) >= config.minimum_calls and sum(outcomes) / len(outcomes) >= config.failure_rate_threshold:
            return rs.BreakerState("open", (), now, 0)
        return rs.BreakerState("closed", outcomes, state.since, 0)

    assert breaker_scenario(rs.breaker_allow, cumulative_record) != []

    def strict_greater(state, failed, now, config):  # opens only above the threshold
        bumped = rs.BreakerConfig(config.window_size, config.failure_rate_threshold + 1e-9, config.minimum_calls,
                                  config.wait_in_open, config.permitted_calls_in_half_open)
        return rs.breaker_record(state, failed, now, bumped)

    assert breaker_scenario(rs.breaker_allow, strict_greater) != []


@FAST
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.integers(1, 12), st.integers(1, 12),
       st.sampled_from([0.2, 0.5, 0.75, 1.0]))
def test_breaker_opens_exactly_at_first_crossing(outcomes, window, minimum, threshold):
    minimum = min(minimum, window)
    cfg = rs.BreakerConfig(window, threshold, minimum, 5.0, 2)
    x = np.array(outcomes, dtype=float)
    expected = None  # oracle: first k whose last-`window` outcomes have >= minimum calls and rate >= threshold
    for k in range(len(x)):
        w = x[max(0, k + 1 - window): k + 1]
        if w.size >= minimum and w.mean() >= threshold:
            expected = k
            break
    state, opened_at = rs.BreakerState(), None
    for k, failed in enumerate(outcomes):
        state = rs.breaker_record(state, failed, float(k), cfg)
        if state.state == "open":
            opened_at = k
            break
    assert opened_at == expected


def test_circuit_breaker_class_with_flaky_backend():
    clock = rs.FakeClock()
    backend = rs.FlakyBackend(outages=[(10.0, 50.0)], clock=clock, sleep=clock.sleep, latency=0.1)
    breaker = rs.CircuitBreaker(rs.BreakerConfig(window_size=5, minimum_calls=5, wait_in_open=15.0,
                                                 permitted_calls_in_half_open=2), clock=clock)

    async def drive():
        outcomes = []
        while clock() < 100:
            try:
                await breaker.call(backend.call, "x")
                outcomes.append((clock(), "ok"))
            except rs.CircuitOpenError:
                outcomes.append((clock(), "rejected"))
            except rs.BackendError:
                outcomes.append((clock(), "failed"))
            await clock.sleep(0.9)
        return outcomes

    outcomes = run(drive())
    states = [(round(t, 3), a, b) for t, a, b in breaker.history]
    assert [s[1:] for s in states][:2] == [("closed", "open"), ("open", "half_open")]
    assert breaker.state == "closed"
    assert breaker.history[-1][2] == "closed" and breaker.history[-1][0] >= 50.0
    failed = [t for t, o in outcomes if o == "failed"]
    assert len(failed) < 20  # the breaker spared the backend most calls during the 40 s outage
    assert breaker.rejected > 20
    assert backend.calls == sum(o != "rejected" for _, o in outcomes)


def test_breaker_config_rejects_bad_values():
    with pytest.raises(ValueError, match="minimum_calls must be <= window_size"):
        rs.BreakerConfig(window_size=5, minimum_calls=6)
    with pytest.raises(ValueError, match="failure_rate_threshold"):
        rs.BreakerConfig(failure_rate_threshold=0.0)
    with pytest.raises(ValueError, match="wait_in_open"):
        rs.BreakerConfig(wait_in_open=-1.0)
    with pytest.raises(TypeError, match="window_size"):
        rs.BreakerConfig(window_size=2.5)
    with pytest.raises(ValueError, match="state.state"):
        rs.breaker_allow(rs.BreakerState("ajar"), 0.0, CFG)


# ---------------------------------------------------------------------------------------------------------
# bulkhead, timeouts, retries
# ---------------------------------------------------------------------------------------------------------


async def _hammer(bulkhead_factory, n_tasks=200, limit=5, max_wait=5.0):
    backend = rs.FlakyBackend(latency=0.002, seed=1)
    bulkhead = bulkhead_factory(limit, max_wait)
    results = {"ok": 0, "rejected": 0}

    async def one(i):
        try:
            async with bulkhead:
                await backend.call(i)
                results["ok"] += 1
        except rs.BulkheadFullError:
            results["rejected"] += 1

    await asyncio.gather(*(one(i) for i in range(n_tasks)))
    return backend, bulkhead, results


def test_bulkhead_never_exceeds_limit():
    backend, bh, res = run(_hammer(rs.Bulkhead))
    assert backend.peak_in_flight == bh.peak == 5
    assert res == {"ok": 200, "rejected": 0} and bh.admitted == 200 and bh.in_flight == 0


def test_bulkhead_rejects_when_full_without_waiting():
    backend, bh, res = run(_hammer(rs.Bulkhead, max_wait=0.0))
    assert backend.peak_in_flight <= 5
    assert res["rejected"] == bh.rejected > 0 and res["ok"] + res["rejected"] == 200


def test_bulkhead_negative_control():
    class NoLimit:  # a "bulkhead" that forgets to limit anything
        def __init__(self, limit, max_wait):
            pass

        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc):
            return None

    backend, _, _ = run(_hammer(NoLimit))
    assert backend.peak_in_flight > 5


def test_timeout_cancels_a_hung_call():
    backend = rs.FlakyBackend(hang_rate=1.0, hang=30.0)

    async def go():
        with pytest.raises(asyncio.TimeoutError):
            await rs.call_with_timeout(backend.call, 0.01, "x")

    run(go())
    assert backend.in_flight == 0  # cancelled, not left running
    with pytest.raises(ValueError, match="timeout"):
        run(rs.call_with_timeout(backend.call, 0.0))


def test_retry_succeeds_after_outage_with_expected_sleeps():
    clock = rs.FakeClock()
    backend = rs.FlakyBackend(outages=[(0.0, 2.0)], clock=clock, sleep=clock.sleep)
    out = run(rs.retry_async(backend.call, "hi", attempts=10, base=0.1, cap=5.0, jitter="full", rng=3,
                             sleep=clock.sleep, clock=clock))
    assert out == "hi" and clock() >= 2.0
    planned = rs.backoff_delays(9, base=0.1, cap=5.0, jitter="full", rng=3)
    assert clock.sleeps == planned[: len(clock.sleeps)]  # the sleeps are exactly the planned backoff
    assert backend.calls == len(clock.sleeps) + 1


def test_retry_gives_up_and_respects_deadline_and_budget():
    clock = rs.FakeClock()
    backend = rs.FlakyBackend(failure_rate=1.0, clock=clock, sleep=clock.sleep)
    with pytest.raises(rs.RetryError, match="all 4 attempts failed") as info:
        run(rs.retry_async(backend.call, attempts=4, base=0.1, cap=1.0, jitter="none", sleep=clock.sleep, clock=clock))
    assert len(info.value.errors) == 4 and clock() == pytest.approx(0.1 + 0.2 + 0.4)

    clock2 = rs.FakeClock()
    backend2 = rs.FlakyBackend(failure_rate=1.0, clock=clock2, sleep=clock2.sleep)
    with pytest.raises(rs.RetryError, match="deadline"):
        run(rs.retry_async(backend2.call, attempts=20, base=1.0, cap=100.0, jitter="none", deadline=10.0,
                           sleep=clock2.sleep, clock=clock2))
    assert clock2() <= 10.0

    budget = rs.RetryBudget(ratio=0.5, min_retries=2)
    clock3 = rs.FakeClock()
    backend3 = rs.FlakyBackend(failure_rate=1.0, clock=clock3, sleep=clock3.sleep)
    refused = 0
    for _ in range(10):
        try:
            run(rs.retry_async(backend3.call, attempts=3, base=0.1, cap=1.0, budget=budget, rng=0,
                               sleep=clock3.sleep, clock=clock3))
        except rs.RetryError as e:
            refused += "budget" in str(e)
    # 10 requests x 0.5 tokens + 2 reserve = 7 retries at most (not 10 x 2 = 20)
    assert budget.withdrawn <= 7 and backend3.calls <= 10 + 7 and refused > 0


def test_retry_with_timeout_and_flaky_backend_real_time():
    backend = rs.FlakyBackend(failure_rate=0.5, hang_rate=0.1, hang=5.0, latency=0.001, seed=4)

    async def many():
        ok = 0
        for _ in range(20):
            try:
                await rs.retry_async(backend.call, attempts=8, base=0.001, cap=0.004, timeout=0.1, rng=1)
                ok += 1
            except rs.RetryError:
                pass
        return ok

    assert run(many()) >= 19
    assert backend.calls > 20  # failures and hangs were retried


# ---------------------------------------------------------------------------------------------------------
# retry storm
# ---------------------------------------------------------------------------------------------------------


def test_retry_storm_without_jitter_matches_wave_arithmetic():
    """No jitter: clients move in lock-step waves; each wave after recovery lets exactly `capacity` through."""
    n, cap_ = 200, 10
    res = rs.simulate_retry_storm(n, jitter="none", base=0.1, cap=10.0, capacity=cap_, service_time=0.05, outage=1.0)
    waves_in_outage = 4  # calls at t = 0, 0.1, 0.3, 0.7 all fail; the next wave is at t = 1.5
    k = n // cap_
    assert res.total_calls == waves_in_outage * n + cap_ * k * (k + 1) // 2
    assert res.succeeded == n and res.gave_up == 0


def test_jitter_tames_the_retry_storm():
    res = {j: [rs.simulate_retry_storm(200, jitter=j, seed=s) for s in range(3)] for j in rs.JITTERS + ("additive",)}
    work = {j: np.mean([r.total_calls for r in rs_]) for j, rs_ in res.items()}
    finish = {j: np.mean([r.completion_time for r in rs_]) for j, rs_ in res.items()}
    for j in ("full", "equal", "decorrelated"):
        assert work[j] < 0.6 * work["none"] and finish[j] < 0.2 * finish["none"]
        assert work[j] < work["additive"]  # a fixed additive jitter decorrelates little (errata row 111)
    assert all(r.succeeded == 200 for rs_ in res.values() for r in rs_)
    a, b = rs.simulate_retry_storm(50, seed=9), rs.simulate_retry_storm(50, seed=9)
    np.testing.assert_array_equal(a.call_times, b.call_times)


def test_retry_storm_bad_inputs():
    with pytest.raises(ValueError, match="jitter"):
        rs.simulate_retry_storm(10, jitter="chaos")
    with pytest.raises(ValueError, match="capacity"):
        rs.simulate_retry_storm(10, capacity=0)
    with pytest.raises(ValueError, match="outage"):
        rs.simulate_retry_storm(10, outage=-1.0)
    with pytest.raises(ValueError, match="failure_rate"):
        rs.FlakyBackend(failure_rate=1.5)
    with pytest.raises(ValueError, match="max_concurrent"):
        rs.Bulkhead(0)
    with pytest.raises(ValueError, match="ratio"):
        rs.RetryBudget(ratio=2.0)
