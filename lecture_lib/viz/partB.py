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
    "plot_why_distill",
    "AcceptanceFigure",
    "TemperatureFigure",
    "acceptance_widget",
    "plot_acceptance_view",
    "plot_distill_curves",
    "plot_spec_grid",
    "plot_temperature_view",
    "temperature_widget",
]

DRAFT_COLORS = {"student": "#1e88e5", "int4-self": "#e53935", "lookup": "#43a047", "student+lookup": "#8e24aa"}


def _label(token_id: int) -> str:
    ch = tinylm.decode([int(token_id)])
    return {" ": "␣", "\n": "\\n", "\t": "\\t"}.get(ch, ch)


class TemperatureFigure:
    """Left: teacher vs student soft targets p(T) on the teacher's top tokens. Right: KL and soft-gradient sizes.

    Drawn once; :meth:`update` sets the same bars and labels to another temperature (the widget's in-place
    redraw). ``pyplot=False`` draws outside pyplot's figure list (see :mod:`lecture_lib.viz.figures`).
    """

    NAMES = ("KL (nats)", "|grad| with T²", "|grad| without T²")

    def __init__(self, view: dict[str, Any], *, pyplot: bool = True) -> None:
        self.fig, (ax, ax2) = figures.subplots(nrows=1, ncols=2, figsize=(9, 3.4),
                                               gridspec_kw={"width_ratios": [2.2, 1]}, pyplot=pyplot)
        self.ax, self.ax2 = ax, ax2
        x = np.arange(len(view["ids"]))
        self.teacher = ax.bar(x - 0.2, view["p_teacher"], width=0.4, color="#6a1b9a", label="teacher p_T(T)")
        self.student = ax.bar(x + 0.2, view["p_student"], width=0.4, color="#f9a825", label="student p_S(T)")
        ax.set_xticks(x, [_label(i) for i in view["ids"]])
        ax.set_ylim(0, 1)
        ax.set_xlabel("next character (teacher's top choices)")
        ax.set_ylabel("probability")
        ax.legend(fontsize=8)
        self.bars = ax2.barh(list(self.NAMES), [1.0] * 3, color=["#455a64", "#43a047", "#e53935"], label="value")
        ax2.set_xscale("log")
        ax2.set_xlim(1e-6, 10)
        figures.plain_log_ticks(ax2.xaxis, numticks=4)
        ax2.set_xlabel("value (log scale)")
        ax2.set_title("KL and soft-gradient size")
        self.values = [ax2.text(1.0, i, "", va="center", fontsize=8) for i in range(3)]
        self.update(view)

    @property
    def moving(self) -> list[Any]:
        """Everything a new temperature changes (drawn over the cached axes, ticks and labels)."""
        return [*self.teacher, *self.student, *self.bars, *self.values, self.ax.title]

    def update(self, view: dict[str, Any]) -> None:
        """Show ``view`` (same tokens: the teacher's top choices do not depend on T)."""
        for bar, h in zip(self.teacher, view["p_teacher"]):
            bar.set_height(float(h))
        for bar, h in zip(self.student, view["p_student"]):
            bar.set_height(float(h))
        self.ax.set_title(f"soft targets at T = {view['T']:.3g}")
        for bar, text, v in zip(self.bars, self.values, (view["kl"], view["grad_with_T2"], view["grad_without_T2"])):
            bar.set_width(v)
            text.set_x(max(v, 1.2e-6))
            text.set_text(f" {v:.3g}")


def plot_temperature_view(view: dict[str, Any], *, pyplot: bool = True) -> plt.Figure:
    """The figure of :class:`TemperatureFigure` for one temperature."""
    return TemperatureFigure(view, pyplot=pyplot).fig


def temperature_widget(teacher_logits, student_logits):
    """A temperature slider over :func:`lecture_lib.experiments.partB.temperature_view` (one figure, updated)."""
    import ipywidgets as w
    from IPython.display import display

    T = w.FloatLogSlider(value=2.0, base=10, min=-0.5, max=2, step=0.05, description="T")
    panel = figures.Panel()
    drawn: list[TemperatureFigure] = []

    def show(T):
        view = ex.temperature_view(teacher_logits, student_logits, T)
        redraw = "moving" if drawn else "layout"
        if drawn:
            drawn[0].update(view)
        else:
            drawn.append(TemperatureFigure(view, pyplot=False))
        panel.show(drawn[0].fig, redraw=redraw, moving=drawn[0].moving)

    box = w.VBox([T, panel.widget])
    figures.live({"T": T}, show, panel)
    display(box)
    return box


