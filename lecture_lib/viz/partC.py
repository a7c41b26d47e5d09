"""Part C presentation: plots and the three Zone 1 widgets, thin over :mod:`lecture_lib.experiments.partC`.

Used by ``notebooks/partC_production_python.ipynb``. Each plotting function takes data, draws one figure and
returns it. Each widget builder wires sliders to a pure function (``slo_summary``, ``find_bug_summary``,
``bucket_error``) and a plotting function here.
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.patches import Patch

from lecture_lib import metrics, slo
from lecture_lib.experiments import partC as ex
from lecture_lib.viz import figures

__all__ = [
    "BUDGET_HOURS",
    "BucketFigure",
    "BudgetFigure",
    "FIGSIZE",
    "FindBugFigure",
    "SLO_CHOICES",
    "bucket_widget",
    "find_bug_widget",
    "format_slo_summary",
    "plot_benchmark",
    "plot_bucket_error_curve",
    "plot_buckets",
    "plot_budget",
    "plot_find_bug",
    "plot_incident",
    "plot_sampling",
    "slo_widget",
]

SLO_CHOICES = (0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999)
_ALERT_COLORS = {"fast burn": "#e53935", "medium burn": "#fb8c00", "slow burn": "#fdd835",
                 "lecture: 1 h >= 14.4 and 6 h >= 6": "#8e24aa", "naive: 5 min >= 14.4": "#757575"}


#: Size of every single-axes Part C figure (inches).
FIGSIZE = (6.4, 3.4)

#: The time axis of the SLO figure (hours, log scale): fixed, so that a slider moves the curve and the alert
#: lines, not the axis. From 3.6 s (a fast-burn alert at the steepest setting fires within seconds) to the
#: 30-day SLO period.
BUDGET_HOURS = (1e-3, 720.0)


def _axes(pyplot: bool) -> tuple[plt.Figure, Any]:
    """A new :data:`FIGSIZE` figure with one axes (``pyplot`` as in :func:`lecture_lib.viz.figures.subplots`)."""
    return figures.subplots(figsize=FIGSIZE, pyplot=pyplot)


# ------------------------------------------------------------------------------------------------ SLO
def format_slo_summary(summary: dict[str, Any], slo_target: float, error_rate: float) -> str:
    """The widget's text: budget, burn rate, time to exhaustion and which alerts fire."""
    tte = summary["exhaustion_hours"]
    tte_txt = "never (no errors)" if math.isinf(tte) else f"{tte:.3g} h ({tte / 24:.3g} days)"
    firing = ", ".join(summary["firing"]) or "none"
    return (f"SLO {100 * slo_target:.4g} %, error rate {100 * error_rate:.3g} %\n"
            f"  error budget      : {100 * summary['budget']:.3g} % of requests = {summary['budget_minutes']:.4g} "
            f"minutes of full outage per 30 days\n"
            f"  burn rate         : {summary['burn_rate']:.3g}\n"
            f"  budget gone after : {tte_txt}\n"
            f"  alerts that fire  : {firing}")


