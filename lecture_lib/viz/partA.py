"""Part A presentation: plots and widgets over :mod:`lecture_lib.experiments.partA` (quantization).

Used by ``notebooks/partA_quantization.ipynb``. Each widget is a thin layer over a pure function that the tests
call (:func:`~lecture_lib.experiments.partA.weight_view`, :func:`~lecture_lib.experiments.partA.fp8_view`); the
plot functions take that function's result and return the matplotlib figure.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lecture_lib.experiments import partA as E
from lecture_lib.viz import figures

__all__ = [
    "WeightFigure",
    "FP8Figure",
    "plot_weight_view",
    "weight_summary",
    "weight_widget",
    "plot_fp8_view",
    "fp8_summary",
    "fp8_widget",
    "plot_rate_distortion",
    "plot_ptq",
    "plot_kv_cache",
    "plot_gptq",
    "plot_lowbit_speedups",
]


# ----------------------------------------------------------------------------------------------- Zone 1: weights
def weight_summary(view: dict[str, Any]) -> str:
    """One line per fact: scheme, scale, error statistics and bytes (rounded for stable printing)."""
    st = view["stats"]
    scheme = f"INT{view['bits']} {'symmetric' if view['symmetric'] else 'asymmetric'} {view['granularity']}"
    return "\n".join([
        f"scheme          : {scheme}",
        f"scale (shown)   : {view['scale']:.4g}" + ("" if view["symmetric"] else f", zero point {view['zero_point']}"),
        f"mean |error|    : {st['mean_abs_error']:.3g}  (= {st['mean_error_over_scale']:.3f} x scale; uniform error gives 0.25)",
        f"max |error|     : {st['max_abs_error']:.3g}",
        f"SNR             : {st['snr_db']:.1f} dB",
        f"bytes           : {view['nbytes']:,} vs {view['fp32_bytes']:,} in float32 ({view['compression']:.2f}x smaller)",
    ])


class WeightFigure:
    """Histogram of the slice that shares one scale, with the grid's representable values as vertical lines.

    Drawn once; :meth:`update` moves the same artists to another view (the widget's in-place redraw).
    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """

    N_BINS = 120
    MAX_LINES = 64  # at 7-8 bits draw every few levels only

    def __init__(self, view: dict[str, Any], *, title: str = "weight", pyplot: bool = True) -> None:
        self.title = title
        self.fig, self.ax = figures.subplots(figsize=(7.0, 3.6), pyplot=pyplot)
        ax = self.ax
        self.hist = ax.stairs(np.zeros(self.N_BINS), np.linspace(-1.0, 1.0, self.N_BINS + 1), fill=True,
                              color="tab:blue", alpha=0.7)
        self.levels = ax.vlines([], 0, 1, transform=ax.get_xaxis_transform(), color="tab:red", lw=0.6, alpha=0.6)
        ax.set_xlabel("weight value")
        ax.set_ylabel("count (weights per bin)")
        self.update(view)

    def update(self, view: dict[str, Any]) -> str:
        """Show ``view``; returns what changed (:data:`lecture_lib.viz.figures.REDRAW`).

        The histogram and the axes depend only on the slice of weights (the granularity); the bit width and the
        scheme move only the grid lines and the title.
        """
        values = np.asarray(view["values"], dtype=np.float64)
        levels = np.asarray(view["levels"], dtype=np.float64)
        ax = self.ax
        key = (values.size, float(values.min()), float(values.max()))
        redraw = "moving"
        if key != getattr(self, "_key", None):
            self._key, redraw = key, "layout"
            span = max(float(np.abs(values).max()), 1e-12) * 1.08  # the grid spans the slice (+ half a step)
            edges = np.linspace(-span, span, self.N_BINS + 1)
            counts, _ = np.histogram(values, bins=edges)
            self.hist.set_data(counts, edges)
            ax.set_xlim(edges[0], edges[-1])
            ax.set_ylim(0.0, float(counts.max()) * 1.08 + 1.0)
            ax.legend([self.hist, self.levels], [f"weights sharing one scale ({values.size})", "representable values"],
                      loc="upper right", fontsize=8)
        step = max(1, len(levels) // self.MAX_LINES)
        self.levels.set_segments([[(lv, 0.0), (lv, 1.0)] for lv in levels[::step]])
        sym = "symmetric" if view["symmetric"] else "asymmetric"
        ax.set_title(f"{self.title}: INT{view['bits']} {sym}, {view['granularity']}"
                     + (f" (1 level in {step} drawn)" if step > 1 else ""))
        return redraw

    @property
    def moving(self) -> list[Any]:
        """The artists a bit-width or scheme change moves (drawn over the cached rest)."""
        return [self.levels, self.ax.title]


def plot_weight_view(view: dict[str, Any], *, title: str = "weight", pyplot: bool = True) -> plt.Figure:
    """The figure of :class:`WeightFigure` for one view (histogram of the slice sharing a scale, grid values)."""
    return WeightFigure(view, title=title, pyplot=pyplot).fig


def weight_widget(weight: Any, *, title: str = "weight") -> Any:
    """Bits slider (2-8), symmetric/asymmetric toggle, granularity picker: histogram, levels, errors, bytes.

    One figure, updated in place on every change, shown in a :class:`~lecture_lib.viz.figures.Panel`.
    """
    import ipywidgets as widgets
    from IPython.display import display

    bits = widgets.IntSlider(value=4, min=2, max=8, description="bits")
    scheme = widgets.ToggleButtons(options=["symmetric", "asymmetric"], value="symmetric", description="scheme")
    gran = widgets.Dropdown(options=list(E.GRANULARITIES), value="per-channel", description="granularity")
    panel = figures.Panel()
    drawn: list[WeightFigure] = []

    def show(bits: int, scheme: str, granularity: str) -> None:
        view = E.weight_view(weight, bits, symmetric=scheme == "symmetric", granularity=granularity)
        if not drawn:
            drawn.append(WeightFigure(view, title=title, pyplot=False))
            redraw = "layout"
        else:
            redraw = drawn[0].update(view)
        panel.show(drawn[0].fig, text=weight_summary(view), redraw=redraw, moving=drawn[0].moving)

    ui = widgets.VBox([widgets.HBox([bits, scheme]), gran, panel.widget])
    figures.live({"bits": bits, "scheme": scheme, "granularity": gran}, show, panel)
    display(ui)
    return ui


# ----------------------------------------------------------------------------------------------- Zone 1: FP8
def fp8_summary(view: dict[str, Any]) -> str:
    info = view["info"]
    stored = view["stored"]
    rel = view["rel_error"]
    rel_txt = "n/a" if not np.isfinite(rel) else f"{100 * rel:.2f} %"
    return "\n".join([
        f"format          : {info['fmt'].upper()} ({info['exponent_bits']} exponent, {info['mantissa_bits']} mantissa bits, bias {info['bias']})",
        f"largest finite  : {info['max']:g}   smallest normal {info['min_normal']:g}   smallest subnormal {info['min_subnormal']:g}",
        f"distinct values : {info['distinct_finite_values']} finite ({info['nan_codes']} NaN codes, {info['inf_codes']} inf codes)",
        f"rounding bound  : {100 * info['unit_roundoff']:.2f} % relative (normal range)",
        f"x = {view['x']:g} is stored as {stored:g} ({'saturating' if view['saturate'] else 'non-saturating'}), relative error {rel_txt}",
    ])


class FP8Figure:
    """Left: every positive value of the format on a log axis. Right: relative rounding error vs magnitude.

    Drawn once; :meth:`update` moves the same artists (probe point, curve, format) to another view.
    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    The error curve is the one in ``view["curve"]``: with saturation, magnitudes above the largest finite value
    round to it; without, they become NaN or inf and the curve stops there (the title names the mode).
    """

    def __init__(self, view: dict[str, Any], *, pyplot: bool = True) -> None:
        self.fig, (ax0, ax1) = figures.subplots(ncols=2, figsize=(10.0, 3.6), pyplot=pyplot)
        self.ax0, self.ax1 = ax0, ax1
        self.events = ax0.eventplot([[1.0]], orientation="horizontal", colors="tab:blue", lineoffsets=0.5,
                                    linelengths=0.8)[0]
        self.min_normal = ax0.axvline(1.0, color="tab:green", ls="--")
        self.max = ax0.axvline(1.0, color="tab:red", ls="--")
        ax0.set_xscale("log")
        figures.plain_log_ticks(ax0.xaxis)
        ax0.set_ylim(0.0, 1.0)
        ax0.set_yticks([])
        ax0.set_xlabel("value (log scale)")
        ax0.set_ylabel("positive codes")
        (self.curve,) = ax1.plot([1.0], [1.0], lw=0.8)
        self.bound = ax1.axhline(1.0, color="tab:orange", ls="--")
        (self.probe,) = ax1.plot([1.0], [1.0], "o", color="tab:red")
        ax1.set_xscale("log")
        ax1.set_yscale("log")
        figures.plain_log_ticks(ax1.xaxis)
        figures.plain_log_ticks(ax1.yaxis)
        ax1.set_ylim(1e-5, 2)
        ax1.set_xlabel("|x| (log scale)")
        ax1.set_ylabel("relative error")
        self._key: tuple[str, bool] | None = None
        self.update(view)

    def update(self, view: dict[str, Any]) -> str:
        """Show ``view``; returns what changed (:data:`lecture_lib.viz.figures.REDRAW`): a new probe value moves
        only the probe point and its legend; a new format or saturation mode redraws the rest (same layout)."""
        info = view["info"]
        ax0, ax1 = self.ax0, self.ax1
        key = (info["fmt"], bool(view["saturate"]))
        redraw = "moving"
        if key != self._key:
            self._key, redraw = key, "background"
            pos = np.asarray(view["positive_values"], dtype=np.float64)
            self.events.set_positions(pos)
            self.min_normal.set_xdata([info["min_normal"]])
            self.max.set_xdata([info["max"]])
            ax0.set_xlim(pos.min() / 2, pos.max() * 2)
            ax0.set_title(f"{info['fmt'].upper()}: all {len(pos)} positive finite values")
            ax0.legend([self.min_normal, self.max],
                       [f"smallest normal {info['min_normal']:g}", f"largest finite {info['max']:g}"],
                       loc="upper left", fontsize=8)
            self.bound.set_ydata([info["unit_roundoff"]])
            curve = view["curve"]
            x = np.asarray(curve["x"], dtype=np.float64)
            self.curve.set_data(x, np.maximum(np.asarray(curve["rel_error"], dtype=np.float64), 1e-8))
            ax1.set_xlim(x.min(), x.max())
            ax1.set_title(f"relative rounding error ({'saturating' if view['saturate'] else 'non-saturating'})")
        rel = view["rel_error"]
        marked = bool(np.isfinite(rel) and rel > 0)
        self.probe.set_data([view["x"]], [rel if marked else 1.0])
        self.probe.set_visible(marked)
        handles = [self.curve, self.bound] + ([self.probe] if marked else [])
        labels = ["|x - fp8(x)| / |x|", f"bound 2^-{info['mantissa_bits'] + 1} = {info['unit_roundoff']:.4g}"]
        labels += [f"x = {view['x']:.4g}"] if marked else []
        self.legend = ax1.legend(handles, labels, loc="lower left", fontsize=8)
        return redraw

    @property
    def moving(self) -> list[Any]:
        """The artists a new probe value moves: the point and the legend naming it."""
        return [self.probe, self.legend]


def plot_fp8_view(view: dict[str, Any], *, pyplot: bool = True) -> plt.Figure:
    """The figure of :class:`FP8Figure` for one view (the format's values; relative rounding error)."""
    return FP8Figure(view, pyplot=pyplot).fig


def fp8_widget() -> Any:
    """Format toggle (E4M3 / E5M2), saturate checkbox and a log-scale probe value.

    The value grid and the error curves (per format, with and without saturation) are computed once; a change
    only probes one value and updates the one figure in place.
    """
    import ipywidgets as widgets
    from IPython.display import display

    fmt = widgets.ToggleButtons(options=[("E4M3", "e4m3"), ("E5M2", "e5m2")], value="e4m3", description="format")
    sat = widgets.Checkbox(value=True, description="saturate on overflow")
    x = widgets.FloatLogSlider(value=1000.0, base=10, min=-4, max=5.5, step=0.05, description="x")

    static = {f: E.fp8_view(f, 1.0) for f in ("e4m3", "e5m2")}  # value grid and error curve: once per format
    curves = {(f, s): static[f]["curve"] if s else E.fp8_relative_error(f, saturate=False)
              for f in static for s in (True, False)}
    panel = figures.Panel()
    drawn: list[FP8Figure] = []

    def show(fmt: str, saturate: bool, x: float) -> None:
        view = {**static[fmt], "curve": curves[fmt, saturate], **E.fp8_probe(fmt, float(x), saturate=saturate)}
        if not drawn:
            drawn.append(FP8Figure(view, pyplot=False))
            redraw = "layout"
        else:
            redraw = drawn[0].update(view)
        panel.show(drawn[0].fig, text=fp8_summary(view), redraw=redraw, moving=drawn[0].moving,
                   background=(fmt, saturate))

    ui = widgets.VBox([widgets.HBox([fmt, sat]), x, panel.widget])
    figures.live({"fmt": fmt, "saturate": sat, "x": x}, show, panel)
    display(ui)
    return ui


# ----------------------------------------------------------------------------------------------- Zones 2, 5, 6
def plot_rate_distortion(df: pd.DataFrame) -> plt.Figure:
    """MSE (units of sigma^2) vs bits for the bound and the scalar quantizers (log scale)."""
    fig, ax = plt.subplots(figsize=(7.0, 4.0))
    series = [
        ("bound", "Shannon bound sigma^2 2^(-2b)", "k", "-"),
        ("lloyd_max", "Lloyd-Max (2^b levels)", "tab:green", "-o"),
        ("uniform_opt_clip", "uniform, MSE-optimal clip (2^b levels)", "tab:blue", "-s"),
        ("int_b_opt_clip", "INT-b grid (2^b - 1 levels), optimal clip", "tab:purple", "--^"),
        ("uniform_absmax", "INT-b grid, absmax of a 4096 block", "tab:red", "-v"),
    ]
    for col, label, color, style in series:
        _ = ax.semilogy(df["bits"], df[col], style, color=color, label=label, ms=4)
    ax.set_xlabel("bits per weight b")
    ax.set_ylabel("mean squared error (units of sigma^2)")
    ax.set_title("Quantizing a Gaussian: how close to the bound?")
    ax.legend(fontsize=8)
    return fig


def plot_ptq(df: pd.DataFrame) -> plt.Figure:
    """Horizontal bars: perplexity increase over FP32 per PTQ scheme (log axis), labelled with bits per weight."""
    rows = df.iloc[1:]
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(rows) + 1.4))
    floor = 1e-3
    colors = ["tab:orange" if "FP8" in sc else ("tab:red" if "per-tensor" in sc else "tab:blue") for sc in rows["scheme"]]
    labels = [f"{sc} ({bpw:.2f} b/w)" for sc, bpw in zip(rows["scheme"], rows["bits_per_weight"])]
    vals = np.maximum(rows["increase_pct"].to_numpy(dtype=float), floor)
    _ = ax.barh(labels, vals, color=colors)
    _ = ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(floor / 2, max(float(vals.max()) * 3, 1.0))
    ax.set_xlabel("perplexity increase over FP32 (%, log scale)")
    ax.set_ylabel("scheme (stored bits per weight)")
    ax.set_title(f"Weight-only PTQ on the tiny LM (values <= {floor} % drawn at {floor} %)", fontsize=10)
    for color, label in (("tab:blue", "INT per-channel / group"), ("tab:red", "INT per-tensor"),
                         ("tab:orange", "FP8 per-channel")):
        _ = ax.barh([labels[0]], [0], color=color, label=label)
    ax.legend(fontsize=8, loc="upper right")
    return fig


