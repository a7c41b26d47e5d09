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


def plot_loss_scale(sweep: pd.DataFrame, current: float | None = None, *, pyplot: bool = True) -> plt.Figure:
    """Stacked shares (vanished / subnormal / normal / overflow) of the gradient values against log2 of the
    loss scale; ``current`` is marked.

    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """
    fig, ax = figures.subplots(figsize=(8, 3.6), pyplot=pyplot)
    x = sweep["log2_scale"].to_numpy()
    cols = ["vanished", "subnormal", "normal", "overflow"]
    _ = ax.stackplot(x, *[sweep[c].to_numpy() for c in cols], labels=cols, colors=[SHARE_COLORS[c] for c in cols],
                     alpha=0.85)
    if current is not None:
        _ = ax.axvline(current, color="black", lw=1.5, ls="--", label=f"s = 2^{current:g}")
    ax.set_xlabel("log2 of the loss scale s")
    ax.set_ylabel("share of nonzero gradient values")
    ax.set_ylim(0, 1)
    ax.set_title(f"{sweep['format'].iloc[0]}: what s × g becomes")
    ax.legend(fontsize=8, loc="center right")
    return fig


def loss_scale_widget(grads: Any, *, fmt: str = "fp16"):
    """A slider for log2 of the loss scale -> the shares of gradient values that vanish / overflow."""
    import ipywidgets as w
    from IPython.display import display

    sweep = ex.loss_scale_sweep(grads, tuple(range(-8, 33, 1)), fmt)
    slider = w.IntSlider(value=0, min=-8, max=32, step=1, description="log2 s")
    fmt_pick = w.ToggleButtons(options=["fp16", "bf16", "e5m2", "e4m3"], value=fmt, description="format")
    sweeps = {fmt: sweep}

    panel = figures.Panel()

    def show(log2_scale, fmt_name):
        if fmt_name not in sweeps:
            sweeps[fmt_name] = ex.loss_scale_sweep(grads, tuple(range(-8, 33, 1)), fmt_name)
        r = ex.loss_scale_summary(grads, log2_scale, fmt_name)
        text = (f"s = 2^{log2_scale}: vanished {r['vanished']:.2%}, subnormal {r['subnormal']:.2%}, "
                f"overflow {r['overflow']:.2%}" + ("  -> step skipped, scale halved" if r["step_skipped"] else ""))
        panel.show(plot_loss_scale(sweeps[fmt_name], log2_scale, pyplot=False), text=text)

    figures.live({"log2_scale": slider, "fmt_name": fmt_pick}, show, panel)
    box = w.VBox([w.HBox([slider, fmt_pick]), panel.widget])
    display(box)
    return box


def plot_checkpoint(table: pd.DataFrame, selected: int | None = None, ratios: pd.DataFrame | None = None, *,
                    pyplot: bool = True) -> plt.Figure:
    """Left: activation memory (kept between passes + the recomputed segment) per segment count, measured, with
    the memory model. Right: step time ratio, analytic (4/3) and, if given, measured.

    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """
    fig, (ax, bx) = figures.subplots(ncols=2, figsize=(10, 3.8), layout="constrained", pyplot=pyplot)
    k = table["segments"].to_numpy()
    mib = 2.0**20
    _ = ax.bar(k, table["forward_saved_bytes"] / mib, color="#1e88e5", label="kept for backward")
    _ = ax.bar(k, table["recompute_bytes"] / mib, bottom=table["forward_saved_bytes"] / mib, color="#90caf9",
               label="segment being recomputed")
    _ = ax.plot(k, table["predicted_peak_bytes"] / mib, "k.--", label="memory model")
    if selected is not None:
        _ = ax.axvline(selected, color="#e53935", lw=1.5, ls=":", label=f"k = {selected}")
    ax.set_xlabel("checkpoint segments k (0 = none)")
    ax.set_ylabel("peak activation memory (MiB)")
    ax.set_title("memory: exact bytes saved for backward")
    ax.legend(fontsize=8)
    _ = bx.plot(k, table["analytic_time_ratio"], "s-", color="#9e9e9e", label="analytic (bwd = 2 fwd)")
    if ratios is not None:
        _ = bx.plot(ratios["segments"], ratios["time_ratio"], "o-", color="#e53935", label="measured (recorded)")
    if selected is not None:
        _ = bx.axvline(selected, color="#e53935", lw=1.5, ls=":")
    bx.set_ylim(0.8, 1.8)
    bx.set_xlabel("checkpoint segments k (0 = none)")
    bx.set_ylabel("step time / no checkpointing")
    bx.set_title("time: one extra forward")
    bx.legend(fontsize=8)
    return fig


