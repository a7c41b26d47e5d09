"""Checks for Part D (distributed inference): ``solutions/partD_distributed_inference_solutions.ipynb`` / ``exercises/...``.

D1  round-robin picks                      ``round_robin_picks(n_workers, n) -> list[int]``
D2  smooth weighted round-robin, one step  ``smooth_wrr_step(current, weights) -> (chosen, new_current)``
D3  least-connections                      ``least_connections_pick(connections) -> int``
D4  EWMA update                            ``ewma_update(previous, sample, alpha) -> float``
D5  circuit breaker, recording a result    ``breaker_on_result(state, window, failed, config) -> (state, window)``
D6  exponential backoff with full jitter   ``full_jitter_delays(attempts, base, cap, rng) -> list[float]``

The judges compare with :mod:`lecture_lib.serving` and :mod:`lecture_lib.resilience`. D6 is random: the probe
passes a seeded ``numpy.random.Generator`` and draws thousands of schedules; the judge checks the range exactly
and each retry's mean against ``t_n / 2`` within 5 standard errors, and that the draws fill ``[0, t_n]``
(a schedule with the wrong distribution, e.g. equal jitter with mean ``3 t_n / 4``, misses by ~50 standard errors),
and that consecutive retries are independent (correlation within 5 / sqrt(draws) of 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import describe, Fail, Mistake, plain, Question, raised
from .probe_runtime import call, get_function

__all__ = ["QUESTIONS"]


def _serving() -> Any:
    from lecture_lib import serving

    return serving


def _resilience() -> Any:
    from lecture_lib import resilience

    return resilience



def _int_list(value: Any, what: str, label: str) -> list[int]:
    value = plain(value)
    if not isinstance(value, (list, tuple)) or not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
        raise Fail(f"{what} must return a list of ints; got {describe(value)} for {label}")
    return list(value)


# ================================================================================================== D1
def inputs_d1(rng: np.random.Generator) -> dict[str, Any]:
    cases = [("3 workers, 7 requests", 3, 7), ("1 worker, 4 requests", 1, 4), ("5 workers, 0 requests", 5, 0)]
    c = int(rng.integers(2, 9))
    cases.append((f"{c} workers, 40 requests", c, 40))
    return {"cases": cases}


def probe_d1(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "round_robin_picks")
    return [call(f, c, n) for _label, c, n in inputs["cases"]]


def judge_d1(inputs: Any, result: Any) -> str:
    sv = _serving()
    for (label, c, n), r in zip(inputs["cases"], result):
        raised(r, "round_robin_picks", label)
        got = _int_list(r, "round_robin_picks", label)
        want = sv.round_robin_sequence(c, n).tolist()
        if got != want:
            hint = "request k goes to worker k % n_workers, starting with worker 0"
            if len(got) == n and n and got == [(k + 1) % c for k in range(n)]:
                hint = "start at worker 0: the first request (k = 0) goes to worker 0"
            elif len(got) != n:
                hint = f"return one worker index per request ({n} here)"
            raise Fail(f"round_robin_picks({c}, {n}) must be {want[:12]}{' ...' if n > 12 else ''}; "
                       f"got {got[:12]}{' ...' if len(got) > 12 else ''}", hint)
    return f"round-robin picks match on {len(inputs['cases'])} cases (3 workers: {_int_list(result[0], 'round_robin_picks', '')})"


WRONG_D1 = """\
return [(k + 1) % n_workers for k in range(n)]
"""

# ================================================================================================== D2
def inputs_d2(rng: np.random.Generator) -> dict[str, Any]:
    k = int(rng.integers(2, 6))
    weights = [int(x) for x in rng.integers(1, 8, size=k)]
    cur = [float(x) for x in rng.integers(-6, 7, size=3)]
    return {
        "sequences": [("weights {5, 1, 1}", [5, 1, 1], 14), ("weights {1, 1}", [1, 1], 4),
                      (f"random weights {weights}", weights, 2 * sum(weights))],
        "steps": [("a tie between workers 0 and 1", [2.0, 2.0, 0.0], [1, 1, 1]),
                  (f"current weights {cur} and weights [3, 2, 1]", cur, [3, 2, 1])],
    }


def probe_d2(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "smooth_wrr_step")
    seqs = []
    for _label, weights, n in inputs["sequences"]:
        current = [0.0] * len(weights)
        picks = []
        for _ in range(n):
            r = call(f, list(current), list(weights))
            if not (isinstance(r, (tuple, list)) and len(r) == 2):
                picks = r
                break
            chosen, current = r
            picks.append(int(chosen) if isinstance(chosen, (int, float)) or hasattr(chosen, "__index__") else chosen)
            current = list(current)
        seqs.append(picks)
    steps = [call(f, list(cur), list(w)) for _label, cur, w in inputs["steps"]]
    return {"sequences": seqs, "steps": steps}


def _swrr_variant(weights: list[int], n: int, *, own_weight: bool = False, last_on_tie: bool = False) -> list[int]:
    """Picks of smooth WRR with one of two mistakes (subtracting the own weight, or the last index on a tie)."""
    cur = [0] * len(weights)
    picks = []
    for _ in range(n):
        cur = [c + w for c, w in zip(cur, weights)]
        top = max(cur)
        best = max(i for i, c in enumerate(cur) if c == top) if last_on_tie else cur.index(top)
        cur[best] -= weights[best] if own_weight else sum(weights)
        picks.append(best)
    return picks


def judge_d2(inputs: Any, result: Any) -> str:
    sv = _serving()
    for (label, weights, n), got in zip(inputs["sequences"], result["sequences"]):
        got = plain(got)
        raised(got, "smooth_wrr_step", label)
        if not isinstance(got, list):
            raise Fail(f"smooth_wrr_step must return a pair (chosen, new_current); got {describe(got)} for {label}")
        want = sv.smooth_wrr_sequence(weights, n).tolist()
        got = [int(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x for x in got]
        if got != want:
            hint = ("each step: add every worker's weight to its current weight, pick the largest (lowest index on "
                    "a tie), then subtract the total weight from the chosen one only")
            if all(x == int(np.argmax(weights)) for x in got):
                hint = ("the heavy worker always wins: after picking, lower its current weight by the total "
                        "weight so the others catch up")
            elif got == _swrr_variant(weights, n, own_weight=True):
                hint = "subtract the TOTAL weight (the sum of all weights) from the chosen worker, not its own weight"
            elif got == _swrr_variant(weights, n, last_on_tie=True):
                hint = "on a tie pick the LOWEST index (the first maximum), not the last"
            raise Fail(f"repeated smooth_wrr_step from zero current weights with {label} must pick {want}; "
                       f"got {got}", hint)
    for (label, cur, weights), r in zip(inputs["steps"], result["steps"]):
        r = plain(r)
        raised(r, "smooth_wrr_step", label)
        if not (isinstance(r, (tuple, list)) and len(r) == 2):
            raise Fail(f"smooth_wrr_step must return a pair (chosen, new_current); got {describe(r)} for {label}")
        chosen, new = sv.smooth_wrr_step(cur, weights)
        got_new = [float(x) for x in r[1]] if isinstance(r[1], (list, tuple)) else r[1]
        if r[0] != chosen or got_new != new:
            raise Fail(f"smooth_wrr_step({cur}, {weights}) must return ({chosen}, {new}); got {describe(r)} "
                       f"= {r!r} for {label}", "on a tie the lowest index wins (use >, not >=, when scanning)")
    shown = " ".join("abc"[i] for i in sv.smooth_wrr_sequence([5, 1, 1], 7))
    return f"smooth weighted round-robin matches nginx's on {len(inputs['sequences'])} sequences ({{5,1,1}}: {shown})"


WRONG_D2 = """\
new = [c + w for c, w in zip(current, weights)]
best = max(range(len(new)), key=new.__getitem__)
return best, new
"""

# ================================================================================================== D3
def inputs_d3(rng: np.random.Generator) -> dict[str, Any]:
    cases = [("[3, 1, 2]", [3, 1, 2]), ("a tie [2, 0, 5, 0]", [2, 0, 5, 0]), ("all equal [4, 4, 4]", [4, 4, 4]),
             ("one worker [7]", [7])]
    for k in range(3):
        v = [int(x) for x in rng.integers(0, 4, size=int(rng.integers(2, 9)))]
        cases.append((f"random {v}", v))
    return {"cases": cases}


def probe_d3(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "least_connections_pick")
    return [call(f, list(c)) for _label, c in inputs["cases"]]


def judge_d3(inputs: Any, result: Any) -> str:
    sv = _serving()
    for (label, conns), r in zip(inputs["cases"], result):
        r = plain(r)
        raised(r, "least_connections_pick", label)
        want = sv.least_connections_pick(conns)
        if r != want or isinstance(r, bool):
            hint = "the worker with the fewest connections; on a tie, the lowest index (list.index(min(...)))"
            if isinstance(r, int) and 0 <= r < len(conns) and conns[r] == min(conns):
                hint = "on a tie take the lowest index"
            elif isinstance(r, int) and 0 <= r < len(conns) and conns[r] == max(conns):
                hint = "least-connections picks the minimum, not the maximum"
            raise Fail(f"least_connections_pick({conns}) must be {want}; got {describe(r)}", hint)
    return f"least-connections picks match on {len(inputs['cases'])} cases, ties included"


WRONG_D3 = """\
m = min(connections)
return max(i for i, c in enumerate(connections) if c == m)
"""

# ================================================================================================== D4
def inputs_d4(rng: np.random.Generator) -> dict[str, Any]:
    cases = [("the lecture's alpha = 0.1 (100 ms, new sample 500 ms)", 100.0, 500.0, 0.1),
             ("alpha = 1 (only the newest sample)", 3.0, 7.0, 1.0)]
    for _ in range(4):
        cases.append(("random values", float(rng.uniform(0, 1000)), float(rng.uniform(0, 1000)),
                      float(rng.uniform(0.01, 0.99))))
    return {"cases": cases}


def probe_d4(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "ewma_update")
    return [call(f, p, s, a) for _label, p, s, a in inputs["cases"]]


def judge_d4(inputs: Any, result: Any) -> str:
    sv = _serving()
    for (label, prev, sample, alpha), r in zip(inputs["cases"], result):
        r = plain(r)
        raised(r, "ewma_update", label)
        if not isinstance(r, (int, float)) or isinstance(r, bool):
            raise Fail(f"ewma_update must return a number; got {describe(r)} for {label}")
        want = sv.ewma_update(prev, sample, alpha)
        if not math.isclose(r, want, rel_tol=1e-9, abs_tol=1e-9):
            hint = "EWMA_t = alpha * L_t + (1 - alpha) * EWMA_{t-1}"
            if math.isclose(r, alpha * prev + (1 - alpha) * sample, rel_tol=1e-9):
                hint = "alpha weighs the NEW sample: alpha * sample + (1 - alpha) * previous"
            elif math.isclose(r, alpha * sample + prev, rel_tol=1e-9):
                hint = "the old estimate gets weight 1 - alpha, so that the two weights add up to 1"
            raise Fail(f"ewma_update({prev:.4g}, {sample:.4g}, {alpha:.4g}) must be {want:.6g}; got {r:.6g} "
                       f"for {label}", hint)
    return f"EWMA updates match; the lecture's alpha = 0.1 moves 100 ms toward 500 ms to {float(plain(result[0])):.4g} ms"


WRONG_D4 = """\
return alpha * previous + (1 - alpha) * sample
"""

# ================================================================================================== D5
_D5_CONFIG = {"window_size": 10, "failure_rate_threshold": 0.5, "minimum_calls": 10,
              "permitted_calls_in_half_open": 3}


def _breaker_ref(state: str, window: tuple, failed: bool, config: dict) -> tuple[str, tuple]:
    rs = _resilience()
    cfg = rs.BreakerConfig(wait_in_open=1.0, **config)
    new = rs.breaker_record(rs.BreakerState(state, tuple(window), 0.0, 0), failed, 1.0, cfg)
    return new.state, tuple(new.outcomes)


def inputs_d5(rng: np.random.Generator) -> dict[str, Any]:
    c = dict(_D5_CONFIG)
    F, T = False, True
    nine = (T, F) * 4 + (T,)  # 5 failures in 9
    cases = [
        ("closed, 9 calls with 5 failures, a 10th call fails: 6/10", "closed", nine, T, c),
        ("closed, 10th call succeeds: exactly 5/10 = the threshold", "closed", nine, F, c),
        ("closed, 8 calls all failed + 1: below minimum_calls", "closed", (T,) * 8, T, c),
        ("closed, full window of 10 successes, one failure: the oldest drops out", "closed", (F,) * 10, T, c),
        ("closed, full window [T, F*9] + a success: the old failure leaves the window", "closed",
         (T,) + (F,) * 9, F, c),
        ("half_open, first trial succeeds", "half_open", (), F, c),
        ("half_open, third trial succeeds after [F, T]: 1/3 failed", "half_open", (F, T), F, c),
        ("half_open, third trial fails after [F, T]: 2/3 failed", "half_open", (F, T), T, c),
        ("open: a late result is ignored", "open", (), T, c),
        ("closed, threshold 0.3 and window 5: 2 failures of 5", "closed", (F, T, F, F), T,
         {"window_size": 5, "failure_rate_threshold": 0.3, "minimum_calls": 5, "permitted_calls_in_half_open": 2}),
    ]
    for k in range(6):
        w = int(rng.integers(3, 12))
        cfg = {"window_size": w, "failure_rate_threshold": float(rng.choice([0.25, 0.5, 0.6, 1.0])),
               "minimum_calls": int(rng.integers(1, w + 1)), "permitted_calls_in_half_open": int(rng.integers(1, 5))}
        if k % 2 == 0:
            window = tuple(bool(x) for x in rng.random(int(rng.integers(0, w + 1))) < 0.4)
            cases.append((f"random closed case {k}", "closed", window, bool(rng.random() < 0.5), cfg))
        else:
            n = int(rng.integers(0, cfg["permitted_calls_in_half_open"]))
            window = tuple(bool(x) for x in rng.random(n) < 0.5)
            cases.append((f"random half-open case {k}", "half_open", window, bool(rng.random() < 0.5), cfg))
    return {"cases": cases}


def probe_d5(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "breaker_on_result")
    return [call(f, state, tuple(window), failed, dict(cfg)) for _label, state, window, failed, cfg in inputs["cases"]]


def judge_d5(inputs: Any, result: Any) -> str:
    for (label, state, window, failed, cfg), r in zip(inputs["cases"], result):
        r = plain(r)
        raised(r, "breaker_on_result", label)
        if not (isinstance(r, (tuple, list)) and len(r) == 2 and isinstance(r[0], str)
                and isinstance(r[1], (tuple, list))):
            raise Fail(f"breaker_on_result must return (state, window) with state a str and window a tuple; "
                       f"got {describe(r)} for {label}")
        want = _breaker_ref(state, tuple(window), failed, cfg)
        got = (r[0], tuple(bool(x) for x in r[1]))
        if got != want:
            hint = "closed: append, keep the last window_size outcomes, open when enough calls and rate >= threshold"
            if got[0] == "closed" and want[0] == "open" and "threshold" in label:
                hint = "the breaker opens when the failure rate is >= the threshold (5/10 = 0.5 opens it)"
            elif want[0] == "closed" and got[0] == "open" and "minimum" in label:
                hint = "no verdict before minimum_calls outcomes are in the window"
            elif state == "closed" and got[0] == want[0] == "closed":
                hint = "keep only the newest window_size outcomes (drop the oldest)"
            elif state == "half_open":
                hint = ("half-open: collect trial results; after permitted_calls_in_half_open of them reopen if "
                        "their failure rate >= threshold, else close; either way start with an empty window")
            elif state == "open":
                hint = "while open, results of calls admitted earlier change nothing"
            raise Fail(f"breaker_on_result({state!r}, {tuple(window)}, failed={failed}, {cfg}) must return "
                       f"{want}; got {got} ({label})", hint)
    return f"every transition matches lecture_lib.resilience.breaker_record on {len(inputs['cases'])} cases"


WRONG_D5 = """\
window = tuple(window)
if state == "open":
    return state, window
