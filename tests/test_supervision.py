"""Tests for lecture_lib.supervision: which children each strategy restarts, the restart-intensity window against a
brute-force reference (hypothesis, with a mutant that the reference catches), and the invariants of the simulated
supervisor on the fake clock (restart counts per strategy, intensity never exceeded, give-up exactly when it is),
plus a statistical check of the crash count with a negative control."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib import supervision as su
from lecture_lib.resilience import FakeClock

FAST = settings(max_examples=int(os.environ.get("PARTD_EXAMPLES", 60)), deadline=None)


def test_restart_sets():
    assert su.restart_set("one_for_one", 4, 2) == (2,)
    assert su.restart_set("one_for_all", 4, 2) == (0, 1, 2, 3)
    assert su.restart_set("rest_for_one", 4, 2) == (2, 3)
    assert su.restart_set("rest_for_one", 4, 0) == (0, 1, 2, 3)
    with pytest.raises(ValueError, match="strategy must be one of"):
        su.restart_set("simple_one_for_one", 3, 0)
    with pytest.raises(ValueError, match="crashed must be a child index"):
        su.restart_set("one_for_one", 3, 3)


def _reference_allowed(times, max_restarts, max_seconds):
    """Brute force: restart k is allowed iff at most max_restarts of times[0..k] lie in [t_k - T, t_k]."""
    return [sum(1 for s in times[: k + 1] if s >= t - max_seconds) <= max_restarts for k, t in enumerate(times)]


gaps = st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 5.0, 7.5]) | st.floats(0, 10), min_size=1, max_size=30)


@FAST
@given(gaps=gaps, max_restarts=st.integers(0, 5), max_seconds=st.sampled_from([1.0, 5.0, 7.5]))
def test_intensity_matches_brute_force_window(gaps, max_restarts, max_seconds):
    times = list(np.cumsum(gaps))
    ri = su.RestartIntensity(max_restarts, max_seconds)
    assert [ri.allow(t) for t in times] == _reference_allowed(times, max_restarts, max_seconds)


class _StrictWindow(su.RestartIntensity):
    """A plausible mistake: the window excludes its left end (t - T, t]."""

    def allow(self, now):
        self._recent.append(float(now))
        while self._recent[0] <= now - self.max_seconds:
            self._recent.popleft()
        return len(self._recent) <= self.max_restarts


def test_reference_catches_an_open_window():
    times = [0.0, 5.0]  # exactly max_seconds apart: OTP counts both
    assert _reference_allowed(times, 1, 5.0) == [True, False]
    good, mutant = su.RestartIntensity(1, 5.0), _StrictWindow(1, 5.0)
    assert [good.allow(t) for t in times] == [True, False]
    assert [mutant.allow(t) for t in times] == [True, True]


def test_intensity_rejects_time_going_back_and_bad_limits():
    ri = su.RestartIntensity(2, 5.0)
    ri.allow(3.0)
    with pytest.raises(ValueError, match="back in time"):
        ri.allow(2.0)
    with pytest.raises(ValueError, match="max_restarts"):
        su.RestartIntensity(-1, 5.0)
    with pytest.raises(ValueError, match="max_seconds"):
        su.RestartIntensity(1, 0.0)


def _restarts_per_child(result, n):
    counts = [0] * n
    for _, kind, child in result.events:
        if kind == "restart":
            counts[child] += 1
    return counts


def _decisions_per_child(result, n):
    """Crashes that led to a restart decision, per crashed child."""
    counts = [0] * n
    restart_at = set(result.restart_times)
    for t, kind, child in result.events:
        if kind == "crash" and t in restart_at:
            counts[child] += 1
    return counts


sims = dict(
    strategy=st.sampled_from(su.STRATEGIES),
    rates=st.lists(st.sampled_from([0.0, 0.05, 0.2, 1.0]), min_size=1, max_size=5),
    max_restarts=st.integers(0, 6),
    max_seconds=st.sampled_from([1.0, 5.0, 20.0]),
    startup=st.sampled_from([0.0, 0.5, 3.0]),
    seed=st.integers(0, 2**16),
)


@FAST
@given(**sims)
def test_simulation_invariants(strategy, rates, max_restarts, max_seconds, startup, seed):
    n = len(rates)
    clock = FakeClock(100.0)
    r = su.simulate_supervisor(strategy, rates, horizon=60.0, max_restarts=max_restarts, max_seconds=max_seconds,
                               startup=startup, seed=seed, clock=clock)
    times = [e[0] for e in r.events]
    assert times == sorted(times) and all(100.0 <= t <= 160.0 for t in times)
    assert clock() == (r.gave_up_at if r.gave_up else 160.0)
    # the intensity is never exceeded by the restarts made ...
    for t in r.restart_times:
        assert sum(1 for s in r.restart_times if t - max_seconds <= s <= t) <= max_restarts
    # ... and the supervisor gives up exactly when one more would exceed it, and then does nothing more
    if r.gave_up:
        g = r.gave_up_at
        assert sum(1 for s in r.restart_times if g - max_seconds <= s <= g) == max_restarts
        assert r.events[-1] == (g, "give_up", -1)
    assert sum(r.crashes) == len(r.restart_times) + int(r.gave_up)
    restarts = _restarts_per_child(r, n)
    assert r.starts == [1 + k for k in restarts]
    decisions = _decisions_per_child(r, n)
    if strategy == "one_for_one":
        assert restarts == decisions
    elif strategy == "one_for_all":
        assert restarts == [len(r.restart_times)] * n
    else:  # rest_for_one: child j restarts whenever any child i <= j crashes
        assert restarts == list(np.cumsum(decisions))
    assert all(0.0 <= a <= 1.0 + 1e-12 for a in r.availability)


@FAST
@given(**sims)
def test_simulation_is_deterministic(strategy, rates, max_restarts, max_seconds, startup, seed):
    kw = dict(horizon=30.0, max_restarts=max_restarts, max_seconds=max_seconds, startup=startup, seed=seed)
    assert su.simulate_supervisor(strategy, rates, **kw).events == su.simulate_supervisor(strategy, rates, **kw).events


def test_startup_time_is_downtime():
    # one child, crashes never throttled: availability = uptime / horizon with each crash costing `startup`
    r = su.simulate_supervisor("one_for_one", [0.1], horizon=5000.0, max_restarts=10**6, startup=2.0, seed=1)
    assert r.availability[0] == pytest.approx(1.0 - 2.0 * len(r.restart_times) / 5000.0, abs=2.0 / 5000.0)
    assert 0.7 < r.availability[0] < 0.9  # 1 / (1 + 0.1 * 2) = 0.83 in the long run


def test_crash_count_is_poisson_with_negative_control():
    # one_for_one, instant restarts: crashes of n children form a Poisson process of rate sum(rates)
    rates, horizon = [0.02, 0.05], 2000.0
    counts = np.array([sum(su.simulate_supervisor("one_for_one", rates, horizon=horizon, max_restarts=10**6,
                                                  seed=s).crashes) for s in range(60)])
    expected = sum(rates) * horizon  # 140
    z = (counts.mean() - expected) / np.sqrt(expected / counts.size)
    assert abs(z) < 4
    z_wrong = (counts.mean() - 2 * expected) / np.sqrt(2 * expected / counts.size)
    assert abs(z_wrong) > 4


def test_bad_input():
    with pytest.raises(ValueError, match="strategy must be one of"):
        su.simulate_supervisor("one_for_none", [0.1], horizon=1.0)
    with pytest.raises(ValueError, match="crash_rates must list"):
        su.simulate_supervisor("one_for_one", [], horizon=1.0)
    with pytest.raises(ValueError, match=r"crash_rates\[1\]"):
        su.simulate_supervisor("one_for_one", [0.1, -1.0], horizon=1.0)
    with pytest.raises(ValueError, match="horizon"):
        su.simulate_supervisor("one_for_one", [0.1], horizon=0.0)
    with pytest.raises(TypeError, match="FakeClock"):
        su.simulate_supervisor("one_for_one", [0.1], horizon=1.0, clock=lambda: 0.0)
