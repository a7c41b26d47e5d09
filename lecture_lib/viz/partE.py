"""Part E presentation: plots and the three widgets, thin over :mod:`lecture_lib.experiments.partE`.

Used by ``notebooks/partE_serving_training_optimization.ipynb``. Every plotting function takes data, draws one
figure and returns it. The widgets call pure functions that tests call too:
:func:`~lecture_lib.experiments.partE.loss_scale_summary` (loss-scale slider),
:func:`~lecture_lib.experiments.partE.checkpoint_summary` (segments slider) and
:func:`~lecture_lib.experiments.partE.batching_summary` (batch size, arrival rate, policy).
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lecture_lib import mixed_precision as mp
from lecture_lib.experiments import partE as ex
from lecture_lib.viz import figures

__all__ = [
    "BatchingFigure",
    "CheckpointFigure",
    "LOG2_SCALES",
    "LossScaleFigure",
    "plot_gradient_histogram",
    "plot_loss_scale",
    "loss_scale_widget",
    "plot_checkpoint",
    "checkpoint_widget",
    "plot_training",
    "plot_decode_calibration",
    "plot_batching",
    "plot_batching_point",
    "batching_widget",
]

SHARE_COLORS = {"vanished": "#e53935", "subnormal": "#fb8c00", "normal": "#43a047", "overflow": "#5e35b1"}
POLICY_COLORS = {"static": "#9e9e9e", "dynamic": "#1e88e5", "continuous": "#e53935"}


def plot_gradient_histogram(grads: Any, *, scales: Sequence[float] = (1.0,), fmt: str = "fp16") -> plt.Figure:
    """Histogram of log2 |s * g| for the nonzero gradient values, one curve per scale s, with the format's
    smallest subnormal, smallest normal and largest value marked."""
    g = np.concatenate([np.asarray(t.detach().double().ravel()) for t in grads])
    g = np.abs(g[g != 0])
    f = mp.get_format(fmt)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    bins = np.arange(-45, 30, 0.5)
    for s in scales:
        _ = ax.hist(np.log2(g * s), bins=bins, histtype="step", lw=1.6, label=f"scale s = 2^{np.log2(s):g}")
    spans = [(np.log2(f.min_subnormal) - 1, np.log2(f.min_subnormal) - 1 - 30, "rounds to 0", SHARE_COLORS["vanished"]),
             (np.log2(f.min_subnormal) - 1, np.log2(f.min_normal), "subnormal", SHARE_COLORS["subnormal"]),
             (np.log2(f.max), np.log2(f.max) + 30, "overflow (inf)", SHARE_COLORS["overflow"])]
    for lo, hi, name, color in spans:
        _ = ax.axvspan(min(lo, hi), max(lo, hi), color=color, alpha=0.12, label=f"{fmt} {name}")
    ax.set_xlim(bins[0], bins[-1])
    ax.set_xlabel("log2 |s × gradient value|")
    ax.set_ylabel("count of gradient values")
    ax.set_title(f"where the student's gradients land in {fmt}")
    ax.legend(fontsize=8, loc="upper left")
    return fig


#: Loss scales the loss-scale widget offers (log2 s, integers).
LOG2_SCALES = tuple(range(-8, 33))
_SHARES = ("vanished", "subnormal", "normal", "overflow")


class LossScaleFigure(figures.LiveFigure):
    """Stacked shares (vanished / subnormal / normal / overflow) of the gradient values against log2 of the loss
    scale, the scale ``current`` marked. Drawn once per format; :meth:`update` moves the marker and the title.

    ``sweep``: :func:`lecture_lib.experiments.partE.loss_scale_sweep` (one format).
    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """

    def __init__(self, sweep: pd.DataFrame, current: float | None = None, *, pyplot: bool = True) -> None:
        self.fig, ax = figures.subplots(figsize=(8, 3.6), pyplot=pyplot)
        self.ax = ax
        self.stack: list[Any] = []
        self.marker = ax.axvline(0.0, color="black", lw=1.5, ls="--", visible=False)
        ax.set_xlabel("log2 of the loss scale s")
        ax.set_ylabel("share of nonzero gradient values")
        ax.set_ylim(0, 1)
        self.update(sweep, current)

    def update(self, sweep: pd.DataFrame, current: float | None = None) -> None:
        fmt = str(sweep["format"].iloc[0])
        x = sweep["log2_scale"].to_numpy()
        if current is not None:
            self.marker.set_xdata([current, current])
            self.marker.set_visible(True)
        key = (fmt, x.tobytes(), sweep[list(_SHARES)].to_numpy().tobytes())
        if key != self.background_key:
            self.background_key = key
            for artist in self.stack:
                artist.remove()
            self.stack = self.ax.stackplot(x, *[sweep[c].to_numpy() for c in _SHARES], labels=_SHARES,
                                           colors=[SHARE_COLORS[c] for c in _SHARES], alpha=0.85)
            self.ax.set_xlim(x[0], x[-1])
            handles, labels = [*self.stack], [*_SHARES]
            if current is not None:
                handles, labels = [*handles, self.marker], [*labels, "your s"]
            self.ax.legend(handles, labels, fontsize=8, loc="center right")
        at = "" if current is None else f" at s = 2^{current:g}"
        self.ax.set_title(f"{fmt}: what s × g becomes{at}")

    @property
    def moving(self) -> list[Any]:
        return [self.marker, self.ax.get_legend(), self.ax.title]  # the legend over the marker


def plot_loss_scale(sweep: pd.DataFrame, current: float | None = None, *, pyplot: bool = True) -> plt.Figure:
    """The figure of :class:`LossScaleFigure`: what ``s × g`` becomes per loss scale, ``current`` marked."""
    return LossScaleFigure(sweep, current, pyplot=pyplot).fig


def loss_scale_widget(grads: Any, *, fmt: str = "fp16"):
    """A slider for log2 of the loss scale -> the shares of gradient values that vanish / overflow.

    The shares come from :func:`lecture_lib.experiments.partE.loss_scale_sweep` (the rows of
    :func:`~lecture_lib.experiments.partE.loss_scale_summary`), computed once per format for every scale of the
    slider; one :class:`LossScaleFigure`, updated in place.
    """
    import ipywidgets as w
    from IPython.display import display

    slider = w.IntSlider(value=0, min=LOG2_SCALES[0], max=LOG2_SCALES[-1], step=1, description="log2 s")
    fmt_pick = w.ToggleButtons(options=["fp16", "bf16", "e5m2", "e4m3"], value=fmt, description="format")
    sweeps: dict[str, pd.DataFrame] = {}
    panel = figures.Panel()

    def show(log2_scale, fmt_name):
        if fmt_name not in sweeps:
            sweeps[fmt_name] = ex.loss_scale_sweep(grads, LOG2_SCALES, fmt_name)
        sweep = sweeps[fmt_name]
        r = sweep.iloc[LOG2_SCALES.index(log2_scale)]
        text = (f"s = 2^{log2_scale}: vanished {r['vanished']:.2%}, subnormal {r['subnormal']:.2%}, "
                f"overflow {r['overflow']:.2%}" + ("  -> step skipped, scale halved" if r["step_skipped"] else ""))
        panel.show_live(lambda: LossScaleFigure(sweep, log2_scale, pyplot=False),
                        lambda f: f.update(sweep, log2_scale), text=text)

    figures.live({"log2_scale": slider, "fmt_name": fmt_pick}, show, panel)
    box = w.VBox([w.HBox([slider, fmt_pick]), panel.widget])
    display(box)
    return box


class CheckpointFigure(figures.LiveFigure):
    """Left: activation memory (kept between passes + the recomputed segment) per segment count, measured, with
    the memory model. Right: step time ratio, analytic (4/3) and, if given, measured. The ``selected`` segment
    count is marked on both; :meth:`update` moves only those marks (the bars never change).

    ``table``: :func:`lecture_lib.experiments.partE.checkpoint_memory`; ``ratios``: the recorded time ratios.
    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """

    def __init__(self, table: pd.DataFrame, selected: int | None = None, ratios: pd.DataFrame | None = None, *,
                 pyplot: bool = True) -> None:
        self.fig, (ax, bx) = figures.subplots(ncols=2, figsize=(10, 3.8), layout="constrained", pyplot=pyplot)
        k = table["segments"].to_numpy()
        mib = 2.0**20
        _ = ax.bar(k, table["forward_saved_bytes"] / mib, color="#1e88e5", label="kept for backward")
        _ = ax.bar(k, table["recompute_bytes"] / mib, bottom=table["forward_saved_bytes"] / mib, color="#90caf9",
                   label="segment being recomputed")
        _ = ax.plot(k, table["predicted_peak_bytes"] / mib, "k.--", label="memory model")
        shown = selected is not None
        self.marks = [ax.axvline(0, color="#e53935", lw=1.5, ls=":", visible=shown, label="your k" if shown else None),
                      bx.axvline(0, color="#e53935", lw=1.5, ls=":", visible=shown)]
        ax.set_xlabel("checkpoint segments k (0 = none)")
        ax.set_ylabel("peak activation memory (MiB)")
        ax.set_title("memory: exact bytes saved for backward")
        ax.legend(fontsize=8, loc="upper right")
        _ = bx.plot(k, table["analytic_time_ratio"], "s-", color="#9e9e9e", label="analytic (bwd = 2 fwd)")
        if ratios is not None:
            _ = bx.plot(ratios["segments"], ratios["time_ratio"], "o-", color="#e53935", label="measured (recorded)")
        bx.set_ylim(0.8, 1.8)
        bx.set_xlabel("checkpoint segments k (0 = none)")
        bx.set_ylabel("step time / no checkpointing")
        bx.set_title("time: one extra forward")
        bx.legend(fontsize=8, loc="upper right")
        self.update(selected)

    def update(self, selected: int | None) -> None:
        for mark in self.marks:
            mark.set_visible(selected is not None)
            if selected is not None:
                mark.set_xdata([selected, selected])

    @property
    def moving(self) -> list[Any]:
        return [*self.marks, *(ax.get_legend() for ax in self.fig.axes)]  # the legends over the marks


def plot_checkpoint(table: pd.DataFrame, selected: int | None = None, ratios: pd.DataFrame | None = None, *,
                    pyplot: bool = True) -> plt.Figure:
    """The figure of :class:`CheckpointFigure`: memory and time per segment count, ``selected`` marked."""
    return CheckpointFigure(table, selected, ratios, pyplot=pyplot).fig


def checkpoint_widget(table: pd.DataFrame, ratios: pd.DataFrame | None = None):
    """A slider for the number of segments -> memory vs recompute (one :class:`CheckpointFigure`, updated in
    place)."""
    import ipywidgets as w
    from IPython.display import display

    n = int(table["segments"].max())
    slider = w.IntSlider(value=min(2, n), min=0, max=n, step=1, description="segments k")
    panel = figures.Panel()

    def show(k):
        r = ex.checkpoint_summary(table, k)
        text = (f"k = {k}: kept {r['kept_MiB']:.1f} MiB + recompute {r['recompute_MiB']:.1f} MiB = peak "
                f"{r['peak_MiB']:.1f} MiB ({r['peak_fraction']:.0%} of no checkpointing); "
                f"time x{r['analytic_time_ratio']:.2f}")
        panel.show_live(lambda: CheckpointFigure(table, k, ratios, pyplot=False), lambda f: f.update(k), text=text)

    figures.live({"k": slider}, show, panel)
    box = w.VBox([slider, panel.widget])
    display(box)
    return box


def plot_training(runs: pd.DataFrame, *, loss_weight: float | None = None) -> plt.Figure:
    """Loss curves per config (left) and the dynamic loss scale over the steps of scaled configs (right)."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    styles = {"fp32": ("black", "-"), "fp16, no loss scaling": ("#e53935", "-"),
              "fp16 + dynamic loss scaling": ("#1e88e5", "--"), "bf16, no loss scaling": ("#43a047", ":")}
    for label, g in runs.groupby("config", sort=False):
        color, ls = styles.get(label, (None, "-"))
        _ = ax.plot(g["step"], g["loss"], color=color, ls=ls, lw=1.6, label=label)
        if (g["scale"] != 1.0).any():
            _ = bx.semilogy(g["step"], g["scale"], color=color, ls=ls, base=2, label=label)
            skipped = g[g["skipped"]]
            _ = bx.plot(skipped["step"], skipped["scale"], "x", color="black", label="skipped step (inf)")
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (nats per character)")
    w = f", loss weight 2^{np.log2(loss_weight):g}" if loss_weight else ""
    ax.set_title(f"student from scratch{w}")
    ax.legend(fontsize=8)
    bx.set_xlabel("training step")
    bx.set_ylabel("loss scale s (log2 axis)")
    bx.set_title("dynamic loss scale")
    bx.legend(fontsize=8)
    return fig


