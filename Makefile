# clvlab: two commands set everything up on a fresh machine.
#   make lab    create .venv on first use, open JupyterLab on notebooks/
#   make test   create .venv on first use, run the unit tests and every notebook (nbval)
# Also: make test-fast (unit tests without those marked slow: NUTS, ADVI, builds, servers),
#   make notebooks (re-execute all notebooks in place), make student (copies without solutions
#   in student/), make lint, make bench, make browser (Debian's chromium), make clean.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.clvlab-installed
EXTRAS ?= lab,test,dev
LAB_ARGS ?=
# Jupyter refuses to run as root unless told; containers and CI often are root.
LAB_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
PYTEST_ARGS ?=
# Tests run in two worker processes (pytest-xdist), one test module (one notebook) per worker
# at a time: about 1.7x faster on a 2-core machine. WORKERS=0 runs them in this process.
WORKERS ?= 2
XDIST := $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadscope)
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))

# A Python >= 3.12: $(PYTHON) if given, else python3.12 / 3.13 / 3.14 / python3 on PATH,
# else one that pyenv knows (3.12 first: the version the stack is measured with).
FIND_PYTHON = for c in $(PYTHON) python3.12 python3.13 python3.14 python3; do \
	  p=$$(command -v $$c 2>/dev/null) || continue; \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; exit 0; }; \
	done; \
	root=$$(pyenv root 2>/dev/null || echo $${PYENV_ROOT:-$$HOME/.pyenv}); \
	for p in $$(ls -d $$root/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V); do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; exit 0; }; \
	done; exit 1

.PHONY: lab test test-fast unit notebooks-test notebooks student lint bench browser env clean help which-python

help:
	@sed -n '1,7p' Makefile

env: $(STAMP)

which-python:  ## the interpreter a new .venv would be made with
	@$(FIND_PYTHON)

$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then \
	  py=$$($(FIND_PYTHON)) || { \
	    echo "clvlab needs Python >= 3.12, and none was found on PATH or through pyenv." >&2; \
	    echo "Install one (e.g. 'pyenv install 3.12' or your package manager), or run" >&2; \
	    echo "'make PYTHON=/path/to/python3.12 test'. The conda route: 'conda env create -f environment.yml'." >&2; \
	    exit 1; }; \
	  echo "Creating $(VENV) with $$py ($$($$py -V))"; \
	  $$py -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(LAB_ROOT) $(LAB_ARGS)

test: unit notebooks-test

# Tests that use the Spark session (marked `spark` in tests/conftest.py) run in a pytest
# process of their own: its py4j threads outlive the tests and would make the fork checks of
# the NUTS tests that share a worker with them fail.
unit: $(STAMP)
	$(PY) -m pytest tests src/clvlab -m "not spark" $(XDIST) $(PYTEST_ARGS)
	$(PY) -m pytest tests -m spark $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest tests src/clvlab -m "not slow and not spark" $(XDIST) $(PYTEST_ARGS)
	$(PY) -m pytest tests -m "spark and not slow" $(PYTEST_ARGS)

notebooks-test: $(STAMP)
	$(PY) -m pytest --nbval-lax --nbval-current-env notebooks $(XDIST) $(PYTEST_ARGS)

notebooks: $(STAMP)
	@for nb in $(NOTEBOOKS); do \
	  echo "executing $$nb"; \
	  $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.kernel_name=python3 $$nb || exit 1; \
	done

# Student copies: the notebooks without the cells tagged `solution` (standard library only,
# so any python3 will do). student/ is ignored by git and outside notebooks/ (nbval skips it).
STUDENT_DIR ?= student
student:
	python3 tools/student_copies.py notebooks $(STUDENT_DIR)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Benchmarks run by hand in their own environment, beside the reference tools.
BENCH_VENV ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.clvlab-installed

$(BENCH_STAMP): pyproject.toml benchmarks/requirements.txt
	@[ -x $(BENCH_VENV)/bin/python ] || $$($(FIND_PYTHON)) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . -r benchmarks/requirements.txt
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@for script in benchmarks/bench_*.py; do \
	  echo "== $$script"; $(BENCH_VENV)/bin/python $$script || exit 1; \
	done

# Headless Chromium for tests/test_report_browser.py: Debian's package through apt-get (sudo
# only when not root), never a browser downloaded by a Python tool.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if command -v chromium >/dev/null 2>&1; then \
	  echo "chromium is installed: $$(chromium --version 2>/dev/null)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; \
	else \
	  echo "make browser needs apt-get (Debian/Ubuntu) to install Debian's chromium package." >&2; \
	  echo "Elsewhere install Chromium with your package manager so that 'chromium' is on PATH;" >&2; \
	  echo "without it the browser test of the report is skipped." >&2; \
	  exit 1; \
	fi

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache build src/*.egg-info
