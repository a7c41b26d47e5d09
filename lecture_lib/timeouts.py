"""Timeouts: a deadline budget propagated across hops, timeouts chosen from the latency distribution, and what
retries on timeout do to a loaded server.

Taught in ``notebooks/partD_distributed_inference.ipynb`` (Part D, Zone 6 "Timeouts"; the lecture's section
3.D.3 "Timeout戦略", which asks for an explicit timeout on every operation and stops there).

* :class:`Deadline` - an absolute expiry time read from an injectable clock; ``remaining()`` is what a hop may
  still spend, and the budget it forwards to the next hop (gRPC's ``grpc-timeout``, Go's ``context.WithDeadline``).
* :func:`hop_budgets` - the budget each hop of a call chain receives: ``B_i = B - sum_{j<i} L_j``.
* :func:`simulate_call_chain` - requests through a chain of hops, with and without deadline propagation:
  who fails (the same either way) and the orphaned work done after the caller has given up (not the same).
* :func:`timeout_from_latencies` - a timeout set at a percentile of measured latencies.
* :func:`simulate_timeout_retries` - a FIFO server (M/M/1) whose clients time out and retry: retry
  amplification, goodput and wasted work against the timeout; :func:`retry_amplification_fixed_point` is the
  matching closed-form model ``rho = rho0 * (1 - p**m) / (1 - p)``, ``p = exp(-(mu - lambda) t)``.

Every random choice takes a seed; every time-dependent piece takes a clock (``lecture_lib.resilience.FakeClock``
in tests and notebooks).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from lecture_lib._checks import fraction as _fraction
from lecture_lib._checks import integer as _integer
from lecture_lib._checks import nonnegative as _nonnegative
from lecture_lib._checks import positive as _positive

__all__ = [
    "Deadline",
    "DeadlineExceeded",
    "hop_budgets",
    "ChainResult",
    "simulate_call_chain",
    "timeout_from_latencies",
    "TimeoutRetryResult",
    "simulate_timeout_retries",
    "retry_amplification_fixed_point",
]


class DeadlineExceeded(TimeoutError):
    """The request's deadline has passed: do not start (or continue) work for it."""


@dataclass(frozen=True)
class Deadline:
    """An absolute deadline ``expires_at`` on ``clock`` (seconds). Create one with :meth:`after`.

    A hop forwards the *deadline*, not its own timeout: the next hop's budget is ``remaining()`` (minus a
    ``reserve`` the caller keeps for its own reply), so the chain as a whole never outlives the first caller.
    """

    expires_at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, budget: float, clock: Callable[[], float] = time.monotonic) -> "Deadline":
        """A deadline ``budget`` seconds from ``clock()`` now."""
        return cls(clock() + _positive("budget", budget, unit="seconds"), clock)

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.expires_at - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.expires_at

    def check(self) -> float:
        """The remaining seconds, or :class:`DeadlineExceeded` if none are left (call before starting work)."""
        left = self.remaining()
        if left <= 0.0:
            raise DeadlineExceeded(f"no time left (deadline t = {self.expires_at:.6g} s, now t = {self.clock():.6g} s)")
        return left

    def child(self, reserve: float = 0.0) -> "Deadline":
        """The deadline to forward to the next hop: ``reserve`` seconds earlier, kept for this hop's reply."""
        _nonnegative("reserve", reserve, unit="seconds")
        return Deadline(self.expires_at - reserve, self.clock)


def hop_budgets(budget: float, elapsed: Sequence[float]) -> list[float]:
    """The budget each hop receives when hop ``i`` spends ``elapsed[i]`` before calling hop ``i + 1``:
    ``B_0 = budget``, ``B_{i+1} = B_i - elapsed[i]`` (negative: the deadline passed before that hop was called).
    Returns ``len(elapsed) + 1`` budgets (the last is what is left when the chain's work is done)."""
    out = [_positive("budget", budget, unit="seconds")]
    for i, e in enumerate(elapsed):
        out.append(out[-1] - _nonnegative(f"elapsed[{i}]", e, unit="seconds"))
    return out


