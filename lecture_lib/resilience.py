"""Fault tolerance for calls to a remote service: backoff with jitter, retry budgets, timeouts, circuit breaker,
bulkhead, and a retry-storm simulation.

Taught in ``notebooks/partD_distributed_inference.ipynb`` (Part D; the lecture's section 3.D.3).

* :func:`backoff_delays` - exponential backoff ``t_n = min(cap, base * 2**n)`` and its jitter variants.
* :class:`RetryBudget` - retries allowed only as a fraction of recent traffic (so retries cannot multiply load).
* :func:`breaker_allow`, :func:`breaker_record` - the circuit breaker as pure transition functions on an
  immutable :class:`BreakerState`; :class:`CircuitBreaker` wraps them around an injectable clock.
* :class:`Bulkhead` - bounded concurrency for ``asyncio`` code, rejections counted.
* :func:`call_with_timeout`, :func:`retry_async` - real ``asyncio`` timeouts and retries, exercised against
  :class:`FlakyBackend`, a simulated unreliable service.
* :func:`simulate_retry_storm` - many clients retrying against a recovering server, per jitter strategy.

Every random choice takes a seed or generator; every time-dependent piece takes a clock (and a sleep), so
tests run on a fake clock.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from dataclasses import dataclass, field, replace
from typing import Awaitable, Callable, Sequence

import numpy as np

from lecture_lib._checks import as_rng as _as_rng
from lecture_lib._checks import integer as _integer
from lecture_lib._checks import nonnegative as _nonnegative
from lecture_lib._checks import positive as _positive

__all__ = [
    "JITTERS",
    "backoff_delays",
    "additive_jitter_delays",
    "RetryBudget",
    "BreakerConfig",
    "BreakerState",
    "breaker_allow",
    "breaker_record",
    "CircuitBreaker",
    "CircuitOpenError",
    "Bulkhead",
    "BulkheadFullError",
    "call_with_timeout",
    "retry_async",
    "RetryError",
    "FlakyBackend",
    "BackendError",
    "FakeClock",
    "StormResult",
    "simulate_retry_storm",
]

JITTERS = ("none", "full", "equal", "decorrelated")


# --------------------------------------------------------------------------------------------------------------
# backoff
# --------------------------------------------------------------------------------------------------------------


def _capped_exponential(n: int, base: float, cap: float) -> float:
    """min(cap, base * 2**n) without overflowing for large n."""
    if n > 1 + math.log2(cap / base):
        return cap
    return min(cap, base * 2.0**n)


def backoff_delays(attempts: int, *, base: float, cap: float, jitter: str = "full", rng=None) -> list[float]:
    """Delays before retries 0 .. attempts-1 of exponential backoff.

    With ``t_n = min(cap, base * 2**n)``:

    * ``"none"``          ``t_n`` (every client that failed together retries together)
    * ``"full"``          ``U(0, t_n)`` (the usual advice: spreads retries over the whole window)
    * ``"equal"``         ``t_n / 2 + U(0, t_n / 2)`` (keeps at least half the wait)
    * ``"decorrelated"``  ``d_n = min(cap, U(base, 3 * d_{n-1}))`` with ``d_{-1} = base``

    ``rng``: None (fresh entropy), a seed, or a ``numpy.random.Generator``.
    """
    attempts = _integer("attempts", attempts, 0)
    base = _positive("base", base)
    cap = _positive("cap", cap)
    if cap < base:
        raise ValueError(f"cap must be >= base; got base={base!r}, cap={cap!r}")
    if jitter not in JITTERS:
        raise ValueError(f"jitter must be one of {JITTERS}; got {jitter!r}")
    gen = None if jitter == "none" else _as_rng(rng)
    out: list[float] = []
    prev = base
    for n in range(attempts):
        t = _capped_exponential(n, base, cap)
        if jitter == "none":
            out.append(t)
        elif jitter == "full":
            out.append(float(gen.uniform(0.0, t)))
        elif jitter == "equal":
            out.append(t / 2 + float(gen.uniform(0.0, t / 2)))
        else:
            prev = min(cap, float(gen.uniform(base, 3.0 * prev)))
            out.append(prev)
    return out


def additive_jitter_delays(attempts: int, *, base: float, cap: float, spread: float, rng=None) -> list[float]:
    """The lecture's scheme: ``min(cap, base * 2**n) + U(0, spread)`` (base 200 ms, spread 100 ms: 200-300,
    400-500, 800-900 ms). A fixed spread shrinks relative to the delay as n grows, so it decorrelates little."""
    attempts = _integer("attempts", attempts, 0)
    base, cap = _positive("base", base), _positive("cap", cap)
    if cap < base:
        raise ValueError(f"cap must be >= base; got base={base!r}, cap={cap!r}")
    spread = _positive("spread", spread)
    gen = _as_rng(rng)
    return [_capped_exponential(n, base, cap) + float(gen.uniform(0.0, spread)) for n in range(attempts)]


class RetryBudget:
    """A retry budget (the deposit/withdraw scheme of Finagle's RetryBudget, without its time window).

    Every first attempt deposits ``ratio`` tokens (at most ``max_tokens`` kept); a retry needs one whole token.
    Retries are therefore at most ``ratio`` times the traffic, plus a starting reserve of ``min_retries``:
    when a dependency is down, clients do not multiply its load by their retry count.
    """

    def __init__(self, ratio: float = 0.1, min_retries: int = 10, max_tokens: float | None = None) -> None:
        if not (0 <= ratio <= 1):
            raise ValueError(f"ratio must be in [0, 1] (retries per request); got {ratio!r}")
        self.ratio = float(ratio)
        self.min_retries = _integer("min_retries", min_retries, 0)
        self.max_tokens = float(max_tokens) if max_tokens is not None else float(max(min_retries, 1)) + 100.0
        self.tokens = float(min_retries)
        self.withdrawn = 0
        self.refused = 0

    def deposit(self) -> None:
        self.tokens = min(self.max_tokens, self.tokens + self.ratio)

    def try_withdraw(self) -> bool:
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.withdrawn += 1
            return True
        self.refused += 1
        return False


# --------------------------------------------------------------------------------------------------------------
# circuit breaker: pure transitions + a stateful wrapper on an injectable clock
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakerConfig:
    """Settings (names follow resilience4j's count-based breaker).

    window_size: outcomes remembered while closed (a sliding window of the last N calls).
    failure_rate_threshold: open when failures / calls in the window >= this (0 < x <= 1).
    minimum_calls: no verdict before this many calls are in the window (<= window_size).
    wait_in_open: seconds to reject calls before letting trial calls through (half-open).
    permitted_calls_in_half_open: trial calls; once all have finished, close if their failure rate is below
        the threshold, reopen otherwise.
    """

    window_size: int = 10
    failure_rate_threshold: float = 0.5
    minimum_calls: int = 10
    wait_in_open: float = 30.0
    permitted_calls_in_half_open: int = 3

    def __post_init__(self) -> None:
        _integer("window_size", self.window_size, 1)
        _integer("minimum_calls", self.minimum_calls, 1)
        _integer("permitted_calls_in_half_open", self.permitted_calls_in_half_open, 1)
        if self.minimum_calls > self.window_size:
            raise ValueError(
                f"minimum_calls must be <= window_size (the window never holds more); got "
                f"minimum_calls={self.minimum_calls}, window_size={self.window_size}"
            )
        if not (0 < self.failure_rate_threshold <= 1):
            raise ValueError(f"failure_rate_threshold must be in (0, 1]; got {self.failure_rate_threshold!r}")
        _positive("wait_in_open", self.wait_in_open)


@dataclass(frozen=True)
class BreakerState:
    """Immutable breaker state. ``outcomes``: True = failure, newest last (closed: the window; half-open: trials).

    ``since``: when the current state began. ``admitted``: trial calls let through in half-open.
    """

    state: str = "closed"
    outcomes: tuple[bool, ...] = ()
    since: float = 0.0
    admitted: int = 0

    @property
    def failure_rate(self) -> float:
        return sum(self.outcomes) / len(self.outcomes) if self.outcomes else 0.0


def _check_state(state: BreakerState) -> None:
    if not isinstance(state, BreakerState):
        raise TypeError(f"state must be a BreakerState; got {type(state).__name__}")
    if state.state not in ("closed", "open", "half_open"):
        raise ValueError(f"state.state must be 'closed', 'open' or 'half_open'; got {state.state!r}")


def breaker_allow(state: BreakerState, now: float, config: BreakerConfig) -> tuple[bool, BreakerState]:
    """May a call go through at time ``now``? Returns ``(permitted, new_state)``.

    closed: yes. open: no, until ``since + wait_in_open``; from then on the breaker is half-open (its ``since``
    is that instant, not ``now``). half-open: yes for the first ``permitted_calls_in_half_open`` calls, no after.
    """
    _check_state(state)
    if state.state == "open" and now >= state.since + config.wait_in_open:
        state = BreakerState("half_open", (), state.since + config.wait_in_open, 0)
    if state.state == "closed":
        return True, state
    if state.state == "open":
        return False, state
    if state.admitted < config.permitted_calls_in_half_open:
        return True, replace(state, admitted=state.admitted + 1)
    return False, state


def breaker_record(state: BreakerState, failed: bool, now: float, config: BreakerConfig) -> BreakerState:
    """Record one finished call (``failed`` True/False) at ``now``; returns the new state.

    closed: append to the window (dropping the oldest beyond ``window_size``); open when the window holds at
    least ``minimum_calls`` outcomes and its failure rate is >= ``failure_rate_threshold``.
    half-open: collect trial outcomes; after ``permitted_calls_in_half_open`` of them, reopen if their
    failure rate is >= the threshold, else close with an empty window.
    open: outcomes of calls admitted before opening are ignored.
    """
    _check_state(state)
    if state.state == "open":
        return state
    outcomes = state.outcomes + (bool(failed),)
    if state.state == "closed":
        outcomes = outcomes[-config.window_size :]
        rate = sum(outcomes) / len(outcomes)
        if len(outcomes) >= config.minimum_calls and rate >= config.failure_rate_threshold:
            return BreakerState("open", (), now, 0)
        return replace(state, outcomes=outcomes)
    # half-open
    if len(outcomes) < config.permitted_calls_in_half_open:
        return replace(state, outcomes=outcomes)
    if sum(outcomes) / len(outcomes) >= config.failure_rate_threshold:
        return BreakerState("open", (), now, 0)
    return BreakerState("closed", (), now, 0)


class CircuitOpenError(RuntimeError):
    """The breaker rejected the call without trying it."""


class CircuitBreaker:
    """A circuit breaker on an injectable clock; ``history`` lists ``(time, from_state, to_state)``.

    Use ``await breaker.call(fn, *args)`` for coroutines, ``breaker.call_sync(fn, *args)`` for plain functions,
    or ``allow()`` / ``record(failed)`` directly. Any exception counts as a failure.
    """

    def __init__(self, config: BreakerConfig | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config or BreakerConfig()
        self.clock = clock
        self._state = BreakerState(since=clock())
        self.history: list[tuple[float, str, str]] = []
        self.rejected = 0

    def _set(self, new: BreakerState) -> None:
        if new.state != self._state.state:
            self.history.append((new.since, self._state.state, new.state))
        self._state = new

    @property
    def state(self) -> str:
        """The state now (an expired open period reads as half-open)."""
        if self._state.state == "open" and self.clock() >= self._state.since + self.config.wait_in_open:
            self._set(BreakerState("half_open", (), self._state.since + self.config.wait_in_open, 0))
        return self._state.state

    @property
    def snapshot(self) -> BreakerState:
        return self._state

    def allow(self) -> bool:
        ok, new = breaker_allow(self._state, self.clock(), self.config)
        self._set(new)
        if not ok:
            self.rejected += 1
        return ok

    def record(self, failed: bool) -> None:
        self._set(breaker_record(self._state, failed, self.clock(), self.config))

    def call_sync(self, fn: Callable, *args, **kwargs):
        if not self.allow():
            raise CircuitOpenError(f"circuit is {self._state.state}: call rejected")
        try:
            out = fn(*args, **kwargs)
        except Exception:
            self.record(True)
            raise
        self.record(False)
        return out

    async def call(self, fn: Callable[..., Awaitable], *args, **kwargs):
        if not self.allow():
            raise CircuitOpenError(f"circuit is {self._state.state}: call rejected")
        try:
            out = await fn(*args, **kwargs)
        except Exception:
            self.record(True)
            raise
        self.record(False)
        return out


# --------------------------------------------------------------------------------------------------------------
# bulkhead and timeouts (asyncio)
# --------------------------------------------------------------------------------------------------------------


class BulkheadFullError(RuntimeError):
    """The bulkhead had no free slot (within ``max_wait``)."""


class Bulkhead:
    """At most ``max_concurrent`` calls inside at once; others wait up to ``max_wait`` seconds, then are rejected.

    ``async with bulkhead: ...``. Counters: ``in_flight``, ``peak`` (largest in_flight seen), ``admitted``,
    ``rejected``. One bulkhead per dependency keeps a slow dependency from taking every worker with it.
    """

    def __init__(self, max_concurrent: int, max_wait: float = 0.0) -> None:
        self.max_concurrent = _integer("max_concurrent", max_concurrent, 1)
        self.max_wait = _nonnegative("max_wait", max_wait, unit="seconds")
        self._sem = asyncio.Semaphore(self.max_concurrent)
        self.in_flight = 0
        self.peak = 0
        self.admitted = 0
        self.rejected = 0

    async def __aenter__(self) -> "Bulkhead":
        if self.max_wait == 0:
            if self._sem.locked():
                self.rejected += 1
                raise BulkheadFullError(f"bulkhead full: {self.max_concurrent} calls already in flight")
            await self._sem.acquire()
        else:
            try:
                await asyncio.wait_for(self._sem.acquire(), self.max_wait)
            except asyncio.TimeoutError:
                self.rejected += 1
                raise BulkheadFullError(
                    f"bulkhead full: no slot of {self.max_concurrent} freed within max_wait={self.max_wait}s"
                ) from None
        self.in_flight += 1
        self.admitted += 1
        self.peak = max(self.peak, self.in_flight)
        return self

    async def __aexit__(self, *exc) -> None:
        self.in_flight -= 1
        self._sem.release()


async def call_with_timeout(fn: Callable[..., Awaitable], timeout: float, *args, **kwargs):
    """Await ``fn(*args)`` but give up after ``timeout`` seconds (raises ``asyncio.TimeoutError``; the call is
    cancelled, so a hung dependency costs at most ``timeout``)."""
    timeout = _positive("timeout", timeout)
    return await asyncio.wait_for(fn(*args, **kwargs), timeout)


class RetryError(RuntimeError):
    """Every attempt failed (or the budget/deadline stopped further attempts); ``errors`` lists each failure."""

    def __init__(self, message: str, errors: list[BaseException]) -> None:
        super().__init__(message)
        self.errors = errors


async def retry_async(
    fn: Callable[..., Awaitable],
    *args,
    attempts: int = 4,
    base: float = 0.1,
    cap: float = 10.0,
    jitter: str = "full",
    timeout: float | None = None,
    deadline: float | None = None,
    budget: RetryBudget | None = None,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    rng=None,
    sleep: Callable[[float], Awaitable] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    **kwargs,
):
    """Call ``fn`` up to ``attempts`` times, sleeping :func:`backoff_delays` between tries.

    timeout: per-attempt limit (seconds). deadline: overall limit from the first attempt; a retry whose backoff
    would end past it is not started. budget: a :class:`RetryBudget` (first attempt deposits, each retry
    withdraws). Exceptions not in ``retry_on`` (and :class:`CircuitOpenError`) propagate at once.
    """
    attempts = _integer("attempts", attempts, 1)
    delays = backoff_delays(attempts - 1, base=base, cap=cap, jitter=jitter, rng=rng)
    if timeout is not None:
        _positive("timeout", timeout)
    start = clock()
    errors: list[BaseException] = []
    if budget is not None:
        budget.deposit()
    for n in range(attempts):
        try:
            if timeout is None:
                return await fn(*args, **kwargs)
            return await asyncio.wait_for(fn(*args, **kwargs), timeout)
        except CircuitOpenError:
            raise
        except retry_on as exc:  # noqa: PERF203 - a retry loop
            errors.append(exc)
        if n == attempts - 1:
            break
        if deadline is not None and clock() + delays[n] - start > deadline:
            raise RetryError(f"deadline of {deadline}s would pass before retry {n + 1}", errors)
        if budget is not None and not budget.try_withdraw():
            raise RetryError(f"retry budget exhausted after {n + 1} attempt(s)", errors)
        await sleep(delays[n])
    raise RetryError(f"all {attempts} attempts failed; last error: {errors[-1]!r}", errors)


# --------------------------------------------------------------------------------------------------------------
# a flaky backend and a fake clock for tests and notebook demos
# --------------------------------------------------------------------------------------------------------------


class BackendError(RuntimeError):
    """The simulated backend failed this call."""


class FakeClock:
    """A manual clock: ``clock()`` reads it, ``await clock.sleep(dt)`` advances it instantly (sequential code)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, dt: float) -> None:
        if dt < 0:
            raise ValueError(f"dt must be >= 0; got {dt!r}")
        self.now += dt

    async def sleep(self, dt: float) -> None:
        self.sleeps.append(dt)
        self.advance(dt)
        await asyncio.sleep(0)


class FlakyBackend:
    """A simulated remote service: each call takes ``latency`` seconds and fails with probability
    ``failure_rate``; during any ``(start, end)`` of ``outages`` (on ``clock``) every call fails; a call
    hangs for ``hang`` seconds with probability ``hang_rate`` (for timeouts). Counts ``calls``, ``failures``.
    """

    def __init__(
        self,
        *,
        failure_rate: float = 0.0,
        latency: float = 0.0,
        outages: Sequence[tuple[float, float]] = (),
        hang_rate: float = 0.0,
        hang: float = 3600.0,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable] = asyncio.sleep,
    ) -> None:
        for name, p in (("failure_rate", failure_rate), ("hang_rate", hang_rate)):
            if not (0 <= p <= 1):
                raise ValueError(f"{name} must be a probability in [0, 1]; got {p!r}")
        if latency < 0:
            raise ValueError(f"latency must be >= 0 seconds; got {latency!r}")
        self.failure_rate, self.latency, self.hang_rate, self.hang = failure_rate, latency, hang_rate, hang
        self.outages = [(float(a), float(b)) for a, b in outages]
        self._rng = np.random.default_rng(seed)
        self.clock, self.sleep = clock, sleep
        self.calls = 0
        self.failures = 0
        self.in_flight = 0
        self.peak_in_flight = 0

    def down(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.outages)

    async def call(self, payload=None):
        self.calls += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            down = self.down(self.clock())
            fail = down or self._rng.random() < self.failure_rate
            if self.hang_rate and self._rng.random() < self.hang_rate:
                await self.sleep(self.hang)
            elif self.latency:
                await self.sleep(self.latency)
            else:
                await asyncio.sleep(0)
            if fail:
                self.failures += 1
                raise BackendError("backend unavailable" if down else "backend error")
            return payload
        finally:
            self.in_flight -= 1