window = window + (bool(failed),)
rate = sum(window) / len(window)
if state == "closed":
    window = window[-config["window_size"]:]
    rate = sum(window) / len(window)
    if len(window) >= config["minimum_calls"] and rate > config["failure_rate_threshold"]:
        return "open", ()
    return "closed", window
if len(window) < config["permitted_calls_in_half_open"]:
    return "half_open", window
return ("open", ()) if rate > config["failure_rate_threshold"] else ("closed", ())
"""

# ================================================================================================== D6
_D6_DRAWS = 3000
_D6_SIGMAS = 5.0


def inputs_d6(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "cases": [
            ("base 0.1 s, cap 3 s, 8 retries", 8, 0.1, 3.0, int(rng.integers(2**31))),
            ("the lecture's base 200 ms, cap 10 s, 3 retries", 3, 200.0, 10_000.0, int(rng.integers(2**31))),
            ("base 1, cap 1 (always capped), 4 retries", 4, 1.0, 1.0, int(rng.integers(2**31))),
        ],
        "zero": ("0 retries", 0, 0.5, 2.0, 0),
        "draws": _D6_DRAWS,
    }


def probe_d6(ns: Any, inputs: Any) -> Any:
    import numpy as np

    f = get_function(ns, "full_jitter_delays")
    out = []
    for _label, attempts, base, cap, seed in inputs["cases"]:
        rng = np.random.default_rng(seed)
        rows = []
        bad = None
        for _ in range(inputs["draws"]):
            r = call(f, attempts, base, cap, rng)
            try:
                row = [float(x) for x in r]
            except Exception:  # noqa: BLE001 - not a list of numbers: report it as is
                bad = r
                break
            rows.append(row)
        out.append(bad if bad is not None else np.asarray(rows, dtype=float) if rows else bad)
    _label, attempts, base, cap, seed = inputs["zero"]
    return {"cases": out, "zero": call(f, attempts, base, cap, np.random.default_rng(seed))}


def judge_d6(inputs: Any, result: Any) -> str:
    draws = inputs["draws"]
    lines = []
    for (label, attempts, base, cap, _seed), r in zip(inputs["cases"], result["cases"]):
        raised(r, "full_jitter_delays", label)
        if not hasattr(r, "value"):
            raise Fail(f"full_jitter_delays must return a list of {attempts} floats; got {describe(r)} for {label}")
        d = np.asarray(r.value, dtype=float)
        if d.shape != (draws, attempts):
            raise Fail(f"full_jitter_delays({attempts}, ...) must return {attempts} delays; got "
                       f"{d.shape[1] if d.ndim == 2 else d.shape} for {label}")
        t = np.minimum(cap, base * 2.0 ** np.arange(attempts))
        if not np.isfinite(d).all():
            raise Fail(f"delays must be finite; got NaN/inf for {label}")
        over = np.argwhere(d > t * (1 + 1e-12))
        if over.size or (d < 0).any():
            n = int(over[0][1]) if over.size else int(np.argwhere(d < 0)[0][1])
            hint = "delay n is uniform on [0, min(cap, base * 2**n)]"
            if over.size and d[:, n].max() > cap:
                hint = "apply the cap before drawing: t = min(cap, base * 2**n), then U(0, t)"
            raise Fail(f"retry {n} must wait between 0 and t_{n} = {t[n]:.6g}; got values up to "
                       f"{d[:, n].max():.6g} (min {d[:, n].min():.6g}) for {label}", hint)
        mean = d.mean(axis=0)
        se = t / math.sqrt(12.0) / math.sqrt(draws)
        for n in range(attempts):
            if abs(mean[n] - t[n] / 2) > _D6_SIGMAS * se[n]:
                hint = "full jitter draws uniformly from the whole window [0, t_n], so its mean is t_n / 2"
                if abs(mean[n] - 0.75 * t[n]) < _D6_SIGMAS * se[n]:
                    hint = "that is equal jitter (t/2 + U(0, t/2)); full jitter is U(0, t)"
                elif np.allclose(d[:, n], t[n]):
                    hint = "no jitter: draw the delay with rng.uniform(0, t)"
                raise Fail(f"the mean delay of retry {n} must be t_{n}/2 = {t[n] / 2:.6g} (± {_D6_SIGMAS:g} standard "
                           f"errors = {_D6_SIGMAS * se[n]:.3g}); got {mean[n]:.6g} over {draws} draws for {label}", hint)
            if d[:, n].min() > 0.05 * t[n] or d[:, n].max() < 0.95 * t[n]:
                raise Fail(f"retry {n}'s delays must fill [0, t_{n}] = [0, {t[n]:.6g}]; got "
                           f"[{d[:, n].min():.6g}, {d[:, n].max():.6g}] over {draws} draws for {label}",
                           "draw uniformly from 0 to t_n, not from a narrower range")
        for n in range(attempts - 1):  # each retry needs its own draw: independent delays
            a, b = d[:, n], d[:, n + 1]
            if a.std() > 0 and b.std() > 0:
                corr = float(np.corrcoef(a, b)[0, 1])
                if abs(corr) > _D6_SIGMAS / math.sqrt(draws):
                    raise Fail(f"the delays of retries {n} and {n + 1} must be independent draws; their correlation "
                               f"over {draws} schedules is {corr:.3f} for {label}",
                               "draw a new random number for every retry (inside the loop)")
        lines.append(label)
    zero = result["zero"]
    raised(zero, "full_jitter_delays", "0 retries")
    if hasattr(zero, "value"):
        zero = zero.value.tolist()
    if not (isinstance(zero, (list, tuple)) and len(zero) == 0):
        raise Fail(f"full_jitter_delays(0, ...) must return an empty list; got {describe(zero)}")
    return (f"full-jitter delays stay in [0, min(cap, base 2^n)] with mean t_n/2 on {len(lines)} settings "
            f"({draws} draws each)")


WRONG_D6 = """\
out = []
for n in range(attempts):
    t = min(cap, base * 2 ** n)
    out.append(t / 2 + rng.uniform(0, t / 2))
