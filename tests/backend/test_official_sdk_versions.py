"""Every official SDK version the backend serves, each installed unchanged in its own folder by
`make install` (.sdk/tinker-<version>), runs one complete research loop against the local
backend in its own process: official_sdk_workload.py (training that learns with pipelined
steps, forward, save/load with optimizer, a training client from the saved state, sampling with
sequence ids from 0.26 on, logprobs, REST listing, publish/unpublish/delete, and `with
ServiceClient(...)` ending the session from 0.28 on). 0.38 runs a second time in JWT mode.

What the SDK cannot see is checked here, in the server's store: the session's end and the
SDK version header, the create-via-load model id, the protocol path each version took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tinker_local.launcher import serve_local

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD = Path(__file__).with_name("official_sdk_workload.py")
VERSIONS = ["0.7.0", "0.22.7", "0.30.4", "0.38.0"]
KEY = "tml-official-sdk-versions"


def sdk_folder(version: str) -> Path:
    folder = ROOT / ".sdk" / f"tinker-{version}"
    if not (folder / ".installed").exists():
        pytest.fail(f"{folder} is missing: `make install` installs every tested SDK version")
    return folder


def run_workload(version: str, url: str, timeout: float = 420) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(sdk_folder(version))
    env.update(TINKER_TELEMETRY="0", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [sys.executable, str(WORKLOAD), url, KEY],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("SUMMARY ")]
    assert proc.returncode == 0 and lines, (
        f"tinker {version} workload failed (exit {proc.returncode}):\n"
        + "\n".join(ln for ln in proc.stderr.splitlines() if "try_again" not in ln)[-6000:]
    )
    summary: dict[str, Any] = json.loads(lines[-1][len("SUMMARY ") :])
    assert summary["sdk_version"] == version  # the folder's SDK, not the venv's 0.7.0
    return summary


def vtuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with serve_local(
        tmp_path_factory.mktemp("sdk-versions"), api_keys=[KEY], long_poll_s=1.0
    ) as running:
        yield running


def check_store(server: Any, version: str, summary: dict[str, Any]) -> None:
    store = server.store
    session_id = summary["session_id"]
    assert store.get_session(session_id) is not None
    if vtuple(version) >= (0, 38):  # the x-sdk-version header (older SDKs send none)
        assert store.session_sdk_header(session_id) == version
    else:
        assert store.session_sdk_header(session_id) is None
    if vtuple(version) >= (0, 28):
        finish = store.session_finish(session_id)
        assert finish is not None and finish[0] == "success"
    resumed = summary["resumed_model_id"]
    if vtuple(version) >= (0, 30):  # created by load_weights, id derived by the SDK
        assert resumed.startswith(f"{session_id}:train:")
    run = store.get_run(resumed)
    assert run is not None and run.lora_rank == 8
    if vtuple(version) >= (0, 26):
        ids = summary["sequence_ids"]
        assert len(set(ids)) == 2


@pytest.mark.parametrize("version", VERSIONS)
def test_official_sdk_complete_loop(backend: Any, version: str) -> None:
    summary = run_workload(version, backend.url)
    check_store(backend, version, summary)
    if vtuple(version) >= (0, 38):  # the workload reached 0.38's sampling options
        assert summary["loss_fns"] == ["importance_sampling", "ppo", "cispo", "dro", "gspo"]
        assert summary["provenance_sequence_id"]  # a datum with spans naming it trained
        assert summary["sampling_options"] == [
            "topk_sample_logprobs",
            "target_prompt_logprobs",
            "prompt_alt_tokens_k",
        ]


def test_sdk_038_in_jwt_mode(tmp_path: Path) -> None:
    """The SDK exchanges its key for tokens (70 s ones, which it renews on its own once less
    than 60 s are left); mid-run every token is invalidated (as by a restart), which
    the SDK must survive by re-exchanging on `invalid_token`."""
    with serve_local(tmp_path, api_keys=[KEY], long_poll_s=1.0, jwt=True, jwt_ttl_s=70) as srv:
        assert srv.backend is not None and srv.backend.jwt is not None
        signer = srv.backend.jwt
        issued_before = signer.issued
        rotated = threading.Event()

        def rotate_once_training_started() -> None:
            while not rotated.is_set():
                if srv.backend is not None and srv.backend.models:
                    signer.rotate()
                    rotated.set()
                    return
                rotated.wait(0.2)

        watcher = threading.Thread(target=rotate_once_training_started, daemon=True)
        watcher.start()
        try:
            summary = run_workload("0.38.0", srv.url)
        finally:
            rotated.set()
            watcher.join(timeout=5)
        check_store(srv, "0.38.0", summary)
        assert signer.rejected > 0  # a token was refused after the rotation ...
        assert signer.issued - issued_before >= 2  # ... and the SDK exchanged its key again
