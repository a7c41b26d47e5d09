"""Part B presentation: plots and the two widgets, thin over :mod:`lecture_lib.experiments.partB`.

Used by ``notebooks/partB_distillation_speculative.ipynb``. Each plotting function takes data, draws one figure
and returns it. The temperature widget draws :func:`plot_temperature_view` of
:func:`lecture_lib.experiments.partB.temperature_view`; the acceptance widget draws :func:`plot_acceptance_view`
of :func:`lecture_lib.experiments.partB.acceptance_view`.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lecture_lib import speculative, tinylm
from lecture_lib.experiments import partB as ex
from lecture_lib.viz import figures

__all__ = [
    "acceptance_widget",
    "plot_acceptance_view",
    "plot_distill_curves",
    "plot_spec_grid",
    "plot_temperature_view",
    "temperature_widget",
]

DRAFT_COLORS = {"student": "#1e88e5", "int4-self": "#e53935"}


def _label(token_id: int) -> str:
    ch = tinylm.decode([int(token_id)])
    return {" ": "␣", "\n": "\\n", "\t": "\\t"}.get(ch, ch)


def plot_temperature_view(view: dict[str, Any], *, pyplot: bool = True) -> plt.Figure:
    """Left: teacher vs student soft targets p(T) on the teacher's top tokens. Right: the numbers."""
    fig, (ax, ax2) = figures.subplots(nrows=1, ncols=2, figsize=(9, 3.4), gridspec_kw={"width_ratios": [2.2, 1]},
                                      pyplot=pyplot)
    x = np.arange(len(view["ids"]))
    _ = ax.bar(x - 0.2, view["p_teacher"], width=0.4, color="#6a1b9a", label="teacher p_T(T)")
    _ = ax.bar(x + 0.2, view["p_student"], width=0.4, color="#f9a825", label="student p_S(T)")
    ax.set_xticks(x, [_label(i) for i in view["ids"]])
    ax.set_ylim(0, 1)
    ax.set_xlabel("next character (teacher's top choices)")
    ax.set_ylabel("probability")
    ax.set_title(f"soft targets at T = {view['T']:g}")
    ax.legend(fontsize=8)
    names = ["KL (nats)", "|grad| with T²", "|grad| without T²"]
    vals = [view["kl"], view["grad_with_T2"], view["grad_without_T2"]]
    _ = ax2.barh(names, vals, color=["#455a64", "#43a047", "#e53935"], label="value")
    ax2.set_xscale("log")
    ax2.set_xlim(1e-6, 10)
    ax2.set_xlabel("value (log scale)")
    ax2.set_title("KL and soft-gradient size")
    for i, v in enumerate(vals):
        _ = ax2.text(max(v, 1.2e-6), i, f" {v:.3g}", va="center", fontsize=8)

    return fig


def temperature_widget(teacher_logits, student_logits):
    """A temperature slider over :func:`lecture_lib.experiments.partB.temperature_view`."""
    import ipywidgets as w
    from IPython.display import display

    T = w.FloatLogSlider(value=2.0, base=10, min=-0.5, max=2, step=0.05, description="T")

    def show(T):
        figures.show(plot_temperature_view(ex.temperature_view(teacher_logits, student_logits, T), pyplot=False))

    out = w.interactive_output(show, {"T": T})
    box = w.VBox([T, out])
    display(box)
    return box


def plot_acceptance_view(view: dict[str, Any], *, k_max: int = 12, n_steps: int = 4000, seed: int = 0,
                         pyplot: bool = True) -> plt.Figure:
    """Tokens per step and speedup vs k at one (alpha, c): formula lines, simulated dots, the chosen k marked."""
    a, c = view["alpha"], view["c"]
    ks = np.arange(1, k_max + 1)
    tok = [speculative.expected_tokens_per_step(a, int(k)) for k in ks]
    spd = [speculative.expected_speedup(a, int(k), c) for k in ks]
    sim = [speculative.simulate_tokens_per_step(a, int(k), n_steps, seed=seed).mean() for k in ks]
    fig, (ax, ax2) = figures.subplots(nrows=1, ncols=2, figsize=(9, 3.4), pyplot=pyplot)
    _ = ax.plot(ks, tok, "-", color="#1e88e5", label="formula (1-α^(k+1))/(1-α)")
    _ = ax.plot(ks, sim, "o", color="#0d47a1", ms=4, label=f"simulated ({n_steps} steps)")
    if a < 1:
        _ = ax.axhline(1 / (1 - a), color="gray", ls=":", label="k → ∞ limit 1/(1-α)")
    _ = ax.plot([view["k"]], [view["tokens_formula"]], "*", color="black", ms=12, label=f"k = {view['k']}")
    ax.set_xlabel("draft length k (tokens)")
    ax.set_ylabel("tokens per target call")
    ax.set_title(f"α = {a:.2f}")
    ax.legend(fontsize=7)
    _ = ax2.plot(ks, spd, "-", color="#43a047", label=f"speedup, c = {c:.2f}")
    _ = ax2.plot(ks, np.array(sim) / (ks * c + 1), "o", color="#1b5e20", ms=4, label="simulated / (k c + 1)")
    _ = ax2.axhline(1.0, color="black", lw=0.6)
    _ = ax2.plot([view["k"]], [view["speedup_formula"]], "*", color="black", ms=12, label=f"k = {view['k']}")
    ax2.set_xlabel("draft length k (tokens)")
    ax2.set_ylabel("speedup over plain decoding (×)")
    ax2.set_title("expected wall-clock speedup")
    ax2.legend(fontsize=7)

    return fig