def checkpoint_widget(table: pd.DataFrame, ratios: pd.DataFrame | None = None):
    """A slider for the number of segments -> memory vs recompute."""
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
        panel.show(plot_checkpoint(table, k, ratios, pyplot=False), text=text)

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


def plot_batching(curves: pd.DataFrame, *, pyplot: bool = True) -> plt.Figure:
    """Throughput against p99 latency, one line per (policy, batch size) over the arrival rates.

    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """
    fig, ax = figures.subplots(figsize=(8, 4.2), pyplot=pyplot)
    markers = dict(zip(sorted(curves["max_batch_size"].unique()), "os^Dv"))
    for (policy, bs), g in curves.groupby(["policy", "max_batch_size"], sort=False):
        g = g.sort_values("arrival_rate")
        _ = ax.plot(g["throughput_tokens_per_s"], g["p99_latency_s"], marker=markers.get(bs, "o"), ms=4,
                    color=POLICY_COLORS.get(policy), alpha=0.85, label=f"{policy}, B ≤ {bs}")
    ax.set_yscale("log")
    ax.set_xlabel("throughput (tokens per second)")
    ax.set_ylabel("p99 latency (s, log axis)")
    ax.set_title("batching: throughput vs tail latency (arrival rate grows along each line)")
    ax.legend(fontsize=7, ncol=3)
    return fig


def plot_batching_point(curves: pd.DataFrame, point: dict[str, Any], *, pyplot: bool = True) -> plt.Figure:
    """:func:`plot_batching` with one simulated run marked (``pyplot`` as there)."""
    fig = plot_batching(curves, pyplot=pyplot)
    ax = fig.axes[0]
    _ = ax.plot([point["throughput_tokens_per_s"]], [point["p99_latency_s"]], "*", ms=16, color="black",
                label="your setting")
    ax.legend(fontsize=7, ncol=3)
    return fig


def _inside(ax: Any, x: float, y: float) -> bool:
    """Whether the data point (x, y) lies within the axes' current limits."""
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    return x0 <= x <= x1 and y0 <= y <= y1


def batching_widget(a: float, b: float, curves: pd.DataFrame):
    """Sliders for the batch size and the arrival rate, a policy picker -> throughput and p99 latency."""
    import ipywidgets as w
    from IPython.display import display

    bs = w.IntSlider(value=16, min=1, max=64, step=1, description="max batch")
    lam = w.FloatSlider(value=100.0, min=5.0, max=300.0, step=5.0, description="arrivals/s")
    policy = w.ToggleButtons(options=list(POLICY_COLORS), value="continuous", description="policy")

    panel = figures.Panel()
    drawn: list[Any] = []  # one figure: the curves never change, only the star of the current setting moves

    def show(max_batch_size, arrival_rate, policy):
        r = ex.batching_summary(policy, max_batch_size, arrival_rate, a=a, b=b)
        text = (f"{policy}, B <= {max_batch_size}, {arrival_rate:g} req/s: throughput "
                f"{r['throughput_tokens_per_s']:.0f} tokens/s, p99 latency {r['p99_latency_s']:.3g} s, offered load "
                f"{r['offered_load']:.2f}" + ("  (overloaded: the queue grows)" if r["offered_load"] >= 1 else ""))
        x, y = r["throughput_tokens_per_s"], r["p99_latency_s"]
        if drawn and _inside(drawn[0].axes[0], x, y):
            drawn[1].set_data([x], [y])
            redraw = "moving"
        else:  # first time, or the point left the axes: draw the figure anew around it
            fig = plot_batching_point(curves, r, pyplot=False)
            drawn[:] = [fig, next(ln for ln in fig.axes[0].lines if ln.get_label() == "your setting")]
            redraw = "layout"
        panel.show(drawn[0], text=text, redraw=redraw, moving=[drawn[1]])

    figures.live({"max_batch_size": bs, "arrival_rate": lam, "policy": policy}, show, panel)
    box = w.VBox([w.HBox([bs, lam]), policy, panel.widget])
    display(box)
    return box
