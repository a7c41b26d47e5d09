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
    real_png = figures.png

    def recording_png(fig, **kw):
        shown.append((fig, plt.get_fignums()))
        return real_png(fig, **kw)

    monkeypatch.setattr(figures, "png", recording_png)  # every widget picture is drawn by figures.png
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


#: Widgets that build their figure once and update it in place (a new figure per move is what made them slow).
IN_PLACE = WIDGET_NAMES


@pytest.mark.parametrize("name", IN_PLACE)
def test_fast_widgets_update_one_figure_in_place(name, monkeypatch):
    pytest.importorskip("ipywidgets")
    build, label = _widgets()[name]

    def back_and_forth(ui):
        s = _slider(ui, label)
        first = s.value
        s.value = s.max if first != s.max else s.min
        s.value = first

    shown = _widget_updates(build, back_and_forth, monkeypatch)
    assert len(shown) == 3
    figs = {id(fig) for fig, _ in shown}
    assert len(figs) == 1, f"{name}: every update must redraw the same figure; got {len(figs)} figures"


def test_png_freezes_the_layout_and_blits_moving_artists(monkeypatch):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, ax = figures.subplots(figsize=(4.0, 3.0), layout="constrained", pyplot=False)
    _ = ax.plot([0, 1], [0, 1], label="line")
    (dot,) = ax.plot([0.5], [0.5], "o")
    ax.set_title("title")
    first = figures.png(fig, moving=[dot])
    assert first.startswith(b"\x89PNG") and fig.dpi == figures.WIDGET_DPI
    assert type(fig.get_layout_engine()).__name__ != "ConstrainedLayoutEngine"  # frozen after the first draw
    position = ax.get_position().bounds
    calls = []
    real_draw = FigureCanvasAgg.draw
    monkeypatch.setattr(FigureCanvasAgg, "draw", lambda self: (calls.append(1), real_draw(self))[1])

    dot.set_data([0.2], [0.8])
    moved = figures.png(fig, redraw="moving", moving=[dot])
    assert calls == [] and moved != first  # only the dot was drawn, over the cached rest
    ax.set_title("another title")
    assert figures.png(fig, redraw="moving", moving=[dot]) == moved  # the title is not a moving artist
    retitled = figures.png(fig, redraw="background", moving=[dot])
    assert len(calls) == 1 and retitled != moved and ax.get_position().bounds == position
    # the blitted picture equals a full draw of the same state (negative control: the first picture differs)
    fig2, ax2 = figures.subplots(figsize=(4.0, 3.0), layout="constrained", pyplot=False)
    _ = ax2.plot([0, 1], [0, 1], label="line")
    _ = ax2.plot([0.2], [0.8], "o")
    ax2.set_title("another title")
    monkeypatch.setattr(FigureCanvasAgg, "draw", real_draw)
    assert _pixels(figures.png(fig2)) == _pixels(retitled) != _pixels(first)
    calls.clear()
    monkeypatch.setattr(FigureCanvasAgg, "draw", lambda self: (calls.append(1), real_draw(self))[1])
    _ = figures.png(fig, redraw="layout", moving=[dot])  # the layout engine runs again, in the one draw
    assert len(calls) == 1 and type(fig.get_layout_engine()).__name__ != "ConstrainedLayoutEngine"
    # named backgrounds: drawn once per name, then restored
    calls.clear()
    ax.set_title("A")
    pic_a = figures.png(fig, redraw="background", moving=[dot], background="A")
    ax.set_title("B")
    pic_b = figures.png(fig, redraw="background", moving=[dot], background="B")
    assert len(calls) == 2 and pic_a != pic_b
    ax.set_title("A")
    assert figures.png(fig, redraw="background", moving=[dot], background="A") == pic_a and len(calls) == 2
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        figures.png("not a figure")
    with pytest.raises(ValueError, match="redraw must be one of"):
        figures.png(fig, redraw="all")


def _pixels(png: bytes) -> bytes:
    import io

    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGBA").tobytes()


