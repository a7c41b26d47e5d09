"""Supervision ("let it crash"): Erlang/OTP's restart strategies and restart intensity, simulated on a fake clock.

Taught in ``notebooks/partD_distributed_inference.ipynb`` (Part D, Zone 6 "Supervisors"; the lecture's section
3.D.3 names "Let it crash" and the supervisor tree and stops there).

* :data:`STRATEGIES` and :func:`restart_set` - which children a crash restarts:
  ``one_for_one`` the crashed child only; ``one_for_all`` every child; ``rest_for_one`` the crashed child and
  every child started after it (children are ordered: a later child may depend on an earlier one).
* :class:`RestartIntensity` - OTP's ``max_restarts`` within ``max_seconds``: a restart at time ``t`` is allowed
  while at most ``max_restarts`` restarts (this one included) fall in ``[t - max_seconds, t]``; one more and the
  supervisor gives up (in OTP it terminates its children and itself, escalating to its own supervisor).
* :func:`simulate_supervisor` - children that crash at random (exponential lifetimes), restarted by a strategy
  after a start-up time, on a :class:`lecture_lib.resilience.FakeClock`; returns the event log, starts per child,
  availability and whether (and when) the supervisor gave up.

Every random choice takes a seed; time comes from the clock the caller passes.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from lecture_lib._checks import integer as _integer
from lecture_lib._checks import nonnegative as _nonnegative
from lecture_lib._checks import positive as _positive
from lecture_lib.resilience import FakeClock

__all__ = ["STRATEGIES", "restart_set", "RestartIntensity", "SupervisionResult", "simulate_supervisor"]

STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")


def restart_set(strategy: str, n_children: int, crashed: int) -> tuple[int, ...]:
    """The children (indices in start order) that ``strategy`` restarts when child ``crashed`` crashes."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}; got {strategy!r}")
    n = _integer("n_children", n_children)
    c = _integer("crashed", crashed, 0)
    if c >= n:
        raise ValueError(f"crashed must be a child index in [0, {n - 1}]; got {crashed}")
    if strategy == "one_for_one":
        return (c,)
    if strategy == "one_for_all":
        return tuple(range(n))
    return tuple(range(c, n))


class RestartIntensity:
    """OTP's restart intensity: at most ``max_restarts`` restarts within any ``max_seconds`` (inclusive) window.

    ``allow(now)`` records a restart at ``now`` and says whether it may go ahead; ``False`` means the limit is
    exceeded and the supervisor must give up. Defaults: Erlang's ``supervisor`` 1 in 5 s, Elixir's
    ``Supervisor`` 3 in 5 s.
    """

    def __init__(self, max_restarts: int = 1, max_seconds: float = 5.0) -> None:
        self.max_restarts = _integer("max_restarts", max_restarts, 0)
        self.max_seconds = _positive("max_seconds", max_seconds, unit="seconds")
        self._recent: deque[float] = deque()

    def allow(self, now: float) -> bool:
        if self._recent and now < self._recent[-1]:
            raise ValueError(f"now must not go back in time; got {now!r} after {self._recent[-1]!r}")
        self._recent.append(float(now))
        while self._recent[0] < now - self.max_seconds:
            self._recent.popleft()
        return len(self._recent) <= self.max_restarts

    @property
    def recent(self) -> tuple[float, ...]:
        """Restart times still inside the window (the last one included)."""
        return tuple(self._recent)


@dataclass
class SupervisionResult:
    """Outcome of :func:`simulate_supervisor`.

    ``events``: ``(time, kind, child)`` with kind ``"crash"``, ``"restart"`` (one per child restarted),
    ``"up"`` (the child finished starting) or ``"give_up"`` (child -1); ``restart_times``: one entry per restart
    *decision* (a one_for_all restart of five children counts once, as in OTP); ``starts[i]``: how many times
    child ``i`` was started (1 + its restarts); ``availability[i]``: the share of the horizon child ``i`` was up.
    """

    strategy: str
    events: list = field(repr=False)
    restart_times: list
    starts: list
    crashes: list
    availability: list
    gave_up_at: float | None

    @property
    def gave_up(self) -> bool:
        return self.gave_up_at is not None


