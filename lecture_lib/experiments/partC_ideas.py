"""Part C: the lecture's Rust ideas in Python terms, as measurements.

Used by ``notebooks/partC_production_python.ipynb`` (Zones 3-6) and ``tests/test_partC_ideas.py``:

* :func:`check_monad_laws` - the three monad laws of ``Ok``/``Err`` checked by hypothesis (any ``bind``);
* :func:`dispatch_winner` - two plugins register a ``functools.singledispatch`` implementation for the same
  type they do not own: the import order silently decides (what Rust's orphan rule forbids);
* :func:`golden_signals_incident` - the four golden signals per minute of a simulated service with an incident;
* :func:`log_stream` / :func:`log_information` - a day of JSON logs: bytes, message entropy, compressibility;
* :func:`series_memory` - bytes per labelled time series in ``prometheus_client`` (tracemalloc), for the
  cardinality arithmetic;
* :func:`shrink_demo` - a real failing case shrunk by hypothesis and by the lecture's greedy shrinker.
"""

from __future__ import annotations

import functools
import json
import math
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from lecture_lib import errors, fuzzing, metrics, observability, queueing
from lecture_lib.experiments import partC

__all__ = [
    "check_monad_laws",
    "dispatch_winner",
    "golden_signals_incident",
    "log_information",
    "log_stream",
    "series_memory",
    "shrink_demo",
]


# ----------------------------------------------------------------------------------------------------
# Result: the monad laws by hypothesis
# ----------------------------------------------------------------------------------------------------


def _fallible(k: int) -> Callable[[int], Any]:
    def f(x: int) -> Any:
        return errors.Err(f"{x} divisible by {k}") if x % k == 0 else errors.Ok(x * k + 1)

    f.__name__ = f"f{k}"
    return f


