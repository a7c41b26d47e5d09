"""Re-execute course notebooks top to bottom and store them in canonical form.

Usage::

    python tools/run_notebooks.py PATH [PATH ...]      # files or folders (folders: every *.ipynb inside)
    python tools/run_notebooks.py --check PATH ...      # execute, but only report which files would change

Each notebook runs in a fresh ``python3`` kernel whose working directory is the notebook's folder, with
``PYTHONHASHSEED=0``, ``OMP_NUM_THREADS=1``, ``SOURCE_DATE_EPOCH=0`` and the inline matplotlib backend.
Cells tagged ``raises-exception`` may raise; any other error stops the run with a message naming the
notebook and the cell. The executed notebook is normalized (``tools/nbnormalize.py``) and written back only
if its text changed. Wall time per notebook is printed to the terminal, never stored in the notebook.
Used by ``make notebooks``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

if __package__:
    from .nbnormalize import dumps, normalize
else:  # run as a script: python tools/run_notebooks.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tools.nbnormalize import dumps, normalize

KERNEL_ENV = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "SOURCE_DATE_EPOCH": "0",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "TQDM_MININTERVAL": "1",
    "LECTURE26_PROGRESS": "none",  # stored outputs never show the grades of whoever ran them
}


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class NotebookRunError(RuntimeError):
    """A notebook could not be executed; the message names the notebook and the cell."""


def find_notebooks(paths: list[str]) -> list[Path]:
    """Expand files and folders into a sorted, de-duplicated list of notebooks (checkpoints skipped).

    A notebook file given by name brings its Japanese edition (``<folder>/ja/<name>``, built by
    ``tools/make_ja.py``) along, so both are stored with outputs from the same code."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts
            )
        elif path.suffix == ".ipynb" and path.is_file():
            found.append(path)
            edition = path.parent / "ja" / path.name  # its Japanese edition runs the same code: run it too
            if edition.is_file():
                found.append(edition)
        else:
            raise FileNotFoundError(f"PATH must be a notebook (.ipynb) or a folder of them; got {raw!r}")
    unique: dict[Path, None] = {}
    for p in found:
        unique.setdefault(p.resolve(), None)
    return list(unique)


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(KERNEL_ENV)
    # The kernel must import the course package from this checkout even without an editable install.
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def execute(path: Path, *, timeout: int = 1800) -> nbformat.NotebookNode:
    """Execute the notebook at ``path`` in a fresh kernel and return it normalized (the file is not written)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        record_timing=False,
        allow_errors=False,
        coalesce_streams=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        # The kernel's own stderr holds only start-up notices; cell errors arrive as outputs.
        client.execute(env=_kernel_env(), cwd=str(path.parent), stderr=subprocess.DEVNULL)
    except (CellExecutionError, CellTimeoutError) as exc:
        index = _failing_cell(nb)
        if index is None:
            where, error = "a cell", type(exc).__name__
        else:
            where = f"cell {index + 1} (code cell starting {_first_line(nb.cells[index])!r})"
            out = next(o for o in nb.cells[index].outputs if o.get("output_type") == "error")
            error = f"{out.ename}: {out.evalue}"
        detail = _ANSI.sub("", str(exc))
        raise NotebookRunError(
            f"{path}: {where} raised {error}\n(tag the cell 'raises-exception' only if the error is intended)\n{detail}"
        ) from exc
    return normalize(nb)


def _failing_cell(nb: nbformat.NotebookNode) -> int | None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "raises-exception" in cell.metadata.get("tags", []):
            continue
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return index
    return None


def _first_line(cell: nbformat.NotebookNode) -> str:
    lines = [line for line in cell.source.splitlines() if line.strip()]
    return lines[0][:60] if lines else ""


def run(paths: list[str], *, check: bool = False, timeout: int = 1800) -> list[Path]:
    """Execute every notebook under ``paths``; write changed ones (unless ``check``); return the changed."""
    notebooks = find_notebooks(paths)
    if not notebooks:
        raise FileNotFoundError(f"no notebooks found under {paths}")
    changed: list[Path] = []
    total = time.perf_counter()
    cwd = Path.cwd()
    for path in notebooks:
        shown = str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path)
        start = time.perf_counter()
        print(f"{shown} ...", end=" ", flush=True)
        nb = execute(path, timeout=timeout)
        text = dumps(nb)
        differs = path.read_text(encoding="utf-8") != text
        if differs:
            changed.append(path)
            if not check:
                path.write_text(text, encoding="utf-8", newline="\n")
        status = ("would change" if check else "updated") if differs else "unchanged"
        print(f"{time.perf_counter() - start:6.1f} s  {status}", flush=True)
    print(f"{len(notebooks)} notebooks in {time.perf_counter() - total:.1f} s; {len(changed)} changed")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", metavar="PATH", help="notebook files or folders")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if a notebook would change")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    args = parser.parse_args(argv)
    try:
        changed = run(args.paths, check=args.check, timeout=args.timeout)
    except (NotebookRunError, FileNotFoundError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
