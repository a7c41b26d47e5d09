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
            hint = "round to the nearest fp16 value first, then look at where the rounded value lies"
            if want == "normal" and r == "inf":
                hint = "fp16's largest finite value is 65504 = (2 - 2^-10) * 2^15, and values below 65520 round down to it"
            elif want == "subnormal" and r == "zero":
                hint = ("the smallest subnormal is 2^-24 = 5.96e-8; anything above half of it (2^-25) rounds up to it, "
                        "and 1e-6 is a subnormal, not an underflow")
            elif want == "zero" and r == "subnormal":
                hint = "at exactly 2^-25 (half the smallest subnormal) the tie goes to the even neighbour, 0"
            elif want == "normal" and r == "subnormal":
                hint = "the smallest normal is 2^-14 = 6.10e-5; a value just below it may round up to it"
            raise Fail(f"fp16_category({v!r}) must be {want!r}; got {describe(r) if not isinstance(r, str) else repr(r)}",
                       hint)
    return f"fp16 categories right on {len(inputs['values'])} values (1e-6 -> 'subnormal', 65519 -> 'normal')"


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
        ("a clean step, tracker 0", 65536.0, 0, False, {}),
        ("an inf step", 65536.0, 5, True, {}),
        ("the 2000th clean step", 65536.0, 1999, False, {}),
        ("growth_interval=3, third clean step", 1024.0, 2, False, {"growth_interval": 3}),
        ("an inf step, factors 4 and 0.25", 8.0, 1, True, {"growth_factor": 4.0, "backoff_factor": 0.25, "growth_interval": 5}),
        ("growth that would overflow float32", 2.0**127, 9, False, {"growth_interval": 10}),
    ]
    for i in range(4):
        gi = int(rng.integers(2, 12))
        cases.append((f"random case {i}", float(2.0 ** int(rng.integers(-4, 24))), int(rng.integers(0, gi)),
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
            raise Fail(f"scaler_update must return a pair (new_scale, new_growth_tracker); got {describe(r)} for {label}")
        want = mp.update_scale(s, t, inf, **kw)
        got_s = as_number(r[0], "new_scale")
        got_t = r[1]
        if not (_close(got_s, want[0], 1e-6) and got_t == want[1] and not isinstance(got_t, bool)):
            hint = ("on inf/NaN: multiply by backoff_factor and restart the tracker at 0; otherwise count the clean "
                    "step and grow (then restart at 0) when the count reaches growth_interval")
            if inf and got_t != 0:
                hint = "an inf/NaN step restarts the growth tracker at 0, as well as backing the scale off"
            elif not inf and want[1] == 0 and got_t == t + 1:
                hint = "when the clean-step count reaches growth_interval the scale grows and the tracker restarts at 0"
            elif not math.isfinite(got_s) or (not inf and want == (s, 0) and got_t == 0
                                               and _close(got_s, s * kw.get("growth_factor", 2.0), 1e-9)):
                hint = "if growing would overflow float32 (inf), keep the old scale"
            raise Fail(f"scaler_update({s!r}, {t}, {inf}{''.join(f', {k}={v}' for k, v in kw.items())}) must return "
                       f"{want}; got {r!r} ({label})", hint)
    return f"loss-scaler updates match GradScaler's rule on {len(inputs['cases'])} cases"


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
    cases = [("teacher-like, k = 0", 6, 0, 262144, 7_000_000, 10_000_000),
             ("teacher-like, k = 1", 6, 1, 262144, 7_000_000, 10_000_000),
             ("teacher-like, k = 4 (uneven segments)", 6, 4, 262144, 7_000_000, 10_000_000),
             ("k = n", 8, 8, 1000, 16000, 0),
             ("n = 12, k = 5", 12, 5, 4096, 65536, 100)]
    for i in range(4):
        n = int(rng.integers(1, 40))
        cases.append((f"random case {i}", n, int(rng.integers(0, n + 1)), int(rng.integers(1, 10**6)),
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
            hint = "kept: outside + k segment inputs; then, during backward, one segment's blocks at a time"
            if k and n % k and _close(got, o + k * c + (n // k) * m - c, 1e-9):
                hint = "segments have ceil(n/k) blocks at most: the largest segment sets the peak"
            elif k and _close(got, o + k * c + math.ceil(n / k) * m, 1e-9):
                hint = "the recomputed segment's input is already counted among the k kept inputs: subtract c once"
            elif k == 0 and not _close(got, o + n * m, 1e-9):
                hint = "k = 0 means no checkpointing: every block keeps its M bytes"
            raise Fail(f"checkpoint_peak_bytes(n={n}, k={k}, c={c}, M={m}, outside={o}) must be {want:g}; "
                       f"got {got:g} ({label})", hint)
    return f"peak activation memory right on {len(inputs['cases'])} cases"


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
            hint = "one step takes a + b*B seconds and yields one token for each of the B sequences"
            if _close(got, 1.0 / (a + b * bs), 1e-9):
                hint = "each step produces B tokens, not one: multiply by the batch size"
            elif _close(got, bs / (a + b), 1e-9):
                hint = "b is the cost per sequence: a step of B sequences takes a + b*B seconds"
            raise Fail(f"tokens_per_second({bs}, {a}, {b}) must be {want:.6g}; got {got:.6g}", hint)
    return f"throughput right on {len(inputs['cases'])} cases (B=16, a=4 ms, b=0.3 ms: {bt.max_throughput(16, 0.004, 0.0003):.0f} tokens/s)"


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
            hint = "Little's law: L = lambda * W (requests per second times seconds = requests)"
            if _close(got, w / lam, 1e-9) or _close(got, lam / w, 1e-9):
                hint = "multiply, do not divide: L = lambda * W has units (1/s) * s = requests"
            raise Fail(f"requests_in_system({lam}, {w}) must be {lam * w:.6g}; got {got:.6g}", hint)
    for (slots, w), r in zip(inputs["rate"], result["rate"]):
        raised(r, "max_arrival_rate", f"slots={slots}, W={w}")
        got = as_number(r, "max_arrival_rate")
        if not _close(got, slots / w, 1e-9):
            raise Fail(f"max_arrival_rate({slots}, {w}) must be {slots / w:.6g}; got {got:.6g}",
                       "solve L = lambda * W for lambda with L = the number of slots: lambda = slots / W")
    return "Little's law right both ways (30 req/s x 0.27 s = 8.1 requests in the system)"


WRONG_E5 = """\
return mean_latency / arrival_rate
"""

# ================================================================================================== E6
def inputs_e6(rng: np.random.Generator) -> dict[str, Any]:
    cases = [("7B fp16, 100 GB/s, B=1", 7e9, 2, 100e9, 1), ("7B fp16, 100 GB/s, B=32", 7e9, 2, 100e9, 32),
             ("7B int4, 100 GB/s, B=1", 7e9, 0.5, 100e9, 1), ("tiny LM teacher fp32, 20 GB/s, B=8", 1.23e6, 4, 20e9, 8)]
    for i in range(3):
        cases.append((f"random case {i}", float(10 ** rng.uniform(6, 11)), float(rng.choice([0.5, 1, 2, 4])),
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
            hint = "every step reads all n_params * bytes_per_param weight bytes once, and yields batch_size tokens"
            if _close(got, bw / (n * bpp), 1e-9):
                hint = "the weights are read once per step for the whole batch: multiply by batch_size"
            elif _close(got, bw / n, 1e-9) or _close(got, bs * bw / n, 1e-9):
                hint = "weight bytes = n_params * bytes_per_param"
            raise Fail(f"max_tokens_per_second({n:g}, {bpp}, {bw:g}, {bs}) must be {want:.6g}; got {got:.6g} ({label})",
                       hint)
    return "bandwidth bound right (7B in fp16 at 100 GB/s: at most 7.1 tokens/s for one sequence)"


WRONG_E6 = """\
return bandwidth / (n_params * bytes_per_param)
"""

MISTAKES_E1 = (
    Mistake("classified without rounding", WRONG_E1, "values below 65520 round down to it"),
    Mistake("no subnormals (flush to zero)", "ax = abs(x)\nif ax > 65504:\n    return 'inf'\n"
            "if ax < 2.0**-14:\n    return 'zero'\nreturn 'normal'", "the smallest subnormal is 2^-24"),
    Mistake("ties rounded up", "ax = abs(float(x))\nif math.isinf(ax):\n    return 'inf'\nif ax == 0.0:\n    return 'zero'\n"
            "_, e2 = math.frexp(ax)\nspacing = 2.0 ** (max(e2 - 1, -14) - 10)\nr = math.floor(ax / spacing + 0.5) * spacing\n"
            "if r > 65504.0:\n    return 'inf'\nif r == 0.0:\n    return 'zero'\n"
            "return 'subnormal' if r < 2.0**-14 else 'normal'", "the tie goes to the even neighbour"),
)
_E2 = "if found_inf:\n    return scale * backoff_factor, 0\ngrowth_tracker += 1\nif growth_tracker == growth_interval:\n"
MISTAKES_E2 = (
    Mistake("tracker kept on inf", WRONG_E2, "restarts the growth tracker at 0, as well as backing the scale off"),
    Mistake("tracker not restarted after growing", _E2 + "    return scale * growth_factor, growth_tracker\n"
            "return scale, growth_tracker", "the scale grows and the tracker restarts at 0"),
    Mistake("no overflow guard", _E2 + "    return scale * growth_factor, 0\nreturn scale, growth_tracker",
            "if growing would overflow float32"),
)
MISTAKES_E3 = (
    Mistake("n // k blocks", WRONG_E3, "segments have ceil(n/k) blocks at most"),
    Mistake("the segment's input counted twice", "if k == 0:\n    return outside_bytes + n_layers * block_bytes\n"
            "return outside_bytes + k * input_bytes + math.ceil(n_layers / k) * block_bytes",
            "already counted among the k kept inputs"),
)
MISTAKES_E4 = (
    Mistake("one token per step", WRONG_E4, "multiply by the batch size"),
    Mistake("b not scaled by B", "return batch_size / (a + b)", "b is the cost per sequence"),
)
MISTAKES_E5 = (
    Mistake("divides", WRONG_E5, "multiply, do not divide"),
    Mistake("slots times W", "return slots * mean_latency", "lambda = slots / W", region=1),
)
MISTAKES_E6 = (
    Mistake("batch ignored", WRONG_E6, "multiply by batch_size"),
    Mistake("bytes per parameter ignored", "return batch_size * bandwidth / n_params", "weight bytes = n_params * bytes_per_param"),
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
