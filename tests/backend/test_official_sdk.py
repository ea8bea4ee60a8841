"""The official `tinker` 0.7.0 SDK, unmodified, against the local backend: a complete loop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

tinker = pytest.importorskip("tinker")
from tinker import types  # noqa: E402

TEXT = list(b"the local backend speaks tinker.")


@pytest.fixture(scope="module")
def service(server: Any) -> Iterator[Any]:
    client = tinker.ServiceClient(api_key=server.api_keys[0], base_url=server.url)
    yield client
    client.holder.close()


def _datum(tokens: list[int]) -> Any:
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:]},
    )


def test_complete_training_loop(service: Any, server: Any) -> None:
    caps = service.get_server_capabilities()
    assert "local/tiny-llama" in [m.model_name for m in caps.supported_models]

    training = service.create_lora_training_client(base_model="local/tiny-llama", rank=8, seed=0)
    info = training.get_info()
    assert info.model_data.model_name == "local/tiny-llama" and info.lora_rank == 8

    losses = []
    for _ in range(20):
        fb = training.forward_backward([_datum(TEXT)], "cross_entropy")
        step = training.optim_step(types.AdamParams(learning_rate=5e-3))
        losses.append(fb.result().metrics["loss:sum"])
        assert step.result().metrics is not None
    assert losses[-1] < losses[0] * 0.5, losses

    state_path = training.save_state("after-20").result().path
    assert state_path == f"tinker://{training.model_id}/weights/after-20"
    training.load_state(state_path).result()
    training.load_state_with_optimizer(state_path).result()

    sampler = training.save_weights_and_get_sampling_client("sampler-after-20")
    prompt = types.ModelInput.from_ints(TEXT[:6])
    out = sampler.sample(prompt, 2, types.SamplingParams(max_tokens=8, temperature=0)).result()
    assert len(out.sequences) == 2 and all(len(s.tokens) == 8 for s in out.sequences)
    logprobs = sampler.compute_logprobs(types.ModelInput.from_ints(TEXT[:10])).result()
    assert len(logprobs) == 10 and logprobs[0] is None and all(lp < 0 for lp in logprobs[1:])

    sampler_path = training.save_weights_for_sampler("named").result().path
    from_path = service.create_sampling_client(model_path=sampler_path)
    again = from_path.sample(prompt, 1, types.SamplingParams(max_tokens=8, temperature=0))
    assert again.result().sequences[0].tokens == out.sequences[0].tokens

    rest = service.create_rest_client()
    runs = rest.list_training_runs().result()
    assert training.model_id in [r.training_run_id for r in runs.training_runs]
    assert runs.cursor.total_count >= 1
    checkpoints = rest.list_checkpoints(training.model_id).result().checkpoints
    assert [c.tinker_path for c in checkpoints] == [state_path, sampler_path]
    run = rest.get_training_run(training.model_id).result()
    assert run.last_checkpoint is not None and run.last_checkpoint.tinker_path == state_path

    rest.publish_checkpoint_from_tinker_path(state_path).result()
    assert rest.list_checkpoints(training.model_id).result().checkpoints[0].public
    rest.unpublish_checkpoint_from_tinker_path(state_path).result()
    archive = rest.get_checkpoint_archive_url_from_tinker_path(state_path).result()
    assert archive.url.startswith(server.url)
    assert rest.get_weights_info_by_tinker_path(state_path).result().lora_rank == 8

    resumed = service.create_training_client_from_state(state_path)
    assert resumed.model_id != training.model_id

    rest.delete_checkpoint_from_tinker_path(state_path).result()
    remaining = rest.list_checkpoints(training.model_id).result().checkpoints
    assert [c.tinker_path for c in remaining] == [sampler_path]

    session = rest.get_session(service.holder.get_session_id()).result()
    assert training.model_id in session.training_run_ids and session.sampler_ids


def test_sampling_a_base_model(service: Any) -> None:
    sampler = service.create_sampling_client(base_model="local/tiny-llama")
    params = types.SamplingParams(max_tokens=4, seed=7, temperature=1.0)
    first = sampler.sample(types.ModelInput.from_ints(TEXT[:4]), 1, params).result()
    second = sampler.sample(types.ModelInput.from_ints(TEXT[:4]), 1, params).result()
    assert first.sequences[0].tokens == second.sequences[0].tokens  # same seed, same sample


def test_user_errors_reach_the_sdk_as_request_failures(service: Any) -> None:
    training = service.create_lora_training_client(base_model="local/tiny-llama", rank=4)
    bad = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2, 3]),
        loss_fn_inputs={"target_tokens": [1, 2, 999999]},
    )
    with pytest.raises(tinker.RequestFailedError) as info:
        training.forward_backward([bad], "cross_entropy").result()
    assert info.value.category == types.RequestErrorCategory.User


def test_the_sdks_telemetry_is_accepted(service: Any, server: Any) -> None:
    telemetry = service.holder.get_telemetry()
    if telemetry is None:
        pytest.skip("telemetry disabled in this environment (TINKER_TELEMETRY)")
    telemetry.log("backend-test", event_data={"x": 1})
    telemetry._trigger_flush()  # the SDK flushes every 10 s; don't wait for that
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        batches = server.store.telemetry_batches()
        names = [e.get("event_name") for b in batches for e in b["events"]]
        if "backend-test" in names:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the SDK's telemetry never arrived")
    session_events = [e["event"] for b in batches for e in b["events"]]
    assert "SESSION_START" in session_events
