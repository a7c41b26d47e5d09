"""Batching of generation requests in an inference server: static, dynamic and continuous (Part E).

Taught in ``notebooks/partE_serving_training_optimization.ipynb``: Zone 1 (batch-size and arrival-rate
sliders), Zone 3 (cost model, Little's law, the memory-bandwidth bound), Zone 5 (curves calibrated on the
tiny LM).

**Cost model.** One decoding step of a batch of ``B`` sequences takes ``step_time(B) = a + b * B`` seconds
and produces one token per sequence. ``a`` is the part paid once per step (reading every weight from
memory, Python and kernel launch overhead), ``b`` the part paid per sequence. A full batch therefore
delivers at most ``B / (a + b * B)`` tokens per second, which approaches ``1 / b`` as ``B`` grows.

**Policies.** A request arrives at time ``t_i`` and needs ``n_i`` decoding steps (output tokens).

* ``static``: wait until ``max_batch_size`` requests are queued (or no more will arrive), run that batch
  until its *longest* request finishes. Finished requests keep their slot as padding, so every step
  costs ``a + b * B_start``.
* ``dynamic``: like static, but a batch also starts when its oldest request has waited ``max_wait``
  seconds (the "max queue delay" of real servers), so it may run partly empty.
* ``continuous`` (iteration-level scheduling, Orca): at every step boundary finished requests leave and
  waiting requests join, up to ``max_batch_size``; each step costs ``a + b * (active requests)``.
* a scheduler of your own: :func:`simulate_scheduler` asks a function which waiting requests to batch (or
  how long to wait) whenever the server is idle, and returns the schedule; :func:`replay_batches` computes
  every time of a schedule with the ``static``/``dynamic`` cost (padding slots are paid for), and checks
  that it breaks no rule (a request served once, after its arrival, one batch at a time).

**Little's law.** Over a window that contains every request from arrival to completion, the time-average
number of requests in the system ``L`` equals the arrival rate ``lambda = n / T`` times the mean latency
``W``. The simulator integrates the number in system (queued + in a batch) over time on its own, so
:meth:`BatchingResult.little_law` is a real consistency check of its bookkeeping.

**Memory-bandwidth bound.** A decoding step must stream every weight once from memory, whatever the batch
size, so ``step_time >= weight_bytes / bandwidth`` and the weight bytes moved *per token* are
``weight_bytes / B``: batching is how decoding escapes the bandwidth wall.
"""

from __future__ import annotations

import math
import numbers
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lecture_lib._checks import integer as _integer
from lecture_lib._checks import nonnegative as _nonnegative
from lecture_lib._checks import positive as _positive

__all__ = [
    "BATCHING_POLICIES",
    "BatchingResult",
    "decode_step_flops",
    "decode_step_lower_bound",
    "fit_step_cost",
    "make_requests",
    "max_throughput",
    "measure_copy_bandwidth",
    "measure_step_times",
    "run_batching",
    "replay_batches",
    "simulate_batching",
    "simulate_scheduler",
    "step_time",
    "sweep",
    "tinylm_decode_step",
    "weight_bytes_per_token",
]

BATCHING_POLICIES = ("static", "dynamic", "continuous")


# ---------------------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------------------
def _check_cost(a, b) -> tuple[float, float]:
    a, b = _nonnegative("a", a), _nonnegative("b", b)
    if a + b == 0:
        raise ValueError("a + b must be > 0: step_time(B) = a + b*B must be positive")
    return a, b


def _check_policy(policy) -> str:
    if policy not in BATCHING_POLICIES:
        raise ValueError(f"policy must be one of {BATCHING_POLICIES}; got {policy!r}")
    return policy