def acceptance_widget():
    """alpha, k and draft-cost sliders over :func:`lecture_lib.experiments.partB.acceptance_view`."""
    import ipywidgets as w
    from IPython.display import display

    alpha = w.FloatSlider(value=0.8, min=0.0, max=0.99, step=0.01, description="α")
    k = w.IntSlider(value=4, min=1, max=12, description="k")
    c = w.FloatSlider(value=0.1, min=0.0, max=1.0, step=0.01, description="draft cost c")

    def show(alpha, k, c):
        v = ex.acceptance_view(alpha, k, c, n_steps=4000)
        print(f"tokens/step: formula {v['tokens_formula']:.3f}, simulated {v['tokens_simulated']:.3f} "
              f"± {v['tokens_sem']:.3f}; speedup {v['speedup_formula']:.2f}×")
        figures.show(plot_acceptance_view(v, n_steps=2000, pyplot=False))

    out = w.interactive_output(show, {"alpha": alpha, "k": k, "c": c})
    box = w.VBox([w.HBox([alpha, k, c]), out])
    display(box)
    return box


def plot_distill_curves(results: dict[str, Any]) -> plt.Figure:
    """Training cross-entropy per step of the scratch student and every distilled one (recorded logs)."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    cmap = plt.get_cmap("viridis")
    dist = [r for r in results["runs"] if r["kind"] == "distilled"]
    for r in results["runs"]:
        log = pd.DataFrame(r["log"])
        if r["kind"] == "scratch":
            _ = ax.plot(log["step"], log["hard"], color="black", lw=2, label="from scratch (α = 0)")
        else:
            i = dist.index(r)
            _ = ax.plot(log["step"], log["hard"], color=cmap(i / max(1, len(dist) - 1)), lw=1.2,
                        label=f"distilled, T = {r['T']:g}, α = {r['alpha']:g}")
    ax.set_xlabel("training step")
    ax.set_ylabel("train cross-entropy (nats/char)")
    ax.set_title("same student, same budget: hard-label loss during training")
    ax.set_ylim(top=3.5)
    ax.legend(fontsize=8)
    return fig


def plot_spec_grid(records: Sequence[dict[str, Any]], *, timings: bool = True) -> plt.Figure:
    """Per temperature: tokens per full-length step (measured vs the formula at the measured alpha) and, with
    timings, the measured wall-clock speedup vs the predicted S(alpha, k, c)."""
    df = pd.DataFrame(list(records))
    temps = sorted(df["T"].unique())
    nrows = 2 if timings else 1
    fig, axes = plt.subplots(nrows, len(temps), figsize=(3.3 * len(temps), 3.0 * nrows), squeeze=False, sharey="row")
    for j, T in enumerate(temps):
        ax = axes[0][j]
        for d, g in df[df["T"] == T].groupby("draft", sort=False):
            col = "tokens_per_full_step" if "tokens_per_full_step" in g else "tokens_per_target_call"
            _ = ax.plot(g["k"], g[col], "o-", color=DRAFT_COLORS.get(d), label=f"{d} measured")
            _ = ax.plot(g["k"], g["formula_tokens"], "--", color=DRAFT_COLORS.get(d), alpha=0.6, label=f"{d} formula")
        ax.set_title(f"T = {T:g}")
        ax.set_xlabel("draft length k")
        if j == 0:
            ax.set_ylabel("tokens per target call\n(full-length steps)")
        ax.legend(fontsize=7)
        if timings:
            ax = axes[1][j]
            for d, g in df[df["T"] == T].groupby("draft", sort=False):
                _ = ax.plot(g["k"], g["speedup"], "o-", color=DRAFT_COLORS.get(d), label=f"{d} measured")
                _ = ax.plot(g["k"], g["predicted_speedup"], "--", color=DRAFT_COLORS.get(d), alpha=0.6,
                            label=f"{d} predicted")
            _ = ax.axhline(1.0, color="black", lw=0.6)
            ax.set_title(f"T = {T:g}: wall clock")
            ax.set_xlabel("draft length k")
            if j == 0:
                ax.set_ylabel("wall-clock speedup (×)")
            ax.legend(fontsize=7)
    fig.suptitle("speculative decoding of the tiny LM's teacher (recorded run)")

    return fig
