"""The production libraries beside the course's hand-built mechanisms, checked equal where they overlap.

Used by ``notebooks/partC_production_python.ipynb`` (Zone 4, "the same idea in the library you will use at
work") and ``tests/test_production_libraries.py``. Each function drives the real library and the course's code
with the same input and returns both answers; nothing here prints or plots.

=====================  ==============================================  ==========================================
idea                   course code                                     library
=====================  ==============================================  ==========================================
histogram quantile     ``metrics.Histogram`` / ``histogram_quantile``  ``prometheus_client.Histogram`` exposition
trace context          ``observability.format/parse_traceparent``      OpenTelemetry ``TraceContextTextMapPropagator``
backoff with jitter    ``resilience.backoff_delays`` (full jitter),    ``tenacity.wait_random_exponential``,
                       ``resilience.additive_jitter_delays``           ``tenacity.wait_exponential_jitter``
circuit breaker        ``resilience.CircuitBreaker``                   ``pybreaker.CircuitBreaker``
=====================  ==============================================  ==========================================

Where the libraries differ from ours, the difference is part of the result (see :func:`breaker_trace`).
"""

from __future__ import annotations

import datetime as _dt
import math
import random
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any, Iterator
from unittest import mock

import numpy as np

from lecture_lib import metrics, observability, resilience

__all__ = [
    "BREAKER_STATES",
    "LIBRARIES",
    "install_missing",
    "breaker_trace",
    "otel_extract",
    "otel_inject",
    "otel_sdk_span_traceparent",
    "parse_prometheus_histogram",
    "prometheus_exposition",
    "tenacity_waits",
]


#: import name -> pip requirement (the ranges of pyproject.toml); atheris only where its wheels exist
LIBRARIES = {
    "prometheus_client": "prometheus-client>=0.20,<1",
    "opentelemetry.sdk": "opentelemetry-sdk>=1.25,<2",
    "tenacity": "tenacity>=8.2,<10",
    "pybreaker": "pybreaker>=1.2,<2",
    "atheris": "atheris>=2.3,<4",
}


def install_missing() -> list[str]:
    """pip-install the libraries of :data:`LIBRARIES` that cannot be imported (a Colab session has the course
    package only); returns the requirements it installed. Prints nothing and installs nothing when all are there
    (a local ``make lab`` or Binder). atheris is tried only on Linux x86-64, the platform of its wheels."""
    import importlib.util
    import platform
    import subprocess
    import sys

    def missing(module: str) -> bool:
        try:
            return importlib.util.find_spec(module) is None
        except ModuleNotFoundError:
            return True

    wanted = [req for module, req in LIBRARIES.items() if missing(module)
              and (module != "atheris" or (sys.platform == "linux" and platform.machine() == "x86_64"))]
    if wanted:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *wanted], check=False)
        importlib.invalidate_caches()
    return wanted


# ----------------------------------------------------------------------------------------------------
# Prometheus: the client's text exposition, parsed back into (le bounds, cumulative counts)
# ----------------------------------------------------------------------------------------------------


def prometheus_exposition(samples: Any, bounds: Sequence[float], *, name: str = "request_latency_seconds") -> str:
    """Observe ``samples`` with a real ``prometheus_client.Histogram`` (``buckets=bounds``) in a fresh registry
    and return what a ``/metrics`` endpoint would serve (``generate_latest``), as text."""
    import prometheus_client as pc

    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or not np.isfinite(x).all():
        raise ValueError("samples must be a non-empty 1-D array of finite numbers")
    registry = pc.CollectorRegistry()
    h = pc.Histogram(name, "latency of one request", buckets=list(bounds), registry=registry)
    for v in x.tolist():
        h.observe(v)
    return pc.generate_latest(registry).decode("utf-8")


