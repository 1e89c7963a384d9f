# osc-evacuate: `make demo` and `make test` are the two set-up commands.
# tox.ini runs the same commands as lint, unit, functional, docs and
# releasenotes (tox -e pep8, py3, functional, docs, releasenotes); change
# both together (tests/unit/test_tox.py checks).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint unit functional docs releasenotes docs-capture \
	dist bench sandbox clean

venv: $(STAMP)

$(STAMP): setup.cfg requirements.txt test-requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt -r test-requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

demo: venv
	$(BIN)/python tools/demo.py

lint: venv
	$(BIN)/ruff check osc_evacuate tests tools doc/source
	$(BIN)/ruff format --check osc_evacuate tests tools doc/source
	$(BIN)/mypy
	$(BIN)/mypy doc/source/conf.py doc/source/_ext
	$(BIN)/reno -q lint

unit: venv
	$(BIN)/pytest -q tests/unit

functional: venv
	$(BIN)/pytest -q -n $(WORKERS) --dist loadfile tests/functional

# Two workers, each with its own sandbox cloud (conftest.py), a test file
# at a time: most of a functional test is waiting on Nova, so two run in
# about the time of one. WORKERS=0 runs them all in this process.
WORKERS ?= 2

test: lint docs
	$(BIN)/pytest -q -n $(WORKERS) --dist loadfile tests

# The HTML docs, warnings as errors. -E: the command reference, the tables
# generated from the code and the release notes (from git) are read anew
# every time, since Sphinx cannot see that they changed.
docs: venv
	$(BIN)/sphinx-build -q -W --keep-going -E -b html doc/source doc/build/html

# reno's checks, then the release notes as reStructuredText on standard
# output (make docs renders them as HTML: doc/source/releasenotes.rst).
releasenotes: venv
	$(BIN)/reno -q lint
	$(BIN)/reno -q report

# The runbook's outputs (doc/source/runbook/*.txt), captured anew from the
# sandbox; ids and timings are normalised, so only a change of behaviour
# shows as a diff.
docs-capture: venv
	$(BIN)/python tools/capture_runbook.py

# An sdist and a wheel in dist/, checked as the package index renders them.
dist: venv
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

bench: venv
	$(BIN)/python tools/bench.py

# Start the sandbox cloud in the foreground (Ctrl-C stops it).
sandbox: venv
	$(BIN)/python -m tests.sandbox --state-dir .sandbox

clean:
	rm -rf $(VENV) .sandbox *.egg-info doc/build dist
