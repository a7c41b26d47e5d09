"""Part D measurements: load-balancing policies, disruptions, the circuit breaker, retry storms, theory checks.

Every function runs a simulation from :mod:`lecture_lib.serving` or :mod:`lecture_lib.resilience` and returns
plain data (pandas DataFrames or dicts of results). The notebook ``notebooks/partD_distributed_inference.ipynb``
shows them (Zones 0, 1, 3, 5 and 6), ``tests/test_partD_experiments.py`` checks them, and
``lecture_lib.viz.partD`` draws them. Nothing here plots or prints.

Time unit: the default workers have service rates ``(1.5, 1.0, 1.0, 0.5)`` requests per unit of time, so the
mean service rate is 1 and one time unit is one mean service time (think "one 100 ms inference call").
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from lecture_lib import queueing as qt
from lecture_lib import resilience as rs
from lecture_lib import serving as sv
from lecture_lib import supervision as su
from lecture_lib import timeouts as to

__all__ = [
    "HETERO_RATES",
    "FAILURES",
    "offered_arrival_rate",
    "is_stable",
    "failure_events",
    "compare_policies",
    "summarize",
    "latency_vs_load",
    "slow_worker_experiment",
    "breaker_timeline",
    "retry_storm_table",
    "mm1_simulator_check",
    "mmc_check",
    "littles_law_check",
    "p2c_supermarket_check",
    "backoff_stats",
    "lecture_backoff_ranges",
    "ewma_step_response",
    "SupervisorLog",
    "supervise",
    "supervisor_demo",
    "deadline_propagation_table",
    "timeout_retry_table",
    "supervisor_strategy_table",
    "give_up_curve",
]

#: Heterogeneous workers: one fast GPU, two average, one slow (mean rate 1).
HETERO_RATES = (1.5, 1.0, 1.0, 0.5)
#: The widget's failure switch.
FAILURES = ("none", "slowdown", "outage")


def _load(load: float) -> float:
    if isinstance(load, bool) or not isinstance(load, (int, float, np.floating)) or not 0 < load < 1:
        raise ValueError(f"load must be the offered load rho in (0, 1) (arrival rate / total service rate); got {load!r}")
    return float(load)


def offered_arrival_rate(load: float, service_rates: Sequence[float] = HETERO_RATES) -> float:
    """The arrival rate that gives offered load ``rho = lambda / sum(mu_i)``: ``lambda = rho * sum(mu_i)``."""
    return _load(load) * float(np.sum(service_rates))


def is_stable(policy: str, load: float, service_rates: Sequence[float] = HETERO_RATES) -> bool:
    """Does ``policy`` have a steady state at offered load ``load``?

    State-blind policies split traffic in fixed shares: random and round-robin send ``lambda / c`` to every
    worker, so each needs ``lambda / c < mu_i`` (the slowest worker decides); weighted round-robin sends
    ``lambda * mu_i / sum(mu)``, stable whenever ``rho < 1``. State-aware policies are stable for ``rho < 1``.
    """
    if policy not in sv.SIMULATOR_POLICIES:
        raise ValueError(f"policy must be one of {sv.SIMULATOR_POLICIES}; got {policy!r}")
    rates = np.asarray(service_rates, dtype=float)
    lam = offered_arrival_rate(load, rates)
    if policy in ("random", "round_robin"):
        return bool(lam / rates.size < rates.min())
    return True


def failure_events(failure: str, *, horizon: float, worker: int = 0, factor: float = 5.0) -> tuple:
    """The widget's disruption on ``worker`` (the fast one by default), placed relative to the run's ``horizon``.

    "none": nothing. "slowdown": ``factor`` times slower during [0.4, 0.7) of the run. "outage": serves nothing
    during [0.4, 0.45) of the run (queued requests wait; the balancer is not told).
    """
    if failure not in FAILURES:
        raise ValueError(f"failure must be one of {FAILURES}; got {failure!r}")
    if failure == "none":
        return ()
    if failure == "slowdown":
        return (sv.Slowdown(worker, 0.4 * horizon, 0.7 * horizon, factor),)
    return (sv.Outage(worker, 0.4 * horizon, 0.45 * horizon),)


def compare_policies(
    load: float,
    *,
    tau: float | None = None,
    failure: str = "none",
    service_rates: Sequence[float] = HETERO_RATES,
    n_requests: int = 3000,
    seed: int = 0,
    policies: Sequence[str] = sv.BALANCING_POLICIES,
) -> dict[str, sv.SimResult]:
    """Run every policy on the same requests (same seed: common random numbers). The widget's pure function."""
    lam = offered_arrival_rate(load, service_rates)
    events = failure_events(failure, horizon=n_requests / lam)
    return {
        p: sv.simulate(p, arrival_rate=lam, service_rates=service_rates, n_requests=n_requests, seed=seed,
                       events=events, tau=tau)
        for p in policies
    }


