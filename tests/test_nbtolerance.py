"""``nbval-tolerance=`` tags: numbers within the stated tolerance pass, everything else still fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools import nbtolerance as nt

ROOT = Path(__file__).resolve().parent.parent


def test_parse_tag() -> None:
    assert nt.parse_tag("nbval-tolerance=0.02") == nt.Tolerance(0.02)
    assert nt.parse_tag("nbval-tolerance=1%") == nt.Tolerance(0.01, relative=True)
    assert nt.parse_tag("nbval-ignore-output") is None
    for bad in ("nbval-tolerance=", "nbval-tolerance=abc", "nbval-tolerance=0", "nbval-tolerance=-1",
                "nbval-tolerance=inf", "nbval-tolerance=50%"):
        with pytest.raises(ValueError, match="tag"):
            nt.parse_tag(bad)
    with pytest.raises(ValueError, match="at most one"):
        nt.cell_tolerance({"tags": ["nbval-tolerance=0.1", "nbval-tolerance=1%"]})
    assert nt.cell_tolerance({}) is None and nt.cell_tolerance({"tags": ["live-timing"]}) is None


def test_split_numbers_reads_python_numpy_and_pandas_forms() -> None:
    pieces, numbers = nt.split_numbers("INT3 loss -2.95, 1.6200e-03 at 2^27; 81 % <td>0.896</td> .5")
    assert numbers == [-2.95, 1.62e-3, 2, 27, 81, 0.896, 0.5]
    assert pieces[0] == "INT3 loss " and "INT3" not in "".join(pieces[1:])


def test_texts_match() -> None:
    tol = nt.Tolerance(0.02)
    assert nt.texts_match("loss 2.95 (fp32 2.99)", "loss 2.96 (fp32 2.99)", tol)
    assert not nt.texts_match("loss 2.90 (fp32 2.99)", "loss 2.96 (fp32 2.99)", tol)  # a real change
    assert not nt.texts_match("loss 2.95 (fp16 2.99)", "loss 2.95 (fp32 2.99)", tol)  # words differ
    assert not nt.texts_match("loss 2.95 2.99", "loss 2.95", tol)  # number count differs
    assert not nt.texts_match("nan", "1.0", tol) and nt.texts_match("x nan", "x nan", tol)
    rel = nt.Tolerance(0.01, relative=True)
    assert nt.texts_match("1000 and 0.5", "1009 and 0.504", rel)
    assert not nt.texts_match("1000 and 0.5", "1011 and 0.5", rel)


@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=8),
       st.floats(1e-3, 1.0))
def test_numbers_inside_the_tolerance_match_and_outside_do_not(values, tol) -> None:
    stored = " | ".join(f"{v:.9f}" for v in values)
    inside = " | ".join(f"{v + tol / 2:.9f}" for v in values)
    outside = " | ".join(f"{v + 3 * tol:.9f}" for v in values)
    t = nt.Tolerance(tol)
    assert nt.texts_match(inside, stored, t)
    assert not nt.texts_match(outside, stored, t)


def test_accept_within_tolerance_replaces_only_matching_fields() -> None:
    stored = [{"output_type": "stream", "name": "stdout", "text": "a 1.00\n"},
              {"output_type": "execute_result", "data": {"text/plain": "x 5.0", "text/html": "<td>5.0</td>",
                                                        "image/png": "AAA"}}]
    fresh = [{"output_type": "stream", "name": "stdout", "text": "a 1.01\n"},
             {"output_type": "execute_result", "data": {"text/plain": "x 5.5", "text/html": "<td>5.01</td>",
                                                       "image/png": "BBB"}}]
    out = nt.accept_within_tolerance(fresh, stored, nt.Tolerance(0.02))
    assert out[0]["text"] == "a 1.00\n"
    assert out[1]["data"]["text/html"] == "<td>5.0</td>"
    assert out[1]["data"]["text/plain"] == "x 5.5"  # outside: left for nbval to report
    assert fresh[0]["text"] == "a 1.01\n"  # inputs untouched
    assert nt.accept_within_tolerance(fresh[:1], stored, nt.Tolerance(0.02)) == fresh[:1]


def _run_nbval(tmp_path: Path, stored_text: str, tags: list[str]) -> subprocess.CompletedProcess:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('print(f"loss {2.95 + 0.004:.3f} after {50} steps")', execution_count=1,
                                     metadata={"tags": tags})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored_text)]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "tolerance_check.ipynb"
    nbformat.write(nb, path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tools.nbtolerance",
                           "--nbval", "--nbval-current-env", "--rootdir", str(tmp_path), "-c", os.devnull, str(path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("stored, tags, passes", [
    ("loss 2.954 after 50 steps\n", [], True),                                   # identical
    ("loss 2.960 after 50 steps\n", [], False),                                  # strict: any digit fails
    ("loss 2.960 after 50 steps\n", ["nbval-tolerance=0.01"], True),             # within the stated tolerance
    ("loss 2.990 after 50 steps\n", ["nbval-tolerance=0.01"], False),            # negative control: a real change
    ("loss 2.954 after 51 steps\n", ["nbval-tolerance=0.01"], False),            # every number is held to it
])
def test_nbval_honours_the_tag(tmp_path: Path, stored: str, tags: list[str], passes: bool) -> None:
    result = _run_nbval(tmp_path, stored, tags)
    assert (result.returncode == 0) == passes, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.notebook
def test_changed_words_fail_even_with_a_tolerance(tmp_path: Path) -> None:
    result = _run_nbval(tmp_path, "lost 2.954 after 50 steps\n", ["nbval-tolerance=0.01"])
    assert result.returncode != 0
