"""Build every course widget and move every control; report whether each move changed what the widget shows.

Run as a script (``python tests/widget_driver.py``) it prints one JSON object: the ipywidgets version and, per
widget and control, whether the output changed. ``tests/test_widget_versions.py`` runs it under the
ipywidgets of the course's environment (8.x) and under ipywidgets 7.7 (what Colab ships) in a separate
virtual environment, and requires every move to change the output in both.

"What the widget shows" is everything a learner would see: text printed by the callback, every object it
displays (a matplotlib figure counts by its rendered PNG), and the values of display widgets (Image, HTML,
Label) inside the widget tree. No kernel is needed: an IPython shell captures the displays.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _walk(widget: Any) -> Iterator[Any]:
    stack = [widget]
    while stack:
        w = stack.pop(0)
        yield w
        stack.extend(getattr(w, "children", ()) or ())


def controls(ui: Any) -> list[Any]:
    """The learner-facing controls in a widget tree: sliders, toggles, dropdowns, checkboxes."""
    import ipywidgets as w

    kinds = (w.widgets.widget_int._Int, w.widgets.widget_float._Float, w.widgets.widget_selection._Selection,
             w.Checkbox, w.ToggleButton)
    return [c for c in _walk(ui) if isinstance(c, kinds) and not getattr(c, "disabled", False)]


def next_value(control: Any) -> Any:
    """A different valid value: the other end of a slider's range, another option, the other boolean."""
    if isinstance(control.value, bool):
        return not control.value
    options = getattr(control, "options", None)
    if options is not None:
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        return next(v for v in values if v != control.value)
    return control.max if control.value != control.max else control.min


def _fingerprint(obj: Any) -> str:
    from matplotlib.figure import Figure

    if isinstance(obj, Figure):
        buf = io.BytesIO()
        obj.savefig(buf, format="png")
        return "figure:" + hashlib.sha256(buf.getvalue()).hexdigest()
    return "repr:" + repr(obj)


def shown(ui: Any, displayed: list[str], printed: str) -> tuple:
    """Everything visible: displayed objects, printed text, display widgets' values."""
    import ipywidgets as w

    values = []
    for c in _walk(ui):
        if isinstance(c, (w.Image, w.HTML, w.Label, w.HTMLMath)):
            value = c.value
            values.append(hashlib.sha256(value if isinstance(value, bytes) else str(value).encode()).hexdigest())
    return tuple(displayed), printed, tuple(values)


def drive(builders: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Build each widget, then move each of its controls once; report per control whether the view changed."""
    import IPython.display
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance()
    displayed: list[str] = []
    real_display = IPython.display.display
    IPython.display.display = lambda *objs, **kw: displayed.extend(_fingerprint(o) for o in objs)
    report: dict[str, Any] = {}
    try:
        for name, build in builders.items():
            displayed.clear()
            out = io.StringIO()
            with redirect_stdout(out):
                ui = build()
            initial = shown(ui, displayed, out.getvalue())
            moves = {}
            for control in controls(ui):  # each move starts from the widget's defaults
                default = control.value
                views = []
                for value in (next_value(control), default):
                    displayed.clear()
                    out = io.StringIO()
                    with redirect_stdout(out):
                        control.value = value
                    views.append(shown(ui, displayed, out.getvalue()))
                moved, restored = views
                label = control.description or type(control).__name__
                moves[label] = {"changed": moved != restored and bool(moved[0] or moved[1] or moved[2])}
            report[name] = {"controls": moves, "initial_view": bool(initial[0] or initial[1] or initial[2])}
    finally:
        IPython.display.display = real_display
    return report


def builders() -> dict[str, Callable[[], Any]]:
    """Every widget of Parts A-E, with small inputs (the same builders as tests/test_widget_figures.py)."""
    from tests.test_widget_figures import _widgets

    return {name: build for name, (build, _label) in _widgets().items()}


def main() -> None:
    import ipywidgets
    import matplotlib

    matplotlib.use("Agg")
    print(json.dumps({"ipywidgets": ipywidgets.__version__, "widgets": drive(builders())}))


if __name__ == "__main__":
    main()