@dataclass
class ChainResult:
    """Outcome of :func:`simulate_call_chain` (times in seconds, per request unless said otherwise)."""

    propagate: bool
    failed: float  #: share of requests whose caller gave up (chain slower than the budget)
    work: float  #: mean server work per request, all hops
    orphaned: float  #: mean work done after the caller had given up
    orphaned_share: float  #: orphaned / work


def simulate_call_chain(
    hop_medians: Sequence[float],
    *,
    budget: float,
    propagate: bool,
    sigma: float = 0.8,
    n_requests: int = 10_000,
    seed: int = 0,
) -> ChainResult:
    """Requests through a chain of hops (gateway -> router -> model server -> ...), each hop doing lognormal work
    (median ``hop_medians[i]``, log-sd ``sigma``) and then calling the next; the first caller gives up at
    ``budget``.

    Without propagation every hop finishes its work whatever happened upstream (it only knows its own fixed
    timeout); with propagation each hop receives the deadline, does not start work once it has passed, and stops
    when it passes. Hop ``i`` starts at ``A_i = sum_{j<i} L_j``; its work after the deadline is
    ``max(0, A_i + L_i - max(A_i, B))`` without propagation and 0 with it. The caller's outcome is the same
    either way (it fails iff ``sum L > B``): propagation only removes orphaned work.
    """
    if len(hop_medians) < 1:
        raise ValueError("hop_medians must list at least one hop's median work time")
    med = np.array([_positive(f"hop_medians[{i}]", m, unit="seconds") for i, m in enumerate(hop_medians)])
    budget = _positive("budget", budget, unit="seconds")
    sigma = _nonnegative("sigma", sigma)
    n = _integer("n_requests", n_requests)
    rng = np.random.default_rng(seed)
    work = med[None, :] * np.exp(sigma * rng.standard_normal((n, med.size)))
    start = np.concatenate([np.zeros((n, 1)), np.cumsum(work, axis=1)[:, :-1]], axis=1)
    end = start + work
    failed = end[:, -1] > budget
    if propagate:
        done = np.clip(np.minimum(end, budget) - start, 0.0, None)
        orphaned = np.zeros(n)
    else:
        done = work
        orphaned = np.clip(end - np.maximum(start, budget), 0.0, None).sum(axis=1)
    total = done.sum(axis=1)
    return ChainResult(bool(propagate), float(failed.mean()), float(total.mean()), float(orphaned.mean()),
                       float(orphaned.sum() / total.sum()))


def timeout_from_latencies(latencies, percentile: float, *, margin: float = 0.0) -> float:
    """A timeout at the ``percentile`` (0 < q < 100) of measured ``latencies``, times ``1 + margin``.

    At the p99, about 1 % of calls that would have succeeded are cut off (and retried, if the client retries);
    below the median, most are. Linear interpolation between order statistics (``numpy.percentile``'s default).
    """
    x = np.asarray(latencies, dtype=np.float64).ravel()
    if x.size == 0 or not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError("latencies must be a non-empty array of finite latencies >= 0")
    q = _real_percentile(percentile)
    return float(np.percentile(x, q)) * (1.0 + _nonnegative("margin", margin))


def _real_percentile(percentile: float) -> float:
    v = _positive("percentile", percentile)
    if v >= 100:
        raise ValueError(f"percentile must be in (0, 100); got {percentile!r}")
    return v


@dataclass
class TimeoutRetryResult:
    """Outcome of :func:`simulate_timeout_retries` (time unit: one mean service time, ``1/mu``)."""

    timeout: float
    max_attempts: int
    offered_load: float  #: rho0 = lambda / mu, first attempts only
    attempts_per_request: float  #: retry amplification: attempts that reached the server per request
    effective_load: float  #: rho0 * amplification (> 1: the queue cannot keep up)
    success: float  #: share of requests that got an answer within their timeout on some attempt
    goodput: float  #: successful requests per unit time, divided by the offered rate (1 = all served in time)
    wasted_work: float  #: share of the server's busy time spent on attempts whose client had already left
    p99_latency: float  #: p99 of the successful requests' end-to-end latency (first arrival to answer)


