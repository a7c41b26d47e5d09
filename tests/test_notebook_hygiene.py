"""Hygiene of every stored notebook (notebooks/, solutions/, exercises/), without executing anything.

Each rule is a small function ``rule(nb) -> list of problems``; the parametrized tests apply every rule to
every stored notebook, and the negative controls at the bottom prove each rule flags a synthetic bad notebook
(and passes a good one). Executing the notebooks is nbval's job (``pytest`` runs them too).

Rules:
* executed in order: non-empty code cells numbered 1..n, empty ones unexecuted;
* no stored error output, except in cells tagged ``raises-exception``;
* no absolute paths, memory addresses or timings in outputs (absolute paths not in sources either);
* kernelspec ``python3``; the first code cell is exactly ``lecture_lib.nbsetup.BOOTSTRAP_CELL``;
* stored exactly as ``tools/run_notebooks.py`` writes it (``tools.nbnormalize``);
* relative links in markdown cells point at files that exist;
* part notebooks (``notebooks/part*.ipynb``) have the eight zone headings ``## Zone N — Name`` in order
  (the Japanese edition in ``notebooks/ja``: ``## ゾーンN — 名前``).
"""

from __future__ import annotations

import copy
import re
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lecture_lib.nbsetup import BOOTSTRAP_CELL
from tools.nbnormalize import dumps, normalize

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("notebooks", "solutions", "exercises", "notebooks/ja", "exercises/ja")
ZONES = ("Quickstart", "Hands-on", "Intuition", "Math", "Implementation", "Experiments", "Advanced", "Review")
ZONE_HEADINGS = tuple(f"## Zone {i} — {name}" for i, name in enumerate(ZONES))
ZONES_JA = ("クイックスタート", "体験", "直感", "数式", "実装", "実験", "発展", "復習")
ZONE_HEADINGS_JA = tuple(f"## ゾーン{i} — {name}" for i, name in enumerate(ZONES_JA))

Notebook = dict[str, Any]
TEXT_MIME = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")


