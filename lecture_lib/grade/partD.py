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
from .judge_messages import say
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
        raise Fail(say("D.int_list.1", what=what, describe_value=describe(value), label=label))
    return list(value)


# ================================================================================================== D1
def inputs_d1(rng: np.random.Generator) -> dict[str, Any]:
    cases = [(say("D.inputs_d1.1"), 3, 7), (say("D.inputs_d1.2"), 1, 4), (say("D.inputs_d1.3"), 5, 0)]
    c = int(rng.integers(2, 9))
    cases.append((say("D.inputs_d1.4", c=c), c, 40))
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
            hint = say("D.judge_d1.1")
            if len(got) == n and n and got == [(k + 1) % c for k in range(n)]:
                hint = say("D.judge_d1.2")
            elif len(got) != n:
                hint = say("D.judge_d1.3", n=n)
            raise Fail(say("D.judge_d1.4", c=c, n=n, want_12=want[:12], if_n_12_else=' ...' if n > 12 else '',
                           got_12=got[:12], if_len_got_12_else=' ...' if len(got) > 12 else ''), hint)
    return say("D.judge_d1.5", n_inputs_cases=len(inputs['cases']),
               value2=_int_list(result[0], 'round_robin_picks', ''))


WRONG_D1 = """\
return [(k + 1) % n_workers for k in range(n)]
"""

