"""Little's law and the M/M/1 queue, each with a simulator to check the formula against.

Taught in notebook Part C (``notebooks/partC_production_python.ipynb``): Zone 3 ("Little's law and why
latency explodes near full load") and Zone 5. Part D's ``serving`` simulator builds on the same ideas.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MM1",
    "QueueTrace",
    "littles_law",
    "measure",
    "mm1",
    "simulate_mm1",
    "simulate_single_server",
    "time_average_in_system",
]


def _pos(x: float, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number > 0; got {x!r}")
    v = float(x)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite number > 0; got {x}")
    return v


def littles_law(
    *, L: float | None = None, arrival_rate: float | None = None, W: float | None = None
) -> float:
    """Solve ``L = arrival_rate * W`` for the one argument left out (give exactly two of the three).

    ``littles_law(L=10, arrival_rate=100)`` -> ``W = 0.1`` s.
    """
    given = {k: v for k, v in {"L": L, "arrival_rate": arrival_rate, "W": W}.items() if v is not None}
    if len(given) != 2:
        raise ValueError(f"give exactly two of L, arrival_rate, W (the third is solved for); got {sorted(given)}")
    vals = {k: _pos(v, k) for k, v in given.items()}
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
    lam = _pos(arrival_rate, "arrival_rate")
    mu = _pos(service_rate, "service_rate")
    if lam >= mu:
        raise ValueError(
            f"arrival_rate must be < service_rate for a steady state (rho = {lam / mu:.3g} >= 1: the queue "
            "grows without bound)"
        )
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
    c = np.cumsum(s)
    d = c + np.maximum.accumulate(a - (c - s))
    return QueueTrace(arrivals=a, starts=d - s, departures=d)


def simulate_mm1(arrival_rate: float, service_rate: float, n_customers: int, *, rng: np.random.Generator) -> QueueTrace:
    """Simulate ``n_customers`` of an M/M/1 queue starting empty at time 0 (exponential draws from ``rng``)."""
    lam = _pos(arrival_rate, "arrival_rate")
    mu = _pos(service_rate, "service_rate")
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)) or n_customers < 1:
        raise ValueError(f"n_customers must be an integer >= 1; got {n_customers!r}")
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
    t0, t1 = float(t_start), float(t_end)
    if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
        raise ValueError(f"need t_start < t_end; got {t_start}, {t_end}")
    ins = trace.arrivals
    outs = trace.starts if queue_only else trace.departures
    # each customer contributes the length of [in, out] ∩ [t0, t1]
    overlap = np.clip(np.minimum(outs, t1) - np.maximum(ins, t0), 0.0, None)
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
    busy = np.clip(np.minimum(trace.departures, t_end) - np.maximum(trace.starts, t_start), 0.0, None).sum()
    return {
        "L": time_average_in_system(trace, t_start, t_end),
        "Lq": time_average_in_system(trace, t_start, t_end, queue_only=True),
        "W": float(trace.sojourn[sel].mean()),
        "Wq": float(trace.wait[sel].mean()),
        "arrival_rate": float(sel.sum() / span),
        "utilisation": float(busy / span),
    }