def simulate_timeout_retries(
    *,
    load: float,
    timeout: float,
    max_attempts: int = 3,
    n_requests: int = 20_000,
    service_rate: float = 1.0,
    cancel: bool = False,
    seed: int = 0,
) -> TimeoutRetryResult:
    """An M/M/1 FIFO server (rate ``service_rate``) fed by Poisson first attempts at ``load * service_rate``.

    A client waits ``timeout`` for each attempt; if the answer is later, it abandons the attempt and sends a new
    one at once (up to ``max_attempts`` in all). The server does not know the client left: it still serves the
    abandoned attempt in turn (no cancellation) - that is the wasted work, and it lengthens the queue for
    everyone, which makes more attempts time out. FIFO lets each attempt's completion be computed when it
    arrives: ``done = max(arrival, server_free) + S``.

    ``cancel=True``: the attempt carries its deadline (``arrival + timeout``) to the server, which skips it if the
    deadline passed while it queued and stops serving it when the deadline passes (deadline propagation).
    """
    rho0 = _fraction("load", load, open_low=True, what="an offered load")
    timeout = _positive("timeout", timeout)
    m = _integer("max_attempts", max_attempts)
    n = _integer("n_requests", n_requests)
    mu = _positive("service_rate", service_rate)
    rng = np.random.default_rng(seed)
    first = np.cumsum(rng.exponential(1.0 / (rho0 * mu), n))
    services = iter(rng.exponential(1.0 / mu, n * m))
    events = [(float(t), i, 0) for i, t in enumerate(first)]  # (arrival time, request, attempt) in time order
    free_at = 0.0
    busy = wasted = 0.0
    attempts = 0
    latency = np.full(n, np.nan)
    while events:
        t, i, a = heapq.heappop(events)
        attempts += 1
        s = next(services)
        start = max(t, free_at)
        done = start + s
        if done - t <= timeout:
            free_at = done
            busy += s
            latency[i] = done - first[i]
            continue
        spent = min(done, t + timeout) - start if cancel else s
        spent = max(spent, 0.0)
        free_at = start + spent
        busy += spent
        wasted += spent
        if a + 1 < m:
            heapq.heappush(events, (t + timeout, i, a + 1))
    ok = ~np.isnan(latency)
    span = max(free_at, float(first[-1]))
    amp = attempts / n
    return TimeoutRetryResult(
        timeout=timeout,
        max_attempts=m,
        offered_load=rho0,
        attempts_per_request=amp,
        effective_load=rho0 * amp,
        success=float(ok.mean()),
        goodput=float(ok.sum() / span / (rho0 * mu)),
        wasted_work=wasted / busy if busy > 0 else 0.0,
        p99_latency=float(np.percentile(latency[ok], 99)) if ok.any() else math.inf,
    )


def retry_amplification_fixed_point(load: float, timeout: float, max_attempts: int, *, service_rate: float = 1.0,
                                    iterations: int = 200) -> float:
    """The effective load ``rho`` of an M/M/1 server whose clients retry on timeout, as a fixed point.

    An attempt's sojourn time in M/M/1 at load ``rho`` is exponential with rate ``mu (1 - rho)``, so it times out
    with ``p = exp(-mu (1 - rho) t)``; a request then makes ``(1 - p**m) / (1 - p)`` attempts on average, and the
    server sees ``rho = rho0 (1 - p**m) / (1 - p)``. Iterated from ``rho0``; returns ``inf`` when the iteration
    reaches ``rho >= 1`` (no steady state: the queue grows until clients give up). A model, not the simulation:
    it treats attempts as independent, but a retry arrives while the queue that delayed it is still long, so it
    agrees with :func:`simulate_timeout_retries` at low load (within a few % at rho0 = 0.1) and underestimates
    above; and where it finds a steady state the simulation may still collapse into the other one.
    """
    rho0 = _fraction("load", load, open_low=True, open_high=True, what="an offered load")
    t = _positive("timeout", timeout)
    m = _integer("max_attempts", max_attempts)
    mu = _positive("service_rate", service_rate)
    rho = rho0
    for _ in range(_integer("iterations", iterations)):
        if rho >= 1.0:
            return math.inf
        p = math.exp(-mu * (1.0 - rho) * t)
        nxt = rho0 * (m if p == 1.0 else (1.0 - p**m) / (1.0 - p))
        if abs(nxt - rho) < 1e-12:
            return nxt
        rho = nxt
    return rho if rho < 1.0 else math.inf