# --------------------------------------------------------------------------------------------------------------
# retry storm
# --------------------------------------------------------------------------------------------------------------


@dataclass
class StormResult:
    """Outcome of :func:`simulate_retry_storm`. ``call_times``: every call's start time (sorted)."""

    jitter: str
    n_clients: int
    total_calls: int
    completion_time: float
    succeeded: int
    gave_up: int
    call_times: np.ndarray = field(repr=False)

    @property
    def calls_per_client(self) -> float:
        return self.total_calls / self.n_clients


def simulate_retry_storm(
    n_clients: int = 100,
    *,
    jitter: str = "full",
    base: float = 0.1,
    cap: float = 10.0,
    capacity: int = 10,
    service_time: float = 0.05,
    outage: float = 1.0,
    max_attempts: int = 50,
    seed: int = 0,
) -> StormResult:
    """``n_clients`` each call a server at t = 0 and retry with backoff until one call succeeds.

    The server is down on ``[0, outage)`` (calls fail at once) and afterwards runs at most ``capacity`` calls
    at a time, each for ``service_time``; a call arriving when all slots are busy is rejected (fails at once).
    ``jitter`` is one of :data:`JITTERS` or ``"additive"`` (the lecture's ``base * 2**n + U(0, base / 2)``).
    Returns total calls made (the work the storm costs) and the time the last client succeeded.
    Without jitter the clients retry in lock-step waves, and each wave but ``capacity`` of them fails again.
    """
    n_clients = _integer("n_clients", n_clients, 1)
    capacity = _integer("capacity", capacity, 1)
    max_attempts = _integer("max_attempts", max_attempts, 1)
    service_time = _positive("service_time", service_time)
    outage = _nonnegative("outage", outage, unit="seconds")
    if jitter not in JITTERS + ("additive",):
        raise ValueError(f"jitter must be one of {JITTERS + ('additive',)}; got {jitter!r}")
    rng = np.random.default_rng(seed)
    schedules = [
        additive_jitter_delays(max_attempts - 1, base=base, cap=cap, spread=base / 2, rng=rng)
        if jitter == "additive"
        else backoff_delays(max_attempts - 1, base=base, cap=cap, jitter=jitter, rng=rng)
        for _ in range(n_clients)
    ]
    # events: (time, kind, client, attempt); kind 0 = a slot frees, 1 = a call arrives
    events = [(0.0, 1, i, 0) for i in range(n_clients)]
    heapq.heapify(events)
    busy = 0
    calls: list[float] = []
    done_at = 0.0
    succeeded = gave_up = 0
    while events:
        t, kind, client, attempt = heapq.heappop(events)
        if kind == 0:
            busy -= 1
            continue
        calls.append(t)
        if t >= outage and busy < capacity:
            busy += 1
            heapq.heappush(events, (t + service_time, 0, client, attempt))
            succeeded += 1
            done_at = max(done_at, t + service_time)
        elif attempt + 1 < max_attempts:
            heapq.heappush(events, (t + schedules[client][attempt], 1, client, attempt + 1))
        else:
            gave_up += 1
            done_at = max(done_at, t)
    return StormResult(jitter, n_clients, len(calls), done_at, succeeded, gave_up, np.sort(np.asarray(calls)))
