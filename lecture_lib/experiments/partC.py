"""Part C measurements: SLO alerts on a simulated incident, p99 from buckets, sampling costs, property tests,
benchmark statistics on recorded timings, structured logs with trace context, Result vs exceptions.

Used by ``notebooks/partC_production_python.ipynb`` (and its tests, ``tests/test_partC_experiments.py``).
Every function returns data (dicts, DataFrames, arrays); nothing here plots or prints. The widgets of
:mod:`lecture_lib.viz.partC` call :func:`slo_summary`, :func:`find_bug_summary` and :func:`bucket_error`.

Recorded data: ``data/partC_timings.json`` holds wall-clock timing samples measured once by
:func:`record_timings` (``python -m lecture_lib.experiments.partC --record``), so that the notebook's benchmark
statistics do not depend on the speed of the machine that re-executes it.
"""

from __future__ import annotations

import io
import json
import math
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lecture_lib import errors, metrics, observability, queueing, slo, stats

__all__ = [
    "BUGS",
    "LATENCY_SLO",
    "LAYOUTS",
    "PYTHON_CLIENT_DEFAULT",
    "TIMINGS_PATH",
    "benchmark_table",
    "bucket_error",
    "bucket_layout",
    "claim_table",
    "collision_check",
    "fail_fast_check",
    "find_bug_check",
    "find_bug_summary",
    "handle_request_exceptions",
    "handle_request_result",
    "incident_experiment",
    "latency_samples",
    "load_timings",
    "mm1_check",
    "p99_table",
    "planted_bug_hunt",
    "random_bug_rate",
    "record_timings",
    "sampling_costs",
    "slo_summary",
    "traced_request_log",
]

TIMINGS_PATH = Path(__file__).resolve().parent / "data" / "partC_timings.json"
#: The latency SLI threshold used in the notebook (seconds): a request is "good" if it is faster than this.
LATENCY_SLO = 0.3


# ----------------------------------------------------------------------------------------------------
# Zone 1 widget 1: SLO target and error rate
# ----------------------------------------------------------------------------------------------------


def slo_summary(slo_target: float, error_rate: float, *, consumed: float = 0.0) -> dict[str, Any]:
    """Everything the SLO widget shows for a constant ``error_rate`` (30-day period).

    Keys: ``budget`` (1 - SLO), ``budget_minutes`` (30 d * budget), ``burn_rate``, ``exhaustion_hours``
    (with ``consumed`` of the budget already spent; ``inf`` at zero errors), ``alerts`` (a DataFrame, one row
    per multiwindow alert: threshold, windows, fires, minutes to detection) and ``firing`` (names that fire).
    """
    rows = slo.alert_table(slo_target, error_rate)
    df = pd.DataFrame(
        {
            "alert": [r["alert"] for r in rows],
            "severity": [r["severity"] for r in rows],
            "threshold": [round(float(r["threshold"]), 3) for r in rows],
            "long window (h)": [float(r["long_window_s"]) / slo.HOUR for r in rows],
            "short window (min)": [float(r["short_window_s"]) / slo.MINUTE for r in rows],
            "fires": [bool(r["fires"]) for r in rows],
            "detection (min)": [float(r["detection_s"]) / slo.MINUTE for r in rows],
        }
    ).set_index("alert")
    tte = slo.time_to_exhaustion(slo_target, error_rate, consumed=consumed)
    return {
        "budget": slo.error_budget(slo_target),
        "budget_minutes": slo.error_budget_time(slo_target) / slo.MINUTE,
        "burn_rate": slo.burn_rate(error_rate, slo_target),
        "exhaustion_hours": tte / slo.HOUR,
        "alerts": df,
        "firing": [str(r["alert"]) for r in rows if r["fires"]],
    }


# ----------------------------------------------------------------------------------------------------
# Zone 1 widget 2: how many cases find a bug
# ----------------------------------------------------------------------------------------------------