# ================================================================================================== D2
def inputs_d2(rng: np.random.Generator) -> dict[str, Any]:
    k = int(rng.integers(2, 6))
    weights = [int(x) for x in rng.integers(1, 8, size=k)]
    cur = [float(x) for x in rng.integers(-6, 7, size=3)]
    return {
        "sequences": [(say("D.inputs_d2.1"), [5, 1, 1], 14), (say("D.inputs_d2.2"), [1, 1], 4),
                      (say("D.inputs_d2.3", weights=weights), weights, 2 * sum(weights))],
        "steps": [(say("D.inputs_d2.4"), [2.0, 2.0, 0.0], [1, 1, 1]),
                  (say("D.inputs_d2.5", cur=cur), cur, [3, 2, 1])],
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
            raise Fail(say("D.judge_d2.1", describe_got=describe(got), label=label))
        want = sv.smooth_wrr_sequence(weights, n).tolist()
        got = [int(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x for x in got]
        if got != want:
            hint = (say("D.judge_d2.2"))
            if all(x == int(np.argmax(weights)) for x in got):
                hint = (say("D.judge_d2.3"))
            elif got == _swrr_variant(weights, n, own_weight=True):
                hint = say("D.judge_d2.4")
            elif got == _swrr_variant(weights, n, last_on_tie=True):
                hint = say("D.judge_d2.5")
            raise Fail(say("D.judge_d2.6", label=label, want=want, got=got), hint)
    for (label, cur, weights), r in zip(inputs["steps"], result["steps"]):
        r = plain(r)
        raised(r, "smooth_wrr_step", label)
        if not (isinstance(r, (tuple, list)) and len(r) == 2):
            raise Fail(say("D.judge_d2.7", describe_r=describe(r), label=label))
        chosen, new = sv.smooth_wrr_step(cur, weights)
        got_new = [float(x) for x in r[1]] if isinstance(r[1], (list, tuple)) else r[1]
        if r[0] != chosen or got_new != new:
            raise Fail(say("D.judge_d2.8", cur=cur, weights=weights, chosen=chosen, new=new, describe_r=describe(r),
                           r=r, label=label), say("D.judge_d2.9"))
    shown = " ".join("abc"[i] for i in sv.smooth_wrr_sequence([5, 1, 1], 7))
    return say("D.judge_d2.10", n_inputs_sequences=len(inputs['sequences']), shown=shown)


WRONG_D2 = """\
new = [c + w for c, w in zip(current, weights)]
best = max(range(len(new)), key=new.__getitem__)
return best, new
"""

# ================================================================================================== D3
def inputs_d3(rng: np.random.Generator) -> dict[str, Any]:
    cases = [(say("D.inputs_d3.1"), [3, 1, 2]), (say("D.inputs_d3.2"), [2, 0, 5, 0]), (say("D.inputs_d3.3"), [4, 4, 4]),
             (say("D.inputs_d3.4"), [7])]
    for k in range(3):
        v = [int(x) for x in rng.integers(0, 4, size=int(rng.integers(2, 9)))]
        cases.append((say("D.inputs_d3.5", v=v), v))
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
            hint = say("D.judge_d3.1")
            if isinstance(r, int) and 0 <= r < len(conns) and conns[r] == min(conns):
                hint = say("D.judge_d3.2")
            elif isinstance(r, int) and 0 <= r < len(conns) and conns[r] == max(conns):
                hint = say("D.judge_d3.3")
            raise Fail(say("D.judge_d3.4", conns=conns, want=want, describe_r=describe(r)), hint)
    return say("D.judge_d3.5", n_inputs_cases=len(inputs['cases']))


WRONG_D3 = """\
m = min(connections)
return max(i for i, c in enumerate(connections) if c == m)
"""

# ================================================================================================== D4
def inputs_d4(rng: np.random.Generator) -> dict[str, Any]:
    cases = [(say("D.inputs_d4.1"), 100.0, 500.0, 0.1),
             (say("D.inputs_d4.2"), 3.0, 7.0, 1.0)]
    for _ in range(4):
        cases.append((say("D.inputs_d4.3"), float(rng.uniform(0, 1000)), float(rng.uniform(0, 1000)),
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
            raise Fail(say("D.judge_d4.1", describe_r=describe(r), label=label))
        want = sv.ewma_update(prev, sample, alpha)
        if not math.isclose(r, want, rel_tol=1e-9, abs_tol=1e-9):
            hint = say("D.judge_d4.2")
            if math.isclose(r, alpha * prev + (1 - alpha) * sample, rel_tol=1e-9):
                hint = say("D.judge_d4.3")
            elif math.isclose(r, alpha * sample + prev, rel_tol=1e-9):
                hint = say("D.judge_d4.4")
            raise Fail(say("D.judge_d4.5", prev=prev, sample=sample, alpha=alpha, want=want, r=r, label=label), hint)
    return say("D.judge_d4.6", plain_result_0=float(plain(result[0])))


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
        (say("D.inputs_d5.1"), "closed", nine, T, c),
        (say("D.inputs_d5.2"), "closed", nine, F, c),
        (say("D.inputs_d5.3"), "closed", (T,) * 8, T, c),
        (say("D.inputs_d5.4"), "closed", (F,) * 10, T, c),
        (say("D.inputs_d5.5"), "closed",
         (T,) + (F,) * 9, F, c),
        (say("D.inputs_d5.6"), "half_open", (), F, c),
        (say("D.inputs_d5.7"), "half_open", (F, T), F, c),
        (say("D.inputs_d5.8"), "half_open", (F, T), T, c),
        (say("D.inputs_d5.9"), "open", (), T, c),
        (say("D.inputs_d5.10"), "closed", (F, T, F, F), T,
         {"window_size": 5, "failure_rate_threshold": 0.3, "minimum_calls": 5, "permitted_calls_in_half_open": 2}),
    ]
    for k in range(6):
        w = int(rng.integers(3, 12))
        cfg = {"window_size": w, "failure_rate_threshold": float(rng.choice([0.25, 0.5, 0.6, 1.0])),
               "minimum_calls": int(rng.integers(1, w + 1)), "permitted_calls_in_half_open": int(rng.integers(1, 5))}
        if k % 2 == 0:
            window = tuple(bool(x) for x in rng.random(int(rng.integers(0, w + 1))) < 0.4)
            cases.append((say("D.inputs_d5.11", k=k), "closed", window, bool(rng.random() < 0.5), cfg))
        else:
            n = int(rng.integers(0, cfg["permitted_calls_in_half_open"]))
            window = tuple(bool(x) for x in rng.random(n) < 0.5)
            cases.append((say("D.inputs_d5.12", k=k), "half_open", window, bool(rng.random() < 0.5), cfg))
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
            raise Fail(say("D.judge_d5.1", describe_r=describe(r), label=label))
        want = _breaker_ref(state, tuple(window), failed, cfg)
        got = (r[0], tuple(bool(x) for x in r[1]))
        if got != want:
            hint = say("D.judge_d5.2")
            if got[0] == "closed" and want[0] == "open" and label in (say("D.inputs_d5.2"), say("D.inputs_d5.10")):
                hint = say("D.judge_d5.3")
            elif want[0] == "closed" and got[0] == "open" and label == say("D.inputs_d5.3"):
                hint = say("D.judge_d5.4")
            elif state == "closed" and got[0] == want[0] == "closed":
                hint = say("D.judge_d5.5")
            elif state == "half_open":
                hint = (say("D.judge_d5.6"))
            elif state == "open":
                hint = say("D.judge_d5.7")
            raise Fail(say("D.judge_d5.8", state=state, window=tuple(window), failed=failed, cfg=cfg, want=want,
                           got=got, label=label), hint)
    return say("D.judge_d5.9", n_inputs_cases=len(inputs['cases']))


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
            (say("D.inputs_d6.2"), 8, 0.1, 3.0, int(rng.integers(2**31))),
            (say("D.inputs_d6.3"), 3, 200.0, 10_000.0, int(rng.integers(2**31))),
            (say("D.inputs_d6.4"), 4, 1.0, 1.0, int(rng.integers(2**31))),
        ],
        "zero": (say("D.inputs_d6.1"), 0, 0.5, 2.0, 0),
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
            raise Fail(say("D.judge_d6.1", attempts=attempts, describe_r=describe(r), label=label))
        d = np.asarray(r.value, dtype=float)
        if d.shape != (draws, attempts):
            raise Fail(say("D.judge_d6.2", attempts=attempts, value2=d.shape[1] if d.ndim == 2 else d.shape,
                           label=label))
        t = np.minimum(cap, base * 2.0 ** np.arange(attempts))
        if not np.isfinite(d).all():
            raise Fail(say("D.judge_d6.3", label=label))
        over = np.argwhere(d > t * (1 + 1e-12))
        if over.size or (d < 0).any():
            n = int(over[0][1]) if over.size else int(np.argwhere(d < 0)[0][1])
            hint = say("D.judge_d6.4")
            if over.size and d[:, n].max() > cap:
                hint = say("D.judge_d6.5")
            raise Fail(say("D.judge_d6.6", n=n, t_n=t[n], d_n_max=d[:, n].max(), d_n_min=d[:, n].min(), label=label),
                       hint)
        mean = d.mean(axis=0)
        se = t / math.sqrt(12.0) / math.sqrt(draws)
        for n in range(attempts):
            if abs(mean[n] - t[n] / 2) > _D6_SIGMAS * se[n]:
                hint = say("D.judge_d6.7")
                if abs(mean[n] - 0.75 * t[n]) < _D6_SIGMAS * se[n]:
                    hint = say("D.judge_d6.8")
                elif np.allclose(d[:, n], t[n]):
                    hint = say("D.judge_d6.9")
                raise Fail(say("D.judge_d6.10", n=n, t_n_2=t[n] / 2, _D6_SIGMAS=_D6_SIGMAS,
                               d6_sigmas_se_n=_D6_SIGMAS * se[n], mean_n=mean[n], draws=draws, label=label), hint)
            if d[:, n].min() > 0.05 * t[n] or d[:, n].max() < 0.95 * t[n]:
                raise Fail(say("D.judge_d6.11", n=n, t_n=t[n], d_n_min=d[:, n].min(), d_n_max=d[:, n].max(),
                               draws=draws, label=label),
                           say("D.judge_d6.12"))
        for n in range(attempts - 1):  # each retry needs its own draw: independent delays
            a, b = d[:, n], d[:, n + 1]
            if a.std() > 0 and b.std() > 0:
                corr = float(np.corrcoef(a, b)[0, 1])
                if abs(corr) > _D6_SIGMAS / math.sqrt(draws):
                    raise Fail(say("D.judge_d6.13", n=n, n_1=n + 1, draws=draws, corr=corr, label=label),
                               say("D.judge_d6.14"))
        lines.append(label)
    zero = result["zero"]
    raised(zero, "full_jitter_delays", "0 retries")
    if hasattr(zero, "value"):
        zero = zero.value.tolist()
    if not (isinstance(zero, (list, tuple)) and len(zero) == 0):
        raise Fail(say("D.judge_d6.15", describe_zero=describe(zero)))
    return (say("D.judge_d6.16", n_lines=len(lines), draws=draws))


WRONG_D6 = """\
out = []
for n in range(attempts):
    t = min(cap, base * 2 ** n)
    out.append(t / 2 + rng.uniform(0, t / 2))
return out
"""

MISTAKES_D1 = (
    Mistake("starts at worker 1", WRONG_D1, "D.judge_d1.2"),
    Mistake("one pick per worker", "return [k % n_workers for k in range(n_workers)]", "D.judge_d1.3"),
)
_D2 = "new = [c + w for c, w in zip(current, weights)]\n"
MISTAKES_D2 = (
    Mistake("total never subtracted", WRONG_D2, "D.judge_d2.3"),
    Mistake("own weight subtracted", _D2 + "best = new.index(max(new))\nnew[best] -= weights[best]\nreturn best, new",
            "D.judge_d2.4"),
    Mistake("last index on a tie", _D2 + "best = max(i for i, c in enumerate(new) if c == max(new))\n"
            "new[best] -= sum(weights)\nreturn best, new", "D.judge_d2.5"),
)
MISTAKES_D3 = (
    Mistake("last index on a tie", WRONG_D3, "D.judge_d3.2"),
    Mistake("the busiest worker", "return connections.index(max(connections))", "D.judge_d3.3"),
)
MISTAKES_D4 = (
    Mistake("alpha on the old estimate", WRONG_D4, "D.judge_d4.3"),
    Mistake("no 1 - alpha", "return alpha * sample + previous", "D.judge_d4.4"),
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
    Mistake("> instead of >=", WRONG_D5, "D.judge_d5.3"),
    Mistake("no minimum number of calls", _D5_CLOSED.format(trim=_D5_TRIM, enough=""),
            "D.judge_d5.4"),
    Mistake("window never trimmed", _D5_CLOSED.format(trim="", enough=_D5_ENOUGH), "D.judge_d5.5"),
    Mistake("open breaker records results", _D5_CLOSED.format(trim=_D5_TRIM, enough=_D5_ENOUGH).replace(
        'if state == "open":\n    return state, window', 'if state == "open":\n    return state, window + (bool(failed),)'),
        "D.judge_d5.7"),
    Mistake("half-open keeps its trials", _D5_CLOSED.format(trim=_D5_TRIM, enough=_D5_ENOUGH).replace(
        'return ("open", ()) if rate >= config["failure_rate_threshold"] else ("closed", ())',
        'return ("open", ()) if rate >= config["failure_rate_threshold"] else ("closed", window)'),
        "D.judge_d5.6"),
)
MISTAKES_D6 = (
    Mistake("equal jitter", WRONG_D6, "D.judge_d6.8"),
    Mistake("no cap", "return [float(rng.uniform(0, base * 2 ** n)) for n in range(attempts)]",
            "D.judge_d6.5"),
    Mistake("no jitter", "return [float(min(cap, base * 2 ** n)) for n in range(attempts)]", "D.judge_d6.9"),
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
