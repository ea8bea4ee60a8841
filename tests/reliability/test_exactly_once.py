"""Exactly-once under faults: every submission whose answer was lost after the server acted
("drop_after", the nasty case) is resubmitted by the client and recognised by the server as the
same request; a training loop run through 20 % injected faults of every kind ends with weights
bit-identical to the same loop run without faults.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import tinker_hl as tinker
from tinker_hl import types
from tinker_local.server.config import user_id_for_key
from tinker_local.server.faults import KINDS

MODEL = "local/tiny-llama"
SOAK_STEPS = 100
QUICK_STEPS = 12
COMPUTE_METHODS = (
    "new_trainer",
    "forward",
    "optim_step",
    "save_training_state",
    "save_sampler_weights",
    "load_training_state",
    "sample",
)


def _count_executions(server: Any, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the compute calls of an in-process server (forward counts as forward or
    forward_backward by its `backward` argument)."""
    calls: Counter[str] = Counter()
    compute = server.backend.compute

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            if name == "forward":
                calls["forward_backward" if args[4] else "forward"] += 1
            else:
                calls[name] += 1
            return fn(*args, **kwargs)

        return counted

    for name in COMPUTE_METHODS:
        monkeypatch.setattr(compute, name, wrap(name, getattr(compute, name)))
    return calls


def _records(server: Any, model_id: str, request_type: str) -> list[Any]:
    registry = server.backend.registry
    return [
        r
        for r in list(registry._records.values())
        if r.model_id == model_id and r.request_type == request_type
    ]


@contextlib.contextmanager
def _dropped_after(faults: Any, path: str, times: int = 2) -> Iterator[None]:
    """The next `times` requests to `path` are processed, then their answers are lost."""
    faults.configure(rate=1.0, kinds=("drop_after",), paths=(path,), limit=times)
    yield
    prefix = f"/api/v1/{path}"
    dropped = sum(
        n
        for (where, kind), n in faults.by_path.items()
        if kind == "drop_after" and where.startswith(prefix)
    )
    assert dropped == times
    faults.configure(rate=0.0)


