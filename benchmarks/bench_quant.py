"""Per-channel INT8 quantize + dequantize of a 4096 x 4096 weight: lecture_lib.quant vs PyTorch.

Run: python benchmarks/bench_quant.py [--size 4096] [--repeats 5] [--threads 1]

Ours: ``dequantize(quantize(W, 8, axis=0))`` (plain tensor ops, symmetric, s = amax/127 per output row).
Peer: ``torch.quantize_per_channel(W, s, 0, axis=0, dtype=torch.qint8).dequantize()`` with the same scales
computed the same way (the peer's fused C++ kernel; torch 2.13 marks these quantized-tensor functions
deprecated, the warning is silenced here). The script first checks that both give the same codes (up to a
handful of near-ties), then prints the median time of each phase side by side and the ratio ours / peer.
"""

from __future__ import annotations

import argparse
import warnings

import torch

from lecture_lib.quant import dequantize, quantize

from _timing import median_time  # benchmarks/_timing.py


def peer_quantize(w: torch.Tensor) -> torch.Tensor:
    scale = w.abs().amax(dim=1) / 127
    scale = torch.where(scale > 0, scale, torch.ones_like(scale)).double()
    zp = torch.zeros(w.shape[0], dtype=torch.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.quantize_per_channel(w, scale, zp, axis=0, dtype=torch.qint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w = torch.randn(args.size, args.size, generator=torch.Generator().manual_seed(0)) * 0.02

    ours_q = quantize(w, 8, axis=0)
    peer_q = peer_quantize(w)
    diff = (ours_q.codes.to(torch.int16) - peer_q.int_repr().to(torch.int16)).abs()
    n_diff, max_diff = int((diff != 0).sum()), int(diff.max())
    assert max_diff <= 1 and n_diff < 1e-4 * w.numel(), "results disagree beyond near-tie rounding"
    print(f"W: {args.size}x{args.size} float32, per-channel symmetric INT8, threads={args.threads}")
    print(
        f"codes that differ: {n_diff} of {w.numel():,} (max |diff| {max_diff}); torch multiplies by 1/s, "
        "we divide by s, so values within an ulp of a rounding tie can land on the neighbouring code"
    )

    rows = [
        ("quantize", lambda: quantize(w, 8, axis=0), lambda: peer_quantize(w)),
        ("dequantize", lambda: dequantize(ours_q), lambda: peer_q.dequantize()),
        ("both", lambda: dequantize(quantize(w, 8, axis=0)), lambda: peer_quantize(w).dequantize()),
    ]
    print(f"{'phase':<12}{'lecture_lib.quant':>20}{'torch.quantize_per_channel':>30}{'ratio ours/peer':>18}")
    for name, ours, peer in rows:
        t_ours, t_peer = median_time(ours, args.repeats), median_time(peer, args.repeats)
        print(f"{name:<12}{t_ours * 1e3:>17.1f} ms{t_peer * 1e3:>27.1f} ms{t_ours / t_peer:>17.2f}x")


if __name__ == "__main__":
    main()