class AcceptanceFigure:
    """Tokens per step and speedup vs k at one (alpha, c): formula lines, simulated dots, the chosen k marked.

    Both panels keep one y range (0 to k_max + 1.5 tokens, the most a step can give), so moving a slider moves
    the curves, not the axes. Drawn once; :meth:`update` moves the same artists. ``n_steps`` simulated steps per
    k (seeded), cached per alpha. ``pyplot=False`` draws outside pyplot's figure list.
    """

    def __init__(self, view: dict[str, Any], *, k_max: int = 12, n_steps: int = 4000, seed: int = 0,
                 pyplot: bool = True) -> None:
        self.ks = np.arange(1, k_max + 1)
        self.n_steps, self.seed = n_steps, seed
        self._sim: dict[float, np.ndarray] = {}
        self.fig, (ax, ax2) = figures.subplots(nrows=1, ncols=2, figsize=(9, 3.4), pyplot=pyplot)
        self.ax, self.ax2 = ax, ax2
        (self.tok,) = ax.plot(self.ks, self.ks, "-", color="#1e88e5")
        (self.tok_sim,) = ax.plot(self.ks, self.ks, "o", color="#0d47a1", ms=4)
        self.limit = ax.axhline(1.0, color="gray", ls=":")
        (self.tok_star,) = ax.plot([1], [1], "*", color="black", ms=12)
        ax.set_xlabel("draft length k (tokens)")
        ax.set_ylabel("tokens per target call")
        (self.spd,) = ax2.plot(self.ks, self.ks, "-", color="#43a047")
        (self.spd_sim,) = ax2.plot(self.ks, self.ks, "o", color="#1b5e20", ms=4)
        _ = ax2.axhline(1.0, color="black", lw=0.6)
        (self.spd_star,) = ax2.plot([1], [1], "*", color="black", ms=12)
        ax2.set_xlabel("draft length k (tokens)")
        ax2.set_ylabel("speedup over plain decoding (×)")
        ax2.set_title("expected wall-clock speedup")
        for a in (ax, ax2):
            a.set_xlim(0.5, k_max + 0.5)
            a.set_ylim(0.0, k_max + 1.5)
        self.update(view)

    def simulated(self, alpha: float) -> np.ndarray:
        """Mean simulated tokens per step for every k at ``alpha`` (cached)."""
        if alpha not in self._sim:
            self._sim[alpha] = np.array([speculative.simulate_tokens_per_step(alpha, int(k), self.n_steps,
                                                                              seed=self.seed).mean() for k in self.ks])
        return self._sim[alpha]

    def update(self, view: dict[str, Any]) -> None:
        a, c, k = view["alpha"], view["c"], view["k"]
        ks = self.ks
        tok = [speculative.expected_tokens_per_step(a, int(j)) for j in ks]
        sim = self.simulated(a)
        self.tok.set_ydata(tok)
        self.tok_sim.set_ydata(sim)
        self.limit.set_ydata([1 / (1 - a) if a < 1 else np.nan])
        self.limit.set_visible(a < 1)
        self.tok_star.set_data([k], [view["tokens_formula"]])
        self.spd.set_ydata([speculative.expected_speedup(a, int(j), c) for j in ks])
        self.spd_sim.set_ydata(sim / (ks * c + 1))
        self.spd_star.set_data([k], [view["speedup_formula"]])
        self.ax.set_title(f"α = {a:.2f}")
        handles = [self.tok, self.tok_sim] + ([self.limit] if a < 1 else []) + [self.tok_star]
        labels = ["formula (1-α^(k+1))/(1-α)", f"simulated ({self.n_steps} steps)"]
        labels += ["k → ∞ limit 1/(1-α)"] if a < 1 else []
        self.legends = [
            self.ax.legend(handles, labels + [f"k = {k}"], fontsize=7, loc="upper left"),
            self.ax2.legend([self.spd, self.spd_sim, self.spd_star],
                            [f"speedup, c = {c:.2f}", "simulated / (k c + 1)", f"k = {k}"], fontsize=7,
                            loc="upper left"),
        ]

    @property
    def moving(self) -> list[Any]:
        """The curves, points, legends and title that alpha, k and c move (axes and labels stay cached)."""
        return [self.limit, self.tok, self.tok_sim, self.tok_star, self.spd, self.spd_sim, self.spd_star,
                *self.legends, self.ax.title]