def parse_prometheus_histogram(text: str, name: str = "request_latency_seconds") -> tuple[list[float], list[float]]:
    """``(upper_bounds, cumulative_counts)`` of histogram ``name`` in a Prometheus text exposition, read with
    ``prometheus_client``'s own parser: exactly what ``histogram_quantile`` needs (``le="+Inf"`` -> ``inf``)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        if family.name == name and family.type == "histogram":
            pairs = [(float(s.labels["le"]), float(s.value)) for s in family.samples if s.name == name + "_bucket"]
            pairs.sort()
            return [b for b, _ in pairs], [c for _, c in pairs]
    raise ValueError(f"name: no histogram called {name!r} in the exposition")


# ----------------------------------------------------------------------------------------------------
# OpenTelemetry: W3C trace context both ways
# ----------------------------------------------------------------------------------------------------


def _propagator() -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


def otel_inject(trace_id: int, span_id: int, *, sampled: bool = True) -> str:
    """The ``traceparent`` header OpenTelemetry's W3C propagator writes for a span with these ids."""
    from opentelemetry import trace

    ctx = trace.set_span_in_context(trace.NonRecordingSpan(trace.SpanContext(
        trace_id=trace_id, span_id=span_id, is_remote=False,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED if sampled else trace.TraceFlags.DEFAULT))))
    carrier: dict[str, str] = {}
    _propagator().inject(carrier, context=ctx)
    if "traceparent" not in carrier:
        raise ValueError(f"trace_id/span_id: OpenTelemetry wrote no header for ids {trace_id:#x}/{span_id:#x}")
    return carrier["traceparent"]


def otel_extract(header: str) -> tuple[int, int, bool] | None:
    """``(trace_id, parent_span_id, sampled)`` as OpenTelemetry's propagator reads ``header``; ``None`` where it
    rejects the header (it then starts a new trace instead of raising)."""
    from opentelemetry import trace

    ctx = _propagator().extract({"traceparent": header})
    sc = trace.get_current_span(ctx).get_span_context()
    if not sc.is_valid:
        return None
    return sc.trace_id, sc.span_id, sc.trace_flags.sampled


