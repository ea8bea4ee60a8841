"""serve_local (in-process and subprocess), the CLI, and compute="none"."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinker_local.launcher import serve_local
from tinker_local.server.config import ServerConfig


def test_in_process_server_generates_a_dev_key_and_leaves_no_thread(api_class: Any) -> None:
    before = set(threading.enumerate())
    with serve_local() as server:
        assert server.api_key.startswith("tml-dev-")
        assert server.url.startswith("http://127.0.0.1:")
        api = api_class(server.url, server.api_key)
        api.session()
        api.close()
        data_dir = server.data_dir
        assert data_dir.is_dir()
    assert not data_dir.exists()  # a temporary data folder is removed
    leftover = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert leftover == []


def test_subprocess_server(tmp_path: Path, api_class: Any) -> None:
    with serve_local(tmp_path, api_keys=["tml-sub"], in_process=False, compute="none") as server:
        assert server.process is not None and server.process.poll() is None
        with pytest.raises(RuntimeError):
            _ = server.store
        api = api_class(server.url, "tml-sub")
        model_id = api.model()
        assert api.get(f"/api/v1/training_runs/{model_id}").status_code == 200
        api.close()
        process = server.process
    assert process.poll() is not None  # stopped


def test_a_subprocess_server_whose_free_port_was_taken_starts_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from tinker_local import launcher

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)  # another process got the port between the probe and the server's bind
    ports = iter([taken.getsockname()[1]])
    real_free_port = launcher._free_port
    monkeypatch.setattr(
        launcher, "_free_port", lambda host: next(ports, None) or real_free_port(host)
    )
    try:
        with serve_local(tmp_path, api_keys=["tml-p"], in_process=False, compute="none") as server:
            assert not server.url.endswith(f":{taken.getsockname()[1]}")
            assert httpx.get(f"{server.url}/api/v1/healthz").status_code == 200
    finally:
        taken.close()
    # A port the caller chose is not changed: its failure is reported, with the server's log.
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    try:
        fixed = serve_local(
            tmp_path / "fixed",
            api_keys=["tml-p"],
            in_process=False,
            compute="none",
            port=held.getsockname()[1],
        )
        with pytest.raises(RuntimeError, match="exited during start-up; its log"), fixed:
            pass
    finally:
        held.close()


def test_compute_none_returns_shaped_results_instantly(tmp_path: Path, api_class: Any) -> None:
    with serve_local(tmp_path, api_keys=["tml-none"], compute="none", long_poll_s=0.2) as server:
        api = api_class(server.url, "tml-none")
        model_id = api.model()
        fb = api.done(
            "/api/v1/forward_backward", api.fb_body(model_id, 1, [api.datum([1, 2, 3, 4])])
        )
        assert fb["loss_fn_outputs"][0]["logprobs"]["data"] == [0.0, 0.0, 0.0]
        path = api.done("/api/v1/save_weights", {"model_id": model_id, "seq_id": 2, "path": "x"})[
            "path"
        ]
        body = {"model_id": model_id, "seq_id": 3, "path": path, "optimizer": True}
        assert api.done("/api/v1/load_weights", body)["path"] == path
        sample = api.done(
            "/api/v1/asample",
            {
                "base_model": "local/tiny-llama",
                "prompt": {"chunks": [{"tokens": [1, 2, 3]}]},
                "sampling_params": {"max_tokens": 3},
                "prompt_logprobs": True,
            },
        )
        assert sample["sequences"][0]["tokens"] == [0, 0, 0]
        assert sample["prompt_logprobs"] == [None, 0.0, 0.0]
        api.close()


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="tml-"):
        ServerConfig(data_dir=Path("."), api_keys=["sk-wrong"])
    with (
        pytest.raises(TypeError, match="unknown server option"),
        serve_local(api_keys=["tml-x"], no_such_option=1),
    ):
        pass


def test_cli_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tinker_local", "--help"], capture_output=True, text=True, check=True
    )
    assert "--api-key" in out.stdout and "--long-poll-s" in out.stdout


def test_cli_serves_and_prints_the_dev_key(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "tinker_local", "serve", "--port", str(port)]
    cmd += ["--data-dir", str(tmp_path), "--compute", "none", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first
        key_line = proc.stdout.readline()
        key = key_line.split(":", 1)[1].strip()
        assert key.startswith("tml-dev-")
        assert (tmp_path / "dev_api_key").read_text().strip() == key
        for _ in range(200):
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/api/v1/get_server_capabilities",
                    headers={"X-API-Key": key},
                )
                break
            except httpx.TransportError:
                import time

                time.sleep(0.05)
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