def stored_notebooks() -> list[Path]:
    return [p for folder in FOLDERS for p in sorted((ROOT / folder).glob("*.ipynb"))]


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _src(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _output_texts(nb: Notebook) -> list[tuple[int, str]]:
    """(cell index, text) for every text-like output and every string in the saved widget state."""
    texts: list[tuple[int, str]] = []
    for index, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            if "text" in out:
                texts.append((index, _src({"source": out["text"]})))
            for mime in TEXT_MIME:
                value = out.get("data", {}).get(mime)
                if value is not None:
                    texts.append((index, value if isinstance(value, str) else "".join(map(str, value))))
            if out.get("output_type") == "error":
                texts.append((index, f"{out.get('ename')}: {out.get('evalue')}\n" + "\n".join(out.get("traceback", []))))

    def strings(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for key, item in value.items() if key != "buffers" for s in strings(item)]
        if isinstance(value, list):
            return [s for item in value for s in strings(item)]
        return []

    for text in strings(nb.get("metadata", {}).get("widgets", {})):
        texts.append((-1, text))
    return texts


def _where(index: int) -> str:
    return "widget state" if index < 0 else f"cell {index + 1}"


# --------------------------------------------------------------------------------------------- rules
def executed_in_order(nb: Notebook) -> list[str]:
    problems, expected = [], 1
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        count = cell.get("execution_count")
        if not _src(cell).strip():
            if count is not None or cell.get("outputs"):
                problems.append(f"cell {index + 1}: empty code cell was executed or has outputs")
            continue
        if count != expected:
            problems.append(f"cell {index + 1}: execution_count {count}, expected {expected} (restart and run all)")
        expected += 1
    return problems


def no_stored_errors(nb: Notebook) -> list[str]:
    return [
        f"cell {index + 1}: stored {out.get('ename')} (tag the cell 'raises-exception' if it is intended)"
        for index, cell in enumerate(nb["cells"])
        if "raises-exception" not in _tags(cell)
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


_ABS_PATH = re.compile(r"(?<![\w.~-])(?:/(?:work|tmp|home|root|Users|private/var)/|[A-Za-z]:\\)")
_ABS_PATH_IN_SOURCE = re.compile(r"(?<![\w.~-])(?:/(?:work|home|root|Users)/|[A-Za-z]:\\)")


def no_absolute_paths(nb: Notebook) -> list[str]:
    problems = [
        f"{_where(index)}: absolute path in output: {m.group(0)!r}…"
        for index, text in _output_texts(nb)
        for m in [_ABS_PATH.search(text)]
        if m
    ]
    problems += [
        f"cell {index + 1}: machine-specific absolute path in source: {m.group(0)!r}…"
        for index, cell in enumerate(nb["cells"])
        for m in [_ABS_PATH_IN_SOURCE.search(_src(cell))]
        if m
    ]
    return problems


_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,16}\b")


def no_memory_addresses(nb: Notebook) -> list[str]:
    return [
        f"{_where(index)}: memory address in output: {m.group(0)} (assign the object to _ instead of showing its repr)"
        for index, text in _output_texts(nb)
        for m in [_ADDRESS.search(text)]
        if m
    ]


_TIMING = re.compile(
    r"Wall time|CPU times|\d\s?it/s|\d\s?s/it|per loop \(mean|\[\d+:\d\d(?::\d\d)?<|\d\s?(?:ms|µs|us|ns) per (?:loop|call|token|step)"
)


def no_timings(nb: Notebook) -> list[str]:
    return [
        f"{_where(index)}: timing in output: {m.group(0)!r} (timings belong in benchmarks/, not stored outputs)"
        for index, text in _output_texts(nb)
        for m in [_TIMING.search(text)]
        if m
    ]


def python3_kernel(nb: Notebook) -> list[str]:
    name = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    return [] if name == "python3" else [f"kernelspec name is {name!r}, expected 'python3'"]


def starts_with_bootstrap(nb: Notebook) -> list[str]:
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    if not code:
        return ["no code cell: the first code cell must be lecture_lib.nbsetup.BOOTSTRAP_CELL"]
    if _src(code[0]) != BOOTSTRAP_CELL:
        return ["first code cell differs from lecture_lib.nbsetup.BOOTSTRAP_CELL (copy it exactly)"]
    if code[0].get("outputs"):
        return ["the setup (bootstrap) cell has outputs; it must print nothing"]
    return []


def is_normalized(nb: Notebook, text: str | None = None) -> list[str]:
    """``text``: the file's exact text (checks the JSON layout too); None compares the parsed notebook only."""
    canonical = normalize(nb)
    if text is not None:
        same = dumps(canonical) == text
    else:
        same = canonical == nbformat.from_dict(copy.deepcopy(nb))
    return [] if same else ["not in canonical form: run `make notebooks` (tools/run_notebooks.py) to store it"]


_LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|href=\"([^\"]+)\"")


def relative_links_resolve(nb: Notebook, folder: Path) -> list[str]:
    problems = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for m in _LINK.finditer(_src(cell)):
            target = m.group(1) or m.group(2)
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0].split("?", 1)[0]
            if path and not (folder / path).exists():
                problems.append(f"cell {index + 1}: link to {target!r}, which does not exist")
    return problems


def zone_headings(nb: Notebook, lang: str = "en") -> list[str]:
    word = "ゾーン" if lang == "ja" else "Zone"
    found = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            found += [line.rstrip() for line in _src(cell).splitlines() if re.match(rf"^##\s+{word}", line)]
    wanted = list(ZONE_HEADINGS_JA if lang == "ja" else ZONE_HEADINGS)
    allowed = (re.compile(r"^(## ゾーン[0-7] — [^\s:：]+)(?:[:：] ?\S.*)?$") if lang == "ja"
               else re.compile(r"^(## Zone [0-7] — [A-Za-z-]+)(?:: \S.*)?$"))
    stems = [m.group(1) if (m := allowed.match(line)) else line for line in found]
    if stems == wanted:
        return []
    return [f"zone headings must be exactly {wanted} in order (optionally followed by ': subtitle'); found {found}"]


RULES: dict[str, Callable[[Notebook], list[str]]] = {
    "executed_in_order": executed_in_order,
    "no_stored_errors": no_stored_errors,
    "no_absolute_paths": no_absolute_paths,
    "no_memory_addresses": no_memory_addresses,
    "no_timings": no_timings,
    "python3_kernel": python3_kernel,
    "starts_with_bootstrap": starts_with_bootstrap,
}


