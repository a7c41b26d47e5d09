"""`make lab` really starts JupyterLab: on 127.0.0.1 only, answering the REST API, stopped cleanly afterwards.

The test runs the Makefile target itself with the interpreter that runs the tests (``VENV=sys.prefix``, and
``-o`` on the install stamp so nothing is reinstalled), a free port and a private token, polls
``GET /api/status`` until it answers 200, then stops the whole process group (make and JupyterLab), also when
the test fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)
STARTUP_SECONDS = 90

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(port: int, token: str | None, host: str = "127.0.0.1") -> int:
    request = urllib.request.Request(f"http://{host}:{port}/api/status")
    if token is not None:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _non_loopback_address() -> str | None:
    """This machine's address on its default route (a UDP 'connect' sends nothing), if it has one."""
    candidates = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.254.254.254", 1))
            candidates.append(sock.getsockname()[0])
        except OSError:
            pass
    try:
        candidates.append(socket.gethostbyname(socket.gethostname()))
    except OSError:
        pass
    return next((a for a in candidates if not a.startswith("127.") and a != "0.0.0.0"), None)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # JupyterLab itself may outlive make for a moment: make sure nothing of the group is left.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture
def lab(tmp_path: Path):
    if shutil.which("make") is None or not (VENV / "bin" / "jupyter").exists():
        pytest.skip("needs `make` and jupyter in the environment running the tests")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
    )
    log = (tmp_path / "lab.log").open("wb")
    process = subprocess.Popen(
        [
            "make", "--no-print-directory", "-o", f"{VENV}/.installed", "lab",
            f"VENV={VENV}", f"PORT={port}",
            f"LAB_ARGS=--no-browser --IdentityProvider.token={token}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process, port, token, tmp_path / "lab.log"
    finally:
        _stop(process)
        log.close()


def test_make_lab_serves_jupyterlab_on_localhost(lab) -> None:
    process, port, token, log = lab
    deadline = time.monotonic() + STARTUP_SECONDS
    status = None
    while time.monotonic() < deadline:
        assert process.poll() is None, f"make lab exited early ({process.returncode}):\n{log.read_text()[-3000:]}"
        try:
            status = _status(port, token)
        except (ConnectionError, urllib.error.URLError, OSError):
            status = None
        if status == 200:
            break
        time.sleep(0.5)
    assert status == 200, f"/api/status never answered 200 within {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}"

    assert _status(port, None) == 403, "the server must require the token"
    assert _status(port, "wrong-token") == 403
    address = _non_loopback_address()
    if address is not None:
        with pytest.raises(OSError):
            _status(port, token, host=address)
    text = log.read_text()
    # the start page is what make lab opens, and the address printed (with --no-browser) leads to it
    assert f"http://127.0.0.1:{port}/lab/tree/notebooks/00_start_here.ipynb?token=" in text


def test_make_lab_command_binds_to_localhost_only() -> None:
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", f"{VENV}/.installed", "lab", f"VENV={VENV}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    assert "--ip=127.0.0.1" in dry and "--port=8888" in dry
    assert "--LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb" in dry
