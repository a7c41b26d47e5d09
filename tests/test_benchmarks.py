"""Every benchmark script starts (imports resolve, arguments parse): ``python benchmarks/X.py --help``.

The benchmarks themselves are run by hand (they print our time, a peer's time and the ratio); this keeps them
from rotting when the library changes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parent.parent / "benchmarks").glob("bench_*.py"))


def test_there_are_benchmarks() -> None:
    assert len(BENCHMARKS) >= 5, f"expected the benchmark scripts in benchmarks/; found {BENCHMARKS}"


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_benchmark_script_starts(script: Path) -> None:
    proc = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{script.name} --help failed:\n{proc.stderr[-2000:]}"
    assert "usage" in proc.stdout.lower(), f"{script.name} --help printed no usage line: {proc.stdout[:500]!r}"