def find_bug_summary(n: int, p: float, delta: float = 0.05, *, n_max: int | None = None) -> dict[str, Any]:
    """``P(find)`` after ``n`` cases for a bug rate ``p``, the cases needed for confidence ``1 - delta``, and
    the curve ``n -> P(find)`` for ``n = 0 .. n_max`` (default: 3 x the cases needed, at least ``n``)."""
    need = stats.cases_needed(p, delta)
    top = int(n_max) if n_max is not None else max(int(n), 3 * need, 10)
    grid = np.unique(np.linspace(0, top, 300).round().astype(int))
    curve = np.array([stats.prob_find_bug(p, int(k)) for k in grid])
    return {"p_find": stats.prob_find_bug(p, n), "cases_needed": need, "n": grid, "curve": curve,
            "approx_needed": math.log(1 / delta) / p}


def find_bug_check(p: float = 0.01, ns: Sequence[int] = (100, 256, 298, 299, 1000), *, runs: int = 20000,
                   seed: int = 0) -> pd.DataFrame:
    """Formula ``1 - (1-p)^n`` against simulated test runs (``runs`` runs of ``n`` uniform cases each)."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in ns:
        sim = stats.simulate_find_bug(p, int(n), runs, rng=rng)
        f = stats.prob_find_bug(p, int(n))
        se = math.sqrt(f * (1 - f) / runs)
        rows.append({"cases n": int(n), "formula P(find)": f, "simulated": sim, "|diff| / s.e.": abs(sim - f) / se})
    return pd.DataFrame(rows).set_index("cases n")


# ----------------------------------------------------------------------------------------------------
# Zone 1 widget 3 and Zone 5: p99 from buckets
# ----------------------------------------------------------------------------------------------------


def latency_samples(n: int = 20000, *, seed: int = 0, slow_fraction: float = 0.05) -> np.ndarray:
    """Synthetic request latencies (seconds): a log-normal fast path (median 50 ms) mixed with a slow path
    (median 400 ms) taken by ``slow_fraction`` of requests, the long tail real services show."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1; got {n!r}")
    if not (0.0 <= float(slow_fraction) <= 1.0):
        raise ValueError(f"slow_fraction must be in [0, 1]; got {slow_fraction}")
    rng = np.random.default_rng(seed)
    slow = rng.random(int(n)) < float(slow_fraction)
    fast_part = 0.05 * np.exp(0.5 * rng.standard_normal(int(n)))
    slow_part = 0.4 * np.exp(0.4 * rng.standard_normal(int(n)))
    return np.where(slow, slow_part, fast_part)


#: The layout name of the default buckets of Prometheus' Python client, ``prometheus_client``
#: (:data:`lecture_lib.metrics.DEFAULT_BUCKETS`); the Go client's ``DefBuckets`` differ.
PYTHON_CLIENT_DEFAULT = "prometheus_client default"
LAYOUTS = (PYTHON_CLIENT_DEFAULT, "linear", "exponential")


def bucket_layout(kind: str, count: int = 12, *, start: float = 0.01, top: float = 2.5) -> list[float]:
    """Finite bucket bounds (seconds) for a layout: the default buckets of Prometheus' Python client
    (:data:`PYTHON_CLIENT_DEFAULT`, ``count`` ignored; the Go client's default buckets differ),
    ``count`` linear buckets from ``top/count`` to ``top``, or ``count`` exponential buckets from ``start``
    to ``top``."""
    if kind == PYTHON_CLIENT_DEFAULT:
        return list(metrics.DEFAULT_BUCKETS)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 2:
        raise ValueError(f"count must be an integer >= 2 buckets; got {count!r}")
    if not (0 < start < top):
        raise ValueError(f"need 0 < start < top; got start={start}, top={top}")
    if kind == "linear":
        return metrics.linear_buckets(top / count, top / count, int(count))
    if kind == "exponential":
        return metrics.exponential_buckets(start, (top / start) ** (1 / (int(count) - 1)), int(count))
    raise ValueError(f"kind must be one of {LAYOUTS}; got {kind!r}")


def bucket_error(kind: str, count: int, samples: np.ndarray, q: float = 0.99) -> dict[str, Any]:
    """The bucket widget's pure function: ``metrics.quantile_error`` for one layout, plus the bounds."""
    bounds = bucket_layout(kind, count)
    out = dict(metrics.quantile_error(samples, q, bounds))
    out["bounds"] = bounds
    out["buckets"] = len(bounds) + 1
    return out


