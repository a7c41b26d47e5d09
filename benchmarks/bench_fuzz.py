"""Time to find a planted bug: coverage-guided fuzzing (atheris) vs random testing, next to E[T] = 1 / (p r).

Run: python benchmarks/bench_fuzz.py [--seeds 10] [--random-seeds 20] [--full] [--record]

The target is ``lecture_lib.fuzzing.parse_record`` (a packed-INT4 record parser whose int4 length check is off by
one). Three difficulties: the record's magic prefix is b"" (none), b"Q" or b"QT"; each magic byte divides a
random input's chance of reaching the bug by 256.

* atheris: executions and wall seconds to the first crash, one child process per libFuzzer seed (start-up
  included in the seconds; the execution rate is measured on a run that does not find the bug).
* random testing: its rate r (inputs per second, same parser, same process) and executions to find for the
  magics where that is affordable (b"" always, b"Q" with --full: about a minute per seed); the formula
  E[inputs] = 1 / p_crash (``lecture_lib.fuzzing.crash_probability``) for all three.
``--record`` writes the numbers to lecture_lib/experiments/data/partC_fuzzing.json (read by the Part C notebook).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lecture_lib import fuzzing  # noqa: E402
from lecture_lib.experiments.fuzzing import FUZZ_DATA_PATH, atheris_available, run_atheris  # noqa: E402

MAGICS = (b"", b"Q", b"QT")
MAX_LEN = 16


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else the machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def random_rate(n: int = 200_000) -> float:
    """Inputs per second of random testing on the full parser (magic b"QT": almost every input is rejected
    early, as in a real hunt)."""
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        fuzzing.random_testing(n, max_len=MAX_LEN, magic=b"QT\xff", seed=1)  # never crashes: pure throughput
        best = max(best, n / (time.perf_counter() - t0))
    return best


def atheris_rate(runs: int = 100_000) -> float:
    """atheris executions per second on a magic it will not complete within ``runs`` (start-up included)."""
    r = run_atheris(magic=b"QT\x00\x00\x00\x00\x00\x00", seed=1, max_runs=runs, max_len=MAX_LEN + 6)
    return r["execs"] / r["seconds"]


def measure(seeds: int, random_seeds: int, full: bool) -> dict:
    out: dict = {"max_len": MAX_LEN, "python": platform.python_version(), "machine": platform.machine(),
                 "cpu": cpu_model(), "magics": {}}
    import atheris  # noqa: F401  (version below)
    from importlib.metadata import version

    out["atheris"] = version("atheris")
    out["random_rate"] = random_rate()
    out["atheris_rate"] = atheris_rate()
    for magic in MAGICS:
        runs = [run_atheris(magic=magic, seed=s, max_runs=5_000_000, max_len=MAX_LEN) for s in range(1, seeds + 1)]
        row = {
            "p_crash": fuzzing.crash_probability(MAX_LEN, magic=magic),
            "expected_random_inputs": fuzzing.expected_inputs(MAX_LEN, magic=magic),
            "atheris_execs": [r["execs"] if r["found"] else None for r in runs],
            "atheris_seconds": [round(r["seconds"], 3) for r in runs],
            "random_execs": [],
        }
        affordable = magic == b"" or (full and magic == b"Q")
        if affordable:
            n_seeds = random_seeds if magic == b"" else 3
            for s in range(n_seeds):
                r = fuzzing.random_testing(200_000_000, max_len=MAX_LEN, magic=magic, seed=s)
                row["random_execs"].append(r["inputs"] if r["found"] else None)
        out["magics"][magic.decode()] = row
    return out


def print_report(res: dict) -> None:
    print(f"random testing: {res['random_rate']:,.0f} inputs/s; atheris: {res['atheris_rate']:,.0f} execs/s "
          f"(atheris {res['atheris']}, Python {res['python']})")
    print(f"{'magic':>6} {'p_crash':>10} {'E[random inputs]':>17} {'random measured (mean)':>23} "
          f"{'atheris execs (median)':>23} {'atheris s (median)':>19} {'E[T] random':>12}")
    for magic, row in res["magics"].items():
        meas = [x for x in row["random_execs"] if x is not None]
        mean = f"{statistics.mean(meas):,.0f} (n={len(meas)})" if meas else "-"
        ath = [x for x in row["atheris_execs"] if x is not None]
        e_t = row["expected_random_inputs"] / res["random_rate"]
        print(f"{magic!r:>6} {row['p_crash']:10.3g} {row['expected_random_inputs']:17,.0f} {mean:>23} "
              f"{statistics.median(ath):23,.0f} {statistics.median(row['atheris_seconds']):19.2f} {e_t:11,.0f}s")


def summary(quick: bool = True) -> list[dict]:
    """Row for ``benchmarks/run_all.py``: atheris's median wall time to find the bug behind the 2-byte magic vs
    random testing's expected time 1 / (p r) with r measured here."""
    if not atheris_available():
        return [{"benchmark": "fuzz: time to find the planted bug, atheris / random", "ours": "atheris missing",
                 "peer": "-", "ratio": float("nan"), "goal": "-"}]
    seeds = 3 if quick else 10
    t = statistics.median(run_atheris(magic=b"QT", seed=s, max_len=MAX_LEN)["seconds"] for s in range(1, seeds + 1))
    e_t = fuzzing.expected_inputs(MAX_LEN, magic=b"QT") / random_rate(50_000 if quick else 200_000)
    return [{"benchmark": "fuzz: time to find the planted bug, atheris / random (E[T] = 1/(p r))",
             "ours": f"{t:.2f} s", "peer": f"{e_t:,.0f} s", "ratio": t / e_t, "goal": "<= 0.001"}]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10, help="libFuzzer seeds per magic")
    ap.add_argument("--random-seeds", type=int, default=20, help="random-testing seeds for the magic b''")
    ap.add_argument("--full", action="store_true", help="also measure random testing behind the 1-byte magic")
    ap.add_argument("--record", action="store_true", help=f"write the results to {FUZZ_DATA_PATH}")
    args = ap.parse_args(argv)
    if not atheris_available():
        print("atheris is not installed here (wheels: Linux x86-64); nothing to measure")
        return 0
    res = measure(args.seeds, args.random_seeds, args.full)
    print_report(res)
    if args.record:
        FUZZ_DATA_PATH.parent.mkdir(parents=True, exist_ok=True)
        FUZZ_DATA_PATH.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
        print(f"recorded in {FUZZ_DATA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
