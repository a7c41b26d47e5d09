"""Part D presentation: plots and the policy widget, thin over :mod:`lecture_lib.experiments.partD`.

Used by ``notebooks/partD_distributed_inference.ipynb``. Every plotting function takes data (results or
DataFrames), draws one figure and returns it; the widget calls :func:`plot_policy_view`, whose data comes from
the pure function :func:`lecture_lib.experiments.partD.compare_policies`.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lecture_lib.experiments import partD as ex
from lecture_lib import serving as sv
from lecture_lib.serving import SimResult
from lecture_lib.viz import figures

__all__ = [
    "COLORS",
    "POLICY_XLIM",
    "PolicyFigure",
    "plot_policy_view",
    "policy_widget",
    "plot_latency_vs_load",
    "plot_slow_worker",
    "plot_breaker_timeline",
    "plot_retry_storm",
    "plot_supermarket",
    "plot_ewma_step",
    "plot_timeout_goodput",
    "plot_give_up_curve",
]

COLORS = {
    "random": "#9e9e9e",
    "round_robin": "#6d4c41",
    "weighted_round_robin": "#f9a825",
    "least_connections": "#1e88e5",
    "p2c": "#43a047",
    "ewma": "#e53935",
    "shared_queue": "#000000",
}


#: The latency axis of the policy widget (mean service times): fixed, so that moving a slider moves the curves,
#: not the axis. It spans every setting of the widget (0.5th percentile >= 0.005, slowest request < 800).
POLICY_XLIM = (3e-3, 1e3)


class PolicyFigure:
    """Latency distribution per policy as a CDF (log x; the selected policy drawn thick), each policy's p99 marked
    with a dot and written in the legend. One axes, ~200 points per curve, a fixed latency axis
    (:data:`POLICY_XLIM`). Drawn once; :meth:`update` moves the same lines to other results.

    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """

    Q = np.linspace(0.0, 100.0, 201)

    def __init__(self, results: dict[str, SimResult], selected: str, *, title: str = "", pyplot: bool = True) -> None:
        self.fig, ax = figures.subplots(figsize=(8, 4), pyplot=pyplot)
        self.ax = ax
        self.lines = {name: ax.plot([1.0], [0.0], color=COLORS[name])[0] for name in results}
        self.dots = {name: ax.plot([1.0], [0.99], "o", color=COLORS[name], ms=5)[0] for name in results}
        ax.axhline(0.99, color="black", lw=0.6, ls=":")
        ax.set_xscale("log")
        figures.plain_log_ticks(ax.xaxis)
        ax.set_xlim(*POLICY_XLIM)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("latency (mean service times, log scale)")
        ax.set_ylabel("fraction of requests faster (CDF)")
        self.update(results, selected, title=title)

    def update(self, results: dict[str, SimResult], selected: str, *, title: str = "") -> None:
        if selected not in results:
            raise ValueError(f"selected must be one of {list(results)}; got {selected!r}")
        if set(results) != set(self.lines):
            raise ValueError(f"results must hold the policies {list(self.lines)}; got {list(results)}")
        labels = []
        for name, r in results.items():
            p99 = r.p99
            lw, alpha = (3.0, 1.0) if name == selected else (1.2, 0.7)
            line = self.lines[name]
            line.set_data(np.percentile(r.latencies, self.Q), self.Q / 100)
            line.set_linewidth(lw)
            line.set_alpha(alpha)
            self.dots[name].set_xdata([p99])
            labels.append(f"{name}: p99 {p99:.3g}")
        self.ax.set_title(title or "latency distribution and p99 per policy")
        self.legend = self.ax.legend([self.lines[n] for n in results], labels, fontsize=8, loc="lower right")

    @property
    def moving(self) -> list[Any]:
        """Curves, p99 dots, legend and title: what a new setting changes (axes and labels stay cached)."""
        return [*self.lines.values(), *self.dots.values(), self.legend, self.ax.title]


def plot_policy_view(results: dict[str, SimResult], selected: str, *, title: str = "",
                     pyplot: bool = True) -> plt.Figure:
    """The figure of :class:`PolicyFigure` for one set of results (CDF per policy, p99 marked)."""
    return PolicyFigure(results, selected, title=title, pyplot=pyplot).fig


def policy_widget(n_requests: int = 3000):
    """Sliders for load rho and EWMA tau, a policy picker and a failure switch -> :class:`PolicyFigure`.

    One figure, updated in place; each (load, tau, failure) is simulated once (the policy picker only redraws).
    """
    import functools

    import ipywidgets as w
    from IPython.display import display

    load = w.FloatSlider(value=0.7, min=0.1, max=0.95, step=0.05, description="load ρ")
    tau = w.FloatLogSlider(value=10.0, base=10, min=-0.5, max=2.5, step=0.1, description="EWMA τ")
    policy = w.Dropdown(options=list(sv.BALANCING_POLICIES), value="ewma", description="policy")
    failure = w.ToggleButtons(options=list(ex.FAILURES), value="none", description="failure")
    results_at = functools.lru_cache(maxsize=256)(
        lambda load, tau, failure: ex.compare_policies(load, tau=tau, failure=failure, n_requests=n_requests))
    panel = figures.Panel()
    drawn: list[PolicyFigure] = []

    def show(load, tau, policy, failure):
        res = results_at(load, tau, failure)
        title = f"ρ = {load:.2f}, τ = {tau:.3g}, failure: {failure}"
        redraw = "moving" if drawn else "layout"
        if drawn:
            drawn[0].update(res, policy, title=title)
        else:
            drawn.append(PolicyFigure(res, policy, title=title, pyplot=False))
        panel.show(drawn[0].fig, redraw=redraw, moving=drawn[0].moving)

    box = w.VBox([w.HBox([load, tau]), w.HBox([policy, failure]), panel.widget])
    figures.live({"load": load, "tau": tau, "policy": policy, "failure": failure}, show, panel)
    display(box)
    return box


def plot_latency_vs_load(df: pd.DataFrame) -> plt.Figure:
    """p50 (dashed) and p99 (solid) against load per policy; unstable points marked with x."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for p, g in df.groupby("policy", sort=False):
        g = g.sort_values("load")
        _ = ax.plot(g["load"], g["p99"], "-o", color=COLORS[p], label=f"{p} p99", ms=4)
        _ = ax.plot(g["load"], g["p50"], "--", color=COLORS[p], alpha=0.6)
        bad = g[~g["stable"]]
        _ = ax.plot(bad["load"], bad["p99"], "x", color="black", ms=8)
    _ = ax.plot([], [], "x", color="black", label="no steady state (grows with run length)")
    _ = ax.plot([], [], "--", color="gray", label="p50 (dashed)")
    ax.set_yscale("log")
    ax.set_xlabel("offered load ρ = λ / Σμ")
    ax.set_ylabel("latency (mean service times, log scale)")
    ax.set_title("p50 / p99 latency vs load, workers with rates 1.5, 1, 1, 0.5")
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_slow_worker(timeline: pd.DataFrame) -> plt.Figure:
    """Share of arrivals sent to the worker that slows down, per time bin and policy."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for p, g in timeline.groupby("policy", sort=False):
        _ = ax.plot(g["time"], g["share"], color=COLORS[p], label=p)
    ax.axvspan(timeline.attrs["slow_start"], timeline.attrs["slow_end"], color="red", alpha=0.08,
               label="worker 0 is 10x slower")
    ax.set_xlabel("time (mean service times)")
    ax.set_ylabel("share of requests sent to worker 0")
    ax.set_title("Who routes around a slow worker?")
    ax.legend(fontsize=7, ncol=2)
    return fig


_STATE_Y = {"closed": 0, "half_open": 1, "open": 2}


def plot_breaker_timeline(calls: pd.DataFrame, history: Sequence[tuple[float, str, str]], outage: tuple[float, float],
                          horizon: float) -> plt.Figure:
    """Breaker state over time (step line) above the calls: failed, succeeded, or rejected by the breaker."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 4.5), sharex=True, height_ratios=[1, 1])
    times = [0.0] + [t for t, _, _ in history] + [horizon]
    states = ["closed"] + [to for _, _, to in history]
    ys = [_STATE_Y[s] for s in states] + [_STATE_Y[states[-1]]]
    _ = ax1.step(times, ys, where="post", color="black", label="breaker state")
    ax1.set_yticks([0, 1, 2], ["closed", "half-open", "open"])
    ax1.axvspan(*outage, color="red", alpha=0.1, label="backend down")
    ax1.set_ylabel("state")
    ax1.set_title("Circuit breaker during an outage")
    ax1.legend(fontsize=8, loc="upper right")
    ok = calls[calls.reached_backend & ~calls.failed]
    bad = calls[calls.reached_backend & calls.failed]
    rej = calls[~calls.reached_backend]
    _ = ax2.plot(ok["time"], np.full(len(ok), 2), "|", color="green", label="succeeded")
    _ = ax2.plot(bad["time"], np.full(len(bad), 1), "|", color="red", label="failed (reached backend)")
    _ = ax2.plot(rej["time"], np.full(len(rej), 0), "|", color="gray", label="rejected by breaker")
    ax2.axvspan(*outage, color="red", alpha=0.1)
    ax2.set_yticks([0, 1, 2], ["rejected", "failed", "ok"])
    ax2.set_xlabel("time (s)")
    ax2.set_ylabel("call outcome")
    ax2.legend(fontsize=7, loc="upper right")
    return fig


