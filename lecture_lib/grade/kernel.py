"""Run a learner's code cells in a fresh kernel that may loop, exit or crash, and keep grading anyway.

:class:`KernelSession` is one Jupyter kernel (this interpreter, via ``jupyter_client``) with an ``execute``
that always returns: ``ok`` / ``error`` (the code raised) / ``timeout`` (interrupted after the time limit,
kernel still usable) / ``hung`` (did not stop after an interrupt) / ``died`` (the process is gone) /
``exited`` (the code called ``exit()`` or ``quit()``, which stops an IPython kernel).

:class:`LearnerKernel` runs a notebook's code cells in order and survives the bad ones: a cell that times out
is interrupted; a cell that hangs, exits or kills the kernel is skipped, the kernel restarted and the cells that had
run are replayed. Probes (:meth:`LearnerKernel.probe`) get the same treatment, so one question that kills the
kernel costs only that question.
"""

from __future__ import annotations

import os
import queue
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager

#: Environment for the learner's kernel (one thread each: the grader shares a laptop's cores).
KERNEL_ENV = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "LECTURE26_GRADING": "1",  # grade() inside a graded notebook does nothing (no grader inside the grader)
    "LECTURE26_PROGRESS": "none",  # nor records progress
}
#: Seconds to wait for a cell to stop after an interrupt before the kernel is restarted.
INTERRUPT_GRACE = 3.0
#: Most stdout characters kept per execution (a probe result is far smaller).
MAX_STDOUT = 64 * 1024 * 1024


