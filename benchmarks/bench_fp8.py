"""FP8 encode / decode of 1M float32 values: lecture_lib.fp8 (bit arithmetic in tensor ops) vs torch casts.

Run: python benchmarks/bench_fp8.py [--n 1000000] [--repeats 5] [--threads 1]

Ours: ``encode(x, fmt)`` -> uint8 codes and ``decode(codes, fmt)`` -> float32.
Peer: ``x.to(torch.float8_e4m3fn / float8_e5m2).view(torch.uint8)`` and ``codes.view(dtype).float()``.
Values are drawn inside the finite range (torch's E4M3 cast saturates, ours does too by default), and the
script checks that both give identical codes before timing. Prints medians side by side and the ratio.
"""

from __future__ import annotations

import argparse

import torch

from lecture_lib.fp8 import decode, encode

from _timing import median_time  # benchmarks/_timing.py

DTYPES = {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    print(f"{args.n:,} float32 values, threads={args.threads}")
    print(f"{'fmt':<6}{'op':<8}{'lecture_lib.fp8':>18}{'torch cast':>16}{'ratio ours/peer':>18}")
    for fmt, dt in DTYPES.items():
        fmax = torch.finfo(dt).max
        x = (torch.rand(args.n, generator=gen) * 2 - 1) * fmax * torch.exp2(-torch.rand(args.n, generator=gen) * 20)
        codes = encode(x, fmt)
        assert torch.equal(codes, x.to(dt).view(torch.uint8)), "codes differ from torch's cast"
        assert torch.equal(decode(codes, fmt), codes.view(dt).float()), "values differ from torch's cast"
        for op, ours, peer in (
            ("encode", lambda: encode(x, fmt), lambda: x.to(dt).view(torch.uint8)),
            ("decode", lambda: decode(codes, fmt), lambda: codes.view(dt).float()),
        ):
            t_ours, t_peer = median_time(ours, args.repeats), median_time(peer, args.repeats)
            print(f"{fmt:<6}{op:<8}{t_ours * 1e3:>15.2f} ms{t_peer * 1e3:>13.2f} ms{t_ours / t_peer:>17.1f}x")


if __name__ == "__main__":
    main()
