"""The measured challenges: one open task per part, ``A-challenge`` ... ``E-challenge``, scored in tiers.

Each challenge is a :class:`~lecture_lib.grade.core.Question` worth 3 points: bronze 1, silver 2, gold 3.
The inputs are held out: the command-line grader draws them from a fresh random seed every run (``check`` uses a
fixed one, so its feedback is repeatable), and the learner's code sees only what the task gives it. The probe
runs the learner's code in its kernel and returns *decisions* (which worker, which alert minute, which draft
tokens, which weights ...); the judge recomputes every figure from those decisions in the grader's process with
the course's simulators and model, so a tier never rests on a number the kernel claims. Tier thresholds were
calibrated with the reference solutions in ``solutions/`` (not in this package) on many seeds, with margins so
that a solution's tier does not depend on the seed; the exercise notebooks print them.

What the learner's code can do in its own kernel is not sandboxed (as for every question): a policy that reads
the trace out of the grader's stack frame instead of reacting to what it is told is cheating we do not try to
prevent.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from .core import Fail, Mistake, Question, Scored, as_array, describe, plain
from .judge_messages import say
from .probe_runtime import Raised, call, get_function

__all__ = ["CHALLENGES", "TIER_NAMES", "tier_of"]

#: Points per tier.
TIER_NAMES = {1: "bronze", 2: "silver", 3: "gold"}


def tier_name(tier: int) -> str:
    """The name of ``tier`` (1..3: bronze, silver, gold; :data:`TIER_NAMES`) in the language being graded."""
    return say(f"challenges.tier.{tier}")


def tier_of(value: float, thresholds: Sequence[float], *, lower_is_better: bool = True) -> int:
    """The tier (0..3) that ``value`` reaches: thresholds are (bronze, silver, gold), each inclusive."""
    tier = 0
    for k, limit in enumerate(thresholds, start=1):
        if (value <= limit) if lower_is_better else (value >= limit):
            tier = k
    return tier


def _verdict(tier: int, figure: str, thresholds: str) -> Any:
    """A judge's result for ``tier``: Scored(1..3) with the measured figure, or Fail naming the bronze bar."""
    if tier == 0:
        raise Fail(say("challenges.verdict.1", figure=figure, thresholds=thresholds))
    if tier == 3:
        return say("challenges.verdict.2", figure=figure, thresholds=thresholds)
    return Scored(tier, say("challenges.verdict.tier", tier=tier_name(tier), figure=figure, thresholds=thresholds))


# ============================================================================================= D-challenge
#: Part D: p99 latency as a multiple of the better of P2C and peak-EWMA on the same traces (lower is better).
D_THRESHOLDS = (1.0, 0.9, 0.8)
D_WORKERS = 8
D_REQUESTS = 8_000
D_TRACES = 10
D_LOAD = 0.8


def inputs_d_challenge(rng: np.random.Generator) -> dict[str, Any]:
    """Held-out traces: 8 workers with hidden speeds (0.5 .. 4 requests/s), Poisson arrivals at 80 % of the total
    capacity, and two slowdowns per trace (a worker 3-8 times slower for a while)."""
    traces = []
    for _ in range(D_TRACES):
        rates = np.exp(rng.uniform(np.log(0.5), np.log(4.0), D_WORKERS))
        lam = D_LOAD * float(rates.sum())
        arrivals = np.cumsum(rng.standard_exponential(D_REQUESTS) / lam)
        work = rng.standard_exponential(D_REQUESTS)
        horizon = float(arrivals[-1])
        events = []
        for _k in range(2):
            start = float(rng.uniform(0.1, 0.7) * horizon)
            events.append((int(rng.integers(D_WORKERS)), start, start + float(rng.uniform(0.1, 0.25)) * horizon,
                           float(rng.uniform(2.0, 5.0))))
        traces.append({"arrivals": arrivals, "work": work, "rates": rates.tolist(), "events": events})
    return {"traces": traces}


def probe_d_challenge(ns: Any, inputs: Any) -> Any:
    from lecture_lib.serving import Slowdown, simulate_balancer

    cls = get_function(ns, "MyBalancer")
    out = []
    for tr in inputs["traces"]:
        events = [Slowdown(int(w), float(s), float(e), float(f)) for w, s, e, f in tr["events"]]
        balancer = cls(len(tr["rates"]))
        out.append(call(simulate_balancer, balancer, tr["arrivals"], tr["work"], tr["rates"], events))
    return out


