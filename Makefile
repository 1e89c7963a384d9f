# osc-evacuate: `make demo` and `make test` are the two set-up commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint unit functional bench sandbox clean

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
	$(BIN)/ruff check osc_evacuate tests tools
	$(BIN)/ruff format --check osc_evacuate tests tools
	$(BIN)/mypy
	$(BIN)/reno lint >/dev/null

unit: venv
	$(BIN)/pytest -q tests/unit

functional: venv
	$(BIN)/pytest -q tests/functional

test: lint
	$(BIN)/pytest -q tests

bench: venv
	$(BIN)/python tools/bench.py

# Start the sandbox cloud in the foreground (Ctrl-C stops it).
sandbox: venv
	$(BIN)/python -m tests.sandbox --state-dir .sandbox

clean:
	rm -rf $(VENV) .sandbox *.egg-info
