"""Checks for Part C (production-quality Python): ``solutions/partC_production_python_solutions.ipynb`` /
``exercises/partC_production_python_exercises.ipynb``.

C1  error budget in minutes                 ``budget_minutes(slo, days=30)``
C2  burn rate and which alerts fire         ``burn_rate(error_rate, slo)``, ``alerts_firing(error_rate, slo)``
C3  Prometheus ``histogram_quantile``        ``histogram_quantile(q, upper_bounds, cumulative_counts)``
C4  Little's law and M/M/1                  ``littles_law_latency(in_flight, arrival_rate)``, ``mm1_in_system(lam, mu)``
C5  random test cases needed for (p, delta) ``cases_needed(p, delta)``
C6  Cohen's d and its label                 ``cohens_d(x, y)``, ``effect_label(d)``

The judges compare with :mod:`lecture_lib.slo`, :mod:`lecture_lib.metrics`, :mod:`lecture_lib.queueing` and
:mod:`lecture_lib.stats`. Random cases avoid float ties (an error rate exactly at a threshold, a bound
``log(delta)/log(1-p)`` within 1e-9 of an integer), so that a correct formula never fails on round-off.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import Fail, Mistake, Question, as_number, describe, raised
from .judge_messages import say
from .probe_runtime import Raised, call, get_function

__all__ = ["QUESTIONS"]

ALERT_NAMES = ("fast burn", "medium burn", "slow burn")


def _no_error(what: str) -> str:
    """What a probe found when a call should have raised: its "no error" in the language being graded."""
    return say("C.no_error") if what == "no error" else what


def _close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


# ================================================================================================== C1
def inputs_c1(rng: np.random.Generator) -> dict[str, Any]:
    cases = [(0.99, 30), (0.999, 30), (0.9995, 28)]
    cases += [(float(round(rng.uniform(0.9, 0.9999), 5)), int(rng.integers(7, 91))) for _ in range(3)]
    return {"cases": cases, "bad": [99.9, 0.0, 1.0]}


def probe_c1(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "budget_minutes")
    good = [call(f, s, days=d) for s, d in inputs["cases"]]
    bad = []
    for s in inputs["bad"]:
        try:
            f(s)
            bad.append("no error")
        except ValueError:
            bad.append("ValueError")
        except NotImplementedError:
            raise
        except Exception as err:  # noqa: BLE001
            bad.append(type(err).__name__)
    return {"good": good, "bad": bad}


def judge_c1(inputs: Any, result: Any) -> str:
    from lecture_lib import slo

    for (s, d), r in zip(inputs["cases"], result["good"]):
        raised(r, "budget_minutes", f"slo={s}, days={d}")
        got = as_number(r, "budget_minutes(...)")
        want = slo.error_budget_time(s, d * slo.DAY) / slo.MINUTE
        if not _close(got, want, 1e-7):
            hint = say("C.judge_c1.1")
            if _close(got, want / 60, 1e-7):
                hint = say("C.judge_c1.2")
            elif _close(got, want * 60, 1e-7):
                hint = say("C.judge_c1.3")
            elif _close(got, s * d * 1440, 1e-7):
                hint = say("C.judge_c1.4")
            raise Fail(say("C.judge_c1.5", s=s, d=d, want=want, got=got),
                       hint)
    for s, b in zip(inputs["bad"], result["bad"]):
        if b != "ValueError":
            raise Fail(say("C.judge_c1.6", s=s, b=_no_error(b)),
                       say("C.judge_c1.7"))
    return say("C.judge_c1.8", n_inputs_cases=len(inputs['cases']))


WRONG_C1 = """\
if not 0 < slo < 1:
    raise ValueError("slo must be in (0, 1)")