@pytest.fixture
def executions(chaos_server: Any, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    return _count_executions(chaos_server, monkeypatch)


@pytest.fixture
def training(chaos_service: tinker.ServiceClient) -> tinker.TrainingClient:
    return chaos_service.create_lora_training_client(MODEL, rank=4, seed=0)


# -- the nasty case, one submitting endpoint at a time (compute="none": only counts matter) ----
def test_create_model_answer_lost(
    chaos_server: Any, faults: Any, executions: Counter[str], chaos_service: tinker.ServiceClient
) -> None:
    with _dropped_after(faults, "create_model"):
        training = chaos_service.create_lora_training_client(MODEL, rank=4, seed=0)
    runs, _ = chaos_server.store.session_contents(chaos_service.holder.session_id)
    assert runs == [training.model_id]  # keyed by (session_id, model_seq_id): one model
    assert executions["new_trainer"] == 1
    assert len(_records(chaos_server, training.model_id, "create_model")) == 1


def test_forward_backward_and_optim_step_answers_lost(
    chaos_server: Any,
    faults: Any,
    executions: Counter[str],
    training: tinker.TrainingClient,
    make_datum: Any,
) -> None:
    with _dropped_after(faults, "forward_backward"):
        fb = training.forward_backward([make_datum("exactly once")], "cross_entropy")
        fb.result()
    with _dropped_after(faults, "optim_step"):
        training.optim_step(types.AdamParams(learning_rate=1e-3)).result()
    assert executions["forward_backward"] == 1 and executions["optim_step"] == 1
    assert len(_records(chaos_server, training.model_id, "forward_backward")) == 1
    assert len(_records(chaos_server, training.model_id, "optim_step")) == 1


def test_save_and_load_answers_lost(
    chaos_server: Any,
    chaos_service: tinker.ServiceClient,
    faults: Any,
    executions: Counter[str],
    training: tinker.TrainingClient,
) -> None:
    with _dropped_after(faults, "save_weights"):
        path = training.save_state("once").result().path  # no "name exists" on the retry
    with _dropped_after(faults, "save_weights_for_sampler"):
        sampler_path = training.save_weights_for_sampler("once-sampler").result().path
    with _dropped_after(faults, "load_weights"):
        training.load_state_with_optimizer(path).result()
    listed = chaos_service.create_rest_client().list_checkpoints(training.model_id).result()
    ids = sorted(c.checkpoint_id for c in listed.checkpoints)
    assert ids == ["sampler_weights/once-sampler", "weights/once"]
    assert path.endswith("/weights/once") and sampler_path.endswith("/sampler_weights/once-sampler")
    assert executions["save_training_state"] == 1
    assert executions["save_sampler_weights"] == 1
    assert executions["load_training_state"] == 1


def test_sampler_creation_and_sampling_answers_lost(
    chaos_server: Any,
    chaos_service: tinker.ServiceClient,
    faults: Any,
    executions: Counter[str],
    training: tinker.TrainingClient,
) -> None:
    session = chaos_service.holder.session_id
    with _dropped_after(faults, "save_weights_for_sampler"):  # an ephemeral snapshot
        snapshot = training.save_weights_and_get_sampling_client()
    with _dropped_after(faults, "create_sampling_session"):  # key: (session, sampler seq id)
        base = chaos_service.create_sampling_client(base_model=MODEL)
    _, samplers = chaos_server.store.session_contents(session)
    assert sorted(samplers) == sorted([snapshot.sampling_session_id, base.sampling_session_id])
    assert executions["save_sampler_weights"] == 1
    params = types.SamplingParams(max_tokens=3, temperature=0.0)
    with _dropped_after(faults, "asample"):  # key: (sampler, seq_id)
        base.sample(types.ModelInput.from_ints([1, 2, 3]), 1, params).result()
    assert executions["sample"] == 1


def test_retrieve_future_answer_lost(
    chaos_server: Any,
    faults: Any,
    executions: Counter[str],
    training: tinker.TrainingClient,
    make_datum: Any,
) -> None:
    with _dropped_after(faults, "retrieve_future", times=3):
        out = training.forward([make_datum("delivered at last")], "cross_entropy").result()
    assert out.loss_fn_outputs  # the result survived three lost deliveries
    assert executions["forward"] == 1


def test_create_session_answer_lost_leaves_a_harmless_orphan(
    chaos_server: Any, faults: Any, key: str, fast_retry: tinker.RetryConfig
) -> None:
    store, user = chaos_server.store, user_id_for_key(key)
    before = store.list_sessions(user, 1, 0)[1]
    with (
        _dropped_after(faults, "create_session", times=1),
        tinker.ServiceClient(api_key=key, base_url=chaos_server.url, retry_config=fast_retry) as sc,
    ):
        session = sc.holder.session_id
    assert sc.get_server_capabilities  # the client works normally
    # create_session has no idempotency key: the lost one is an empty session that expires.
    assert store.list_sessions(user, 1, 0)[1] == before + 2
    assert store.session_contents(session) == ([], [])


def test_raw_resubmission_returns_the_same_request_id(
    chaos_server: Any, faults: Any, key: str, training: tinker.TrainingClient
) -> None:
    """The protocol itself: the same (model_id, seq_id) is the same request, before and after
    it ran, and a resubmitted save never fails with "name exists"."""
    http = httpx.Client(base_url=chaos_server.url, headers={"X-API-Key": key}, timeout=10)
    body = {"model_id": training.model_id, "seq_id": 1, "path": "raw"}
    with _dropped_after(faults, "save_weights", times=1), pytest.raises(httpx.TransportError):
        http.post("/api/v1/save_weights", json=body)
    first = http.post("/api/v1/save_weights", json=body).json()["request_id"]
    while (outcome := http.post("/api/v1/retrieve_future", json={"request_id": first}).json()).get(
        "type"
    ) == "try_again":
        time.sleep(0.05)
    assert outcome["path"].endswith("/weights/raw")
    again = http.post("/api/v1/save_weights", json=body).json()["request_id"]  # after it ran
    assert again == first
    assert len(_records(chaos_server, training.model_id, "save_weights")) == 1
    http.close()


@pytest.mark.parametrize("action", ["publish", "delete"])
def test_rest_checkpoint_action_answer_lost(
    chaos_service: tinker.ServiceClient, faults: Any, training: tinker.TrainingClient, action: str
) -> None:
    path = training.save_state(f"rest-{action}").result().path
    rest = chaos_service.create_rest_client()
    with _dropped_after(faults, "training_runs", times=1):
        if action == "publish":
            rest.publish_checkpoint_from_tinker_path(path).result()
        else:
            rest.delete_checkpoint_from_tinker_path(path).result()
    # The action happened once, and the retry that followed the lost answer reported success.
    listed = {
        c.tinker_path: c for c in rest.list_checkpoints(training.model_id).result().checkpoints
    }
    if action == "publish":
        assert listed[path].public is True
    else:
        assert path not in listed


# -- the whole loop, with real weights ---------------------------------------------------------
_TEXTS = [
    "the quick brown fox jumps over the lazy dog",
    "exactly once, never twice, never lost",
    "faults are injected; weights must not notice",
    "pack my box with five dozen liquor jugs",
    "sphinx of black quartz, judge my vow",
]


@dataclass
class LoopOutcome:
    losses: list[float]
    optim_metrics: list[dict[str, float]]
    eval_logprobs: list[float]
    sampled: list[int]
    checkpoint_ids: list[str]
    tensors: dict[str, Any]
    executions: Counter[str]
    faults: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def run_training_loop(
    data_dir: Path,
    key: str,
    steps: int,
    monkeypatch: pytest.MonkeyPatch,
    retry: tinker.RetryConfig,
    **server_options: Any,
) -> LoopOutcome:
    """Pipelined forward_backward + optim_step for `steps` steps, a save_state every 5 steps,
    then a sampler checkpoint, a final save, a greedy sample and an evaluation forward."""
    from safetensors.torch import load_file

    from tinker_local.launcher import serve_local

    def datum(step: int) -> types.Datum:
        text = f"{step}: {_TEXTS[step % len(_TEXTS)]}"
        tokens = list(text.encode())
        return types.Datum(
            model_input=types.ModelInput.from_ints(tokens[:-1]),
            loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
        )

    started = time.monotonic()
    with (
        serve_local(data_dir, api_keys=[key], long_poll_s=0.2, **server_options) as server,
        tinker.ServiceClient(api_key=key, base_url=server.url, retry_config=retry) as service,
    ):
        with monkeypatch.context() as patch:
            calls = _count_executions(server, patch)
            training = service.create_lora_training_client(MODEL, rank=4, seed=1234)
            steps_f, saves = [], []
            for step in range(steps):
                fb = training.forward_backward([datum(step)], "cross_entropy")
                opt = training.optim_step(types.AdamParams(learning_rate=5e-3))
                steps_f.append((fb, opt))
                if step % 5 == 4:
                    saves.append(training.save_state(f"step-{step:03d}"))
            losses = [fb.result().metrics["loss:sum"] for fb, _ in steps_f]
            optim = [dict(opt.result().metrics.to_dict()) for _, opt in steps_f]
            assert all(s.result().path for s in saves)
            training.save_weights_for_sampler("final-sampler").result()
            final_path = training.save_state("final").result().path
            sampler = training.save_weights_and_get_sampling_client()
            sample = sampler.sample(
                types.ModelInput.from_ints(list(b"the quick")),
                1,
                types.SamplingParams(max_tokens=8, temperature=0.0),
            ).result()
            evaluation = training.forward([datum(10**6)], "cross_entropy").result()
            listed = service.create_rest_client().list_checkpoints(training.model_id).result()
        run_id = final_path.split("/")[2]
        folder = data_dir / "checkpoints" / run_id / "weights" / "final"
        tensors = load_file(str(folder / "state.safetensors"))
        return LoopOutcome(
            losses=losses,
            optim_metrics=optim,
            eval_logprobs=list(evaluation.loss_fn_outputs[0]["logprobs"].data),
            sampled=list(sample.sequences[0].tokens),
            checkpoint_ids=[c.checkpoint_id for c in listed.checkpoints],
            tensors=tensors,
            executions=calls,
            faults=dict(server.faults.counts),
            seconds=time.monotonic() - started,
        )


def _check_exactly_once(
    tmp_path: Path,
    key: str,
    steps: int,
    monkeypatch: pytest.MonkeyPatch,
    retry: tinker.RetryConfig,
    rate: float,
) -> None:
    import torch

    clean = run_training_loop(tmp_path / "clean", key, steps, monkeypatch, retry)
    chaos = run_training_loop(
        tmp_path / "chaos",
        key,
        steps,
        monkeypatch,
        retry,
        fault_rate=rate,
        fault_seed=20,
        fault_delay_s=0.2,
        fault_retry_after_s=0.02,
    )
    print(f"clean run {clean.seconds:.1f}s; faulty run {chaos.seconds:.1f}s, faults {chaos.faults}")
    # Every kind was injected (kinds are dealt from a shuffled deck).
    assert sum(chaos.faults.values()) >= len(KINDS)
    assert set(chaos.faults) == set(KINDS)
    # Nothing lost, nothing run twice.
    saves = steps // 5 + 1
    expected = {
        "new_trainer": 1,
        "forward_backward": steps,
        "optim_step": steps,
        "forward": 1,
        "save_training_state": saves,
        "save_sampler_weights": 2,
        "sample": 1,
    }
    assert dict(clean.executions) == expected
    assert dict(chaos.executions) == expected
    # Bit-identical training.
    assert chaos.losses == clean.losses
    assert chaos.optim_metrics == clean.optim_metrics
    assert chaos.eval_logprobs == clean.eval_logprobs
    assert chaos.sampled == clean.sampled
    assert chaos.tensors.keys() == clean.tensors.keys()
    for name, tensor in clean.tensors.items():
        assert torch.equal(tensor, chaos.tensors[name]), name
    # No duplicate (or missing) checkpoint.
    names = [f"weights/step-{s:03d}" for s in range(4, steps, 5)]
    names += ["weights/final", "sampler_weights/final-sampler"]
    assert sorted(chaos.checkpoint_ids) == sorted(names)
    assert sorted(clean.checkpoint_ids) == sorted(names)
    assert clean.losses[-1] < clean.losses[0]  # the loop did train


def test_training_loop_with_faults_is_bit_identical(
    tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch, fast_retry: tinker.RetryConfig
) -> None:
    _check_exactly_once(tmp_path, key, QUICK_STEPS, monkeypatch, fast_retry, rate=0.2)


@pytest.mark.soak
def test_soak_training_loop_with_faults_is_bit_identical(
    tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch, fast_retry: tinker.RetryConfig
) -> None:
    _check_exactly_once(tmp_path, key, SOAK_STEPS, monkeypatch, fast_retry, rate=0.2)