return out
"""

MISTAKES_D1 = (
    Mistake("starts at worker 1", WRONG_D1, "start at worker 0"),
    Mistake("one pick per worker", "return [k % n_workers for k in range(n_workers)]", "return one worker index per request"),
)
_D2 = "new = [c + w for c, w in zip(current, weights)]\n"
MISTAKES_D2 = (
    Mistake("total never subtracted", WRONG_D2, "the heavy worker always wins"),
    Mistake("own weight subtracted", _D2 + "best = new.index(max(new))\nnew[best] -= weights[best]\nreturn best, new",
            "subtract the TOTAL weight"),
    Mistake("last index on a tie", _D2 + "best = max(i for i, c in enumerate(new) if c == max(new))\n"
            "new[best] -= sum(weights)\nreturn best, new", "on a tie pick the LOWEST index"),
)
MISTAKES_D3 = (
    Mistake("last index on a tie", WRONG_D3, "on a tie take the lowest index"),
    Mistake("the busiest worker", "return connections.index(max(connections))", "picks the minimum, not the maximum"),
)
MISTAKES_D4 = (
    Mistake("alpha on the old estimate", WRONG_D4, "alpha weighs the NEW sample"),
    Mistake("no 1 - alpha", "return alpha * sample + previous", "the old estimate gets weight 1 - alpha"),
)
_D5_CLOSED = """window = tuple(window)
if state == "open":
    return state, window
