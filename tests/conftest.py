"""Shared test set-up: nothing here may touch the network or a model hub."""

import os
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# TINKER_TEST_DEVICE=cuda (TINKER_TEST_DTYPE: float32 unless given) runs the engine's tests on
# that device, for a check on a GPU machine; CI and `make test` run on the CPU.
if os.environ.get("TINKER_TEST_DEVICE"):
    from tinker_local.engine.runtime import configure

    configure(os.environ["TINKER_TEST_DEVICE"], os.environ.get("TINKER_TEST_DTYPE", "float32"))


@pytest.fixture
def self_signed_cert(tmp_path: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files of a fresh self-signed certificate for 127.0.0.1."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
