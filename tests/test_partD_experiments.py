"""Tests for Part D's measurement functions (lecture_lib.experiments.partD) and plots (lecture_lib.viz.partD).

The experiments must say what the notebook says they say: each claim the notebook's prose makes is asserted
here on the same settings, with a negative control where the claim is comparative.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib import resilience as rs
from lecture_lib import serving as sv
from lecture_lib.experiments import partD as ex
from lecture_lib.viz import partD as viz


# ---------------------------------------------------------------------------------------------- stability
@settings(max_examples=40, deadline=None)
@given(load=st.floats(0.01, 0.99), rates=st.lists(st.floats(0.1, 5.0), min_size=1, max_size=6))
def test_is_stable_matches_the_per_worker_rate_condition(load, rates):
    lam = load * sum(rates)
    assert ex.is_stable("round_robin", load, rates) == (lam / len(rates) < min(rates))
    assert ex.is_stable("random", load, rates) == ex.is_stable("round_robin", load, rates)
    for p in ("weighted_round_robin", "least_connections", "p2c", "ewma", "shared_queue"):
        assert ex.is_stable(p, load, rates)


def test_round_robin_limit_on_the_course_workers_is_half_load():
    assert ex.is_stable("round_robin", 0.49) and not ex.is_stable("round_robin", 0.5)


@pytest.mark.parametrize("call,match", [
    (lambda: ex.offered_arrival_rate(1.0), "load"),
    (lambda: ex.offered_arrival_rate(0.0), "load"),
    (lambda: ex.is_stable("fastest", 0.5), "policy"),
    (lambda: ex.failure_events("meteor", horizon=10.0), "failure"),
    (lambda: ex.compare_policies(1.2), "load"),
])
def test_bad_inputs_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------------------------- widget data
def test_compare_policies_uses_common_random_numbers_and_is_reproducible():
    a = ex.compare_policies(0.6, n_requests=800, seed=3)
    b = ex.compare_policies(0.6, n_requests=800, seed=3)
    first = a["random"].arrival_times
    for p in sv.BALANCING_POLICIES:
        assert np.array_equal(a[p].arrival_times, first)  # same requests for every policy
        assert np.array_equal(a[p].latencies, b[p].latencies)
        assert (a[p].latencies > 0).all()
    table = ex.summarize(a)
    shares = table[[c for c in table.columns if c.startswith("share")]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    assert (table["p50"] <= table["p95"]).all() and (table["p95"] <= table["p99"]).all()


def test_failure_events_sit_inside_the_run():
    (slow,) = ex.failure_events("slowdown", horizon=100.0)
    (down,) = ex.failure_events("outage", horizon=100.0)
    assert isinstance(slow, sv.Slowdown) and (slow.start, slow.end, slow.factor) == (40.0, 70.0, 5.0)
    assert isinstance(down, sv.Outage) and (down.start, down.end) == (40.0, 45.0)
    assert ex.failure_events("none", horizon=1.0) == ()


def test_tau_changes_only_the_ewma_policy():
    a = ex.compare_policies(0.7, tau=1.0, failure="slowdown", n_requests=1500)
    b = ex.compare_policies(0.7, tau=100.0, failure="slowdown", n_requests=1500)
    for p in sv.BALANCING_POLICIES:
        assert np.array_equal(a[p].latencies, b[p].latencies) == (p != "ewma")


def test_peak_ewma_sends_more_to_a_hung_worker_than_least_connections():
    """Zone 6's claim: during an outage peak-EWMA's decayed cost attracts traffic; least-connections avoids it."""
    runs = ex.compare_policies(0.7, tau=10.0, failure="outage", n_requests=3000)
    horizon = 3000 / ex.offered_arrival_rate(0.7)
    sent = {}
    for p, r in runs.items():
        during = (r.arrival_times >= 0.4 * horizon) & (r.arrival_times < 0.45 * horizon)
        sent[p] = (r.assignments[during] == 0).mean()
    assert sent["ewma"] > 0.4 > 0.25 > sent["least_connections"]
    assert abs(sent["round_robin"] - 0.25) < 0.01


# ---------------------------------------------------------------------------------------------- experiments
def test_latency_vs_load_orders_the_policies():
    df = ex.latency_vs_load((0.3, 0.75), n_requests=3000, seeds=(0,))
    p99 = df.pivot(index="policy", columns="load", values="p99")
    stable = df.pivot(index="policy", columns="load", values="stable")
    assert not stable.loc["round_robin", 0.75] and stable.loc["round_robin", 0.3]
    # without a steady state the tail is far worse than any stable policy's
    assert p99.loc["round_robin", 0.75] > 10 * p99.loc["least_connections", 0.75]
    assert p99.loc["least_connections", 0.75] < p99.loc["weighted_round_robin", 0.75]
    assert (p99[0.75] > p99[0.3]).all()  # everything gets worse with load


def test_state_aware_policies_route_around_a_slow_worker():
    table, timeline = ex.slow_worker_experiment(load=0.5, factor=10.0, n_requests=3000)
    for p in ("least_connections", "p2c", "ewma"):
        assert table.loc[p, "share during"] < 0.5 * table.loc[p, "share before"]
        assert table.loc[p, "p99 during"] < table.loc["round_robin", "p99 during"] / 5
    # negative controls: state-blind policies keep their fixed shares
    assert table.loc["round_robin", "share during"] == pytest.approx(0.25, abs=0.002)
    assert table.loc["weighted_round_robin", "share during"] == pytest.approx(0.375, abs=0.002)
    assert set(timeline["policy"]) == set(sv.BALANCING_POLICIES)
    assert timeline.attrs["slow_start"] < timeline.attrs["slow_end"]


def test_breaker_timeline_opens_probes_and_closes():
    cfg = rs.BreakerConfig(window_size=20, failure_rate_threshold=0.5, minimum_calls=10, wait_in_open=5.0,
                           permitted_calls_in_half_open=3)
    calls, history = ex.breaker_timeline(config=cfg, outage=(20.0, 50.0), horizon=80.0, call_interval=0.25,
                                         background_failure=0.0)
    assert history[0][1:] == ("closed", "open")
    # with no background failures the window is 10 successes + failures: it opens at the 10th failure
    assert history[0][0] == pytest.approx(20.0 + 9 * 0.25)
    assert history[-1][1:] == ("half_open", "closed") and history[-1][0] > 50.0
    opens = [t for t, a, b in history if b == "open"]
    during = calls[(calls.time >= 20) & (calls.time < 50)]
    assert int(during.reached_backend.sum()) == 10 + 3 * (len(opens) - 1)
    assert calls[calls.time < 20].reached_backend.all() and not calls[calls.time < 20].failed.any()
    assert calls[calls.time > history[-1][0]].reached_backend.all()


def test_retry_storm_jitter_beats_lockstep():
    t = ex.retry_storm_table(("none", "additive", "full"), n_clients=100, seeds=range(2))
    assert t.loc["none", "calls per client"] > 1.5 * t.loc["full", "calls per client"]
    assert t.loc["none", "completion time"] > 5 * t.loc["full", "completion time"]
    assert t.loc["none", "peak calls per 0.1 s after recovery"] == 100  # every client in one wave
    assert t.loc["full", "peak calls per 0.1 s after recovery"] < t.loc["additive", "peak calls per 0.1 s after recovery"]


# ---------------------------------------------------------------------------------------------- theory checks
def test_mm1_and_mmc_checks_contain_theory():
    m1 = ex.mm1_simulator_check((0.5, 0.8), n_requests=10000, reps=6)
    assert m1["theory inside CI"].all() and (m1["rel. error"].abs() < 0.05).all()
    mc = ex.mmc_check((0.7,), c=10, n_requests=10000, reps=6)
    assert mc["theory inside CI"].all()
    assert mc.loc[0, "P(wait) Erlang C"] == pytest.approx(sv.erlang_c(10, 7.0))


def test_littles_law_holds_for_every_run():
    runs = ex.compare_policies(0.7, n_requests=1000)
    t = ex.littles_law_check(runs)
    assert t["|rel. difference| < 1e-9"].all()
    assert t["L (time average)"].to_numpy() == pytest.approx(t["lambda x W"].to_numpy(), rel=1e-9)


def test_p2c_tails_follow_the_supermarket_model():
    df = ex.p2c_supermarket_check(load=0.9, n_workers=100, n_requests=100_000, max_i=5)  # the notebook's run
    for i in (1, 2, 3, 4):
        assert df.loc[i, "simulated d=2"] == pytest.approx(df.loc[i, "theory d=2"], rel=0.1)
        assert df.loc[i, "simulated d=1"] == pytest.approx(df.loc[i, "theory d=1"], rel=0.1)
    # negative control: the d=1 (random) tail is nowhere near the two-choice prediction
    assert df.loc[4, "simulated d=1"] > 2 * df.loc[4, "theory d=2"]
    (m1, t1), (m2, t2) = df.attrs["mean latency"][1], df.attrs["mean latency"][2]
    assert m2 == pytest.approx(t2, rel=0.1) and m2 < m1 / 2


@pytest.mark.parametrize("jitter,ratio", [("full", 0.5), ("equal", 0.75), ("none", 1.0)])
def test_backoff_stats_mean_ratio(jitter, ratio):
    t = ex.backoff_stats(jitter, attempts=5, base=0.2, cap=2.0, draws=3000)
    assert np.allclose(t["mean / t_n"], ratio, atol=0.03)
    assert (t["max"] <= t["t_n"] + 1e-12).all() and (t["min"] >= 0).all()


def test_lecture_backoff_ranges_are_exact_and_shrink():
    t = ex.lecture_backoff_ranges(base=200.0, spread=100.0, attempts=3)
    assert t["range from"].tolist() == [200.0, 400.0, 800.0] and t["range to"].tolist() == [300.0, 500.0, 900.0]
    assert (t["drawn min"] >= t["range from"]).all() and (t["drawn max"] <= t["range to"]).all()
    assert t["jitter / delay"].tolist() == [0.5, 0.25, 0.125]


def test_ewma_step_response_half_life():
    y = ex.ewma_step_response(0.1, n=20, before=100.0, after=500.0)
    k = sv.ewma_half_life(0.1)
    assert y[math.floor(k) - 1] < 300.0 < y[math.ceil(k) - 1]
    assert np.allclose(y, 500 - 400 * 0.9 ** np.arange(1, 21))


# ---------------------------------------------------------------------------------------------- supervisor
def test_supervisor_restarts_crashed_children_and_finishes_the_work():
    log = ex.supervisor_demo(crash_every=4, jobs=10)
    assert log.restarts == 2 and not log.gave_up
    assert log.events[-1][1] == "child #2 finished: all 10 requests handled"


def test_supervisor_gives_up_when_crashes_come_too_fast():
    log = ex.supervisor_demo(crash_every=1, jobs=20)  # every request crashes: 6 crashes in 6 s > 5 within 10 s
    assert log.gave_up and log.restarts == 5
    assert "supervisor gives up" in log.events[-1][1]


# ---------------------------------------------------------------------------------------------- plots
def _labelled(fig):
    assert all(ax.get_ylabel() for ax in fig.axes)
    assert fig.axes[-1].get_xlabel()  # stacked axes share the bottom one's x label
    assert any(ax.get_title() for ax in fig.axes) or fig._suptitle is not None
    assert any(ax.get_legend() is not None for ax in fig.axes)


def test_plots_have_titles_labels_and_legends():
    runs = ex.compare_policies(0.5, n_requests=500)
    figs = [viz.plot_policy_view(runs, "p2c")]
    figs.append(viz.plot_latency_vs_load(ex.latency_vs_load((0.3, 0.6), n_requests=600, seeds=(0,))))
    _, tl = ex.slow_worker_experiment(n_requests=600)
    figs.append(viz.plot_slow_worker(tl))
    calls, hist = ex.breaker_timeline()
    figs.append(viz.plot_breaker_timeline(calls, hist, (20.0, 50.0), 80.0))
    figs.append(viz.plot_retry_storm({"full": rs.simulate_retry_storm(50, jitter="full").call_times}))
    figs.append(viz.plot_supermarket(ex.p2c_supermarket_check(n_workers=20, n_requests=4000, max_i=4)))
    figs.append(viz.plot_ewma_step({"a": ex.ewma_step_response()}, before=100.0, after=500.0))
    for fig in figs:
        _labelled(fig)
        plt.close(fig)


def test_policy_view_rejects_an_unknown_selection():
    runs = ex.compare_policies(0.5, n_requests=200, policies=["p2c"])
    with pytest.raises(ValueError, match="selected"):
        viz.plot_policy_view(runs, "ewma")


def test_widget_builds_over_the_pure_function():
    box = viz.policy_widget(n_requests=300)
    sliders = box.children[0].children
    assert [s.description for s in sliders] == ["load ρ", "EWMA τ"]
    policy, failure = box.children[1].children
    assert list(policy.options) == list(sv.BALANCING_POLICIES) and list(failure.options) == list(ex.FAILURES)
    plt.close("all")


def test_fake_clock_driver_refuses_real_event_loop_waits():
    import asyncio

    async def real_wait():
        await asyncio.sleep(0.01)

    with pytest.raises(RuntimeError):
        ex._drive(real_wait())


# ---------------------------------------------------------------------------------------------------------
# timeouts and supervisor strategies (Zone 6): the claims the notebook's prose makes
# ---------------------------------------------------------------------------------------------------------


def test_deadline_propagation_table_claims():
    df = ex.deadline_propagation_table(n_requests=4000)
    for _, pair in df.groupby("budget (s)"):
        off, on = pair[~pair["deadline propagated"]].iloc[0], pair[pair["deadline propagated"]].iloc[0]
        assert off["failed"] == on["failed"] and on["orphaned (ms)"] == 0.0
        assert off["work per request (ms)"] == pytest.approx(on["work per request (ms)"] + off["orphaned (ms)"])
    shares = df[~df["deadline propagated"]].set_index("budget (s)")["orphaned share"]
    assert shares.is_monotonic_decreasing and shares[0.3] > 0.3


def test_timeout_retry_table_claims():
    tt = ex.timeout_retry_table(0.7, percentiles=(50, 99), n_requests=8000)
    assert tt["goodput: no retries"]["p50"] == pytest.approx(0.5, abs=0.05)
    assert (tt["goodput: 3 attempts"] < 0.2).all()
    assert (tt["goodput: 3 attempts + deadline"] > 0.9).all()
    assert tt["model load (retries, no deadline)"]["p50"] == float("inf")
    assert tt["model load (retries, no deadline)"]["p99"] < 0.75


def test_supervisor_strategy_table_claims():
    t = ex.supervisor_strategy_table(horizon=900.0, seeds=range(6))
    ups = t[[c for c in t.columns if c.startswith("child ") and c.endswith(" up")]]
    assert ups.loc["one_for_all"].nunique() == 1  # everyone shares one fate
    assert ups.loc["one_for_one", "child 0 up"] > ups.loc["one_for_all", "child 0 up"]
    assert ups.loc["rest_for_one", "child 0 up"] > ups.loc["rest_for_one", "child 2 up"]
    starts = t["child starts per hour"] / t["restarts per hour"]
    assert starts["one_for_one"] == pytest.approx(1.0) and starts["one_for_all"] == pytest.approx(3.0)


def test_give_up_curve_rises_with_crash_rate_and_falls_with_intensity():
    g = ex.give_up_curve((1, 6, 24), seeds=range(10))
    assert (g.diff().dropna() >= 0).all().all()
    assert (g["1 in 5 s"] >= g["3 in 5 s"]).all() and g.loc[24].min() == 1.0
