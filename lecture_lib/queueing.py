"""Queueing theory, in one place: Little's law, M/M/1, Erlang B/C and M/M/c, the supermarket model.

Taught in notebook Part C (``notebooks/partC_production_python.ipynb``): Zone 3 ("Little's law and why
latency explodes near full load") and Zone 5. Part D (``notebooks/partD_distributed_inference.ipynb``)
builds on it: :mod:`lecture_lib.serving`'s simulator runs :func:`lindley` per worker and is validated against
the M/M/1, Erlang C and supermarket formulas below (``serving`` re-exports them under the same names).

Little's law (any stable system, any arrival and service distributions, any discipline)::

    L = lambda * W        L: mean number in the system, lambda: arrival rate, W: mean time in the system

It is proved on sample paths (Little 1961; Stidham 1974), not from Lindley's recursion. The simulator
below measures ``L`` as a *time average* of the number in the system and ``W`` as a *customer average*
of sojourn times, two different measurements that the law ties together.

M/M/1 (Poisson arrivals at rate lambda, exponential service at rate mu, one server, FIFO),
``rho = lambda / mu < 1``::

    L  = rho / (1 - rho)         Lq = rho**2 / (1 - rho)
    W  = 1 / (mu - lambda)       Wq = rho / (mu - lambda)

At rho = 0.7, L = 2.33 and Lq = 1.63; at rho = 0.9, L = 9 and Lq = 8.1. Both grow like 1 / (1 - rho):
hyperbolically, not "exponentially".

M/M/c (c identical servers, one shared FIFO queue), offered load ``a = lambda / mu`` Erlangs, ``rho = a / c``::

    Erlang B  B(c, a) = a B(c-1, a) / (c + a B(c-1, a)),  B(0, a) = 1      (blocking in M/M/c/c)
    Erlang C  C(c, a) = B / (1 - rho (1 - B))                              (probability of waiting)
    Wq = C(c, a) / (c mu - lambda)        W = Wq + 1 / mu

Supermarket model (N -> infinity servers, each arrival joins the shortest of d random queues, load rho)::

    s_i = rho ** ((d**i - 1) / (d - 1))   fraction of queues holding >= i requests (rho**i for d = 1)
    W   = sum_{i >= 1} s_i / rho          mean time in system, in mean service times
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lecture_lib._checks import fraction, integer, positive

__all__ = [
    "MM1",
    "QueueTrace",
    "erlang_b",
    "erlang_c",
    "lindley",
    "littles_law",
    "measure",
    "mm1",
    "mm1_sojourn_time",
    "mm1_waiting_time",
    "mmc_sojourn_time",
    "mmc_waiting_time",
    "simulate_mm1",
    "simulate_single_server",
    "supermarket_expected_max",
    "supermarket_sojourn_time",
    "supermarket_tail",
    "time_average_count",
    "time_average_in_system",
]


def littles_law(
    *, L: float | None = None, arrival_rate: float | None = None, W: float | None = None
) -> float:
    """Solve ``L = arrival_rate * W`` for the one argument left out (give exactly two of the three).

    ``littles_law(L=10, arrival_rate=100)`` -> ``W = 0.1`` s.
    """
    given = {k: v for k, v in {"L": L, "arrival_rate": arrival_rate, "W": W}.items() if v is not None}
    if len(given) != 2:
        raise ValueError(f"give exactly two of L, arrival_rate, W (the third is solved for); got {sorted(given)}")
    vals = {k: positive(k, v) for k, v in given.items()}
    if L is None:
        return vals["arrival_rate"] * vals["W"]
    if W is None:
        return vals["L"] / vals["arrival_rate"]
    return vals["L"] / vals["W"]


@dataclass(frozen=True)
class MM1:
    """Steady-state M/M/1 quantities."""

    rho: float  # utilisation lambda / mu
    L: float  # mean number in system
    Lq: float  # mean number waiting
    W: float  # mean time in system (s)
    Wq: float  # mean waiting time (s)


def mm1(arrival_rate: float, service_rate: float) -> MM1:
    """The M/M/1 formulas above; ``arrival_rate >= service_rate`` raises (the queue grows without bound)."""
    lam = positive("arrival_rate", arrival_rate)
    mu = positive("service_rate", service_rate)
    _stable(lam, mu, "service_rate")
    rho = lam / mu
    return MM1(rho=rho, L=rho / (1 - rho), Lq=rho**2 / (1 - rho), W=1 / (mu - lam), Wq=rho / (mu - lam))


@dataclass(frozen=True)
class QueueTrace:
    """One FIFO single-server run: times in seconds, one entry per customer in arrival order."""

    arrivals: np.ndarray
    starts: np.ndarray  # service start
    departures: np.ndarray

    @property
    def sojourn(self) -> np.ndarray:
        return self.departures - self.arrivals

    @property
    def wait(self) -> np.ndarray:
        return self.starts - self.arrivals

    @property
    def service(self) -> np.ndarray:
        return self.departures - self.starts


def simulate_single_server(interarrival: np.ndarray, service: np.ndarray, *, t0: float = 0.0) -> QueueTrace:
    """FIFO single server for given inter-arrival and service times (any distributions: G/G/1).

    Lindley's recursion ``D_i = max(A_i, D_{i-1}) + S_i``, vectorized exactly: with ``C = cumsum(S)``,
    ``D_i = C_i + max_{j <= i} (A_j - C_{j-1})``.
    """
    ia = np.asarray(interarrival, dtype=np.float64)
    s = np.asarray(service, dtype=np.float64)
    if ia.ndim != 1 or ia.shape != s.shape or ia.size == 0:
        raise ValueError("interarrival and service must be 1-D arrays of the same, non-zero length")
    if not (np.isfinite(ia).all() and np.isfinite(s).all()) or (ia < 0).any() or (s < 0).any():
        raise ValueError("interarrival and service times must be finite and >= 0")
    a = t0 + np.cumsum(ia)
    starts, departures = lindley(a, s)
    return QueueTrace(arrivals=a, starts=starts, departures=departures)


def lindley(arrivals: np.ndarray, service: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Service starts and departures of one FIFO server, given sorted arrival times and service times.

    Lindley's recursion ``D_i = max(A_i, D_{i-1}) + S_i``, vectorized exactly with ``C = cumsum(S)``:
    ``D = C + maximum.accumulate(A - C + S)``; service starts at ``max(A_i, D_{i-1})``. No checks here:
    the callers (:func:`simulate_single_server`, ``serving.simulate``) validate their inputs.
    """
    cum = np.cumsum(service)
    departures = cum + np.maximum.accumulate(arrivals - cum + service)
    starts = np.maximum(arrivals, np.concatenate([[-np.inf], departures[:-1]]))
    return starts, departures


