"""Settings for every pytest run in this repository, also one that collects only notebooks (``pytest notebooks``).

* Notebook kernels started by nbval inherit this process's environment, so it is fixed here before any
  kernel starts: one OpenMP thread, a fixed hash seed, a fixed ``SOURCE_DATE_EPOCH`` (the same values
  ``tools/run_notebooks.py`` uses when it stores the outputs).
* Cells tagged ``nbval-tolerance=<abs>`` or ``=<rel>%`` compare their numbers within that tolerance and the
  rest of their text exactly (``tools/nbtolerance.py``): only for results that depend on float order.
* ``--nbval-sanitize-with`` is resolved against the repository root, so ``pytest`` works from any folder.

The test suite's own fixtures and guards are in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools import nbtolerance
from tools.run_notebooks import KERNEL_ENV

nbtolerance.install()

for _name, _value in KERNEL_ENV.items():
    if _name == "MPLBACKEND":
        # Set only for kernels: ipykernel chooses the inline backend itself when MPLBACKEND is unset,
        # whereas a non-inline value inherited from the shell would drop every figure from the outputs.
        if os.environ.get(_name, _value) != _value:
            del os.environ[_name]
        continue
    os.environ[_name] = _value


def pytest_configure(config: pytest.Config) -> None:
    sanitize = getattr(config.option, "nbval_sanitize_with", None)
    if sanitize and not Path(sanitize).is_absolute() and not Path(sanitize).exists():
        config.option.nbval_sanitize_with = str(config.rootpath / sanitize)