class BudgetFigure(figures.LiveFigure):
    """Budget left (%) against time at a constant error rate (log time axis, :data:`BUDGET_HOURS`), with the
    moment each multiwindow alert fires. Drawn once; :meth:`update` moves the curve, the alert lines and the
    title, drawn with the legend over a cached picture of the rest, which never changes (the legend's entries
    change when another set of alerts fires).

    ``summary``: :func:`lecture_lib.experiments.partC.slo_summary` of the same arguments, if already computed.
    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """

    T = np.logspace(math.log10(BUDGET_HOURS[0]), math.log10(BUDGET_HOURS[1]), 300)

    def __init__(self, slo_target: float, error_rate: float, *, summary: dict[str, Any] | None = None,
                 pyplot: bool = True) -> None:
        self.fig, ax = _axes(pyplot)
        self.ax = ax
        (self.line,) = ax.plot(self.T, np.full_like(self.T, 100.0), color="black")
        self.alerts = {name: ax.axvline(1.0, color=color, ls="--") for name, color in _ALERT_COLORS.items()}
        ax.set_xscale("log")
        figures.plain_log_ticks(ax.xaxis)
        ax.set_xlim(*BUDGET_HOURS)
        ax.set_ylim(0, 105)
        ax.set_xlabel("hours at this error rate (log scale)")
        ax.set_ylabel("error budget left (%)")
        self.update(slo_target, error_rate, summary=summary)

    def update(self, slo_target: float, error_rate: float, *, summary: dict[str, Any] | None = None) -> None:
        s = ex.slo_summary(slo_target, error_rate) if summary is None else summary
        self.line.set_ydata(np.clip(100 * (1 - s["burn_rate"] * self.T / 720.0), 0, 100))
        firing = []
        for line in self.alerts.values():
            line.set_visible(False)
        for name, row in s["alerts"].iterrows():
            d = row["detection (min)"] / 60
            if row["fires"] and d <= BUDGET_HOURS[1]:
                if name not in self.alerts:
                    self.alerts[name] = self.ax.axvline(1.0, color="gray", ls="--")
                self.alerts[name].set_xdata([d, d])
                self.alerts[name].set_visible(True)
                firing.append(name)
        self.ax.set_title(f"SLO {100 * slo_target:.4g} % (budget {s['budget_minutes']:.3g} min per 30 days), "
                          f"burn rate {s['burn_rate']:.3g}", fontsize=10)
        if getattr(self, "firing", None) != firing:  # the legend names the alerts that fire (times: in the text)
            self.firing = firing
            self.ax.legend([self.line, *(self.alerts[n] for n in firing)],
                           ["budget left", *(f"{n} alert fires" for n in firing)], fontsize=8, loc="center left")

    @property
    def moving(self) -> list[Any]:
        return [self.line, *self.alerts.values(), self.ax.get_legend(), self.ax.title]  # the legend over the lines


def plot_budget(slo_target: float, error_rate: float, *, pyplot: bool = True) -> plt.Figure:
    """The figure of :class:`BudgetFigure`: budget left over time, and when each multiwindow alert fires."""
    return BudgetFigure(slo_target, error_rate, pyplot=pyplot).fig


def slo_widget() -> Any:
    """SLO target and error rate sliders -> :func:`lecture_lib.experiments.partC.slo_summary`.

    One :class:`BudgetFigure`, updated in place; each setting is computed once.
    """
    import ipywidgets as w

    target = w.SelectionSlider(options=[(f"{100 * x:g} %", x) for x in SLO_CHOICES], value=0.999,
                               description="SLO target", continuous_update=False)
    rate = w.FloatLogSlider(value=0.0144, base=10, min=-5, max=-0.5, step=0.05, description="error rate",
                            readout_format=".2e", continuous_update=False)
    summary_at = functools.lru_cache(maxsize=1024)(ex.slo_summary)
    panel = figures.Panel()

    def show(slo_target: float, error_rate: float) -> None:
        s = summary_at(slo_target, error_rate)
        text = format_slo_summary(s, slo_target, error_rate) + "\n\n" + s["alerts"].round(3).to_string()
        panel.show_live(lambda: BudgetFigure(slo_target, error_rate, summary=s, pyplot=False),
                        lambda f: f.update(slo_target, error_rate, summary=s), text=text)

    figures.live({"slo_target": target, "error_rate": rate}, show, panel)
    return w.VBox([w.HBox([target, rate]), panel.widget])