def simulate_mm1(arrival_rate: float, service_rate: float, n_customers: int, *, rng: np.random.Generator) -> QueueTrace:
    """Simulate ``n_customers`` of an M/M/1 queue starting empty at time 0 (exponential draws from ``rng``)."""
    lam = positive("arrival_rate", arrival_rate)
    mu = positive("service_rate", service_rate)
    n_customers = integer("n_customers", n_customers)
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    ia = rng.exponential(1.0 / lam, size=int(n_customers))
    s = rng.exponential(1.0 / mu, size=int(n_customers))
    return simulate_single_server(ia, s)


def time_average_in_system(trace: QueueTrace, t_start: float, t_end: float, *, queue_only: bool = False) -> float:
    """Time-average number of customers in the system (or only waiting, ``queue_only=True``) on [t_start, t_end].

    Integrates the step function N(t) = #arrivals(<= t) - #departures(<= t) exactly by sweeping the event
    times (for the queue, "arrival" is the arrival and "departure" the service start).
    """
    outs = trace.starts if queue_only else trace.departures
    return time_average_count(trace.arrivals, outs, t_start, t_end)


def time_average_count(entries: np.ndarray, exits: np.ndarray, t_start: float, t_end: float) -> float:
    """Time average on [t_start, t_end] of how many items are inside, item k being inside on [entries[k], exits[k]].

    The area under the step function N(t) is the sum of each item's overlap with the window:
    ``(1 / (t_end - t_start)) * sum_k |[entries_k, exits_k] ∩ [t_start, t_end]|``.
    """
    t0, t1 = float(t_start), float(t_end)
    if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
        raise ValueError(f"need t_start < t_end; got {t_start}, {t_end}")
    overlap = np.clip(np.minimum(exits, t1) - np.maximum(entries, t0), 0.0, None)
    return float(overlap.sum() / (t1 - t0))


def measure(trace: QueueTrace, *, warmup_fraction: float = 0.1) -> dict[str, float]:
    """Measured L, Lq (time averages), W, Wq (customer averages), arrival rate and utilisation.

    The first ``warmup_fraction`` of the run (by time) is discarded; customers that arrive in the
    measurement window count towards W/Wq and the arrival rate; L/Lq/utilisation are time averages over
    the same window, which ends at the last arrival.
    """
    if not (0.0 <= float(warmup_fraction) < 1.0):
        raise ValueError(f"warmup_fraction must be in [0, 1); got {warmup_fraction}")
    t_end = float(trace.arrivals[-1])
    t_start = float(warmup_fraction) * t_end
    sel = (trace.arrivals >= t_start) & (trace.arrivals <= t_end)
    if sel.sum() < 2:
        raise ValueError("the measurement window holds fewer than 2 customers; simulate more customers")
    span = t_end - t_start
    return {
        "L": time_average_in_system(trace, t_start, t_end),
        "Lq": time_average_in_system(trace, t_start, t_end, queue_only=True),
        "W": float(trace.sojourn[sel].mean()),
        "Wq": float(trace.wait[sel].mean()),
        "arrival_rate": float(sel.sum() / span),
        "utilisation": time_average_count(trace.starts, trace.departures, t_start, t_end),
    }


