"""Figures for widgets: drawn outside pyplot's global figure list, so two kernel threads cannot share them.

A notebook cell draws with ``plt.subplots`` and ends with ``plt.show()``: pyplot keeps every open figure in one
process-wide list, and IPython's inline backend shows and closes *all* of them when a cell ends. That is fine
while one thread runs the kernel's code. It is not inside a widget: JupyterLab (4.4 and later, setting
"Kernel Comms over subshells", default "one subshell per comm target") sends widget messages to a kernel
*subshell*, which ipykernel (7 and later) runs in its own thread, while messages sent before that subshell
exists go to the main shell. After every widget message the ``comm`` package fires IPython's ``post_execute``
event, whose inline-backend hook shows and closes every pyplot figure. Seen on the first slider move of a
widget that prints text before it plots: the slider's update ran on the main shell; the printed text reached
the page, whose ``Output`` widget sent its new state back, handled meanwhile in the subshell thread; that
message's hook rendered and closed the slider's half-built figure, and the plot came out blank.

The cure is to keep widget figures out of that shared list: :func:`subplots` with ``pyplot=False`` returns a
plain :class:`matplotlib.figure.Figure` (same rcParams, same drawing code) that no other thread can find, and
the widget shows it with :func:`show`, which displays exactly that figure in the current output (a widget's
``Output`` area). Used by the widget builders in ``lecture_lib/viz/part*.py``.

Speed (the browser suite's goal: a new picture within 200 ms of a key press). A widget builds its figure
*once* and, on every change, updates its artists in place (``set_data``, ``set_text``, ...) and calls
:func:`show`, saying what changed (:data:`REDRAW`). Showing renders one PNG directly with the Agg canvas at
:data:`WIDGET_DPI` and fast PNG compression, without IPython's ``bbox_inches="tight"`` (which draws the figure
twice) and without re-running the constrained layout each time (it is computed on the first show and then
kept). Text is what costs most in a matplotlib draw, so when only a few artists move (a probe point, a set of
lines, a title) they are drawn over a cached picture of the rest (blitting). The fastest widgets show the
result in a :class:`Panel` (a text block and an ``Image`` widget whose values are replaced in place) instead of
an ``Output`` widget that is cleared and refilled on every change (which also makes the page lay itself out
again), wired to their controls by :func:`live`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.figure import Figure

__all__ = ["REDRAW", "WIDGET_DPI", "LiveFigure", "Panel", "live", "plain_log_ticks", "png", "png_with_text", "show",
           "subplots"]

#: Resolution of widget pictures (dots per inch; the static figures of a notebook use rcParams' 100).
WIDGET_DPI = 80


def subplots(*, pyplot: bool = True, **kwargs: Any) -> tuple[Figure, Any]:
    """``plt.subplots(**kwargs)`` if ``pyplot``; else the same figure and axes outside pyplot's figure list.

    ``pyplot=False`` is for widget callbacks: such a figure is never shown or closed by another thread's
    ``plt.show()`` or end-of-cell hook (see the module docstring). ``figsize``, ``dpi`` and ``layout`` go to
    the figure, every other keyword to :meth:`matplotlib.figure.Figure.subplots`, as with ``plt.subplots``.
    """
    if not isinstance(pyplot, bool):
        raise TypeError(f"pyplot must be a bool (True: plt.subplots, False: a figure outside pyplot); "
                        f"got {type(pyplot).__name__}")
    if pyplot:
        return plt.subplots(**kwargs)
    fig_kw = {k: kwargs.pop(k) for k in ("figsize", "dpi", "layout") if k in kwargs}
    fig = Figure(**fig_kw)
    return fig, fig.subplots(**kwargs)


#: What a widget update changed, from cheapest to dearest to redraw: only its moving artists, the rest of the
#: picture (the "background": axes, ticks, static artists), or also the layout (e.g. wider tick labels).
REDRAW = ("moving", "background", "layout")


def png(fig: Figure, *, redraw: str = "background", moving: Sequence[Artist] = (), background: Any = None,
        dpi: float = WIDGET_DPI) -> bytes:
    """The PNG bytes of ``fig`` drawn by the Agg canvas (compression level 1: fast, a little larger).

    * The layout engine (constrained layout from rcParams) runs on the first call and with ``redraw="layout"``;
      its result is then frozen, so other calls only draw.
    * ``moving``: artists that change on every update (a probe point, a title). They are drawn over a cached
      picture of everything else (blitting), which is redrawn only with ``redraw="background"`` or ``"layout"``.
      With ``redraw="moving"`` a call costs drawing those few artists and the PNG encoding.
    * ``background``: a hashable name of the background's state (e.g. the format shown). Backgrounds drawn
      under a name are kept, and ``redraw="background"`` under a name seen before restores the picture instead
      of drawing it again (a new layout forgets them all).
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}")
    if redraw not in REDRAW:
        raise ValueError(f"redraw must be one of {REDRAW}; got {redraw!r}")
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    state = fig.__dict__.setdefault("_lecture26", {"layout": fig.get_layout_engine(), "background": None,
                                                   "named": {}})
    if fig.dpi != dpi:
        fig.set_dpi(dpi)
        redraw = "layout"
    if state["background"] is None:
        redraw = "layout"
    for artist in moving:
        artist.set_animated(True)
    if redraw == "layout":
        state["named"].clear()
        if state["layout"] is not None:
            fig.set_layout_engine(state["layout"])
        canvas.draw()  # the layout engine runs first in this draw, then everything but the moving artists
        fig.set_layout_engine("none")  # keep the positions it found
        state["background"] = canvas.copy_from_bbox(fig.bbox)
        if background is not None:
            state["named"][background] = state["background"]
    elif redraw == "background" and background is not None and background in state["named"]:
        state["background"] = state["named"][background]
        canvas.restore_region(state["background"])
    elif redraw in ("layout", "background"):
        canvas.draw()  # everything but the moving artists
        state["background"] = canvas.copy_from_bbox(fig.bbox)
        if background is not None:
            state["named"][background] = state["background"]
    else:
        canvas.restore_region(state["background"])
    for artist in moving:
        fig.draw_artist(artist)
    buf = io.BytesIO()
    Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(
        buf, format="png", compress_level=1)
    return buf.getvalue()


