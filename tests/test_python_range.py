"""The declared Python range is the truth: every module and notebook cell parses with the minimum's grammar.

``pyproject.toml`` declares ``requires-python = ">=3.X"``. This test finds an interpreter of exactly that
minor version (the running one, ``python3.X`` on PATH, or a pyenv install) and asks it to compile every
``lecture_lib`` module, every test, tool and benchmark, and every code cell of every course notebook
(IPython ``%magic`` and ``!shell`` lines are blanked first). A construct from a newer Python (``type X = ...``,
PEP 701 f-strings, ...) fails here with the file and line. The negative control feeds 3.12-only syntax.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Compiles each (name, source) pair of a JSON list read from stdin; prints a JSON list of problems.
_COMPILER = r"""
import ast, json, sys
problems = []
for name, source in json.load(sys.stdin):
    # notebook cells may use top-level await (IPython runs them in its event loop)
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT if "#cell " in name else 0
    try:
        compile(source, name, "exec", flags=flags, dont_inherit=True)
    except SyntaxError as exc:
        problems.append(f"{name}:{exc.lineno}: {exc.msg}")
print(json.dumps({"version": list(sys.version_info[:2]), "problems": problems}))
"""


def declared_minimum(pyproject: Path = ROOT / "pyproject.toml") -> tuple[int, int]:
    """The ``(major, minor)`` of ``requires-python = ">=X.Y"`` in pyproject.toml."""
    spec = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["requires-python"]
    match = re.fullmatch(r"\s*>=\s*(\d+)\.(\d+)\s*", spec)
    if not match:
        raise ValueError(f"requires-python must be of the form '>=X.Y'; got {spec!r}")
    return int(match.group(1)), int(match.group(2))


def find_interpreter(version: tuple[int, int]) -> str | None:
    """A Python executable of exactly ``version`` (major, minor), or None when none is installed here."""
    if sys.version_info[:2] == version:
        return sys.executable
    name = f"python{version[0]}.{version[1]}"
    candidates = [shutil.which(name)]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(str(p) for p in pyenv_root.glob(f"versions/{version[0]}.{version[1]}.*/bin/{name}"))
    for candidate in candidates:
        if not candidate:
            continue
        try:
            out = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == str(version):
            return candidate
    return None


def notebook_cell_sources(path: Path) -> list[tuple[str, str]]:
    """(``path#cell N``, source) per code cell; IPython magics and shell escapes become blank lines."""
    nb = nbformat.read(path, as_version=4)
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines()]
        cells.append((f"{path.relative_to(ROOT)}#cell {index}", "\n".join(lines)))
    return cells


def course_sources() -> list[tuple[str, str]]:
    """Every Python module of the course (library, tests, tools, benchmarks) and every notebook code cell."""
    sources = []
    for folder in ("lecture_lib", "tests", "tools", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            sources.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    for path in sorted(ROOT.glob("*/**/*.ipynb")):
        if ".ipynb_checkpoints" in path.parts or ".venv" in path.parts:
            continue
        sources.extend(notebook_cell_sources(path))
    return sources


def compile_with(interpreter: str, sources: list[tuple[str, str]]) -> dict:
    out = subprocess.run([interpreter, "-c", _COMPILER], input=json.dumps(sources), capture_output=True,
                         text=True, timeout=300, check=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def minimum_interpreter() -> tuple[tuple[int, int], str]:
    version = declared_minimum()
    interpreter = find_interpreter(version)
    if interpreter is None:
        pytest.skip(f"no Python {version[0]}.{version[1]} interpreter here (PATH or pyenv) to check the declared minimum")
    return version, interpreter


def test_declared_minimum_matches_readme_and_binder() -> None:
    major, minor = declared_minimum()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Python {major}.{minor} or newer" in readme, "README must state the same minimum as pyproject.toml"
    env = (ROOT / "environment.yml").read_text(encoding="utf-8")
    pinned = re.search(r"python=(\d+)\.(\d+)", env)
    assert pinned and (int(pinned.group(1)), int(pinned.group(2))) >= (major, minor), (
        "environment.yml's python pin must be inside the declared range")


def test_every_module_and_notebook_cell_parses_with_the_minimum(minimum_interpreter) -> None:
    version, interpreter = minimum_interpreter
    sources = course_sources()
    assert len(sources) > 100, "expected the whole course: modules, tests and notebook cells"
    result = compile_with(interpreter, sources)
    assert tuple(result["version"]) == version
    assert result["problems"] == [], (
        f"these do not parse on Python {version[0]}.{version[1]} (the declared minimum); rewrite them or raise "
        f"requires-python: {result['problems']}")


def test_negative_control_newer_syntax_is_caught(minimum_interpreter) -> None:
    version, interpreter = minimum_interpreter
    if version >= (3, 12):
        pytest.skip("the control uses 3.12 syntax")
    newer = [("new_type_alias.py", "type Vector = list[float]\n"),
             ("pep701.py", 'names = ["a"]\nprint(f"{", ".join(names)}")\n')]
    result = compile_with(interpreter, newer)
    assert [p.split(":")[0] for p in result["problems"]] == ["new_type_alias.py", "pep701.py"]


def test_declared_minimum_parser_rejects_other_forms(tmp_path: Path) -> None:
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project]\nrequires-python = "~=3.11"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="requires-python"):
        declared_minimum(bad)