def p99_table(samples: np.ndarray, q: float = 0.99) -> pd.DataFrame:
    """p99 estimated by ``histogram_quantile`` under several layouts vs the exact sample quantile."""
    configs = [(PYTHON_CLIENT_DEFAULT, 14), ("linear", 10), ("linear", 50), ("exponential", 8),
               ("exponential", 16), ("exponential", 40)]
    rows = []
    for kind, count in configs:
        r = bucket_error(kind, count, samples, q)
        rows.append({"layout": kind, "buckets (+Inf)": r["buckets"], "estimate (ms)": 1000 * r["estimate"],
                     "exact (ms)": 1000 * r["exact"], "abs error (ms)": 1000 * r["abs_error"],
                     "rel error (%)": 100 * r["rel_error"], "bucket width (ms)": 1000 * r["bucket_width"]})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------
# Zone 5: multiwindow alerts on a simulated incident
# ----------------------------------------------------------------------------------------------------


def incident_experiment(*, seed: int = 0, slo_target: float = 0.999) -> dict[str, Any]:
    """Four days of traffic (100 req/s, 1-minute steps) with three events, and which alerts fire when.

    * a 10-minute blip at 5 % errors (burn 50) at hour 20: should page nobody (it spends 1.2 % of the budget);
    * an outage of 30 minutes at 10 % errors (burn 100) at hour 40: should page fast and stop soon after;
    * a slow leak at 0.3 % errors (burn 3) for 24 h from hour 60: should open a ticket.

    Alerts compared: the Workbook's three multiwindow rules, the lecture's rule (1 h >= 14.4 AND 6 h >= 6) and a
    naive single 5-minute window >= 14.4. Returns the trace, burn-rate curves, firing arrays and a summary table
    (minutes from each event's start to the first alert, minutes from its end to the reset, pages that no
    event justifies).
    """
    rng = np.random.default_rng(seed)
    step = slo.MINUTE
    total = 4 * slo.DAY
    base = 0.0002
    events = [("blip", 20 * slo.HOUR, 10 * slo.MINUTE, 0.05), ("outage", 40 * slo.HOUR, 30 * slo.MINUTE, 0.10),
              ("slow leak", 60 * slo.HOUR, 24 * slo.HOUR, 0.003)]
    _, s0, dur, rate = events[1]  # the outage is the incident the trace marks
    trace = slo.simulate_incident(slo=slo_target, base_error_rate=base, incident_error_rate=rate, incident_start=s0,
                                  incident_duration=dur, total_duration=total, request_rate=100.0, step=step, rng=rng,
                                  other_incidents=[(s, d, r) for _n, s, d, r in (events[0], events[2])])
    firing = dict(slo.evaluate_alerts(trace, slo_target))
    burn = {w: slo.windowed_burn_rate(trace, s, slo_target) for w, s in
            (("5 min", 5 * slo.MINUTE), ("1 h", slo.HOUR), ("6 h", 6 * slo.HOUR), ("3 d", 3 * slo.DAY))}
    firing["lecture: 1 h >= 14.4 and 6 h >= 6"] = (burn["1 h"] >= 14.4) & (burn["6 h"] >= 6)
    firing["naive: 5 min >= 14.4"] = burn["5 min"] >= 14.4 * (1 - 1e-9)
    rows = []
    for name, f in firing.items():
        row: dict[str, Any] = {"alert": name, "minutes firing": float(f.sum() * step / slo.MINUTE)}
        for ev, s0, dur, _rate in events:
            # an alert episode "belongs" to an event if it starts between the event's start and 6 h after its end
            sub = slo.IncidentTrace(trace.times, trace.requests, trace.errors, step, s0, s0 + dur)
            eps = [e for e in slo.alert_episodes(sub, f)["episodes"] if s0 <= e[0] <= s0 + dur + 6 * slo.HOUR]
            row[f"{ev}: fires after (min)"] = (eps[0][0] - s0) / slo.MINUTE if eps else math.inf
            if ev == "outage":
                row["outage: stops after its end (min)"] = (eps[-1][1] - s0 - dur) / slo.MINUTE if eps else math.nan
        rows.append(row)
    table = pd.DataFrame(rows).set_index("alert")
    return {"trace": trace, "events": events, "burn": burn, "firing": firing, "table": table}


