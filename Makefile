# Two commands for learners (see README.md):
#   make lab   - set up .venv and open the course in JupyterLab (http://127.0.0.1:8888)
#   make test  - set up .venv and run the whole test suite
# For maintainers:
#   make notebooks - regenerate exercises/ from solutions/ and re-execute every notebook, storing outputs

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8888

.PHONY: lab test notebooks venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the course into $(VENV) (first time: about 2 minutes) ..."
	@$(PY) -m pip install --disable-pip-version-check -q -e ".[test]"
	@$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (lecture26)" > /dev/null
	@touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=. \
	  notebooks/00_start_here.ipynb

notebooks: $(STAMP)
	$(PY) tools/make_exercises.py
	$(PY) tools/run_notebooks.py notebooks solutions exercises

test: $(STAMP)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
