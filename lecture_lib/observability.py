"""Observability in Python: JSON logs with trace context, W3C trace ids, sampling costs, cardinality.

Taught in notebook Part C (``notebooks/partC_production_python.ipynb``): Zone 3 ("Trace ids and the
birthday bound", "Head vs tail sampling", "Cardinality"), Zone 4 (this code) and Zone 5 ("Tail vs head
sampling costs").

Trace context
-------------
A *trace* is a tree of *spans*. Every span carries the trace's 128-bit ``trace_id``, its own 64-bit
``span_id`` and its parent's ``span_id``; across processes they travel in the W3C ``traceparent``
header ``00-<32 hex trace id>-<16 hex span id>-<2 hex flags>``. Inside one process the current span is
kept in a :class:`contextvars.ContextVar`, so it follows ``asyncio`` tasks and threads started with a
copied context, and :class:`TraceContextFilter` stamps it on every log record.

Birthday bound
--------------
``n`` ids drawn uniformly from ``N = 2**bits`` values collide with probability::

    P = 1 - prod_{i<n} (1 - i/N)  ~  1 - exp(-n (n-1) / (2N))  ~  n**2 / (2N)      (small P)
    n for probability P           ~  sqrt(2 N ln(1 / (1 - P)))

128-bit trace ids, n = 10**15: P = 1.47e-9 (a UUIDv4 has only 122 random bits: 9.4e-8). 64-bit span ids
reach P = 1 % at 6.1e8 and 50 % at 5.1e9 ids, three orders of magnitude before the lecture's 10**12.

Sampling (per request; lambda requests/s, mean trace size s)::

    head (decide at the start, keep with probability rho):  bytes = rho * s,   P(kept | error) = rho
    tail (decide at the end: keep every error and slow trace, keep the rest with rho_n):
        bytes = eps * s_err + (1 - eps) * (P(slow) + (1 - P(slow)) * rho_n) * s,   P(kept | error) = 1
    tail needs a buffer of every in-flight trace for the decision wait T:  lambda * T * s bytes (Little)

Cardinality: a metric with labels taking ``|l_1|, ..., |l_k|`` values can produce
``prod |l_i|`` time series (10**6 users x 100 endpoints x 50 status codes = 5e9).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

__all__ = [
    "JsonFormatter",
    "ManualClock",
    "SamplingResult",
    "Span",
    "TraceContextFilter",
    "Tracer",
    "cardinality",
    "collision_probability",
    "current_span",
    "entropy_bits",
    "expected_sampling_cost",
    "format_traceparent",
    "ids_for_collision_probability",
    "make_logger",
    "observed_cardinality",
    "parse_traceparent",
    "random_id",
    "render_tree",
    "sample_head",
    "sample_tail",
    "simulate_collisions",
    "sampling_result",
    "synthetic_requests",
    "tail_buffer_bytes",
]

# The one piece of module-level state is the *context variable* itself: its value is per task/thread
# context, which is exactly what trace propagation needs.
_CURRENT_SPAN: contextvars.ContextVar[Span | None] = contextvars.ContextVar("lecture_lib_current_span", default=None)


# ----------------------------------------------------------------------------------------------------
# Clocks and ids
# ----------------------------------------------------------------------------------------------------


class ManualClock:
    """A clock you advance by hand (deterministic spans and log timestamps): ``clock()``, ``clock.advance(dt)``."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        s = float(seconds)
        if not (math.isfinite(s) and s >= 0):
            raise ValueError(f"seconds must be a finite number >= 0 (clocks do not run backwards); got {seconds}")
        self.now += s


