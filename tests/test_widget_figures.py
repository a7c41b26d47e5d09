"""Widget figures stay out of pyplot's global figure list (``lecture_lib.viz.figures``).

JupyterLab sends widget messages to a kernel subshell (its own thread); after every widget message the inline
backend's end-of-cell hook shows and closes *every* pyplot figure. A widget update that drew with
``plt.subplots`` + ``plt.show()`` therefore raced with a message handled in the other thread, and the first
slider move in JupyterLab showed a blank plot. The invariant tested here: while a widget updates, pyplot holds
no figure at all, and the widget displays exactly one figure of its own. (``tests/test_browser.py`` checks the
real thing in Chromium.)
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from lecture_lib.viz import figures


@pytest.fixture(autouse=True)
def _no_open_figures():
    plt.close("all")
    yield
    plt.close("all")


def test_detached_subplots_are_not_in_pyplot_and_follow_rcparams():
    with matplotlib.rc_context({"figure.constrained_layout.use": True, "figure.dpi": 80}):
        fig, (a0, a1) = figures.subplots(ncols=2, figsize=(5.0, 2.0), pyplot=False)
        assert plt.get_fignums() == []
        assert isinstance(fig, Figure) and fig.axes == [a0, a1]
        assert tuple(fig.get_size_inches()) == (5.0, 2.0) and fig.dpi == 80
        assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    # the deliberately shared kind (negative control for the invariant below): pyplot keeps it
    fig2, _ = figures.subplots(figsize=(3.0, 2.0))
    assert plt.get_fignums() == [fig2.number]


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="pyplot must be a bool"):
        figures.subplots(pyplot="no")
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        figures.show("not a figure")


def _widget_updates(build, change, monkeypatch):
    """Build a widget, apply ``change(ui)``; return, per update, the figures shown and pyplot's list meanwhile."""
    shown: list[tuple[Figure, list[int]]] = []
    monkeypatch.setattr(figures, "show", lambda fig: shown.append((fig, plt.get_fignums())))
    ui = build()
    change(ui)
    return shown


def _slider(ui, description):
    stack = [ui]
    while stack:
        w = stack.pop()
        if getattr(w, "description", None) == description and hasattr(w, "max"):
            return w
        stack.extend(getattr(w, "children", ()))
    raise AssertionError(f"no slider {description!r}")


def _bump(description):
    def change(ui):
        s = _slider(ui, description)
        s.value = s.max if s.value != s.max else s.min
    return change


def _widgets():
    import torch

    from lecture_lib.experiments import partE as exE
    from lecture_lib.viz import partA, partB, partC, partD, partE

    def e_loss_scale():
        torch.manual_seed(0)
        return partE.loss_scale_widget(exE.gradient_snapshot("student", batch_size=2, block_size=32))

    def e_batching():
        a, b = 0.0017, 0.0001
        curves = exE.batching_curves(a, b, arrival_rates=(50, 100), batch_sizes=(1, 8), n_requests=60)
        return partE.batching_widget(a, b, curves)

    lat = np.random.default_rng(0).lognormal(-3.0, 1.0, 2000)
    return {
        "A weight": (lambda: partA.weight_widget(torch.randn(8, 64, generator=torch.Generator().manual_seed(0))),
                     "bits"),
        "A fp8": (partA.fp8_widget, "x"),
        "B temperature": (lambda: partB.temperature_widget(torch.linspace(3.0, -3.0, 105), torch.linspace(2.0, -2.5, 105)),
                          "T"),
        "B acceptance": (partB.acceptance_widget, "α"),
        "C slo": (partC.slo_widget, "error rate"),
        "C find bug": (partC.find_bug_widget, "cases n"),
        "C buckets": (lambda: partC.bucket_widget(lat), "buckets"),
        "D policy": (lambda: partD.policy_widget(n_requests=300), "load ρ"),
        "E loss scale": (e_loss_scale, "log2 s"),
        "E checkpoint": (lambda: partE.checkpoint_widget(exE.checkpoint_memory("teacher", batch_size=2, block_size=32)),
                         "segments k"),
        "E batching": (e_batching, "max batch"),
    }


WIDGET_NAMES = ["A weight", "A fp8", "B temperature", "B acceptance", "C slo", "C find bug", "C buckets", "D policy", "E loss scale", "E checkpoint",
                "E batching"]


@pytest.mark.parametrize("name", WIDGET_NAMES)
def test_widget_updates_draw_outside_pyplot(name, monkeypatch):
    pytest.importorskip("ipywidgets")
    build, label = _widgets()[name]
    shown = _widget_updates(build, _bump(label), monkeypatch)
    assert len(shown) == 2, f"{name}: expected one figure at build and one after the slider moved; got {len(shown)}"
    for fig, open_in_pyplot in shown:
        assert isinstance(fig, Figure) and fig.axes
        assert open_in_pyplot == [], f"{name}: pyplot held figures {open_in_pyplot} while the widget drew"
    assert plt.get_fignums() == []


#: Parts whose widget builders draw with ``figures.subplots(pyplot=False)`` + ``figures.show``. A part joins
#: the list once its ``*_widget`` functions no longer call ``plt.show()`` (and its widgets join ``_widgets``).
CONVERTED_PARTS = ("A", "B", "C", "D", "E")


@pytest.mark.parametrize("part", CONVERTED_PARTS)
def test_widget_builders_never_call_plt_show(part):
    import importlib
    import inspect

    module = importlib.import_module(f"lecture_lib.viz.part{part}")
    builders = [f for name, f in inspect.getmembers(module, inspect.isfunction)
                if name.endswith("_widget") and f.__module__ == module.__name__]
    assert builders, f"lecture_lib.viz.part{part} has no *_widget functions"
    for f in builders:
        src = inspect.getsource(f)
        assert "plt.show(" not in src and "figures.show(" in src, (
            f"part{part}.{f.__name__}: a widget must draw with figures.subplots(pyplot=False) and show with "
            "figures.show(fig), never plt.show() (another kernel thread can show and close pyplot's figures)")
