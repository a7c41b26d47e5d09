"""The course's Jupyter kernel: IPython, except that it does not announce the Python patch version.

Why: when a notebook's kernel starts, JupyterLab copies the kernel's ``language_info`` into the notebook's
metadata. IPython's kernel reports ``"version": "3.11.7"`` there (the interpreter's full version), which differs
from machine to machine, so the committed notebooks cannot store it (``tools/nbnormalize.py`` leaves it out).
With a standard kernel, JupyterLab therefore changes every course notebook as soon as it opens: the tab is
marked unsaved, closing it asks to save, and autosave rewrites the tracked file (a later ``git pull``
conflicts). :class:`CourseKernel` reports the same ``language_info`` without ``version``, which is exactly
what the notebooks store, so they open unmodified.

``make venv`` installs it as the ``python3`` kernel of ``.venv`` (display name "Python 3 (ipykernel)"):
``python -m lecture_lib.kernel`` writes the kernel spec into ``sys.prefix``. Everything else is IPython's
kernel unchanged. On Colab or Binder, or with another Jupyter, the standard kernel runs; the notebooks work the
same and may just be marked as modified on opening.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from ipykernel.ipkernel import IPythonKernel

__all__ = ["DISPLAY_NAME", "KERNEL_NAME", "CourseKernel", "install"]

KERNEL_NAME = "python3"
DISPLAY_NAME = "Python 3 (ipykernel)"


class CourseKernel(IPythonKernel):
    """IPython's kernel whose ``language_info`` leaves out ``version`` (see the module docstring)."""

    language_info = {k: v for k, v in IPythonKernel.language_info.items() if k != "version"}


def install(prefix: str | None = None) -> Path:
    """Install the kernel spec ``python3`` running :class:`CourseKernel` into ``prefix`` (default: ``sys.prefix``).

    Returns the folder of the installed spec (``<prefix>/share/jupyter/kernels/python3``).
    """
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as tmp:
        spec = write_kernel_spec(
            Path(tmp) / KERNEL_NAME,
            overrides={"display_name": DISPLAY_NAME},
            extra_arguments=[f"--IPKernelApp.kernel_class=lecture_lib.kernel.{CourseKernel.__name__}"],
            python_arguments=["-Xfrozen_modules=off"],  # as `ipykernel install` does: the debugger needs it
        )
        dest = KernelSpecManager().install_kernel_spec(spec, KERNEL_NAME, prefix=prefix or sys.prefix)
    return Path(dest)


if __name__ == "__main__":
    path = install()
    argv = json.loads((path / "kernel.json").read_text(encoding="utf-8"))["argv"]
    print(f"installed kernel {KERNEL_NAME!r} ({DISPLAY_NAME}) in {path}: {' '.join(argv)}")