def plot_retry_storm(storms: dict[str, np.ndarray], *, outage: float = 1.0, t_max: float = 12.0) -> plt.Figure:
    """Calls per 0.1 s against time for each jitter strategy (``storms``: jitter -> sorted call times)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    edges = np.arange(0.0, t_max + 0.1, 0.1)
    for name, times in storms.items():
        counts, _ = np.histogram(times, bins=edges)
        _ = ax.step(edges[:-1], counts, where="post", label=name)
    ax.axvspan(0, outage, color="red", alpha=0.08, label="server down")
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("calls per 0.1 s")
    ax.set_title("Retry storm: 200 clients, server back at t = 1 s with 10 slots")
    ax.legend(fontsize=8)
    return fig


def plot_supermarket(df: pd.DataFrame) -> plt.Figure:
    """Fraction of queues with at least i requests: simulation (markers) vs supermarket model (lines), log y."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for d, color in ((1, COLORS["random"]), (2, COLORS["p2c"])):
        _ = ax.plot(df.index, df[f"theory d={d}"], "-", color=color, label=f"theory d={d}")
        _ = ax.plot(df.index, df[f"simulated d={d}"], "o", color=color, label=f"simulated d={d}")
    ax.set_yscale("log")
    ax.set_xlabel("queue length i")
    ax.set_ylabel("fraction of queues with ≥ i requests")
    ax.set_title("Random (d=1) vs power of two choices (d=2), ρ = 0.9")
    ax.legend(fontsize=8)
    return fig