def plot_acceptance_view(view: dict[str, Any], *, k_max: int = 12, n_steps: int = 4000, seed: int = 0,
                         pyplot: bool = True) -> plt.Figure:
    """The figure of :class:`AcceptanceFigure` for one (alpha, k, c)."""
    return AcceptanceFigure(view, k_max=k_max, n_steps=n_steps, seed=seed, pyplot=pyplot).fig


def acceptance_widget():
    """alpha, k and draft-cost sliders over :func:`lecture_lib.experiments.partB.acceptance_view`.

    One figure, updated in place; the simulation for each alpha is computed once.
    """
    import functools

    import ipywidgets as w
    from IPython.display import display

    alpha = w.FloatSlider(value=0.8, min=0.0, max=0.99, step=0.01, description="α")
    k = w.IntSlider(value=4, min=1, max=12, description="k")
    c = w.FloatSlider(value=0.1, min=0.0, max=1.0, step=0.01, description="draft cost c")
    view_at = functools.lru_cache(maxsize=512)(lambda a, k, c: ex.acceptance_view(a, k, c, n_steps=4000))
    panel = figures.Panel()
    drawn: list[AcceptanceFigure] = []

    def show(alpha, k, c):
        v = view_at(alpha, k, c)
        text = (f"tokens/step: formula {v['tokens_formula']:.3f}, simulated {v['tokens_simulated']:.3f} "
                f"± {v['tokens_sem']:.3f}; speedup {v['speedup_formula']:.2f}×")
        redraw = "moving" if drawn else "layout"
        if drawn:
            drawn[0].update(v)
        else:
            drawn.append(AcceptanceFigure(v, n_steps=2000, pyplot=False))
        panel.show(drawn[0].fig, text=text, redraw=redraw, moving=drawn[0].moving)

    box = w.VBox([w.HBox([alpha, k, c]), panel.widget])
    figures.live({"alpha": alpha, "k": k, "c": c}, show, panel)
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
    timings, the measured wall-clock speedup vs the predicted one (with the measured verify cost when recorded)."""
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
                pred = "predicted_speedup_verify" if "predicted_speedup_verify" in g else "predicted_speedup"
                _ = ax.plot(g["k"], g[pred], "--", color=DRAFT_COLORS.get(d), alpha=0.6, label=f"{d} predicted")
            _ = ax.axhline(1.0, color="black", lw=0.6)
            ax.set_title(f"T = {T:g}: wall clock")
            ax.set_xlabel("draft length k")
            if j == 0:
                ax.set_ylabel("wall-clock speedup (×)")
            ax.legend(fontsize=7)
    fig.suptitle("speculative decoding of the tiny LM's teacher (recorded run)")

    return fig


def plot_why_distill(table: pd.DataFrame, *, teacher_ppl: float | None = None) -> plt.Figure:
    """Validation perplexity per training target (mean over seeds as bars, each seed as a dot), from
    :func:`lecture_lib.experiments.partB.why_distill_table`."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8), layout="constrained")
    y = np.arange(len(table.index))
    _ = ax.barh(y, table["val perplexity"], color="#90caf9", label="mean over seeds")
    seeds = [c for c in table.columns if c.startswith("seed ")]
    for c in seeds:
        _ = ax.plot(table[c], y, "k.", ms=6)
    _ = ax.plot([], [], "k.", label="one seed")
    base = table.loc["hard labels", "val perplexity"] if "hard labels" in table.index else None
    if base is not None:
        ax.axvline(base, color="gray", ls="--", lw=0.8, label="hard labels")
    if teacher_ppl is not None:
        ax.axvline(teacher_ppl, color="#e53935", lw=0.8, label=f"teacher ({teacher_ppl:.2f})")
    ax.set_yticks(y, table.index)
    ax.invert_yaxis()
    lo = min(table[seeds].min().min(), teacher_ppl if teacher_ppl is not None else np.inf)
    ax.set_xlim(0.97 * lo, 1.02 * table[seeds].max().max())
    ax.set_xlabel("validation perplexity (lower is better; axis does not start at 0)")
    ax.set_title("Same student, same batches, same budget: only the target differs")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