def _check_trace(arrival_times, output_tokens) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(arrival_times, dtype=np.float64).ravel()
    tok_in = np.asarray(output_tokens).ravel()
    if arr.size == 0:
        raise ValueError("arrival_times must hold at least one request; got an empty array")
    if tok_in.shape != arr.shape:
        raise ValueError(f"output_tokens must have one entry per request ({arr.size}); got {tok_in.size}")
    if not np.all(np.isfinite(arr)) or arr[0] < 0 or np.any(np.diff(arr) < 0):
        raise ValueError("arrival_times must be finite, >= 0 and non-decreasing")
    if tok_in.dtype.kind not in "iu" or np.any(tok_in < 1):
        raise ValueError("output_tokens must be integers >= 1 (decoding steps per request)")
    return arr, tok_in.astype(np.int64)


# ---------------------------------------------------------------------------------------------------
# cost model and bounds
# ---------------------------------------------------------------------------------------------------
def step_time(batch_size: int, a: float, b: float) -> float:
    """Seconds for one decoding step of ``batch_size`` sequences: ``a + b * batch_size``."""
    a, b = _check_cost(a, b)
    return a + b * _integer("batch_size", batch_size)


def max_throughput(batch_size: int, a: float, b: float) -> float:
    """Tokens per second of a batch kept full: ``batch_size / (a + b * batch_size)``."""
    bs = _integer("batch_size", batch_size)
    return bs / step_time(bs, a, b)


def weight_bytes_per_token(weight_bytes: float, batch_size: int = 1) -> float:
    """Weight bytes streamed from memory per generated token: ``weight_bytes / batch_size``."""
    return _positive("weight_bytes", weight_bytes) / _integer("batch_size", batch_size)


def decode_step_lower_bound(
    weight_bytes: float, bandwidth: float, *, batch_size: int = 1, kv_bytes_per_sequence: float = 0.0
) -> float:
    """Memory-bandwidth lower bound (seconds) on one decoding step.

    ``(weight_bytes + batch_size * kv_bytes_per_sequence) / bandwidth``: every weight is read once per
    step, and each sequence's KV cache is read once. ``bandwidth`` in bytes per second.
    """
    w = _positive("weight_bytes", weight_bytes)
    bw = _positive("bandwidth", bandwidth)
    bs = _integer("batch_size", batch_size)
    kv = _nonnegative("kv_bytes_per_sequence", kv_bytes_per_sequence)
    return (w + bs * kv) / bw


def decode_step_flops(
    n_layer: int, d_model: int, context_len: int, *, d_ff: int | None = None, gated: bool = False,
    vocab_size: int = 0, batch_size: int = 1,
) -> dict[str, int]:
    """Floating-point operations (2 per multiply-add) of one decoding step with a KV cache, by part.

    Per layer and sequence, for ``context_len`` = T positions attended to (the cached ones plus the new one):

    * ``projections``: Q, K, V and the output projection, ``2 * 4 d**2``;
    * ``mlp``: ``2 * 2 d d_ff`` (``gated=True``, SwiGLU as in LLaMA: ``2 * 3 d d_ff``), ``d_ff`` = 4 d by default;
    * ``attention``: the scores q.K and the weighted sum of V, ``2 * 2 T d``: linear in T, not T d**2;
    * ``head``: the output layer once per step, ``2 d vocab_size``.

    Everything is multiplied by ``batch_size``; ``total`` is the sum. Biases, norms and the softmax are not
    counted (they are O(d) or O(T)). Part B, Zone 2 (the cost of a decode step); the tiny LM's counts equal
    PyTorch's ``FlopCounterMode`` (tests/test_batching.py).
    """
    L = _integer("n_layer", n_layer)
    d = _integer("d_model", d_model)
    T = _integer("context_len", context_len)
    ff = 4 * d if d_ff is None else _integer("d_ff", d_ff)
    V = _integer("vocab_size", vocab_size, 0)
    B = _integer("batch_size", batch_size)
    if not isinstance(gated, bool):
        raise TypeError(f"gated must be a bool; got {type(gated).__name__}")
    parts = {"projections": L * 8 * d * d, "mlp": L * 2 * (3 if gated else 2) * d * ff,
             "attention": L * 4 * T * d, "head": 2 * d * V}
    parts = {k: B * v for k, v in parts.items()}
    parts["total"] = sum(parts.values())
    return parts


