"""The widgets work with the ipywidgets of the course's environment (8.x) and with Colab's ipywidgets 7.7,
and the notebooks' setup cell installs the course where it is missing (as on Colab).

Colab keeps its own packages: the setup cell installs the course with ``--no-deps``, so there the widgets run on
the ipywidgets 7.7 that Colab ships. A *Colab stand-in* is built once per test run: a virtual environment that
sees this environment's packages (through a ``.pth`` line, so nothing is copied) but has ipywidgets 7.7.1 of its
own and no ``lecture_lib``. In it the setup cell's install path runs for real against a local stand-in for the
remote install (this checkout instead of ``git+https://github.com/...``), and every widget is built and every
control moved (``tests/widget_driver.py``).

Building the stand-in needs the package index (ipywidgets 7.7.1, and setuptools to build the course): offline
the tests are skipped with the reason; on CI (``CI=true``) they fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from lecture_lib import nbsetup

ROOT = Path(__file__).resolve().parent.parent
COLAB_IPYWIDGETS = "ipywidgets==7.7.1"
REMOTE = f"git+https://github.com/{nbsetup.REPOSITORY}@{nbsetup.BRANCH}"


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _site_packages(prefix: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)}))


def _run(cmd: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def colab_standin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-in's python: this environment's packages underneath, ipywidgets 7.7.1 on top, no lecture_lib."""
    prefix = tmp_path_factory.mktemp("colab-standin")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(prefix)
    python = prefix / "bin" / "python"
    site = _site_packages(prefix)
    # this environment's site-packages, appended to sys.path (its own .pth files, e.g. the editable install
    # of lecture_lib, are deliberately not processed)
    (site / "_course_environment.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    done = _run([str(python), "-m", "pip", "install", "-q", "--no-deps", COLAB_IPYWIDGETS,
                 "widgetsnbextension~=3.6.0", "jupyterlab-widgets>=1.0.0,<3", "ipython-genutils~=0.2.0"], cwd=prefix)
    if done.returncode != 0:
        message = f"cannot build the Colab stand-in (pip install {COLAB_IPYWIDGETS}): {done.stderr.strip()[-500:]}"
        if _on_ci():
            pytest.fail(message)
        pytest.skip(message)
    check = _run([str(python), "-c", "import importlib.util, ipywidgets; "
                  "print(ipywidgets.__version__, importlib.util.find_spec('lecture_lib') is None)"], cwd=prefix)
    assert check.stdout.split() == ["7.7.1", "True"], check.stdout + check.stderr
    return python


@pytest.mark.slow
def test_setup_cell_installs_the_course_where_it_is_missing(colab_standin: Path, tmp_path: Path) -> None:
    assert REMOTE in nbsetup.BOOTSTRAP_CELL
    cell = nbsetup.BOOTSTRAP_CELL.replace(REMOTE, str(ROOT))  # the local stand-in for the remote install
    code = cell + "\nimport lecture_lib, torch\nprint(lecture_lib.__file__)\nprint(torch.get_num_threads())\n"
    done = _run([str(colab_standin), "-c", code], cwd=tmp_path, timeout=900)
    if done.returncode != 0 and "setuptools" in done.stderr and not _on_ci():
        pytest.skip(f"building the course needs setuptools from the package index: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr[-3000:]
    installed, threads = done.stdout.split()[-2:]
    assert Path(installed).resolve().is_relative_to(colab_standin.parent.parent.resolve()), (
        f"lecture_lib must be installed into the stand-in by the setup cell, found at {installed}")
    assert threads == "1", "setup() must run after the install (one torch thread)"
    again = _run([str(colab_standin), "-c", "import subprocess\n"
                  "subprocess.run = lambda *a, **k: (_ for _ in ()).throw(AssertionError('reinstalled'))\n"
                  + nbsetup.BOOTSTRAP_CELL], cwd=tmp_path)
    assert again.returncode == 0, "once installed, the setup cell must not install again: " + again.stderr[-1000:]


def _drive(python: Path | str) -> dict:
    done = _run([str(python), str(ROOT / "tests" / "widget_driver.py")], cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _assert_every_control_changes_the_view(report: dict) -> None:
    widgets = report["widgets"]
    assert len(widgets) >= 11, f"expected every course widget; got {sorted(widgets)}"
    for name, result in widgets.items():
        assert result["initial_view"], f"{name}: shows nothing when built"
        assert result["controls"], f"{name}: no controls found"
        dead = [label for label, move in result["controls"].items() if not move["changed"]]
        assert not dead, f"{name}: moving {dead} did not change what the widget shows (ipywidgets {report['ipywidgets']})"


@pytest.mark.slow
def test_every_control_works_with_this_environments_ipywidgets() -> None:
    report = _drive(sys.executable)
    assert report["ipywidgets"].startswith("8.")
    _assert_every_control_changes_the_view(report)


@pytest.mark.slow
def test_every_control_works_with_colabs_ipywidgets_7(colab_standin: Path) -> None:
    report = _drive(colab_standin)
    assert report["ipywidgets"] == "7.7.1"
    _assert_every_control_changes_the_view(report)


def test_negative_control_a_dead_control_is_reported() -> None:
    report = {"ipywidgets": "8", "widgets": {f"w{i}": {"initial_view": True, "controls": {"s": {"changed": True}}}
                                              for i in range(11)}}
    _assert_every_control_changes_the_view(report)
    report["widgets"]["w3"]["controls"]["s"]["changed"] = False
    with pytest.raises(AssertionError, match="did not change"):
        _assert_every_control_changes_the_view(report)