def plot_kv_cache(df: pd.DataFrame) -> plt.Figure:
    """Bytes per token of the KV cache vs perplexity increase for each storage kind."""
    fig, ax = plt.subplots(figsize=(7.0, 4.0))
    _ = ax.scatter(df["bytes_per_token"], df["increase_pct"], color="tab:blue", label="KV storage kind")
    for _, r in df.iterrows():
        _ = ax.annotate(r["kind"], (r["bytes_per_token"], r["increase_pct"]), fontsize=8, xytext=(4, 2),
                        textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("KV-cache bytes per token (all layers, K and V, with scales)")
    ax.set_ylabel("perplexity increase over fp32 cache (%)")
    ax.set_title("Quantized KV cache on the tiny LM")
    ax.legend(fontsize=8)
    return fig


def plot_gptq(df: pd.DataFrame) -> plt.Figure:
    """Grouped bars: perplexity increase of round-to-nearest vs GPTQ at each bit width."""
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    bits = sorted(df["bits"].unique(), reverse=True)
    xs = np.arange(len(bits))
    for k, (method, color) in enumerate((("round-to-nearest", "tab:red"), ("GPTQ", "tab:green"))):
        vals = [float(df[(df["bits"] == b) & (df["method"] == method)]["increase_pct"].iloc[0]) for b in bits]
        _ = ax.bar(xs + (k - 0.5) * 0.38, vals, width=0.38, color=color, label=method)
    ax.set_xticks(xs, [f"INT{b} per-channel" for b in bits])
    ax.set_ylabel("perplexity increase over FP32 (%)")
    ax.set_xlabel("weight format")
    ax.set_title("GPTQ vs round-to-nearest, same bits")
    ax.legend(fontsize=8)
    return fig


def plot_lowbit_speedups(speedups: pd.DataFrame, *, cpu: str = "") -> plt.Figure:
    """Speed-up over float32 of each packed kernel against the float32 weight's size (MB, log axis), with the
    bandwidth bounds of 8 and 4 bits and the break-even line (``speedups`` from
    :func:`lecture_lib.experiments.partA.lowbit_speedups`)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    df = speedups.sort_values("fp32 MB")
    mb = df["fp32 MB"].to_numpy()
    styles = {"bf16": ("#9e9e9e", "s", "--"), "int8 w-only, fp32 act": ("#1e88e5", "v", ":"),
              "int8 w-only, bf16 act": ("#1e88e5", "o", "-"), "int4 w-only, fp32 act": ("#e53935", "v", ":"),
              "int4 w-only, bf16 act": ("#e53935", "o", "-"), "int8 dynamic": ("#43a047", "D", "-")}
    for name, (color, marker, ls) in styles.items():
        if name in df.columns:
            _ = ax.plot(mb, df[name], marker=marker, ls=ls, color=color, label=name)
    _ = ax.plot(mb, df["bound: 8-bit"], color="#1e88e5", lw=0.8, alpha=0.5, label="bandwidth bound, 8 bits")
    _ = ax.plot(mb, df["bound: 4-bit"], color="#e53935", lw=0.8, alpha=0.5, label="bandwidth bound, 4 bits")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("float32 weight size (MB); tiny LM at the left, 4096 x 11008 at the right")
    ax.set_ylabel("speed-up over float32 F.linear (x)")
    ax.set_title("One matrix-vector product on one CPU thread" + (f" ({cpu})" if cpu else ""))
    ax.legend(fontsize=7, ncol=2)
    return fig