# ------------------------------------------------------------------------------- the stored notebooks
NOTEBOOKS = stored_notebooks()
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def test_there_are_notebooks() -> None:
    assert (ROOT / "notebooks" / "00_start_here.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
@pytest.mark.parametrize("rule", list(RULES))
def test_rule(path: Path, rule: str) -> None:
    nb = nbformat.read(path, as_version=4)
    assert RULES[rule](nb) == [], f"{path.relative_to(ROOT)}: {RULES[rule](nb)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_in_canonical_form(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert is_normalized(nbformat.reads(text, as_version=4), text) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_relative_links_resolve(path: Path) -> None:
    assert relative_links_resolve(nbformat.read(path, as_version=4), path.parent) == []


PART_NOTEBOOKS = sorted((ROOT / "notebooks").glob("part*.ipynb")) + sorted((ROOT / "notebooks/ja").glob("part*.ipynb"))


@pytest.mark.parametrize("path", PART_NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in PART_NOTEBOOKS])
def test_part_notebook_has_the_eight_zones(path: Path) -> None:
    lang = "ja" if path.parent.name == "ja" else "en"
    assert zone_headings(nbformat.read(path, as_version=4), lang) == []


# ----------------------------------------------------------------------------------- negative controls
def good_notebook() -> nbformat.NotebookNode:
    """A small notebook that passes every rule (as the pipeline would store it)."""
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title\n\nSee [the start page](00_start_here.ipynb)."),
            new_code_cell(BOOTSTRAP_CELL, execution_count=1),
            new_code_cell("print(1 + 1)", execution_count=2, outputs=[new_output("stream", name="stdout", text="2\n")]),
            new_code_cell("", execution_count=None),
            new_code_cell(
                "raise ValueError('bits must be in 2..8; got 9')",
                execution_count=3,
                metadata={"tags": ["raises-exception"]},
                outputs=[new_output("error", ename="ValueError", evalue="bits must be in 2..8; got 9", traceback=[])],
            ),
            new_markdown_cell("\n\n".join(f"{h}\n\ntext" for h in ZONE_HEADINGS)),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}},
    )
    return normalize(nb)


def _with_output(text: str, mime: str | None = None) -> nbformat.NotebookNode:
    nb = good_notebook()
    if mime is None:
        nb.cells[2].outputs = [new_output("stream", name="stdout", text=text)]
    else:
        nb.cells[2].outputs = [new_output("execute_result", data={mime: text}, execution_count=2)]
    return nb


def test_good_notebook_passes_every_rule() -> None:
    nb = good_notebook()
    for name, rule in RULES.items():
        assert rule(nb) == [], name
    assert is_normalized(nb, dumps(nb)) == []
    assert relative_links_resolve(nb, ROOT / "notebooks") == []
    assert zone_headings(nb) == []


def _bad_order() -> nbformat.NotebookNode:
    nb = good_notebook()
    nb.cells[2].execution_count = 5
    return nb


def _bad_empty_cell() -> nbformat.NotebookNode:
    nb = good_notebook()
    nb.cells[3].execution_count = 7
    return nb


def _bad_unexecuted() -> nbformat.NotebookNode:
    nb = good_notebook()
    nb.cells[2].execution_count = None
    return nb


def _bad_error() -> nbformat.NotebookNode:
    nb = good_notebook()
    nb.cells[4].metadata = {}
    return nb


def _bad_kernel() -> nbformat.NotebookNode:
    nb = good_notebook()
    nb.metadata.kernelspec.name = "lecture26-venv"
    return nb


def _bad_bootstrap() -> nbformat.NotebookNode:
    nb = good_notebook()
    nb.cells[1].source = BOOTSTRAP_CELL.replace("setup()", "setup(seed=1)")
    return nb


def _bad_bootstrap_output() -> nbformat.NotebookNode:
    nb = good_notebook()
    nb.cells[1].outputs = [new_output("stream", name="stderr", text="Collecting lecture26\n")]
    return nb


def _bad_no_code() -> nbformat.NotebookNode:
    nb = good_notebook()
    nb.cells = [c for c in nb.cells if c.cell_type == "markdown"]
    return nb


