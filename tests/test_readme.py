"""README links and the Binder environment stay true to the repository.

* every Binder, Colab and relative link in README.md points at something that exists, with the repository and
  branch of ``lecture_lib.nbsetup``;
* the notebook table has one row per notebook in notebooks/, each with its file, Binder and Colab links;
* environment.yml (conda-forge) names the same packages as pyproject.toml's runtime dependencies plus its
  ``test`` extra (other extras, e.g. ``bench``, are not needed on Binder), with the same version ranges
  (PyTorch: the range must contain pyproject's exact pin);
* postBuild installs the package without dependencies.
Each checker is a function; negative controls feed it a broken README or environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from urllib.parse import unquote

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from lecture_lib.nbsetup import BRANCH, REPOSITORY

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

BINDER = re.compile(r"^https://mybinder\.org/v2/gh/(?P<repo>[^/]+/[^/]+)/(?P<branch>[^?]+)\?labpath=(?P<path>\S+)$")
COLAB = re.compile(r"^https://colab\.research\.google\.com/github/(?P<repo>[^/]+/[^/]+)/blob/(?P<branch>[^/]+)/(?P<path>\S+)$")
BADGES = {"https://mybinder.org/badge_logo.svg", "https://colab.research.google.com/assets/colab-badge.svg"}
LINK = re.compile(r"\]\(([^)\s]+)\)|<a\s[^>]*href=\"([^\"]+)\"|<img\s[^>]*src=\"([^\"]+)\"")

# conda-forge name -> PyPI name, where they differ
CONDA_TO_PYPI = {"pytorch-cpu": "torch", "pytorch": "torch", "matplotlib-base": "matplotlib"}
CONDA_ONLY = {"python", "pip"}


def links(markdown: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in LINK.finditer(markdown)]


def link_problems(markdown: str, root: Path) -> list[str]:
    """Every link that points nowhere (or at the wrong repository/branch); [] if all are good."""
    problems = []
    for target in links(markdown):
        if target in BADGES or target.startswith("#"):
            continue
        if target.startswith("https://mybinder.org/"):
            m = BINDER.match(target)
            if not m:
                problems.append(f"Binder link not of the form .../v2/gh/OWNER/REPO/BRANCH?labpath=...: {target}")
                continue
            path = unquote(m["path"])
        elif target.startswith("https://colab.research.google.com/"):
            m = COLAB.match(target)
            if not m:
                problems.append(f"Colab link not of the form .../github/OWNER/REPO/blob/BRANCH/PATH: {target}")
                continue
            path = m["path"]
        elif re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            continue  # other web links are not checked
        else:
            m, path = None, unquote(target.split("#", 1)[0])
        if m is not None and (m["repo"] != REPOSITORY or m["branch"] != BRANCH):
            problems.append(f"{target}: must point at {REPOSITORY} branch {BRANCH} (lecture_lib.nbsetup)")
        if not (root / path).exists():
            problems.append(f"{target}: {path} does not exist")
    return problems


def table_problems(markdown: str, root: Path, folder: str = "notebooks") -> list[str]:
    """Each notebook in ``folder`` (notebooks/) needs one table row holding its file, Binder and Colab links."""
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    problems = []
    for nb in sorted((root / folder).glob("*.ipynb")):
        rel = f"{folder}/{nb.name}"
        wanted = {
            f"]({rel})",
            f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?labpath={folder.replace('/', '%2F')}%2F{nb.name})",
            f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{rel})",
        }
        matching = [row for row in rows if all(w in row for w in wanted)]
        if len(matching) != 1:
            problems.append(f"{rel}: needs exactly one README table row with its file, Binder and Colab links")
    return problems


def conda_requirements(text: str) -> dict[str, str]:
    """name (PyPI spelling) -> version spec, from environment.yml's dependency list (strings only)."""
    found: dict[str, str] = {}
    in_deps = False
    for line in text.splitlines():
        if re.match(r"^\S", line):
            in_deps = line.startswith("dependencies:")
            continue
        m = re.match(r"^\s+-\s+([A-Za-z0-9_.-]+)\s*([<>=!~].*)?$", line.split("#", 1)[0].rstrip())
        if in_deps and m:
            name = m[1].lower()
            if name in CONDA_ONLY:
                continue
            name = CONDA_TO_PYPI.get(name, name).replace("_", "-")
            found[name] = (m[2] or "").strip()
    return found


