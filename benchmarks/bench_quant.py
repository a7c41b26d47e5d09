"""Per-channel INT8 quantize + dequantize and INT4 group-128 quantize + pack of a 4096 x 4096 weight vs PyTorch.

Run: python benchmarks/bench_quant.py [--size 4096] [--repeats 5] [--threads 1]

Ours: ``dequantize(quantize(W, 8, axis=0))`` (plain tensor ops, symmetric, s = amax/127 per output row).
Peer: ``torch.quantize_per_channel(W, s, 0, axis=0, dtype=torch.qint8).dequantize()`` with the same scales
computed the same way (the peer's fused C++ kernel; torch 2.13 marks these quantized-tensor functions
deprecated, the warning is silenced here). The script first checks that both give the same codes (up to a
handful of near-ties), then prints the median time of each phase side by side and the ratio ours / peer.

Second table, INT4 group-wise (symmetric, codes -7..7, one scale per 128 consecutive inputs of a row):
ours ``pack_int4(quantize(W, 4, group_size=128).codes)``; peer torch's reference op
``torch.ops.quantized_decomposed.quantize_per_channel_group`` (from ``torch.ao.quantization.fx._decomposed``,
used by torch's export-based quantization flow) with the same scales, followed by the same two-per-byte
nibble packing written in plain torch (``lo | hi << 4``). Codes and packed bytes are compared first.
"""

from __future__ import annotations

import argparse
import warnings

import torch

import torch.ao.quantization.fx._decomposed  # noqa: F401  (registers torch.ops.quantized_decomposed)

from lecture_lib.quant import dequantize, pack_int4, quantize

from _timing import median_time  # benchmarks/_timing.py


def peer_quantize(w: torch.Tensor) -> torch.Tensor:
    scale = w.abs().amax(dim=1) / 127
    scale = torch.where(scale > 0, scale, torch.ones_like(scale)).double()
    zp = torch.zeros(w.shape[0], dtype=torch.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.quantize_per_channel(w, scale, zp, axis=0, dtype=torch.qint8)


def peer_int4_group(w: torch.Tensor, group: int) -> tuple[torch.Tensor, torch.Tensor]:
    """INT4 codes (int8 holding -7..7) by torch's decomposed group op, and the packed bytes (plain torch)."""
    amax = w.reshape(-1, group).abs().amax(dim=1)
    scale = torch.where(amax > 0, amax / 7, torch.ones_like(amax))
    zp = torch.zeros_like(scale, dtype=torch.int32)
    q = torch.ops.quantized_decomposed.quantize_per_channel_group(w, scale, zp, -7, 7, torch.int8, group)
    nib = (q.reshape(-1) & 0xF).to(torch.uint8)
    return q, nib[0::2] | (nib[1::2] << 4)


def ours_int4_group(w: torch.Tensor, group: int) -> torch.Tensor:
    return pack_int4(quantize(w, 4, group_size=group).codes)


def summary(quick: bool = True) -> list[dict]:
    """Rows for ``benchmarks/run_all.py``: per-channel INT8 quantize+dequantize (goal <= 1.5x torch) and INT4
    group-128 quantize+pack, ours / peer (medians)."""
    size = 2048 if quick else 4096
    w = torch.randn(size, size, generator=torch.Generator().manual_seed(0)) * 0.02
    t_o = median_time(lambda: dequantize(quantize(w, 8, axis=0)), 5)
    t_p = median_time(lambda: peer_quantize(w).dequantize(), 5)
    t_o4 = median_time(lambda: ours_int4_group(w, 128), 5)
    t_p4 = median_time(lambda: peer_int4_group(w, 128), 5)
    return [
        {"benchmark": f"INT8 per-channel quant+dequant {size}^2 / torch", "ours": f"{t_o * 1e3:.1f} ms",
         "peer": f"{t_p * 1e3:.1f} ms", "ratio": t_o / t_p, "goal": "<= 1.5"},
        {"benchmark": f"INT4 group-128 quant+pack {size}^2 / decomposed op", "ours": f"{t_o4 * 1e3:.1f} ms",
         "peer": f"{t_p4 * 1e3:.1f} ms", "ratio": t_o4 / t_p4, "goal": "-"},
    ]


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

    group = 128
    ours_codes = quantize(w, 4, group_size=group).codes
    peer_codes, peer_packed = peer_int4_group(w, group)
    diff = (ours_codes.to(torch.int16) - peer_codes.to(torch.int16)).abs()
    n_diff, max_diff = int((diff != 0).sum()), int(diff.max())
    assert max_diff <= 1 and n_diff < 1e-4 * w.numel(), "INT4 codes disagree beyond near-tie rounding"
    ours_packed = ours_int4_group(w, group)
    assert ours_packed.shape == peer_packed.shape
    print()
    print(f"INT4 group-wise (group_size={group}, symmetric -7..7) quantize + pack two codes per byte")
    print(
        f"codes that differ: {n_diff} of {w.numel():,} (max |diff| {max_diff}); "
        f"packed bytes that differ: {int((ours_packed != peer_packed).sum())} of {ours_packed.numel():,}"
    )
    peer_name = "quantized_decomposed + pack"
    print(f"{'phase':<12}{'lecture_lib.quant':>20}{peer_name:>30}{'ratio ours/peer':>18}")
    t_ours = median_time(lambda: ours_int4_group(w, group), args.repeats)
    t_peer = median_time(lambda: peer_int4_group(w, group), args.repeats)
    print(f"{'quant+pack':<12}{t_ours * 1e3:>17.1f} ms{t_peer * 1e3:>27.1f} ms{t_ours / t_peer:>17.2f}x")


if __name__ == "__main__":
    main()