# ----------------------------------------------------------------------------------------------------
# Zone 5: tail vs head sampling
# ----------------------------------------------------------------------------------------------------


def sampling_costs(*, n: int = 200_000, error_rate: float = 0.01, seed: int = 0, slow_threshold: float = 0.5,
                   error_size_factor: float = 3.0) -> pd.DataFrame:
    """Bytes stored per request and the share of error traces kept, simulated vs formula, for head sampling at
    1 % and 10 % and tail sampling (every error and every trace slower than ``slow_threshold`` s, plus 1 %)."""
    rng = np.random.default_rng(seed)
    req = observability.synthetic_requests(n, error_rate=error_rate, rng=rng, error_size_factor=error_size_factor)
    rows = []
    policies: list[tuple[str, dict[str, Any]]] = [
        ("head 1 %", {"policy": "head", "rate": 0.01}),
        ("head 10 %", {"policy": "head", "rate": 0.10}),
        ("tail: errors + slow + 1 %", {"policy": "tail", "keep_normal_rate": 0.01, "slow_threshold": slow_threshold}),
    ]
    for label, cfg in policies:
        if cfg["policy"] == "head":
            keep = observability.sample_head(req, cfg["rate"], rng=rng)
        else:
            keep = observability.sample_tail(req, keep_normal_rate=cfg["keep_normal_rate"],
                                             slow_threshold=cfg["slow_threshold"], rng=rng)
        res = observability.sampling_result(req, keep)
        formula = observability.expected_sampling_cost(error_rate=error_rate, error_size_factor=error_size_factor,
                                                       **cfg)
        rows.append({"policy": label, "bytes/request (sim)": res.bytes_per_request,
                     "bytes/request (formula)": formula["bytes_per_request"],
                     "traces kept (%)": 100 * res.kept_fraction,
                     "error traces kept (%)": 100 * res.p_kept_given_error,
                     "formula P(kept | error) (%)": 100 * formula["p_kept_given_error"]})
    return pd.DataFrame(rows).set_index("policy")