# ---------------------------------------------------------------------------------------------------
# workload and simulator
# ---------------------------------------------------------------------------------------------------
def make_requests(
    n_requests: int, arrival_rate: float, *, output_tokens: int | tuple[int, int] = (16, 64), seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson arrivals (rate ``arrival_rate`` per second) and output lengths.

    ``output_tokens``: an int (every request the same) or ``(lo, hi)`` for lengths uniform on lo..hi.
    Returns ``(arrival_times, output_tokens)`` as float64 and int64 arrays.
    """
    n = _integer("n_requests", n_requests)
    lam = _positive("arrival_rate", arrival_rate)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int; got {type(seed).__name__}")
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / lam, n))
    if isinstance(output_tokens, numbers.Integral) and not isinstance(output_tokens, bool):
        tokens = np.full(n, _integer("output_tokens", output_tokens), dtype=np.int64)
    elif isinstance(output_tokens, tuple) and len(output_tokens) == 2:
        lo = _integer("output_tokens[0]", output_tokens[0])
        hi = _integer("output_tokens[1]", output_tokens[1])
        if hi < lo:
            raise ValueError(f"output_tokens must be (lo, hi) with 1 <= lo <= hi; got {output_tokens}")
        tokens = rng.integers(lo, hi + 1, n).astype(np.int64)
    else:
        raise TypeError(f"output_tokens must be an int or a (lo, hi) tuple; got {output_tokens!r}")
    return arrivals, tokens


@dataclass(frozen=True)
class BatchingResult:
    """Per-request times of one simulated run, plus the server's own time integral.

    ``step_batch_sizes``: the batch size charged at each step (includes padding slots for static/dynamic);
    ``step_active``: how many of those slots produced a token. ``area_in_system``: the integral over
    ``[0, end_time]`` of the number of requests queued or in a batch, accumulated by the simulator itself.
    """

    policy: str
    max_batch_size: int
    a: float
    b: float
    arrival_times: np.ndarray
    output_tokens: np.ndarray
    start_times: np.ndarray
    first_token_times: np.ndarray
    completion_times: np.ndarray
    step_batch_sizes: np.ndarray
    step_active: np.ndarray
    area_in_system: float
    end_time: float

    @property
    def latencies(self) -> np.ndarray:
        """Arrival to last token, seconds."""
        return self.completion_times - self.arrival_times

    @property
    def waits(self) -> np.ndarray:
        """Arrival to the start of the step that produced the first token, seconds."""
        return self.start_times - self.arrival_times

    @property
    def time_to_first_token(self) -> np.ndarray:
        return self.first_token_times - self.arrival_times

    @property
    def throughput_tokens(self) -> float:
        """Generated tokens per second over ``[0, end_time]``."""
        return float(self.output_tokens.sum()) / self.end_time

    @property
    def throughput_requests(self) -> float:
        return len(self.arrival_times) / self.end_time

    @property
    def slot_utilization(self) -> float:
        """Useful tokens / charged batch slots (1.0 means no padding)."""
        return float(self.step_active.sum()) / float(self.step_batch_sizes.sum())

    def latency_quantile(self, q: float) -> float:
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q must be a quantile in [0, 1]; got {q}")
        return float(np.quantile(self.latencies, q))

    def little_law(self) -> dict:
        """``L`` (time-average number in system, from the simulator's own integral) against
        ``lambda * W`` with ``lambda = n / end_time`` and ``W`` the mean latency; over ``[0, end_time]``
        they are equal (every request starts and ends inside the window)."""
        lam = len(self.arrival_times) / self.end_time
        L = self.area_in_system / self.end_time
        W = float(self.latencies.mean())
        return {
            "L": float(L),
            "lambda": float(lam),
            "W": W,
            "lambda_W": float(lam * W),
            "relative_gap": float(abs(L - lam * W) / max(L, lam * W)) if max(L, lam * W) > 0 else 0.0,
        }

    def summary(self) -> dict:
        """One record for tables and widgets."""
        return {
            "policy": self.policy,
            "max_batch_size": self.max_batch_size,
            "throughput_tokens_per_s": self.throughput_tokens,
            "throughput_requests_per_s": self.throughput_requests,
            "mean_latency_s": float(self.latencies.mean()),
            "p50_latency_s": self.latency_quantile(0.5),
            "p99_latency_s": self.latency_quantile(0.99),
            "mean_ttft_s": float(self.time_to_first_token.mean()),
            "mean_batch_size": float(self.step_batch_sizes.mean()),
            "slot_utilization": self.slot_utilization,
        }


def simulate_batching(
    policy: str,
    arrival_times,
    output_tokens,
    *,
    max_batch_size: int,
    a: float,
    b: float,
    max_wait: float = 0.0,
) -> BatchingResult:
    """Run one server through a fixed list of requests (deterministic: the cost model has no noise).

    ``arrival_times``: non-decreasing seconds (>= 0); ``output_tokens``: decoding steps per request (>= 1).
    ``max_wait`` is used by ``dynamic`` only. Requests are served first come, first served.
    """
    policy = _check_policy(policy)
    B = _integer("max_batch_size", max_batch_size)
    a, b = _check_cost(a, b)
    max_wait = _nonnegative("max_wait", max_wait)
    arr, tok = _check_trace(arrival_times, output_tokens)

    n = arr.size
    start = np.full(n, np.nan)
    first = np.full(n, np.nan)
    done = np.full(n, np.nan)
    remaining = tok.copy()
    queue: deque[int] = deque()
    active: list[int] = []
    charged: list[int] = []
    useful: list[int] = []

    t = 0.0
    nxt = 0  # next request not yet arrived
    in_system = 0
    area = 0.0
    t_last = 0.0
    batch_size_charged = 0
    completed = 0

    def clock_to(t_new: float) -> None:
        nonlocal area, t_last
        area += in_system * (t_new - t_last)
        t_last = t_new

    def arrive_until(t_new: float) -> None:
        nonlocal nxt, in_system
        while nxt < n and arr[nxt] <= t_new:
            clock_to(arr[nxt])
            in_system += 1
            queue.append(nxt)
            nxt += 1

    while completed < n:
        arrive_until(t)
        if not active:
            if not queue:  # idle: jump to the next arrival
                t = max(t, arr[nxt])
                continue
            if policy != "continuous":
                full = len(queue) >= B or nxt == n
                if policy == "static" and not full:
                    t = arr[nxt]
                    continue
                if policy == "dynamic" and not full:
                    deadline = arr[queue[0]] + max_wait
                    if t < deadline:
                        t = min(arr[nxt], deadline)
                        continue
                while queue and len(active) < B:
                    active.append(queue.popleft())
                batch_size_charged = len(active)
        if policy == "continuous":
            while queue and len(active) < B:
                active.append(queue.popleft())
            batch_size_charged = len(active)
        for r in active:
            if math.isnan(start[r]):
                start[r] = t
        t_end = t + a + b * batch_size_charged
        charged.append(batch_size_charged)
        useful.append(len(active))
        arrive_until(t_end)
        t = t_end
        still = []
        finished = 0
        for r in active:
            remaining[r] -= 1
            if math.isnan(first[r]):
                first[r] = t
            if remaining[r] == 0:
                done[r] = t
                finished += 1
            else:
                still.append(r)
        active = still
        if finished:
            clock_to(t)
            in_system -= finished
            completed += finished
    clock_to(t)
    return BatchingResult(
        policy=policy,
        max_batch_size=B,
        a=a,
        b=b,
        arrival_times=arr,
        output_tokens=tok,
        start_times=start,
        first_token_times=first,
        completion_times=done,
        step_batch_sizes=np.asarray(charged, dtype=np.int64),
        step_active=np.asarray(useful, dtype=np.int64),
        area_in_system=float(area),
        end_time=float(t),
    )


def run_batching(
    policy: str,
    *,
    arrival_rate: float,
    n_requests: int,
    max_batch_size: int,
    a: float,
    b: float,
    output_tokens: int | tuple[int, int] = (16, 64),
    max_wait: float = 0.0,
    seed: int = 0,
) -> BatchingResult:
    """:func:`make_requests` then :func:`simulate_batching` (the same seed gives the same requests to
    every policy, so policies are compared on identical traffic)."""
    arrivals, tokens = make_requests(n_requests, arrival_rate, output_tokens=output_tokens, seed=seed)
    return simulate_batching(
        policy, arrivals, tokens, max_batch_size=max_batch_size, a=a, b=b, max_wait=max_wait
    )


def sweep(
    policies: Sequence[str],
    *,
    arrival_rates: Sequence[float],
    batch_sizes: Sequence[int],
    n_requests: int,
    a: float,
    b: float,
    output_tokens: int | tuple[int, int] = (16, 64),
    max_wait: float = 0.0,
    seed: int = 0,
) -> list[dict]:
    """:meth:`BatchingResult.summary` for every (policy, arrival rate, batch size), plus the offered
    load ``rho = lambda * E[n] * step_time(B) / B`` (rho >= 1: the queue grows without bound)."""
    rows = []
    for policy in policies:
        for lam in arrival_rates:
            for bs in batch_sizes:
                res = run_batching(
                    policy, arrival_rate=lam, n_requests=n_requests, max_batch_size=bs, a=a, b=b,
                    output_tokens=output_tokens, max_wait=max_wait, seed=seed,
                )
                row = {"arrival_rate": float(lam), **res.summary()}
                row["offered_load"] = lam * float(res.output_tokens.mean()) / max_throughput(bs, a, b)
                rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------------
# a scheduler of your own (Part E challenge)
# ---------------------------------------------------------------------------------------------------
def replay_batches(
    batches: Sequence[tuple[float, Sequence[int]]],
    arrival_times,
    output_tokens,
    *,
    max_batch_size: int,
    a: float,
    b: float,
) -> BatchingResult:
    """The times of a given schedule: ``batches`` lists ``(start_time, request ids)`` in order; every request
    in exactly one batch, a batch starting no earlier than its requests' arrivals and the previous batch's end.

    Request-level batching as in ``static``/``dynamic``: a batch of ``B`` requests runs ``max(n_i)`` steps of
    ``a + b * B`` seconds (finished requests keep their slot as padding); request ``i`` completes after its own
    ``n_i``-th step. Raises ValueError naming the first batch that breaks a rule.
    """
    B = _integer("max_batch_size", max_batch_size)
    a, b = _check_cost(a, b)
    arr, tok = _check_trace(arrival_times, output_tokens)
    n = arr.size
    start = np.full(n, np.nan)
    first = np.full(n, np.nan)
    done = np.full(n, np.nan)
    charged: list[np.ndarray] = []
    useful: list[np.ndarray] = []
    free_at = 0.0
    for k, batch in enumerate(batches):
        try:
            t = float(batch[0])
            ids = np.asarray(batch[1], dtype=np.int64).ravel()
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"batch {k} must be (start_time, request ids); got {batch!r}"[:200]) from None
        if not 1 <= ids.size <= B:
            raise ValueError(f"batch {k} must hold 1..max_batch_size={B} requests; got {ids.size}")
        if ids.min() < 0 or ids.max() >= n or np.unique(ids).size != ids.size:
            raise ValueError(f"batch {k} must name distinct request ids in 0..{n - 1}")
        if np.any(~np.isnan(start[ids])):
            raise ValueError(f"batch {k} names a request that an earlier batch already served")
        if not math.isfinite(t) or t < free_at - 1e-9 or t < arr[ids].max() - 1e-9:
            raise ValueError(f"batch {k} starts at {t:.6g} s, before the server is free ({free_at:.6g} s) or before "
                             f"its last request arrives ({arr[ids].max():.6g} s)")
        step = a + b * ids.size
        start[ids] = t
        first[ids] = t + step
        done[ids] = t + step * tok[ids]
        steps = int(tok[ids].max())
        charged.append(np.full(steps, ids.size, dtype=np.int64))
        useful.append((tok[ids][None, :] > np.arange(steps)[:, None]).sum(axis=1))  # slots still producing
        free_at = t + step * steps
    if np.any(np.isnan(start)):
        raise ValueError(f"every request must be in a batch; {int(np.isnan(start).sum())} of {n} are not")
    end = max(free_at, float(done.max()))
    return BatchingResult(
        policy="scheduler", max_batch_size=B, a=a, b=b, arrival_times=arr, output_tokens=tok, start_times=start,
        first_token_times=first, completion_times=done, step_batch_sizes=np.concatenate(charged),
        step_active=np.concatenate(useful).astype(np.int64),
        area_in_system=float((done - arr).sum()), end_time=float(end),
    )


def simulate_scheduler(
    scheduler: Callable[[float, list[tuple[int, float, int]]], object],
    arrival_times,
    output_tokens,
    *,
    max_batch_size: int,
    a: float,
    b: float,
) -> list[tuple[float, list[int]]]:
    """Run one server whose batches are chosen by ``scheduler``; returns the schedule (``(start, ids)`` per
    batch, the input of :func:`replay_batches`, which computes every time from it).

    Whenever the server is idle and requests wait, the simulator calls ``scheduler(now, waiting)``, where
    ``waiting`` lists ``(request id, arrival time, output tokens)`` in arrival order (a request's length is
    known on arrival, like a client's ``max_tokens`` that is always used up). It returns either a list of
    request ids (1..``max_batch_size`` of the waiting ones) to run now as one batch, or a number of seconds
    ``> 0`` to wait: the scheduler is asked again then, or at the next arrival if that comes first.
    The scheduler sees only the past: no arrival time or length of a request that has not arrived.
    """
    B = _integer("max_batch_size", max_batch_size)
    a, b = _check_cost(a, b)
    arr, tok = _check_trace(arrival_times, output_tokens)
    if not callable(scheduler):
        raise TypeError(f"scheduler must be callable as scheduler(now, waiting); got {type(scheduler).__name__}")
    n = arr.size
    waiting: dict[int, tuple[int, float, int]] = {}
    schedule: list[tuple[float, list[int]]] = []
    t, nxt, idle = 0.0, 0, 0
    while nxt < n or waiting:
        while nxt < n and arr[nxt] <= t:
            waiting[nxt] = (nxt, float(arr[nxt]), int(tok[nxt]))
            nxt += 1
        if not waiting:
            t = float(arr[nxt])
            continue
        decision = scheduler(t, list(waiting.values()))
        if isinstance(decision, numbers.Real) and not isinstance(decision, bool):
            wait = float(decision)
            if not (math.isfinite(wait) and wait > 0):
                raise ValueError(f"the scheduler must return request ids or a wait in seconds > 0; got {decision!r}")
            idle = idle + 1 if nxt >= n else 0
            if idle > 10_000:
                raise ValueError(f"the scheduler keeps waiting with {len(waiting)} requests left and none to come: "
                                 "it must run every request eventually")
            later = max(t + wait, float(np.nextafter(t, math.inf)))  # time moves on, however small the wait
            t = min(later, float(arr[nxt])) if nxt < n else later
            continue
        try:
            ids = [int(i) for i in decision]
        except (TypeError, ValueError):
            raise ValueError(f"the scheduler must return a list of request ids or a wait in seconds; got "
                             f"{decision!r}"[:200]) from None
        if not 1 <= len(ids) <= B or len(set(ids)) != len(ids) or any(i not in waiting for i in ids):
            raise ValueError(f"the scheduler must pick 1..max_batch_size={B} distinct ids among the waiting "
                             f"requests; got {ids[:8]}{' ...' if len(ids) > 8 else ''}")
        for i in ids:
            del waiting[i]
        schedule.append((t, ids))
        t += (a + b * len(ids)) * int(tok[ids].max())
    return schedule


# ---------------------------------------------------------------------------------------------------
# calibration on a real model
# ---------------------------------------------------------------------------------------------------
def measure_step_times(
    step_fn: Callable[[int], object],
    batch_sizes: Sequence[int],
    *,
    repeats: int = 5,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[int, float]:
    """Median wall time (seconds, by ``clock``) of ``step_fn(batch_size)`` for each batch size."""
    if not batch_sizes:
        raise ValueError("batch_sizes must list at least one batch size")
    repeats = _integer("repeats", repeats)
    if isinstance(warmup, bool) or not isinstance(warmup, numbers.Integral) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0; got {warmup!r}")
    out = {}
    for bs in batch_sizes:
        bs = _integer("batch_size", bs)
        for _ in range(warmup):
            step_fn(bs)
        times = []
        for _ in range(repeats):
            t0 = clock()
            step_fn(bs)
            times.append(clock() - t0)
        out[bs] = float(np.median(times))
    return out


def fit_step_cost(batch_sizes: Sequence[int], times: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit of ``time = a + b * batch_size``; returns ``(a, b)`` clipped at >= 0."""
    x = np.asarray(batch_sizes, dtype=np.float64)
    y = np.asarray(times, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("batch_sizes and times must be 1-D sequences of the same length")
    if np.unique(x).size < 2:
        raise ValueError("batch_sizes must contain at least two distinct sizes to fit a + b*B")
    if not (np.all(np.isfinite(y)) and np.all(y > 0)):
        raise ValueError("times must be finite and > 0 seconds")
    b, a = np.polyfit(x, y, 1)
    return max(float(a), 0.0), max(float(b), 0.0)


def tinylm_decode_step(model: torch.nn.Module, *, context_len: int = 32, seed: int = 0) -> Callable[[int], None]:
    """A ``step_fn(batch_size)`` running one real decoding step of ``model`` (one new token per sequence
    with a KV cache already holding ``context_len`` positions). Caches are prepared once per batch size
    and rolled back after each step, so only the decoding step is timed."""
    ctx = _integer("context_len", context_len)
    gen = torch.Generator().manual_seed(seed)
    vocab = int(getattr(model, "vocab_size", 0) or getattr(getattr(model, "config", None), "vocab_size", 0) or 32)
    prepared: dict[int, tuple] = {}

    def step(batch_size: int) -> None:
        if batch_size not in prepared:
            prompt = torch.randint(0, vocab, (batch_size, ctx), generator=gen)
            cache = model.new_cache(batch_size=batch_size)
            with torch.inference_mode():
                model(prompt, cache=cache)
            nxt = torch.randint(0, vocab, (batch_size, 1), generator=gen)
            prepared[batch_size] = (cache, nxt)
        cache, nxt = prepared[batch_size]
        with torch.inference_mode():
            model(nxt, cache=cache)
        cache.truncate(ctx)

    return step


def measure_copy_bandwidth(
    nbytes: int = 64 * 2**20, *, repeats: int = 5, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Memory bandwidth (bytes/s) of a large tensor copy: ``2 * nbytes`` moved (read + write) per copy,
    best of ``repeats``."""
    n = _integer("nbytes", nbytes) // 4
    if n < 1:
        raise ValueError("nbytes must be at least 4")
    repeats = _integer("repeats", repeats)
    src = torch.ones(n, dtype=torch.float32)
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = math.inf
    for _ in range(repeats):
        t0 = clock()
        dst.copy_(src)
        best = min(best, clock() - t0)
    return 2 * 4 * n / best