# --------------------------------------------------------------------------------------- find a bug
class FindBugFigure(figures.LiveFigure):
    """``P(find)`` against the number of cases, with ``n`` and the cases needed marked. Drawn once;
    :meth:`update` moves the point of ``n`` and the title (drawn with the legend over a cached picture of the
    rest), and redraws the rest only when the bug rate, the miss risk or the range of the curve changed.

    ``summary``: :func:`lecture_lib.experiments.partC.find_bug_summary` of ``(n, p, delta)``.
    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """

    def __init__(self, summary: dict[str, Any], n: int, p: float, delta: float, *, pyplot: bool = True) -> None:
        self.fig, ax = _axes(pyplot)
        self.ax = ax
        (self.curve,) = ax.plot([0], [0], color="#1e88e5")
        self.target = ax.axhline(100.0, color="gray", ls=":")
        self.need = ax.axvline(0.0, color="#43a047", ls="--")
        (self.dot,) = ax.plot([0], [0], "o", color="#e53935")
        ax.set_ylim(-2, 102)
        ax.set_xlabel("number of random test cases n")
        ax.set_ylabel("P(at least one case hits the bug) (%)")
        self.update(summary, n, p, delta)

    def update(self, summary: dict[str, Any], n: int, p: float, delta: float) -> None:
        grid, need = summary["n"], summary["cases_needed"]
        self.dot.set_data([n], [100 * summary["p_find"]])
        self.ax.set_title(f"{n} random cases find a bug of rate p = {p:.3g} with P = {100 * summary['p_find']:.3g} %",
                          fontsize=10)
        key = (p, delta, int(grid[-1]))
        if key == self.background_key:
            return
        self.background_key = key
        self.curve.set_data(grid, 100 * summary["curve"])
        self.target.set_ydata([100 * (1 - delta)] * 2)
        self.need.set_xdata([need, need])
        self.ax.set_xlim(0, grid[-1])
        self.ax.legend([self.curve, self.target, self.need, self.dot],
                       [f"1 - (1 - p)^n, p = {p:.3g}", f"target {100 * (1 - delta):g} %", f"cases needed: {need}",
                        "your n"], fontsize=8, loc="lower right")

    @property
    def moving(self) -> list[Any]:
        return [self.dot, self.ax.get_legend(), self.ax.title]  # the legend over the point


def plot_find_bug(summary: dict[str, Any], n: int, p: float, delta: float, *, pyplot: bool = True) -> plt.Figure:
    """The figure of :class:`FindBugFigure`: ``P(find)`` against the number of cases, ``n`` marked."""
    return FindBugFigure(summary, n, p, delta, pyplot=pyplot).fig


def find_bug_widget() -> Any:
    """Sample-size, bug-rate and confidence sliders -> :func:`lecture_lib.experiments.partC.find_bug_summary`.

    One :class:`FindBugFigure`, updated in place; each setting is computed once.
    """
    import ipywidgets as w

    n = w.IntSlider(value=100, min=1, max=2000, step=1, description="cases n", continuous_update=False)
    p = w.FloatLogSlider(value=0.01, base=10, min=-4, max=-0.5, step=0.05, description="bug rate p",
                         readout_format=".2e", continuous_update=False)
    delta = w.FloatSlider(value=0.05, min=0.001, max=0.5, step=0.001, description="miss risk δ",
                          readout_format=".3f", continuous_update=False)
    summary_at = functools.lru_cache(maxsize=1024)(ex.find_bug_summary)
    panel = figures.Panel()

    def show(n: int, p: float, delta: float) -> None:
        s = summary_at(n, p, delta)
        text = (f"P(find) with {n} cases = {100 * s['p_find']:.4g} %; confidence {100 * (1 - delta):g} % needs "
                f"{s['cases_needed']} cases (approximation ln(1/δ)/p = {s['approx_needed']:.1f})")
        panel.show_live(lambda: FindBugFigure(s, n, p, delta, pyplot=False), lambda f: f.update(s, n, p, delta),
                        text=text)

    figures.live({"n": n, "p": p, "delta": delta}, show, panel)
    return w.VBox([w.HBox([n, p, delta]), panel.widget])