def collision_check(bits: Sequence[int] = (12, 16, 20), *, trials: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Birthday bound at small id widths: simulated collision rate vs formula at the 1 %, 10 % and 50 % points."""
    rng = np.random.default_rng(seed)
    rows = []
    for b in bits:
        for target in (0.01, 0.1, 0.5):
            n = max(2, int(round(observability.ids_for_collision_probability(target, int(b)))))
            sim = observability.simulate_collisions(n, int(b), trials, rng=rng)
            f = observability.collision_probability(n, int(b))
            se = math.sqrt(max(f * (1 - f), 1e-12) / trials)
            rows.append({"bits": int(b), "ids n": n, "formula": f, "simulated": sim,
                         "|diff| / s.e.": abs(sim - f) / se})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------
# Zone 3 checks by simulation
# ----------------------------------------------------------------------------------------------------


def fail_fast_check(p_fail: Sequence[float] = (0.1, 0.2, 0.3), *, trials: int = 20000, seed: int = 0) -> dict:
    """Expected checks run by fail-fast / collect-all: formula vs counting real validator calls."""
    rng = np.random.default_rng(seed)
    ff, ca = errors.simulate_validation_steps(list(p_fail), trials, rng=rng)
    return {"formula_fail_fast": errors.expected_steps_fail_fast(list(p_fail)), "simulated_fail_fast": ff,
            "formula_collect_all": errors.expected_steps_collect_all(list(p_fail)), "simulated_collect_all": ca}


def mm1_check(rhos: Sequence[float] = (0.5, 0.7, 0.9), *, mu: float = 10.0, n_customers: int = 200_000,
              seed: int = 0) -> pd.DataFrame:
    """M/M/1 formulas (L, Lq, W) vs one long simulation per load, and Little's law on the measurements."""
    rng = np.random.default_rng(seed)
    rows = []
    for rho in rhos:
        lam = rho * mu
        f = queueing.mm1(lam, mu)
        m = queueing.measure(queueing.simulate_mm1(lam, mu, n_customers, rng=rng))
        rows.append({"rho": rho, "L formula": f.L, "L simulated": m["L"], "Lq formula": f.Lq,
                     "Lq simulated": m["Lq"], "W formula (ms)": 1000 * f.W, "W simulated (ms)": 1000 * m["W"],
                     "lambda*W / L (Little)": m["arrival_rate"] * m["W"] / m["L"]})
    return pd.DataFrame(rows).set_index("rho")


# ----------------------------------------------------------------------------------------------------
# Zone 5: property-based testing finds (or misses) planted bugs
# ----------------------------------------------------------------------------------------------------


def _torch() -> Any:
    import torch

    return torch


def _buggy_signed_scale(w: Any) -> tuple[Any, float]:
    """Planted bug 1: the scale uses max(w) instead of max(|w|) (wrong whenever the largest magnitude is
    negative)."""
    torch = _torch()
    w = torch.as_tensor(w, dtype=torch.float32)
    m = float(w.max())
    s = m / 7 if m != 0 else 1.0
    return torch.clamp(torch.round(w / s), -7, 7).to(torch.int8), s


def _buggy_half_up(w: Any) -> tuple[Any, float]:
    """Planted bug 2: rounds half up (``floor(x + 0.5)``) instead of half to even: wrong only at exact ties."""
    torch = _torch()
    w = torch.as_tensor(w, dtype=torch.float32)
    m = float(w.abs().max())
    s = m / 7 if m > 0 else 1.0
    return torch.clamp(torch.floor(w / s + 0.5), -7, 7).to(torch.int8), s


def _correct(w: Any) -> tuple[Any, float]:
    from lecture_lib import quant

    qt = quant.quantize(w, 4)
    return qt.codes, float(qt.scale.reshape(-1)[0])


#: The quantizers under test: name -> function ``w -> (int8 codes, scale)`` (INT4, one scale per tensor).
BUGS: dict[str, Callable[[Any], tuple[Any, float]]] = {
    "signed scale (max instead of max|w|)": _buggy_signed_scale,
    "round half up instead of half to even": _buggy_half_up,
    "correct (lecture_lib.quant)": _correct,
}


def _matches_oracle(fn: Callable[[Any], tuple[Any, float]], xs: Sequence[float]) -> bool:
    """The property: codes equal ``lecture_lib.quant.quantize(w, 4).codes`` (the reference implementation)."""
    torch = _torch()
    from lecture_lib import quant

    w = torch.tensor(list(xs), dtype=torch.float32)
    codes, _ = fn(w)
    return bool(torch.equal(torch.as_tensor(codes).to(torch.int64), quant.quantize(w, 4).codes.to(torch.int64)))


def planted_bug_hunt(bug: str, *, max_examples: int = 200, boundary_examples: Sequence[Sequence[float]] = ()
                     ) -> dict[str, Any]:
    """Run a hypothesis property test (codes must equal the reference quantizer's) against ``BUGS[bug]``.

    Deterministic: ``derandomize=True`` and no example database. Returns ``found`` (bool), ``calls`` (test
    function calls including shrinking), ``first_failure`` (the first failing input hypothesis generated),
    ``shrunk`` (the minimal counterexample it reports), ``failures`` (how many failing inputs it saw) and
    ``failing`` (every failing input in the order hypothesis tried them: the shrinking path).
    ``boundary_examples`` are explicit ``@example`` inputs tried first (boundary-value analysis).
    """
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st

    if bug not in BUGS:
        raise ValueError(f"bug must be one of {list(BUGS)}; got {bug!r}")
    fn = BUGS[bug]
    calls = [0]
    failing: list[list[float]] = []

    def prop(xs: list[float]) -> None:
        calls[0] += 1
        ok = _matches_oracle(fn, xs)
        if not ok:
            failing.append([float(x) for x in xs])
        assert ok, f"codes differ from the reference for w = {xs}"

    test = given(st.lists(st.floats(-100, 100, allow_nan=False, width=32), min_size=1, max_size=8))(prop)
    for ex in reversed(list(boundary_examples)):
        test = example(list(ex))(test)
    test = settings(derandomize=True, database=None, max_examples=int(max_examples), deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)(test)
    try:
        test()
        found = False
    except AssertionError:
        found = True
    return {"bug": bug, "found": found, "calls": calls[0], "failures": len(failing),
            "first_failure": failing[0] if failing else None, "shrunk": failing[-1] if failing else None,
            "failing": failing}


def _rowwise_codes(bug: str, w: Any) -> Any:
    """Codes of ``BUGS[bug]`` applied to each row of a 2-D tensor, vectorized (same arithmetic, float32)."""
    torch = _torch()
    if bug.startswith("signed"):
        m = w.max(dim=1, keepdim=True).values
        s = torch.where(m != 0, m / 7, torch.ones_like(m))
        return torch.clamp(torch.round(w / s), -7, 7)
    a = w.abs().max(dim=1, keepdim=True).values
    s = torch.where(a > 0, a / 7, torch.ones_like(a))
    if bug.startswith("round"):
        return torch.clamp(torch.floor(w / s + 0.5), -7, 7)
    return torch.clamp(torch.round(w / s), -7, 7)


def random_bug_rate(bug: str, *, n: int = 20000, size: int = 4, seed: int = 0) -> float:
    """Fraction of uniform random inputs (``size`` floats in [-100, 100]) on which ``BUGS[bug]`` is wrong:
    the ``p_bug`` of the lecture's formula for naive random testing."""
    if bug not in BUGS:
        raise ValueError(f"bug must be one of {list(BUGS)}; got {bug!r}")
    torch = _torch()
    rng = np.random.default_rng(seed)
    w = torch.from_numpy(rng.uniform(-100, 100, size=(int(n), int(size))).astype(np.float32))
    ref = _rowwise_codes("correct", w)
    return float((_rowwise_codes(bug, w) != ref).any(dim=1).float().mean())


# ----------------------------------------------------------------------------------------------------
# Zone 5: a benchmark comparison done right, on recorded timings
# ----------------------------------------------------------------------------------------------------


def _p99_sort(x: np.ndarray) -> float:
    return float(np.sort(x)[math.ceil(0.99 * x.size) - 1])


def _p99_partition(x: np.ndarray) -> float:
    k = math.ceil(0.99 * x.size) - 1
    return float(np.partition(x, k)[k])


def record_timings(path: Path | str = TIMINGS_PATH, *, repeats: int = 60, size: int = 200_000, seed: int = 0
                   ) -> dict[str, Any]:
    """Measure, interleaved, the wall time of an exact p99 by full sort vs by ``np.partition`` (and the sort a
    second time, an A/A control) on ``size`` latencies; write the samples as JSON to ``path``."""
    x = latency_samples(size, seed=seed)
    assert _p99_sort(x) == _p99_partition(x) == metrics.exact_quantile(x, 0.99)
    funcs = {"sort": _p99_sort, "partition": _p99_partition, "sort (A/A rerun)": _p99_sort}
    out: dict[str, list[float]] = {k: [] for k in funcs}
    for _ in range(3):  # warm-up
        for f in funcs.values():
            f(x)
    for _ in range(int(repeats)):
        for name, f in funcs.items():
            t0 = time.perf_counter()
            f(x)
            out[name].append(time.perf_counter() - t0)
    data = {
        "what": f"wall time (s) of the exact p99 of {size} latencies: full np.sort vs np.partition; "
                "the sort twice (A/A control); interleaved, after 3 warm-up rounds",
        "numpy": np.__version__, "python": platform.python_version(), "machine": platform.machine(),
        "samples": out,
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=1) + "\n")
    return data


