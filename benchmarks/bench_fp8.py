"""FP8 encode / decode of 16M float32 values: lecture_lib.fp8 vs torch's float8 casts and ml_dtypes.

Run: python benchmarks/bench_fp8.py [--n 16000000] [--repeats 5] [--threads 1]

Ours: ``encode(x, fmt)`` -> uint8 codes and ``decode(codes, fmt)`` -> float32 (float32 input is encoded by
a look-up in a table of the bit-arithmetic encoder's answers, one entry per class of float32 it cannot tell
apart; decode is a 256-entry table look-up).
Peers: torch ``x.to(torch.float8_e4m3fn / float8_e5m2).view(torch.uint8)`` and ``codes.view(dtype).float()``;
ml_dtypes ``x.numpy().astype(ml_dtypes.float8_*)`` and back with ``.astype(numpy.float32)``.
Values are drawn inside the finite range (torch's E4M3 cast saturates, ml_dtypes' does not, ours does by
default), and the script checks that all three give identical codes and values before timing. Prints
medians side by side and the ratios ours / torch and ours / ml_dtypes.
"""

from __future__ import annotations

import argparse

import ml_dtypes
import numpy as np
import torch

from lecture_lib.fp8 import decode, encode

from _timing import interleaved_medians, median_time  # benchmarks/_timing.py

DTYPES = {"e4m3": (torch.float8_e4m3fn, ml_dtypes.float8_e4m3fn), "e5m2": (torch.float8_e5m2, ml_dtypes.float8_e5m2)}


def summary(quick: bool = True) -> list[dict]:
    """Rows for ``benchmarks/run_all.py``: encode and decode of each format, ours / torch's cast (medians),
    after checking that the codes and values are identical. Goal (encode): <= 3x torch's time."""
    n = 4_000_000 if quick else 16_000_000
    gen = torch.Generator().manual_seed(0)
    rows = []
    for fmt, (dt, _) in DTYPES.items():
        fmax = torch.finfo(dt).max
        x = (torch.rand(n, generator=gen) * 2 - 1) * fmax * torch.exp2(-torch.rand(n, generator=gen) * 20)
        codes = encode(x, fmt)
        assert torch.equal(codes, x.to(dt).view(torch.uint8)), "codes differ from torch's cast"
        assert torch.equal(decode(codes, fmt), codes.view(dt).float()), "values differ from torch's cast"
        for op, ours, peer, goal in (
            ("encode", lambda: encode(x, fmt), lambda: x.to(dt).view(torch.uint8), "<= 3"),
            ("decode", lambda: decode(codes, fmt), lambda: codes.view(dt).float(), "-"),
        ):
            t_o, t_p = interleaved_medians(ours, peer, 7)
            rows.append({"benchmark": f"fp8 {fmt} {op} {n / 1e6:g}M / torch cast", "ours": f"{t_o * 1e3:.1f} ms",
                         "peer": f"{t_p * 1e3:.1f} ms", "ratio": t_o / t_p, "goal": goal})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    print(f"{args.n:,} float32 values, threads={args.threads} (medians of {args.repeats} runs)")
    print(
        f"{'fmt':<6}{'op':<8}{'lecture_lib.fp8':>17}{'torch cast':>14}{'ml_dtypes':>14}"
        f"{'ours/torch':>12}{'ours/ml_dtypes':>16}"
    )
    for fmt, (dt, mdt) in DTYPES.items():
        fmax = torch.finfo(dt).max
        x = (torch.rand(args.n, generator=gen) * 2 - 1) * fmax * torch.exp2(-torch.rand(args.n, generator=gen) * 20)
        xn = x.numpy()
        codes = encode(x, fmt)
        cn = codes.numpy()
        assert torch.equal(codes, x.to(dt).view(torch.uint8)), "codes differ from torch's cast"
        assert np.array_equal(cn, xn.astype(mdt).view(np.uint8)), "codes differ from ml_dtypes"
        values = decode(codes, fmt)
        assert torch.equal(values, codes.view(dt).float()), "values differ from torch's cast"
        assert np.array_equal(values.numpy(), cn.view(mdt).astype(np.float32)), "values differ from ml_dtypes"
        for op, ours, peer_t, peer_m in (
            ("encode", lambda: encode(x, fmt), lambda: x.to(dt).view(torch.uint8), lambda: xn.astype(mdt)),
            ("decode", lambda: decode(codes, fmt), lambda: codes.view(dt).float(), lambda: cn.view(mdt).astype(np.float32)),
        ):
            t_o, t_t, t_m = (median_time(f, args.repeats) for f in (ours, peer_t, peer_m))
            print(
                f"{fmt:<6}{op:<8}{t_o * 1e3:>14.2f} ms{t_t * 1e3:>11.2f} ms{t_m * 1e3:>11.2f} ms"
                f"{t_o / t_t:>11.2f}x{t_o / t_m:>15.2f}x"
            )


if __name__ == "__main__":
    main()
