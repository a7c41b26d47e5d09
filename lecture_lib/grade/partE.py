"""Checks for Part E (training and serving optimization): ``solutions/partE_serving_training_optimization_solutions.ipynb``.

E1  where a value lands in fp16              ``fp16_category(x) -> "zero" | "subnormal" | "normal" | "inf"``
E2  one dynamic loss-scaler update           ``scaler_update(scale, growth_tracker, found_inf, ...) -> (scale, tracker)``
E3  activation memory with k segments        ``checkpoint_peak_bytes(n_layers, k, input_bytes, block_bytes, outside_bytes)``
E4  throughput of a batch (cost model)       ``tokens_per_second(batch_size, a, b)``
E5  Little's law for a server                ``requests_in_system(arrival_rate, mean_latency)``, ``max_arrival_rate(slots, mean_latency)``
E6  weight bytes per token, bandwidth bound  ``max_tokens_per_second(n_params, bytes_per_param, bandwidth, batch_size)``

The judges compare with :mod:`lecture_lib.mixed_precision` (``classify``, ``update_scale``, itself tested against
``torch.amp.GradScaler``), :mod:`lecture_lib.checkpointing` (``predicted_memory``) and :mod:`lecture_lib.batching`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import as_number, describe, Fail, Mistake, plain, Question, raised
from .judge_messages import say
from .probe_runtime import call, get_function

__all__ = ["QUESTIONS"]



def _close(got: float, want: float, rel: float = 1e-9) -> bool:
    return math.isclose(got, want, rel_tol=rel, abs_tol=0.0) or got == want


# ================================================================================================== E1
_E1_MAP = {"zero": "zero", "underflow_to_zero": "zero", "subnormal": "subnormal", "normal": "normal",
           "overflow": "inf", "inf": "inf"}


def inputs_e1(rng: np.random.Generator) -> dict[str, Any]:
    fixed = [1.0, 0.0, -0.0, 1e-6, 1e-8, 6.1e-5, 6.11e-5, 65504.0, 65519.0, 65520.0, 1e5, -3.0e-7,
             2.0**-24, 2.0**-25, 0.6 * 2.0**-24, 2.0**-14, float("inf"), float("-inf"), 1e-6 * 1024, 32768.0 * 1.5]
    rand = [float(s * 10.0 ** e) for s, e in zip(rng.choice([-1.0, 1.0], 12), rng.uniform(-9.5, 5.5, 12))]
    return {"values": fixed + rand}


def probe_e1(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "fp16_category")
    return [call(f, v) for v in inputs["values"]]


def judge_e1(inputs: Any, result: Any) -> str:
    from lecture_lib import mixed_precision as mp

    for v, r in zip(inputs["values"], result):
        raised(r, "fp16_category", f"x = {v!r}")
        want = _E1_MAP[mp.classify(v, "fp16")]
        if r != want:
            hint = say("E.judge_e1.1")
            if want == "normal" and r == "inf":
                hint = say("E.judge_e1.2")
            elif want == "subnormal" and r == "zero":
                hint = (say("E.judge_e1.3"))
            elif want == "zero" and r == "subnormal":
                hint = say("E.judge_e1.4")
            elif want == "normal" and r == "subnormal":
                hint = say("E.judge_e1.5")
            raise Fail(say("E.judge_e1.6", v=v, want=want, value3=describe(r) if not isinstance(r, str) else repr(r)),
                       hint)
    return say("E.judge_e1.7", n_inputs_values=len(inputs['values']))


WRONG_E1 = """\
ax = abs(x)
if ax == 0:
    return "zero"
if ax > 65504:
    return "inf"
if ax < 2.0**-24:
    return "zero"
if ax < 2.0**-14:
    return "subnormal"
