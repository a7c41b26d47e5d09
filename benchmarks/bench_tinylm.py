"""Greedy decoding speed of the tiny LM: teacher vs student, with and without the KV cache.

Run: python benchmarks/bench_tinylm.py [--tokens 200] [--repeats 5] [--threads 1]

"with cache" is lecture_lib.tinylm.generate (prefill once, then one position per step);
"no cache" is the textbook loop that re-runs the full forward on the whole context for every new token
(the peer every KV-cache explanation compares against). Both produce the same greedy text; the script
checks that before timing. Prints the median of interleaved repeats in tokens/s and the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lecture_lib import tinylm


def greedy_no_cache(model: tinylm.TinyGPT, prompt: str, n: int) -> str:
    """Greedy decoding without a cache: full forward over the (window-limited) context per token."""
    bs = model.config.block_size
    hist = tinylm.encode(prompt)
    start = max(0, len(hist) - bs)
    out = []
    with torch.no_grad():
        for _ in range(n):
            if len(hist) - start > bs:  # same sliding policy as generate()
                start = len(hist) - bs // 2
            nxt = int(model(torch.tensor([hist[start:]]))[0, -1].argmax())
            out.append(nxt)
            hist.append(nxt)
    return tinylm.decode(out)


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def summary(quick: bool = True) -> list[dict]:
    """Rows for ``benchmarks/run_all.py``: student / teacher time per token with the KV cache (goal: the student
    >= 4x faster, ratio <= 0.25) and cached / uncached teacher decoding (medians of interleaved runs)."""
    n, repeats = (100, 3) if quick else (200, 5)
    prompt = "The with statement is used to wrap "
    teacher, student = tinylm.load("teacher"), tinylm.load("student")
    runs = {"teacher": lambda: tinylm.generate(teacher, prompt, n), "student": lambda: tinylm.generate(student, prompt, n),
            "teacher no cache": lambda: greedy_no_cache(teacher, prompt, n)}
    times = {key: [] for key in runs}
    for _ in range(repeats):
        for key, fn in runs.items():
            times[key].append(timed(fn)[0])
    med = {key: statistics.median(ts) for key, ts in times.items()}
    return [
        {"benchmark": "tiny LM per token: student / teacher (KV cache)", "ours": f"{med['student'] / n * 1e3:.2f} ms",
         "peer": f"{med['teacher'] / n * 1e3:.2f} ms", "ratio": med["student"] / med["teacher"], "goal": "<= 0.25"},
        {"benchmark": "teacher per token: KV cache / no cache", "ours": f"{med['teacher'] / n * 1e3:.2f} ms",
         "peer": f"{med['teacher no cache'] / n * 1e3:.2f} ms", "ratio": med["teacher"] / med["teacher no cache"],
         "goal": "-"},
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    prompt = "The with statement is used to wrap "
    models = {name: tinylm.load(name) for name in ("teacher", "student")}
    runs = {}
    for name, m in models.items():
        assert tinylm.generate(m, prompt, args.tokens) == greedy_no_cache(m, prompt, args.tokens)
        runs[(name, "cache")] = lambda m=m: tinylm.generate(m, prompt, args.tokens)
        runs[(name, "plain")] = lambda m=m: greedy_no_cache(m, prompt, args.tokens)
    times = {key: [] for key in runs}
    for _ in range(args.repeats):  # interleaved, so a change in machine load hits every variant alike
        for key, fn in runs.items():
            times[key].append(timed(fn))
    med = {key: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts)) for key, ts in times.items()}
    tps = {key: (args.tokens / w, args.tokens / c) for key, (w, c) in med.items()}
    print(f"greedy decoding, {args.tokens} new tokens, prompt {len(prompt)} chars, block_size "
          f"{models['teacher'].config.block_size}, {args.threads} thread(s), median of {args.repeats} interleaved runs")
    print("tokens/s by wall clock (and by this process's CPU time, which ignores time lost to other jobs)")
    print(f"{'model':8} {'params':>9} {'KV cache tok/s':>22} {'no cache tok/s':>22} {'cache speedup':>14}")
    for name in models:
        (cw, cc), (pw, pc) = tps[(name, "cache")], tps[(name, "plain")]
        print(f"{name:8} {tinylm.num_params(models[name]):9,d} {cw:9.0f} (cpu {cc:6.0f}) {pw:9.0f} (cpu {pc:6.0f}) "
              f"{cw / pw:13.2f}x")
    for mode, label in (("cache", "with KV cache"), ("plain", "without cache")):
        (sw, sc), (tw, tc) = tps[("student", mode)], tps[("teacher", mode)]
        print(f"student / teacher speed per token {label}: {sw / tw:.2f}x wall, {sc / tc:.2f}x CPU")
    print(f"teacher / student parameters: "
          f"{tinylm.num_params(models['teacher']) / tinylm.num_params(models['student']):.1f}x")


if __name__ == "__main__":
    main()
