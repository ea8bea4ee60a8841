"""The official SDK 0.38's client surface, end to end against the local backend, sync and async:
factories that return futures (and still work as the client, with 0.38's FutureWarning),
standalone RestClient, session finish on close and on leaving `with`, the 0.38 save and
sampling parameters, `optim_step(optim_params)`, `APIFuture.coroutine()`."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator

import pytest

import tinker_hl as tinker
from tinker_hl import types

MODEL = "local/tiny-llama"
TEXT = b"tinker-hl speaks the current API"
PROMPT = types.ModelInput.from_ints(list(b"tinker"))
GREEDY = types.SamplingParams(max_tokens=4, temperature=0.0)


def sft_datum() -> types.Datum:
    tokens = list(TEXT)
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
    )


@pytest.fixture(scope="module")
def training(service: tinker.ServiceClient) -> tinker.TrainingClient:
    client = service.create_lora_training_client(MODEL, rank=4, seed=3).result()
    assert type(client) is tinker.TrainingClient  # the client itself, not the future
    return client


@pytest.fixture
def no_future_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        yield


# ----- factories ---------------------------------------------------------------------------------
def test_factories_return_futures_of_clients(
    service: tinker.ServiceClient, training: tinker.TrainingClient, no_future_warnings: None
) -> None:
    future = service.create_sampling_client(base_model=MODEL)
    assert isinstance(future, tinker.APIFuture)
    sampler = future.result()
    assert type(sampler) is tinker.SamplingClient
    assert sampler.get_base_model() == MODEL
    from_training = training.save_weights_and_get_sampling_client().result()
    named = training.save_weights_and_get_sampling_client("current-api-named").result()
    saved_path = training.save_weights_for_sampler("current-api-path").result().path
    by_path = training.create_sampling_client(saved_path).result()
    tokens = {
        tuple(client.sample(PROMPT, 1, GREEDY).result().sequences[0].tokens)
        for client in (from_training, named, by_path)
    }
    assert len(tokens) == 1  # the same weights, three ways
    assert by_path.get_base_model() == MODEL  # asked of the server: created from a path


def test_a_future_still_works_as_the_client_with_a_future_warning(
    service: tinker.ServiceClient,
) -> None:
    legacy = service.create_lora_training_client(MODEL, rank=4, seed=3)
    with pytest.warns(FutureWarning, match="future as the TrainingClient is deprecated"):
        output = legacy.forward([sft_datum()], "cross_entropy").result()
    assert output.metrics["loss:sum"] > 0
    with pytest.warns(FutureWarning):
        assert legacy.model_id == legacy.result().model_id
    sampler = service.create_sampling_client(base_model=MODEL)
    with pytest.warns(FutureWarning, match="future as the SamplingClient is deprecated"):
        assert sampler.sample(PROMPT, 1, GREEDY).result().sequences
    assert isinstance(legacy, tinker.TrainingClient)  # 0.7.0 code may check the type
    assert repr(legacy) == "<TrainingClientFuture done>"  # repr never waits nor warns


async def test_factories_awaited_and_async_twins(
    service: tinker.ServiceClient, no_future_warnings: None
) -> None:
    client = await service.create_lora_training_client(MODEL, rank=4, seed=4)
    assert type(client) is tinker.TrainingClient
    twin = await service.create_lora_training_client_async(MODEL, rank=4, seed=4)
    assert type(twin) is tinker.TrainingClient
    sampler = await service.create_sampling_client(base_model=MODEL)
    also = await service.create_sampling_client_async(base_model=MODEL)
    assert await sampler.get_base_model_async() == also.get_base_model() == MODEL
    snapshot = await client.save_weights_and_get_sampling_client_async()
    response = await snapshot.sample_async(PROMPT, 1, GREEDY)
    assert response.sequences[0].tokens


async def test_async_future_forwards_awaited_methods(service: tinker.ServiceClient) -> None:
    legacy = service.create_lora_training_client(MODEL, rank=4, seed=6)
    with pytest.warns(FutureWarning):
        info = await legacy.get_info_async()
    assert info.lora_rank == 4


# ----- training ----------------------------------------------------------------------------------
def test_optim_step_takes_optim_params_or_adam_params(training: tinker.TrainingClient) -> None:
    adam = types.AdamParams(learning_rate=1e-3)
    training.forward_backward([sft_datum()], "cross_entropy").result()
    assert training.optim_step(optim_params=adam).result() is not None
    training.forward_backward([sft_datum()], "cross_entropy").result()
    assert training.optim_step(adam_params=adam).result() is not None
    with pytest.raises(tinker.ValidationError, match="optim_params"):
        training.optim_step(adam, optim_params=adam)
    with pytest.raises(tinker.ValidationError, match="optim_params"):
        training.optim_step()


def test_save_state_with_ttl_overwrite_and_metadata(
    service: tinker.ServiceClient, training: tinker.TrainingClient
) -> None:
    first = training.save_state("current-api-state", ttl_seconds=7200).result()
    with pytest.raises(tinker.TinkerError):
        training.save_state("current-api-state").result()  # exists: overwrite=False
    again = training.save_state(
        "current-api-state", overwrite=True, user_metadata={"step": "2"}
    ).result()
    assert again.path == first.path
    sampler = training.save_weights_for_sampler(
        "current-api-sampler", ttl_seconds=7200, user_metadata={"k": "v"}
    ).result()
    rest = service.create_rest_client()
    listed = {
        c.tinker_path: c for c in rest.list_checkpoints(training.model_id).result().checkpoints
    }
    assert isinstance(listed[sampler.path].expires_at, str)
    assert listed[again.path].user_metadata.to_dict() == {"step": "2"}  # type: ignore[union-attr]
    assert listed[sampler.path].user_metadata.to_dict() == {"k": "v"}  # type: ignore[union-attr]
    with pytest.raises(tinker.ValidationError, match="ttl_seconds"):
        training.save_state("x", ttl_seconds=0)
    with pytest.raises(tinker.ValidationError, match="user_metadata"):
        training.save_state("x", user_metadata={"k": 1})  # type: ignore[dict-item]
    with pytest.raises(tinker.ValidationError, match="overwrite"):
        training.save_state("x", overwrite="yes")  # type: ignore[arg-type]


# ----- sampling ----------------------------------------------------------------------------------
def test_sampling_get_base_model_and_last_n_logprobs(service: tinker.ServiceClient) -> None:
    sampler = service.create_sampling_client(base_model=MODEL).result()
    assert sampler.get_base_model() == MODEL
    prompt = types.ModelInput.from_ints(list(b"tinker-hl"))
    full = sampler.compute_logprobs(prompt).result()
    last = sampler.compute_logprobs(prompt, prompt_logprobs_last_n=3).result()
    assert len(last) == len(full)
    assert all(v is None for v in last[:-3]) and all(v is not None for v in last[-3:])
    response = sampler.sample(
        prompt, 1, GREEDY, include_prompt_logprobs=True, prompt_logprobs_last_n=2
    ).result()
    assert response.prompt_logprobs is not None
    assert [v is None for v in response.prompt_logprobs][-3:] == [True, False, False]
    for field, kwargs in [
        ("topk_sample_logprobs", {"topk_sample_logprobs": -1}),
        ("prompt_logprobs_last_n", {"prompt_logprobs_last_n": 0}),
        ("target_prompt_logprobs", {"target_prompt_logprobs": [1, 2]}),
        ("prompt_alt_tokens_k", {"prompt_alt_tokens_k": True}),
    ]:
        with pytest.raises(tinker.ValidationError, match=field):
            sampler.sample(prompt, 1, GREEDY, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(tinker.ValidationError, match="record_stability_info"):
        service.create_sampling_client(base_model=MODEL, record_stability_info="y")  # type: ignore[arg-type]


# ----- futures -----------------------------------------------------------------------------------
async def test_api_future_coroutine_and_future(training: tinker.TrainingClient) -> None:
    first = training.forward([sft_datum()], "cross_entropy")
    second = training.forward([sft_datum()], "cross_entropy")
    a, b = await asyncio.gather(first.coroutine(), asyncio.create_task(second.coroutine()))
    assert a.metrics["loss:sum"] == pytest.approx(b.metrics["loss:sum"])
    assert first.future().done() and first.future().result() is a


# ----- rest --------------------------------------------------------------------------------------
def test_standalone_rest_client_and_checkpoint_ttl(
    local_server: object, owner_key: str, training: tinker.TrainingClient
) -> None:
    url = local_server.url  # type: ignore[attr-defined]
    path = training.save_state("current-api-ttl").result().path
    with tinker.RestClient(base_url=url, api_key=owner_key) as rest:
        assert rest.get_server_capabilities().result().supported_models
        rest.set_checkpoint_ttl_from_tinker_path(path, 7200).result()
        run = training.model_id
        expiring = {
            c.tinker_path: c.expires_at for c in rest.list_checkpoints(run).result().checkpoints
        }
        assert isinstance(expiring[path], str)
        rest.set_checkpoint_ttl_from_tinker_path(path, None).result()
        cleared = {
            c.tinker_path: c.expires_at for c in rest.list_checkpoints(run).result().checkpoints
        }
        assert not isinstance(cleared[path], str)
        with pytest.raises(tinker.ValidationError, match="ttl_seconds"):
            rest.set_checkpoint_ttl_from_tinker_path(path, -5)


async def test_standalone_rest_client_async(local_server: object, owner_key: str) -> None:
    rest = tinker.RestClient(base_url=local_server.url, api_key=owner_key)  # type: ignore[attr-defined]
    try:
        capabilities = await rest.get_server_capabilities()
        assert capabilities.supported_models
        runs = await rest.list_training_runs_async(limit=5)
        assert runs.training_runs is not None
    finally:
        rest.close()


# ----- service client ----------------------------------------------------------------------------
def test_close_finishes_the_session(local_server: object, owner_key: str) -> None:
    store = local_server.store  # type: ignore[attr-defined]
    url = local_server.url  # type: ignore[attr-defined]
    service = tinker.ServiceClient(
        api_key=owner_key, base_url=url, project_id="proj-1", display_name="a run"
    )
    assert (service.project_id, service.display_name) == ("proj-1", "a run")
    session = service.session_id
    with pytest.raises(tinker.ValidationError, match="status"):
        service.close("done")  # type: ignore[arg-type]
    service.close("success", detail="trained").result()
    assert store.session_finish(session)[:2] == ("success", "trained")
    assert service.close("errored").result() is None  # closed already: nothing more

    with tinker.ServiceClient(api_key=owner_key, base_url=url) as ok:
        pass
    assert store.session_finish(ok.session_id)[0] == "success"
    with pytest.raises(RuntimeError), tinker.ServiceClient(api_key=owner_key, base_url=url) as bad:
        raise RuntimeError("boom")
    assert store.session_finish(bad.session_id)[0] == "errored"
    with (
        pytest.raises(KeyboardInterrupt),
        tinker.ServiceClient(api_key=owner_key, base_url=url) as stopped,
    ):
        raise KeyboardInterrupt
    assert store.session_finish(stopped.session_id)[0] == "interrupted"
    plain = tinker.ServiceClient(api_key=owner_key, base_url=url)
    plain.close()  # the 0.7.0 way: no status, the session is not finished
    assert store.session_finish(plain.session_id) is None


async def test_async_context_manager_finishes_the_session(
    local_server: object, owner_key: str
) -> None:
    store = local_server.store  # type: ignore[attr-defined]
    async with tinker.ServiceClient(api_key=owner_key, base_url=local_server.url) as service:  # type: ignore[attr-defined]
        await service.get_server_capabilities_async()
    assert store.session_finish(service.session_id)[0] == "success"
