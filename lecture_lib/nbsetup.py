"""Notebook setup: one call that makes every course notebook deterministic and readable.

Every notebook in ``notebooks/``, ``solutions/`` and ``exercises/`` starts with the same first code cell,
:data:`BOOTSTRAP_CELL`. On Colab (where :mod:`lecture_lib` is not installed yet) that cell installs this
package from GitHub; everywhere it then calls :func:`setup`, which

* seeds Python's :mod:`random`, NumPy's global (legacy) generator and PyTorch,
* fixes PyTorch to one thread (float32 sums depend on the thread count),
* sets print precision for torch, NumPy and pandas to 4 digits (low bits differ between CPUs),
* gives matplotlib fixed defaults (PNG figures, a fixed SVG hash salt, one figure size and dpi,
  readable titles and labels),
* silences a few known, harmless warnings that would otherwise land in stored outputs.

``setup`` prints nothing, so the first cell of every notebook has no output. The notebook
``00_start_here.ipynb`` explains the cell to learners.
"""

from __future__ import annotations

import importlib.util
import random
import warnings

__all__ = ["BOOTSTRAP_CELL", "BRANCH", "REPOSITORY", "setup"]

#: GitHub ``owner/name`` of the course; used in README links and in :data:`BOOTSTRAP_CELL`.
REPOSITORY = "lecture26-course/lecture26"
#: The branch that README links and the Colab install point at.
BRANCH = "main"

#: The exact source of the first code cell of every course notebook (a hygiene test enforces it).
#: Locally (lecture_lib importable) it only calls ``setup()``. On Colab it first installs this package with
#: ``--no-deps`` (so Colab's own PyTorch build is kept: pyproject pins torch exactly) plus the few light
#: dependencies Colab may lack.
BOOTSTRAP_CELL = f"""\
# Setup (run me first). On Colab this installs the course package; locally it only calls setup().
import importlib.util, subprocess, sys
if importlib.util.find_spec("lecture_lib") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "git+https://github.com/{REPOSITORY}@{BRANCH}"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "safetensors>=0.4,<1", "hypothesis>=6,<7", "ml_dtypes>=0.5,<1"], check=True)
    importlib.invalidate_caches()
from lecture_lib.nbsetup import setup
setup()"""

# Warnings that are known, harmless, and would make stored outputs differ between machines
# (they print the kernel's temporary file path). Matched against the start of the message.
_QUIET_WARNINGS: tuple[tuple[type[Warning], str], ...] = (
    (UserWarning, r"TypedStorage is deprecated"),
    (UserWarning, r"To copy construct from a tensor"),
    (UserWarning, r"Glyph .* missing from"),
    (UserWarning, r"FigureCanvasAgg is non-interactive"),
    (DeprecationWarning, r".*"),
    (PendingDeprecationWarning, r".*"),
    (FutureWarning, r"torch\.ao\.quantization"),
    (RuntimeWarning, r"overflow encountered in cast"),
)


def _quiet_warnings() -> None:
    for category, message in _QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    # tqdm is not imported here (import-light); its notebook-mode notice is matched by message.
    warnings.filterwarnings("ignore", message=r"Using `tqdm\.autonotebook\.tqdm` in notebook mode")


def _configure_matplotlib() -> None:
    import matplotlib

    matplotlib.rcParams.update(
        {
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.autolayout": False,
            "figure.constrained_layout.use": True,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 10,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "svg.hashsalt": "lecture26",
            "svg.fonttype": "none",
            "path.simplify": True,
            "image.cmap": "viridis",
        }
    )
    try:
        from IPython import get_ipython
    except Exception:  # pragma: no cover - IPython missing
        return
    if get_ipython() is None:
        return
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except Exception:  # pragma: no cover - matplotlib_inline missing
        return
    set_matplotlib_formats("png")


def setup(seed: int = 0) -> None:
    """Make this kernel deterministic and its outputs stable; prints nothing.

    Seeds ``random``, ``numpy.random`` (the global legacy generator) and ``torch`` with ``seed``,
    uses one torch thread, 4-digit printing in torch/NumPy/pandas, fixed matplotlib defaults and
    silences known noisy warnings. Taught in ``notebooks/00_start_here.ipynb`` ("The setup cell").

    Raises ``TypeError`` if ``seed`` is not an int and ``ValueError`` if it is negative or ``>= 2**32``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int in [0, 2**32); got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32); got {seed}")

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    _ = torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.set_printoptions(precision=4, sci_mode=False)
    np.set_printoptions(precision=4, suppress=True)
    if importlib.util.find_spec("pandas") is not None:
        import pandas as pd

        pd.set_option("display.precision", 4)
    _quiet_warnings()
    _configure_matplotlib()