return (1 - slo) * days * 24
"""


# ================================================================================================== C2
def inputs_c2(rng: np.random.Generator) -> dict[str, Any]:
    from lecture_lib import slo as _slo

    cases = [(0.0144 * 1.5, 0.999), (0.006 * 1.2, 0.999), (0.002, 0.999), (0.002, 0.99), (0.0, 0.999)]
    thresholds = [a.threshold for a in _slo.MULTIWINDOW_ALERTS]
    while len(cases) < 12:
        s = float(rng.choice([0.99, 0.995, 0.999, 0.9995]))
        e = float(10 ** rng.uniform(-5, -1))
        burn = e / (1 - s)
        if all(abs(burn - t) > 1e-3 * t for t in thresholds):
            cases.append((e, s))
    return {"cases": cases}


def probe_c2(ns: Any, inputs: Any) -> Any:
    br = get_function(ns, "burn_rate")
    af = get_function(ns, "alerts_firing")
    out = []
    for e, s in inputs["cases"]:
        fired = call(af, e, s)
        if not isinstance(fired, Raised):
            try:
                fired = sorted(str(x) for x in fired)
            except TypeError:
                fired = repr(fired)[:100]
        out.append((call(br, e, s), fired))
    return out


def judge_c2(inputs: Any, result: Any) -> str:
    from lecture_lib import slo

    for (e, s), (b, fired) in zip(inputs["cases"], result):
        label = f"error_rate={e:.4g}, slo={s}"
        raised(b, "burn_rate", label)
        got = as_number(b, "burn_rate(...)")
        want = slo.burn_rate(e, s)
        if not _close(got, want, 1e-7):
            hint = say("C.judge_c2.1")
            if _close(got, e / s, 1e-7):
                hint = say("C.judge_c2.2")
            raise Fail(say("C.judge_c2.3", label=label, want=want, got=got), hint)
        raised(fired, "alerts_firing", label)
        rows = slo.alert_table(s, e)
        expected = sorted(str(r["alert"]) for r in rows if r["fires"])
        if not isinstance(fired, list) or fired != expected:
            hint = (say("C.judge_c2.4"))
            if isinstance(fired, list) and len(expected) > 1 and len(fired) == 1 and fired[0] in expected:
                hint = (say("C.judge_c2.5"))
            raise Fail(say("C.judge_c2.6", label=label, expected=expected, want=want,
                           value4=describe(fired) if not isinstance(fired, list) else fired), hint)
    return say("C.judge_c2.7", n_inputs_cases=len(inputs['cases']))


WRONG_C2 = """\
return error_rate / slo
"""


# ================================================================================================== C3
def inputs_c3(rng: np.random.Generator) -> dict[str, Any]:
    inf = math.inf
    cases: list[tuple[float, list[float], list[float]]] = [
        (0.99, [0.1, 0.25, 0.5, 1.0, inf], [600, 900, 985, 998, 1000]),
        (0.5, [0.1, 0.5, inf], [2, 8, 10]),
        (0.99, [0.1, 0.5, inf], [2, 8, 10]),           # rank 9.9 falls in +Inf -> 0.5
        (0.1, [0.2, 0.4, inf], [5, 10, 10]),          # lowest bucket interpolates from 0
        (0.5, [1.0, 2.0, 3.0, inf], [5, 5, 10, 10]),  # rank equals a count: the first bucket reaching it
    ]
    for _ in range(4):
        x = rng.lognormal(-2.5, 0.8, size=int(rng.integers(50, 2000)))
        b = sorted(set(np.round(np.geomspace(0.005, 2.0, int(rng.integers(4, 15))), 4).tolist()))
        cum = [float((x <= u).sum()) for u in b] + [float(x.size)]
        cases.append((float(rng.choice([0.5, 0.9, 0.95, 0.99, 0.999])), b + [inf], cum))
    return {"cases": cases}


def probe_c3(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "histogram_quantile")
    return [call(f, q, list(b), list(c)) for q, b, c in inputs["cases"]]


def judge_c3(inputs: Any, result: Any) -> str:
    from lecture_lib import metrics

    for (q, b, c), r in zip(inputs["cases"], result):
        label = f"q={q}, bounds={[round(x, 4) for x in b]}, counts={[int(x) for x in c]}"
        raised(r, "histogram_quantile", label)
        got = as_number(r, "histogram_quantile(...)")
        want = metrics.histogram_quantile(q, b, c)
        if not _close(got, want, 1e-9):
            rank = q * c[-1]
            j = next(i for i, v in enumerate(c) if v >= rank)
            hint = say("C.judge_c3.1")
            if j == 0 and (not math.isfinite(got) or _close(got, 0.0)):
                hint = (say("C.judge_c3.2"))
            elif math.isinf(got):
                hint = say("C.judge_c3.3")
            elif j < len(b) - 1 and _close(got, b[j], 1e-9):
                hint = say("C.judge_c3.4")
            raise Fail(say("C.judge_c3.5", label=label, want=want, got=got), hint)
    first = as_number(result[0], "histogram_quantile(...)")
    return say("C.judge_c3.6", n_result=len(result), first=first)


WRONG_C3 = """\
rank = q * cumulative_counts[-1]
for j, c in enumerate(cumulative_counts):
    if c >= rank:
        return upper_bounds[j] if math.isfinite(upper_bounds[j]) else upper_bounds[j - 1]