# ----------------------------------------------------------------------------------------- buckets
class BucketFigure(figures.LiveFigure):
    """Latency histogram (log x) with the bucket bounds, the exact p99 and the ``histogram_quantile`` estimate.

    The histogram, the exact p99, the legend and the axes are drawn once (the x range spans the samples and every
    default bound, 5 ms to 10 s); :meth:`update` moves the bounds, the estimate and the title (drawn with the
    legend over the cached rest).
    ``result``: :func:`lecture_lib.experiments.partC.bucket_error` for ``samples``.
    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """

    def __init__(self, samples: np.ndarray, result: dict[str, Any], *, title: str = "", pyplot: bool = True) -> None:
        self.fig, ax = _axes(pyplot)
        self.ax = ax
        x = np.asarray(samples)
        edges = np.logspace(np.log10(x.min()), np.log10(x.max()), 80)
        _ = ax.hist(x, bins=edges, color="#90caf9", label="latencies")
        self.bounds = LineCollection([], colors="gray", linewidths=0.6, alpha=0.7, transform=ax.get_xaxis_transform())
        ax.add_collection(self.bounds, autolim=False)
        self.exact = ax.axvline(result["exact"], color="black", lw=2)
        self.estimate = ax.axvline(result["estimate"], color="#e53935", lw=2, ls="--")
        ax.set_xscale("log")
        ax.set_xlim(min(x.min(), min(metrics.DEFAULT_BUCKETS)) / 1.2, max(x.max(), max(metrics.DEFAULT_BUCKETS)) * 1.2)
        ax.set_xlabel("latency (s, log scale)")
        ax.set_ylabel("requests")
        ax.legend([Patch(color="#90caf9"), self.bounds, self.exact, self.estimate],
                  ["latencies", "bucket bounds", f"exact p99 {1000 * result['exact']:.1f} ms", "histogram_quantile p99"],
                  fontsize=8, loc="upper left")
        self.update(result, title=title)

    def update(self, result: dict[str, Any], *, title: str = "") -> None:
        self.bounds.set_segments([[(b, 0.0), (b, 1.0)] for b in result["bounds"]])
        self.estimate.set_xdata([result["estimate"]] * 2)
        self.ax.set_title(title or f"{result['buckets']} buckets: histogram_quantile {1000 * result['estimate']:.1f} ms, "
                                   f"p99 off by {100 * result['rel_error']:.2g} %", fontsize=10)

    @property
    def moving(self) -> list[Any]:
        return [self.bounds, self.estimate, self.ax.get_legend(), self.ax.title]  # the legend over the lines


def plot_buckets(samples: np.ndarray, result: dict[str, Any], *, title: str = "", pyplot: bool = True) -> plt.Figure:
    """The figure of :class:`BucketFigure`: latency histogram, bucket bounds, exact and estimated p99."""
    return BucketFigure(samples, result, title=title, pyplot=pyplot).fig


def bucket_widget(samples: np.ndarray) -> Any:
    """Layout picker and bucket-count slider -> :func:`lecture_lib.experiments.partC.bucket_error`.

    One :class:`BucketFigure`, updated in place; each setting is computed once.
    """
    import ipywidgets as w

    kind = w.Dropdown(options=list(ex.LAYOUTS), value="exponential", description="layout")
    count = w.IntSlider(value=12, min=3, max=60, description="buckets", continuous_update=False)
    result_at = functools.lru_cache(maxsize=1024)(lambda kind, count: ex.bucket_error(kind, count, samples))
    panel = figures.Panel()

    def show(kind: str, count: int) -> None:
        r = result_at(kind, count)
        text = (f"{kind}, {r['buckets']} buckets (with +Inf): estimate {1000 * r['estimate']:.2f} ms, exact "
                f"{1000 * r['exact']:.2f} ms, error {1000 * r['abs_error']:.2f} ms ({100 * r['rel_error']:.3g} %), "
                f"width of the bucket holding p99 {1000 * r['bucket_width']:.1f} ms")
        panel.show_live(lambda: BucketFigure(samples, r, pyplot=False), lambda f: f.update(r), text=text)

    figures.live({"kind": kind, "count": count}, show, panel)
    return w.VBox([w.HBox([kind, count]), panel.widget])


def plot_bucket_error_curve(samples: np.ndarray, counts: Sequence[int] = tuple(range(4, 61, 2))) -> plt.Figure:
    """Relative p99 error against the number of buckets, linear vs exponential layouts, and the default buckets
    of Prometheus' Python client (``prometheus_client``; the Go client's ``DefBuckets`` differ)."""
    fig, ax = _axes(pyplot=True)
    for kind, color in (("linear", "#8e24aa"), ("exponential", "#1e88e5")):
        err = [100 * ex.bucket_error(kind, int(c), samples)["rel_error"] for c in counts]
        _ = ax.plot(list(counts), err, "o-", ms=3, color=color, label=kind)
    d = ex.bucket_error(ex.PYTHON_CLIENT_DEFAULT, 0, samples)
    _ = ax.plot([d["buckets"] - 1], [100 * d["rel_error"]], "s", color="black",
                label="default buckets of the Python client (prometheus_client)")
    ax.set_yscale("log")
    ax.set_xlabel("finite buckets")
    ax.set_ylabel("|p99 estimate - exact| / exact (%)")
    ax.set_title("p99 error of histogram_quantile vs bucket count")
    ax.legend(fontsize=8)
    return fig


