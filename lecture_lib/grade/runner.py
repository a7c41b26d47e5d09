"""Grade notebooks: execute the learner's copy in a fresh kernel, probe each question, judge here.

The learner's file is read once (bytes) and copied into a temporary folder; nothing is ever written next to it.
The kernel's working directory is the notebook's own folder, so relative paths behave as in JupyterLab.
Each question's probe is sent as source text with grader-chosen inputs (fresh random seed) and a random nonce;
the probe answers with plain data between nonce markers on stdout; :func:`~lecture_lib.grade.core.evaluate`
scores it in this process with the reference implementation.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import secrets
import shutil
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lecture_lib.i18n import language

from . import probe_runtime
from .core import Outcome, Question, evaluate, questions_for
from .judge_messages import say, speaking
from .kernel import LearnerKernel

#: Notebook metadata key naming the part: ``metadata["lecture26"]["part"] == "A"``.
METADATA_KEY = "lecture26"
_FILENAME_PART = re.compile(r"^part([A-E])(?:[_\-. ]|$)", re.IGNORECASE)


class UnreadableNotebook(Exception):
    """The path is not a notebook the grader can read (message says why)."""


@dataclass
class NotebookReport:
    """Everything the grader found for one notebook."""

    path: str
    part: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def score(self) -> int:
        return sum(o.points for o in self.outcomes)

    @property
    def max_score(self) -> int:
        return sum(o.max_points for o in self.outcomes)

    @property
    def graded(self) -> bool:
        return self.error is None

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "score": self.score, "max_score": self.max_score, "part": self.part,
            "graded": self.graded, "error": self.error, "notes": list(self.notes),
            "questions": [o.as_json() for o in self.outcomes],
        }


def part_of(nb: Any, filename: str) -> str | None:
    """The part letter from ``metadata.lecture26.part``, else from a ``partX_`` file-name prefix."""
    meta = nb.get("metadata", {}).get(METADATA_KEY, {}) if isinstance(nb, dict) else {}
    part = meta.get("part") if isinstance(meta, dict) else None
    if isinstance(part, str) and len(part.strip()) == 1 and part.strip().upper() in "ABCDE":
        return part.strip().upper()
    match = _FILENAME_PART.match(Path(filename).name)
    return match.group(1).upper() if match else None


def read_notebook(path: Path, workdir: Path) -> Any:
    """Copy ``path`` into ``workdir`` and parse the copy; raises :class:`UnreadableNotebook`."""
    import nbformat

    if not path.is_file():
        raise UnreadableNotebook("no such file" if not path.exists() else "not a file")
    copy = workdir / "learner.ipynb"
    try:
        shutil.copyfile(path, copy)
        text = copy.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UnreadableNotebook(f"cannot read it: {type(err).__name__}: {err}") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:  # noqa: BLE001 - nbformat raises several kinds
        raise UnreadableNotebook(f"not a Jupyter notebook ({type(err).__name__})") from None
    if not isinstance(nb.get("cells"), list):
        raise UnreadableNotebook("not a Jupyter notebook (no cell list)")
    return nb


def probe_source(question: Question) -> str:
    """The probe's own source text (it is sent to the kernel next to the runtime's source)."""
    return textwrap.dedent(inspect.getsource(question.probe))


def probe_cell(question: Question, inputs: Any, nonce: str) -> str:
    """The code executed in the learner's kernel for one question (adds nothing to the user namespace)."""
    runtime = inspect.getsource(probe_runtime)
    inputs_b64 = base64.b64encode(json.dumps(probe_runtime.encode(inputs)).encode()).decode("ascii")
    program = (
        f"{runtime}\n\n{probe_source(question)}\n\n"
        f"_kernel_main(_USER_NS, {nonce!r}, {question.probe.__name__!r}, {inputs_b64!r})\n"
    )
    payload = base64.b64encode(program.encode("utf-8")).decode("ascii")
    return (
        f'exec(__import__("base64").b64decode("{payload}").decode("utf-8"), '
        '{"__name__": "lecture26_probe", "_USER_NS": globals()})'
    )


def parse_envelope(stdout: str, nonce: str) -> Any:
    """The envelope printed between this nonce's markers, or None."""
    match = re.search(f"<<lecture26:{re.escape(nonce)}>>([A-Za-z0-9+/=]*)<<end:{re.escape(nonce)}>>", stdout)
    if match is None:
        return None
    try:
        return json.loads(base64.b64decode(match.group(1), validate=True))
    except ValueError:
        return None


def grade_notebook(path: str | Path, *, timeout: float = 60.0, seed: int | None = None,
                   lang: str | None = None) -> NotebookReport:
    """Execute one notebook in a fresh kernel and score every question of its part; the judges speak ``lang``
    (default: the notebook's, :func:`lecture_lib.i18n.language`)."""
    start = time.monotonic()
    report = NotebookReport(path=str(path))
    nb_path = Path(path)
    with tempfile.TemporaryDirectory(prefix="lecture26-grade-") as tmp:
        try:
            nb = read_notebook(nb_path, Path(tmp))
        except UnreadableNotebook as err:
            report.error = f"could not read {nb_path}: {err}"
            return report
    report.part = part_of(nb, nb_path.name)
    if report.part is None:
        report.error = (f"cannot tell which part {nb_path.name} belongs to: set metadata "
                        f"{METADATA_KEY}.part or start the file name with partA_ ... partE_")
        return report
    try:
        questions = questions_for(report.part)
    except ValueError as err:
        report.error = str(err)
        return report

    cells = [(i + 1, _source(c)) for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "code"]
    kernel = LearnerKernel(cells=cells, cwd=nb_path.resolve().parent, timeout=timeout)
    rng = np.random.default_rng(secrets.randbits(64) if seed is None else seed)
    try:
        kernel.run_notebook()
        for q in questions:
            report.outcomes.append(_grade_question(kernel, q, rng, timeout, language(nb_path) if lang is None else lang))
    finally:
        kernel.close()
    report.notes = kernel.notes
    report.seconds = time.monotonic() - start
    return report


def _grade_question(kernel: LearnerKernel, q: Question, rng: np.random.Generator, timeout: float,
                    lang: str = "en") -> Outcome:
    with speaking(lang):
        inputs = q.make_inputs(np.random.default_rng(rng.integers(2**63)))
    nonce = secrets.token_hex(16)
    limit = timeout if q.timeout is None else q.timeout
    result = kernel.probe(probe_cell(q, inputs, nonce), limit)
    with speaking(lang):
        if result.status in ("timeout", "hung"):
            return Outcome(q.id, 0, q.points, "timeout", say("core.runner.timeout", limit=limit))
        if result.status in ("died", "exited"):
            return Outcome(q.id, 0, q.points, "died", say(f"core.runner.{result.status}"))
        envelope = parse_envelope(result.stdout, nonce)
        if envelope is None:
            detail = f": {result.error}" if result.error else ""
            return Outcome(q.id, 0, q.points, "error", say("core.runner.no_result", detail=detail))
    return evaluate(q, inputs, envelope, lang)


def _source(cell: Any) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)