def random_id(bits: int, rng: np.random.Generator) -> int:
    """A uniformly random non-zero id of ``bits`` bits (64 for span ids, 128 for trace ids; W3C forbids 0)."""
    if bits not in (64, 128):
        raise ValueError(f"bits must be 64 (span id) or 128 (trace id); got {bits!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    while True:
        words = rng.integers(0, 2**64, size=bits // 64, dtype=np.uint64).tolist()
        value = 0
        for w in words:
            value = (value << 64) | int(w)
        if value != 0:
            return value


_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


def format_traceparent(trace_id: int, span_id: int, *, sampled: bool = True) -> str:
    """W3C ``traceparent`` header: ``00-{trace_id:032x}-{span_id:016x}-{01 if sampled else 00}``."""
    if not (isinstance(trace_id, int) and 0 < trace_id < 2**128):
        raise ValueError(f"trace_id must be an integer in [1, 2**128); got {trace_id!r}")
    if not (isinstance(span_id, int) and 0 < span_id < 2**64):
        raise ValueError(f"span_id must be an integer in [1, 2**64); got {span_id!r}")
    return f"00-{trace_id:032x}-{span_id:016x}-{1 if sampled else 0:02x}"


def parse_traceparent(header: str) -> tuple[int, int, bool]:
    """Parse a W3C ``traceparent`` header into ``(trace_id, parent_span_id, sampled)``.

    Rejects (``ValueError``) anything but lowercase hex fields of 2-32-16-2 digits, version ``ff``, an
    all-zero trace or span id, and (for version 00) extra fields. A *future* version (01..fe) may carry more
    fields after a dash: the W3C spec asks a version-00 parser to read the four it knows and ignore the rest
    (OpenTelemetry's propagator does the same; ``tests/test_production_libraries.py`` checks the agreement).
    """
    if not isinstance(header, str):
        raise TypeError(f"header must be a str; got {type(header).__name__}")
    m = _TRACEPARENT.match(header.strip(" \t"))
    if m is None:
        raise ValueError(
            "traceparent must look like '00-<32 lowercase hex>-<16 lowercase hex>-<2 hex>'; "
            f"got {header!r}"
        )
    version, trace_hex, span_hex, flags_hex, rest = m.groups()
    if version == "00" and rest is not None:
        raise ValueError(f"traceparent version 00 has exactly four fields; got extra {rest!r}")
    if version == "ff":
        raise ValueError("traceparent version 'ff' is invalid")
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if trace_id == 0:
        raise ValueError("traceparent trace id must not be all zeros")
    if span_id == 0:
        raise ValueError("traceparent parent id must not be all zeros")
    return trace_id, span_id, bool(int(flags_hex, 16) & 1)


# ----------------------------------------------------------------------------------------------------
# Spans
# ----------------------------------------------------------------------------------------------------


@dataclass
class Span:
    """One timed operation in a trace."""

    name: str
    trace_id: int
    span_id: int
    parent_id: int | None
    start: float
    end: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"  # "ok" or "error"

    @property
    def duration(self) -> float:
        if self.end is None:
            raise ValueError(f"span {self.name!r} has not ended yet")
        return self.end - self.start

    @property
    def traceparent(self) -> str:
        """The header to send downstream: this span becomes the callee's parent."""
        return format_traceparent(self.trace_id, self.span_id)


def current_span() -> Span | None:
    """The span active in the current context (``None`` outside any span)."""
    return _CURRENT_SPAN.get()


class Tracer:
    """Creates spans with random W3C ids from ``rng`` and times from ``clock``; keeps the finished ones.

    ``with tracer.span("name", key=value) as s:`` starts a child of the current span (or a new trace),
    makes it current for the block, records an exception as ``status="error"`` (and re-raises it), and
    appends the span to :attr:`finished` when the block ends.
    """

    def __init__(self, *, rng: np.random.Generator, clock: Callable[[], float] = time.time) -> None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
        if not callable(clock):
            raise TypeError("clock must be a callable returning seconds")
        self._rng = rng
        self._clock = clock
        self.finished: list[Span] = []

    @contextlib.contextmanager
    def span(self, name: str, *, traceparent: str | None = None, **attributes: Any) -> Iterator[Span]:
        """Start a span; ``traceparent`` continues a trace received from another process."""
        if not isinstance(name, str) or not name:
            raise ValueError("name must be a non-empty string")
        if traceparent is not None:
            trace_id, parent_id, _ = parse_traceparent(traceparent)
        else:
            parent = _CURRENT_SPAN.get()
            if parent is None:
                trace_id, parent_id = random_id(128, self._rng), None
            else:
                trace_id, parent_id = parent.trace_id, parent.span_id
        s = Span(name=name, trace_id=trace_id, span_id=random_id(64, self._rng), parent_id=parent_id,
                 start=float(self._clock()), attributes=dict(attributes))
        token = _CURRENT_SPAN.set(s)
        try:
            yield s
        except BaseException as exc:
            s.status = "error"
            s.attributes["exception.type"] = type(exc).__name__
            s.attributes["exception.message"] = str(exc)
            raise
        finally:
            s.end = float(self._clock())
            _CURRENT_SPAN.reset(token)
            self.finished.append(s)


def render_tree(spans: Sequence[Span]) -> str:
    """An indented text tree of the spans of one trace, children in start order, with durations.

    Raises ``ValueError`` if the spans mix traces, if a parent is missing or if there is not exactly one root.
    """
    if not spans:
        raise ValueError("spans must contain at least one span")
    trace_ids = {s.trace_id for s in spans}
    if len(trace_ids) != 1:
        raise ValueError(f"spans must belong to one trace; got {len(trace_ids)} trace ids")
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id is None or s.parent_id not in ids]
    if len(roots) != 1:
        raise ValueError(f"a trace must have exactly one root span (no parent among the spans); got {len(roots)}")
    children: dict[int, list[Span]] = {}
    for s in spans:
        if s is not roots[0] and s.parent_id is not None:
            children.setdefault(s.parent_id, []).append(s)
    lines: list[str] = []

    def walk(s: Span, depth: int) -> None:
        dur = f"{s.duration * 1000:.1f} ms" if s.end is not None else "open"
        mark = " [error]" if s.status == "error" else ""
        lines.append(f"{'  ' * depth}{s.name} ({dur}){mark}")
        for c in sorted(children.get(s.span_id, []), key=lambda c: (c.start, c.name)):
            walk(c, depth + 1)

    walk(roots[0], 0)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------
# Structured logging
# ----------------------------------------------------------------------------------------------------

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime",
                                                                                      "trace_id", "span_id"}


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id`` / ``span_id`` (hex strings, or ``None``) of the current span to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        s = _CURRENT_SPAN.get()
        record.trace_id = f"{s.trace_id:032x}" if s is not None else None
        record.span_id = f"{s.span_id:016x}" if s is not None else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts, level, logger, message, trace_id, span_id`` then the ``extra=`` fields
    (sorted), then ``exc_type`` / ``exc_message`` when logging an exception.

    ``clock`` (optional) replaces the record's wall-clock time, for deterministic output.
    """

    def __init__(self, *, clock: Callable[[], float] | None = None) -> None:
        super().__init__()
        self._clock = clock

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(float(self._clock()) if self._clock is not None else record.created, 6),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
        }
        for key in sorted(k for k in vars(record) if k not in _STANDARD_ATTRS):
            out[key] = getattr(record, key)
        if record.exc_info and record.exc_info[0] is not None:
            out["exc_type"] = record.exc_info[0].__name__
            out["exc_message"] = str(record.exc_info[1])
        return json.dumps(out, default=repr, ensure_ascii=False)


def make_logger(
    name: str, stream: IO[str], *, level: int = logging.INFO, clock: Callable[[], float] | None = None
) -> logging.Logger:
    """A standalone :class:`logging.Logger` writing JSON lines with trace context to ``stream``.

    The logger is created directly (not via ``logging.getLogger``), so it is not registered globally and
    does not propagate to the root logger: two calls never share handlers.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("name must be a non-empty string")
    if not hasattr(stream, "write"):
        raise TypeError("stream must be a writable text stream (e.g. io.StringIO() or sys.stdout)")
    logger = logging.Logger(name, level)
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.addFilter(TraceContextFilter())
    handler.setFormatter(JsonFormatter(clock=clock))
    logger.addHandler(handler)
    return logger


