"""Suite-wide settings and shared helpers: a deterministic environment for notebook kernels, a collection guard.

* Shared by the test modules: matplotlib's off-screen ``Agg`` backend, and the ``tiny_lms`` fixture
  (the shipped tiny-LM teacher and student).

* What every run needs, also ``pytest notebooks/`` alone (the kernels' environment, tolerance tags, the
  sanitize file's path), lives in the repository's top-level ``conftest.py``.
* A full run (``pytest`` / ``make test`` without paths) that collects nothing, or suspiciously little,
  fails loudly instead of passing quietly: see ``MIN_FULL_SUITE_ITEMS``.
* On CI (``CI=true``) a skipped ``browser`` test (no Chromium, no playwright) is reported as a failure:
  see :func:`ci_browser_skip_problem`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
import pytest

# Figures drawn by the tests render off-screen (set here once, before any test module imports pyplot).
matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: A full run collecting fewer items than this is treated as broken configuration, not as success.
MIN_FULL_SUITE_ITEMS = 20
NOTEBOOK_FOLDERS = ("notebooks", "solutions", "exercises")


@pytest.fixture(scope="module")
def tiny_lms():
    """The shipped tiny-LM teacher and student (fresh copies for each test module), torch on one thread."""
    import torch

    from lecture_lib import tinylm

    torch.set_num_threads(1)
    return tinylm.load("teacher"), tinylm.load("student")


def _is_full_run(config: pytest.Config) -> bool:
    return (
        config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not config.option.keyword
        and not config.option.markexpr
        and not getattr(config.option, "lf", False)
    )


def collection_problems(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """Why a full run's collection looks broken (empty list: it looks fine). Pure, unit-tested."""
    problems = []
    if len(items) < MIN_FULL_SUITE_ITEMS:
        problems.append(
            f"only {len(items)} test items collected (a full run must collect at least {MIN_FULL_SUITE_ITEMS}); "
            "check testpaths in pyproject.toml and that the test files import"
        )
    root = Path(config.rootpath)
    for folder in NOTEBOOK_FOLDERS:
        stored = [p for p in sorted((root / folder).glob("*.ipynb"))]
        collected = {Path(str(item.path)).resolve() for item in items}
        missing = [p.name for p in stored if p.resolve() not in collected]
        if missing:
            problems.append(
                f"{folder}/ notebooks not collected by nbval: {', '.join(missing)} "
                "(is --nbval in addopts and the folder in testpaths?)"
            )
    return problems


def pytest_collection_finish(session: pytest.Session) -> None:
    if not _is_full_run(session.config):
        return
    problems = collection_problems(session.config, session.items)
    if problems:
        pytest.exit("collection guard: " + "; ".join(problems), returncode=pytest.ExitCode.USAGE_ERROR)


def ci_browser_skip_problem(is_browser_test: bool, skipped: bool, reason: str, env: dict[str, str]) -> str | None:
    """Why a skipped browser test must fail this run (``None``: it may stay skipped). Pure, unit-tested.

    Learners without Chromium get a skip; CI installs Chromium in ``.ci/run``, so a skip there means the
    browser tests silently stopped running.
    """
    if not (is_browser_test and skipped) or env.get("CI", "").strip().lower() not in ("true", "1", "yes"):
        return None
    return (f"browser test skipped on CI ({reason}); .ci/run must install Chromium (apt-get install chromium) "
            "and the test extra (playwright) so that the browser tests run")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    problem = ci_browser_skip_problem(item.get_closest_marker("browser") is not None, True, reason, dict(os.environ))
    if problem:
        report.outcome = "failed"
        report.longrepr = problem