def plot_ewma_step(curves: dict[str, np.ndarray], *, before: float, after: float) -> plt.Figure:
    """EWMA estimates after a latency step from ``before`` to ``after`` (one curve per alpha)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for label, y in curves.items():
        _ = ax.plot(np.arange(1, y.size + 1), y, label=label)
    ax.axhline(after, color="black", lw=0.8, ls=":", label="true latency after the step")
    ax.axhline((before + after) / 2, color="gray", lw=0.8, ls="--", label="half-way")
    ax.set_xlabel("samples after the step")
    ax.set_ylabel("EWMA estimate (ms)")
    ax.set_title("How fast does an EWMA notice a slower worker?")
    ax.legend(fontsize=8)
    return fig


def plot_timeout_goodput(df: pd.DataFrame, *, load: float) -> plt.Figure:
    """Goodput against the timeout (set at a latency percentile) for each retry setting of
    :func:`lecture_lib.experiments.partD.timeout_retry_table` (``df``)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(df.index))
    for col in [c for c in df.columns if c.startswith("goodput: ")]:
        _ = ax.plot(x, df[col], "o-", label=col.removeprefix("goodput: "))
    ax.set_xticks(x, [f"{name}\n({t:.1f})" for name, t in zip(df.index, df["timeout"])])
    ax.set_xlabel("timeout: percentile of the latency without timeouts (value in mean service times)")
    ax.set_ylabel("goodput (share of requests answered in time)")
    ax.set_ylim(-0.03, 1.08)
    ax.set_title(f"Retrying on timeout at load ρ = {load:g}: without a deadline at the server it collapses")
    ax.legend(fontsize=8)
    return fig


def plot_give_up_curve(df: pd.DataFrame) -> plt.Figure:
    """Share of runs in which the supervisor gave up, against the crash rate, one line per restart intensity."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for col in df.columns:
        _ = ax.plot(df.index, df[col], "o-", label=f"max {col}")
    ax.set_xlabel("child crashes per minute")
    ax.set_ylabel("share of 10-minute runs that gave up")
    ax.set_title("Restart intensity: when a supervisor stops restarting")
    ax.legend(fontsize=8, title="max_restarts in max_seconds")
    return fig
