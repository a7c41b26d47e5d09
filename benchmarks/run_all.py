"""Every benchmark in one quick run (``make bench``), one table: benchmark, ours, peer, ratio, goal, met?

Run: python benchmarks/run_all.py [--full] [--only fp8,speculative] [--threads 1]

Each ``benchmarks/bench_<name>.py`` has a ``summary(quick)`` function that measures a smaller version of what
its own command prints (a few minutes for all of them together; ``--full`` uses the scripts' full sizes) and
returns rows ``{"benchmark", "ours", "peer", "ratio", "goal"}``. The ratio is ours / peer (time) unless the row
says otherwise (speculative speedups are plain time / speculative time); a goal is ``"<= x"``, ``">= x"`` or
``"-"`` (none stated). Timings come from a shared machine: every script takes medians or best-of-n of
interleaved runs, and the table also prints the machine's load average and ATen's CPU capability.
Exit status 0 whatever the results (the table is the report); 1 when a benchmark raised.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = ("fp8", "quant", "metrics", "serving", "tinylm", "mixed_precision", "speculative", "fuzz", "lowbit")
COLUMNS = ("benchmark", "ours", "peer", "ratio", "goal", "met?")


def goal_met(ratio: float, goal: str) -> str:
    """"yes" / "NO" for a goal ``"<= x"`` or ``">= x"``; "n/a" for ``"-"`` or a missing (NaN) ratio."""
    goal = goal.strip()
    if goal == "-" or ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return "n/a"
    for op in ("<=", ">="):
        if goal.startswith(op):
            bound = float(goal[2:])
            return "yes" if (ratio <= bound if op == "<=" else ratio >= bound) else "NO"
    raise ValueError(f"goal must be '<= x', '>= x' or '-'; got {goal!r}")


def format_table(rows: list[dict]) -> str:
    """The rows as an aligned text table with the columns of :data:`COLUMNS` (ratio to 3 significant digits)."""
    cells = [COLUMNS] + [
        (r["benchmark"], r["ours"], r["peer"], "nan" if math.isnan(r["ratio"]) else f"{r['ratio']:.3g}", r["goal"],
         goal_met(r["ratio"], r["goal"]))
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(str(c[i]).ljust(widths[i]) if i == 0 else str(c[i]).rjust(widths[i]) for i in range(len(COLUMNS)))
             for c in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="the scripts' full sizes instead of the quick ones")
    ap.add_argument("--only", default=",".join(NAMES), help=f"comma-separated subset of {','.join(NAMES)}")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        ap.error(f"--only: unknown benchmark(s) {unknown}; choose from {', '.join(NAMES)}")
    import torch

    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(HERE))
    rows, failed = [], []
    t_start = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        try:
            rows += importlib.import_module(f"bench_{name}").summary(quick=not args.full)
        except Exception:  # report and go on: one broken benchmark must not hide the others
            failed.append(name)
            traceback.print_exc()
            rows.append({"benchmark": f"{name}: FAILED (traceback above)", "ours": "", "peer": "",
                         "ratio": float("nan"), "goal": "-"})
        print(f"  {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"\nthreads={args.threads}, ATen CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"load average {load[0]:.1f} on {os.cpu_count()} CPUs, {time.perf_counter() - t_start:.0f} s in all")
    print(format_table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
