"""Coverage-guided fuzzing (atheris, libFuzzer for Python) vs random testing on the planted bug of
:mod:`lecture_lib.fuzzing`.

Used by ``notebooks/partC_production_python.ipynb`` (Zone 6), ``benchmarks/bench_fuzz.py`` and
``tests/test_fuzzing.py``.

atheris ends its process when it finds a crash, so each fuzzing run is a child process::

    python -m lecture_lib.experiments.fuzzing --magic QT -- -seed=1 -runs=2000000 -max_len=16

The child instruments :func:`lecture_lib.fuzzing.parse_record` (coverage of its branches and the values its
comparisons see), counts executions, and prints one JSON line ``{"found": ..., "execs": ..., "input": hex}``
when the planted ``IndexError`` appears. :func:`run_atheris` starts it and reads that line.

Recorded data: ``data/partC_fuzzing.json`` holds executions-to-find per seed and the measured rates, written by
``python benchmarks/bench_fuzz.py --record`` (timings vary with the machine; the notebook reads the file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["FUZZ_DATA_PATH", "atheris_available", "load_fuzz_results", "run_atheris"]

FUZZ_DATA_PATH = Path(__file__).resolve().parent / "data" / "partC_fuzzing.json"


def atheris_available() -> bool:
    """True if atheris can be imported here (PyPI wheels exist for Linux x86-64 only)."""
    import importlib.util

    return importlib.util.find_spec("atheris") is not None


def run_atheris(*, magic: bytes = b"QT", seed: int = 1, max_runs: int = 2_000_000, max_len: int = 16,
                planted_bug: bool = True, timeout: float = 300.0) -> dict[str, Any]:
    """Fuzz :func:`lecture_lib.fuzzing.parse_record` with atheris in a child process (``planted_bug=False``:
    the fixed parser, which must survive).

    Returns ``found``, ``execs`` (executions including the crashing one; ``max_runs`` if not found), ``input``
    (the crashing bytes or None) and ``seconds`` (wall time of the child, start-up included).
    """
    if not atheris_available():
        raise RuntimeError("atheris is not installed (pip wheels exist for Linux x86-64; see pyproject.toml)")
    for name, v in (("seed", seed), ("max_runs", max_runs), ("max_len", max_len)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {v!r}")
    cmd = [sys.executable, "-m", "lecture_lib.experiments.fuzzing", "--magic", magic.hex(),
           *([] if planted_bug else ["--fixed"]), "--",
           f"-seed={seed}", f"-runs={max_runs}", f"-max_len={max_len}", "-print_final_stats=0"]
    env = dict(os.environ, PYTHONHASHSEED="0")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    seconds = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            out = json.loads(line)
            out["input"] = bytes.fromhex(out["input"])
            out["seconds"] = seconds
            return out
    if proc.returncode != 0:
        raise RuntimeError(f"atheris run failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return {"found": False, "execs": max_runs, "input": None, "seconds": seconds}


def load_fuzz_results(path: Path | str = FUZZ_DATA_PATH) -> dict[str, Any]:
    """The recorded fuzzing runs (see ``benchmarks/bench_fuzz.py --record``)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _main(argv: list[str]) -> None:
    import atheris

    from lecture_lib import fuzzing

    if "--magic" not in argv or "--" not in argv:
        raise SystemExit("usage: python -m lecture_lib.experiments.fuzzing --magic HEX [--fixed] -- [libFuzzer flags]")
    magic = bytes.fromhex(argv[argv.index("--magic") + 1])
    planted_bug = "--fixed" not in argv[:argv.index("--")]
    parse = atheris.instrument_func(fuzzing.parse_record)
    count = [0]

    def one_input(data: bytes) -> None:
        count[0] += 1
        try:
            parse(data, magic=magic, planted_bug=planted_bug)
        except fuzzing.RecordError:
            pass
        except IndexError:
            print(json.dumps({"found": True, "execs": count[0], "input": data.hex()}), flush=True)
            os._exit(0)

    atheris.Setup([sys.argv[0]] + argv[argv.index("--") + 1:], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    _main(sys.argv[1:])