def entropy_bits(probabilities: Sequence[float]) -> float:
    """Shannon entropy ``-sum p log2 p`` (bits) of a distribution over log messages; 0 for a constant log."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or (p < 0).any() or not np.isfinite(p).all():
        raise ValueError("probabilities must be a non-empty 1-D sequence of numbers >= 0")
    if abs(p.sum() - 1.0) > 1e-9:
        raise ValueError(f"probabilities must sum to 1; got {p.sum()}")
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


# ----------------------------------------------------------------------------------------------------
# Birthday bound
# ----------------------------------------------------------------------------------------------------


def _check_n_bits(n: Any, bits: Any) -> tuple[float, int]:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not (1 <= bits <= 1024):
        raise ValueError(f"bits must be an integer in 1..1024; got {bits!r}")
    nv = float(n)
    if not (math.isfinite(nv) and nv >= 0):
        raise ValueError(f"n must be a finite number of ids >= 0; got {n}")
    return nv, int(bits)


def collision_probability(n: float, bits: int, *, exact: bool = False) -> float:
    """Probability that ``n`` uniform random ``bits``-bit ids contain a duplicate.

    ``exact=False``: ``1 - exp(-n (n-1) / 2^(bits+1))`` (computed with ``expm1``; accurate whenever
    ``n << 2**bits``). ``exact=True``: ``1 - prod_{i<n} (1 - i / 2**bits)`` (integer ``n <= 10**7``).
    """
    nv, b = _check_n_bits(n, bits)
    N = 2.0**b
    if exact:
        if nv != int(nv) or nv > 10**7:
            raise ValueError(f"exact=True needs an integer n <= 10**7; got {n}")
        k = int(nv)
        if k > 2**b:
            return 1.0
        i = np.arange(k, dtype=np.float64)
        return float(-np.expm1(np.log1p(-i / N).sum()))
    return float(-math.expm1(-nv * (nv - 1) / (2.0 * N)))


def ids_for_collision_probability(p: float, bits: int) -> float:
    """Number of ids at which the collision probability reaches ``p``: ``sqrt(2 * 2**bits * ln(1/(1-p)))``."""
    pv = float(p)
    if not (0.0 < pv < 1.0):
        raise ValueError(f"p must be a probability in (0, 1); got {p}")
    _, b = _check_n_bits(0, bits)
    return math.sqrt(2.0 * 2.0**b * -math.log1p(-pv))


def simulate_collisions(n: int, bits: int, trials: int, *, rng: np.random.Generator) -> float:
    """Fraction of ``trials`` in which ``n`` random ``bits``-bit ids (``bits <= 62``) contain a duplicate."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not (1 <= bits <= 62):
        raise ValueError(f"bits must be an integer in 1..62 for simulation; got {bits!r}")
    for name, v in (("n", n), ("trials", trials)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {v!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    hits = 0
    chunk = max(1, 4_000_000 // int(n))
    done = 0
    while done < trials:
        m = min(chunk, int(trials) - done)
        ids = np.sort(rng.integers(0, 2**bits, size=(m, int(n)), dtype=np.int64), axis=1)
        hits += int((np.diff(ids, axis=1) == 0).any(axis=1).sum())
        done += m
    return hits / int(trials)


# ----------------------------------------------------------------------------------------------------
# Head vs tail sampling
# ----------------------------------------------------------------------------------------------------


def synthetic_requests(
    n: int,
    *,
    error_rate: float,
    rng: np.random.Generator,
    mean_size: float = 4000.0,
    error_size_factor: float = 1.0,
    latency_median: float = 0.1,
    latency_sigma: float = 0.6,
) -> dict[str, np.ndarray]:
    """A synthetic request stream: ``is_error`` (Bernoulli), ``latency`` (log-normal, seconds) and
    ``size`` (trace bytes: exponential with mean ``mean_size``, times ``error_size_factor`` for errors),
    all independent."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1; got {n!r}")
    if not (0.0 <= float(error_rate) <= 1.0):
        raise ValueError(f"error_rate must be in [0, 1]; got {error_rate}")
    for name, v in (("mean_size", mean_size), ("error_size_factor", error_size_factor),
                    ("latency_median", latency_median), ("latency_sigma", latency_sigma)):
        if not (math.isfinite(float(v)) and float(v) > 0):
            raise ValueError(f"{name} must be a finite number > 0; got {v}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    is_error = rng.random(int(n)) < float(error_rate)
    latency = float(latency_median) * np.exp(float(latency_sigma) * rng.standard_normal(int(n)))
    size = rng.exponential(float(mean_size), int(n)) * np.where(is_error, float(error_size_factor), 1.0)
    return {"is_error": is_error, "latency": latency, "size": size}


def sample_head(requests: Mapping[str, np.ndarray], rate: float, *, rng: np.random.Generator) -> np.ndarray:
    """Head-based: keep each trace with probability ``rate``, decided before its outcome is known."""
    if not (0.0 <= float(rate) <= 1.0):
        raise ValueError(f"rate must be a sampling probability in [0, 1]; got {rate}")
    return rng.random(len(requests["is_error"])) < float(rate)


def sample_tail(
    requests: Mapping[str, np.ndarray], *, keep_normal_rate: float, slow_threshold: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Tail-based: after the trace completes, keep every error and every trace with latency
    ``>= slow_threshold``; keep the remaining ones with probability ``keep_normal_rate``."""
    if not (0.0 <= float(keep_normal_rate) <= 1.0):
        raise ValueError(f"keep_normal_rate must be in [0, 1]; got {keep_normal_rate}")
    if not (float(slow_threshold) > 0):
        raise ValueError(f"slow_threshold must be > 0 seconds; got {slow_threshold}")
    interesting = requests["is_error"] | (requests["latency"] >= float(slow_threshold))
    return interesting | (rng.random(interesting.size) < float(keep_normal_rate))


@dataclass(frozen=True)
class SamplingResult:
    bytes_per_request: float
    kept_fraction: float
    p_kept_given_error: float
    errors: int


def sampling_result(requests: Mapping[str, np.ndarray], keep: np.ndarray) -> SamplingResult:
    """Measured storage per request, fraction of traces kept and fraction of error traces kept."""
    k = np.asarray(keep, dtype=bool)
    err = requests["is_error"]
    if k.shape != err.shape:
        raise ValueError("keep must have one entry per request")
    n_err = int(err.sum())
    return SamplingResult(
        bytes_per_request=float((requests["size"] * k).mean()),
        kept_fraction=float(k.mean()),
        p_kept_given_error=float(k[err].mean()) if n_err else math.nan,
        errors=n_err,
    )


def _lognormal_sf(x: float, median: float, sigma: float) -> float:
    return 0.5 * math.erfc((math.log(x) - math.log(median)) / (sigma * math.sqrt(2.0)))


def expected_sampling_cost(
    policy: str, *, error_rate: float, mean_size: float = 4000.0, error_size_factor: float = 1.0,
    rate: float = 0.0, keep_normal_rate: float = 0.0, slow_threshold: float = math.inf,
    latency_median: float = 0.1, latency_sigma: float = 0.6,
) -> dict[str, float]:
    """Formula values for :func:`sample_head` (``policy="head"``, uses ``rate``) or :func:`sample_tail`
    (``policy="tail"``, uses ``keep_normal_rate`` and ``slow_threshold``) on :func:`synthetic_requests`.

    Returns ``bytes_per_request`` and ``p_kept_given_error`` (module docstring formulas).
    """
    eps = float(error_rate)
    s = float(mean_size)
    s_err = s * float(error_size_factor)
    if policy == "head":
        return {"bytes_per_request": float(rate) * (eps * s_err + (1 - eps) * s), "p_kept_given_error": float(rate)}
    if policy == "tail":
        p_slow = _lognormal_sf(float(slow_threshold), float(latency_median), float(latency_sigma)) \
            if math.isfinite(float(slow_threshold)) else 0.0
        keep_normal = p_slow + (1 - p_slow) * float(keep_normal_rate)
        return {"bytes_per_request": eps * s_err + (1 - eps) * keep_normal * s, "p_kept_given_error": 1.0}
    raise ValueError(f"policy must be 'head' or 'tail'; got {policy!r}")


def tail_buffer_bytes(request_rate: float, decision_wait: float, mean_size: float) -> float:
    """Memory a tail sampler holds: ``request_rate * decision_wait * mean_size`` (Little's law, L = lambda W)."""
    for name, v in (("request_rate", request_rate), ("decision_wait", decision_wait), ("mean_size", mean_size)):
        if not (math.isfinite(float(v)) and float(v) >= 0):
            raise ValueError(f"{name} must be a finite number >= 0; got {v}")
    return float(request_rate) * float(decision_wait) * float(mean_size)


# ----------------------------------------------------------------------------------------------------
# Cardinality
# ----------------------------------------------------------------------------------------------------


def cardinality(label_value_counts: Mapping[str, int]) -> int:
    """Worst-case number of time series of one metric: the product of each label's number of values."""
    if not isinstance(label_value_counts, Mapping) or not label_value_counts:
        raise ValueError("label_value_counts must be a non-empty mapping label -> number of values")
    out = 1
    for k, v in label_value_counts.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"label {k!r} must have an integer number of values >= 1; got {v!r}")
        out *= int(v)
    return out


def observed_cardinality(label_sets: Iterable[Mapping[str, str]]) -> int:
    """Number of distinct label combinations actually seen (the series Prometheus would create)."""
    return len({tuple(sorted(ls.items())) for ls in label_sets})
