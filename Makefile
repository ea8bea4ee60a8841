# Everything a user or CI needs, from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
HANDWRITTEN := tinker_hl tinker_local
LINT_PATHS := $(wildcard tinker_hl tinker_local tests codegen bench examples)

.PHONY: install generate check-generated lint format typecheck test test-fast demo bench soak cassettes clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e ".[torch,local,dev]"
	touch $(STAMP)

install: $(STAMP)

generate: $(STAMP)
	$(PY) codegen/generate.py

check-generated: $(STAMP)
	$(PY) codegen/generate.py --check

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)

format: $(STAMP)
	$(VENV)/bin/ruff check --fix $(LINT_PATHS)
	$(VENV)/bin/ruff format $(LINT_PATHS)

typecheck: $(STAMP)
	$(VENV)/bin/mypy $(HANDWRITTEN)

test: $(STAMP) check-generated lint typecheck
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not soak"

demo: $(STAMP)
	$(PY) examples/demo.py

bench: $(STAMP)
	$(PY) bench/run.py

soak: $(STAMP)
	$(PY) -m pytest -q -m soak

cassettes: $(STAMP)
	TINKER_HL_RECORD_CASSETTES=1 $(PY) -m pytest -q tests/contract/test_cassettes.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
