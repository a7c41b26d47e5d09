"""Shared timing helper for the benchmark scripts (run them as ``python benchmarks/bench_<name>.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time in seconds of ``repeats`` calls of ``fn`` after one warm-up call."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1; got {repeats}")
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved_medians(a: Callable[[], object], b: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall times of ``a`` and ``b`` over ``repeats`` alternating calls (after one warm-up each), so that a
    change in the load of a shared machine slows both alike."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1; got {repeats}")
    a()
    b()
    ta, tb = [], []
    for _ in range(repeats):
        for fn, ts in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)
