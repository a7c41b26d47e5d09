"""Load balancing for inference servers: the balancing policies and a discrete-event simulator.

Taught in ``notebooks/partD_distributed_inference.ipynb`` (Part D; the lecture's section 3.D.1).

The model
---------
Requests arrive as a Poisson process of rate ``arrival_rate`` (mean gap ``1/arrival_rate``). A load balancer
sends each request, at the moment it arrives, to one of ``c`` workers. Worker ``i`` serves its own queue first
in, first out, and a request's service takes an exponential time of rate ``service_rates[i]`` (mean
``1/service_rates[i]``). What the simulator records per request:

* ``latency`` = sojourn time = waiting in the queue + service,
* ``assignment`` = the worker that served it.

Because a worker's queue is FIFO and a request never moves once placed, its departure time is fixed the moment
it is dispatched: ``D_k = max(A_k, D_prev) + S_k`` (Lindley's recursion). For policies that ignore the
workers' state (random, round-robin, weighted round-robin) the whole run is therefore vectorized with NumPy:
``D = C + maximum.accumulate(A - C + S)`` with ``C = cumsum(S)`` per worker. Policies that look at the
workers' state (least-connections, power of two choices, peak-EWMA) run a small heap-based event loop.

Disruptions (:class:`Slowdown`, :class:`Outage`) change a worker's *speed* on a schedule. Work is measured in
"normal-speed seconds": a worker slowed down by ``factor`` does ``1/factor`` seconds of work per second, a
worker in an outage does none (queued requests wait until it recovers; the load balancer is not told, as
with a worker that hangs without failing its health check). Internally every time is mapped to the worker's
cumulative work ``W(t)``, Lindley's recursion runs in work units, and results are mapped back with ``W⁻¹``.

``policy="shared_queue"`` is the M/M/c model: one FIFO queue in front of all workers; a request starts on
whichever worker frees up first (on the longest-idle worker when several are idle). It is what Erlang's
formulas describe, so it validates the simulator against theory. The theory itself (M/M/1, Erlang C, M/M/c,
the supermarket model, Lindley's recursion) lives in :mod:`lecture_lib.queueing` (Part C); it is re-exported
here under the same names, so ``serving.erlang_c`` is ``queueing.erlang_c``.

Random numbers come from ``numpy.random.SeedSequence(seed)``: arrivals, service work and the policy's own
coin flips use separate streams, so two policies run with the same seed see exactly the same requests
(common random numbers: differences between policies are not sampling noise).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from lecture_lib._checks import integer as _integer
from lecture_lib._checks import positive as _positive
from lecture_lib.queueing import (
    erlang_b,
    erlang_c,
    lindley,
    mm1_sojourn_time,
    mm1_waiting_time,
    mmc_sojourn_time,
    mmc_waiting_time,
    supermarket_expected_max,
    supermarket_sojourn_time,
    supermarket_tail,
    time_average_count,
)

__all__ = [
    "BALANCING_POLICIES",
    "SIMULATOR_POLICIES",
    "SimResult",
    "Slowdown",
    "Outage",
    "simulate",
    "simulate_balancer",
    "replay_assignments",
    # pickers
    "RoundRobin",
    "SmoothWeightedRoundRobin",
    "LeastConnections",
    "PowerOfTwoChoices",
    "PeakEwma",
    "RandomPicker",
    "make_balancer",
    "round_robin_sequence",
    "smooth_wrr_step",
    "smooth_wrr_sequence",
    "least_connections_pick",
    "p2c_pick",
    "ewma_update",
    "ewma_half_life",
    "ewma_alpha",
    "peak_ewma_decay",
    "peak_ewma_update",
    "peak_ewma_load",
    # theory, re-exported from lecture_lib.queueing
    "mm1_sojourn_time",
    "mm1_waiting_time",
    "erlang_b",
    "erlang_c",
    "mmc_waiting_time",
    "mmc_sojourn_time",
    "supermarket_tail",
    "supermarket_sojourn_time",
    "supermarket_expected_max",
]

#: The six load-balancing policies: a request is sent to one worker's queue the moment it arrives.
BALANCING_POLICIES = ("random", "round_robin", "weighted_round_robin", "least_connections", "p2c", "ewma")
#: Policies :func:`simulate` accepts: the balancers plus "shared_queue", the M/M/c validation mode (not a balancer).
SIMULATOR_POLICIES = (*BALANCING_POLICIES, "shared_queue")
_STATIC_POLICIES = ("random", "round_robin", "weighted_round_robin")


# --------------------------------------------------------------------------------------------------------------
# input validation helpers
# --------------------------------------------------------------------------------------------------------------


def _rates(name: str, rates: Iterable[float]) -> np.ndarray:
    try:
        arr = np.asarray(list(rates) if not isinstance(rates, np.ndarray) else rates, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a sequence of positive numbers; got {rates!r}") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of rates (one per worker); got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must all be finite and > 0 (a rate is 1/mean time); got {arr.tolist()}")
    return arr


# --------------------------------------------------------------------------------------------------------------
# pure pickers (the exercises re-implement these)
# --------------------------------------------------------------------------------------------------------------


def round_robin_sequence(n_workers: int, n: int, start: int = 0) -> np.ndarray:
    """Round-robin: request ``k`` goes to worker ``(start + k) mod n_workers``. O(1) per pick, ignores load."""
    n_workers = _integer("n_workers", n_workers)
    n = _integer("n", n, minimum=0)
    return (np.arange(n, dtype=np.int64) + int(start)) % n_workers


def smooth_wrr_step(current: Sequence[float], weights: Sequence[float]) -> tuple[int, list[float]]:
    """One pick of nginx's smooth weighted round-robin; returns ``(chosen, new_current)`` (inputs unchanged).

    Every worker's current weight grows by its weight; the largest current weight wins (the lowest index on a
    tie) and is lowered by the total weight. Over ``sum(weights)`` picks each worker is chosen ``weight``
    times, spread out: weights ``{5, 1, 1}`` give ``a a b a c a a`` rather than ``a a a a a b c``.
    """
    if len(current) != len(weights):
        raise ValueError(f"current and weights must have one entry per worker; got {len(current)} and {len(weights)}")
    if len(weights) == 0:
        raise ValueError("weights must name at least one worker; got an empty sequence")
    total = 0.0
    new = []
    for c, w in zip(current, weights):
        if not (w > 0) or not math.isfinite(w):
            raise ValueError(f"weights must all be finite and > 0; got {list(weights)}")
        total += w
        new.append(c + w)
    best = max(range(len(new)), key=new.__getitem__)
    new[best] -= total
    return best, new


def smooth_wrr_sequence(weights: Sequence[float], n: int) -> np.ndarray:
    """The first ``n`` picks of smooth weighted round-robin starting from all-zero current weights.

    With integer weights the sequence repeats every ``sum(weights)`` picks (the current weights return to
    zero), so only one period is computed and then tiled.
    """
    w = [float(x) for x in _rates("weights", weights)]
    n = _integer("n", n, minimum=0)
    current = [0.0] * len(w)
    out: list[int] = []
    while len(out) < n:
        pick, current = smooth_wrr_step(current, w)
        out.append(pick)
        if not any(current):  # back at the start: the sequence is periodic from here on
            period = np.asarray(out, dtype=np.int64)
            return np.resize(period, n)
    return np.asarray(out, dtype=np.int64)


def least_connections_pick(connections: Sequence[int], u: float | None = None) -> int:
    """Least-connections: the worker with the fewest requests in flight (queued + in service).

    Ties go to the lowest index when ``u`` is None, otherwise to ``ties[floor(u * len(ties))]`` for a
    uniform ``u`` in [0, 1) (random tie-breaking, so idle workers share the load evenly).
    """
    if len(connections) == 0:
        raise ValueError("connections must have one count per worker; got an empty sequence")
    m = min(connections)
    if u is None:
        return list(connections).index(m)
    ties = [i for i, x in enumerate(connections) if x == m]
    return ties[int(u * len(ties))]


def p2c_pick(loads: Sequence[float], i: int, j: int) -> int:
    """Power of two choices: of two workers drawn at random (``i != j``), take the less loaded one (``i`` on a tie)."""
    if i == j:
        raise ValueError(f"p2c needs two different workers; got i = j = {i}")
    return i if loads[i] <= loads[j] else j


def ewma_update(previous: float, sample: float, alpha: float) -> float:
    """Per-sample EWMA (the lecture's form): ``EWMA_t = alpha * L_t + (1 - alpha) * EWMA_{t-1}``, 0 < alpha <= 1."""
    if not (0 < alpha <= 1):
        raise ValueError(f"alpha must be in (0, 1]; got {alpha!r}")
    return alpha * sample + (1.0 - alpha) * previous


def ewma_half_life(alpha: float) -> float:
    """Samples after which an old value's weight has halved: ``ln 0.5 / ln(1 - alpha)`` (6.58 for alpha = 0.1)."""
    if not (0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1) for a finite half-life; got {alpha!r}")
    return math.log(0.5) / math.log(1.0 - alpha)


def ewma_alpha(dt: float, tau: float) -> float:
    """The per-sample alpha of a time-decayed EWMA: ``alpha = 1 - exp(-dt / tau)`` for samples ``dt`` apart."""
    if dt < 0:
        raise ValueError(f"dt must be >= 0; got {dt!r}")
    return 1.0 - math.exp(-dt / _positive("tau", tau))


def peak_ewma_decay(cost: float, stamp: float, now: float, tau: float) -> float:
    """The peak-EWMA cost read at ``now``: it decays toward 0 as ``cost * exp(-(now - stamp) / tau)``.

    Decaying on read (as Finagle and Tower do) makes a worker that was slow long ago look cheap again,
    so it gets probed instead of being starved forever.
    """
    return cost * math.exp(-max(now - stamp, 0.0) / tau)


def peak_ewma_update(cost: float, stamp: float, rtt: float, now: float, tau: float) -> tuple[float, float]:
    """Record a latency sample ``rtt`` observed at ``now``; returns ``(new_cost, new_stamp)``.

    Peak-sensitive: a sample above the current cost replaces it at once (a worker turning slow is noticed
    at the first slow reply); otherwise ``w = exp(-(now - stamp) / tau)`` and ``cost = w * cost + (1 - w) * rtt``.
    """
    if rtt < 0:
        raise ValueError(f"rtt must be >= 0; got {rtt!r}")
    tau = _positive("tau", tau)
    if rtt > cost:
        return rtt, now
    w = math.exp(-max(now - stamp, 0.0) / tau)
    return w * cost + (1.0 - w) * rtt, now


def peak_ewma_load(cost: float, pending: int) -> float:
    """Peak-EWMA's load score: expected latency times the work ahead, ``cost * (pending + 1)``."""
    return cost * (pending + 1)


# --------------------------------------------------------------------------------------------------------------
# balancer objects: one small class per policy, used by the simulator's event loop
# --------------------------------------------------------------------------------------------------------------


class _Uniforms:
    """Uniform [0, 1) draws from ``rng``, fetched in blocks (one NumPy call per 4096 draws, not per draw)."""

    def __init__(self, rng: np.random.Generator, block: int = 4096) -> None:
        self._rng = rng
        self._block = block
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        if self._i >= len(self._buf):
            self._buf = self._rng.random(self._block).tolist()
            self._i = 0
        self._i += 1
        return self._buf[self._i - 1]


class _Balancer:
    """Interface: ``pick(now)`` chooses a worker; ``dispatched``/``completed`` keep the balancer's view of state."""

    def __init__(self, n_workers: int) -> None:
        self.n_workers = n_workers
        self.pending = [0] * n_workers  # requests in flight per worker, as the balancer counts them

    def pick(self, now: float) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def dispatched(self, worker: int, now: float) -> None:
        self.pending[worker] += 1

    def completed(self, worker: int, now: float, latency: float) -> None:
        self.pending[worker] -= 1


class RandomPicker(_Balancer):
    """Uniformly random worker, ignoring load."""

    def __init__(self, n_workers: int, rng: np.random.Generator) -> None:
        super().__init__(n_workers)
        self._u = _Uniforms(rng)

    def pick(self, now: float) -> int:
        return int(self._u() * self.n_workers)


class RoundRobin(_Balancer):
    """Round-robin: workers in turn, 0, 1, ..., c-1, 0, ..."""

    def __init__(self, n_workers: int) -> None:
        super().__init__(n_workers)
        self._next = 0

    def pick(self, now: float) -> int:
        w = self._next
        self._next = (w + 1) % self.n_workers
        return w


class SmoothWeightedRoundRobin(_Balancer):
    """nginx's smooth weighted round-robin (see :func:`smooth_wrr_step`)."""

    def __init__(self, weights: Sequence[float]) -> None:
        self.weights = [float(x) for x in _rates("weights", weights)]
        super().__init__(len(self.weights))
        self.current = [0.0] * self.n_workers

    def pick(self, now: float) -> int:
        w, self.current = smooth_wrr_step(self.current, self.weights)
        return w


class LeastConnections(_Balancer):
    """Fewest requests in flight; random tie-breaking."""

    def __init__(self, n_workers: int, rng: np.random.Generator) -> None:
        super().__init__(n_workers)
        self._u = _Uniforms(rng)

    def pick(self, now: float) -> int:
        return least_connections_pick(self.pending, self._u())


class PowerOfTwoChoices(_Balancer):
    """Two workers drawn uniformly without replacement; the one with fewer requests in flight wins."""

    def __init__(self, n_workers: int, rng: np.random.Generator) -> None:
        if n_workers < 2:
            raise ValueError(f"p2c needs at least 2 workers; got {n_workers}")
        super().__init__(n_workers)
        self._u = _Uniforms(rng)

    def pick(self, now: float) -> int:
        i = int(self._u() * self.n_workers)
        j = int(self._u() * (self.n_workers - 1))
        j += j >= i
        return p2c_pick(self.pending, i, j)


class PeakEwma(_Balancer):
    """Finagle's peak-EWMA: pick the lowest ``cost * (pending + 1)``, cost = peak-sensitive latency EWMA.

    Every worker starts with cost ``initial_cost`` (Tower uses a default RTT the same way); the cost decays
    with time constant ``tau`` (see :func:`peak_ewma_update`). Ties are broken at random.
    """

    def __init__(self, n_workers: int, tau: float, initial_cost: float, rng: np.random.Generator) -> None:
        super().__init__(n_workers)
        self.tau = _positive("tau", tau)
        self.cost = [float(initial_cost)] * n_workers
        self.stamp = [0.0] * n_workers
        self._u = _Uniforms(rng)

    def loads(self, now: float) -> list[float]:
        tau = self.tau
        return [
            peak_ewma_load(c * math.exp(-max(now - s, 0.0) / tau), p)
            for c, s, p in zip(self.cost, self.stamp, self.pending)
        ]

    def pick(self, now: float) -> int:
        loads = self.loads(now)
        m = min(loads)
        ties = [i for i, x in enumerate(loads) if x == m]
        return ties[0] if len(ties) == 1 else ties[int(self._u() * len(ties))]

    def completed(self, worker: int, now: float, latency: float) -> None:
        self.pending[worker] -= 1
        self.cost[worker], self.stamp[worker] = peak_ewma_update(
            self.cost[worker], self.stamp[worker], latency, now, self.tau
        )


def make_balancer(
    policy: str,
    service_rates: Sequence[float],
    *,
    rng: np.random.Generator | None = None,
    tau: float | None = None,
) -> _Balancer:
    """A balancer object for ``policy`` (one of :data:`BALANCING_POLICIES`)."""
    rates = _rates("service_rates", service_rates)
    rng = np.random.default_rng(0) if rng is None else rng
    c = rates.size
    if policy == "random":
        return RandomPicker(c, rng)
    if policy == "round_robin":
        return RoundRobin(c)
    if policy == "weighted_round_robin":
        return SmoothWeightedRoundRobin(rates)
    if policy == "least_connections":
        return LeastConnections(c, rng)
    if policy == "p2c":
        return PowerOfTwoChoices(c, rng)
    if policy == "ewma":
        mean_service = 1.0 / float(np.mean(rates))
        return PeakEwma(c, 10.0 * mean_service if tau is None else tau, mean_service, rng)
    raise ValueError(f"policy must be one of {BALANCING_POLICIES}; got {policy!r}")


# --------------------------------------------------------------------------------------------------------------
# disruptions and the per-worker speed profile
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slowdown:
    """Worker ``worker`` runs ``factor`` times slower during ``[start, end)`` (``end`` may be ``math.inf``)."""

    worker: int
    start: float
    end: float
    factor: float

    def __post_init__(self) -> None:
        if not self.factor > 0 or not math.isfinite(self.factor):
            raise ValueError(f"Slowdown.factor must be finite and > 0 (2 = twice as slow); got {self.factor!r}")
        _check_window("Slowdown", self.start, self.end, allow_inf=True)


@dataclass(frozen=True)
class Outage:
    """Worker ``worker`` serves nothing during ``[start, end)``; its queue waits and drains after ``end``."""

    worker: int
    start: float
    end: float

    def __post_init__(self) -> None:
        _check_window("Outage", self.start, self.end, allow_inf=False)


def _check_window(kind: str, start: float, end: float, *, allow_inf: bool) -> None:
    if not (math.isfinite(start) and start >= 0):
        raise ValueError(f"{kind}.start must be a finite time >= 0; got {start!r}")
    if allow_inf and end == math.inf:
        return
    if not math.isfinite(end):
        raise ValueError(
            f"{kind}.end must be finite (a worker that never recovers would hold its queued requests forever); got {end!r}"
        )
    if not end > start:
        raise ValueError(f"{kind}.end must be > start; got start={start!r}, end={end!r}")


class _Profile:
    """Piecewise-constant speed of one worker; maps real time t <-> cumulative work W(t)."""

    def __init__(self, events: Sequence[Slowdown | Outage]) -> None:
        cuts = sorted({0.0, *(e.start for e in events), *(e.end for e in events if math.isfinite(e.end))})
        t = np.asarray(cuts, dtype=float)
        speed = np.ones_like(t)
        for e in events:
            active = (t >= e.start) & (t < e.end)
            speed[active] *= 0.0 if isinstance(e, Outage) else 1.0 / e.factor
        self.t = t
        self.speed = speed
        self.w = np.concatenate([[0.0], np.cumsum(np.diff(t) * speed[:-1])])

    def work(self, times):
        j = np.searchsorted(self.t, times, side="right") - 1
        return self.w[j] + self.speed[j] * (times - self.t[j])

    def time(self, work):
        j = np.searchsorted(self.w, work, side="right") - 1
        return self.t[j] + (work - self.w[j]) / self.speed[j]


# --------------------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------------------


@dataclass
class SimResult:
    """One simulated run. Arrays are per request, in arrival order.

    ``latencies`` = ``departure_times - arrival_times`` (sojourn: wait + service), ``waits`` = time before
    service started, ``service_times`` = real time spent in service, ``assignments`` = worker index.
    """

    policy: str
    arrival_rate: float
    service_rates: np.ndarray
    arrival_times: np.ndarray
    start_times: np.ndarray
    departure_times: np.ndarray
    assignments: np.ndarray
    seed: int
    events: tuple = field(default=())

    @property
    def latencies(self) -> np.ndarray:
        return self.departure_times - self.arrival_times

    @property
    def waits(self) -> np.ndarray:
        return self.start_times - self.arrival_times

    @property
    def service_times(self) -> np.ndarray:
        return self.departure_times - self.start_times

    @property
    def n_workers(self) -> int:
        return int(self.service_rates.size)

    @property
    def offered_load(self) -> float:
        """rho = arrival_rate / sum(service_rates): the fraction of total capacity the traffic asks for."""
        return self.arrival_rate / float(self.service_rates.sum())

    def percentile(self, q, *, warmup: int = 0):
        """Latency percentile(s) ``q`` in [0, 100], skipping the first ``warmup`` requests."""
        lat = self.latencies[_integer("warmup", warmup, minimum=0):]
        if lat.size == 0:
            raise ValueError(f"warmup must leave at least one request; got warmup={warmup} for {self.latencies.size}")
        return np.percentile(lat, q)

    @property
    def p50(self) -> float:
        return float(self.percentile(50))

    @property
    def p95(self) -> float:
        return float(self.percentile(95))

    @property
    def p99(self) -> float:
        return float(self.percentile(99))

    def summary(self, *, warmup: int = 0) -> dict:
        """Headline numbers: mean, p50, p95, p99 latency (after ``warmup`` requests), mean utilization, rho."""
        p50, p95, p99 = self.percentile([50, 95, 99], warmup=warmup)
        return {
            "policy": self.policy,
            "mean": float(self.latencies[warmup:].mean()),
            "p50": float(p50),
            "p95": float(p95),
            "p99": float(p99),
            "utilization": float(self.utilization.mean()),
            "offered_load": self.offered_load,
        }

    @property
    def horizon(self) -> float:
        """The end of the run: the last departure."""
        return float(self.departure_times.max())

    @property
    def utilization(self) -> np.ndarray:
        """Per worker: the fraction of ``[0, horizon]`` it spent serving."""
        busy = np.bincount(self.assignments, weights=self.service_times, minlength=self.n_workers)
        return busy / self.horizon

    def in_system(self, times) -> np.ndarray:
        """Requests at each worker (queued + in service) at each of ``times``: shape ``[len(times), n_workers]``."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        out = np.empty((times.size, self.n_workers), dtype=np.int64)
        for w in range(self.n_workers):
            mine = self.assignments == w
            a = self.arrival_times[mine]  # sorted (arrival order)
            d = np.sort(self.departure_times[mine])
            out[:, w] = np.searchsorted(a, times, side="right") - np.searchsorted(d, times, side="right")
        return out

    def time_average_in_system(self, t0: float = 0.0, t1: float | None = None) -> float:
        """L: the time-averaged number of requests in the whole system over ``[t0, t1]`` (default: whole run)."""
        t1 = self.horizon if t1 is None else float(t1)
        if not t1 > t0:
            raise ValueError(f"t1 must be > t0; got t0={t0!r}, t1={t1!r}")
        return time_average_count(self.arrival_times, self.departure_times, t0, t1)

    def queue_length_pmf(self, t0: float = 0.0, t1: float | None = None) -> np.ndarray:
        """Time-averaged distribution of one worker's queue length (averaged over workers) on ``[t0, t1]``.

        ``pmf[k]`` = fraction of worker-time with exactly ``k`` requests at the worker.
        """
        t1 = self.horizon if t1 is None else float(t1)
        if not t1 > t0:
            raise ValueError(f"t1 must be > t0; got t0={t0!r}, t1={t1!r}")
        total = np.zeros(1)
        for w in range(self.n_workers):
            mine = self.assignments == w
            times = np.concatenate([self.arrival_times[mine], self.departure_times[mine]])
            steps = np.concatenate([np.ones(mine.sum(), np.int64), -np.ones(mine.sum(), np.int64)])
            order = np.argsort(times, kind="stable")
            times = times[order]
            level = np.concatenate([[0], np.cumsum(steps[order])])  # level on [times[j-1], times[j])
            seg_start = np.clip(np.concatenate([[0.0], times]), t0, t1)
            seg_end = np.clip(np.concatenate([times, [t1]]), t0, t1)
            hist = np.bincount(level, weights=seg_end - seg_start)
            if hist.size > total.size:
                total = np.pad(total, (0, hist.size - total.size))
            total[: hist.size] += hist
        return total / total.sum()


# --------------------------------------------------------------------------------------------------------------
# the simulator
# --------------------------------------------------------------------------------------------------------------


def _stability_check(policy: str, arrival_rate: float, rates: np.ndarray, events) -> None:
    long_run = rates.copy()
    for e in events:  # a permanent slowdown lowers the long-run rate
        if isinstance(e, Slowdown) and e.end == math.inf:
            long_run[e.worker] /= e.factor
    if policy == "random" or policy == "round_robin":
        per_worker = np.full(rates.size, arrival_rate / rates.size)
    elif policy == "weighted_round_robin":
        per_worker = arrival_rate * rates / rates.sum()
    else:
        total = float(long_run.sum())
        if arrival_rate >= total:
            raise ValueError(
                f"arrival_rate={arrival_rate:g} must be below the total service rate sum(service_rates)={total:g} "
                f"for a steady state (offered load rho={arrival_rate / total:.3g} >= 1); pass steady_state=False "
                "to simulate the growing queue"
            )
        return
    bad = np.flatnonzero(per_worker >= long_run)
    if bad.size:
        w = int(bad[0])
        raise ValueError(
            f"policy {policy!r} sends rate {per_worker[w]:g} to worker {w}, whose service rate is only "
            f"{long_run[w]:g}: that queue grows without bound, so there is no steady state; pass "
            "steady_state=False to simulate the growing queue"
        )


def simulate(
    policy: str,
    *,
    arrival_rate: float,
    service_rates: Sequence[float],
    n_requests: int,
    seed: int = 0,
    events: Sequence[Slowdown | Outage] = (),
    tau: float | None = None,
    steady_state: bool = False,
) -> SimResult:
    """Simulate ``n_requests`` Poisson arrivals dispatched by ``policy`` to workers with exponential service.

    policy: "random", "round_robin", "weighted_round_robin" (nginx smooth WRR, weights = service_rates),
        "least_connections", "p2c" (power of two choices), "ewma" (peak-EWMA latency x (pending + 1)), or
        "shared_queue" (one FIFO queue for all workers: the M/M/c model).
    events: :class:`Slowdown` / :class:`Outage` schedules applied to workers.
    tau: peak-EWMA decay time (default ``10 / mean(service_rates)``, ten mean service times).
    steady_state: if True, reject rates for which the policy's queues have no steady state
        (for state-blind policies per worker: rate sent to worker i >= service_rates[i]; otherwise
        arrival_rate >= sum(service_rates)).

    Mean latency of a stable M/M/1 queue (one worker) approaches ``1 / (mu - lambda)``; see
    :func:`mm1_sojourn_time`, :func:`mmc_sojourn_time`.
    """
    if not isinstance(policy, str) or policy not in SIMULATOR_POLICIES:
        raise ValueError(f"policy must be one of {SIMULATOR_POLICIES}; got {policy!r}")
    lam = _positive("arrival_rate", arrival_rate)
    rates = _rates("service_rates", service_rates)
    n = _integer("n_requests", n_requests)
    seed = _integer("seed", seed, minimum=0)
    c = rates.size
    events = tuple(events)
    for e in events:
        if not isinstance(e, (Slowdown, Outage)):
            raise TypeError(f"events must be Slowdown or Outage instances; got {type(e).__name__}")
        if isinstance(e.worker, bool) or not isinstance(e.worker, (int, np.integer)) or not 0 <= e.worker < c:
            raise ValueError(f"event worker must be an index in 0..{c - 1}; got {e.worker!r}")
    if tau is not None:
        tau = _positive("tau", tau)
    if policy == "p2c" and c < 2:
        raise ValueError(f"policy 'p2c' needs at least 2 workers; got service_rates of length {c}")
    if steady_state:
        _stability_check(policy, lam, rates, events)

    arrivals_ss, work_ss, policy_ss = np.random.SeedSequence(seed).spawn(3)
    arrivals = np.cumsum(np.random.default_rng(arrivals_ss).standard_exponential(n) / lam)
    unit_work = np.random.default_rng(work_ss).standard_exponential(n)
    policy_rng = np.random.default_rng(policy_ss)
    profiles = [_Profile([e for e in events if e.worker == w]) if any(e.worker == w for e in events) else None
                for w in range(c)]

    if policy in _STATIC_POLICIES:
        if policy == "random":
            assign = policy_rng.integers(c, size=n)
        elif policy == "round_robin":
            assign = round_robin_sequence(c, n)
        else:
            assign = smooth_wrr_sequence(rates, n)
        start, depart = _lindley_per_worker(arrivals, unit_work / rates[assign], assign, c, profiles)
    elif policy == "shared_queue":
        assign, start, depart = _shared_queue(arrivals, unit_work, rates, profiles)
    else:
        balancer = make_balancer(policy, rates, rng=policy_rng, tau=tau)
        assign, start, depart = _event_loop(balancer, arrivals, unit_work, rates, profiles)
    return SimResult(policy, lam, rates, arrivals, start, depart, np.asarray(assign, dtype=np.int64), seed, events)


def _trace(arrival_times, unit_work, service_rates, events):
    """Validated arrays and per-worker speed profiles for a given trace (see :func:`simulate_balancer`)."""
    arr = np.asarray(arrival_times, dtype=np.float64).ravel()
    work = np.asarray(unit_work, dtype=np.float64).ravel()
    rates = _rates("service_rates", service_rates)
    if arr.size == 0 or work.shape != arr.shape:
        raise ValueError(f"arrival_times and unit_work must be non-empty and of one length; got {arr.size} and {work.size}")
    if not (np.all(np.isfinite(arr)) and arr[0] >= 0 and np.all(np.diff(arr) >= 0)):
        raise ValueError("arrival_times must be finite, >= 0 and non-decreasing")
    if not (np.all(np.isfinite(work)) and np.all(work >= 0)):
        raise ValueError("unit_work must be finite and >= 0 (work in normal-speed seconds times the rate)")
    events = tuple(events)
    for e in events:
        if not isinstance(e, (Slowdown, Outage)):
            raise TypeError(f"events must be Slowdown or Outage instances; got {type(e).__name__}")
        if isinstance(e.worker, bool) or not isinstance(e.worker, (int, np.integer)) or not 0 <= e.worker < rates.size:
            raise ValueError(f"event worker must be an index in 0..{rates.size - 1}; got {e.worker!r}")
    profiles = [_Profile([e for e in events if e.worker == w]) if any(e.worker == w for e in events) else None
                for w in range(rates.size)]
    return arr, work, rates, profiles


def simulate_balancer(balancer, arrival_times, unit_work, service_rates, events=()) -> np.ndarray:
    """Run any balancer object on a given trace; returns the worker index per request (arrival order).

    ``balancer``: an object with ``pick(now) -> int``, ``dispatched(worker, now)`` and
    ``completed(worker, now, latency)`` (the interface of :class:`RoundRobin`, :class:`PeakEwma`, ...), told
    about every completion before the next pick, as in :func:`simulate`. Request ``k`` needs
    ``unit_work[k] / service_rates[w]`` normal-speed seconds on worker ``w``; ``events`` slow workers down.
    The Part D challenge runs the learner's balancer with this and scores the assignments with
    :func:`replay_assignments`. A pick that is not a worker index raises ValueError.
    """
    arr, work, rates, profiles = _trace(arrival_times, unit_work, service_rates, events)
    c = rates.size
    checked = _CheckedPicks(balancer, c)
    assign, _start, _depart = _event_loop(checked, arr, work, rates, profiles)
    return assign


class _CheckedPicks:
    """Forwards to a balancer and rejects picks that are not a worker index."""

    def __init__(self, balancer, c: int) -> None:
        self._b = balancer
        self._c = c
        self.completed = balancer.completed
        self.dispatched = balancer.dispatched

    def pick(self, now: float) -> int:
        w = self._b.pick(now)
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or not 0 <= int(w) < self._c:
            raise ValueError(f"pick(now) must return a worker index in 0..{self._c - 1}; got {w!r}")
        return int(w)


def replay_assignments(assignments, arrival_times, unit_work, service_rates, events=()) -> np.ndarray:
    """Latencies (wait + service, arrival order) when each request goes to the given worker, FIFO per worker.

    Lindley's recursion per worker: the same numbers :func:`simulate_balancer`'s run produced, recomputed
    from the decisions alone (so a score never rests on anything but the assignments).
    """
    arr, work, rates, profiles = _trace(arrival_times, unit_work, service_rates, events)
    assign = np.asarray(assignments).ravel()
    if assign.shape != arr.shape or assign.dtype.kind not in "iu" or np.any(assign < 0) or np.any(assign >= rates.size):
        raise ValueError(f"assignments must hold one worker index in 0..{rates.size - 1} per request")
    assign = assign.astype(np.int64)
    _start, depart = _lindley_per_worker(arr, work / rates[assign], assign, rates.size, profiles)
    return depart - arr


def _lindley_per_worker(arrivals, service, assign, c, profiles):
    """FIFO per worker, vectorized: D = C + cummax(A - C + S) with C = cumsum(S), in work units."""
    start = np.empty_like(arrivals)
    depart = np.empty_like(arrivals)
    for w in range(c):
        idx = np.flatnonzero(assign == w)
        if idx.size == 0:
            continue
        a = arrivals[idx]
        prof = profiles[w]
        u = a if prof is None else prof.work(a)
        st, d = lindley(u, service[idx])
        if prof is not None:
            d, st = prof.time(d), prof.time(st)
            st = np.maximum(st, a)
        depart[idx] = d
        start[idx] = st
    return start, depart


def _event_loop(balancer: _Balancer, arrivals, unit_work, rates, profiles):
    """State-aware policies: completions are fed back to the balancer in time order before each pick."""
    n = arrivals.size
    c = rates.size
    assign = np.empty(n, dtype=np.int64)
    start = np.empty(n)
    depart = np.empty(n)
    last_done = [0.0] * c  # per worker, in work units
    inv_rates = (1.0 / rates).tolist()
    heap: list[tuple[float, int, int]] = []  # (departure time, worker, request)
    pick, dispatched, completed = balancer.pick, balancer.dispatched, balancer.completed
    pop, push = heapq.heappop, heapq.heappush
    arr = arrivals.tolist()
    work = unit_work.tolist()
    for k in range(n):
        t = arr[k]
        while heap and heap[0][0] <= t:
            d, w, r = pop(heap)
            completed(w, d, d - arr[r])
        w = pick(t)
        s = work[k] * inv_rates[w]
        prof = profiles[w]
        if prof is None:
            st = t if t > last_done[w] else last_done[w]
            d = st + s
            last_done[w] = d
        else:
            u = float(prof.work(t))
            st_w = u if u > last_done[w] else last_done[w]
            d_w = st_w + s
            last_done[w] = d_w
            st = max(float(prof.time(st_w)), t)
            d = float(prof.time(d_w))
        assign[k] = w
        start[k] = st
        depart[k] = d
        dispatched(w, t)
        push(heap, (d, w, k))
    return assign, start, depart


def _shared_queue(arrivals, unit_work, rates, profiles):
    """M/M/c: one FIFO queue; request k starts when a worker frees up (longest-idle worker if several are idle)."""
    n = arrivals.size
    c = rates.size
    assign = np.empty(n, dtype=np.int64)
    start = np.empty(n)
    depart = np.empty(n)
    free = [(0.0, w) for w in range(c)]  # (time the worker becomes free, worker): min-heap = longest idle first
    inv_rates = (1.0 / rates).tolist()
    arr = arrivals.tolist()
    work = unit_work.tolist()
    replace = heapq.heapreplace
    plain = all(p is None for p in profiles)
    for k in range(n):
        t = arr[k]
        f, w = free[0]
        st = t if t > f else f
        s = work[k] * inv_rates[w]
        if plain or profiles[w] is None:
            d = st + s
        else:
            prof = profiles[w]
            d = float(prof.time(prof.work(st) + s))
            st = max(float(prof.time(prof.work(st))), st)
        replace(free, (d, w))
        assign[k] = w
        start[k] = st
        depart[k] = d
    return assign, start, depart
