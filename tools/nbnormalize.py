"""Canonical form of a course notebook, so re-running the notebooks leaves ``git status`` clean.

``normalize(nb)`` is a pure function (it returns a new notebook and never touches its input).
``tools/run_notebooks.py`` applies it after every execution; ``tests/test_notebook_hygiene.py`` checks
``normalize(nb) == nb`` for every committed notebook, so a notebook saved from JupyterLab (with
timings, scroll state or fresh widget ids) is caught until ``make notebooks`` has been run.

What it does:

* notebook metadata: kernelspec ``python3`` / ``Python 3 (ipykernel)``; ``language_info`` without
  ``version`` (it names the machine's Python; the course kernel, ``lecture_lib/kernel.py``, does not report it,
  so JupyterLab has nothing to change when a notebook opens); volatile keys (papermill, execution timing, editor state, Colab state) removed;
* cell metadata: ``collapsed``, ``scrolled``, ``ExecuteTime``, ``execution``, ``papermill`` ... removed;
  empty ``tags`` removed;
* cell ids: kept when valid and unique, otherwise replaced by a deterministic id derived from the cell's
  type and source; nbformat 4.5;
* outputs: consecutive stream outputs of the same name merged; cells tagged ``live-timing`` (a live
  re-measurement of wall-clock time, which differs on every run and every machine) are stored without
  outputs: the learner sees the numbers when running the cell, the page shows the recorded data next to it;
* numbers in metadata and outputs: a float with an integral value (``10.0``) written as an integer (``10``),
  as JupyterLab writes it back (JavaScript has one number type), so saving from JupyterLab changes nothing;
* widgets: model ids renumbered in order of first appearance (outputs first, then references inside the
  saved widget state), in outputs and in ``metadata.widgets`` alike; an Output widget's transient
  ``msg_id`` cleared; tqdm's elapsed/remaining/rate bracket removed from widget text; empty state dropped.

``dumps(nb)`` gives the stable JSON text (nbformat's layout: indent 1, sorted keys, trailing newline).
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

import nbformat

__all__ = ["KERNELSPEC", "NBFORMAT_MINOR", "dumps", "normalize", "write_if_changed"]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
NBFORMAT_MINOR = 5

_VOLATILE_NOTEBOOK_KEYS = frozenset(
    {
        "papermill",
        "execution",
        "toc",
        "varInspector",
        "vscode",
        "colab",
        "accelerator",
        "gpuClass",
        "celltoolbar",
        "interpreter",
        "orig_nbformat",
        "widgets",  # rebuilt below (renumbered) when it holds state
    }
)
_VOLATILE_CELL_KEYS = frozenset(
    {"collapsed", "scrolled", "ExecuteTime", "execution", "papermill", "pycharm", "vscode", "colab", "trusted"}
)
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_IPY_MODEL = "IPY_MODEL_"
_CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
# tqdm's " [00:01<00:02, 3.45it/s]" (also "s/it", "?it/s", postfix after the rate).
_TQDM_BRACKET = re.compile(r"\s*\[\d+:\d\d(?::\d\d)?<[^\]]*\]")


def _model_id(n: int) -> str:
    """The n-th (1-based) widget model id: 32 hex digits like the kernel's uuid4().hex."""
    return f"{n:032x}"


def _cell_ids(cells: list[dict[str, Any]]) -> list[str]:
    seen: set[str] = set()
    ids: list[str] = []
    for cell in cells:
        cid = cell.get("id")
        if not isinstance(cid, str) or not _CELL_ID.match(cid) or cid in seen:
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(source)
            digest = hashlib.sha1(f"{cell.get('cell_type')}\0{source}".encode()).hexdigest()
            cid, k = digest[:8], 1
            while cid in seen:
                k += 1
                cid = f"{digest[:8]}-{k}"
        seen.add(cid)
        ids.append(cid)
    return ids