def test_plain_log_ticks_have_no_mathtext_and_no_minor_ticks():
    fig, ax = figures.subplots(pyplot=False)
    ax.set_xscale("log")
    ax.set_xlim(1e-3, 1e3)
    figures.plain_log_ticks(ax.xaxis)
    fig.canvas.draw() if hasattr(fig.canvas, "renderer") else figures.png(fig)
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "0.001" in labels and "1" in labels and not any("$" in t for t in labels)
    assert len(ax.xaxis.get_minorticklocs()) == 0


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
        assert "plt.show(" not in src and ("figures.show(" in src or "panel.show" in src), (
            f"part{part}.{f.__name__}: a widget must draw with figures.subplots(pyplot=False) and show with "
            "figures.show(fig) or a figures.Panel, never plt.show() (another kernel thread can show and close pyplot's "
            "figures)")


def test_live_panel_updates_in_place_and_shows_errors():
    w = pytest.importorskip("ipywidgets")
    fig, ax = figures.subplots(figsize=(3.0, 2.0), pyplot=False)
    (line,) = ax.plot([0, 1], [0, 0])
    panel = figures.Panel()
    slider = w.IntSlider(value=1, min=0, max=5)

    def update(a):
        if a == 5:
            raise ValueError("a must be below 5")
        line.set_ydata([0, a])
        panel.show(fig, text=f"a = {a} <ok>", redraw="moving" if panel.image.value else "layout", moving=[line])

    figures.live({"a": slider}, update, panel)
    first = bytes(panel.image.value)
    assert first.startswith(b"\x89PNG") and panel.text.value == '<pre class="lecture26-text">a = 1 &lt;ok&gt;</pre>'
    slider.value = 3
    assert bytes(panel.image.value) != first and "a = 3" in panel.text.value
    image = bytes(panel.image.value)
    slider.value = 5
    assert "lecture26-error" in panel.text.value and "ValueError: a must be below 5" in panel.text.value
    assert bytes(panel.image.value) == image  # the picture keeps its last state
    assert list(panel.widget.children) == [panel.text, panel.image]