def _bad_source_path() -> nbformat.NotebookNode:
    nb = good_notebook()
    nb.cells[2].source = "open('/home/alice/data.txt')"
    return nb


def _bad_widget_state_path() -> nbformat.NotebookNode:
    nb = good_notebook()
    nb.metadata.widgets = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {"1": {"model_name": "HTMLModel", "state": {"value": "saved to /tmp/run/out.csv"}}},
            "version_major": 2,
            "version_minor": 0,
        }
    }
    return nb


NEGATIVE = [
    ("executed_in_order", _bad_order),
    ("executed_in_order", _bad_empty_cell),
    ("executed_in_order", _bad_unexecuted),
    ("no_stored_errors", _bad_error),
    ("no_absolute_paths", lambda: _with_output("loaded /work/main/lecture_lib/tinylm/data/teacher.safetensors\n")),
    ("no_absolute_paths", lambda: _with_output("/tmp/ipykernel_123/456.py:3: UserWarning: careful\n")),
    ("no_absolute_paths", lambda: _with_output("'C:\\\\Users\\\\me\\\\course'", "text/plain")),
    ("no_absolute_paths", lambda: _with_output("<a href='file:///root/x'>x</a>", "text/html")),
    ("no_absolute_paths", _bad_source_path),
    ("no_absolute_paths", _bad_widget_state_path),
    ("no_memory_addresses", lambda: _with_output("<matplotlib.lines.Line2D at 0x7f3a2c1b9d90>", "text/plain")),
    ("no_memory_addresses", lambda: _with_output("<torch._C.Generator object at 0x7F00AB12CD34>\n")),
    ("no_timings", lambda: _with_output("CPU times: user 1.2 s, sys: 3 ms, total: 1.2 s\nWall time: 1.2 s\n")),
    ("no_timings", lambda: _with_output("100%|##########| 50/50 [00:02<00:00, 24.31it/s]\n")),
    ("no_timings", lambda: _with_output("1.23 ms ± 45.6 µs per loop (mean ± std. dev. of 7 runs, 1,000 loops each)\n")),
    ("no_timings", lambda: _with_output("draft: 3.4 ms per token\n")),
    ("python3_kernel", _bad_kernel),
    ("starts_with_bootstrap", _bad_bootstrap),
    ("starts_with_bootstrap", _bad_bootstrap_output),
    ("starts_with_bootstrap", _bad_no_code),
]


@pytest.mark.parametrize(("rule", "make_bad"), NEGATIVE, ids=[f"{r}-{i}" for i, (r, _) in enumerate(NEGATIVE)])
def test_rule_flags_a_bad_notebook(rule: str, make_bad: Callable[[], Notebook]) -> None:
    assert RULES[rule](make_bad()) != []


def test_rules_do_not_flag_ordinary_numbers_and_units() -> None:
    nb = _with_output("p99 latency 120.0 ms at load 0.8; weights 0x7 bits? no: 4 bits, 8x smaller; tmp/ folder\n")
    for name, rule in RULES.items():
        assert rule(nb) == [], name


def test_normalized_rule_flags_drift() -> None:
    nb = good_notebook()
    drifted = copy.deepcopy(nb)
    drifted.cells[2].metadata["ExecuteTime"] = {"end_time": "2025-01-01T00:00:00"}
    assert is_normalized(drifted) != []
    drifted = copy.deepcopy(nb)
    drifted.metadata.language_info = {"name": "python", "version": "3.11.9"}
    assert is_normalized(drifted) != []
    text = dumps(nb)
    assert is_normalized(nb, text) == []
    assert is_normalized(nb, text.replace('\n "cells"', '\n  "cells"')) != []  # layout drift
    assert is_normalized(nb, text.rstrip("\n")) != []


def test_links_rule_flags_a_missing_file() -> None:
    nb = good_notebook()
    nb.cells[0].source = "Go to [Part Z](partZ_missing.ipynb) or [the web](https://example.org) or [below](#x)."
    problems = relative_links_resolve(nb, ROOT / "notebooks")
    assert len(problems) == 1 and "partZ_missing.ipynb" in problems[0]


