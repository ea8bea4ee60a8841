"""Crash safety: `kill -9` of the backend process in the middle of training and in the middle of
a checkpoint write, then a restart on the same data folder.

Every acknowledged checkpoint (its save future returned) is listed and loads, with optimizer
state: the next step after loading gives exactly the loss and weights it gave before the crash.
No torn checkpoint is listed, no staging folder is left behind, and training continues.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tinker_hl as tinker
from tinker_hl import types

MODEL = "local/tiny-llama"
WRITE_DELAY_S = 3.0


@contextlib.contextmanager
def _backend(data_dir: Path, key: str, **options: Any) -> Iterator[Any]:
    """A backend subprocess (`python -m tinker_local serve ...`) on `data_dir`."""
    from tinker_local.launcher import serve_local

    with serve_local(data_dir, api_keys=[key], in_process=False, long_poll_s=0.2, **options) as s:
        yield s


def _client(server: Any, key: str) -> tinker.ServiceClient:
    retry = tinker.RetryConfig(retry_delay_base=0.01, retry_delay_max=0.1, progress_timeout=15)
    return tinker.ServiceClient(api_key=key, base_url=server.url, retry_config=retry)


def _kill_9(server: Any) -> None:
    server.process.send_signal(signal.SIGKILL)
    assert server.process.wait(timeout=30) == -signal.SIGKILL


def _checkpoints(service: tinker.ServiceClient, run_id: str) -> list[str]:
    listed = service.create_rest_client().list_checkpoints(run_id).result()
    return sorted(c.checkpoint_id for c in listed.checkpoints)


def _staging_folders(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "checkpoints").rglob(".*") if p.is_dir()]


def test_kill_9_mid_training_and_mid_checkpoint_then_restart(
    tmp_path: Path, key: str, make_datum: Any
) -> None:
    data_dir = tmp_path / "data"
    probe_datum = make_datum("the probe: what does the next step do?")
    adam = types.AdamParams(learning_rate=5e-3)

    def train(training: tinker.TrainingClient, steps: int, tag: str) -> list[Any]:
        futures = []
        for step in range(steps):
            datum = make_datum(f"{tag} {step}")
            futures.append(training.forward_backward([datum], "cross_entropy"))
            futures.append(training.optim_step(adam))
        return futures

    def probe(training: tinker.TrainingClient) -> tuple[float, list[float]]:
        """The next step on fixed data: its loss, then the logprobs after its optimizer step."""
        loss = training.forward_backward([probe_datum], "cross_entropy").result()
        training.optim_step(adam).result()
        after = training.forward([probe_datum], "cross_entropy").result()
        return loss.metrics["loss:sum"], list(after.loss_fn_outputs[0]["logprobs"].data)

    # 1. Train, save (acknowledged), record the next step; then kill -9 mid-training.
    with _backend(data_dir, key) as server:
        with _client(server, key) as service:
            training = service.create_lora_training_client(MODEL, rank=4, seed=7)
            assert all(f.result() for f in train(training, 3, "warm-up"))
            first_path = training.save_state("first").result().path
            first_probe = probe(training)
            run1 = training.model_id
            in_flight = train(training, 40, "doomed")
            in_flight[3].result()  # some of them ran; most are queued or running
            _kill_9(server)
        assert any(not f.done() or f.future().cancelled() or f.exception() for f in in_flight)

    # 2. Restart: the acknowledged checkpoint loads, with optimizer state, bit-exact.
    with (
        _backend(data_dir, key, checkpoint_write_delay_s=WRITE_DELAY_S) as server,
        _client(server, key) as service,
    ):
        assert _checkpoints(service, run1) == ["weights/first"]
        resumed = service.create_training_client_from_state_with_optimizer(first_path)
        assert probe(resumed) == first_probe
        assert all(f.result() for f in train(resumed, 2, "resumed"))
        second_path = resumed.save_state("second").result().path  # acknowledged
        second_probe = probe(resumed)
        run2 = resumed.model_id
        # Kill -9 while the next checkpoint's files sit in their staging folder.
        resumed.save_state("torn")
        staged = data_dir / "checkpoints" / run2 / "weights"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(staged.glob(".tmp-*/state.safetensors")):
            time.sleep(0.01)
        assert list(staged.glob(".tmp-*/state.safetensors")), "the save never started"
        _kill_9(server)
    assert _staging_folders(data_dir)  # the torn checkpoint is on disk...

    # 3. Restart again: ...but never listed; both acknowledged checkpoints load; training goes on.
    with _backend(data_dir, key) as server:
        assert _staging_folders(data_dir) == []  # start-up reconciliation removed it
        with _client(server, key) as service:
            assert _checkpoints(service, run1) == ["weights/first"]
            assert _checkpoints(service, run2) == ["weights/second"]
            again = service.create_training_client_from_state_with_optimizer(second_path)
            assert probe(again) == second_probe
            reloaded = service.create_training_client_from_state_with_optimizer(first_path)
            assert probe(reloaded) == first_probe
            assert all(f.result() for f in train(again, 2, "after the crashes"))
            third = again.save_state("torn").result().path  # the torn name is free again
            assert _checkpoints(service, again.model_id) == ["weights/torn"]
            assert service.create_training_client_from_state_with_optimizer(third).model_id
