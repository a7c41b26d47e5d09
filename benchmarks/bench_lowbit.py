"""Packed INT8 / INT4 matrix-vector products on CPU vs float32, from the tiny LM's 512 x 128 to 4096 x 11008.

Run: python benchmarks/bench_lowbit.py [--quick] [--repeats 7] [--threads 1] [--record]

Ours: three low-bit kernels of torch's CPU build, fed by ``lecture_lib.lowbit`` (codes from
``lecture_lib.quant.quantize``): ``aten._weight_int8pack_mm`` (INT8 weight-only, per-row scales) and
``aten._weight_int4pack_mm_for_cpu`` (INT4 weight-only, group 32, asymmetric), each with float32 and with
bfloat16 activations, and fbgemm's dynamic INT8 linear (``torch.ao.quantization.quantize_dynamic``: the activation
is quantized too). Peer: float32 ``F.linear`` (bfloat16 ``F.linear`` is shown too).
One call is ``x[1, in] @ W^T`` (one decoding step of one layer); times are medians of interleaved samples of CPU
time (``lecture_lib.experiments.partA.lowbit_timings``). The table prints each kernel's speed-up over float32
(t_fp32 / t_kernel) beside the bandwidth-bound speed-up (float32 bytes / packed bytes).
``--record`` also writes the table, with the CPU's name, to ``lecture_lib/experiments/data/partA_lowbit.json``
(the recorded table Part A shows).
"""

from __future__ import annotations

import argparse

import pandas as pd
import torch

from lecture_lib.experiments import partA as E

QUICK_SIZES = ((128, 512), (1024, 1024), (4096, 4096))


def summary(quick: bool = True) -> list[dict]:
    """Rows for ``benchmarks/run_all.py``: each packed kernel's time / float32's at the tiny LM's 128 x 512 and at
    4096 x 4096 (16.8 M weights: far beyond the caches). Goal: with bfloat16 activations the INT8 and INT4
    weight-only kernels at least 2x faster than float32 at 4096 x 4096 (the bandwidth bound allows 4x and 5.3x)."""
    sizes = ((128, 512), (4096, 4096)) if quick else ((128, 512), (4096, 4096), (4096, 11008))
    df = E.lowbit_timings(sizes, repeats=5 if quick else 7)
    t = df.pivot_table(index=["out", "in"], columns="kernel", values="us", sort=False)
    rows = []
    for (n, k), r in t.iterrows():
        for name in E.LOWBIT_KERNELS[2:]:
            good = n * k >= 4096 * 4096 and name.endswith("bf16 act")
            rows.append({"benchmark": f"{name} matvec {n}x{k} / fp32", "ours": f"{r[name]:.0f} us",
                         "peer": f"{r['fp32']:.0f} us", "ratio": r[name] / r["fp32"], "goal": "<= 0.5" if good else "-"})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"only the sizes {QUICK_SIZES}")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1, help="torch threads outside the timed kernels (they use 1)")
    ap.add_argument("--record", action="store_true", help="write the table to the file Part A shows")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sizes = QUICK_SIZES if args.quick else E.LOWBIT_SIZES
    print(f"CPU: {E.cpu_name()}; ATen capability {torch.backends.cpu.get_cpu_capability()}; "
          f"torch {torch.__version__}; quantized engine {torch.backends.quantized.engine}; one thread")
    print("numerics (relative max error vs the float64 product with the weight each kernel stands for):")
    print(E.lowbit_numerics().to_string(float_format=lambda v: f"{v:.1e}"))
    if args.record:
        E.record_lowbit(sizes=sizes, repeats=args.repeats)
        print(f"recorded to {E.LOWBIT_PATH}")
        df = E.load_lowbit()[1]
    else:
        df = E.lowbit_timings(sizes, repeats=args.repeats)
    pd.set_option("display.width", 250)
    print("\ntime per x[1, in] @ W^T (median CPU us):")
    print(df.pivot_table(index=["out", "in"], columns="kernel", values="us", sort=False)[list(E.LOWBIT_KERNELS)]
          .to_string(float_format=lambda v: f"{v:.0f}"))
    print("\nspeed-up over float32 F.linear (t_fp32 / t_kernel), beside the bandwidth bound (fp32 bytes / packed bytes):")
    print(E.lowbit_speedups(df).to_string(float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