def _merge_streams(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: list[dict[str, Any]] = []
    for out in outputs:
        if (
            out.get("output_type") == "stream"
            and merged
            and merged[-1].get("output_type") == "stream"
            and merged[-1].get("name") == out.get("name")
        ):
            prev = merged[-1]
            prev["text"] = _text(prev["text"]) + _text(out["text"])
        else:
            merged.append(out)
    return merged


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else value


def _refs_in(value: Any, known: set[str]) -> list[str]:
    """Model ids referenced inside a widget state value, in a deterministic (sorted-key) order."""
    found: list[str] = []
    if isinstance(value, str):
        if value.startswith(_IPY_MODEL) and value[len(_IPY_MODEL):] in known:
            found.append(value[len(_IPY_MODEL):])
        elif value in known:
            found.append(value)
    elif isinstance(value, dict):
        for key in sorted(value):
            found.extend(_refs_in(value[key], known))
    elif isinstance(value, list):
        for item in value:
            found.extend(_refs_in(item, known))
    return found


def _js_numbers(value: Any) -> Any:
    """``value`` with every integral float (``10.0``) as an int, recursively: the JSON JupyterLab saves.

    The front end keeps notebook JSON as JavaScript numbers, so a saved ``10.0`` comes back as ``10``. Only
    floats within 2**53 (exact in both languages) are converted; strings are left alone.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _js_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_js_numbers(item) for item in value]
    return value


def _rename(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, str):
        if value.startswith(_IPY_MODEL) and value[len(_IPY_MODEL):] in mapping:
            return _IPY_MODEL + mapping[value[len(_IPY_MODEL):]]
        if value in mapping:
            return mapping[value]
        return _TQDM_BRACKET.sub("", value)
    if isinstance(value, dict):
        return {key: _rename(item, mapping) for key, item in value.items()}
    if isinstance(value, list):
        return [_rename(item, mapping) for item in value]
    return value


def _widget_views(cells: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []

    def visit(outputs: list[dict[str, Any]]) -> None:
        for out in outputs:
            view = out.get("data", {}).get(_WIDGET_VIEW) if isinstance(out.get("data"), dict) else None
            if isinstance(view, dict) and isinstance(view.get("model_id"), str):
                ids.append(view["model_id"])

    for cell in cells:
        visit(cell.get("outputs", []))
    return ids


def _renumber_widgets(nb: dict[str, Any], widgets_meta: Any) -> None:
    state: dict[str, Any] = {}
    if isinstance(widgets_meta, dict) and isinstance(widgets_meta.get(_WIDGET_STATE), dict):
        raw = widgets_meta[_WIDGET_STATE].get("state")
        if isinstance(raw, dict):
            state = raw
    known = set(state) | set(_widget_views(nb["cells"]))

    order: list[str] = []
    placed: set[str] = set()

    def place(model: str) -> None:
        stack = [model]
        while stack:
            current = stack.pop()
            if current in placed:
                continue
            placed.add(current)
            order.append(current)
            refs = _refs_in(state.get(current, {}).get("state", {}), known)
            stack.extend(reversed(refs))

    for model in _widget_views(nb["cells"]):
        place(model)
    for model in state:  # widgets never displayed (creation order)
        place(model)
    mapping = {old: _model_id(i) for i, old in enumerate(order, start=1)}

    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data")
            if isinstance(data, dict) and isinstance(data.get(_WIDGET_VIEW), dict):
                view = data[_WIDGET_VIEW]
                if view.get("model_id") in mapping:
                    view["model_id"] = mapping[view["model_id"]]

    if state:
        new_state = {}
        for old, entry in state.items():
            entry = _rename(entry, mapping)
            inner = entry.get("state") if isinstance(entry, dict) else None
            if isinstance(inner, dict) and entry.get("model_name") == "OutputModel" and "msg_id" in inner:
                inner["msg_id"] = ""
            new_state[mapping[old]] = entry
        meta = copy.deepcopy(widgets_meta)
        meta[_WIDGET_STATE]["state"] = new_state
        nb["metadata"]["widgets"] = meta


#: Cells with this tag re-measure wall-clock time live; their outputs are never stored (see the module docstring).
#: They must also carry ``nbval-ignore-output`` (nbval then executes them without comparing).
LIVE_TIMING_TAG = "live-timing"


def normalize(nb: dict[str, Any]) -> nbformat.NotebookNode:
    """Return the canonical form of ``nb`` (a NotebookNode or a plain dict); ``nb`` is left unchanged."""
    if not isinstance(nb, dict) or "cells" not in nb:
        raise TypeError("nb must be a notebook (a dict with 'cells' and 'metadata', e.g. from nbformat.read)")
    nb = copy.deepcopy(dict(nb))
    nb["nbformat"] = 4
    nb["nbformat_minor"] = NBFORMAT_MINOR
    meta = dict(nb.get("metadata") or {})
    widgets_meta = meta.get("widgets")
    meta = {k: v for k, v in meta.items() if k not in _VOLATILE_NOTEBOOK_KEYS}
    meta["kernelspec"] = dict(KERNELSPEC)
    info = dict(meta.get("language_info") or {"name": "python"})
    info.pop("version", None)
    meta["language_info"] = info
    nb["metadata"] = meta

    cells = [dict(cell) for cell in nb["cells"]]
    for cell, cid in zip(cells, _cell_ids(cells)):
        cell["id"] = cid
        cmeta = {k: v for k, v in (cell.get("metadata") or {}).items() if k not in _VOLATILE_CELL_KEYS}
        if "tags" in cmeta and not cmeta["tags"]:
            del cmeta["tags"]
        jupyter = cmeta.get("jupyter")
        if isinstance(jupyter, dict) and not jupyter:
            del cmeta["jupyter"]
        cell["metadata"] = cmeta
        cell["source"] = _text(cell.get("source", ""))
        if cell.get("cell_type") == "code":
            live = LIVE_TIMING_TAG in cmeta.get("tags", [])
            cell["outputs"] = [] if live else _merge_streams([dict(out) for out in cell.get("outputs", [])])
            for out in cell["outputs"]:
                if "text" in out:
                    out["text"] = _text(out["text"])
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    nb["cells"] = cells
    _renumber_widgets(nb, widgets_meta)
    nb["metadata"] = _js_numbers(nb["metadata"])
    for cell in nb["cells"]:
        cell["metadata"] = _js_numbers(cell["metadata"])
        if "outputs" in cell:
            cell["outputs"] = _js_numbers(cell["outputs"])
    return nbformat.from_dict(nb)


def dumps(nb: dict[str, Any]) -> str:
    """Stable JSON text of a notebook: nbformat's own layout (indent 1, sorted keys) plus a final newline."""
    text = nbformat.writes(nbformat.from_dict(nb), version=4)
    return text if text.endswith("\n") else text + "\n"


def write_if_changed(path: str, nb: dict[str, Any]) -> bool:
    """Write ``dumps(nb)`` to ``path`` unless the file already holds exactly that text; True if written."""
    text = dumps(nb)
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return False
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return True