def show(fig: Figure, *, redraw: str = "background", moving: Sequence[Artist] = (), background: Any = None) -> None:
    """Display ``fig`` (only it) in the current output, e.g. inside ``ipywidgets.interactive_output``.

    The widget counterpart of ``plt.show()`` for a figure from ``subplots(pyplot=False)``: unlike
    ``plt.show()`` it never shows or closes figures that other code (another thread) is still drawing. The
    picture is :func:`png` (``redraw``, ``moving`` and ``background`` as there).
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}")
    from IPython.display import Image, display

    display(Image(data=png(fig, redraw=redraw, moving=moving, background=background), format="png"))


def png_with_text(picture: bytes, key: str, value: str) -> bytes:
    """``picture`` (PNG bytes) with a ``tEXt`` chunk ``key: value`` added before its end: same pixels, other bytes.

    A PNG is a signature and chunks (4-byte length, 4-byte type, data, CRC-32 of type and data), the last one
    ``IEND``; a text chunk may sit anywhere between the header and ``IEND``.
    """
    import struct
    import zlib

    if not picture.startswith(b"\x89PNG\r\n\x1a\n") or picture[-12:-8] != b"\x00\x00\x00\x00" \
            or picture[-8:-4] != b"IEND":
        raise ValueError("picture must be PNG bytes ending with an IEND chunk")
    if not (1 <= len(key) <= 79 and key.isascii() and key.isprintable() and value.isascii()):
        raise ValueError(f"key must be 1-79 printable ASCII characters and value ASCII; got {key!r}, {value!r}")
    data = key.encode("ascii") + b"\x00" + value.encode("ascii")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return picture[:-12] + chunk + picture[-12:]


class LiveFigure:
    """A widget's figure: drawn once, then updated in place and shown with :meth:`Panel.show_live`.

    A subclass builds :attr:`fig` in ``__init__`` and, in ``update``, changes its artists and sets
    :attr:`background_key` to a hashable summary of everything that is *not* in :attr:`moving` (e.g. the axis
    limits and the static curves): while the key stays the same, an update redraws only the moving artists
    over the cached picture of the rest; a new key redraws that picture.
    """

    fig: Figure
    background_key: Any = None

    @property
    def moving(self) -> list[Artist]:
        """The artists an update changes (drawn over the cached background)."""
        return []

    def redraw(self) -> str:
        """What the next picture needs (:data:`REDRAW`): ``"layout"`` the first time, ``"background"`` after the
        background key changed since the previous call, else ``"moving"``."""
        shown = self.__dict__.get("_shown_key", LiveFigure)  # the class itself: nothing shown yet
        self._shown_key = self.background_key
        if shown is LiveFigure:
            return "layout"
        return "moving" if shown == self.background_key else "background"


def plain_log_ticks(axis: Any, *, numticks: int = 8) -> None:
    """Decade ticks on a log ``axis`` labelled ``0.001``, ``1``, ``1e+04`` (``:g``), no minor ticks.

    Mathtext labels (``10^{-3}``) and unlabelled minor ticks cost most of a widget redraw; these are cheap.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    axis.set_major_locator(LogLocator(base=10, numticks=numticks))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))