def simulate_supervisor(
    strategy: str,
    crash_rates: Sequence[float],
    *,
    horizon: float,
    max_restarts: int = 3,
    max_seconds: float = 5.0,
    startup: float = 0.0,
    seed: int = 0,
    clock: FakeClock | None = None,
) -> SupervisionResult:
    """Children ``0 .. n-1`` (``n = len(crash_rates)``) run under one supervisor from time ``clock()``.

    A running child ``i`` crashes after an exponential lifetime of rate ``crash_rates[i]`` per second (0: never).
    On a crash, the supervisor asks :class:`RestartIntensity` and, if allowed, terminates and restarts the children
    of :func:`restart_set`; each is down for ``startup`` seconds, then runs with a fresh lifetime (a crash is
    memoryless, so a restarted sibling draws anew). If not allowed, every child stops and the supervisor gives up.
    The clock is advanced event by event to the horizon (or to the give-up time).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}; got {strategy!r}")
    rates = [_nonnegative(f"crash_rates[{i}]", r, unit="crashes per second") for i, r in enumerate(crash_rates)]
    n = len(rates)
    if n == 0:
        raise ValueError("crash_rates must list at least one child's crash rate")
    horizon = _positive("horizon", horizon, unit="seconds")
    startup = _nonnegative("startup", startup, unit="seconds")
    intensity = RestartIntensity(max_restarts, max_seconds)
    clock = clock if clock is not None else FakeClock()
    if not isinstance(clock, FakeClock):
        raise TypeError(f"clock must be a lecture_lib.resilience.FakeClock (the simulation advances it); got {type(clock).__name__}")
    rng = np.random.default_rng(seed)
    t0 = clock()
    end = t0 + horizon
    generation = [0] * n
    starts = [1] * n
    crashes = [0] * n
    up_since: list[float | None] = [t0] * n
    uptime = [0.0] * n
    queue: list[tuple[float, int, int, int]] = []  # (time, kind 0 = up / 1 = crash, child, generation)

    def schedule_crash(i: int, now: float) -> None:
        if rates[i] > 0:
            heapq.heappush(queue, (now + float(rng.exponential(1.0 / rates[i])), 1, i, generation[i]))

    for i in range(n):
        schedule_crash(i, t0)
    events: list[tuple[float, str, int]] = []
    restart_times: list[float] = []
    gave_up_at = None
    while queue and queue[0][0] < end:
        t, kind, i, gen = heapq.heappop(queue)
        if gen != generation[i]:
            continue  # that incarnation was already terminated by a sibling's restart
        clock.advance(t - clock())
        if kind == 0:
            events.append((t, "up", i))
            up_since[i] = t
            schedule_crash(i, t)
            continue
        events.append((t, "crash", i))
        crashes[i] += 1
        if not intensity.allow(t):
            gave_up_at = t
            events.append((t, "give_up", -1))
            for j in range(n):
                if up_since[j] is not None:
                    uptime[j] += t - up_since[j]
                up_since[j] = None
            break
        restart_times.append(t)
        for j in restart_set(strategy, n, i):
            if up_since[j] is not None:
                uptime[j] += t - up_since[j]
            up_since[j] = None
            generation[j] += 1
            starts[j] += 1
            events.append((t, "restart", j))
            if startup > 0:
                heapq.heappush(queue, (t + startup, 0, j, generation[j]))
            else:
                up_since[j] = t
                events.append((t, "up", j))
                schedule_crash(j, t)
    stop = gave_up_at if gave_up_at is not None else end
    for j in range(n):
        if up_since[j] is not None:
            uptime[j] += stop - up_since[j]
    clock.advance(stop - clock())
    return SupervisionResult(strategy, events, restart_times, starts, crashes,
                             [u / horizon for u in uptime], gave_up_at)
