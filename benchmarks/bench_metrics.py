"""Histograms and p99: lecture_lib.metrics vs prometheus_client (observe) and numpy.quantile (p99).

Run: python benchmarks/bench_metrics.py [--n 200000] [--repeats 5]

1. ``Histogram.observe`` one value at a time vs ``prometheus_client.Histogram.observe`` (the official Python
   client, if installed; it takes a lock and updates a shared value per call), and our vectorized
   ``Histogram.observe_many``. The script first checks that both produce identical cumulative bucket counts.
2. p99 of ``n`` latencies: ``histogram_quantile`` over the 14 default buckets plus one fine layout (given the
   cumulative counts that a server already has) vs ``numpy.quantile(samples, 0.99)`` on the raw samples
   (what you would need to keep every observation for). Also prints each estimate's error vs the exact p99.

Prints medians side by side and the ratio ours / peer (< 1 means ours is faster).
"""

from __future__ import annotations

import argparse

import numpy as np

from lecture_lib.metrics import DEFAULT_BUCKETS, Histogram, exact_quantile, exponential_buckets, histogram_quantile

from _timing import median_time  # benchmarks/_timing.py


def row(label: str, ours: float, peer: float | None, peer_name: str) -> None:
    if peer is None:
        print(f"{label:<44} ours {ours * 1e3:10.3f} ms   {peer_name}: not installed")
    else:
        print(f"{label:<44} ours {ours * 1e3:10.3f} ms   {peer_name} {peer * 1e3:10.3f} ms   "
              f"ratio {ours / peer:7.3f}")


def summary(quick: bool = True) -> list[dict]:
    """Rows for ``benchmarks/run_all.py``: observe_many vs prometheus_client's observe loop, and
    histogram_quantile vs numpy.quantile on the raw samples (ours / peer, medians; no stated goal)."""
    n = 50_000 if quick else 200_000
    values = np.random.default_rng(0).lognormal(np.log(0.08), 0.7, n)
    rows = []
    t_vec = median_time(lambda: Histogram(DEFAULT_BUCKETS).observe_many(values), 5)
    try:
        import prometheus_client
    except ImportError:
        rows.append({"benchmark": f"histogram observe_many {n} / prometheus_client", "ours": f"{t_vec * 1e3:.2f} ms",
                     "peer": "not installed", "ratio": float("nan"), "goal": "-"})
    else:
        as_list = values.tolist()

        def peer():
            reg = prometheus_client.CollectorRegistry()
            h = prometheus_client.Histogram("lat", "latency", buckets=DEFAULT_BUCKETS, registry=reg)
            for v in as_list:
                h.observe(v)

        t_p = median_time(peer, 3)
        rows.append({"benchmark": f"histogram observe_many {n} / prometheus_client", "ours": f"{t_vec * 1e3:.2f} ms",
                     "peer": f"{t_p * 1e3:.1f} ms", "ratio": t_vec / t_p, "goal": "-"})
    h = Histogram(DEFAULT_BUCKETS)
    h.observe_many(values)
    ub, cum = h.upper_bounds, h.cumulative_counts()
    t_q = median_time(lambda: histogram_quantile(0.99, ub, cum), 5)
    t_np = median_time(lambda: np.quantile(values, 0.99), 5)
    rows.append({"benchmark": f"p99: histogram_quantile / numpy.quantile ({n})", "ours": f"{t_q * 1e6:.0f} us",
                 "peer": f"{t_np * 1e6:.0f} us", "ratio": t_q / t_np, "goal": "-"})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="number of observations")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    values = rng.lognormal(np.log(0.08), 0.7, args.n)
    as_list = values.tolist()

    try:
        import prometheus_client
    except ImportError:  # optional peer
        prometheus_client = None

    # --- 1. observe -----------------------------------------------------------------------------
    def ours_loop() -> Histogram:
        h = Histogram(DEFAULT_BUCKETS)
        for v in as_list:
            h.observe(v)
        return h

    def ours_vec() -> Histogram:
        h = Histogram(DEFAULT_BUCKETS)
        h.observe_many(values)
        return h

    peer_loop = None
    if prometheus_client is not None:

        def peer_loop():
            reg = prometheus_client.CollectorRegistry()
            h = prometheus_client.Histogram("lat", "latency", buckets=DEFAULT_BUCKETS, registry=reg)
            for v in as_list:
                h.observe(v)
            return reg

        reg = peer_loop()
        samples = next(iter(reg.collect())).samples
        theirs = [s.value for s in samples if s.name == "lat_bucket"]
        assert theirs == ours_loop().cumulative_counts() == ours_vec().cumulative_counts(), "bucket counts differ"
        print("check: identical cumulative bucket counts (ours vs prometheus_client)")

    print(f"\nobserve {args.n} latencies into the 14 default buckets")
    t_loop = median_time(ours_loop, args.repeats)
    t_vec = median_time(ours_vec, args.repeats)
    t_peer = median_time(peer_loop, args.repeats) if peer_loop is not None else None
    row("Histogram.observe (one call per value)", t_loop, t_peer, "prometheus_client")
    row("Histogram.observe_many (one numpy call)", t_vec, t_peer, "prometheus_client")

    # --- 2. p99 -----------------------------------------------------------------------------------
    exact = exact_quantile(values, 0.99)
    print(f"\np99 of {args.n} latencies (exact {exact * 1e3:.2f} ms)")
    t_np = median_time(lambda: np.quantile(values, 0.99), args.repeats)
    for name, bounds in (("default buckets (14)", DEFAULT_BUCKETS),
                         ("exponential x1.05 (150)", exponential_buckets(0.001, 1.05, 150))):
        h = Histogram(bounds)
        h.observe_many(values)
        ub, cum = h.upper_bounds, h.cumulative_counts()
        est = histogram_quantile(0.99, ub, cum)
        t = median_time(lambda ub=ub, cum=cum: histogram_quantile(0.99, ub, cum), args.repeats)
        row(f"histogram_quantile, {name}", t, t_np, "numpy.quantile")
        print(f"{'':<44} estimate {est * 1e3:.2f} ms, error {100 * (est - exact) / exact:+.1f} %")


if __name__ == "__main__":
    main()
