"""Speculative decoding of the tiny LM's teacher vs plain decoding of the same teacher, side by side.

Run: python benchmarks/bench_speculative.py [--tokens 200] [--prompts 3] [--k 1,2,3,4,6,8]
                                             [--temperatures 0] [--repeats 3] [--threads 1]

Peer: ``lecture_lib.tinylm.generate(teacher, prompt, n, temperature=T)`` (plain KV-cached decoding, one
target call per token). Ours: ``lecture_lib.speculative.speculative_generate(teacher, draft, ...)`` with
draft = the student (1 layer) and draft = the teacher itself with INT4 weights (group 32) and an INT4 KV
cache (QuantSpec-style). For every (draft, k, T) it prints wall-clock tokens/s of both, their ratio
(the speedup), the acceptance rate alpha, tokens per target call next to (1 - alpha^(k+1)) / (1 - alpha),
and the speedup the model (1 - alpha^(k+1)) / ((1 - alpha)(k c + 1)) predicts from the measured alpha and
the measured draft cost c (one cached 1-token forward of the draft / of the target).
At T = 0 it also checks that the speculative text equals plain greedy decoding character for character.
Times are the best of ``--repeats`` runs (each over all prompts; plain and speculative runs alternate), the
least disturbed by other processes on a shared machine. alpha = accepted / verified draft tokens.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lecture_lib import tinylm
from lecture_lib.speculative import expected_speedup, expected_tokens_per_step, quantspec_draft, speculative_generate


def forward_cost(model, context: int = 64, new: int = 1, steps: int = 40, repeats: int = 5) -> float:
    """Best-of-``repeats`` seconds of one cached forward of ``new`` tokens after ``context`` cached positions."""
    times = []
    with torch.no_grad():
        for _ in range(repeats):
            cache = model.new_cache(1)
            model(torch.zeros((1, context), dtype=torch.long), cache=cache)
            t0 = time.perf_counter()
            for _ in range(steps):
                model(torch.zeros((1, new), dtype=torch.long), cache=cache)
                cache.truncate(context)
            times.append((time.perf_counter() - t0) / steps)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=200, help="new characters per prompt")
    ap.add_argument("--prompts", type=int, default=3, help="prompts taken from the validation text")
    ap.add_argument("--k", default="1,2,3,4,6,8", help="draft lengths, comma separated")
    ap.add_argument("--temperatures", default="0", help="e.g. 0,0.7,1.0")
    ap.add_argument("--drafts", default="student,int4-self")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ks = [int(v) for v in args.k.split(",")]
    temps = [float(v) for v in args.temperatures.split(",")]

    teacher = tinylm.load("teacher")
    drafts = {}
    for name in args.drafts.split(","):
        if name == "student":
            drafts[name] = tinylm.load("student")
        elif name == "int4-self":
            drafts[name] = quantspec_draft(teacher, weight_bits=4, group_size=32, kv_format="int4")
        else:
            raise SystemExit(f"--drafts: unknown draft {name!r}; use student and/or int4-self")
    val = tinylm.validation_text()
    step = len(val) // (args.prompts + 1)
    prompts = [val[(i + 1) * step : (i + 1) * step + 48] for i in range(args.prompts)]

    t_target = forward_cost(teacher)
    # a QuantSpecDraft's new_cache() uses its INT4 KV storage, so this times the draft as it is used
    costs = {name: forward_cost(d) / t_target for name, d in drafts.items()}
    # a verify call scores k+1 positions at once: on a CPU it costs more than one 1-token call
    verify_cost = {k: forward_cost(teacher, new=k + 1) / t_target for k in ks}
    n_params = {"teacher": tinylm.num_params(teacher), "student": tinylm.num_params(drafts.get("student", teacher))}
    print(f"teacher {n_params['teacher']:,} params; student {n_params['student']:,} params; threads={args.threads}")
    print(f"one cached 1-token forward: teacher {t_target * 1e3:.2f} ms; draft cost c = "
          + ", ".join(f"{n} {c:.2f}" for n, c in costs.items()))
    print("one verify call of k+1 tokens, in 1-token target calls: "
          + ", ".join(f"k={k} {v:.2f}" for k, v in verify_cost.items()))
    print(f"{len(prompts)} prompts x {args.tokens} new characters; best of {args.repeats} repeats")
    print("pred. speedup: (1 - a^(k+1)) / ((1 - a)(k c + 1)); with verify cost: k c + v_k instead of k c + 1\n")

    header = (f"{'draft':<10}{'T':>4}{'k':>3}{'plain tok/s':>13}{'spec tok/s':>12}{'speedup':>9}"
              f"{'alpha':>7}{'tok/call':>9}{'formula':>9}{'pred. speedup':>14}{'w/ verify cost':>15}{'greedy==':>9}")
    for T in temps:
        print(header)
        for name, d in drafts.items():
            for k in ks:
                plain_t, spec_t, stats_all, same = [], [], [], True
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    plain = [tinylm.generate(teacher, p, args.tokens, temperature=T, seed=i) for i, p in enumerate(prompts)]
                    plain_t.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    runs = [speculative_generate(teacher, d, p, args.tokens, k=k, temperature=T, seed=i)
                            for i, p in enumerate(prompts)]
                    spec_t.append(time.perf_counter() - t0)
                    stats_all = [s for _, s in runs]
                    if T == 0:
                        same = same and all(text == ref for (text, _), ref in zip(runs, plain))
                n_tok = args.tokens * len(prompts)
                accepted = sum(s["accepted"] for s in stats_all)
                acc = accepted / max(1, accepted + sum(s["rejected"] for s in stats_all))  # per verified token
                calls = sum(s["target_calls"] for s in stats_all)
                plain_rate = n_tok / min(plain_t)
                spec_rate = n_tok / min(spec_t)
                print(f"{name:<10}{T:>4.1f}{k:>3}{plain_rate:>13.0f}{spec_rate:>12.0f}{spec_rate / plain_rate:>8.2f}x"
                      f"{acc:>7.3f}{n_tok / calls:>9.2f}{expected_tokens_per_step(acc, k):>9.2f}"
                      f"{expected_speedup(acc, k, costs[name]):>13.2f}x"
                      f"{expected_tokens_per_step(acc, k) / (k * costs[name] + verify_cost[k]):>14.2f}x"
                      f"{('yes' if same else 'NO') if T == 0 else '-':>9}")
        print()


if __name__ == "__main__":
    main()