def check_monad_laws(bind: Callable[[Any, Callable], Any] | None = None, *, max_examples: int = 200
                     ) -> dict[str, str | None]:
    """Check left identity, right identity and associativity of ``bind`` (default ``m.and_then(f)``) with
    hypothesis on random values, Results and fallible functions ``f_k`` (``Err`` when ``k`` divides ``x``).

    Returns law -> ``None`` if it held on every example, else the shrunk counterexample (a string).
    Deterministic (``derandomize=True``, no example database).
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    bind = bind or (lambda m, f: m.and_then(f))
    values = st.integers(-1000, 1000)
    results = st.one_of(values.map(errors.Ok), st.sampled_from(["timeout", "bad shape"]).map(errors.Err))
    funcs = st.integers(2, 7).map(_fallible)
    cfg = settings(derandomize=True, database=None, max_examples=int(max_examples), deadline=None,
                   suppress_health_check=list(HealthCheck), print_blob=False)
    laws: dict[str, Callable[..., bool]] = {
        "left identity   unit(x) >>= f == f(x)": lambda x, m, f, g: bind(errors.Ok(x), f) == f(x),
        "right identity  m >>= unit == m": lambda x, m, f, g: bind(m, errors.Ok) == m,
        "associativity   (m >>= f) >>= g == m >>= (x -> f(x) >>= g)":
            lambda x, m, f, g: bind(bind(m, f), g) == bind(m, lambda y: bind(f(y), g)),
    }
    out: dict[str, str | None] = {}
    for name, law in laws.items():
        seen: list[str] = []
        test = cfg(given(values, results, funcs, funcs)(_law_property(law, seen)))
        try:
            test()
            out[name] = None
        except AssertionError:
            out[name] = seen[-1]
    return out


def _law_property(law: Callable[..., bool], seen: list[str]) -> Callable[..., None]:
    def prop(x: int, m: Any, f: Callable, g: Callable) -> None:
        if not law(x, m, f, g):
            seen.append(f"x={x}, m={m}, f={f.__name__}, g={g.__name__}")
            raise AssertionError(seen[-1])

    return prop


# ----------------------------------------------------------------------------------------------------
# The orphan rule: who wins when two plugins register for a type neither owns?
# ----------------------------------------------------------------------------------------------------


def dispatch_winner(order: tuple[str, ...] = ("metrics_plugin", "tracing_plugin")) -> dict[str, Any]:
    """A ``singledispatch`` ``to_json`` (think: a serialisation library) and two plugins that each register an
    implementation for ``numpy.float32`` - a type neither plugin owns. Rust would reject the second ``impl``
    (coherence via the orphan rule); Python silently keeps the last registration.

    Returns ``result`` (what ``to_json(np.float32(0.1))`` gives after registering in ``order``) and
    ``newtype`` (the same two plugins, each registering its own wrapper type instead: no conflict).
    """
    plugins = {
        "metrics_plugin": lambda v: round(float(v), 3),          # wants 3 decimals for dashboards
        "tracing_plugin": lambda v: repr(float(v)),               # wants the exact value, as a string
    }
    if sorted(order) != sorted(plugins):
        raise ValueError(f"order must be a permutation of {tuple(plugins)}; got {order!r}")

    @functools.singledispatch
    def to_json(v: Any) -> Any:
        raise TypeError(f"cannot serialise {type(v).__name__}")

    for name in order:
        to_json.register(np.float32, plugins[name])
    result = to_json(np.float32(0.1))

    # the newtype way: each plugin wraps the foreign type in a type it owns and registers that
    wrappers = {name: type(f"{name}_value", (), {"__init__": lambda self, v: setattr(self, "v", v)})
                for name in plugins}
    for name in order:
        to_json.register(wrappers[name], (lambda f: lambda w: f(w.v))(plugins[name]))
    newtype = {name: to_json(wrappers[name](np.float32(0.1))) for name in plugins}
    return {"order": order, "result": result, "newtype": newtype}


# ----------------------------------------------------------------------------------------------------
# The four golden signals of a simulated service with an incident
# ----------------------------------------------------------------------------------------------------


def golden_signals_incident(*, arrival_rate: float = 30.0, service_rate: float = 50.0, minutes: int = 10,
                            incident: tuple[int, int] = (4, 6), slowdown: float = 2.0, error_rate: float = 0.002,
                            incident_error_rate: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """One FIFO server (M/M/1: Poisson arrivals, exponential service) for ``minutes`` minutes; during the
    ``incident`` minutes a slow dependency multiplies service times by ``slowdown`` and errors rise.

    Returns one row per minute: p50 and p99 latency (ms, ``histogram_quantile`` on fine exponential buckets),
    traffic (req/s), errors (%), saturation (busy fraction), from :func:`lecture_lib.metrics.golden_signals`.
    Calm minutes match M/M/1: rho = lambda/mu, p50 = ln 2 / (mu - lambda), p99 = ln 100 / (mu - lambda).
    """
    rng = np.random.default_rng(seed)
    t_end = 60.0 * minutes
    n = int(arrival_rate * t_end * 1.2) + 100
    arrivals = np.cumsum(rng.exponential(1.0 / arrival_rate, n))
    arrivals = arrivals[arrivals < t_end]
    service = rng.exponential(1.0 / service_rate, arrivals.size)
    in_incident = (arrivals >= 60.0 * incident[0]) & (arrivals < 60.0 * incident[1])
    service = np.where(in_incident, service * slowdown, service)
    starts, departures = queueing.lindley(arrivals, service)
    is_error = rng.random(arrivals.size) < np.where(in_incident, incident_error_rate, error_rate)
    bounds = metrics.exponential_buckets(0.001, 1.05, 300)
    rows = []
    for minute in range(minutes):
        g = metrics.golden_signals(arrivals, departures - arrivals, is_error, service,
                                   window=(60.0 * minute, 60.0 * (minute + 1)), bounds=bounds)
        rows.append({"minute": minute, "incident": incident[0] <= minute < incident[1],
                     "p50 (ms)": 1000 * g.latency_p50, "p99 (ms)": 1000 * g.latency_p99,
                     "traffic (req/s)": g.traffic, "errors (%)": 100 * g.error_ratio,
                     "saturation": g.saturation})
    return pd.DataFrame(rows).set_index("minute")


# ----------------------------------------------------------------------------------------------------
# Log volume and entropy
# ----------------------------------------------------------------------------------------------------

#: message -> probability per request of one service's log lines (the rest is the per-request INFO line)
LOG_MIX = {"request done": 0.9885, "retrying backend call": 0.01, "backend timeout": 0.001,
           "cache rebuilt": 0.0005}


def log_stream(n: int = 5000, *, seed: int = 0, mix: dict[str, float] | None = None) -> list[str]:
    """``n`` JSON log lines as the course's logger writes them (:func:`lecture_lib.observability.make_logger`
    format: ts, level, logger, message, trace_id, span_id, fields), messages drawn from ``mix``."""
    mix = mix or LOG_MIX
    names = list(mix)
    p = np.array([mix[k] for k in names], dtype=np.float64)
    if abs(p.sum() - 1) > 1e-9:
        raise ValueError(f"mix must hold probabilities that sum to 1; got {p.sum()}")
    rng = np.random.default_rng(seed)
    which = rng.choice(len(names), size=n, p=p)
    lines = []
    ts = 1_700_000_000.0
    for i, k in enumerate(which.tolist()):
        ts += float(rng.exponential(0.01))
        msg = names[k]
        rec = {"ts": round(ts, 3), "level": "INFO" if msg == "request done" else "WARNING",
               "logger": "inference", "message": msg,
               "trace_id": f"{observability.random_id(128, rng):032x}",
               "span_id": f"{observability.random_id(64, rng):016x}"}
        if msg == "request done":
            rec.update(status=200, latency_ms=round(float(rng.lognormal(np.log(40), 0.4)), 1))
        lines.append(json.dumps(rec))
    return lines


def log_information(lines: list[str], mix: dict[str, float] | None = None) -> dict[str, float]:
    """Bytes per line, bits per line after zlib (level 9), the entropy of the message type (bits/line,
    :func:`lecture_lib.observability.entropy_bits`), the self-information ``-log2 p`` of each message, and
    how much of the volume the ``request done`` lines make."""
    mix = mix or LOG_MIX
    raw = "\n".join(lines).encode()
    msgs = [json.loads(line)["message"] for line in lines]
    done_bytes = sum(len(line) + 1 for line, m in zip(lines, msgs) if m == "request done")
    return {
        "bytes_per_line": len(raw) / len(lines),
        "zlib_bits_per_line": 8 * len(zlib.compress(raw, 9)) / len(lines),
        "message_entropy_bits": observability.entropy_bits(list(mix.values())),
        "info_bits": {k: -math.log2(v) for k, v in mix.items()},
        "share_of_bytes_request_done": done_bytes / (len(raw) + 1),
        "id_bits_per_line": 128 + 64,
    }


# ----------------------------------------------------------------------------------------------------
# Cardinality: memory per labelled series in prometheus_client
# ----------------------------------------------------------------------------------------------------


def series_memory(n_series: int = 2000, *, kind: str = "counter") -> float:
    """Bytes of Python heap per labelled child of a ``prometheus_client`` Counter (or Histogram with the 14
    default buckets) in the *application* process, measured with ``tracemalloc`` over ``n_series`` label values.
    (The Prometheus *server* then stores each series again, a few kB each in its head block.)"""
    import prometheus_client as pc

    if kind not in ("counter", "histogram"):
        raise ValueError(f"kind must be 'counter' or 'histogram'; got {kind!r}")
    registry = pc.CollectorRegistry()
    metric = (pc.Counter("requests", "requests", ["user_id"], registry=registry) if kind == "counter"
              else pc.Histogram("latency_seconds", "latency", ["user_id"], registry=registry))
    labels = [f"u{i:07d}" for i in range(int(n_series))]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for u in labels:
            child = metric.labels(user_id=u)
            child.inc() if kind == "counter" else child.observe(0.1)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) / int(n_series)


# ----------------------------------------------------------------------------------------------------
# Shrinking a real failing case
# ----------------------------------------------------------------------------------------------------


def shrink_demo(bug: str = "signed scale (max instead of max|w|)", *, max_examples: int = 200) -> dict[str, Any]:
    """The planted quantizer bug of Part C 5.1, hunted by hypothesis: every failing input in the order hypothesis
    tried it (generation, then shrinking), and the lecture's greedy shrinker
    (:func:`lecture_lib.fuzzing.greedy_shrink`) started from the largest failing input hypothesis generated."""
    hunt = partC.planted_bug_hunt(bug, max_examples=max_examples)
    fn = partC.BUGS[bug]

    def fails(xs: list[float]) -> bool:
        return not partC._matches_oracle(fn, xs)

    start = max(hunt["failing"], key=len) if hunt["failing"] else None
    path = fuzzing.greedy_shrink(start, fails) if start else []
    return {"hypothesis": hunt["failing"], "hypothesis_minimal": hunt["shrunk"], "greedy_start": start,
            "greedy_path": path}
