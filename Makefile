# Everything a user or CI needs, from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
HANDWRITTEN := tinker_hl tinker_local
LINT_PATHS := $(wildcard tinker_hl tinker_local tests codegen bench examples)

.PHONY: install generate check-generated lint format typecheck test test-fast demo bench bench-gpu soak cassettes clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e ".[torch,local,dev]"
	touch $(STAMP)

# The official SDK at each version the local backend is tested against, each installed
# unchanged in its own folder (tests/backend/test_official_sdk_versions.py puts one first on
# PYTHONPATH, on top of the venv's shared dependencies). --no-deps: everything else they need
# is in the venv already; the packages only newer SDKs need are pinned in constraints.txt.
SDK_VERSIONS := 0.7.0 0.22.7 0.30.4 0.38.0
SDK_EXTRAS := $(shell grep -E '^(protobuf|zstandard|pyqwest|opentelemetry-api)==' constraints.txt)
SDK_STAMPS := $(foreach v,$(SDK_VERSIONS),.sdk/tinker-$(v)/.installed)

.sdk/tinker-%/.installed: $(STAMP) constraints.txt
	rm -rf .sdk/tinker-$*
	$(PIP) install -q --no-deps --target .sdk/tinker-$* tinker==$* $(SDK_EXTRAS)
	touch $@

# tinker-cookbook, the official recipe library (research code written for the 0.38 SDK), with
# the packages its modules import, in a folder of its own like the SDKs: tests/e2e/test_cookbook.py
# runs its unmodified training, checkpoint, sampling and RL-data code on tinker_hl.
COOKBOOK := .sdk/tinker-cookbook
COOKBOOK_PACKAGES := tinker-cookbook chz blobfile lxml pycryptodomex datasets dill multiprocess \
	pandas pyarrow xxhash termcolor
COOKBOOK_PINS = $(foreach p,$(COOKBOOK_PACKAGES),$(shell grep -iE '^$(p)==' constraints.txt))

$(COOKBOOK)/.installed: $(STAMP) constraints.txt
	rm -rf $(COOKBOOK)
	$(PIP) install -q --no-deps --target $(COOKBOOK) $(COOKBOOK_PINS)
	touch $@

install: $(STAMP) $(SDK_STAMPS) $(COOKBOOK)/.installed

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
	$(PY) tests/typing/check_examples.py

test: install check-generated lint typecheck
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow and not soak"

demo: $(STAMP)
	$(PY) examples/demo.py

bench: $(STAMP)
	$(PY) bench/run.py

# On a machine with a CUDA GPU: the backend and rollouts sections on a real-size model.
bench-gpu: $(STAMP)
	PYTHON=$(PY) bench/gpu.sh bench/results-gpu 0.5b 1b

soak: $(STAMP)
	$(PY) -m pytest -q -m soak

cassettes: $(STAMP)
	TINKER_HL_RECORD_CASSETTES=1 $(PY) -m pytest -q tests/contract/test_cassettes.py

clean:
	rm -rf $(VENV) .sdk .pytest_cache .mypy_cache .ruff_cache