def load_timings(path: Path | str = TIMINGS_PATH) -> dict[str, Any]:
    """The recorded timing samples (see :func:`record_timings`)."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not isinstance(data.get("samples"), dict):
        raise ValueError(f"{path} is not a timings file written by record_timings")
    return data


def benchmark_table(samples: dict[str, Sequence[float]], *, baseline: str = "sort", seed: int = 0) -> pd.DataFrame:
    """Each candidate vs ``baseline``: ratio of medians with a 95 % bootstrap CI, Mann-Whitney p, Cohen's d
    (with its label), P(candidate run faster), and the naive verdict from comparing two single runs."""
    rng = np.random.default_rng(seed)
    base = np.asarray(samples[baseline], dtype=np.float64)
    rows = []
    for name, vals in samples.items():
        if name == baseline:
            continue
        cand = np.asarray(vals, dtype=np.float64)
        c = stats.compare_benchmarks(base, cand, rng=rng)
        rows.append({"candidate": name, "median ratio": c.ratio, "95 % CI low": c.ratio_low,
                     "95 % CI high": c.ratio_high, "Mann-Whitney p": c.p_value, "Cohen's d": c.cohens_d,
                     "effect": c.effect, "P(candidate faster)": c.prob_candidate_faster,
                     "first run ratio": float(cand[0] / base[0])})
    return pd.DataFrame(rows).set_index("candidate")


# ----------------------------------------------------------------------------------------------------
# Zone 4/5: structured logs with trace context, deterministic
# ----------------------------------------------------------------------------------------------------


def traced_request_log(*, seed: int = 7, fail_first_attempt: bool = True) -> dict[str, Any]:
    """One request through a toy inference service, traced and logged as JSON lines.

    Spans: ``handle_request`` -> ``tokenize``, ``generate`` (-> ``kv_cache_lookup``), with one retried call
    to a flaky backend. Ids come from ``np.random.default_rng(seed)``, times from a
    :class:`~lecture_lib.observability.ManualClock`, so the output is identical on every run.
    Returns ``lines`` (the JSON log lines), ``records`` (parsed), ``tree`` (the span tree) and ``traceparent``.
    """
    clock = observability.ManualClock(1_700_000_000.0)
    tracer = observability.Tracer(rng=np.random.default_rng(seed), clock=clock)
    stream = io.StringIO()
    log = observability.make_logger("inference", stream, clock=clock)
    with tracer.span("handle_request", route="/generate") as root:
        log.info("request received", extra={"prompt_chars": 42, "max_new_tokens": 16})
        with tracer.span("tokenize"):
            clock.advance(0.002)
        with tracer.span("generate", model="tinylm-teacher"):
            with tracer.span("kv_cache_lookup"):
                clock.advance(0.001)
            for attempt in (1, 2):
                try:
                    with tracer.span("backend_call", attempt=attempt):
                        clock.advance(0.030)
                        if fail_first_attempt and attempt == 1:
                            raise TimeoutError("backend did not answer within 30 ms")
                    break
                except TimeoutError:
                    log.warning("backend call failed, retrying", exc_info=True, extra={"attempt": attempt})
            clock.advance(0.040)
        log.info("request done", extra={"new_tokens": 16, "latency_ms": round((clock() - root.start) * 1000, 3)})
    lines = stream.getvalue().splitlines()
    trace_spans = [s for s in tracer.finished if s.trace_id == root.trace_id]
    return {"lines": lines, "records": [json.loads(x) for x in lines], "tree": observability.render_tree(trace_spans),
            "traceparent": root.traceparent, "spans": trace_spans}


# ----------------------------------------------------------------------------------------------------
# Zone 4: Result vs exceptions on the same small pipeline
# ----------------------------------------------------------------------------------------------------


def _parse_json(raw: str) -> errors.Ok | errors.Err:
    try:
        return errors.Ok(json.loads(raw))
    except json.JSONDecodeError as exc:
        return errors.Err(f"not JSON: {exc.msg} at char {exc.pos}")


def _get_prompt(body: Any) -> errors.Ok | errors.Err:
    if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
        return errors.Err("field 'prompt' (a string) is required")
    return errors.Ok(body)


def _check_tokens(body: dict) -> errors.Ok | errors.Err:
    n = body.get("max_new_tokens", 16)
    if isinstance(n, bool) or not isinstance(n, int) or not (1 <= n <= 256):
        return errors.Err(f"max_new_tokens must be an integer in 1..256; got {n!r}")
    return errors.Ok((body["prompt"], n))


def handle_request_result(raw: str) -> errors.Ok | errors.Err:
    """Parse and validate a request with ``Result`` values: each step runs only if the previous one was Ok."""
    return _parse_json(raw).and_then(_get_prompt).and_then(_check_tokens)


def handle_request_exceptions(raw: str) -> tuple[str, int]:
    """The same pipeline with exceptions: raises ``ApplicationError`` chained (``from``) to the cause."""
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise errors.ApplicationError("bad request: body is not JSON") from exc
    with errors.reraise_as(errors.ApplicationError, "bad request: invalid fields", catch=(KeyError, ValueError)):
        prompt = body["prompt"]
        if not isinstance(prompt, str):
            raise ValueError("field 'prompt' must be a string")
        n = body.get("max_new_tokens", 16)
        if isinstance(n, bool) or not isinstance(n, int) or not (1 <= n <= 256):
            raise ValueError(f"max_new_tokens must be an integer in 1..256; got {n!r}")
    return prompt, n


# ----------------------------------------------------------------------------------------------------
# Zone 7 (and callouts): the lecture's checkable claims, recomputed
# ----------------------------------------------------------------------------------------------------


def claim_table() -> pd.DataFrame:
    """The lecture's Part C claims that have a number (§3.C.1-§3.C.4): its value and the value recomputed with
    lecture_lib, indexed by the claim."""
    obs = observability
    rows = [
        ("§3.C.2", "P(collision), 10^15 random 128-bit trace ids", "1.5e-9", f"{obs.collision_probability(1e15, 128):.3g}",
         "correct"),
        ("§3.C.2", "64-bit span ids: collisions 'dangerous' from n", "~1e12",
         f"1 % at {obs.ids_for_collision_probability(0.01, 64):.2g}, 50 % at "
         f"{obs.ids_for_collision_probability(0.5, 64):.2g}", "misleading"),
        ("§3.C.2", "cardinality 10^6 x 100 x 50", "5e9",
         f"{obs.cardinality({'user_id': 10**6, 'endpoint': 100, 'status': 50}):.2g}", "correct"),
        ("§3.C.3", "x_(ceil(0.99*1000)) is the ...-th value", "990th largest",
         f"{math.ceil(0.99 * 1000)}th smallest = {1000 - math.ceil(0.99 * 1000) + 1}th largest", "wrong"),
        ("§3.C.3", "budget of 99 % over 30 days", "25920 s = 7.2 h",
         f"{slo.error_budget_time(0.99):.0f} s = {slo.error_budget_time(0.99) / slo.HOUR:.1f} h", "correct"),
        ("§3.C.3", "budget spent by burn 14.4 in 1 h", "5 %", f"{100 * slo.budget_consumed(14.4, slo.HOUR):.1f} %",
         "wrong"),
        ("§3.C.3", "time to exhaustion, 99.9 %, 1 % errors, nothing spent", "(1-SLO)/err = 0.1 (no unit)",
         f"{slo.time_to_exhaustion(0.999, 0.01) / slo.DAY:.1f} days", "wrong"),
        ("§3.C.3", "M/M/1 L at rho 0.7 and 0.9, ratio", "2.3, 9.0, ~4x",
         f"{queueing.mm1(7, 10).L:.3f}, {queueing.mm1(9, 10).L:.1f}, "
         f"{queueing.mm1(9, 10).L / queueing.mm1(7, 10).L:.2f}x", "correct"),
        ("§3.C.4", "cases for p = 0.01, delta = 0.05", "298", f"{stats.cases_needed(0.01, 0.05)}", "wrong"),
        ("§3.C.4", "P(find) with 100 and 256 cases", "63.4 %, 92.3 %",
         f"{100 * stats.prob_find_bug(0.01, 100):.2f} %, {100 * stats.prob_find_bug(0.01, 256):.2f} %", "correct"),
        ("§3.C.4", "P(find) with 1000 cases", "> 99.996 %", f"{100 * stats.prob_find_bug(0.01, 1000):.5f} %", "wrong"),
        ("§3.C.4", "Cohen's d 'medium' band", "0.2-0.8", "small 0.2, medium 0.5, large 0.8", "wrong"),
        ("§3.C.1", "fail-fast E[steps], p = [0.1, 0.2, 0.3]", "< 3",
         f"{errors.expected_steps_fail_fast([0.1, 0.2, 0.3]):.2f}", "correct"),
    ]
    return pd.DataFrame(rows, columns=["lecture §", "claim", "lecture", "recomputed", "verdict"]).set_index(
        "claim")


if __name__ == "__main__":  # pragma: no cover - maintenance script
    import argparse

    parser = argparse.ArgumentParser(description="Record the Part C benchmark timings shipped as data.")
    parser.add_argument("--record", action="store_true", help=f"measure and write {TIMINGS_PATH.name}")
    args = parser.parse_args()
    if args.record:
        d = record_timings()
        print({k: f"median {np.median(v) * 1e3:.3f} ms" for k, v in d["samples"].items()})
