"""tools/run_notebooks.py on small synthetic notebooks: it executes, stores canonically, and is idempotent.

A notebook with a widget, a printed environment and a cell tagged ``raises-exception`` is run twice: the first
run writes it, the second finds nothing to change (same bytes, file not rewritten). An untagged error stops the
run with a message naming the notebook and the cell.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools.nbnormalize import dumps, normalize
from tools.run_notebooks import NotebookRunError, find_notebooks, main, run

pytestmark = pytest.mark.notebook


def _write(path: Path, cells: list) -> Path:
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "x", "language": "python"}})
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_run_executes_normalizes_and_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(
        tmp_path / "lesson" / "demo.ipynb",
        [
            new_markdown_cell("# Demo"),
            new_code_cell("import os, pathlib\nprint(pathlib.Path.cwd().name, os.environ['PYTHONHASHSEED'], "
                          "os.environ['OMP_NUM_THREADS'])"),
            new_code_cell("import ipywidgets as w\nw.VBox([w.IntSlider(value=3), w.Label('bits')])"),
            new_code_cell("raise ValueError('bits must be in 2..8; got 9')", metadata={"tags": ["raises-exception"]}),
            new_code_cell("print('after the intended error')"),
        ],
    )
    assert run([str(tmp_path)]) == [path.resolve()]
    first = path.read_text(encoding="utf-8")
    nb = nbformat.reads(first, as_version=4)
    assert nb.cells[1].outputs[0].text == "lesson 0 1\n"  # cwd = the notebook's folder; the kernel's env
    assert nb.cells[3].outputs[0].ename == "ValueError"
    assert nb.cells[4].outputs[0].text == "after the intended error\n"
    assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [1, 2, 3, 4]
    assert dumps(normalize(nb)) == first
    view = nb.cells[2].outputs[0].data["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == f"{1:032x}"
    assert "version" not in nb.metadata.language_info
    out = capsys.readouterr().out
    assert "demo.ipynb" in out and " s " in out and "updated" in out

    mtime = path.stat().st_mtime_ns
    assert run([str(path)]) == []  # second run: nothing to change
    assert path.read_text(encoding="utf-8") == first and path.stat().st_mtime_ns == mtime
    assert "unchanged" in capsys.readouterr().out


def test_an_untagged_error_names_the_notebook_and_the_cell(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "broken.ipynb",
        [new_markdown_cell("# Broken"), new_code_cell("x = 1"), new_code_cell("1 / 0  # oops")],
    )
    before = path.read_text(encoding="utf-8")
    with pytest.raises(NotebookRunError, match=r"broken\.ipynb: cell 3 .*'1 / 0  # oops'.* raised ZeroDivisionError: division by zero"):
        run([str(path)])
    assert path.read_text(encoding="utf-8") == before  # nothing written
    assert main([str(path)]) == 2


def test_check_mode_reports_without_writing(tmp_path: Path) -> None:
    path = _write(tmp_path / "fresh.ipynb", [new_code_cell("print(6 * 7)")])
    before = path.read_text(encoding="utf-8")
    assert main(["--check", str(path)]) == 1
    assert path.read_text(encoding="utf-8") == before


def test_bad_paths_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="PATH must be a notebook"):
        find_notebooks([str(tmp_path / "notes.txt")])
    with pytest.raises(FileNotFoundError, match="no notebooks found"):
        run([str(tmp_path)])
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text("{}")
    assert find_notebooks([str(tmp_path)]) == []
