"""Tests for lecture_lib.slo: budgets, burn rates, the Workbook's alert set and the simulated incident."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib.slo import (
    DAY,
    HOUR,
    MINUTE,
    MULTIWINDOW_ALERTS,
    SLO_PERIOD,
    BurnRateAlert,
    alert_episodes,
    alert_table,
    budget_consumed,
    burn_rate,
    detection_time,
    error_budget,
    error_budget_time,
    evaluate_alerts,
    reset_time,
    simulate_incident,
    threshold_for,
    time_to_exhaustion,
)

ALERTS = {a.name: a for a in MULTIWINDOW_ALERTS}


def test_error_budget_numbers_from_the_lecture() -> None:
    assert SLO_PERIOD == 2_592_000
    assert error_budget_time(0.99) == pytest.approx(25_920)  # 7.2 h
    assert error_budget_time(0.99) / HOUR == pytest.approx(7.2)
    assert error_budget_time(0.999) / MINUTE == pytest.approx(43.2)
    assert error_budget(0.999) == pytest.approx(0.001)


def test_burn_rate_and_budget_consumed() -> None:
    assert burn_rate(0.001, 0.999) == pytest.approx(1.0)  # exactly on budget
    assert burn_rate(0.0144, 0.999) == pytest.approx(14.4)
    # 14.4 for one hour spends 2 % of a 30-day budget (the lecture says 5 %)
    assert budget_consumed(14.4, HOUR) == pytest.approx(0.02)
    assert budget_consumed(6, 6 * HOUR) == pytest.approx(0.05)
    assert budget_consumed(36, HOUR) == pytest.approx(0.05)
    # burn rate 1 spends exactly the whole budget in the period
    assert budget_consumed(1.0, SLO_PERIOD) == pytest.approx(1.0)


def test_workbook_thresholds_and_windows() -> None:
    got = [(a.threshold, a.long_window, a.short_window, a.severity) for a in MULTIWINDOW_ALERTS]
    assert got == [
        (pytest.approx(14.4), 1 * HOUR, 5 * MINUTE, "page"),
        (pytest.approx(6.0), 6 * HOUR, 30 * MINUTE, "page"),
        (pytest.approx(1.0), 3 * DAY, 6 * HOUR, "ticket"),
    ]
    for a in MULTIWINDOW_ALERTS:
        assert a.short_window == pytest.approx(a.long_window / 12)
    assert threshold_for(0.02, HOUR) == pytest.approx(14.4)
    assert threshold_for(0.05, 6 * HOUR) == pytest.approx(6.0)
    assert threshold_for(0.10, 3 * DAY) == pytest.approx(1.0)


def test_time_to_exhaustion_includes_the_window() -> None:
    # at burn 1 the budget lasts exactly the period; at 14.4 it lasts 30 d / 14.4 = 50 h
    assert time_to_exhaustion(0.999, 0.001) == pytest.approx(SLO_PERIOD)
    assert time_to_exhaustion(0.999, 0.0144) / HOUR == pytest.approx(50.0)
    # errata form: ((1 - SLO) - c) * T / e with c = consumed * (1 - SLO)
    slo, e, consumed = 0.995, 0.02, 0.3
    c = consumed * (1 - slo)
    assert time_to_exhaustion(slo, e, consumed=consumed) == pytest.approx(((1 - slo) - c) * SLO_PERIOD / e)
    # the lecture's form without T is off by exactly the factor T (it is not even in seconds)
    lecture = ((1 - slo) - c) / e
    assert time_to_exhaustion(slo, e, consumed=consumed) / lecture == pytest.approx(SLO_PERIOD)
    assert time_to_exhaustion(0.999, 0.0) == math.inf
    assert time_to_exhaustion(0.999, 0.5, consumed=1.0) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    slo=st.floats(min_value=0.9, max_value=0.99999),
    e=st.floats(min_value=1e-6, max_value=1.0),
    consumed=st.floats(min_value=0.0, max_value=1.0),
)
def test_exhaustion_spends_exactly_the_remaining_budget(slo: float, e: float, consumed: float) -> None:
    t = time_to_exhaustion(slo, e, consumed=consumed)
    assert budget_consumed(burn_rate(e, slo), t) == pytest.approx(1 - consumed, rel=1e-9, abs=1e-12)


def test_alert_table_for_the_widget() -> None:
    rows = alert_table(0.999, 0.02)  # burn 20
    assert [r["fires"] for r in rows] == [True, True, True]
    fast = rows[0]
    assert fast["burn_rate"] == pytest.approx(20.0)
    assert fast["detection_s"] == pytest.approx(14.4 * HOUR / 20)
    # an alert fires exactly when its budget fraction has been spent
    for r, a in zip(rows, MULTIWINDOW_ALERTS):
        assert r["budget_spent_at_detection"] == pytest.approx(a.budget_fraction)
    rows = alert_table(0.999, 0.008)  # burn 8: only the 6x page and the ticket fire
    assert [r["fires"] for r in rows] == [False, True, True]
    assert rows[0]["detection_s"] == math.inf
    # exactly at a threshold counts as firing (0.0144 / 0.001 is 14.3999... in floating point)
    assert [r["fires"] for r in alert_table(0.999, 0.0144)] == [True, True, True]
    assert alert_table(0.999, 0.0144)[0]["detection_s"] == pytest.approx(HOUR)
    assert [r["fires"] for r in alert_table(0.99, 0.01)] == [False, False, True]
    assert [r["fires"] for r in alert_table(0.999, 0.0143)] == [False, True, True]
    rows = alert_table(0.999, 0.0005)  # burn 0.5: nothing fires
    assert [r["fires"] for r in rows] == [False, False, False]


def test_detection_and_reset_formulas_hand_values() -> None:
    a = ALERTS["fast burn"]
    # 100 % errors at 99.9 %: burn 1000, the 1 h window reaches 14.4 after 14.4 * 3600 / 1000 s = 51.8 s
    assert detection_time(0.999, 1.0, a) == pytest.approx(51.84)
    # after the end, the 5 min window drains below 14.4 at 300 * (1 - 0.0144) = 295.7 s
    assert reset_time(0.999, 1.0, a) == pytest.approx(300 * (1 - 0.0144))
    # the long window alone would keep paging for almost an hour: why the short window exists
    long_only = BurnRateAlert("1h only", "page", HOUR, HOUR, 0.02)
    assert reset_time(0.999, 1.0, long_only) == pytest.approx(3600 * (1 - 0.0144))
    assert detection_time(0.999, 0.01, a) == math.inf  # burn 10 never reaches 14.4


# ------------------------------------------------------------------------------------------------
# The simulated incident
# ------------------------------------------------------------------------------------------------

SLO = 0.999
BASE = 0.0002  # burn 0.2
INCIDENT = 0.02  # burn 20
START = 4 * DAY  # enough clean history for the 3-day window
DURATION = 3 * HOUR
STEP = MINUTE


@pytest.fixture(scope="module")
def incident_run() -> tuple[object, dict[str, np.ndarray]]:
    trace = simulate_incident(
        slo=SLO, base_error_rate=BASE, incident_error_rate=INCIDENT, incident_start=START,
        incident_duration=DURATION, total_duration=7 * DAY, request_rate=1000, step=STEP,
        rng=np.random.default_rng(0),
    )
    return trace, evaluate_alerts(trace, SLO)


def _within(measured: float, formula: float) -> bool:
    """Tolerance: the alert is evaluated at the end of each 1-minute step, so the measured time can be
    late by up to one step; Poisson noise (about 1 % of the window's errors at 1000 req/s) can move the
    threshold crossing by about 1 % of the formula value either way."""
    return -0.01 * formula - 1.0 <= measured - formula <= STEP + 0.01 * formula


@pytest.mark.parametrize("name", ["fast burn", "medium burn", "slow burn"])
def test_simulated_detection_and_reset_match_formulas(incident_run, name: str) -> None:
    trace, firing = incident_run
    ep = alert_episodes(trace, firing[name])
    a = ALERTS[name]
    d = detection_time(SLO, INCIDENT, a, base_error_rate=BASE)
    r = reset_time(SLO, INCIDENT, a, base_error_rate=BASE, incident_duration=DURATION)
    assert _within(ep["detection_s"], d), (ep, d)
    assert _within(ep["reset_s"], r), (ep, r)
    assert ep["false_alerts"] == 0
    assert len(ep["episodes"]) == 1
    # negative controls: the wrong window in either formula falls outside the tolerance
    wrong_d = a.threshold * error_budget(SLO) * a.short_window / INCIDENT
    assert not _within(ep["detection_s"], wrong_d)
    wrong_r = a.long_window * (INCIDENT - a.threshold * error_budget(SLO)) / (INCIDENT - BASE)
    assert not _within(ep["reset_s"], wrong_r)


def test_expected_detection_values(incident_run) -> None:
    # the formula values the notebook quotes (burn 20 over a base burn of 0.2)
    got = {n: detection_time(SLO, INCIDENT, a, base_error_rate=BASE) for n, a in ALERTS.items()}
    assert got["fast burn"] == pytest.approx(3600 * (0.0144 - BASE) / (INCIDENT - BASE))  # 43 min
    assert got["fast burn"] / MINUTE == pytest.approx(43.03, abs=0.01)
    assert got["medium burn"] / HOUR == pytest.approx(1.758, abs=0.001)
    assert got["slow burn"] / HOUR == pytest.approx(2.909, abs=0.001)


def test_multiwindow_suppresses_false_pages_of_a_short_window() -> None:
    """Low traffic (1 req/s) burning at 5x: a 5-minute-only alert at 14.4 pages again and again on noise;
    the 1 h AND 5 min pair at the same threshold never does."""
    trace = simulate_incident(
        slo=SLO, base_error_rate=0.005, incident_error_rate=0.005, incident_start=0, incident_duration=0,
        total_duration=7 * DAY, request_rate=1.0, rng=np.random.default_rng(1),
    )
    short_only = BurnRateAlert("5 min only", "page", 5 * MINUTE, 5 * MINUTE, 0.02 * 5 / 60)
    assert short_only.threshold == pytest.approx(14.4)
    firing = evaluate_alerts(trace, SLO, (short_only, ALERTS["fast burn"]))
    assert alert_episodes(trace, firing["5 min only"])["false_alerts"] > 10
    assert alert_episodes(trace, firing["fast burn"])["false_alerts"] == 0


def test_no_incident_no_page() -> None:
    trace = simulate_incident(
        slo=SLO, base_error_rate=BASE, incident_error_rate=BASE, incident_start=0, incident_duration=0,
        total_duration=4 * DAY, request_rate=100, rng=np.random.default_rng(2),
    )
    for name, f in evaluate_alerts(trace, SLO).items():
        assert not f.any(), name


def test_simulation_is_seeded() -> None:
    kw = dict(slo=SLO, base_error_rate=BASE, incident_error_rate=INCIDENT, incident_start=HOUR,
              incident_duration=HOUR, total_duration=4 * HOUR)
    a = simulate_incident(rng=np.random.default_rng(5), **kw)
    b = simulate_incident(rng=np.random.default_rng(5), **kw)
    assert np.array_equal(a.errors, b.errors) and np.array_equal(a.requests, b.requests)


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"slo must be a fraction in \(0, 1\)"):
        error_budget(99.9)
    with pytest.raises(ValueError, match="slo"):
        burn_rate(0.01, 1.0)
    with pytest.raises(ValueError, match="error_rate must be a fraction"):
        burn_rate(1.5, 0.99)
    with pytest.raises(TypeError, match="slo"):
        error_budget("0.99")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="consumed"):
        time_to_exhaustion(0.99, 0.01, consumed=1.5)
    with pytest.raises(ValueError, match="period"):
        error_budget_time(0.99, period=0)
    with pytest.raises(ValueError, match="budget_fraction"):
        threshold_for(0.0, HOUR)
    with pytest.raises(TypeError, match="rng"):
        simulate_incident(slo=0.99, base_error_rate=0, incident_error_rate=0.1, incident_start=0,
                          incident_duration=1, total_duration=60, rng=0)  # type: ignore[arg-type]
    trace = simulate_incident(slo=0.99, base_error_rate=0, incident_error_rate=0.1, incident_start=0,
                              incident_duration=60, total_duration=600, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="one entry per step"):
        alert_episodes(trace, np.zeros(3, dtype=bool))
