# Two commands for learners (see README.md):
#   make lab   - set up .venv and open the course in JupyterLab (http://127.0.0.1:8888)
#   make test  - set up .venv and run the whole test suite (every notebook is re-executed and compared;
#                with /usr/bin/chromium installed, tests/test_browser.py also runs them in JupyterLab + Chromium),
#                then every notebook once more computed the way another CPU would (ATEN_CPU_CAPABILITY=default)
#   make grade - grade every exercise notebook (PART=B: only Part B's); works from notebooks/ and exercises/ too
#   make lab LANG=ja, make grade LANG=ja - the same in Japanese (notebooks/ja, exercises/ja; 日本語版)
# For maintainers:
#   make notebooks - regenerate exercises/ from solutions/ and the Japanese edition from i18n/ja/, re-execute
#                    every notebook, storing outputs; then regenerate docs/lecture_checks.md (and .ja.md) from
#                    the notebooks' "Lecture check" callouts
#   make bench     - run every benchmark in benchmarks/ quickly and print one table (ratio vs goal)
#
# Variables: PORT=8888 (JupyterLab port), LAB_ARGS="--no-browser ..." (extra JupyterLab options),
#            PYTEST_ARGS="-x ..." (extra pytest options), NOTEBOOKS="notebooks solutions exercises",
#            PYTHON=python3 (the interpreter that creates .venv), PART=A..E (make grade: one part),
#            BENCH_ARGS="--full --only fp8,..." (make bench),
#            OTHER_CPU="ATEN_CPU_CAPABILITY=default" (the second notebook pass's settings; empty: no second pass).

PYTHON    ?= python3
VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
# The course kernel (lecture_lib/kernel.py): IPython without the Python patch version in language_info, so
# JupyterLab opens the committed notebooks without changing them.
KERNEL    := $(VENV)/share/jupyter/kernels/python3/kernel.json
# LANG=ja (exactly; a locale such as ja_JP.UTF-8 does not count) picks the Japanese edition.
COURSE_LANG := $(if $(filter ja,$(LANG)),ja,en)
START     := notebooks/$(if $(filter ja,$(COURSE_LANG)),ja/)00_start_here.ipynb
PORT      ?= 8888
LAB_ARGS  ?=
PYTEST_ARGS ?=
NOTEBOOKS ?= notebooks solutions exercises
# JupyterLab refuses to start as root (e.g. inside a container) unless told it is fine.
ROOT_ARGS := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
# One thread and a fixed hash seed: stored notebook outputs are reproduced digit for digit.
RUN_ENV   := OMP_NUM_THREADS=1 PYTHONHASHSEED=0
# Stored outputs must not depend on the CPU: a full `make test` re-runs every notebook with torch's portable
# kernels (another CPU sums floats in another order). Other settings to try by hand: ATEN_CPU_CAPABILITY=avx2,
# MKL_CBWR=COMPATIBLE.
OTHER_CPU ?= ATEN_CPU_CAPABILITY=default

.PHONY: lab test grade notebooks bench venv clean

venv: $(STAMP) $(KERNEL)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the course into $(VENV) (first time: about 2 minutes) ..."
	@$(PY) -m pip install --disable-pip-version-check -q -e ".[test]" > $(VENV)/pip.log 2>&1 \
	  || { cat $(VENV)/pip.log; echo "pip install failed (log: $(VENV)/pip.log)"; exit 1; }
	@touch $(STAMP)

$(KERNEL): $(STAMP) lecture_lib/kernel.py
	@$(PY) -m lecture_lib.kernel > /dev/null

# default_url: the browser opens, and the terminal prints, the start page's address (also with --no-browser).
lab: $(STAMP) $(KERNEL)
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=. $(ROOT_ARGS) \
	  --LabApp.default_url=/lab/tree/$(START) $(LAB_ARGS)

grade: $(STAMP) $(KERNEL)
	@$(PY) -m lecture_lib.grade $(if $(PART),--part $(PART)) $(if $(filter ja,$(COURSE_LANG)),--lang ja)

notebooks: $(STAMP) $(KERNEL)
	$(PY) tools/make_exercises.py
	$(PY) tools/make_ja.py
	$(RUN_ENV) $(PY) tools/run_notebooks.py $(NOTEBOOKS)
	$(PY) tools/make_ledger.py

test: $(STAMP) $(KERNEL)
	$(RUN_ENV) $(PY) -m pytest $(PYTEST_ARGS)
ifeq ($(strip $(PYTEST_ARGS)),)
ifneq ($(strip $(OTHER_CPU)),)
	@echo "Every notebook again, computed the way another CPU would ($(OTHER_CPU)):"
	$(RUN_ENV) $(OTHER_CPU) $(PY) -m pytest -q -p no:cacheprovider notebooks solutions exercises \
	  --ignore=notebooks/ja --ignore=exercises/ja
endif
endif

bench: $(STAMP)
	$(RUN_ENV) $(PY) benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