return "normal"
"""

# ================================================================================================== E2
def inputs_e2(rng: np.random.Generator) -> dict[str, Any]:
    cases = [
        (say("E.inputs_e2.1"), 65536.0, 0, False, {}),
        (say("E.inputs_e2.2"), 65536.0, 5, True, {}),
        (say("E.inputs_e2.3"), 65536.0, 1999, False, {}),
        (say("E.inputs_e2.4"), 1024.0, 2, False, {"growth_interval": 3}),
        (say("E.inputs_e2.5"), 8.0, 1, True, {"growth_factor": 4.0, "backoff_factor": 0.25, "growth_interval": 5}),
        (say("E.inputs_e2.6"), 2.0**127, 9, False, {"growth_interval": 10}),
    ]
    for i in range(4):
        gi = int(rng.integers(2, 12))
        cases.append((say("E.inputs_e2.7", i=i), float(2.0 ** int(rng.integers(-4, 24))), int(rng.integers(0, gi)),
                      bool(rng.random() < 0.4), {"growth_interval": gi}))
    return {"cases": cases}


def probe_e2(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "scaler_update")
    return [call(f, s, t, inf, **kw) for _label, s, t, inf, kw in inputs["cases"]]


def judge_e2(inputs: Any, result: Any) -> str:
    from lecture_lib import mixed_precision as mp

    for (label, s, t, inf, kw), r in zip(inputs["cases"], result):
        raised(r, "scaler_update", label)
        r = plain(r)
        if not (isinstance(r, (tuple, list)) and len(r) == 2):
            raise Fail(say("E.judge_e2.1", describe_r=describe(r), label=label))
        want = mp.update_scale(s, t, inf, **kw)
        got_s = as_number(r[0], "new_scale")
        got_t = r[1]
        if not (_close(got_s, want[0], 1e-6) and got_t == want[1] and not isinstance(got_t, bool)):
            hint = (say("E.judge_e2.2"))
            if inf and got_t != 0:
                hint = say("E.judge_e2.3")
            elif not inf and want[1] == 0 and got_t == t + 1:
                hint = say("E.judge_e2.4")
            elif not math.isfinite(got_s) or (not inf and want == (s, 0) and got_t == 0
                                               and _close(got_s, s * kw.get("growth_factor", 2.0), 1e-9)):
                hint = say("E.judge_e2.5")
            raise Fail(say("E.judge_e2.6", s=s, t=t, inf=inf, value4=''.join((f', {k}={v}' for k, v in kw.items())),
                           want=want, r=r, label=label), hint)
    return say("E.judge_e2.7", n_inputs_cases=len(inputs['cases']))


WRONG_E2 = """\
if found_inf:
    return scale * backoff_factor, growth_tracker
growth_tracker += 1
if growth_tracker == growth_interval:
    grown = scale * growth_factor
    return (grown if math.isfinite(grown) and grown < 3.4e38 else scale), 0
return scale, growth_tracker
"""

# ================================================================================================== E3
def inputs_e3(rng: np.random.Generator) -> dict[str, Any]:
    cases = [(say("E.inputs_e3.1"), 6, 0, 262144, 7_000_000, 10_000_000),
             (say("E.inputs_e3.2"), 6, 1, 262144, 7_000_000, 10_000_000),
             (say("E.inputs_e3.3"), 6, 4, 262144, 7_000_000, 10_000_000),
             (say("E.inputs_e3.4"), 8, 8, 1000, 16000, 0),
             (say("E.inputs_e3.5"), 12, 5, 4096, 65536, 100)]
    for i in range(4):
        n = int(rng.integers(1, 40))
        cases.append((say("E.inputs_e3.6", i=i), n, int(rng.integers(0, n + 1)), int(rng.integers(1, 10**6)),
                      int(rng.integers(1, 10**8)), int(rng.integers(0, 10**7))))
    return {"cases": cases}


def probe_e3(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "checkpoint_peak_bytes")
    return [call(f, n, k, c, m, o) for _label, n, k, c, m, o in inputs["cases"]]


def judge_e3(inputs: Any, result: Any) -> str:
    from lecture_lib import checkpointing as ck

    for (label, n, k, c, m, o), r in zip(inputs["cases"], result):
        raised(r, "checkpoint_peak_bytes", label)
        got = as_number(r, "checkpoint_peak_bytes")
        want = ck.predicted_memory(k, n, c, m, o)
        if not _close(got, want, 1e-9):
            hint = say("E.judge_e3.1")
            if k and n % k and _close(got, o + k * c + (n // k) * m - c, 1e-9):
                hint = say("E.judge_e3.2")
            elif k and _close(got, o + k * c + math.ceil(n / k) * m, 1e-9):
                hint = say("E.judge_e3.3")
            elif k == 0 and not _close(got, o + n * m, 1e-9):
                hint = say("E.judge_e3.4")
            raise Fail(say("E.judge_e3.5", n=n, k=k, c=c, m=m, o=o, want=want, got=got, label=label), hint)
    return say("E.judge_e3.6", n_inputs_cases=len(inputs['cases']))


WRONG_E3 = """\
if k == 0:
    return outside_bytes + n_layers * block_bytes