def pyproject_requirements(data: dict) -> dict[str, str]:
    reqs = [Requirement(r) for r in data["project"]["dependencies"] + data["project"]["optional-dependencies"]["test"]]
    return {r.name.lower().replace("_", "-"): str(r.specifier) for r in reqs}


def postbuild_requirements(text: str) -> dict[str, str]:
    """name -> version spec of the packages postBuild installs from PyPI (those conda-forge does not build)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r'^python -m pip install --no-deps "([^"]+)"$', line.strip())
        if m:
            r = Requirement(m[1])
            found[r.name.lower().replace("_", "-")] = str(r.specifier)
    return found


def environment_problems(env_text: str, pyproject: dict, postbuild_text: str = "") -> list[str]:
    """Problems of environment.yml (+ the PyPI-only packages postBuild installs) against pyproject.toml."""
    conda, pypi = conda_requirements(env_text), pyproject_requirements(pyproject)
    extra = postbuild_requirements(postbuild_text)
    both = sorted(set(conda) & set(extra))
    conda.update(extra)
    problems = [f"{n} is in pyproject.toml but not in environment.yml" for n in sorted(set(pypi) - set(conda))]
    problems += [f"{n} is installed twice, by environment.yml and by postBuild" for n in both]
    problems += [f"{n} is in environment.yml but not in pyproject.toml" for n in sorted(set(conda) - set(pypi))]
    for name in sorted(set(conda) & set(pypi)):
        conda_spec, pypi_spec = SpecifierSet(conda[name].replace(" ", "")), SpecifierSet(pypi[name])
        pins = [s.version for s in pypi_spec if s.operator == "=="]
        if pins:
            exact = [s.version for s in conda_spec if s.operator == "=="]
            # an exact pin in pyproject (torch) is pinned exactly on conda-forge too: the same version, or the
            # nearest one conda-forge builds (the README then says which one Binder gets)
            if len(exact) != 1 or len(conda_spec) != 1:
                problems.append(f"{name}: pyproject pins {pins}; environment.yml must pin one exact version "
                                f"(==X.Y.Z), got {conda_spec or 'no range'}")
        elif conda_spec != pypi_spec:
            problems.append(f"{name}: environment.yml has {conda_spec or 'no range'}, pyproject.toml {pypi_spec}")
    if not re.search(r"^\s+-\s+python=3\.11\s*$", env_text, re.MULTILINE):
        problems.append("environment.yml must pin python=3.11")
    channels = re.search(r"^channels:\n((?:\s+-.*\n)+)", env_text, re.MULTILINE)
    names = re.findall(r"-\s+(\S+)", channels[1]) if channels else []
    if [c for c in names if c != "nodefaults"] != ["conda-forge"]:
        problems.append(f"environment.yml channels must be conda-forge only; got {names}")
    if "://" in env_text:
        problems.append("environment.yml must not contain URLs")
    if re.search(r"^\s+-\s+pip:", env_text, re.MULTILINE):
        problems.append("environment.yml has a pip section: every package should come from conda-forge")
    return problems


# ----------------------------------------------------------------------------------------- the real files
def test_readme_links_point_at_existing_files() -> None:
    assert link_problems(README.read_text(encoding="utf-8"), ROOT) == []


def test_readme_table_lists_every_notebook() -> None:
    assert table_problems(README.read_text(encoding="utf-8"), ROOT) == []


def test_japanese_readme_links_and_table() -> None:
    text = (ROOT / "README.ja.md").read_text(encoding="utf-8")
    assert link_problems(text, ROOT) == []
    assert table_problems(text, ROOT, "notebooks/ja") == []
    assert "make lab LANG=ja" in text and "make grade LANG=ja" in text
    assert "README.ja.md" in README.read_text(encoding="utf-8").split("\n\n")[1]  # the language link on top


def test_readme_first_screen_has_the_two_commands_and_binder() -> None:
    head = "\n".join(README.read_text(encoding="utf-8").splitlines()[:40])
    assert "make lab" in head and "make test" in head and "mybinder.org/badge_logo.svg" in head
    assert "minutes" in head  # how long they take


def test_readme_shows_the_grade_command_and_zone_format() -> None:
    text = README.read_text(encoding="utf-8")
    for command in ("make grade PART=A", "make grade ", "python -m lecture_lib.grade --part A", "grade()"):
        assert command in text, command  # the same commands tests/test_grade_learner.py runs
    for i, name in enumerate(("Quickstart", "Hands-on", "Intuition", "Math", "Implementation", "Experiments",
                              "Advanced", "Review")):
        assert f"`## Zone {i} — {name}`" in text


def binder_torch(env_text: str) -> str:
    """The torch version environment.yml pins for Binder (conda-forge's pytorch-cpu)."""
    m = re.search(r"^\s+-\s+pytorch-cpu==([0-9.]+)\s*(#.*)?$", env_text, re.MULTILINE)
    if not m:
        raise ValueError("environment.yml must pin pytorch-cpu==X.Y.Z")
    return m[1]


def test_readme_says_which_torch_binder_gets() -> None:
    version = binder_torch((ROOT / "environment.yml").read_text(encoding="utf-8"))
    readme = README.read_text(encoding="utf-8")
    assert f"Binder runs torch {version}" in readme, f"README must say that Binder runs torch {version} (environment.yml)"
    pin = re.search(r'"torch==([0-9.]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))[1]
    assert f"torch {pin}" in readme, "README must name the torch the stored outputs were recorded with"


def test_binder_torch_parser_rejects_a_range() -> None:
    with pytest.raises(ValueError, match="pytorch-cpu"):
        binder_torch("dependencies:\n  - pytorch-cpu>=2,<3\n")


def test_environment_yml_matches_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert environment_problems((ROOT / "environment.yml").read_text(encoding="utf-8"), pyproject,
                                (ROOT / "postBuild").read_text(encoding="utf-8")) == []


def test_postbuild_installs_the_package_without_dependencies() -> None:
    post = ROOT / "postBuild"
    lines = [line.strip() for line in post.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "set -e"
    assert "python -m pip install --no-deps -e ." in lines
    assert os.access(post, os.X_OK), "postBuild must be executable"


# ----------------------------------------------------------------------------------------- negative controls
GOOD_ROW = (
    "| [Start](notebooks/00_start_here.ipynb) | x "
    f"| [b](https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?labpath=notebooks%2F00_start_here.ipynb) "
    f"| [c](https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/00_start_here.ipynb) |"
)


def _tree(tmp_path: Path, *names: str) -> Path:
    (tmp_path / "notebooks").mkdir(parents=True)
    for name in names:
        (tmp_path / "notebooks" / name).write_text("{}")
    return tmp_path


def test_good_readme_passes(tmp_path: Path) -> None:
    root = _tree(tmp_path, "00_start_here.ipynb")
    assert link_problems(GOOD_ROW, root) == [] and table_problems(GOOD_ROW, root) == []


@pytest.mark.parametrize(
    "bad",
    [
        GOOD_ROW.replace("00_start_here.ipynb)", "00_start_her.ipynb)", 1),  # relative link to a missing file
        GOOD_ROW.replace("labpath=notebooks%2F00_start_here", "labpath=notebooks%2FpartZ"),  # Binder: missing
        GOOD_ROW.replace("/notebooks/00_start_here.ipynb)", "/notebooks/partZ.ipynb)"),  # Colab: missing
        GOOD_ROW.replace(f"/{BRANCH}?labpath", "/dev?labpath"),  # wrong branch
        GOOD_ROW.replace(f"github/{REPOSITORY}", "github/someone/fork"),  # wrong repository
        GOOD_ROW.replace("?labpath=", "?filepath="),  # not JupyterLab at a notebook
    ],
    ids=["relative", "binder-missing", "colab-missing", "branch", "repository", "binder-form"],
)
def test_broken_links_are_flagged(tmp_path: Path, bad: str) -> None:
    assert link_problems(bad, _tree(tmp_path, "00_start_here.ipynb")) != []


def test_a_notebook_missing_from_the_table_is_flagged(tmp_path: Path) -> None:
    root = _tree(tmp_path, "00_start_here.ipynb", "partB_distillation_speculative.ipynb")
    problems = table_problems(GOOD_ROW, root)
    assert len(problems) == 1 and "partB_distillation_speculative" in problems[0]
    half_row = GOOD_ROW.split("| [c]")[0]  # no Colab link
    assert table_problems(half_row, _tree(tmp_path / "x", "00_start_here.ipynb")) != []


GOOD_ENV = """name: t
channels:
  - conda-forge
  - nodefaults
dependencies:
  - python=3.11
  - pytorch-cpu==2.12.1
  - matplotlib-base>=3,<4
  - ml_dtypes>=0.5,<1
"""
GOOD_PYPROJECT = {"project": {"dependencies": ["torch==2.13.0", "matplotlib>=3,<4"],
                              "optional-dependencies": {"test": ["ml_dtypes>=0.5,<1"]}}}


def test_good_environment_passes() -> None:
    assert environment_problems(GOOD_ENV, GOOD_PYPROJECT) == []


@pytest.mark.parametrize(
    "bad",
    [
        GOOD_ENV.replace("  - matplotlib-base>=3,<4\n", ""),  # a package missing
        GOOD_ENV + "  - requests>=2,<3\n",  # an extra package
        GOOD_ENV.replace("matplotlib-base>=3,<4", "matplotlib-base>=3,<5"),  # different range
        GOOD_ENV.replace("pytorch-cpu==2.12.1", "pytorch-cpu>=2.14,<3"),  # a range, not an exact pin
        GOOD_ENV.replace("pytorch-cpu==2.12.1", "pytorch-cpu"),  # no pin at all
        GOOD_ENV.replace("python=3.11", "python=3.12"),
        GOOD_ENV.replace("  - nodefaults\n", "  - defaults\n"),
        GOOD_ENV + "  - pip:\n    - lecture26\n",
        GOOD_ENV + "  # see https://example.org\n",
    ],
    ids=["missing", "extra", "range", "torch-range", "torch-unpinned", "python", "channel", "pip-section", "url"],
)
def test_environment_mismatch_is_flagged(bad: str) -> None:
    assert environment_problems(bad, GOOD_PYPROJECT) != []


def test_a_pypi_only_package_in_postbuild_counts_with_its_range() -> None:
    pyproject = {"project": {"dependencies": GOOD_PYPROJECT["project"]["dependencies"] + ["pybreaker>=1.2,<2"],
                             "optional-dependencies": GOOD_PYPROJECT["project"]["optional-dependencies"]}}
    good = 'set -e\npython -m pip install --no-deps "pybreaker>=1.2,<2"\npython -m pip install --no-deps -e .\n'
    assert environment_problems(GOOD_ENV, pyproject, good) == []
    assert environment_problems(GOOD_ENV, pyproject) != []  # missing everywhere
    assert environment_problems(GOOD_ENV, pyproject, good.replace("<2", "<3")) != []  # another range
    assert environment_problems(GOOD_ENV + "  - pybreaker>=1.2,<2\n", pyproject, good) != []  # twice