def plot_decode_calibration(calib: dict[str, Any]) -> plt.Figure:
    """Measured decoding-step time per batch size with the fitted ``a + b * B``, and tokens per second."""
    bs = np.asarray(calib["batch_sizes"], dtype=float)
    t = np.asarray(calib["seconds"])
    a, b = calib["a"], calib["b"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    _ = ax.plot(bs, t * 1e3, "o", label="measured (recorded)")
    xs = np.linspace(1, bs.max(), 100)
    _ = ax.plot(xs, (a + b * xs) * 1e3, "-", label=f"fit: {a * 1e3:.2f} ms + {b * 1e6:.0f} µs × B")
    ax.set_xlabel("batch size B (sequences)")
    ax.set_ylabel("one decoding step (ms)")
    ax.set_title(f"{calib['model']}: cost of one decoding step")
    ax.legend(fontsize=8)
    _ = bx.plot(bs, bs / t, "o", label="measured")
    _ = bx.plot(xs, xs / (a + b * xs), "-", label="B / (a + b B)")
    _ = bx.axhline(1 / b, color="gray", ls=":", label="limit 1/b")
    bx.set_xscale("log", base=2)
    bx.set_xlabel("batch size B (log2 axis)")
    bx.set_ylabel("tokens per second")
    bx.set_title("throughput of a full batch")
    bx.legend(fontsize=8)
    return fig


class BatchingFigure(figures.LiveFigure):
    """Throughput against p99 latency, one line per (policy, batch size) over the arrival rates, and (if given)
    one simulated run marked with a star. The curves are drawn once; :meth:`update` moves the star, and widens
    the axes (redrawing the curves) only when the star would leave them.

    ``curves``: :func:`lecture_lib.experiments.partE.batching_curves`; ``point``: a
    :func:`~lecture_lib.experiments.partE.batching_summary`.
    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """

    def __init__(self, curves: pd.DataFrame, point: dict[str, Any] | None = None, *, pyplot: bool = True) -> None:
        self.fig, ax = figures.subplots(figsize=(8, 4.2), pyplot=pyplot)
        self.ax = ax
        markers = dict(zip(sorted(curves["max_batch_size"].unique()), "os^Dv"))
        for (policy, bs), g in curves.groupby(["policy", "max_batch_size"], sort=False):
            g = g.sort_values("arrival_rate")
            _ = ax.plot(g["throughput_tokens_per_s"], g["p99_latency_s"], marker=markers.get(bs, "o"), ms=4,
                        color=POLICY_COLORS.get(policy), alpha=0.85, label=f"{policy}, B ≤ {bs}")
        (self.star,) = ax.plot([], [], "*", ms=16, color="black",
                               label="your setting" if point is not None else "_nolegend_")
        ax.set_yscale("log")
        ax.set_xlabel("throughput (tokens per second)")
        ax.set_ylabel("p99 latency (s, log axis)")
        ax.set_title("batching: throughput vs tail latency (arrival rate grows along each line)")
        ax.legend(fontsize=7, ncol=3)
        self.update(point)

    def update(self, point: dict[str, Any] | None) -> None:
        if point is not None:
            x, y = point["throughput_tokens_per_s"], point["p99_latency_s"]
            self.star.set_data([x], [y])
            if not _inside(self.ax, x, y):
                self.ax.update_datalim([(x, y)])
                self.ax.autoscale_view()
        self.background_key = (self.ax.get_xlim(), self.ax.get_ylim())

    @property
    def moving(self) -> list[Any]:
        return [self.star]  # drawn last: over the legend if it lies there (the legend is too dear to redraw)


def plot_batching(curves: pd.DataFrame, *, pyplot: bool = True) -> plt.Figure:
    """Throughput against p99 latency, one line per (policy, batch size) over the arrival rates
    (:class:`BatchingFigure` without a point; ``pyplot`` as there)."""
    return BatchingFigure(curves, pyplot=pyplot).fig


def plot_batching_point(curves: pd.DataFrame, point: dict[str, Any], *, pyplot: bool = True) -> plt.Figure:
    """:func:`plot_batching` with one simulated run marked (``pyplot`` as there)."""
    return BatchingFigure(curves, point, pyplot=pyplot).fig


def _inside(ax: Any, x: float, y: float) -> bool:
    """Whether the data point (x, y) lies within the axes' current limits."""
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    return x0 <= x <= x1 and y0 <= y <= y1


def batching_widget(a: float, b: float, curves: pd.DataFrame):
    """Sliders for the batch size and the arrival rate, a policy picker -> throughput and p99 latency.

    Each setting is simulated once (:func:`lecture_lib.experiments.partE.batching_summary`); one
    :class:`BatchingFigure`, whose star moves over the cached curves.
    """
    import functools

    import ipywidgets as w
    from IPython.display import display

    bs = w.IntSlider(value=16, min=1, max=64, step=1, description="max batch")
    lam = w.FloatSlider(value=100.0, min=5.0, max=300.0, step=5.0, description="arrivals/s")
    policy = w.ToggleButtons(options=list(POLICY_COLORS), value="continuous", description="policy")
    summary_at = functools.lru_cache(maxsize=1024)(
        lambda policy, max_batch_size, arrival_rate: ex.batching_summary(policy, max_batch_size, arrival_rate, a=a, b=b))
    panel = figures.Panel()

    def show(max_batch_size, arrival_rate, policy):
        r = summary_at(policy, max_batch_size, arrival_rate)
        text = (f"{policy}, B <= {max_batch_size}, {arrival_rate:g} req/s: throughput "
                f"{r['throughput_tokens_per_s']:.0f} tokens/s, p99 latency {r['p99_latency_s']:.3g} s, offered load "
                f"{r['offered_load']:.2f}" + ("  (overloaded: the queue grows)" if r["offered_load"] >= 1 else ""))
        panel.show_live(lambda: BatchingFigure(curves, r, pyplot=False), lambda f: f.update(r), text=text)

    figures.live({"max_batch_size": bs, "arrival_rate": lam, "policy": policy}, show, panel)
    box = w.VBox([w.HBox([bs, lam]), policy, panel.widget])
    display(box)
    return box