return outside_bytes + k * input_bytes + (n_layers // k) * block_bytes - input_bytes
"""

# ================================================================================================== E4
def inputs_e4(rng: np.random.Generator) -> dict[str, Any]:
    cases = [(1, 0.004, 0.0003), (16, 0.004, 0.0003), (64, 0.004, 0.0003), (8, 0.0, 0.001), (4, 0.02, 0.0)]
    for _ in range(4):
        cases.append((int(rng.integers(1, 257)), float(rng.uniform(1e-4, 0.05)), float(rng.uniform(1e-6, 1e-3))))
    return {"cases": cases}


def probe_e4(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "tokens_per_second")
    return [call(f, bs, a, b) for bs, a, b in inputs["cases"]]


def judge_e4(inputs: Any, result: Any) -> str:
    from lecture_lib import batching as bt

    for (bs, a, b), r in zip(inputs["cases"], result):
        raised(r, "tokens_per_second", f"B={bs}, a={a}, b={b}")
        got = as_number(r, "tokens_per_second")
        want = bt.max_throughput(bs, a, b)
        if not _close(got, want, 1e-9):
            hint = say("E.judge_e4.1")
            if _close(got, 1.0 / (a + b * bs), 1e-9):
                hint = say("E.judge_e4.2")
            elif _close(got, bs / (a + b), 1e-9):
                hint = say("E.judge_e4.3")
            raise Fail(say("E.judge_e4.4", bs=bs, a=a, b=b, want=want, got=got), hint)
    return say("E.judge_e4.5", n_inputs_cases=len(inputs['cases']), value2=bt.max_throughput(16, 0.004, 0.0003))


WRONG_E4 = """\
return 1.0 / (a + b * batch_size)
"""

# ================================================================================================== E5
def inputs_e5(rng: np.random.Generator) -> dict[str, Any]:
    l_cases = [(30.0, 0.27), (100.0, 0.05), (2.0, 4.0)]
    r_cases = [(16, 0.5), (8, 0.2), (1, 2.0)]
    for _ in range(3):
        l_cases.append((float(rng.uniform(0.5, 500)), float(rng.uniform(0.01, 5))))
        r_cases.append((int(rng.integers(1, 129)), float(rng.uniform(0.01, 5))))
    return {"L": l_cases, "rate": r_cases}


def probe_e5(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "requests_in_system")
    g = get_function(ns, "max_arrival_rate")
    return {"L": [call(f, lam, w) for lam, w in inputs["L"]], "rate": [call(g, s, w) for s, w in inputs["rate"]]}


def judge_e5(inputs: Any, result: Any) -> str:
    for (lam, w), r in zip(inputs["L"], result["L"]):
        raised(r, "requests_in_system", f"lambda={lam}, W={w}")
        got = as_number(r, "requests_in_system")
        if not _close(got, lam * w, 1e-9):
            hint = say("E.judge_e5.1")
            if _close(got, w / lam, 1e-9) or _close(got, lam / w, 1e-9):
                hint = say("E.judge_e5.2")
            raise Fail(say("E.judge_e5.3", lam=lam, w=w, lam_w=lam * w, got=got), hint)
    for (slots, w), r in zip(inputs["rate"], result["rate"]):
        raised(r, "max_arrival_rate", f"slots={slots}, W={w}")
        got = as_number(r, "max_arrival_rate")
        if not _close(got, slots / w, 1e-9):
            raise Fail(say("E.judge_e5.4", slots=slots, w=w, slots_w=slots / w, got=got),
                       say("E.judge_e5.5"))
    return say("E.judge_e5.6")


WRONG_E5 = """\
return mean_latency / arrival_rate
"""

# ================================================================================================== E6
def inputs_e6(rng: np.random.Generator) -> dict[str, Any]:
    cases = [(say("E.inputs_e6.1"), 7e9, 2, 100e9, 1), (say("E.inputs_e6.2"), 7e9, 2, 100e9, 32),
             (say("E.inputs_e6.3"), 7e9, 0.5, 100e9, 1), (say("E.inputs_e6.4"), 1.23e6, 4, 20e9, 8)]
    for i in range(3):
        cases.append((say("E.inputs_e6.5", i=i), float(10 ** rng.uniform(6, 11)), float(rng.choice([0.5, 1, 2, 4])),
                      float(10 ** rng.uniform(10, 12)), int(rng.integers(1, 129))))
    return {"cases": cases}


def probe_e6(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "max_tokens_per_second")
    return [call(f, n, bpp, bw, bs) for _label, n, bpp, bw, bs in inputs["cases"]]


def judge_e6(inputs: Any, result: Any) -> str:
    from lecture_lib import batching as bt

    for (label, n, bpp, bw, bs), r in zip(inputs["cases"], result):
        raised(r, "max_tokens_per_second", label)
        got = as_number(r, "max_tokens_per_second")
        want = bs / bt.decode_step_lower_bound(n * bpp, bw, batch_size=bs)
        if not _close(got, want, 1e-9):
            hint = say("E.judge_e6.1")
            if _close(got, bw / (n * bpp), 1e-9):
                hint = say("E.judge_e6.2")
            elif _close(got, bw / n, 1e-9) or _close(got, bs * bw / n, 1e-9):
                hint = say("E.judge_e6.3")
            raise Fail(say("E.judge_e6.4", n=n, bpp=bpp, bw=bw, bs=bs, want=want, got=got, label=label),
                       hint)
    return say("E.judge_e6.5")


WRONG_E6 = """\
return bandwidth / (n_params * bytes_per_param)
"""

MISTAKES_E1 = (
    Mistake("classified without rounding", WRONG_E1, "E.judge_e1.2"),
    Mistake("no subnormals (flush to zero)", "ax = abs(x)\nif ax > 65504:\n    return 'inf'\n"
            "if ax < 2.0**-14:\n    return 'zero'\nreturn 'normal'", "E.judge_e1.3"),
    Mistake("ties rounded up", "ax = abs(float(x))\nif math.isinf(ax):\n    return 'inf'\nif ax == 0.0:\n    return 'zero'\n"
            "_, e2 = math.frexp(ax)\nspacing = 2.0 ** (max(e2 - 1, -14) - 10)\nr = math.floor(ax / spacing + 0.5) * spacing\n"
            "if r > 65504.0:\n    return 'inf'\nif r == 0.0:\n    return 'zero'\n"
            "return 'subnormal' if r < 2.0**-14 else 'normal'", "E.judge_e1.4"),
)
_E2 = "if found_inf:\n    return scale * backoff_factor, 0\ngrowth_tracker += 1\nif growth_tracker == growth_interval:\n"
MISTAKES_E2 = (
    Mistake("tracker kept on inf", WRONG_E2, "E.judge_e2.3"),
    Mistake("tracker not restarted after growing", _E2 + "    return scale * growth_factor, growth_tracker\n"
            "return scale, growth_tracker", "E.judge_e2.4"),
    Mistake("no overflow guard", _E2 + "    return scale * growth_factor, 0\nreturn scale, growth_tracker",
            "E.judge_e2.5"),
)
MISTAKES_E3 = (
    Mistake("n // k blocks", WRONG_E3, "E.judge_e3.2"),
    Mistake("the segment's input counted twice", "if k == 0:\n    return outside_bytes + n_layers * block_bytes\n"
            "return outside_bytes + k * input_bytes + math.ceil(n_layers / k) * block_bytes",
            "E.judge_e3.3"),
)
MISTAKES_E4 = (
    Mistake("one token per step", WRONG_E4, "E.judge_e4.2"),
    Mistake("b not scaled by B", "return batch_size / (a + b)", "E.judge_e4.3"),
)
MISTAKES_E5 = (
    Mistake("divides", WRONG_E5, "E.judge_e5.2"),
    Mistake("slots times W", "return slots * mean_latency", "E.judge_e5.5", region=1),
)
MISTAKES_E6 = (
    Mistake("batch ignored", WRONG_E6, "E.judge_e6.2"),
    Mistake("bytes per parameter ignored", "return batch_size * bandwidth / n_params", "E.judge_e6.3"),
)

QUESTIONS = [
    Question("E1", 2, "where a value lands in fp16", inputs_e1, probe_e1, judge_e1, wrong_answers={0: WRONG_E1},
             mistakes=MISTAKES_E1),
    Question("E2", 2, "one dynamic loss-scaler update", inputs_e2, probe_e2, judge_e2, wrong_answers={0: WRONG_E2},
             mistakes=MISTAKES_E2),
    Question("E3", 3, "activation memory with k checkpoint segments", inputs_e3, probe_e3, judge_e3,
             wrong_answers={0: WRONG_E3},
             mistakes=MISTAKES_E3),
    Question("E4", 1, "throughput of a batch from the cost model", inputs_e4, probe_e4, judge_e4,
             wrong_answers={0: WRONG_E4},
             mistakes=MISTAKES_E4),
    Question("E5", 2, "Little's law for a server", inputs_e5, probe_e5, judge_e5, wrong_answers={0: WRONG_E5},
             mistakes=MISTAKES_E5),
    Question("E6", 2, "weight bytes per token: the bandwidth bound", inputs_e6, probe_e6, judge_e6,
             wrong_answers={0: WRONG_E6},
             mistakes=MISTAKES_E6),
]
