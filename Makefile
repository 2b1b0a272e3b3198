PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(PY) examples/two_layer_net.py

test: install
	$(PY) -m pytest

bench: install
	$(PY) bench/run.py

lint: install
	$(VENV)/bin/ruff check srcgrad tests examples bench

clean:
	rm -rf $(VENV) build *.egg-info
