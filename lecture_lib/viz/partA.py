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


def plot_weight_view(view: dict[str, Any], *, title: str = "weight", pyplot: bool = True) -> plt.Figure:
    """Histogram of the slice that shares one scale, with the grid's representable values as vertical lines.

    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """
    values = np.asarray(view["values"], dtype=np.float64)
    levels = np.asarray(view["levels"], dtype=np.float64)
    fig, ax = figures.subplots(figsize=(7.0, 3.6), pyplot=pyplot)
    span = max(float(np.abs(values).max()), float(np.abs(levels).max()), 1e-12)
    bins = np.linspace(-span * 1.05, span * 1.05, 121)
    _ = ax.hist(values, bins=bins, color="tab:blue", alpha=0.7, label=f"weights sharing one scale ({values.size})")
    step = max(1, len(levels) // 64)  # at 7-8 bits draw every few levels only
    for k, lv in enumerate(levels[::step]):
        _ = ax.axvline(lv, color="tab:red", lw=0.6, alpha=0.6, label="representable values" if k == 0 else None)
    ax.set_xlabel("weight value")
    ax.set_ylabel("count (weights per bin)")
    sym = "symmetric" if view["symmetric"] else "asymmetric"
    ax.set_title(f"{title}: INT{view['bits']} {sym}, {view['granularity']}" + (" (every %d-th level)" % step if step > 1 else ""))
    ax.legend(loc="upper right", fontsize=8)
    return fig


def weight_widget(weight: Any, *, title: str = "weight") -> Any:
    """Bits slider (2-8), symmetric/asymmetric toggle, granularity picker: histogram, levels, errors, bytes."""
    import ipywidgets as widgets
    from IPython.display import display

    bits = widgets.IntSlider(value=4, min=2, max=8, description="bits")
    scheme = widgets.ToggleButtons(options=["symmetric", "asymmetric"], value="symmetric", description="scheme")
    gran = widgets.Dropdown(options=list(E.GRANULARITIES), value="per-channel", description="granularity")

    def show(bits: int, scheme: str, granularity: str) -> None:
        view = E.weight_view(weight, bits, symmetric=scheme == "symmetric", granularity=granularity)
        print(weight_summary(view))
        figures.show(plot_weight_view(view, title=title, pyplot=False))

    out = widgets.interactive_output(show, {"bits": bits, "scheme": scheme, "granularity": gran})
    ui = widgets.VBox([widgets.HBox([bits, scheme]), gran, out])
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


def plot_fp8_view(view: dict[str, Any], *, pyplot: bool = True) -> plt.Figure:
    """Left: every positive value of the format on a log axis. Right: relative rounding error vs magnitude.

    ``pyplot=False`` draws outside pyplot's figure list (for the widget; see :mod:`lecture_lib.viz.figures`).
    """
    info = view["info"]
    fig, (ax0, ax1) = figures.subplots(ncols=2, figsize=(10.0, 3.6), pyplot=pyplot)
    pos = view["positive_values"]
    _ = ax0.eventplot([pos], orientation="horizontal", colors="tab:blue", lineoffsets=0.5, linelengths=0.8)
    _ = ax0.axvline(info["min_normal"], color="tab:green", ls="--", label=f"smallest normal {info['min_normal']:g}")
    _ = ax0.axvline(info["max"], color="tab:red", ls="--", label=f"largest finite {info['max']:g}")
    ax0.set_xscale("log")
    ax0.set_yticks([])
    ax0.set_xlabel("value (log scale)")
    ax0.set_ylabel("positive codes")
    ax0.set_title(f"{info['fmt'].upper()}: all {len(pos)} positive finite values")
    ax0.legend(loc="upper left", fontsize=8)
    curve = view["curve"]
    _ = ax1.loglog(curve["x"], np.maximum(curve["rel_error"], 1e-8), lw=0.8, label="|x - fp8(x)| / |x|")
    _ = ax1.axhline(info["unit_roundoff"], color="tab:orange", ls="--",
                    label=f"bound 2^-{info['mantissa_bits'] + 1} = {info['unit_roundoff']:.4g}")
    if np.isfinite(view["rel_error"]) and view["rel_error"] > 0:
        _ = ax1.plot([view["x"]], [view["rel_error"]], "o", color="tab:red", label=f"x = {view['x']:g}")
    ax1.set_ylim(1e-5, 2)
    ax1.set_xlabel("|x| (log scale)")
    ax1.set_ylabel("relative error")
    ax1.set_title("relative rounding error (saturating)")
    ax1.legend(loc="lower left", fontsize=8)
    return fig


def fp8_widget() -> Any:
    """Format toggle (E4M3 / E5M2), saturate checkbox and a log-scale probe value."""
    import ipywidgets as widgets
    from IPython.display import display

    fmt = widgets.ToggleButtons(options=[("E4M3", "e4m3"), ("E5M2", "e5m2")], value="e4m3", description="format")
    sat = widgets.Checkbox(value=True, description="saturate on overflow")
    x = widgets.FloatLogSlider(value=1000.0, base=10, min=-4, max=5.5, step=0.05, description="x")

    static = {f: E.fp8_view(f, 1.0) for f in ("e4m3", "e5m2")}  # value grid and error curve: once per format

    def show(fmt: str, saturate: bool, x: float) -> None:
        view = {**static[fmt], **E.fp8_probe(fmt, float(x), saturate=saturate)}
        print(fp8_summary(view))
        figures.show(plot_fp8_view(view, pyplot=False))

    out = widgets.interactive_output(show, {"fmt": fmt, "saturate": sat, "x": x})
    ui = widgets.VBox([widgets.HBox([fmt, sat]), x, out])
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
