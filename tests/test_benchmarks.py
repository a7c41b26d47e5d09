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


# ------------------------------------------------------------------------------- make bench: one table
sys.path.insert(0, str(BENCHMARKS[0].parent))
import run_all  # noqa: E402  (benchmarks/run_all.py)


def test_every_benchmark_script_has_a_summary_in_the_table() -> None:
    names = {p.stem.removeprefix("bench_") for p in BENCHMARKS}
    assert names == set(run_all.NAMES), f"run_all.NAMES must list every bench_*.py: {sorted(names)}"


@pytest.mark.parametrize(
    ("ratio", "goal", "met"),
    [(0.5, "<= 1.5", "yes"), (1.5, "<= 1.5", "yes"), (1.6, "<= 1.5", "NO"), (1.9, ">= 1.8", "yes"),
     (1.7, ">= 1.8", "NO"), (3.0, "-", "n/a"), (float("nan"), "<= 3", "n/a")],
)
def test_goal_met(ratio, goal, met) -> None:
    assert run_all.goal_met(ratio, goal) == met


def test_goal_met_rejects_an_unknown_goal() -> None:
    with pytest.raises(ValueError, match="goal"):
        run_all.goal_met(1.0, "about 2")


def test_format_table_aligns_every_column() -> None:
    rows = [{"benchmark": "a", "ours": "1 ms", "peer": "2 ms", "ratio": 0.5, "goal": "<= 1"},
            {"benchmark": "longer name", "ours": "", "peer": "", "ratio": 2.0, "goal": ">= 3"}]
    lines = run_all.format_table(rows).splitlines()
    assert lines[0].split() == ["benchmark", "ours", "peer", "ratio", "goal", "met?"]
    assert len({len(line) for line in lines}) == 1  # aligned
    assert lines[2].endswith("yes") and lines[3].endswith("NO")


def test_run_all_prints_the_table() -> None:
    """A real (small) run: two of the quickest benchmarks, as ``make bench`` runs them all."""
    proc = subprocess.run([sys.executable, str(BENCHMARKS[0].parent / "run_all.py"), "--only", "metrics,mixed_precision,serving"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(out) if line.split()[:1] == ["benchmark"])
    assert out[header].split() == ["benchmark", "ours", "peer", "ratio", "goal", "met?"]
    body = out[header + 2:]
    assert any("prometheus_client" in line for line in body) and any("GradScaler" in line for line in body)
    assert any("SimPy" in line for line in body) and not any("FAILED" in line for line in body)
    assert "ATen CPU capability" in proc.stdout
    with pytest.raises(SystemExit):
        run_all.main(["--only", "nonsense"])