# ----------------------------------------------------------------------------------------------------
# closed forms for M/M/1, M/M/c and the supermarket model (Part D validates its simulator against them)
# ----------------------------------------------------------------------------------------------------


def _stable(arrival_rate: float, capacity: float, what: str) -> None:
    if arrival_rate >= capacity:
        raise ValueError(
            f"arrival_rate={arrival_rate:g} must be below {what}={capacity:g}: otherwise the queue grows without "
            "bound and there is no steady state"
        )


def mm1_sojourn_time(arrival_rate: float, service_rate: float) -> float:
    """M/M/1 mean time in system: ``W = 1 / (mu - lambda)`` (requires lambda < mu)."""
    lam = positive("arrival_rate", arrival_rate)
    mu = positive("service_rate", service_rate)
    _stable(lam, mu, "service_rate")
    return 1.0 / (mu - lam)


def mm1_waiting_time(arrival_rate: float, service_rate: float) -> float:
    """M/M/1 mean wait before service: ``Wq = rho / (mu - lambda)``, rho = lambda / mu."""
    w = mm1_sojourn_time(arrival_rate, service_rate)
    return (arrival_rate / service_rate) * w


def erlang_b(c: int, offered_load: float) -> float:
    """Erlang B (blocking probability of M/M/c/c), by the stable recursion ``B_k = a B_{k-1} / (k + a B_{k-1})``."""
    c = integer("c", c)
    a = positive("offered_load", offered_load)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, offered_load: float) -> float:
    """Erlang C: probability an arrival waits in M/M/c, ``C = B / (1 - rho (1 - B))`` with rho = a / c < 1.

    ``offered_load`` a = lambda / mu in Erlangs.
    """
    c = integer("c", c)
    a = positive("offered_load", offered_load)
    _stable(a, float(c), "c (offered_load is lambda/mu in Erlangs)")
    b = erlang_b(c, a)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def mmc_waiting_time(arrival_rate: float, service_rate: float, c: int) -> float:
    """M/M/c mean wait in queue: ``Wq = C(c, a) / (c mu - lambda)``, a = lambda / mu."""
    lam = positive("arrival_rate", arrival_rate)
    mu = positive("service_rate", service_rate)
    c = integer("c", c)
    _stable(lam, c * mu, "c * service_rate")
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_sojourn_time(arrival_rate: float, service_rate: float, c: int) -> float:
    """M/M/c mean time in system: ``W = Wq + 1 / mu``."""
    return mmc_waiting_time(arrival_rate, service_rate, c) + 1.0 / service_rate


def _load_d(load: float, d: int) -> tuple[float, int]:
    load = fraction("load", load, open_low=True, open_high=True, what="a per-worker load (arrival rate / service rate)")
    return load, integer("d", d)


def supermarket_tail(load: float, d: int, i) -> np.ndarray | float:
    """Supermarket model (N -> infinity, join the shortest of d random queues): fraction of queues with >= i.

    ``s_i = load ** ((d**i - 1) / (d - 1))`` for d >= 2 (doubly exponential decay), ``load ** i`` for d = 1.
    """
    load, d = _load_d(load, d)
    i = np.asarray(i, dtype=float)
    if np.any(i < 0):
        raise ValueError(f"i must be >= 0; got {i}")
    expo = i if d == 1 else (float(d) ** i - 1.0) / (d - 1.0)
    out = load**expo
    return float(out) if out.ndim == 0 else out


def supermarket_sojourn_time(load: float, d: int, service_rate: float = 1.0) -> float:
    """Supermarket model mean time in system: ``sum_{i>=1} s_i / load`` in units of ``1/service_rate``.

    d = 1 gives M/M/1's ``1 / (1 - load)``; d = 2 is far smaller at high load.
    """
    load, d = _load_d(load, d)
    mu = positive("service_rate", service_rate)
    total = 0.0
    i = 1
    while True:
        s = supermarket_tail(load, d, i)
        total += s
        if s < 1e-15 * max(total, 1e-300) or i > 100000:
            break
        i += 1
    return total / load / mu


def supermarket_expected_max(n_workers: int, load: float, d: int) -> float:
    """Expected longest queue among ``n_workers`` if queues were independent with the fixed-point tails.

    ``E[max] = sum_{i>=1} (1 - (1 - s_i) ** N)``; for d = 2 it grows like log log N / log 2, for d = 1 like log N.
    """
    n = integer("n_workers", n_workers)
    load, d = _load_d(load, d)
    total = 0.0
    i = 1
    while True:
        s = supermarket_tail(load, d, i)
        term = -math.expm1(n * math.log1p(-s)) if s < 1 else 1.0
        total += term
        if term < 1e-12 or i > 100000:
            break
        i += 1
    return total
