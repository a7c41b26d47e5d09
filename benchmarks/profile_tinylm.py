"""Where a cached forward call of the tiny LM spends its time: a 1-token decoding step vs a (k+1)-token verify call.

Run: python benchmarks/profile_tinylm.py [--model teacher] [--k 4] [--context 64] [--calls 300] [--threads 1]

Two views, both measured in this process's CPU time (one thread), which other processes on a shared machine
inflate less than wall time:

1. Per operation (``torch.profiler``, self time per call, the two call sizes alternating so that a change in
   machine load hits both): matrix multiplies, attention, GELU, layer norms, KV-cache copies and the rest
   (views, slicing, allocation), and the Python between the operations (the call's total minus the operations).
   The profiler times events by the wall clock and adds its own cost per operation, so the absolute numbers are
   larger than without it (much larger on a busy machine); the shares and the two columns are comparable.
2. Fixed cost vs per-layer cost: the same model cut to its first 1, 2, ..., n_layer blocks, timed without the
   profiler; a least-squares line through (layers, time) gives the cost of one layer and the fixed cost of a call
   (embeddings, final norm, output head, argument checks). It explains the draft cost c of a one-layer student:
   c = (fixed + one student layer) / (fixed + n_layer teacher layers).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import time

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from lecture_lib import tinylm

GROUPS = (("matmul", ("addmm", "aten::mm", "aten::linear")), ("attention", ("scaled_dot_product", "_flash_attention")),
          ("gelu", ("gelu",)), ("layer norm", ("layer_norm",)), ("KV cache copy", ("copy_",)),
          ("embedding", ("embedding", "index_select")))


def _group(key: str) -> str:
    for name, parts in GROUPS:
        if any(p in key for p in parts):
            return name
    return "views, slicing, allocation"


def call_seconds(model, t: int, *, context: int, calls: int, rounds: int = 15) -> float:
    """Low-quantile CPU seconds of one cached forward of t tokens after ``context`` cached positions."""
    with torch.no_grad():
        cache = model.new_cache(1)
        model(torch.zeros((1, context), dtype=torch.long), cache=cache)
        x = torch.zeros((1, t), dtype=torch.long)
        per = []
        for _ in range(rounds):
            c0 = time.thread_time()
            for _ in range(calls // rounds + 1):
                model(x, cache=cache)
                cache.truncate(context)
            per.append((time.thread_time() - c0) / (calls // rounds + 1))
    return float(np.quantile(per, 0.2))


def op_profile(model, sizes: tuple[int, ...], *, context: int, calls: int, rounds: int = 6) -> dict[int, dict[str, float]]:
    """Self CPU microseconds per call by operation group for each call size (one profiler session per size and
    round, the sizes alternating), plus "Python between operations" (CPU time of the calls minus the operations)."""
    out = {t: {} for t in sizes}
    totals = dict.fromkeys(sizes, 0.0)
    per_round = max(1, calls // rounds)
    with torch.no_grad():
        cache = model.new_cache(1)
        model(torch.zeros((1, context), dtype=torch.long), cache=cache)
        xs = {t: torch.zeros((1, t), dtype=torch.long) for t in sizes}
        for _ in range(20):
            for t in sizes:
                model(xs[t], cache=cache)
                cache.truncate(context)
        for _ in range(rounds):
            for t in sizes:
                with profile(activities=[ProfilerActivity.CPU]) as prof:
                    c0 = time.perf_counter()
                    for _ in range(per_round):
                        model(xs[t], cache=cache)
                        cache.truncate(context)
                    totals[t] += time.perf_counter() - c0
                for e in prof.key_averages():
                    if e.key.startswith("aten::") and "truncate" not in e.key:
                        g = _group(e.key)
                        out[t][g] = out[t].get(g, 0.0) + e.self_cpu_time_total / (per_round * rounds)
    for t in sizes:
        total = totals[t] / (per_round * rounds) * 1e6
        out[t]["Python between operations"] = max(0.0, total - sum(out[t].values()))
        out[t]["total"] = total
    return out


def layer_fit(model, t: int, *, context: int, calls: int) -> tuple[float, float, list[float]]:
    """(fixed seconds, seconds per layer, the times) of a t-token call, from the model cut to 1..n_layer blocks."""
    n = len(model.blocks)
    xs, ys = [], []
    for layers in range(1, n + 1):
        m = copy.deepcopy(model)
        m.blocks = torch.nn.ModuleList(list(m.blocks)[:layers])
        m.config = dataclasses.replace(m.config, n_layer=layers)
        xs.append(layers)
        ys.append(call_seconds(m, t, context=context, calls=calls))
    slope, intercept = np.polyfit(xs, ys, 1)
    return float(intercept), float(slope), ys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="teacher", choices=tinylm.MODEL_NAMES)
    ap.add_argument("--k", type=int, default=4, help="draft tokens: the verify call has k + 1 positions")
    ap.add_argument("--context", type=int, default=64, help="cached positions before the call")
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = tinylm.load(args.model)
    sizes = (1, args.k + 1)
    prof = op_profile(model, sizes, context=args.context, calls=args.calls)
    print(f"{args.model} ({len(model.blocks)} layers, d={model.config.n_embd}), cached call after {args.context} "
          f"positions; threads={args.threads}, ATen {torch.backends.cpu.get_cpu_capability()}")
    print("\n1. self CPU time per call by operation (torch.profiler; includes the profiler's own overhead), us")
    names = [g for g, _ in GROUPS] + ["views, slicing, allocation", "Python between operations", "total"]
    print(f"{'':28}{'1 token':>10}{'share':>7}{f'{sizes[1]} tokens':>11}{'share':>7}{'extra':>9}")
    for g in names:
        a, b = prof[1].get(g, 0.0), prof[sizes[1]].get(g, 0.0)
        print(f"{g:28}{a:10.1f}{100 * a / prof[1]['total']:6.0f}%{b:11.1f}{100 * b / prof[sizes[1]]['total']:6.0f}%"
              f"{b - a:+9.1f}")
    print(f"verify / 1-token call under the profiler: {prof[sizes[1]]['total'] / prof[1]['total']:.3f}")
    print("\n2. fixed cost + cost per layer (no profiler; CPU time of the model cut to 1..n_layer blocks, least squares), us")
    for t in sizes:
        fixed, per, ys = layer_fit(model, t, context=args.context, calls=args.calls)
        print(f"{t} token(s): fixed {fixed * 1e6:7.1f} + {per * 1e6:6.1f} per layer   (measured: "
              + ", ".join(f"{i + 1}: {y * 1e6:.0f}" for i, y in enumerate(ys)) + ")")
    one = {n: call_seconds(tinylm.load(n), 1, context=args.context, calls=args.calls) for n in ("teacher", "student")}
    ver = call_seconds(tinylm.load("teacher"), sizes[1], context=args.context, calls=args.calls)
    print(f"\nteacher 1-token call {one['teacher'] * 1e6:.0f} us, {sizes[1]}-token call {ver * 1e6:.0f} us "
          f"(v_{args.k} = {ver / one['teacher']:.3f}); student 1-token call {one['student'] * 1e6:.0f} us "
          f"(c = {one['student'] / one['teacher']:.3f})")


if __name__ == "__main__":
    main()
