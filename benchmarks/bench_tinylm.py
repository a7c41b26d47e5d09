"""Greedy decoding speed of the tiny LM: teacher vs student, with and without the KV cache.

Run: python benchmarks/bench_tinylm.py [--tokens 200] [--repeats 5] [--threads 1]

"with cache" is lecture_lib.tinylm.generate (prefill once, then one position per step);
"no cache" is the textbook loop that re-runs the full forward on the whole context for every new token
(the peer every KV-cache explanation compares against). Both produce the same greedy text; the script
checks that before timing. Prints the median of the repeats in tokens/s and the ratios.
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


def tokens_per_second(fn, n: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n / statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    prompt = "The with statement is used to wrap "
    models = {name: tinylm.load(name) for name in ("teacher", "student")}
    rows = {}
    for name, m in models.items():
        assert tinylm.generate(m, prompt, args.tokens) == greedy_no_cache(m, prompt, args.tokens)
        tinylm.generate(m, prompt, 20)  # warm-up
        cached = tokens_per_second(lambda m=m: tinylm.generate(m, prompt, args.tokens), args.tokens, args.repeats)
        plain = tokens_per_second(lambda m=m: greedy_no_cache(m, prompt, args.tokens), args.tokens, args.repeats)
        rows[name] = (tinylm.num_params(m), cached, plain)
    print(f"greedy decoding, {args.tokens} new tokens, prompt {len(prompt)} chars, block_size "
          f"{models['teacher'].config.block_size}, {args.threads} thread(s), median of {args.repeats}")
    print(f"{'model':8} {'params':>9} {'KV cache tok/s':>15} {'no cache tok/s':>15} {'cache speedup':>14}")
    for name, (n, cached, plain) in rows.items():
        print(f"{name:8} {n:9,d} {cached:15.0f} {plain:15.0f} {cached / plain:13.2f}x")
    t, s = rows["teacher"], rows["student"]
    print(f"student / teacher speed per token: with cache {s[1] / t[1]:.2f}x, without cache {s[2] / t[2]:.2f}x; "
          f"teacher / student params {t[0] / s[0]:.1f}x")


if __name__ == "__main__":
    main()