def d_challenge_score(inputs: Any, assignments: Sequence[Any]) -> dict[str, float]:
    """p99 latency per trace (first 5 % left out) of the given assignments, and of P2C and peak-EWMA on the same
    traces; ``ratio`` = geometric mean over the traces of p99 / min(P2C's, peak-EWMA's); ``p99`` etc. medians."""
    from lecture_lib import serving

    def p99(latencies: np.ndarray) -> float:
        return float(np.quantile(latencies[len(latencies) // 20:], 0.99))

    mine, p2c, ewma = [], [], []
    for k, (tr, assign) in enumerate(zip(inputs["traces"], assignments)):
        events = [serving.Slowdown(int(w), float(s), float(e), float(f)) for w, s, e, f in tr["events"]]
        args = (tr["arrivals"], tr["work"], tr["rates"], events)
        mine.append(p99(serving.replay_assignments(assign, *args)))
        for policy, sink in (("p2c", p2c), ("ewma", ewma)):
            bal = serving.make_balancer(policy, tr["rates"], rng=np.random.default_rng(k))
            sink.append(p99(serving.replay_assignments(serving.simulate_balancer(bal, *args), *args)))
    ratios = np.asarray(mine) / np.minimum(p2c, ewma)
    return {"p99": float(np.median(mine)), "p2c": float(np.median(p2c)), "ewma": float(np.median(ewma)),
            "ratio": float(np.exp(np.mean(np.log(ratios))))}


def judge_d_challenge(inputs: Any, result: Any) -> Any:
    assignments = []
    for k, (tr, r) in enumerate(zip(inputs["traces"], result)):
        if isinstance(r, Raised):
            raise Fail(say("challenges.judge_d_challenge.1", k_1=k + 1, r_message=r.message),
                       say("challenges.judge_d_challenge.2"),
                       status="error")
        a = np.asarray(plain(r))
        if a.shape != (len(tr["arrivals"]),):
            raise Fail(say("challenges.judge_d_challenge.3", describe_r=describe(r)))
        assignments.append(a.astype(np.int64))
    s = d_challenge_score(inputs, assignments)
    tier = tier_of(s["ratio"], D_THRESHOLDS)
    if tier == 0:
        counts = np.bincount(np.concatenate(assignments), minlength=D_WORKERS)
        share = counts / counts.sum()
        if share.max() > 0.9:
            hint = say("challenges.judge_d_challenge.4")
        elif share.max() < 1.5 * share.min():
            hint = say("challenges.judge_d_challenge.5")
        else:
            hint = say("challenges.judge_d_challenge.6")
        figure = say("challenges.judge_d_challenge.7", s_ratio=s['ratio'], n_assignments=len(assignments))
        raise Fail(say("challenges.judge_d_challenge.8", figure=figure, d_thresholds_0=D_THRESHOLDS[0]), hint)
    figure = say("challenges.judge_d_challenge.9", s_ratio=s['ratio'], n_assignments=len(assignments),
                 s_p99=s['p99'], s_p2c=s['p2c'], s_ewma=s['ewma'])
    bars = say("challenges.bars.sep").join(say("challenges.bar.le_x", tier=tier_name(k + 1), t=t)
                                           for k, t in enumerate(D_THRESHOLDS))
    return _verdict(tier, figure, bars)


# ============================================================================================= B-challenge
#: Part B: tokens per target call of exact greedy speculative decoding of the teacher (higher is better).
B_THRESHOLDS = (1.8, 2.3, 2.8)
B_PROMPTS = 24          # the reference's figure spreads 3.1-4.2 over 50 draws of 24 prompts (2.8-4.8 with 8)
B_SEED_CHARS = 24        # characters of validation text that start each prompt
B_SAMPLED = 24           # characters the teacher then samples (temperature B_TEMPERATURE): the held-out prompt
B_TEMPERATURE = 0.8
B_NEW = 64               # new tokens decoded per prompt
B_MAX_DRAFT = 8          # draft tokens per step at most
B_COST_LIMIT = 0.5       # a draft step may cost at most half a target call (wall-clock, same run)


class _OneThread:
    """torch with one thread inside the block (the learner's kernel runs with one): identical greedy choices."""

    def __enter__(self) -> None:
        import torch

        self._n = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc: Any) -> None:
        import torch

        torch.set_num_threads(self._n)


def _teacher() -> Any:
    from lecture_lib import tinylm

    return tinylm.load("teacher")


#: The teacher's greedy continuation of each held-out prompt, computed by the grader when it draws the prompts
#: (kept in the grader's process for the judge; the learner's kernel computes its own for the decoding loop).
_B_GREEDY: dict[str, list[int]] = {}


def _b_greedy(prompt: str, n: int) -> list[int]:
    from lecture_lib import tinylm

    key = f"{n}:{prompt}"
    if key not in _B_GREEDY:
        if len(_B_GREEDY) > 64:
            _B_GREEDY.clear()
        with _OneThread():
            _B_GREEDY[key] = tinylm.encode(tinylm.generate(_teacher(), prompt, n))
    return _B_GREEDY[key]


def inputs_b_challenge(rng: np.random.Generator) -> dict[str, Any]:
    """Held-out prompts nobody has seen: a random 24-character window of the validation text, continued by 24
    characters the teacher samples at temperature 0.8 with a random seed."""
    from lecture_lib import tinylm

    text = tinylm.validation_text()
    teacher = _teacher()
    prompts = []
    with _OneThread():
        for _ in range(B_PROMPTS):
            s = int(rng.integers(0, len(text) - B_SEED_CHARS))
            seed = text[s:s + B_SEED_CHARS]
            prompts.append(seed + tinylm.generate(teacher, seed, B_SAMPLED, temperature=B_TEMPERATURE,
                                                  seed=int(rng.integers(2**31))))
    greedy = [_b_greedy(p, B_NEW) for p in prompts]
    return {"prompts": prompts, "greedy": greedy, "new_tokens": B_NEW, "k": B_MAX_DRAFT}


def probe_b_challenge(ns: Any, inputs: Any) -> Any:
    import time

    import torch

    from lecture_lib import tinylm

    f = get_function(ns, "draft_tokens")
    n, k = int(inputs["new_tokens"]), int(inputs["k"])
    greedy = [[int(t) for t in g] for g in inputs["greedy"]]  # what the teacher's verification accepts
    torch.set_num_threads(1)
    warm = call(f, tinylm.encode("The "), k)  # not timed: a draft may build its tables on the first call
    if isinstance(warm, Raised):
        return warm
    teacher = tinylm.load("teacher")
    t0 = time.perf_counter()
    tinylm.generate(teacher, inputs["prompts"][0], 32)
    target_seconds = (time.perf_counter() - t0) / 32  # one cached forward call of the target per token
    drafts, draft_seconds = [], 0.0
    for prompt, g in zip(inputs["prompts"], greedy):
        context, pos, steps = tinylm.encode(prompt), 0, []
        while pos < n:
            t0 = time.perf_counter()
            d = call(f, list(context) + g[:pos], k)
            draft_seconds += time.perf_counter() - t0
            if isinstance(d, Raised):
                return d
            d = [int(x) for x in list(d)[:k]]
            steps.append(d)
            a = 0
            while a < len(d) and pos + a < n and d[a] == g[pos + a]:
                a += 1
            pos += a + 1  # the accepted draft tokens and the target's own next token
        drafts.append(steps)
    return {"drafts": drafts, "draft_seconds": draft_seconds, "target_seconds": target_seconds}


def b_replay(greedy: Sequence[Sequence[int]], drafts: Sequence[Sequence[Sequence[int]]], n: int) -> dict[str, float]:
    """Greedy verification replayed: each step keeps the draft's longest prefix equal to the target's greedy
    tokens, plus the target's own next token; returns target calls, tokens per call and the acceptance rate."""
    calls, proposed, accepted = 0, 0, 0
    for g, steps in zip(greedy, drafts):
        pos = 0
        for d in steps:
            if pos >= n:
                raise ValueError("more draft steps than decoding needs")
            a = 0
            while a < len(d) and pos + a < n and d[a] == g[pos + a]:
                a += 1
            proposed += len(d)
            accepted += a
            pos += a + 1
            calls += 1
        if pos < n:
            raise ValueError("the draft steps stop before the continuation is complete")
    return {"calls": calls, "tokens_per_call": n * len(greedy) / calls,
            "accepted_fraction": accepted / proposed if proposed else 0.0}


def judge_b_challenge(inputs: Any, result: Any) -> Any:
    if isinstance(result, Raised):
        raise Fail(say("challenges.judge_b_challenge.1", result_message=result.message),
                   say("challenges.judge_b_challenge.2"),
                   status="error")
    n = int(inputs["new_tokens"])
    greedy = [_b_greedy(p, n) for p in inputs["prompts"]]
    drafts = [[[int(x) for x in d] for d in plain(steps)] for steps in result["drafts"]]
    try:
        r = b_replay(greedy, drafts, n)
    except ValueError as err:
        raise Fail(say("challenges.judge_b_challenge.3", err=err)) from None
    cost = float(result["draft_seconds"]) / (r["calls"] * float(result["target_seconds"]))
    if cost > B_COST_LIMIT:
        raise Fail(say("challenges.judge_b_challenge.4", cost=cost, B_COST_LIMIT=B_COST_LIMIT),
                   say("challenges.judge_b_challenge.5"))
    tier = tier_of(r["tokens_per_call"], B_THRESHOLDS, lower_is_better=False)
    if tier == 0:
        hint = (say("challenges.judge_b_challenge.6")
                if r["accepted_fraction"] == 0 and all(not d for steps in drafts for d in steps) else
                say("challenges.judge_b_challenge.7"))
        raise Fail(say("challenges.judge_b_challenge.8", r_tokens_per_call=r['tokens_per_call'], n_greedy=len(greedy),
                       b_thresholds_0=B_THRESHOLDS[0]), hint)
    draft_cost = say("challenges.judge_b_challenge.below", limit=0.25) if cost < 0.25 else f"{cost:.2f}"
    figure = say("challenges.judge_b_challenge.9", r_tokens_per_call=r['tokens_per_call'], n_greedy=len(greedy),
                 v_100_r_accepted_fraction=100 * r['accepted_fraction'], value4=draft_cost)
    bars = say("challenges.bars.sep").join(say("challenges.bar.ge", tier=tier_name(k + 1), t=t)
                                           for k, t in enumerate(B_THRESHOLDS))
    return _verdict(tier, figure, bars)


# ============================================================================================= A-challenge
#: Part A: perplexity increase (%) of the 3-bit teacher over the float teacher on held-out text (lower is better).
A_THRESHOLDS = (25.0, 14.0, 9.0)
A_BITS = 3
A_BUDGET = 3.25          # bits per weight at most, codes and every scale and zero point (16 bits each) counted
A_WINDOWS = 24           # held-out windows of the validation text
A_CHARS = 512            # characters per window


def _a_linears(model: Any) -> dict[str, Any]:
    """The model's Linear layers by name (what the challenge quantizes)."""
    import torch

    return {name: m for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}


def inputs_a_challenge(rng: np.random.Generator) -> dict[str, Any]:
    """Held-out text: the start of 24 random 512-character windows of the validation split (the quantizer never
    sees them; only the judge reads the text)."""
    from lecture_lib import tinylm

    n = len(tinylm.validation_text())
    return {"starts": [int(x) for x in rng.integers(0, n - A_CHARS, A_WINDOWS)]}


def probe_a_challenge(ns: Any, inputs: Any) -> Any:
    import torch

    from lecture_lib import tinylm

    f = get_function(ns, "quantize_teacher")
    torch.set_num_threads(1)
    out = call(f, tinylm.load("teacher"))
    if not isinstance(out, dict):
        return out
    small = {}
    for name, entry in out.items():  # integer codes travel as uint8 when they fit (the judge checks the range)
        if isinstance(entry, (tuple, list)) and entry and isinstance(entry[0], torch.Tensor):
            codes = entry[0].detach()
            if not codes.dtype.is_floating_point and codes.numel() and 0 <= int(codes.min()) and int(codes.max()) < 256:
                codes = codes.to(torch.uint8)
            entry = (codes, *entry[1:])
        small[str(name)] = entry
    return small


def a_dequantize(codes: np.ndarray, scale: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """``w = scale * (codes - zero)`` group by group: codes [out, in], scale and zero [out, in / g] (g = the group
    size, consecutive input columns); scale and zero are rounded to float16 first (that is how they are stored)."""
    out, cols = codes.shape
    g = cols // scale.shape[1]
    s = scale.astype(np.float16).astype(np.float64)
    z = zero.astype(np.float16).astype(np.float64)
    w = (codes.reshape(out, cols // g, g).astype(np.float64) - z[..., None]) * s[..., None]
    return w.reshape(out, cols)


def a_bits_per_weight(shapes: Sequence[tuple[int, int, int]]) -> float:
    """Bits per weight of (out, in, groups per row) layers: 3 per code plus 16 per scale and per zero point."""
    weights = sum(o * i for o, i, _ in shapes)
    return (A_BITS * weights + 2 * 16 * sum(o * g for o, _, g in shapes)) / weights


def a_challenge_score(inputs: Any, weights: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Perplexity of the teacher with ``weights`` put in its Linear layers, and of the float teacher, on the
    held-out windows (geometric mean over windows of equal length = perplexity over all their characters)."""
    import copy

    import torch

    from lecture_lib import tinylm

    text = tinylm.validation_text()
    windows = [text[s:s + A_CHARS] for s in inputs["starts"]]
    teacher = _teacher()
    quantized = copy.deepcopy(teacher)
    for name, m in _a_linears(quantized).items():
        m.weight = torch.nn.Parameter(torch.as_tensor(weights[name], dtype=torch.float32), requires_grad=False)

    def ppl(model: Any) -> float:
        with _OneThread():
            logs = [math.log(tinylm.perplexity(model, w, stride=model.config.block_size)) for w in windows]
        return math.exp(sum(logs) / len(logs))

    base, mine = ppl(teacher), ppl(quantized)
    return {"perplexity": mine, "float": base, "increase_pct": 100 * (mine / base - 1)}


def judge_a_challenge(inputs: Any, result: Any) -> Any:
    if isinstance(result, Raised):
        raise Fail(say("challenges.judge_a_challenge.1", result_message=result.message),
                   say("challenges.judge_a_challenge.2"), status="error")
    if not isinstance(result, dict):
        raise Fail(say("challenges.judge_a_challenge.3", describe_result=describe(result)))
    layers = _a_linears(_teacher())
    missing = [n for n in layers if n not in result]
    if missing:
        raise Fail(say("challenges.judge_a_challenge.4", n_layers=len(layers), join_missing_4=', '.join(missing[:4]),
                       if_len_missing_4_else=' ...' if len(missing) > 4 else ''))
    weights, shapes = {}, []
    for name, m in layers.items():
        entry = result[name]
        if not (isinstance(entry, tuple) and len(entry) == 3 or isinstance(entry, list) and len(entry) == 3):
            raise Fail(say("challenges.judge_a_challenge.5", name=name, describe_entry=describe(entry)))
        codes, scale, zero = (as_array(x, say("challenges.what.part", name=name, what=what))
                              for x, what in zip(entry, ("codes", "scale", "zero")))
        out, cols = m.weight.shape
        if codes.shape != (out, cols) or codes.dtype.kind not in "iu":
            raise Fail(say("challenges.judge_a_challenge.6", name=name, out_cols=(out, cols),
                           describe_entry_0=describe(entry[0])))
        if codes.min() < 0 or codes.max() > 2**A_BITS - 1:
            raise Fail(say("challenges.judge_a_challenge.7", name=name, v_2_a_bits_1=2 ** A_BITS - 1,
                           codes_min=int(codes.min()), codes_max=int(codes.max())),
                       say("challenges.judge_a_challenge.8"))
        if scale.ndim != 2 or scale.shape != zero.shape or scale.shape[0] != out or not 1 <= scale.shape[1] <= cols \
                or cols % scale.shape[1]:
            raise Fail(say("challenges.judge_a_challenge.9", name=name, out=out, cols=cols,
                           describe_entry_1=describe(entry[1]), describe_entry_2=describe(entry[2])))
        if not (np.all(np.abs(scale) < 65504) and np.all(np.abs(zero) < 65504)):  # finite once stored in float16
            raise Fail(say("challenges.judge_a_challenge.10", name=name))
        shapes.append((out, cols, scale.shape[1]))
        weights[name] = a_dequantize(codes, scale, zero)
    bits = a_bits_per_weight(shapes)
    if bits > A_BUDGET + 1e-9:
        raise Fail(say("challenges.judge_a_challenge.11", bits=bits, A_BUDGET=A_BUDGET),
                   say("challenges.judge_a_challenge.12"))
    s = a_challenge_score(inputs, weights)
    tier = tier_of(s["increase_pct"], A_THRESHOLDS)
    figure = say("challenges.judge_a_challenge.13", s_increase_pct=s['increase_pct'], s_perplexity=s['perplexity'],
                 s_float=s['float'], n_inputs_starts=len(inputs['starts']), A_CHARS=A_CHARS, bits=bits)
    bars = say("challenges.bars.sep").join(say("challenges.bar.le_plus_pct", tier=tier_name(k + 1), t=t)
                                           for k, t in enumerate(A_THRESHOLDS))
    if tier == 0:
        raise Fail(say("challenges.judge_a_challenge.14", figure=figure, bars=bars),
                   say("challenges.judge_a_challenge.15"))
    return _verdict(tier, figure, bars)


# ============================================================================================= C-challenge
#: Part C: mean share of the 30-day error budget (%) an incident consumes before the page (lower is better).
C_THRESHOLDS = (4.0, 1.5, 1.0)
C_SLO = 0.999
C_RATE = 10.0            # requests per second
C_MINUTES = 2 * 24 * 60  # two days of one-minute steps
C_TRACES = 12            # incident traces, and as many noise-only traces
C_BLIP_BUDGET = 0.004    # a blip consumes at most 0.4 % of the budget
C_CUTS = 3               # prefixes per trace on which the policy must give the same answers (causality)


def c_budget_share(burn: np.ndarray) -> np.ndarray:
    """Share of the 30-day budget each one-minute step consumes at the given burn rates: burn x 1 min / 30 d."""
    from lecture_lib import slo

    return np.asarray(burn, dtype=np.float64) * slo.MINUTE / slo.SLO_PERIOD


def _c_trace(rng: np.random.Generator, incident: bool) -> dict[str, Any]:
    from lecture_lib import slo

    step = slo.MINUTE
    base = float(rng.uniform(0.0, 1.0)) * (1 - C_SLO)  # burning at most the whole budget over 30 days
    blips = []
    t = float(rng.uniform(360, 600))
    while t < C_MINUTES - 10:
        dur = int(rng.integers(1, 11))
        burn = float(rng.uniform(0.3, 1.0)) * C_BLIP_BUDGET * slo.SLO_PERIOD / (dur * step)
        blips.append((t * step, dur * step, min(1.0, burn * (1 - C_SLO))))
        t += float(rng.uniform(180, 600))
    start = int(rng.integers(C_MINUTES // 2, C_MINUTES - 8 * 60)) if incident else C_MINUTES
    burn = float(np.exp(rng.uniform(np.log(6.0), np.log(200.0)))) if incident else 0.0
    tr = slo.simulate_incident(
        slo=C_SLO, base_error_rate=base, incident_error_rate=burn * (1 - C_SLO) if incident else base,
        incident_start=start * step, incident_duration=(C_MINUTES - start) * step, total_duration=C_MINUTES * step,
        request_rate=C_RATE, step=step, rng=rng, other_incidents=[b for b in blips if not (incident and b[0] >= start * step - 600)])
    return {"requests": tr.requests, "errors": tr.errors, "start": start, "burn": burn}


def inputs_c_challenge(rng: np.random.Generator) -> dict[str, Any]:
    """Held-out traces of per-minute request and error counts at a 99.9 % SLO: short blips (each spending at
    most 0.4 % of the budget) on a background that burns at most 1, and in half of them a sustained incident
    (burn rate 6 .. 200) in the second day. The prefixes are where the policy is asked again."""
    traces = [_c_trace(rng, k < C_TRACES) for k in range(2 * C_TRACES)]
    cuts = [sorted(int(x) for x in rng.integers(60, C_MINUTES, C_CUTS)) for _ in traces]
    return {"traces": traces, "cuts": cuts}


def probe_c_challenge(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "page_policy")
    out = []
    for tr, cuts in zip(inputs["traces"], inputs["cuts"]):
        full = call(f, tr["requests"].copy(), tr["errors"].copy())
        cuts = list(cuts)
        try:  # also ask again up to the first page: a decision that peeked ahead changes there
            first = [k for k, x in enumerate(full) if x]
            if first:
                cuts.append(first[0] + 1)
        except Exception:  # noqa: BLE001 - an unusable result is judged as such
            pass
        prefixes = [(k, call(f, tr["requests"][:k].copy(), tr["errors"][:k].copy())) for k in cuts]
        out.append({"full": full, "prefixes": prefixes})
    return out


def _bool_array(value: Any, n: int, what: str) -> np.ndarray:
    if isinstance(value, Raised):
        raise Fail(say("challenges.bool_array.1", value_message=value.message, what=what), status="error")
    a = np.asarray(plain(value))
    if a.shape != (n,) or a.dtype.kind not in "bui":
        raise Fail(say("challenges.bool_array.2", n=n, what=what, describe_value=describe(value)))
    return a.astype(bool)


def c_challenge_score(inputs: Any, firing: Sequence[np.ndarray]) -> dict[str, Any]:
    """Pages on noise (any page outside an incident), misses, and the mean budget share (%) each incident
    consumed from its start to the page (a missed incident: what it consumed by the end of the trace)."""
    noise_pages = 0
    spent = []
    detect = []
    missed = 0
    for tr, fire in zip(inputs["traces"], firing):
        start = int(tr["start"])
        noise_pages += int(np.any(fire[:start]))
        if start >= C_MINUTES:
            continue
        ratio = tr["errors"] / np.maximum(tr["requests"], 1)
        share = c_budget_share(ratio / (1 - C_SLO))
        after = np.flatnonzero(fire[start:])
        end = start + (int(after[0]) + 1 if after.size else C_MINUTES - start)
        missed += int(after.size == 0)
        spent.append(100.0 * float(share[start:end].sum()))
        detect.append(end - start)
    return {"noise_pages": noise_pages, "missed": missed, "mean_spent": float(np.mean(spent)),
            "median_minutes": float(np.median(detect)), "incidents": len(spent)}


def judge_c_challenge(inputs: Any, result: Any) -> Any:
    firing = []
    for k, (tr, r) in enumerate(zip(inputs["traces"], result)):
        n = len(tr["requests"])
        full = _bool_array(r["full"], n, say("challenges.what.trace", k=k + 1))
        for cut, pre in r["prefixes"]:
            cut = int(cut)
            if not 0 < cut <= n:
                raise Fail(say("challenges.judge_c_challenge.1"))
            p = _bool_array(pre, cut, say("challenges.what.prefix", cut=cut, k=k + 1))
            if not np.array_equal(p, full[:cut]):
                raise Fail(say("challenges.judge_c_challenge.2", cut=cut, k_1=k + 1),
                           say("challenges.judge_c_challenge.3"))
        firing.append(full)
    s = c_challenge_score(inputs, firing)
    if s["noise_pages"]:
        raise Fail(say("challenges.judge_c_challenge.4", s_noise_pages=s['noise_pages'], n_firing=len(firing),
                       v_100_c_blip_budget=100 * C_BLIP_BUDGET),
                   say("challenges.judge_c_challenge.5"))
    tier = tier_of(s["mean_spent"], C_THRESHOLDS)
    missed = say("challenges.judge_c_challenge.missed", missed=s["missed"]) if s["missed"] else ""
    figure = say("challenges.judge_c_challenge.figure", mean_spent=s["mean_spent"], incidents=s["incidents"],
                 median_minutes=s["median_minutes"], missed=missed)
    bars = say("challenges.bars.sep").join(say("challenges.bar.le_pct", tier=tier_name(k + 1), t=t)
                                           for k, t in enumerate(C_THRESHOLDS))
    return _verdict(tier, figure, bars)


#: Wrong answers the tests feed (region number -> code): each must score 0 and diagnose itself.
WRONG_C = """\
requests = np.asarray(requests, dtype=np.float64)
errors = np.asarray(errors, dtype=np.float64)
cr, ce = np.cumsum(requests), np.cumsum(errors)
req5 = cr - np.concatenate([np.zeros(5), cr[:-5]])
err5 = ce - np.concatenate([np.zeros(5), ce[:-5]])
return err5 / np.maximum(req5, 1) / 0.001 >= 14.4
"""
LOOKAHEAD_C = """\
requests = np.asarray(requests, dtype=np.float64)
errors = np.asarray(errors, dtype=np.float64)
k = np.arange(requests.size)
lo, hi = np.maximum(k - 30, 0), np.minimum(k + 30, requests.size)
cr = np.concatenate([[0.0], np.cumsum(requests)])
ce = np.concatenate([[0.0], np.cumsum(errors)])
return (ce[hi] - ce[lo]) / (cr[hi] - cr[lo]) / 0.001 >= 20
"""
WRONG_D = """\
self.turn = getattr(self, "turn", -1) + 1
return self.turn % self.n
"""
ONE_WORKER_D = """\
return 0
"""
EMPTY_B = """\
return []
"""
TEACHER_B = """\
if not _TABLES:
    _TABLES["teacher"] = tinylm.load("teacher")
text = tinylm.generate(_TABLES["teacher"], tinylm.decode(context[-64:]), k)
return tinylm.encode(text)
"""
SYMMETRIC_A = """\
out = {}
for name, module in model.named_modules():
    if isinstance(module, torch.nn.Linear):
        w = module.weight.detach()
        s = w.reshape(w.shape[0], -1, 128).abs().amax(-1) / 3
        codes = torch.round(w / s.repeat_interleave(128, 1)).to(torch.int8)
        out[name] = (codes, s, torch.zeros_like(s))
return out
"""
SHIFTED_SYMMETRIC_A = SYMMETRIC_A.replace(".to(torch.int8)", ".to(torch.int8) + 4").replace(
    "torch.zeros_like(s)", "torch.full_like(s, 4.0)")
SMALL_GROUPS_A = """\
out = {}
for name, module in model.named_modules():
    if isinstance(module, torch.nn.Linear):
        w = module.weight.detach()
        wg = w.reshape(w.shape[0], -1, 32)
        lo, hi = wg.amin(-1).clamp(max=0), wg.amax(-1).clamp(min=0)
        s = ((hi - lo) / 7).clamp(min=1e-8)
        z = torch.round(-lo / s)
        codes = torch.clamp(torch.round(wg / s[..., None]) + z[..., None], 0, 7).reshape(w.shape)
        out[name] = (codes.to(torch.uint8), s, z)
return out
"""
MISTAKES_A = (
    Mistake("symmetric codes -3..3", SYMMETRIC_A, "challenges.judge_a_challenge.8"),
    Mistake("groups of 32", SMALL_GROUPS_A, "challenges.judge_a_challenge.12"),
    Mistake("symmetric grid shifted by 4", SHIFTED_SYMMETRIC_A, "challenges.judge_a_challenge.15"),
)
MISTAKES_B = (
    Mistake("no draft", EMPTY_B, "challenges.judge_b_challenge.6"),
    Mistake("the teacher drafts for itself", TEACHER_B, "challenges.judge_b_challenge.5"),
)
MISTAKES_C = (
    Mistake("one short window", WRONG_C, "challenges.judge_c_challenge.5"),
    Mistake("a centred window (look-ahead)", LOOKAHEAD_C, "challenges.judge_c_challenge.3"),
)
MISTAKES_D = (
    Mistake("round-robin", WRONG_D, "challenges.judge_d_challenge.5", region=1),
    Mistake("always the first worker", ONE_WORKER_D, "challenges.judge_d_challenge.4", region=1),
)

CHALLENGES: Mapping[str, Question] = {
    "A": Question("A-challenge", 3, "challenge: a 3-bit teacher within 3.25 bits per weight",
                  inputs_a_challenge, probe_a_challenge, judge_a_challenge, wrong_answers={0: SHIFTED_SYMMETRIC_A},
                  mistakes=MISTAKES_A, timeout=50.0),
    "B": Question("B-challenge", 3, "challenge: drafts for exact speculative decoding",
                  inputs_b_challenge, probe_b_challenge, judge_b_challenge, wrong_answers={0: EMPTY_B},
                  mistakes=MISTAKES_B, timeout=50.0),
    "C": Question("C-challenge", 3, "challenge: a burn-rate paging policy",
                  inputs_c_challenge, probe_c_challenge, judge_c_challenge, wrong_answers={0: WRONG_C},
                  mistakes=MISTAKES_C, timeout=50.0),
    "D": Question("D-challenge", 3, "challenge: a load balancer for unknown, changing workers",
                  inputs_d_challenge, probe_d_challenge, judge_d_challenge, wrong_answers={1: WRONG_D},
                  mistakes=MISTAKES_D, timeout=50.0),
}