# ---------------------------------------------------------------------------------------- incident
def plot_incident(exp: dict[str, Any], slo_target: float = 0.999) -> plt.Figure:
    """Top: burn rate over 5 min, 1 h, 6 h (log scale) with the thresholds; bottom: when each alert fires."""
    trace = exp["trace"]
    hours = trace.times / slo.HOUR
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 5.6), sharex=True, height_ratios=[2, 1.3])
    for (w, b), color in zip(exp["burn"].items(), ("#bdbdbd", "#1e88e5", "#43a047", "#6d4c41")):
        _ = ax1.plot(hours, np.maximum(b, 0.05), color=color, lw=1, label=f"burn rate over {w}")
    for thr in (14.4, 6, 1):
        _ = ax1.axhline(thr, color="black", ls=":", lw=0.8)
        _ = ax1.text(hours[-1], thr, f" {thr:g}", va="center", fontsize=8)
    for name, s0, dur, _rate in exp["events"]:
        _ = ax1.axvspan(s0 / slo.HOUR, (s0 + dur) / slo.HOUR, color="#ffcdd2", alpha=0.6)
        _ = ax1.text(s0 / slo.HOUR, 120, f" {name}", fontsize=8)
    ax1.set_yscale("log")
    ax1.set_ylim(0.05, 1000)
    ax1.set_ylabel("burn rate (x budget pace)")
    ax1.set_title(f"Simulated incidents at SLO {100 * slo_target:g} %: burn rates and alerts")
    ax1.legend(fontsize=7, loc="upper right", ncol=4, bbox_to_anchor=(1.0, 1.0))
    names = list(exp["firing"])
    for k, name in enumerate(names):
        f = exp["firing"][name]
        _ = ax2.fill_between(hours, k - 0.4, k + 0.4, where=f, color=_ALERT_COLORS.get(name, "gray"), step="pre",
                             label=name)
    ax2.set_yticks(range(len(names)), [textwrap.fill(n, 18) for n in names], fontsize=7)
    ax2.set_xlabel("time (hours)")
    ax2.set_ylabel("alert firing")
    ax2.legend(fontsize=6, loc="lower right")
    return fig


# ---------------------------------------------------------------------------------------- sampling
def plot_sampling(df: pd.DataFrame) -> plt.Figure:
    """Storage per request and the share of error traces kept, per sampling policy."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    labels = [s.replace(": ", ":\n") for s in df.index]
    _ = ax1.bar(labels, df["bytes/request (sim)"], color="#1e88e5", label="simulated")
    _ = ax1.plot(labels, df["bytes/request (formula)"], "k_", ms=30, mew=2, label="formula")
    ax1.set_ylabel("trace bytes stored per request")
    ax1.set_title("storage cost")
    ax1.legend(fontsize=8)
    _ = ax2.bar(labels, df["error traces kept (%)"], color="#e53935", label="simulated")
    _ = ax2.plot(labels, df["formula P(kept | error) (%)"], "k_", ms=30, mew=2, label="formula")
    ax2.set_ylabel("error traces kept (%)")
    ax2.set_title("what you can debug")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", labelsize=8)
        ax.set_xlabel("sampling policy")
    return fig


# --------------------------------------------------------------------------------------- benchmark
def plot_benchmark(samples: dict[str, Sequence[float]]) -> plt.Figure:
    """Every recorded run (ms, log scale) per variant, jittered, with its median."""
    fig, ax = _axes(pyplot=True)
    rng = np.random.default_rng(0)
    for k, (name, vals) in enumerate(samples.items()):
        v = 1000 * np.asarray(vals)
        _ = ax.plot(k + rng.uniform(-0.15, 0.15, v.size), v, "o", ms=3, alpha=0.6, label=f"{name} (runs)")
        _ = ax.plot([k - 0.3, k + 0.3], [np.median(v)] * 2, color="black", lw=2)
    ax.set_yscale("log")
    ax.set_xticks(range(len(samples)), list(samples))
    ax.set_xlabel("variant (black bar: median)")
    ax.set_ylabel("wall time per call (ms, log)")
    ax.set_title("Recorded benchmark runs: exact p99 of 200 000 latencies")
    ax.legend(fontsize=8)
    return fig