def summarize(results: dict[str, sv.SimResult], *, warmup: int = 0) -> pd.DataFrame:
    """One row per policy: mean/p50/p95/p99 latency and the share of requests each worker got."""
    rows = []
    for policy, r in results.items():
        s = r.summary(warmup=warmup)
        share = np.bincount(r.assignments, minlength=r.n_workers) / r.assignments.size
        row = {"policy": policy, "mean": s["mean"], "p50": s["p50"], "p95": s["p95"], "p99": s["p99"]}
        row.update({f"share w{i}": float(x) for i, x in enumerate(share)})
        rows.append(row)
    return pd.DataFrame(rows).set_index("policy")


def latency_vs_load(
    loads: Sequence[float],
    *,
    policies: Sequence[str] = sv.BALANCING_POLICIES,
    service_rates: Sequence[float] = HETERO_RATES,
    n_requests: int = 6000,
    seeds: Sequence[int] = (0, 1),
) -> pd.DataFrame:
    """p50/p99 latency per policy and load, averaged over ``seeds`` (first 10 % of requests dropped as warm-up).

    Column ``stable`` says whether the policy has a steady state there (see :func:`is_stable`); where it does
    not, the numbers grow with the run length and are only a lower bound.
    """
    rows = []
    warm = n_requests // 10
    for load in loads:
        lam = offered_arrival_rate(load, service_rates)
        for p in policies:
            p50 = p99 = 0.0
            for seed in seeds:
                r = sv.simulate(p, arrival_rate=lam, service_rates=service_rates, n_requests=n_requests, seed=seed)
                q50, q99 = r.percentile([50, 99], warmup=warm)
                p50 += q50 / len(seeds)
                p99 += q99 / len(seeds)
            rows.append({"load": float(load), "policy": p, "p50": p50, "p99": p99,
                         "stable": is_stable(p, load, service_rates)})
    return pd.DataFrame(rows)