# ------------------------------------------------------------------------------------- live figures (C, E)
def _count_draws(monkeypatch):
    """A list that gets one entry per full Agg draw (``canvas.draw()``) from now on."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    calls: list[int] = []
    real_draw = FigureCanvasAgg.draw
    monkeypatch.setattr(FigureCanvasAgg, "draw", lambda self: (calls.append(1), real_draw(self))[1])
    return calls


#: The main slider of each Part C and E widget: a move draws only the moving artists over the cached rest.
MAIN_SLIDER = {"C slo": "error rate", "C find bug": "cases n", "C buckets": "buckets", "E loss scale": "log2 s",
               "E checkpoint": "segments k", "E batching": "max batch"}


def _one_step(slider):
    """The value one arrow key press gives (log sliders step in the exponent)."""
    import math

    if hasattr(slider, "base"):
        return slider.base ** (math.log(slider.value, slider.base) + slider.step)
    return slider.value + slider.step if slider.value + slider.step <= slider.max else slider.value - slider.step


@pytest.mark.parametrize("name", list(MAIN_SLIDER))
def test_main_slider_redraws_only_the_moving_artists(name, monkeypatch):
    """What made these widgets slow: a full draw (axes, ticks, every text) per slider move."""
    pytest.importorskip("ipywidgets")
    build, _ = _widgets()[name]
    ui = build()
    s = _slider(ui, MAIN_SLIDER[name])
    first = s.value
    s.value = _one_step(s)  # a key press; may widen the batching figure's axes (a full draw)
    draws = _count_draws(monkeypatch)
    s.value = first  # back to a setting drawn before: its axes are the same
    assert draws == [], f"{name}: moving {MAIN_SLIDER[name]!r} drew the whole figure {len(draws)} time(s)"


def test_a_background_change_redraws_the_background(monkeypatch):
    """Negative control of the test above: a new bug rate changes the curve, so the figure is drawn again."""
    pytest.importorskip("ipywidgets")
    from lecture_lib.viz import partC

    ui = partC.find_bug_widget()
    draws = _count_draws(monkeypatch)
    _slider(ui, "cases n").value = 150
    assert draws == []
    _slider(ui, "bug rate p").value = 0.05
    assert len(draws) == 1


def _live_cases():
    """(name, make(state) -> LiveFigure, update(figure, state), state before, state after) per live figure."""
    import torch

    from lecture_lib.experiments import partC as exC
    from lecture_lib.experiments import partE as exE
    from lecture_lib.viz import partC, partE

    lat = exC.latency_samples(2000, seed=0)
    torch.manual_seed(0)
    grads = exE.gradient_snapshot("student", batch_size=2, block_size=32)
    sweeps = {f: exE.loss_scale_sweep(grads, partE.LOG2_SCALES, f) for f in ("fp16", "bf16")}
    table = exE.checkpoint_memory("teacher", batch_size=2, block_size=32)
    a, b = 0.0017, 0.0001
    curves = exE.batching_curves(a, b, arrival_rates=(50, 100), batch_sizes=(1, 8), n_requests=60)
    point = {k: exE.batching_summary("continuous", k, 50.0, a=a, b=b, n_requests=60) for k in (8, 2)}
    find = {(n, p): exC.find_bug_summary(n, p, 0.05) for n, p in ((100, 0.01), (150, 0.01), (150, 0.05))}
    buckets = {(k, c): exC.bucket_error(k, c, lat) for k, c in (("exponential", 12), ("exponential", 13),
                                                                 ("linear", 10))}
    return [
        ("budget", lambda st: partC.BudgetFigure(*st, pyplot=False), lambda f, st: f.update(*st),
         (0.999, 0.0144), (0.999, 0.03)),
        ("budget, other alerts", lambda st: partC.BudgetFigure(*st, pyplot=False), lambda f, st: f.update(*st),
         (0.999, 0.0144), (0.99, 0.0011)),
        ("find bug", lambda st: partC.FindBugFigure(find[st], *st, 0.05, pyplot=False),
         lambda f, st: f.update(find[st], *st, 0.05), (100, 0.01), (150, 0.01)),
        ("find bug, other p", lambda st: partC.FindBugFigure(find[st], *st, 0.05, pyplot=False),
         lambda f, st: f.update(find[st], *st, 0.05), (150, 0.01), (150, 0.05)),
        ("buckets", lambda st: partC.BucketFigure(lat, buckets[st], pyplot=False),
         lambda f, st: f.update(buckets[st]), ("exponential", 12), ("exponential", 13)),
        ("buckets, other layout", lambda st: partC.BucketFigure(lat, buckets[st], pyplot=False),
         lambda f, st: f.update(buckets[st]), ("exponential", 12), ("linear", 10)),
        ("loss scale", lambda st: partE.LossScaleFigure(sweeps[st[0]], st[1], pyplot=False),
         lambda f, st: f.update(sweeps[st[0]], st[1]), ("fp16", 0), ("fp16", 30)),
        ("loss scale, other format", lambda st: partE.LossScaleFigure(sweeps[st[0]], st[1], pyplot=False),
         lambda f, st: f.update(sweeps[st[0]], st[1]), ("fp16", 0), ("bf16", 12)),
        ("checkpoint", lambda st: partE.CheckpointFigure(table, st, pyplot=False), lambda f, st: f.update(st), 2, 0),
        ("batching", lambda st: partE.BatchingFigure(curves, point[st], pyplot=False),
         lambda f, st: f.update(point[st]), 8, 2),
    ]


@pytest.fixture(scope="module")
def live_cases():
    return {case[0]: case for case in _live_cases()}


LIVE_CASES = ["budget", "budget, other alerts", "find bug", "find bug, other p", "buckets", "buckets, other layout",
              "loss scale", "loss scale, other format", "checkpoint", "batching"]


@pytest.mark.parametrize("name", LIVE_CASES)
def test_a_live_figure_updated_in_place_looks_like_one_drawn_anew(name, live_cases):
    """Blitting is right only if every artist an update changes is a moving one (or the update asks for a new
    background): the picture after an update, pixel for pixel, equals a new figure of the new state."""
    _, make, update, before, after = live_cases[name]
    live = make(before)
    first = figures.png(live.fig, redraw=live.redraw(), moving=live.moving)
    update(live, after)
    redraw = live.redraw()
    updated = figures.png(live.fig, redraw=redraw, moving=live.moving)
    fresh = make(after)
    drawn_anew = figures.png(fresh.fig, redraw=fresh.redraw(), moving=fresh.moving)
    assert _pixels(updated) != _pixels(first), f"{name}: the update changed nothing on the picture"
    assert _pixels(updated) == _pixels(drawn_anew), f"{name}: updated in place ({redraw}) differs from a new figure"
    plt.close("all")


def test_live_figure_redraw_follows_the_background_key():
    fig, ax = figures.subplots(figsize=(3.0, 2.0), pyplot=False)
    live = figures.LiveFigure()
    live.fig = fig
    assert live.moving == [] and live.redraw() == "layout"
    assert live.redraw() == "moving"
    live.background_key = ("p", 0.01)
    assert live.redraw() == "background" and live.redraw() == "moving"


def test_png_with_text_keeps_the_pixels_and_changes_the_bytes():
    import io

    from PIL import Image

    fig, ax = figures.subplots(figsize=(2.0, 1.5), pyplot=False)
    _ = ax.plot([0, 1], [1, 0])
    picture = figures.png(fig)
    tagged = figures.png_with_text(picture, "frame", "7")
    assert tagged != picture and _pixels(tagged) == _pixels(picture)
    image = Image.open(io.BytesIO(tagged))
    image.load()
    assert image.text == {"frame": "7"}
    with pytest.raises(ValueError, match="PNG bytes"):
        figures.png_with_text(b"GIF89a", "frame", "1")
    with pytest.raises(ValueError, match="key must be"):
        figures.png_with_text(picture, "", "1")


def test_panel_shows_an_unchanged_picture_as_a_new_value():
    """Part E's batching star often stays on the same pixel when the batch size moves by one. An Image widget
    whose value is sent again unchanged shows nothing new in the page (a widget model ignores an equal value), so
    the change seemed to get no picture. Every show must give the Image widget a value that differs."""
    pytest.importorskip("ipywidgets")
    fig, ax = figures.subplots(figsize=(2.0, 1.5), pyplot=False)
    _ = ax.plot([0, 1], [1, 0])
    panel = figures.Panel()
    values = []
    panel.image.observe(lambda change: values.append(bytes(change["new"])), names="value")
    for k in range(3):
        panel.show(fig, text=f"step {k}", redraw="moving")
    assert len(values) == 3 and all(a != b for a, b in zip(values, values[1:]))  # three shows, three new values
    assert len({_pixels(v) for v in values}) == 1  # of the same pixels


def test_panel_show_live_makes_the_figure_once_then_updates_it():
    pytest.importorskip("ipywidgets")

    class Dot(figures.LiveFigure):
        def __init__(self, y):
            self.fig, self.ax = figures.subplots(figsize=(2.0, 1.5), pyplot=False)
            (self.dot,) = self.ax.plot([0.5], [y], "o")
            self.ax.set_ylim(0, 1)

        def update(self, y):
            self.dot.set_ydata([y])

        @property
        def moving(self):
            return [self.dot]

    panel, made = figures.Panel(), []
    for y in (0.2, 0.8):
        panel.show_live(lambda: made.append(Dot(y)) or made[-1], lambda f: f.update(y), text=f"y = {y}")
    assert len(made) == 1 and panel.live is made[0] and list(made[0].dot.get_ydata()) == [0.8]
    assert _pixels(bytes(panel.image.value)) == _pixels(figures.png(Dot(0.8).fig))
