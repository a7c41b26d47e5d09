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
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["show", "subplots"]


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


def show(fig: Figure) -> None:
    """Display ``fig`` (only it) in the current output, e.g. inside ``ipywidgets.interactive_output``.

    The widget counterpart of ``plt.show()`` for a figure from ``subplots(pyplot=False)``: unlike
    ``plt.show()`` it never shows or closes figures that other code (another thread) is still drawing.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}")
    from IPython.display import display

    display(fig)
