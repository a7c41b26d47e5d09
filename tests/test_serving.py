"""Tests for lecture_lib.serving: the simulator against queueing theory (with replications, confidence intervals
and negative controls), the pickers, invariants (hypothesis), disruptions, and input validation."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from lecture_lib import serving as sv

# PARTD_EXAMPLES=500 for a deeper search; the default keeps the file fast
FAST = settings(max_examples=int(os.environ.get("PARTD_EXAMPLES", 25)), deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------------------
# helpers: replications and confidence intervals
# ---------------------------------------------------------------------------------------------------------


def confidence_interval(samples, level: float = 0.99) -> tuple[float, float]:
    """Student-t interval for the mean of independent replications."""
    x = np.asarray(samples, dtype=float)
    half = stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return x.mean() - half, x.mean() + half


def inside(target: float, ci: tuple[float, float]) -> bool:
    return ci[0] <= target <= ci[1]


def replicate(run, reps: int) -> np.ndarray:
    """One summary number per independent replication (seed = replication index)."""
    return np.array([run(seed) for seed in range(reps)])


def lindley_mm1(lam: float, mu: float, n: int, seed: int, *, scale_bug: bool = False) -> np.ndarray:
    """An independent M/M/1 written from Lindley's recursion W_{k+1} = max(0, W_k + S_k - T_{k+1}).

    scale_bug=True reproduces the classic NumPy slip rng.exponential(mu) (scale, not rate): the negative control.
    """
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / lam, n)
    serv = rng.exponential(mu if scale_bug else 1 / mu, n)
    wait = np.zeros(n)
    for k in range(1, n):
        wait[k] = max(0.0, wait[k - 1] + serv[k - 1] - gaps[k])
    return wait + serv


# ---------------------------------------------------------------------------------------------------------
# simulator vs theory
# ---------------------------------------------------------------------------------------------------------

LAM1, MU1, N1, WARM1, REPS1 = 0.5, 1.25, 20_000, 2_000, 20


@pytest.fixture(scope="module")
def mm1_means():
    return replicate(
        lambda s: sv.simulate("random", arrival_rate=LAM1, service_rates=[MU1], n_requests=N1, seed=s)
        .latencies[WARM1:]
        .mean(),
        REPS1,
    )


def test_mm1_mean_latency_matches_theory(mm1_means):
    ci = confidence_interval(mm1_means)
    theory = sv.mm1_sojourn_time(LAM1, MU1)
    assert inside(theory, ci), (theory, ci)
    assert ci[1] - ci[0] < 0.05 * theory  # the interval is tight enough to mean something


def test_mm1_negative_controls(mm1_means):
    ci = confidence_interval(mm1_means)
    # wrong formulas: only the wait, or only the service, or forgetting the -lambda
    for wrong in (sv.mm1_waiting_time(LAM1, MU1), 1 / MU1, 1 / MU1 + LAM1 / MU1):
        assert not inside(wrong, ci)
    # a wrong simulator (service drawn with scale=mu instead of 1/mu) fails the same check
    bad = replicate(lambda s: lindley_mm1(LAM1, MU1, N1, s, scale_bug=True)[WARM1:].mean(), 5)
    assert not inside(sv.mm1_sojourn_time(LAM1, MU1), confidence_interval(bad))


def test_mm1_independent_lindley_agrees(mm1_means):
    ours = confidence_interval(mm1_means)
    ref = replicate(lambda s: lindley_mm1(LAM1, MU1, N1, 1000 + s)[WARM1:].mean(), 5)
    assert abs(ref.mean() - np.mean(mm1_means)) < 4 * (ours[1] - ours[0])


LAM10, MU10, C10, N10, WARM10, REPS10 = 8.0, 1.0, 10, 30_000, 3_000, 12


@pytest.fixture(scope="module")
def mm10_runs():
    return [
        sv.simulate("shared_queue", arrival_rate=LAM10, service_rates=[MU10] * C10, n_requests=N10, seed=s)
        for s in range(REPS10)
    ]


def test_mm10_waiting_time_matches_erlang_c(mm10_runs):
    wq = [r.waits[WARM10:].mean() for r in mm10_runs]
    ci = confidence_interval(wq)
    theory = sv.mmc_waiting_time(LAM10, MU10, C10)
    assert inside(theory, ci), (theory, ci)
    # P(wait > 0) is Erlang C itself
    p_wait = confidence_interval([(r.waits[WARM10:] > 0).mean() for r in mm10_runs])
    assert inside(sv.erlang_c(C10, LAM10 / MU10), p_wait)
    # sojourn time too
    assert inside(sv.mmc_sojourn_time(LAM10, MU10, C10), confidence_interval([r.latencies[WARM10:].mean() for r in mm10_runs]))


def test_mm10_negative_controls(mm10_runs):
    ci = confidence_interval([r.waits[WARM10:].mean() for r in mm10_runs])
    # the classic mistake: Erlang B (blocking) where Erlang C (waiting) belongs
    wrong_formula = sv.erlang_b(C10, LAM10 / MU10) / (C10 * MU10 - LAM10)
    assert not inside(wrong_formula, ci)
    # a wrong model: ten separate queues with random dispatch is not M/M/10 and fails the same check
    wrong_sim = [
        sv.simulate("random", arrival_rate=LAM10, service_rates=[MU10] * C10, n_requests=N10, seed=s).waits[WARM10:].mean()
        for s in range(4)
    ]
    assert not inside(sv.mmc_waiting_time(LAM10, MU10, C10), confidence_interval(wrong_sim))


def test_erlang_c_against_direct_formula():
    for c in (1, 2, 5, 10, 30):
        for rho in (0.1, 0.5, 0.9, 0.99):
            a = rho * c
            head = sum(a**k / math.factorial(k) for k in range(c))
            tail = a**c / math.factorial(c) / (1 - rho)
            assert sv.erlang_c(c, a) == pytest.approx(tail / (head + tail), rel=1e-10)
    assert sv.erlang_c(1, 0.7) == pytest.approx(0.7)  # M/M/1: P(wait) = rho
    assert sv.mmc_sojourn_time(0.7, 1.0, 1) == pytest.approx(sv.mm1_sojourn_time(0.7, 1.0))
    assert sv.erlang_c(500, 450.0) < 1  # no overflow for large c


def _little(result: sv.SimResult, lo: float = 0.1, hi: float = 0.9) -> tuple[float, float, float]:
    """(L, lambda, W) measured on the window [lo*T, hi*T] of the arrival span."""
    t_end = result.arrival_times[-1]
    t0, t1 = lo * t_end, hi * t_end
    arrived = (result.arrival_times >= t0) & (result.arrival_times < t1)
    lam = arrived.sum() / (t1 - t0)
    return result.time_average_in_system(t0, t1), lam, result.latencies[arrived].mean()


@pytest.mark.parametrize("policy", ["random", "least_connections", "p2c", "ewma", "shared_queue"])
def test_littles_law_within_2_percent(policy):
    r = sv.simulate(policy, arrival_rate=2.4, service_rates=[2.0, 1.0, 1.0, 0.8], n_requests=40_000, seed=7)
    L, lam, W = _little(r)
    assert L == pytest.approx(lam * W, rel=0.02)
    # negative control: the same check with the wait alone in place of the sojourn time fails
    waits = r.waits[(r.arrival_times >= 0.1 * r.arrival_times[-1]) & (r.arrival_times < 0.9 * r.arrival_times[-1])]
    assert L != pytest.approx(lam * waits.mean(), rel=0.02)


def test_littles_law_against_theory_mm10(mm10_runs):
    Ls = [_little(r)[0] for r in mm10_runs]
    theory = LAM10 * sv.mmc_sojourn_time(LAM10, MU10, C10)
    assert np.mean(Ls) == pytest.approx(theory, rel=0.02)
    assert np.mean(Ls) != pytest.approx(LAM10 * (sv.mmc_waiting_time(LAM10, MU10, C10)), rel=0.02)


def test_utilization_is_offered_load(mm10_runs):
    util = np.array([r.utilization.mean() for r in mm10_runs])
    assert util.mean() == pytest.approx(LAM10 / (C10 * MU10), rel=0.01)
    # negative control: counting whole sojourn times as busy time overstates it
    wrong = np.mean([np.bincount(r.assignments, r.latencies).mean() / r.horizon for r in mm10_runs])
    assert wrong != pytest.approx(0.8, rel=0.02)


# ---------------------------------------------------------------------------------------------------------
# power of two choices vs the supermarket model
# ---------------------------------------------------------------------------------------------------------

N_SM, LAM_SM = 100, 0.9


@pytest.fixture(scope="module")
def supermarket_runs():
    out = {}
    for policy in ("p2c", "random"):
        r = sv.simulate(policy, arrival_rate=LAM_SM * N_SM, service_rates=[1.0] * N_SM, n_requests=100_000, seed=3)
        t_end = r.arrival_times[-1]
        pmf = r.queue_length_pmf(0.2 * t_end, t_end)
        tail = 1 - np.concatenate([[0.0], np.cumsum(pmf)])
        longest = r.in_system(np.linspace(0.2 * t_end, t_end, 1000)).max(axis=1).mean()
        out[policy] = (tail, longest, r.latencies[20_000:].mean())
    return out


def _matches_supermarket(tail, longest, d) -> bool:
    theory_tail = sv.supermarket_tail(LAM_SM, d, np.arange(1, 5))
    # 15 %: with N = 100 workers (not infinitely many) the simulated tails run a few percent heavier than the
    # N -> infinity fixed point; a wrong d is off by a factor of 1.5 to 3 at i = 3, 4.
    ok_tail = np.all(np.abs(tail[1:5] / theory_tail - 1) < 0.15)
    ok_max = abs(longest / sv.supermarket_expected_max(N_SM, LAM_SM, d) - 1) < 0.10
    return bool(ok_tail and ok_max)


def test_p2c_max_queue_matches_supermarket_model(supermarket_runs):
    tail, longest, mean_latency = supermarket_runs["p2c"]
    assert _matches_supermarket(tail, longest, d=2), (tail[:6], longest)
    assert mean_latency == pytest.approx(sv.supermarket_sojourn_time(LAM_SM, 2), rel=0.05)
    # the max grows like log log N: about 5 here, against about 49 for random dispatch
    assert longest < 7


def test_supermarket_negative_controls(supermarket_runs):
    tail, longest, _ = supermarket_runs["p2c"]
    assert not _matches_supermarket(tail, longest, d=1)  # wrong theory for p2c
    rtail, rlongest, rmean = supermarket_runs["random"]
    assert not _matches_supermarket(rtail, rlongest, d=2)  # wrong policy for the d=2 theory
    assert _matches_supermarket(rtail, rlongest, d=1)  # random dispatch = independent M/M/1 queues
    assert rmean == pytest.approx(sv.supermarket_sojourn_time(LAM_SM, 1), rel=0.10)


def test_supermarket_formulas():
    assert sv.supermarket_sojourn_time(0.7, 1) == pytest.approx(1 / 0.3)
    assert sv.supermarket_tail(0.9, 2, 3) == pytest.approx(0.9**7)
    assert sv.supermarket_expected_max(1, 0.5, 2) == pytest.approx(sum(0.5 ** (2**i - 1) for i in range(1, 8)))


# ---------------------------------------------------------------------------------------------------------
# pickers
# ---------------------------------------------------------------------------------------------------------


def test_smooth_wrr_5_1_1():
    assert "".join("abc"[i] for i in sv.smooth_wrr_sequence([5, 1, 1], 7)) == "aabacaa"
    assert "".join("abc"[i] for i in sv.smooth_wrr_sequence([5, 1, 1], 14)) == "aabacaa" * 2
    b = sv.SmoothWeightedRoundRobin([5, 1, 1])
    assert [b.pick(0.0) for _ in range(7)] == [0, 0, 1, 0, 2, 0, 0]
    # a plain (non-smooth) weighted round-robin sends the burst a a a a a b c instead
    assert "".join("abc"[i] for i in np.repeat([0, 1, 2], [5, 1, 1])) != "aabacaa"


@FAST
@given(st.lists(st.integers(1, 9), min_size=1, max_size=6))
def test_smooth_wrr_period_and_spread(weights):
    total = sum(weights)
    seq = sv.smooth_wrr_sequence(weights, 2 * total)
    assert np.array_equal(np.bincount(seq[:total], minlength=len(weights)), weights)
    assert np.array_equal(seq[:total], seq[total:])
    # smoothness: every prefix is within one pick of its fair share, per worker
    counts = np.cumsum(np.eye(len(weights), dtype=int)[seq[:total]], axis=0)
    fair = np.outer(np.arange(1, total + 1), weights) / total
    assert np.all(np.abs(counts - fair) < len(weights))
    # the pure step keeps sum(current) = 0
    cur = [0.0] * len(weights)
    for _ in range(total):
        _, cur = sv.smooth_wrr_step(cur, weights)
        assert abs(sum(cur)) < 1e-9


def test_round_robin_and_pickers():
    assert sv.round_robin_sequence(3, 7).tolist() == [0, 1, 2, 0, 1, 2, 0]
    rr = sv.RoundRobin(3)
    assert [rr.pick(0) for _ in range(4)] == [0, 1, 2, 0]
    assert sv.least_connections_pick([3, 1, 2, 1]) == 1
    assert sv.least_connections_pick([3, 1, 2, 1], u=0.99) == 3
    assert sv.p2c_pick([5, 2, 9], 0, 2) == 0
    assert sv.p2c_pick([5, 2, 9], 0, 1) == 1


def test_ewma_lecture_values():
    # errata row 110: alpha = 0.1 halves an old sample's weight after 6.58 samples
    assert sv.ewma_half_life(0.1) == pytest.approx(6.5788, abs=1e-4)
    old_weight = []
    v = 0.0  # start at 0, feed 1s: 1 - v is the weight the old value still has
    for _ in range(7):
        v = sv.ewma_update(v, 1.0, 0.1)
        old_weight.append(1 - v)
    assert old_weight[5] > 0.5 > old_weight[6]  # between 6 and 7 samples
    assert old_weight[6] == pytest.approx(0.9**7)


@FAST
@given(
    st.floats(0.01, 10), st.floats(0.01, 10), st.floats(0.001, 5), st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20)
)
def test_peak_ewma_is_time_decayed_ewma(cost, tau, dt, fractions):
    """Below the peak, peak-EWMA with samples dt apart is the per-sample EWMA with alpha = 1 - exp(-dt/tau)."""
    c, stamp, ref = cost, 0.0, cost
    alpha = sv.ewma_alpha(dt, tau)
    for k, f in enumerate(fractions, start=1):
        rtt = f * c  # at or below the current cost: no peak jump
        c, stamp = sv.peak_ewma_update(c, stamp, rtt, k * dt, tau)
        ref = sv.ewma_update(ref, rtt, alpha) if alpha > 0 else ref
        assert c == pytest.approx(ref, rel=1e-9, abs=1e-12)
    # a sample above the cost is adopted at once
    assert sv.peak_ewma_update(c, stamp, c + 1.0, stamp + dt, tau) == (c + 1.0, stamp + dt)
    assert sv.peak_ewma_decay(2.0, 0.0, tau, tau) == pytest.approx(2.0 / math.e)
    assert sv.peak_ewma_load(2.0, 3) == 8.0


# ---------------------------------------------------------------------------------------------------------
# simulator invariants
# ---------------------------------------------------------------------------------------------------------

policies = st.sampled_from(sv.SIMULATOR_POLICIES)
rate_lists = st.lists(st.floats(0.2, 5.0), min_size=2, max_size=6)


@FAST
@given(policies, rate_lists, st.floats(0.1, 1.3), st.integers(1, 400), st.integers(0, 2**16))
def test_simulate_invariants(policy, rates, load, n, seed):
    r = sv.simulate(policy, arrival_rate=load * sum(rates), service_rates=rates, n_requests=n, seed=seed)
    assert r.latencies.shape == r.assignments.shape == (n,)
    assert np.all(np.diff(r.arrival_times) >= 0)
    assert np.all(r.start_times >= r.arrival_times) and np.all(r.departure_times > r.start_times)
    assert np.array_equal(r.latencies, r.waits + r.service_times) or np.allclose(r.latencies, r.waits + r.service_times)
    assert r.assignments.min() >= 0 and r.assignments.max() < len(rates)
    if policy != "shared_queue":
        for w in range(len(rates)):  # FIFO per worker, one request at a time
            mine = r.assignments == w
            s, d = r.start_times[mine], r.departure_times[mine]
            assert np.all(np.diff(d) > 0) and np.all(s[1:] >= d[:-1] - 1e-9)
    # common random numbers: the work of request k is the same whatever worker or policy serves it
    other = sv.simulate("round_robin", arrival_rate=load * sum(rates), service_rates=rates, n_requests=n, seed=seed)
    np.testing.assert_allclose(r.service_times * np.asarray(rates)[r.assignments],
                               other.service_times * np.asarray(rates)[other.assignments], rtol=1e-9)
    np.testing.assert_array_equal(r.arrival_times, other.arrival_times)
    assert np.all((r.utilization >= 0) & (r.utilization <= 1 + 1e-9))
    assert r.p50 <= r.p95 <= r.p99


def test_reproducible_by_seed():
    kw = dict(arrival_rate=3.0, service_rates=[2.0, 1.0, 0.5], n_requests=2000)
    for policy in sv.SIMULATOR_POLICIES:
        a, b = sv.simulate(policy, seed=5, **kw), sv.simulate(policy, seed=5, **kw)
        np.testing.assert_array_equal(a.latencies, b.latencies)
        np.testing.assert_array_equal(a.assignments, b.assignments)
        assert not np.array_equal(a.latencies, sv.simulate(policy, seed=6, **kw).latencies)


disruptions = st.lists(
    st.tuples(st.integers(0, 2), st.floats(0, 50), st.floats(0.5, 30), st.one_of(st.none(), st.floats(0.2, 8))),
    max_size=4,
)


def _events(spec):
    return [sv.Outage(w, a, a + d) if f is None else sv.Slowdown(w, a, a + d, f) for w, a, d, f in spec]


@FAST
@given(disruptions, st.integers(1, 300), st.integers(0, 1000))
def test_event_loop_equals_vectorized_path(spec, n, seed):
    """Two engines, one model: round-robin through the heap-based loop matches the NumPy Lindley path."""
    events = _events(spec)
    rates = np.array([1.0, 2.0, 0.7])
    r = sv.simulate("round_robin", arrival_rate=2.5, service_rates=rates, n_requests=n, seed=seed, events=events)
    profiles = [sv._Profile([e for e in events if e.worker == w]) if any(e.worker == w for e in events) else None
                for w in range(3)]
    plain = sv.simulate("round_robin", arrival_rate=2.5, service_rates=rates, n_requests=n, seed=seed)
    unit = plain.service_times * rates[plain.assignments]
    assign, start, depart = sv._event_loop(sv.RoundRobin(3), r.arrival_times, unit, rates, profiles)
    np.testing.assert_array_equal(assign, r.assignments)
    np.testing.assert_allclose(depart, r.departure_times, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(start, r.start_times, rtol=1e-9, atol=1e-9)


@FAST
@given(disruptions, st.sampled_from(["round_robin", "least_connections", "shared_queue"]), st.integers(0, 1000))
def test_work_done_under_disruptions(spec, policy, seed):
    """Integrating a worker's speed over each service interval gives back exactly the request's work."""
    events = _events(spec)
    rates = np.array([1.0, 2.0, 0.7])
    kw = dict(arrival_rate=2.0, service_rates=rates, n_requests=300, seed=seed)
    r = sv.simulate(policy, events=events, **kw)
    plain = sv.simulate(policy, **kw)
    unit_work = plain.service_times * rates[plain.assignments]  # the draws, independent of the schedule
    for w in range(3):
        mine = r.assignments == w
        prof = sv._Profile([e for e in events if e.worker == w])
        done = prof.work(r.departure_times[mine]) - prof.work(r.start_times[mine])
        np.testing.assert_allclose(done * rates[w], unit_work[mine], rtol=1e-7, atol=1e-9)
        for e in events:  # nothing starts inside an outage
            if isinstance(e, sv.Outage) and e.worker == w:
                s = r.start_times[mine]
                assert not np.any((s > e.start + 1e-9) & (s < e.end - 1e-9))


def test_outage_by_hand():
    """One worker, an outage on [t0, t0 + 5): the request in service finishes 5 time units late."""
    plain = sv.simulate("random", arrival_rate=0.2, service_rates=[1.0], n_requests=50, seed=1)
    k = int(np.argmax(plain.service_times > 1.0))
    t0 = plain.start_times[k] + 0.5  # inside request k's service
    r = sv.simulate("random", arrival_rate=0.2, service_rates=[1.0], n_requests=50, seed=1, events=[sv.Outage(0, t0, t0 + 5)])
    assert r.departure_times[k] == pytest.approx(plain.departure_times[k] + 5)
    np.testing.assert_array_equal(r.departure_times[:k], plain.departure_times[:k])


def test_state_aware_policies_route_around_a_slow_worker():
    slow = [sv.Slowdown(0, 200.0, math.inf, 10.0)]
    kw = dict(arrival_rate=2.0, service_rates=[1.0] * 4, n_requests=3000, seed=0, events=slow)
    share = {}
    for policy in ("round_robin", "least_connections", "p2c", "ewma"):
        r = sv.simulate(policy, **kw)
        late = r.arrival_times > 400
        share[policy] = (r.assignments[late] == 0).mean()
    assert share["round_robin"] == pytest.approx(0.25, abs=0.01)
    for policy in ("least_connections", "p2c", "ewma"):
        assert share[policy] < 0.1, share


def test_outage_hurts_blind_policies_more():
    kw = dict(arrival_rate=3.0, service_rates=[1.0] * 4, n_requests=2000, seed=0, events=[sv.Outage(0, 100, 150)])
    p99 = {p: sv.simulate(p, **kw).p99 for p in ("round_robin", "least_connections")}
    assert p99["least_connections"] < p99["round_robin"] / 3


def test_queue_views_agree():
    r = sv.simulate("p2c", arrival_rate=3.0, service_rates=[1.0] * 4, n_requests=5000, seed=2)
    pmf = r.queue_length_pmf()
    assert pmf.sum() == pytest.approx(1.0)
    # mean queue per worker from the pmf = L / workers
    assert (pmf * np.arange(pmf.size)).sum() * 4 == pytest.approx(r.time_average_in_system(), rel=1e-9)
    t = np.array([10.0, 500.0, 1000.0])
    counts = r.in_system(t).sum(axis=1)
    brute = [((r.arrival_times <= x) & (r.departure_times > x)).sum() for x in t]
    np.testing.assert_array_equal(counts, brute)


# ---------------------------------------------------------------------------------------------------------
# bad inputs
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(policy="fastest"), ValueError, "policy must be one of"),
        (dict(arrival_rate=0.0), ValueError, "arrival_rate"),
        (dict(arrival_rate=float("nan")), ValueError, "arrival_rate"),
        (dict(service_rates=[1.0, 0.0]), ValueError, "service_rates"),
        (dict(service_rates=[1.0, -2.0]), ValueError, "service_rates"),
        (dict(service_rates=[]), ValueError, "service_rates"),
        (dict(service_rates="fast"), TypeError, "service_rates"),
        (dict(n_requests=0), ValueError, "n_requests"),
        (dict(n_requests=2.5), TypeError, "n_requests"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(tau=0.0, policy="ewma"), ValueError, "tau"),
        (dict(policy="p2c", service_rates=[1.0]), ValueError, "at least 2 workers"),
        (dict(events=[sv.Outage(5, 1, 2)]), ValueError, "event worker"),
        (dict(events=[(0, 1, 2)]), TypeError, "events"),
    ],
)
def test_bad_inputs(kwargs, exc, words):
    args = dict(policy="round_robin", arrival_rate=1.0, service_rates=[1.0, 1.0], n_requests=10) | kwargs
    policy = args.pop("policy")
    with pytest.raises(exc, match=words):
        sv.simulate(policy, **args)


def test_unstable_rejected_when_steady_state_asked():
    with pytest.raises(ValueError, match="sum\\(service_rates\\)"):
        sv.simulate("least_connections", arrival_rate=3.0, service_rates=[1.0, 1.0], n_requests=10, steady_state=True)
    # total capacity suffices, but round-robin overloads the slow worker
    with pytest.raises(ValueError, match="worker 1"):
        sv.simulate("round_robin", arrival_rate=1.5, service_rates=[2.0, 0.5], n_requests=10, steady_state=True)
    # weighted round-robin sends that worker only its share: fine
    sv.simulate("weighted_round_robin", arrival_rate=1.5, service_rates=[2.0, 0.5], n_requests=10, steady_state=True)
    # a permanent slowdown counts
    with pytest.raises(ValueError, match="steady state"):
        sv.simulate("p2c", arrival_rate=1.5, service_rates=[1.0, 1.0], n_requests=10, steady_state=True,
                    events=[sv.Slowdown(0, 0.0, math.inf, 4.0)])
    # without steady_state the transient of an overloaded system is simulated (latency grows)
    r = sv.simulate("round_robin", arrival_rate=3.0, service_rates=[1.0, 1.0], n_requests=4000)
    assert r.latencies[-500:].mean() > 10 * r.latencies[:100].mean()


def test_theory_rejects_unstable_and_bad_values():
    with pytest.raises(ValueError, match="no steady state"):
        sv.mm1_sojourn_time(1.0, 1.0)
    with pytest.raises(ValueError, match="no steady state"):
        sv.mmc_waiting_time(10.0, 1.0, 10)
    with pytest.raises(ValueError, match="offered_load"):
        sv.erlang_c(3, 3.0)
    with pytest.raises(ValueError, match="c must be"):
        sv.erlang_c(0, 0.5)
    with pytest.raises(ValueError, match="load must be a per-worker load"):
        sv.supermarket_tail(1.0, 2, 1)
    with pytest.raises(ValueError, match="alpha"):
        sv.ewma_update(1.0, 2.0, 0.0)
    with pytest.raises(ValueError, match="Outage.end must be finite"):
        sv.Outage(0, 1.0, math.inf)
    with pytest.raises(ValueError, match="factor"):
        sv.Slowdown(0, 1.0, 2.0, 0.0)
    with pytest.raises(ValueError, match="end must be > start"):
        sv.Slowdown(0, 2.0, 1.0, 2.0)
    with pytest.raises(ValueError, match="weights"):
        sv.smooth_wrr_sequence([1, 0], 3)
    with pytest.raises(ValueError, match="two different workers"):
        sv.p2c_pick([1, 2], 1, 1)