class _ThisPython(KernelSpecManager):
    """Kernel specs that always start ``ipykernel`` with the grader's own interpreter."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:  # noqa: ARG002 - one spec for every name
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (lecture26 grader)",
            language="python",
        )


@dataclass
class ExecResult:
    """How one execution ended; ``error`` is ``"Name: value"`` when the code raised."""

    status: str
    stdout: str = ""
    error: str = ""


class KernelSession:
    """One kernel process; ``execute`` never raises for anything the code does."""

    def __init__(self, cwd: Path, *, startup_timeout: float = 60.0) -> None:
        self.cwd = Path(cwd)
        self.startup_timeout = startup_timeout
        self.km: KernelManager | None = None
        self.kc: Any = None
        self._socket_dir: str | None = None

    def start(self) -> None:
        env = dict(os.environ)
        env.update(KERNEL_ENV)
        # The kernel must import the same lecture_lib as the grader (also from a source checkout).
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        if os.name == "posix":
            # Unix sockets in a private folder: nothing listens on the network, and ipykernel has no reason
            # to warn (on stderr) about unencrypted TCP.
            self._socket_dir = tempfile.mkdtemp(prefix="lecture26-kernel-")
            self.km = KernelManager(kernel_name="python3", kernel_spec_manager=_ThisPython(), transport="ipc",
                                    ip=os.path.join(self._socket_dir, "k"))
        else:  # pragma: no cover - Windows has no ipc transport
            self.km = KernelManager(kernel_name="python3", kernel_spec_manager=_ThisPython())
        self.km.start_kernel(cwd=str(self.cwd), env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=self.startup_timeout)
        except RuntimeError:
            self.shutdown()
            raise

    def alive(self) -> bool:
        return self.km is not None and self.km.is_alive()

    def execute(self, code: str, timeout: float, *, capture: bool = False) -> ExecResult:
        """Run ``code``; interrupt it after ``timeout`` seconds. ``capture``: keep its stdout."""
        assert self.kc is not None and self.km is not None, "start() first"
        msg_id = self.kc.execute(code, silent=False, store_history=not capture, allow_stdin=False,
                                 stop_on_error=False)
        out: list[str] = []
        size = 0
        error = ""
        interrupted = False
        deadline = time.monotonic() + timeout
        next_alive_check = time.monotonic() + 0.5
        while True:
            now = time.monotonic()
            if now >= deadline:
                if interrupted:
                    return ExecResult("hung", "".join(out), error)
                interrupted = True
                try:
                    self.km.interrupt_kernel()
                except Exception:  # noqa: BLE001 - a dead kernel cannot be interrupted
                    return ExecResult("died", "".join(out), error)
                deadline = now + INTERRUPT_GRACE
            if now >= next_alive_check:
                next_alive_check = now + 0.5
                if not self.km.is_alive():
                    return ExecResult("died", "".join(out), error)
            try:
                msg = self.kc.get_iopub_msg(timeout=min(0.2, max(0.01, deadline - now)))
            except queue.Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg.get("msg_type")
            content = msg.get("content", {})
            if kind == "stream" and capture and content.get("name") == "stdout":
                text = content.get("text", "")
                if size + len(text) <= MAX_STDOUT:
                    out.append(text)
                    size += len(text)
            elif kind == "error":
                error = f"{content.get('ename', '')}: {content.get('evalue', '')}"
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        reply = self._drain_reply(msg_id)
        if any(isinstance(p, dict) and p.get("source") == "ask_exit" for p in reply.get("payload", [])):
            # exit() / quit(): ipykernel stops shortly after replying. Wait for it, report it like a crash.
            end = time.monotonic() + INTERRUPT_GRACE
            while self.km.is_alive() and time.monotonic() < end:
                time.sleep(0.05)
            return ExecResult("exited", "".join(out), error)
        if interrupted:
            return ExecResult("timeout", "".join(out), error)
        return ExecResult("error" if error else "ok", "".join(out), error)

    def _drain_reply(self, msg_id: str) -> dict[str, Any]:
        """The content of the execute_reply to ``msg_id`` (empty when none arrives)."""
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            try:
                msg = self.kc.get_shell_msg(timeout=0.2)
            except queue.Empty:
                if not self.alive():
                    return {}
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                content = msg.get("content", {})
                return content if isinstance(content, dict) else {}
        return {}

    def shutdown(self) -> None:
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:  # noqa: BLE001
                pass
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001
                pass
            try:
                self.km.cleanup_resources()
            except Exception:  # noqa: BLE001
                pass
        self.kc = None
        self.km = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None


@dataclass
class LearnerKernel:
    """A kernel that has run a notebook's code cells; restarted and replayed when it dies or hangs.

    cells: (notebook cell number, source) of each code cell; timeout: seconds per cell and per probe.
    """

    cells: list[tuple[int, str]]
    cwd: Path
    timeout: float
    max_restarts: int = 8
    notes: list[str] = field(default_factory=list)
    ran: list[int] = field(default_factory=list)
    skipped: set[int] = field(default_factory=set)
    restarts: int = 0
    dead: bool = False
    needs_restart: bool = False
    session: KernelSession | None = None

    def run_notebook(self) -> None:
        """Start a kernel and execute every code cell once, in order (errors do not stop the run)."""
        self.session = self._new_session()
        if self.session is None:
            return
        for k, (number, source) in enumerate(self.cells):
            if self.dead:
                self.notes.append(f"cell {number} and later were not run: the kernel could not be restarted")
                return
            result = self.session.execute(source, self.timeout)
            if result.status in ("ok", "error"):
                self.ran.append(k)
                if result.status == "error":
                    self.notes.append(f"cell {number} raised {_short(result.error)}")
            elif result.status == "timeout":
                self.skipped.add(k)
                self.notes.append(f"cell {number} timed out after {self.timeout:g} s and was interrupted")
            else:
                self.skipped.add(k)
                what = {"hung": "did not stop after an interrupt", "exited": "called exit() or quit()"}.get(
                    result.status, "crashed the kernel")
                self.notes.append(f"cell {number} {what}; it was skipped and the kernel restarted")
                self._restart()

    def probe(self, code: str, timeout: float | None = None) -> ExecResult:
        """Execute a probe (stdout captured). After one that hung or killed the kernel, the kernel is
        restarted and the notebook replayed before the *next* probe (not at all after the last one).
        timeout: seconds for this probe (default: the per-cell limit)."""
        if self.needs_restart:
            self.needs_restart = False
            self._restart()
        if self.dead or self.session is None:
            return ExecResult("died", error="the kernel could not be restarted")
        result = self.session.execute(code, self.timeout if timeout is None else timeout, capture=True)
        if result.status in ("hung", "died", "exited"):
            self.needs_restart = True
        return result

    def close(self) -> None:
        if self.session is not None:
            self.session.shutdown()
            self.session = None

    # ------------------------------------------------------------------------------------------ internals
    def _new_session(self) -> KernelSession | None:
        session = KernelSession(self.cwd)
        try:
            session.start()
        except Exception as err:  # noqa: BLE001
            self.dead = True
            self.notes.append(f"a kernel could not be started: {type(err).__name__}: {err}")
            return None
        return session

    def _restart(self) -> None:
        """Fresh kernel, then replay the cells that ran; a replayed cell that hangs/dies is dropped too."""
        while True:
            if self.session is not None:
                self.session.shutdown()
                self.session = None
            if self.restarts >= self.max_restarts:
                self.dead = True
                self.notes.append(f"gave up after {self.restarts} kernel restarts")
                return
            self.restarts += 1
            self.session = self._new_session()
            if self.session is None:
                return
            for k in list(self.ran):
                number, source = self.cells[k]
                result = self.session.execute(source, self.timeout)
                if result.status in ("hung", "died", "exited", "timeout"):
                    self.ran.remove(k)
                    self.skipped.add(k)
                    self.notes.append(f"cell {number} failed when replayed after a restart ({result.status})")
                    if result.status != "timeout":
                        break
            else:
                return


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