def otel_sdk_span_traceparent(seed: int = 0) -> tuple[str, int, int]:
    """Start a real span with the OpenTelemetry SDK (ids from its ``RandomIdGenerator``, seeded through Python's
    ``random``) and return ``(traceparent it propagates, its trace_id, its span_id)``."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    state = random.getstate()
    random.seed(seed)
    try:
        tracer = TracerProvider().get_tracer("lecture26")
        with tracer.start_as_current_span("generate") as span:
            carrier: dict[str, str] = {}
            _propagator().inject(carrier)
            sc = span.get_span_context()
    finally:
        random.setstate(state)
    del trace
    return carrier["traceparent"], sc.trace_id, sc.span_id


# ----------------------------------------------------------------------------------------------------
# tenacity: the waits its Retrying loop would sleep
# ----------------------------------------------------------------------------------------------------

_TENACITY_WAITS = ("random_exponential", "exponential_jitter")


def tenacity_waits(kind: str, attempts: int, runs: int, *, base: float, cap: float, spread: float = 0.1,
                   seed: int = 0) -> np.ndarray:
    """``[runs, attempts]`` waits that ``tenacity.Retrying`` sleeps before each retry of an always-failing call.

    kind ``"random_exponential"``: ``wait_random_exponential(multiplier=base, max=cap)``, i.e.
    ``U(0, min(cap, base * 2**n))`` for retry ``n = 0, 1, ...`` (the AWS "full jitter" =
    ``backoff_delays(..., jitter="full")``). kind ``"exponential_jitter"``: ``wait_exponential_jitter(
    multiplier=base, max=cap, jitter=spread)``, i.e. ``min(cap, base * 2**n + U(0, spread))`` (Google Cloud's
    scheme = the lecture's ``additive_jitter_delays`` below the cap). The sleep is replaced by a recorder, so
    nothing waits; tenacity draws from Python's ``random``, seeded with ``seed`` (and restored afterwards).
    """
    import tenacity

    if kind not in _TENACITY_WAITS:
        raise ValueError(f"kind must be one of {_TENACITY_WAITS}; got {kind!r}")
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValueError(f"attempts must be an integer >= 1 (retries per run); got {attempts!r}")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be an integer >= 1; got {runs!r}")
    if kind == "random_exponential":
        wait = tenacity.wait_random_exponential(multiplier=base, max=cap)
    else:
        wait = tenacity.wait_exponential_jitter(multiplier=base, max=cap, jitter=spread)
    out = np.empty((runs, attempts))
    state = random.getstate()
    random.seed(seed)
    try:
        for r in range(runs):
            slept: list[float] = []
            retrying = tenacity.Retrying(wait=wait, stop=tenacity.stop_after_attempt(attempts + 1),
                                         sleep=slept.append, reraise=True)
            try:
                retrying(_always_fails)
            except _Boom:
                pass
            out[r] = slept
    finally:
        random.setstate(state)
    return out


class _Boom(RuntimeError):
    pass


def _always_fails() -> None:
    raise _Boom("backend unavailable")


# ----------------------------------------------------------------------------------------------------
# pybreaker vs our CircuitBreaker on one event trace
# ----------------------------------------------------------------------------------------------------

#: state names, normalised: pybreaker says "half-open", the course "half_open"
BREAKER_STATES = ("closed", "open", "half_open")
_EPOCH = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)


@contextmanager
def _pybreaker_clock(clock: resilience.FakeClock) -> Iterator[None]:
    """pybreaker reads the wall clock (``datetime.now(UTC)``); swap it for the fake clock inside this block only."""
    import pybreaker

    class FakeDatetime(_dt.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> _dt.datetime:  # type: ignore[override]
            return _EPOCH + _dt.timedelta(seconds=clock())

    with mock.patch.object(pybreaker, "datetime", FakeDatetime):
        yield


def breaker_trace(events: Sequence[tuple[float, bool]], *, fail_max: int = 3, reset_timeout: float = 30.0,
                  ours: resilience.BreakerConfig | None = None) -> dict[str, list]:
    """Drive ``pybreaker.CircuitBreaker(fail_max, reset_timeout)`` and the course's ``CircuitBreaker`` with one
    trace of calls ``(time in s, fails?)`` on a fake clock.

    ``ours`` defaults to the configuration that means the same thing as pybreaker's: a window of the last
    ``fail_max`` calls that opens when all of them failed (``failure_rate_threshold=1``) = ``fail_max``
    consecutive failures, one trial call when half-open, ``wait_in_open=reset_timeout``.

    Returns per event ``"pybreaker"`` / ``"ours"``: the state after the call; ``"*_called"``: whether the
    backend was really called (False = rejected by the open circuit); and the transitions
    ``"*_transitions"`` as ``(time, from, to)``.
    """
    import pybreaker

    if isinstance(fail_max, bool) or not isinstance(fail_max, int) or fail_max < 1:
        raise ValueError(f"fail_max must be an integer >= 1; got {fail_max!r}")
    if not (isinstance(reset_timeout, (int, float)) and math.isfinite(reset_timeout) and reset_timeout > 0):
        raise ValueError(f"reset_timeout must be a number of seconds > 0; got {reset_timeout!r}")
    times = [float(t) for t, _ in events]
    if any(b < a for a, b in zip(times, times[1:])):
        raise ValueError("events must be in time order (time, fails?)")
    config = ours or resilience.BreakerConfig(window_size=fail_max, minimum_calls=fail_max,
                                              failure_rate_threshold=1.0, wait_in_open=reset_timeout,
                                              permitted_calls_in_half_open=1)
    clock = resilience.FakeClock(times[0] if times else 0.0)
    theirs_transitions: list[tuple[float, str, str]] = []

    class Listener(pybreaker.CircuitBreakerListener):
        def state_change(self, cb: Any, old: Any, new: Any) -> None:
            theirs_transitions.append((clock(), _norm(old.name if old else "closed"), _norm(new.name)))

    cb = pybreaker.CircuitBreaker(fail_max=fail_max, reset_timeout=reset_timeout, listeners=[Listener()])
    mine = resilience.CircuitBreaker(config, clock=clock)
    out: dict[str, list] = {"time": [], "fails": [], "pybreaker": [], "pybreaker_called": [], "ours": [],
                            "ours_called": []}
    with _pybreaker_clock(clock):
        for t, fails in events:
            clock.advance(float(t) - clock())
            called = [False, False]

            def backend(k: int, fails: bool = bool(fails)) -> str:
                called[k] = True
                if fails:
                    raise resilience.BackendError("backend failed")
                return "ok"

            try:
                cb.call(backend, 0)
            except (resilience.BackendError, pybreaker.CircuitBreakerError):
                pass
            try:
                mine.call_sync(backend, 1)
            except (resilience.BackendError, resilience.CircuitOpenError):
                pass
            out["time"].append(float(t))
            out["fails"].append(bool(fails))
            out["pybreaker"].append(_norm(cb.current_state))
            out["pybreaker_called"].append(called[0])
            out["ours"].append(mine.snapshot.state)
            out["ours_called"].append(called[1])
    out["pybreaker_transitions"] = theirs_transitions
    out["ours_transitions"] = list(mine.history)
    return out


def _norm(state: str) -> str:
    return state.replace("-", "_")