"""


# ================================================================================================== C4
def inputs_c4(rng: np.random.Generator) -> dict[str, Any]:
    little = [(10.0, 100.0), (10.0, 200.0)] + [(float(rng.uniform(0.5, 500)), float(rng.uniform(1, 5000)))
                                                 for _ in range(3)]
    mm1 = [(7.0, 10.0), (9.0, 10.0)] + [(float(m * r), float(m)) for m, r in
                                         zip(rng.uniform(1, 100, 3), rng.uniform(0.05, 0.98, 3))]
    return {"little": little, "mm1": mm1, "unstable": [(10.0, 10.0), (12.0, 10.0)]}


def probe_c4(ns: Any, inputs: Any) -> Any:
    w = get_function(ns, "littles_law_latency")
    m = get_function(ns, "mm1_in_system")
    unstable = []
    for lam, mu in inputs["unstable"]:
        try:
            m(lam, mu)
            unstable.append("no error")
        except ValueError:
            unstable.append("ValueError")
        except NotImplementedError:
            raise
        except Exception as err:  # noqa: BLE001
            unstable.append(type(err).__name__)
    return {"little": [call(w, L, lam) for L, lam in inputs["little"]],
            "mm1": [call(m, lam, mu) for lam, mu in inputs["mm1"]], "unstable": unstable}


def judge_c4(inputs: Any, result: Any) -> str:
    from lecture_lib import queueing

    for (L, lam), r in zip(inputs["little"], result["little"]):
        raised(r, "littles_law_latency", f"in_flight={L:.4g}, arrival_rate={lam:.4g}")
        got = as_number(r, "littles_law_latency(...)")
        want = queueing.littles_law(L=L, arrival_rate=lam)
        if not _close(got, want, 1e-9):
            hint = say("C.judge_c4.1")
            if _close(got, lam / L, 1e-9) or _close(got, L * lam, 1e-9):
                hint = say("C.judge_c4.2")
            raise Fail(say("C.judge_c4.3", L=L, lam=lam, want=want, got=got), hint)
    for (lam, mu), r in zip(inputs["mm1"], result["mm1"]):
        raised(r, "mm1_in_system", f"arrival_rate={lam:.4g}, service_rate={mu:.4g}")
        got = as_number(r, "mm1_in_system(...)")
        ref = queueing.mm1(lam, mu)
        if not _close(got, ref.L, 1e-9):
            hint = say("C.judge_c4.4")
            if _close(got, ref.Lq, 1e-9):
                hint = say("C.judge_c4.5")
            raise Fail(say("C.judge_c4.6", lam=lam, mu=mu, ref_l=ref.L, got=got), hint)
    for (lam, mu), u in zip(inputs["unstable"], result["unstable"]):
        if u != "ValueError":
            raise Fail(say("C.judge_c4.7", lam=lam, mu=mu, u=_no_error(u)),
                       say("C.judge_c4.8"))
    return say("C.judge_c4.9")


WRONG_C4 = """\
return arrival_rate / in_flight
"""


# ================================================================================================== C5
def inputs_c5(rng: np.random.Generator) -> dict[str, Any]:
    cases = [(0.01, 0.05), (0.01, 0.01), (0.001, 0.01), (0.5, 0.5), (0.3, 0.2)]
    while len(cases) < 12:
        p, d = float(10 ** rng.uniform(-4, -0.5)), float(10 ** rng.uniform(-4, -0.5))
        ratio = math.log(d) / math.log1p(-p)
        if abs(ratio - round(ratio)) > 1e-6:
            cases.append((p, d))
    return {"cases": cases}


def probe_c5(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "cases_needed")
    return [call(f, p, d) for p, d in inputs["cases"]]


def judge_c5(inputs: Any, result: Any) -> str:
    from lecture_lib import stats

    for (p, d), r in zip(inputs["cases"], result):
        raised(r, "cases_needed", f"p={p:.4g}, delta={d:.4g}")
        got = as_number(r, "cases_needed(...)")
        want = stats.cases_needed(p, d)
        if got != want:
            hint = say("C.judge_c5.1")
            bound = math.log(d) / math.log1p(-p)
            if got == round(bound) or got == math.floor(bound):
                hint = say("C.judge_c5.2")
            elif abs(got - math.log(1 / d) / p) < 1:
                hint = say("C.judge_c5.3")
            raise Fail(say("C.judge_c5.4", p=p, d=d, want=want, got=got), hint)
    return say("C.judge_c5.5", n_result=len(result), value2=stats.cases_needed(0.01, 0.05))


WRONG_C5 = """\
return round(math.log(delta) / math.log(1 - p))
"""


# ================================================================================================== C6
def inputs_c6(rng: np.random.Generator) -> dict[str, Any]:
    pairs = []
    for _ in range(4):
        n1, n2 = int(rng.integers(5, 40)), int(rng.integers(41, 90))
        pairs.append((rng.normal(10, float(rng.uniform(0.5, 3)), n1), rng.normal(float(rng.uniform(9, 12)),
                                                                                   float(rng.uniform(0.5, 3)), n2)))
    pairs.append((np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 8.0, 10.0, 12.0])))
    labels = [0.0, 0.1, -0.19, 0.2, -0.3, 0.5, 0.79, -0.8, 1.4, float(rng.uniform(-2, 2))]
    return {"pairs": pairs, "labels": labels}


def probe_c6(ns: Any, inputs: Any) -> Any:
    d = get_function(ns, "cohens_d")
    lab = get_function(ns, "effect_label")
    return {"d": [call(d, x.copy(), y.copy()) for x, y in inputs["pairs"]],
            "labels": [call(lab, v) for v in inputs["labels"]]}


def judge_c6(inputs: Any, result: Any) -> str:
    from lecture_lib import stats

    for (x, y), r in zip(inputs["pairs"], result["d"]):
        label = say("C.judge_c6.samples", n1=x.size, n2=y.size)
        raised(r, "cohens_d", label)
        got = as_number(r, "cohens_d(...)")
        want = stats.cohens_d(x, y)
        if not _close(got, want, 1e-7):
            hint = say("C.judge_c6.1")
            unweighted = (x.mean() - y.mean()) / math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
            if _close(got, -want, 1e-7):
                hint = say("C.judge_c6.2")
            elif _close(got, unweighted, 1e-7):
                hint = say("C.judge_c6.3")
            elif _close(got, (x.mean() - y.mean()) / math.sqrt((x.size * x.var() + y.size * y.var())
                                                               / (x.size + y.size)), 1e-7):
                hint = say("C.judge_c6.4")
            raise Fail(say("C.judge_c6.5", label=label, want=want, got=got), hint)
    for v, r in zip(inputs["labels"], result["labels"]):
        raised(r, "effect_label", f"d={v}")
        want = stats.effect_size_label(v)
        if r != want:
            hint = say("C.judge_c6.6")
            if v < 0 and r == "negligible":
                hint = say("C.judge_c6.7")
            raise Fail(say("C.judge_c6.8", v=v, want=want, r=r), hint)
    return say("C.judge_c6.9", n_result_d=len(result['d']))


WRONG_C6 = """\
x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
return float((x.mean() - y.mean()) / math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2))
"""


MISTAKES_C1 = (
    Mistake("hours instead of minutes", WRONG_C1, "C.judge_c1.2"),
    Mistake("seconds instead of minutes", "if not 0 < slo < 1:\n    raise ValueError('slo must be in (0, 1)')\n"
            "return (1 - slo) * days * 24 * 3600", "C.judge_c1.3"),
    Mistake("slo instead of 1 - slo", "if not 0 < slo < 1:\n    raise ValueError('slo must be in (0, 1)')\n"
            "return slo * days * 24 * 60", "C.judge_c1.4"),
    Mistake("no check of the slo", "return (1 - slo) * days * 24 * 60", "C.judge_c1.7"),
)
MISTAKES_C2 = (
    Mistake("divides by slo", WRONG_C2, "C.judge_c2.2"),
    Mistake("only the most severe alert", "burn = burn_rate(error_rate, slo)\n"
            "for name, t in (('fast burn', 14.4), ('medium burn', 6.0), ('slow burn', 1.0)):\n"
            "    if burn >= t:\n        return [name]\nreturn []", "C.judge_c2.5", region=1),
)
MISTAKES_C3 = (
    Mistake("no interpolation", WRONG_C3, "C.judge_c3.4"),
    Mistake("+Inf returned", "rank = q * cumulative_counts[-1]\n"
            "j = next(i for i, c in enumerate(cumulative_counts) if c >= rank)\n"
            "lower = upper_bounds[j - 1] if j > 0 else 0.0\nbelow = cumulative_counts[j - 1] if j > 0 else 0.0\n"
            "if math.isinf(upper_bounds[j]):\n    return upper_bounds[j]\n"
            "return lower + (upper_bounds[j] - lower) * (rank - below) / (cumulative_counts[j] - below)",
            "C.judge_c3.3"),
    Mistake("upper_bounds[j - 1] at j = 0", "rank = q * cumulative_counts[-1]\n"
            "j = next(i for i, c in enumerate(cumulative_counts) if c >= rank)\n"
            "if math.isinf(upper_bounds[j]):\n    return upper_bounds[j - 1]\n"
            "lower, below = upper_bounds[j - 1], cumulative_counts[j - 1]\n"
            "return lower + (upper_bounds[j] - lower) * (rank - below) / (cumulative_counts[j] - below)",
            "C.judge_c3.2"),
)
MISTAKES_C4 = (
    Mistake("lambda / L", WRONG_C4, "C.judge_c4.2"),
    Mistake("Lq instead of L", "rho = arrival_rate / service_rate\nif rho >= 1:\n    raise ValueError('rho >= 1')\n"
            "return rho ** 2 / (1 - rho)", "C.judge_c4.5", region=1),
    Mistake("no check of rho", "rho = arrival_rate / service_rate\nreturn rho / (1 - rho)",
            "C.judge_c4.8", region=1),
)
MISTAKES_C5 = (
    Mistake("rounded to nearest", WRONG_C5, "C.judge_c5.2"),
    Mistake("the small-p approximation", "return math.ceil(math.log(1 / delta) / p)", "C.judge_c5.3"),
)
MISTAKES_C6 = (
    Mistake("plain average of the variances", WRONG_C6, "C.judge_c6.3"),
    Mistake("y - x", "x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)\nn1, n2 = x.size, y.size\n"
            "sp2 = ((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2)\n"
            "return float((y.mean() - x.mean()) / math.sqrt(sp2))", "C.judge_c6.2"),
    Mistake("population variances", "x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)\n"
            "n1, n2 = x.size, y.size\nsp2 = (n1 * x.var() + n2 * y.var()) / (n1 + n2)\n"
            "return float((x.mean() - y.mean()) / math.sqrt(sp2))", "C.judge_c6.4"),
    Mistake("label without |d|", "if d < 0.2:\n    return 'negligible'\nif d < 0.5:\n    return 'small'\n"
            "if d < 0.8:\n    return 'medium'\nreturn 'large'", "C.judge_c6.7", region=1),
)

QUESTIONS = [
    Question("C1", 1, "error budget in minutes", inputs_c1, probe_c1, judge_c1, wrong_answers={0: WRONG_C1},
             mistakes=MISTAKES_C1),
    Question("C2", 2, "burn rate and which alerts fire", inputs_c2, probe_c2, judge_c2, wrong_answers={0: WRONG_C2},
             mistakes=MISTAKES_C2),
    Question("C3", 2, "histogram_quantile", inputs_c3, probe_c3, judge_c3, wrong_answers={0: WRONG_C3},
             mistakes=MISTAKES_C3),
    Question("C4", 2, "Little's law and M/M/1", inputs_c4, probe_c4, judge_c4, wrong_answers={0: WRONG_C4},
             mistakes=MISTAKES_C4),
    Question("C5", 1, "test cases needed for (p, delta)", inputs_c5, probe_c5, judge_c5, wrong_answers={0: WRONG_C5},
             mistakes=MISTAKES_C5),
    Question("C6", 2, "Cohen's d and its label", inputs_c6, probe_c6, judge_c6, wrong_answers={0: WRONG_C6},
             mistakes=MISTAKES_C6),
]
