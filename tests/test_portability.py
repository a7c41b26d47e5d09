"""`make test` re-runs every notebook with another CPU's float kernels, so any machine catches a
non-portable stored output (see the Makefile's OTHER_CPU and tools/nbtolerance.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _dry_run(*args: str) -> list[str]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(["make", "-n", "-s", "test", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if "pytest" in line]


def test_full_make_test_adds_a_pass_with_portable_kernels() -> None:
    commands = _dry_run()
    assert len(commands) == 2, commands
    second = commands[1]
    assert "ATEN_CPU_CAPABILITY=default" in second
    assert all(folder in second.split() for folder in ("notebooks", "solutions", "exercises"))
    assert "--nbval" not in second, "nbval options come from pyproject's addopts, the same as the first pass"


def test_targeted_runs_and_an_empty_other_cpu_skip_the_second_pass() -> None:
    assert len(_dry_run("PYTEST_ARGS=tests/test_readme.py")) == 1
    assert len(_dry_run("OTHER_CPU=")) == 1
