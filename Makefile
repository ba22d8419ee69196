# acnotes: everything runs inside ./.venv, created and filled on first use.
#
#   make lab         install, then open the notebook series in JupyterLab (on 127.0.0.1; as root
#                    it passes --allow-root: acnotes/tools/lab.py)
#   make test        install, then run the whole test suite (what CI runs): the unit tests, every
#                    notebook under nbval, the tests that execute notebooks (marker notebooks:
#                    student notebooks, README's check command and the nbgrader round trip on
#                    notebooks 01 and 03), the long training runs (slow), JupyterLab started as
#                    make lab starts it (lab) and the browser tests (browser). Not classroom_all.
#                    Two processes (pytest-xdist, -n 2 --dist loadfile: a file's tests, and so a
#                    notebook's cells, stay in one process, in order). Prints the 15 slowest tests.
#   make test-fast   the unit tests only: no notebook executed, no browser, no JupyterLab, no
#                    nbgrader, no long training run (a few minutes)
#   make test-classroom  the nbgrader round trip on every notebook with exercises
#   make test-browser  only the browser tests (JupyterLab in headless Chromium)
#   make execute     re-execute every notebook in place, in reading order
#   make exercises   write the student notebooks to student/ (solutions replaced by stubs)
#   make gallery     every figure of the (executed) notebooks as PNGs in gallery/, with index.html
#   make bench       run the CartPole benchmark
#   make clean       remove caches and build leftovers (keeps .venv; `make distclean` removes it)
#
# PyTorch is installed first, on its own, so that pip never pulls the multi-GB CUDA build:
#   TORCH_SPEC   what to install (default torch==2.13.0)
#   TORCH_INDEX  if set, the package index to take it from, e.g.
#                make test TORCH_INDEX=https://download.pytorch.org/whl/cpu

VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
TORCH_SPEC  ?= torch==2.13.0
TORCH_INDEX ?=
# Interpreter used to create the venv; empty means python3.11, else python3.
BASE_PYTHON ?=

.PHONY: venv lab test test-classroom test-fast test-browser execute exercises gallery bench clean distclean

venv: $(STAMP)

$(PY):
	@if [ -n "$(BASE_PYTHON)" ]; then py="$(BASE_PYTHON)"; \
	elif command -v python3.11 >/dev/null 2>&1; then py=python3.11; \
	else py=python3; fi; \
	echo "creating $(VENV) with $$py"; \
	$$py -m venv $(VENV)

# Re-run the installation only when pyproject.toml changes (or the venv is new).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install '$(TORCH_SPEC)' $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -e '.[dev]'
	touch $(STAMP)

lab: venv
	$(PY) -m acnotes.tools.lab notebooks

test: venv
	$(PY) -m pytest -n 2 --dist loadfile -m "not classroom_all" --durations=15 --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg tests notebooks

test-classroom: venv
	$(PY) -m pytest -m classroom_all tests/test_classroom.py

test-fast: venv
	$(PY) -m pytest -m "not notebooks and not browser and not lab and not slow and not classroom_all" --durations=10 tests

test-browser: venv
	$(PY) -m pytest -m browser tests

execute: venv
	$(PY) -m acnotes.tools.execute notebooks

exercises: venv
	$(PY) -m acnotes exercises student

gallery: venv
	$(PY) -m acnotes gallery gallery --force

bench: venv
	$(PY) benchmarks/solve_cartpole.py

clean:
	rm -rf build dist .pytest_cache *.egg-info gallery
	find . -path ./$(VENV) -prune -o -type d \( -name __pycache__ -o -name .ipynb_checkpoints \) -print \
		| xargs rm -rf

distclean: clean
	rm -rf $(VENV)