@pytest.mark.parametrize(
    "headings",
    [
        ZONE_HEADINGS[:-1],  # one missing
        ZONE_HEADINGS[1:] + ZONE_HEADINGS[:1],  # out of order
        tuple(h.replace(" — ", " - ") for h in ZONE_HEADINGS),  # wrong dash
        tuple(h.replace("## ", "### ") for h in ZONE_HEADINGS),  # wrong level
        ZONE_HEADINGS + ZONE_HEADINGS[-1:],  # duplicated
    ],
    ids=["missing", "order", "dash", "level", "duplicate"],
)
def test_zone_rule_flags_bad_headings(headings: tuple[str, ...]) -> None:
    nb = good_notebook()
    nb.cells[-1].source = "\n\n".join(headings)
    assert zone_headings(nb) != []


def test_zone_rule_accepts_subtitles() -> None:
    nb = good_notebook()
    nb.cells[-1].source = "\n\n".join(f"{h}: about it" for h in ZONE_HEADINGS)
    assert zone_headings(nb) == []


# ----------------------------------------------------------------------------------- normalization
def _widget_notebook(ids: list[str]) -> nbformat.NotebookNode:
    """Slider (id0) with layout (id1) and style (id2), shown in a cell; an undisplayed Output widget (id3)."""
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": ids[0], "version_major": 2, "version_minor": 0},
            "text/plain": "IntSlider(value=4)"}
    state = {
        ids[3]: {"model_name": "OutputModel", "state": {"msg_id": "c0ffee-123", "outputs": []}},
        ids[2]: {"model_name": "SliderStyleModel", "state": {"description_width": ""}},
        ids[1]: {"model_name": "LayoutModel", "state": {}},
        ids[0]: {"model_name": "IntSliderModel",
                 "state": {"layout": f"IPY_MODEL_{ids[1]}", "style": f"IPY_MODEL_{ids[2]}", "value": 4}},
        ids[4]: {"model_name": "HTMLModel", "state": {"value": " 50/50 [00:02<00:00, 24.31it/s]"}},
    }
    nb = new_notebook(
        cells=[new_code_cell("w", execution_count=1, outputs=[new_output("display_data", data=view)])],
        metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {
            "state": state, "version_major": 2, "version_minor": 0}}},
    )
    nb.cells[0].id = "show-widget"
    return nb


@settings(max_examples=25, deadline=None)
@given(st.lists(st.uuids(), min_size=5, max_size=5, unique=True))
def test_widget_ids_are_renumbered_by_first_appearance(ids: list[uuid.UUID]) -> None:
    hexes = [u.hex for u in ids]
    out = normalize(_widget_notebook(hexes))
    assert dumps(out) == dumps(normalize(_widget_notebook([f"{n:032x}" for n in range(100, 105)])))
    state = out.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    one, two, three = (f"{n:032x}" for n in (1, 2, 3))
    assert out.cells[0].outputs[0].data["application/vnd.jupyter.widget-view+json"]["model_id"] == one
    assert state[one]["state"]["layout"] == f"IPY_MODEL_{two}" and state[one]["state"]["style"] == f"IPY_MODEL_{three}"
    assert set(state) == {f"{n:032x}" for n in range(1, 6)}
    assert not any(h in dumps(out) for h in hexes)
    assert state[f"{4:032x}"]["state"]["msg_id"] == ""  # the undisplayed Output widget, in creation order
    assert state[f"{5:032x}"]["state"]["value"] == " 50/50"  # tqdm's time and rate removed