class Panel:
    """The result area of a widget: a text block above a picture, both replaced in place on every change.

    ``panel.widget`` is an ``ipywidgets.VBox`` of an ``HTML`` widget (the text, in a ``<pre>`` block of class
    ``lecture26-text``) and an ``Image`` widget (the PNG of :func:`png`). Compared with an ``Output`` widget
    that is cleared and refilled, the page receives two small updates and keeps its layout. An error in the
    widget's code is shown in the text block (class ``lecture26-error``), not lost in the kernel's log.
    """

    def __init__(self) -> None:
        import ipywidgets as w

        self.text = w.HTML()  # empty (no height) until there is text to show
        self.image = w.Image(format="png")
        self.widget = w.VBox([self.text, self.image])
        self.live: LiveFigure | None = None  # the figure of show_live
        self._frames = 0

    def show(self, fig: Figure, *, text: str | None = None, redraw: str = "background",
             moving: Sequence[Artist] = (), background: Any = None) -> None:
        """Show ``text`` (if given) and the picture of ``fig`` (:func:`png` with ``redraw``, ``moving`` and
        ``background``)."""
        import html

        picture = png(fig, redraw=redraw, moving=moving, background=background)
        if text is not None:
            self.text.value = f'<pre class="lecture26-text">{html.escape(text)}</pre>'
        if bytes(self.image.value) == picture:
            # Same pixels (e.g. a point that moved less than a pixel). Sent again unchanged, the page would ignore
            # it (a widget model only reacts to a value that differs), so this change would show no new picture:
            # a numbered PNG text chunk makes the bytes differ and the same pixels are shown anew.
            self._frames += 1
            picture = png_with_text(picture, "frame", str(self._frames))
        self.image.value = picture

    def show_live(self, make: Callable[[], LiveFigure], update: Callable[[Any], None], *,
                  text: str | None = None) -> None:
        """Show ``text`` and the picture of the panel's :class:`LiveFigure`: made by ``make()`` the first time,
        then updated in place by ``update(figure)``; only what changed is redrawn (:meth:`LiveFigure.redraw`)."""
        if self.live is None:
            self.live = make()
        else:
            update(self.live)
        self.show(self.live.fig, text=text, redraw=self.live.redraw(), moving=self.live.moving)

    def show_error(self, error: BaseException) -> None:
        """Put ``error``'s traceback where the text goes (the picture keeps its last state)."""
        import html
        import traceback

        message = "".join(traceback.format_exception(error))
        self.text.value = f'<pre class="lecture26-text lecture26-error">{html.escape(message)}</pre>'


def live(controls: dict[str, Any], update: Any, panel: Panel) -> None:
    """Call ``update(**values)`` now and whenever one of ``controls`` (name -> widget) changes its value.

    The ``observe`` counterpart of ``ipywidgets.interactive_output`` for a :class:`Panel`; an exception in
    ``update`` is shown in the panel (:meth:`Panel.show_error`).
    """

    def run(_change: Any = None) -> None:
        try:
            update(**{name: control.value for name, control in controls.items()})
        except Exception as error:  # noqa: BLE001 - shown to the learner instead of the kernel log
            panel.show_error(error)

    for control in controls.values():
        control.observe(run, names="value")
    run()
