"""The course's hand-built mechanisms agree with the production libraries where they overlap.

prometheus_client (histogram exposition -> our histogram_quantile), OpenTelemetry (W3C traceparent, both ways),
tenacity (backoff waits: the same distribution by a two-sample Kolmogorov-Smirnov test) and pybreaker (the same
event trace gives the same state sequence). Each comparison has a negative control that must be told apart.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from lecture_lib import metrics, observability, resilience
from lecture_lib.experiments import libraries as libs
from lecture_lib.experiments.partC import latency_samples

PROM_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]


# ------------------------------------------------------------------------------------------- prometheus_client
def test_prometheus_client_exposition_gives_our_quantiles() -> None:
    lat = latency_samples(20000, seed=0)
    bounds, cum = libs.parse_prometheus_histogram(libs.prometheus_exposition(lat, PROM_BOUNDS))
    ours = metrics.Histogram(PROM_BOUNDS)
    ours.observe_many(lat)
    assert bounds == PROM_BOUNDS + [math.inf]
    assert cum == [float(c) for c in ours.cumulative_counts()]
    for q in (0.5, 0.9, 0.99, 0.999):
        assert metrics.histogram_quantile(q, bounds, cum) == ours.quantile(q)


def test_prometheus_le_is_inclusive_and_an_exclusive_histogram_is_caught() -> None:
    # negative control: values exactly on the bounds; a histogram that counts v < le (not v <= le) disagrees
    on_bounds = np.repeat([0.05, 0.1, 0.25], [50, 30, 20])
    bounds, cum = libs.parse_prometheus_histogram(libs.prometheus_exposition(on_bounds, PROM_BOUNDS))
    exclusive = [float((on_bounds < b).sum()) for b in bounds]
    assert cum != exclusive
    assert metrics.histogram_quantile(0.5, bounds, cum) != metrics.histogram_quantile(0.5, bounds, exclusive)
    ours = metrics.Histogram(PROM_BOUNDS)
    ours.observe_many(on_bounds)
    assert cum == [float(c) for c in ours.cumulative_counts()]


def test_parse_prometheus_histogram_names_a_missing_metric() -> None:
    with pytest.raises(ValueError, match="name"):
        libs.parse_prometheus_histogram(libs.prometheus_exposition([0.1], PROM_BOUNDS), "other_seconds")


# --------------------------------------------------------------------------------------------- OpenTelemetry
def ours_or_none(header: str) -> tuple[int, int, bool] | None:
    try:
        return observability.parse_traceparent(header)
    except ValueError:
        return None


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.integers(1, 2**128 - 1), st.integers(1, 2**64 - 1), st.booleans())
def test_otel_parses_ours_and_we_parse_otels(trace_id: int, span_id: int, sampled: bool) -> None:
    header = observability.format_traceparent(trace_id, span_id, sampled=sampled)
    assert libs.otel_extract(header) == (trace_id, span_id, sampled)
    theirs = libs.otel_inject(trace_id, span_id, sampled=sampled)
    assert theirs == header
    assert observability.parse_traceparent(theirs) == (trace_id, span_id, sampled)


def test_otel_sdk_span_is_continued_by_our_tracer() -> None:
    header, trace_id, span_id = libs.otel_sdk_span_traceparent(seed=3)
    tracer = observability.Tracer(rng=np.random.default_rng(0), clock=observability.ManualClock())
    with tracer.span("server", traceparent=header) as s:
        pass
    assert (s.trace_id, s.parent_id) == (trace_id, span_id)


HEX = "0123456789abcdef"
headers = st.builds(
    lambda lead, v, t, s, f, rest, trail: f"{lead}{v}-{t}-{s}-{f}{rest}{trail}",
    st.sampled_from(["", " ", "\t"]),
    st.sampled_from(["00", "01", "cc", "fe", "ff", "0g", "A0"]),
    st.one_of(st.text(HEX, min_size=32, max_size=32), st.just("0" * 32), st.text(HEX + "ABC", min_size=31, max_size=33)),
    st.one_of(st.text(HEX, min_size=16, max_size=16), st.just("0" * 16), st.text(HEX + "X", min_size=16, max_size=16)),
    st.sampled_from(["00", "01", "02", "03", "ff", "1", "zz"]),
    st.sampled_from(["", "-", "-what-the-future-holds", "extra"]),
    st.sampled_from(["", " ", "\t "]),
)


@settings(max_examples=600, deadline=None, derandomize=True, database=None)
@given(headers)
def test_otel_and_ours_accept_and_reject_the_same_headers(header: str) -> None:
    assert ours_or_none(header) == libs.otel_extract(header)


def test_a_parser_without_future_versions_is_caught() -> None:
    # negative control: W3C lets a future version carry more fields; a strict four-field parser (what
    # parse_traceparent used to be) rejects them, and the agreement check with OpenTelemetry tells
    import re

    def four_fields_only(h: str) -> tuple[int, int, bool] | None:
        m = re.fullmatch(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})", h.strip(" \t"))
        return None if m is None or m[1] == "ff" else (int(m[2], 16), int(m[3], 16), bool(int(m[4], 16) & 1))

    future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"
    assert libs.otel_extract(future) == ours_or_none(future) == (0x4BF92F3577B34DA6A3CE929D0E0E4736,
                                                                 0x00F067AA0BA902B7, True)
    assert four_fields_only(future) is None != libs.otel_extract(future)
    version_00 = "00" + future[2:]  # version 00 must have exactly four fields: all three reject it
    assert ours_or_none(version_00) is None and libs.otel_extract(version_00) is None


# --------------------------------------------------------------------------------------------------- tenacity
BASE, CAP, RUNS, ATTEMPTS = 0.1, 2.0, 3000, 6


def ours(jitter: str, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([resilience.backoff_delays(ATTEMPTS, base=BASE, cap=CAP, jitter=jitter, rng=rng)
                     for _ in range(RUNS)])


def test_tenacity_random_exponential_is_our_full_jitter() -> None:
    theirs = libs.tenacity_waits("random_exponential", ATTEMPTS, RUNS, base=BASE, cap=CAP, seed=0)
    mine, equal = ours("full"), ours("equal")
    for n in range(ATTEMPTS):
        t_n = min(CAP, BASE * 2**n)
        assert 0 <= theirs[:, n].min() and theirs[:, n].max() <= t_n
        same = sps.ks_2samp(theirs[:, n], mine[:, n])
        assert same.pvalue > 0.01, (n, same)
        # negative control: equal jitter t/2 + U(0, t/2) is a different distribution, and KS must say so
        assert sps.ks_2samp(theirs[:, n], equal[:, n]).pvalue < 1e-6


def test_tenacity_exponential_jitter_is_the_lectures_additive_jitter() -> None:
    cap = 100.0  # below the cap: min(cap, base 2^n + U(0, spread)) = base 2^n + U(0, spread)
    theirs = libs.tenacity_waits("exponential_jitter", ATTEMPTS, RUNS, base=BASE, cap=cap, spread=0.1, seed=0)
    rng = np.random.default_rng(1)
    mine = np.array([resilience.additive_jitter_delays(ATTEMPTS, base=BASE, cap=cap, spread=0.1, rng=rng)
                     for _ in range(RUNS)])
    full = np.array([resilience.backoff_delays(ATTEMPTS, base=BASE, cap=cap, jitter="full", rng=rng)
                     for _ in range(RUNS)])
    for n in range(ATTEMPTS):
        assert sps.ks_2samp(theirs[:, n], mine[:, n]).pvalue > 0.01
        # negative control: despite its name, tenacity's exponential_jitter is not full jitter
        assert sps.ks_2samp(theirs[:, n], full[:, n]).pvalue < 1e-6


def test_tenacity_waits_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="kind"):
        libs.tenacity_waits("full", 3, 3, base=0.1, cap=1.0)
    with pytest.raises(ValueError, match="attempts"):
        libs.tenacity_waits("random_exponential", 0, 3, base=0.1, cap=1.0)


# -------------------------------------------------------------------------------------------------- pybreaker
HAND_TRACE = [(0, True), (1, True), (2, True), (3, False), (40, False), (41, True), (42, True), (43, True),
              (50, True), (80, True), (81, False), (120, False), (121, True)]


def random_trace(seed: int, n: int = 400) -> list[tuple[float, bool]]:
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.exponential(4.0, n))
    p_fail = np.where((t % 400) < 150, 0.8, 0.1)  # outages and calm periods
    return list(zip(t.tolist(), (rng.random(n) < p_fail).tolist()))


@pytest.mark.parametrize("trace", [HAND_TRACE, random_trace(0), random_trace(1), random_trace(2)],
                         ids=["hand", "random0", "random1", "random2"])
def test_pybreaker_and_ours_walk_through_the_same_states(trace: list[tuple[float, bool]]) -> None:
    r = libs.breaker_trace(trace, fail_max=3, reset_timeout=30.0)
    assert r["ours"] == r["pybreaker"]
    assert r["ours_called"] == r["pybreaker_called"]
    assert "open" in r["ours"] and r["ours"].count("closed") > 1
    theirs, mine = r["pybreaker_transitions"], r["ours_transitions"]
    assert [(a, b) for _, a, b in theirs] == [(a, b) for _, a, b in mine]
    # the one documented difference: ours is half-open from the instant the wait ends (open + 30 s),
    # pybreaker switches lazily, at the first call after it
    for (t_theirs, a, b), (t_ours, _, _) in zip(theirs, mine):
        if (a, b) == ("open", "half_open"):
            assert t_ours <= t_theirs
            assert t_ours in {t + 30.0 for t, _, to in mine if to == "open"}
            assert t_theirs in r["time"]
        else:
            assert t_theirs == t_ours


def test_failure_rate_window_differs_from_consecutive_failures() -> None:
    # negative control: with a failure-RATE window (resilience4j style, ours can do it) alternating
    # failures open the circuit; pybreaker counts CONSECUTIVE failures and never opens
    alternating = [(float(i), i % 2 == 0) for i in range(20)]
    rate = resilience.BreakerConfig(window_size=4, minimum_calls=4, failure_rate_threshold=0.5, wait_in_open=30.0,
                                    permitted_calls_in_half_open=1)
    r = libs.breaker_trace(alternating, fail_max=3, reset_timeout=30.0, ours=rate)
    assert set(r["pybreaker"]) == {"closed"}
    assert "open" in r["ours"] and r["ours"] != r["pybreaker"]


def test_breaker_trace_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="time order"):
        libs.breaker_trace([(2.0, True), (1.0, True)])
    with pytest.raises(ValueError, match="fail_max"):
        libs.breaker_trace([(0.0, True)], fail_max=0)


def test_install_missing_installs_nothing_when_everything_is_there() -> None:
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    assert libs.install_missing() == []
    # the requirements it would install are pyproject.toml's (same names, same ranges)
    deps = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]["dependencies"]
    declared = {Requirement(d).name: str(Requirement(d).specifier) for d in deps}
    for req in libs.LIBRARIES.values():
        r = Requirement(req)
        assert declared[r.name] == str(r.specifier), r.name