def test_normalize_strips_volatile_metadata_and_is_idempotent() -> None:
    nb = new_notebook(
        cells=[
            new_code_cell("print(1)", execution_count=1, metadata={"ExecuteTime": {"a": 1}, "scrolled": True,
                                                                    "collapsed": False, "tags": []},
                          outputs=[new_output("stream", name="stdout", text="a"),
                                   new_output("stream", name="stdout", text="b\n"),
                                   new_output("stream", name="stderr", text="w\n")]),
            new_markdown_cell("x", metadata={"tags": ["keep-me"]}),
        ],
        metadata={"kernelspec": {"name": "venv", "display_name": "venv"}, "papermill": {"duration": 1.2},
                  "language_info": {"name": "python", "version": "3.11.9"}, "lecture26": {"part": "A"}},
    )
    nb.nbformat_minor = 4
    for cell in nb.cells:
        del cell["id"]
    before = copy.deepcopy(nb)
    out = normalize(nb)
    assert nb == before  # pure: the input is untouched
    assert out.metadata.kernelspec == {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    assert "version" not in out.metadata.language_info and "papermill" not in out.metadata
    assert out.metadata.lecture26 == {"part": "A"}  # course metadata is kept
    assert out.cells[0].metadata == {} and out.cells[1].metadata == {"tags": ["keep-me"]}
    assert [(o.name, o.text) for o in out.cells[0].outputs] == [("stdout", "ab\n"), ("stderr", "w\n")]
    assert out.nbformat_minor == 5 and len({c.id for c in out.cells}) == 2
    assert normalize(out) == out and dumps(normalize(out)) == dumps(out)
    nbformat.validate(out)
    assert dumps(out).endswith("}\n")


def test_normalize_writes_integral_floats_as_javascript_does() -> None:
    """JupyterLab saves 10.0 as 10 (JavaScript has one number type): the canonical form does the same."""
    nb = good_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"a" * 32: {"model_name": "FloatLogSliderModel",
                             "state": {"base": 10.0, "min": -4.0, "step": 0.05, "value": 1000.0, "label": "10.0"}}},
        "version_major": 2, "version_minor": 0}}
    nb.cells[2].outputs = [nbformat.v4.new_output("execute_result", data={"application/json": {"x": 2.0, "y": 2.5}},
                                                  execution_count=1)]
    canonical = normalize(nb)
    state = canonical.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"][_model_id_1()]["state"]
    assert state == {"base": 10, "min": -4, "step": 0.05, "value": 1000, "label": "10.0"}
    assert all(type(state[k]) is int for k in ("base", "min", "value"))
    assert canonical.cells[2].outputs[0]["data"]["application/json"] == {"x": 2, "y": 2.5}
    assert '"value": 1000\n' in dumps(canonical) and "1000.0" not in dumps(canonical)
    assert normalize(canonical) == canonical
    assert is_normalized(nb) != []  # the float form is flagged as drift


def _model_id_1() -> str:
    return f"{1:032x}"


def test_normalize_rejects_non_notebooks() -> None:
    with pytest.raises(TypeError, match="nb must be a notebook"):
        normalize(["not", "a", "notebook"])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------- suite guard
def test_collection_guard_flags_small_or_notebook_less_collections(tmp_path: Path) -> None:
    from tests.conftest import MIN_FULL_SUITE_ITEMS, collection_problems

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "00_start_here.ipynb").write_text("{}")
    config = SimpleNamespace(rootpath=tmp_path)
    plain = [SimpleNamespace(path=tmp_path / "tests" / f"test_{i}.py") for i in range(MIN_FULL_SUITE_ITEMS)]
    nb_item = SimpleNamespace(path=tmp_path / "notebooks" / "00_start_here.ipynb")
    assert collection_problems(config, plain + [nb_item]) == []
    assert any("only 0 test items" in p for p in collection_problems(config, []))
    assert any("not collected by nbval: 00_start_here.ipynb" in p for p in collection_problems(config, plain))


def test_live_timing_cells_are_stored_without_outputs() -> None:
    live = new_code_cell("print(time.perf_counter())", execution_count=2,
                         metadata={"tags": ["nbval-ignore-output", "live-timing"]},
                         outputs=[new_output("stream", name="stdout", text="1234.5\n")])
    kept = new_code_cell("print(1)", execution_count=3, metadata={"tags": ["nbval-ignore-output"]},
                         outputs=[new_output("stream", name="stdout", text="1\n")])
    nb = normalize(new_notebook(cells=[live, kept]))
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count == 2, "live-timing outputs must not be stored"
    assert nb.cells[1].outputs[0]["text"] == "1\n", "only live-timing cells lose their outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_live_timing_cells_are_not_compared_by_nbval(path: Path) -> None:
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if "live-timing" in tags:
            assert "nbval-ignore-output" in tags, f"cell {index}: a live-timing cell must also be tagged nbval-ignore-output"
