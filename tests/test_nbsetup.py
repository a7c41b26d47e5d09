"""lecture_lib.nbsetup: setup() makes a kernel deterministic and quiet; BOOTSTRAP_CELL installs only on Colab."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from lecture_lib import nbsetup

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_setup_seeds_fixes_threads_and_prints_nothing() -> None:
    code = """
import random, numpy as np, torch, pandas as pd, matplotlib
from lecture_lib.nbsetup import setup
setup(3)
a = (random.random(), float(np.random.rand()), float(torch.rand(1)))
setup(3)
b = (random.random(), float(np.random.rand()), float(torch.rand(1)))
setup(4)
c = (random.random(), float(np.random.rand()), float(torch.rand(1)))
assert a == b and all(x != y for x, y in zip(a, c)), (a, b, c)
assert torch.get_num_threads() == 1
assert pd.get_option("display.precision") == 4
assert np.get_printoptions()["precision"] == 4 and np.get_printoptions()["suppress"]
assert repr(torch.tensor([1 / 3])) == "tensor([0.3333])"
assert matplotlib.rcParams["svg.hashsalt"] == "lecture26"
"""
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_setup_rejects_out_of_range_seeds(seed: int) -> None:
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*32\)"):
        nbsetup.setup(seed)


@pytest.mark.parametrize("seed", [1.5, "0", True, None])
def test_setup_rejects_non_int_seeds(seed: object) -> None:
    with pytest.raises(TypeError, match="seed must be an int"):
        nbsetup.setup(seed)  # type: ignore[arg-type]


def test_bootstrap_cell_is_plain_python_that_ends_with_setup() -> None:
    tree = ast.parse(nbsetup.BOOTSTRAP_CELL)  # no %pip / !pip magics
    assert "%" not in nbsetup.BOOTSTRAP_CELL.replace("%2F", "") and "\n!" not in nbsetup.BOOTSTRAP_CELL
    assert nbsetup.BOOTSTRAP_CELL.splitlines()[-2:] == ["from lecture_lib.nbsetup import setup", "setup()"]
    assert isinstance(tree.body[-1], ast.Expr)
    assert f"git+https://github.com/{nbsetup.REPOSITORY}@{nbsetup.BRANCH}" in nbsetup.BOOTSTRAP_CELL


def test_bootstrap_cell_installs_nothing_locally_and_prints_nothing() -> None:
    code = f"""
import subprocess
def refuse(*a, **k):
    raise AssertionError("the setup cell must not run a subprocess when lecture_lib is installed")
subprocess.run = refuse
exec({nbsetup.BOOTSTRAP_CELL!r})
"""
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_bootstrap_cell_on_colab_installs_from_github_without_dependencies() -> None:
    """Simulate Colab: lecture_lib not importable at first; record the pip commands instead of running them."""
    code = f"""
import importlib.util, json, subprocess
real_find_spec = importlib.util.find_spec
calls = []
importlib.util.find_spec = lambda name, *a: None if name == "lecture_lib" else real_find_spec(name, *a)
subprocess.run = lambda cmd, check: calls.append(cmd)
exec({nbsetup.BOOTSTRAP_CELL!r})
print(json.dumps(calls))
"""
    done = _python(code)
    assert done.returncode == 0, done.stderr
    import json

    calls = json.loads(done.stdout)
    assert len(calls) == 2
    first, second = calls
    assert first[1:4] == ["-m", "pip", "install"] and "--no-deps" in first
    assert f"git+https://github.com/{nbsetup.REPOSITORY}@{nbsetup.BRANCH}" in first
    assert not any(arg.startswith("torch") for arg in first + second)  # Colab keeps its own PyTorch
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    extras = [arg for arg in second[4:] if not arg.startswith("-")]
    assert extras and set(extras) <= declared, f"pins must match pyproject.toml: {extras}"