window = window + (bool(failed),)
if state == "closed":
{trim}    rate = sum(window) / len(window)
    if {enough}rate >= config["failure_rate_threshold"]:
        return "open", ()
    return "closed", window
if len(window) < config["permitted_calls_in_half_open"]:
    return "half_open", window
rate = sum(window) / len(window)
return ("open", ()) if rate >= config["failure_rate_threshold"] else ("closed", ())
"""
_D5_TRIM = '    window = window[-config["window_size"]:]\n'
_D5_ENOUGH = 'len(window) >= config["minimum_calls"] and '
MISTAKES_D5 = (
    Mistake("> instead of >=", WRONG_D5, "opens when the failure rate is >= the threshold"),
    Mistake("no minimum number of calls", _D5_CLOSED.format(trim=_D5_TRIM, enough=""),
            "no verdict before minimum_calls"),
    Mistake("window never trimmed", _D5_CLOSED.format(trim="", enough=_D5_ENOUGH), "keep only the newest window_size"),
    Mistake("open breaker records results", _D5_CLOSED.format(trim=_D5_TRIM, enough=_D5_ENOUGH).replace(
        'if state == "open":\n    return state, window', 'if state == "open":\n    return state, window + (bool(failed),)'),
        "while open, results of calls admitted earlier change nothing"),
    Mistake("half-open keeps its trials", _D5_CLOSED.format(trim=_D5_TRIM, enough=_D5_ENOUGH).replace(
        'return ("open", ()) if rate >= config["failure_rate_threshold"] else ("closed", ())',
        'return ("open", ()) if rate >= config["failure_rate_threshold"] else ("closed", window)'),
        "either way start with an empty window"),
)
MISTAKES_D6 = (
    Mistake("equal jitter", WRONG_D6, "that is equal jitter"),
    Mistake("no cap", "return [float(rng.uniform(0, base * 2 ** n)) for n in range(attempts)]",
            "apply the cap before drawing"),
    Mistake("no jitter", "return [float(min(cap, base * 2 ** n)) for n in range(attempts)]", "no jitter: draw the delay"),
)

QUESTIONS = [
    Question("D1", 1, "round-robin picks", inputs_d1, probe_d1, judge_d1, wrong_answers={0: WRONG_D1},
             mistakes=MISTAKES_D1),
    Question("D2", 2, "smooth weighted round-robin step", inputs_d2, probe_d2, judge_d2, wrong_answers={0: WRONG_D2},
             mistakes=MISTAKES_D2),
    Question("D3", 1, "least-connections pick", inputs_d3, probe_d3, judge_d3, wrong_answers={0: WRONG_D3},
             mistakes=MISTAKES_D3),
    Question("D4", 1, "EWMA update", inputs_d4, probe_d4, judge_d4, wrong_answers={0: WRONG_D4},
             mistakes=MISTAKES_D4),
    Question("D5", 3, "circuit breaker: recording a result", inputs_d5, probe_d5, judge_d5,
             wrong_answers={0: WRONG_D5},
             mistakes=MISTAKES_D5),
    Question("D6", 2, "backoff with full jitter", inputs_d6, probe_d6, judge_d6, wrong_answers={0: WRONG_D6},
             mistakes=MISTAKES_D6),
]
