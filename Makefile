PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test bench fuzz mutate lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,examples]'
	touch $(STAMP)

demo: install
	$(PY) examples/two_layer_net.py

test: install
	$(PY) -m pytest

bench: install
	$(PY) bench/run.py

# differential fuzzing against jax.grad: `make fuzz N=10000 START=0`; each mismatch is saved in
# tests/fuzz_cases/ as a regression test (tests/test_fuzz.py runs them)
N ?= 1000
START ?= 0
fuzz: install
	$(PY) tests/fuzz.py -n $(N) --start $(START) --save tests/fuzz_cases

# mutation testing of the rules, the optimizer passes and the two sweeps (pyproject.toml's
# [tool.mutmut]; not in CI: it takes hours on two cores). `make mutate ONLY="srcgrad.forward*"`
# runs one module's mutants; the survivors are listed at the end (docs/testing.md)
ONLY ?=
mutate: install
	$(VENV)/bin/mutmut run --max-children 2 $(ONLY)
	$(VENV)/bin/mutmut results

lint: install
	$(VENV)/bin/ruff check srcgrad tests examples bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build *.egg-info mutants