def slow_worker_experiment(
    *,
    load: float = 0.5,
    factor: float = 10.0,
    worker: int = 0,
    service_rates: Sequence[float] = HETERO_RATES,
    n_requests: int = 6000,
    seed: int = 0,
    bins: int = 30,
    policies: Sequence[str] = sv.BALANCING_POLICIES,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Worker ``worker`` turns ``factor`` times slower for the middle third of the run.

    Returns ``(table, timeline)``: per policy the share of requests sent to that worker before / during /
    after the slow phase and the p99 latency of requests arriving during it; and per policy and time bin the
    share of arrivals sent to it (for a plot).
    """
    lam = offered_arrival_rate(load, service_rates)
    horizon = n_requests / lam
    t0, t1 = horizon / 3, 2 * horizon / 3
    events = (sv.Slowdown(worker, t0, t1, factor),)
    rows, timeline = [], []
    edges = np.linspace(0.0, horizon, bins + 1)
    for p in policies:
        r = sv.simulate(p, arrival_rate=lam, service_rates=service_rates, n_requests=n_requests, seed=seed,
                        events=events)
        a = r.arrival_times
        to_w = r.assignments == worker
        phase = np.where(a < t0, 0, np.where(a < t1, 1, 2))
        row = {"policy": p}
        for k, name in enumerate(("before", "during", "after")):
            m = phase == k
            row[f"share {name}"] = float(to_w[m].mean())
        row["p99 during"] = float(np.percentile(r.latencies[phase == 1], 99))
        row["p99 all"] = r.p99
        rows.append(row)
        idx = np.clip(np.searchsorted(edges, a, side="right") - 1, 0, bins - 1)
        counts = np.bincount(idx, minlength=bins)
        hits = np.bincount(idx, weights=to_w.astype(float), minlength=bins)
        mid = (edges[:-1] + edges[1:]) / 2
        for t, c, h in zip(mid, counts, hits):
            timeline.append({"policy": p, "time": float(t), "share": float(h / c) if c else math.nan})
    table = pd.DataFrame(rows).set_index("policy")
    table.attrs.update(slow_start=t0, slow_end=t1, worker=worker, factor=factor)
    tl = pd.DataFrame(timeline)
    tl.attrs.update(slow_start=t0, slow_end=t1)
    return table, tl


def breaker_timeline(
    *,
    config: rs.BreakerConfig | None = None,
    outage: tuple[float, float] = (20.0, 50.0),
    horizon: float = 80.0,
    call_interval: float = 0.25,
    background_failure: float = 0.05,
    seed: int = 0,
) -> tuple[pd.DataFrame, list[tuple[float, str, str]]]:
    """A client calls a backend every ``call_interval`` s through a :class:`~lecture_lib.resilience.CircuitBreaker`.

    The backend (a :class:`~lecture_lib.resilience.FlakyBackend` on a :class:`~lecture_lib.resilience.FakeClock`)
    fails every call during ``outage`` and a fraction ``background_failure`` otherwise. Returns one row per
    attempted call (time, breaker state before the call, whether it reached the backend, whether it failed) and
    the breaker's transition history ``(time, from, to)``.
    """
    config = config or rs.BreakerConfig(window_size=20, failure_rate_threshold=0.5, minimum_calls=10,
                                        wait_in_open=5.0, permitted_calls_in_half_open=3)
    clock = rs.FakeClock()
    backend = rs.FlakyBackend(failure_rate=background_failure, outages=[outage], seed=seed, clock=clock)
    breaker = rs.CircuitBreaker(config, clock=clock)

    async def run() -> list[dict]:
        rows = []
        while clock() < horizon:
            state = breaker.state
            row = {"time": clock(), "state": state, "reached_backend": True, "failed": False}
            try:
                await breaker.call(backend.call)
            except rs.CircuitOpenError:
                row["reached_backend"] = False
            except rs.BackendError:
                row["failed"] = True
            rows.append(row)
            clock.advance(call_interval)
        return rows

    rows = _drive(run())
    return pd.DataFrame(rows), list(breaker.history)


def _drive(coro):
    """Run a coroutine that only ever yields bare ``asyncio.sleep(0)`` steps (everything here runs on a
    :class:`~lecture_lib.resilience.FakeClock`) to completion, without an event loop: no threads, no nested loops,
    so it behaves the same in a script, a test and a Jupyter kernel (which already runs a loop)."""
    try:
        while True:
            yielded = coro.send(None)
            if yielded is not None:
                coro.close()
                raise RuntimeError("this simulation awaited a real event-loop future; it must only use the fake clock")
    except StopIteration as done:
        return done.value


def retry_storm_table(
    jitters: Sequence[str] = ("none", "additive", "equal", "full", "decorrelated"),
    *,
    n_clients: int = 200,
    seeds: Sequence[int] = range(5),
    **kwargs,
) -> pd.DataFrame:
    """Total calls and completion time of :func:`~lecture_lib.resilience.simulate_retry_storm` per jitter,
    averaged over ``seeds``; also the busiest 0.1 s of calls once the server is back (the surge it must absorb)."""
    rows = []
    for j in jitters:
        calls, done, peak, gave_up = [], [], [], []
        for s in seeds:
            r = rs.simulate_retry_storm(n_clients, jitter=j, seed=s, **kwargs)
            calls.append(r.total_calls)
            done.append(r.completion_time)
            gave_up.append(r.gave_up)
            outage = kwargs.get("outage", 1.0)
            back = r.call_times[r.call_times >= outage] - outage
            peak.append(int(np.bincount(np.floor(back / 0.1).astype(np.int64)).max()) if back.size else 0)
        rows.append({"jitter": j, "calls per client": float(np.mean(calls)) / n_clients,
                     "completion time": float(np.mean(done)), "peak calls per 0.1 s after recovery": float(np.mean(peak)),
                     "gave up": float(np.mean(gave_up))})
    return pd.DataFrame(rows).set_index("jitter")


# ------------------------------------------------------------------------------------------ theory checks
def _ci(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    x = np.asarray(samples, dtype=float)
    half = stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean()), float(half)


def mm1_simulator_check(loads: Sequence[float] = (0.5, 0.8, 0.9), *, mu: float = 1.0, n_requests: int = 20000,
              reps: int = 8) -> pd.DataFrame:
    """Simulated M/M/1 mean latency (``reps`` replications, 95 % CI) against ``W = 1 / (mu - lambda)``."""
    rows = []
    for load in loads:
        lam = _load(load) * mu
        means = [sv.simulate("round_robin", arrival_rate=lam, service_rates=[mu], n_requests=n_requests, seed=s)
                 .latencies[n_requests // 10:].mean() for s in range(reps)]
        m, h = _ci(np.array(means))
        w = qt.mm1_sojourn_time(lam, mu)
        rows.append({"rho": load, "theory W": w, "simulated W": m, "95% CI ±": h,
                     "rel. error": (m - w) / w, "theory inside CI": abs(m - w) <= h})
    return pd.DataFrame(rows)


def mmc_check(loads: Sequence[float] = (0.7, 0.9), *, c: int = 10, mu: float = 1.0, n_requests: int = 20000,
              reps: int = 8) -> pd.DataFrame:
    """Simulated M/M/c mean wait in queue (shared queue) against Erlang C: ``Wq = C(c, a) / (c mu - lambda)``."""
    rows = []
    for load in loads:
        lam = _load(load) * c * mu
        waits = [sv.simulate("shared_queue", arrival_rate=lam, service_rates=[mu] * c, n_requests=n_requests,
                             seed=s).waits[n_requests // 10:].mean() for s in range(reps)]
        m, h = _ci(np.array(waits))
        wq = qt.mmc_waiting_time(lam, mu, c)
        rows.append({"rho": load, "P(wait) Erlang C": qt.erlang_c(c, lam / mu), "theory Wq": wq,
                     "simulated Wq": m, "95% CI ±": h, "rel. error": (m - wq) / wq,
                     "theory inside CI": abs(m - wq) <= h})
    return pd.DataFrame(rows)


def littles_law_check(results: dict[str, sv.SimResult]) -> pd.DataFrame:
    """Little's law ``L = lambda W`` per run: time-averaged number in system vs throughput x mean latency.

    Both sides are measured on the same run over ``[0, last departure]``; ``lambda`` is the measured
    throughput ``n / horizon``. The identity holds for every policy, stable or not, because it is accounting.
    """
    rows = []
    for name, r in results.items():
        L = r.time_average_in_system()
        lam = r.latencies.size / r.horizon
        W = float(r.latencies.mean())
        rows.append({"run": name, "L (time average)": L, "lambda x W": lam * W, "|rel. difference| < 1e-9": abs(L / (lam * W) - 1) < 1e-9})
    return pd.DataFrame(rows).set_index("run")


def p2c_supermarket_check(*, load: float = 0.9, n_workers: int = 100, n_requests: int = 100000,
                          seed: int = 0, max_i: int = 6) -> pd.DataFrame:
    """Power of two choices on ``n_workers`` identical workers against the supermarket model (N -> infinity).

    Rows ``i = 1..max_i``: the fraction of time a queue holds at least ``i`` requests, measured (random = d 1,
    p2c = d 2) and predicted (``s_i = rho**i`` for d = 1, ``rho**(2**i - 1)`` for d = 2). The first half of
    the run is dropped as warm-up.
    """
    lam = _load(load) * n_workers
    rates = [1.0] * n_workers
    out = {"i": list(range(1, max_i + 1))}
    for policy, d in (("random", 1), ("p2c", 2)):
        r = sv.simulate(policy, arrival_rate=lam, service_rates=rates, n_requests=n_requests, seed=seed)
        t_half = float(r.arrival_times[n_requests // 2])
        pmf = r.queue_length_pmf(t_half, float(r.arrival_times[-1]))
        sim = [float(pmf[i:].sum()) if i < pmf.size else 0.0 for i in range(1, max_i + 1)]  # P(length >= i)
        out[f"simulated d={d}"] = sim
        out[f"theory d={d}"] = [float(qt.supermarket_tail(load, d, i)) for i in range(1, max_i + 1)]
        lat = r.latencies[n_requests // 2:]
        out.setdefault("_mean", {})[d] = (float(lat.mean()), qt.supermarket_sojourn_time(load, d))
    means = out.pop("_mean")
    df = pd.DataFrame(out).set_index("i")
    df.attrs["mean latency"] = means
    return df


def backoff_stats(jitter: str, *, attempts: int = 6, base: float = 0.2, cap: float = 5.0, draws: int = 4000,
                  seed: int = 0) -> pd.DataFrame:
    """Per retry ``n``: the ceiling ``t_n = min(cap, base 2^n)`` and the min / mean / max of ``draws`` delays."""
    rng = np.random.default_rng(seed)
    d = np.array([rs.backoff_delays(attempts, base=base, cap=cap, jitter=jitter, rng=rng) for _ in range(draws)])
    t = np.minimum(cap, base * 2.0 ** np.arange(attempts))
    return pd.DataFrame({"n": np.arange(attempts), "t_n": t, "min": d.min(0), "mean": d.mean(0), "max": d.max(0),
                         "mean / t_n": d.mean(0) / t}).set_index("n")


def lecture_backoff_ranges(*, base: float = 200.0, spread: float = 100.0, attempts: int = 3,
                           draws: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The lecture's ``base 2^n + U[0, spread]`` (ms): stated range, drawn min/max, and spread / delay."""
    rng = np.random.default_rng(seed)
    d = np.array([rs.additive_jitter_delays(attempts, base=base, cap=1e12, spread=spread, rng=rng)
                  for _ in range(draws)])
    lo = base * 2.0 ** np.arange(attempts)
    return pd.DataFrame({"attempt": np.arange(attempts), "range from": lo, "range to": lo + spread,
                         "drawn min": d.min(0), "drawn max": d.max(0),
                         "jitter / delay": spread / lo}).set_index("attempt")


def ewma_step_response(alpha: float = 0.1, *, n: int = 40, before: float = 100.0, after: float = 500.0) -> np.ndarray:
    """EWMA of a latency that jumps from ``before`` to ``after`` at sample 0 (start value ``before``)."""
    out = np.empty(n)
    v = before
    for k in range(n):
        v = sv.ewma_update(v, after, alpha)
        out[k] = v
    return out


# ------------------------------------------------------------------------------------------ supervision
@dataclass
class SupervisorLog:
    """What :func:`supervise` did: ``events`` are ``(time, text)``; ``restarts`` counted; ``gave_up`` if the
    restart intensity was exceeded (Erlang/OTP's ``max_restarts`` within ``max_seconds``)."""

    events: list
    restarts: int = 0
    gave_up: bool = False


async def supervise(
    make_child: Callable[[int], "asyncio.Future"],
    *,
    max_restarts: int = 3,
    max_seconds: float = 5.0,
    clock: Callable[[], float],
    log: SupervisorLog | None = None,
) -> SupervisorLog:
    """A one-child ``one_for_one`` supervisor in asyncio: run ``make_child(generation)``; if it crashes
    (raises), start a fresh one; give up (and re-raise) after more than ``max_restarts`` crashes within any
    ``max_seconds`` window (:class:`lecture_lib.supervision.RestartIntensity`). A child that returns normally ends supervision ("let it crash": the child holds
    no recovery code, the supervisor restores a known-good state by restarting it)."""
    log = log or SupervisorLog(events=[])
    intensity = su.RestartIntensity(max_restarts, max_seconds)
    generation = 0
    while True:
        log.events.append((clock(), f"start child #{generation}"))
        try:
            result = await make_child(generation)
        except Exception as exc:  # noqa: BLE001 - any crash is restarted
            now = clock()
            log.events.append((now, f"child #{generation} crashed: {exc}"))
            if not intensity.allow(now):
                log.gave_up = True
                log.events.append((now, f"{len(intensity.recent)} crashes within {max_seconds} s: supervisor gives up"))
                raise
            log.restarts += 1
            generation += 1
            continue
        log.events.append((clock(), f"child #{generation} finished: {result}"))
        return log


def supervisor_demo(*, crash_every: int = 4, jobs: int = 10) -> SupervisorLog:
    """A worker serves ``jobs`` requests on a fake clock (1 s each) and crashes on every ``crash_every``-th
    request it handles (a poisoned input, say); the supervisor restarts it and it resumes from the queue."""
    clock = rs.FakeClock()
    queue = list(range(jobs))
    log = SupervisorLog(events=[])

    async def child(generation: int) -> str:
        handled = 0
        while queue:
            job = queue[0]
            await clock.sleep(1.0)
            handled += 1
            if handled % crash_every == 0:
                queue.pop(0)  # the poisoned request is dropped, not retried forever
                raise RuntimeError(f"request {job} crashed the worker")
            queue.pop(0)
        return f"all {jobs} requests handled"

    async def main() -> SupervisorLog:
        return await supervise(child, max_restarts=5, max_seconds=10.0, clock=clock, log=log)

    try:
        return _drive(main())
    except RuntimeError as exc:  # the supervisor gave up and re-raised the child's crash
        if not log.gave_up:
            raise exc
        return log


# ------------------------------------------------------------------------------------------ timeouts
def deadline_propagation_table(hop_medians: Sequence[float] = (0.05, 0.1, 0.2), *,
                               budgets: Sequence[float] = (0.3, 0.5, 1.0), sigma: float = 0.8,
                               n_requests: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """:func:`lecture_lib.timeouts.simulate_call_chain` with and without deadline propagation, per budget
    (seconds): share of requests failed and mean work per request (ms), of which orphaned (after the caller left)."""
    rows = []
    for b in budgets:
        for prop in (False, True):
            r = to.simulate_call_chain(hop_medians, budget=b, propagate=prop, sigma=sigma,
                                       n_requests=n_requests, seed=seed)
            rows.append({"budget (s)": b, "deadline propagated": prop, "failed": r.failed,
                         "work per request (ms)": 1000 * r.work, "orphaned (ms)": 1000 * r.orphaned,
                         "orphaned share": r.orphaned_share})
    return pd.DataFrame(rows)


def timeout_retry_table(load: float = 0.7, *, percentiles: Sequence[float] = (50, 90, 99, 99.9),
                        max_attempts: int = 3, n_requests: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Timeouts set at percentiles of the latency measured without timeouts (an M/M/1 server, rate 1, from
    :func:`lecture_lib.serving.simulate`), then :func:`lecture_lib.timeouts.simulate_timeout_retries` with
    no retries, with ``max_attempts`` attempts, and with attempts whose deadline reaches the server (``cancel``).
    Columns per setting: goodput (share of the offered requests answered in time, per unit time), attempts per
    request, share of server work wasted; plus the closed-form effective load of
    :func:`lecture_lib.timeouts.retry_amplification_fixed_point` (inf: no steady state)."""
    rho0 = _load(load)
    measured = sv.simulate("random", arrival_rate=rho0, service_rates=[1.0], n_requests=n_requests, seed=seed)
    settings = {"no retries": (1, False), f"{max_attempts} attempts": (max_attempts, False),
                f"{max_attempts} attempts + deadline": (max_attempts, True)}
    rows = []
    for q in percentiles:
        t = to.timeout_from_latencies(measured.latencies, q)
        row = {"timeout at": f"p{q:g}", "timeout": t}
        for name, (m, cancel) in settings.items():
            r = to.simulate_timeout_retries(load=rho0, timeout=t, max_attempts=m, cancel=cancel,
                                            n_requests=n_requests, seed=seed + 1)
            row[f"goodput: {name}"] = r.goodput
            row[f"attempts: {name}"] = r.attempts_per_request
            row[f"wasted: {name}"] = r.wasted_work
        row["model load (retries, no deadline)"] = to.retry_amplification_fixed_point(rho0, t, max_attempts)
        rows.append(row)
    return pd.DataFrame(rows).set_index("timeout at")


# ------------------------------------------------------------------------------------------ supervisor strategies
def supervisor_strategy_table(crash_rates: Sequence[float] = (0.01, 0.05, 0.01), *, horizon: float = 3600.0,
                              startup: float = 2.0, max_restarts: int = 3, max_seconds: float = 5.0,
                              seeds: Sequence[int] = range(20)) -> pd.DataFrame:
    """Each strategy of :data:`lecture_lib.supervision.STRATEGIES` on the same children (crash rates per second,
    ``startup`` seconds to come back), over ``seeds``: restart decisions and child (re)starts per hour, each
    child's availability (mean over seeds), and the share of runs in which the supervisor gave up."""
    rows = []
    for strategy in su.STRATEGIES:
        runs = [su.simulate_supervisor(strategy, crash_rates, horizon=horizon, startup=startup,
                                       max_restarts=max_restarts, max_seconds=max_seconds, seed=s) for s in seeds]
        row = {"strategy": strategy,
               "restarts per hour": np.mean([len(r.restart_times) for r in runs]) * 3600.0 / horizon,
               "child starts per hour": np.mean([sum(r.starts) - len(r.starts) for r in runs]) * 3600.0 / horizon}
        for i in range(len(crash_rates)):
            row[f"child {i} up"] = np.mean([r.availability[i] for r in runs])
        row["gave up"] = np.mean([r.gave_up for r in runs])
        rows.append(row)
    return pd.DataFrame(rows).set_index("strategy")


def give_up_curve(crash_rates_per_min: Sequence[float] = (1, 2, 4, 6, 8, 12, 16, 24), *,
                  intensities: Sequence[tuple[int, float]] = ((1, 5.0), (3, 5.0), (10, 60.0)),
                  horizon: float = 600.0, seeds: Sequence[int] = range(40)) -> pd.DataFrame:
    """Share of runs (over ``seeds``) in which a one-child ``one_for_one`` supervisor gives up within ``horizon``
    seconds, against the child's crash rate (per minute), for each ``(max_restarts, max_seconds)``."""
    rows = []
    for per_min in crash_rates_per_min:
        row = {"crashes per minute": per_min}
        for r_max, t_max in intensities:
            runs = [su.simulate_supervisor("one_for_one", [per_min / 60.0], horizon=horizon, max_restarts=r_max,
                                           max_seconds=t_max, seed=s) for s in seeds]
            row[f"{r_max} in {t_max:g} s"] = np.mean([r.gave_up for r in runs])
        rows.append(row)
    return pd.DataFrame(rows).set_index("crashes per minute")
