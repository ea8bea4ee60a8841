"""The 0.38 parameters of projects, sharing and copies, end to end against the local backend:
`ServiceClient(project_id=, display_name=)` sent with the session, `access_scope` on the
REST reads, `list_training_runs(project_id=)`, `copy_weights` (ServiceClient and RestClient),
`create_lora_training_client(optimizer=)` and `create_training_client_from_state(base_model=,
user_metadata=, weights_access_token=, optimizer=)`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

import tinker_hl as tinker
from tinker_hl import types

from .era_proxy import recording_proxy

MODEL = "local/tiny-llama"
PROMPT = types.ModelInput.from_ints(list(b"copies"))
GREEDY = types.SamplingParams(max_tokens=4, temperature=0.0)


def sft_datum() -> types.Datum:
    tokens = list(b"projects and copies")
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
    )


OWNER = "tml-params-owner"
OTHER = "tml-params-other"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A backend of this module's own: it makes many models, and the shared e2e backend has a
    per-user limit on loaded models."""
    from tinker_local.launcher import serve_local

    with serve_local(tmp_path_factory.mktemp("params"), api_keys=[OWNER, OTHER]) as server:
        yield server.url


@pytest.fixture(scope="module")
def service(url: str) -> Iterator[tinker.ServiceClient]:
    with tinker.ServiceClient(api_key=OWNER, base_url=url) as client:
        yield client


@pytest.fixture(scope="module")
def other_service(url: str) -> Iterator[tinker.ServiceClient]:
    with tinker.ServiceClient(api_key=OTHER, base_url=url) as client:
        yield client


@pytest.fixture(scope="module")
def project() -> str:
    return f"proj-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def in_project(url: str, project: str) -> Iterator[tinker.ServiceClient]:
    with tinker.ServiceClient(
        api_key=OWNER, base_url=url, project_id=project, display_name="copies and scopes"
    ) as client:
        yield client


@pytest.fixture(scope="module")
def trained(in_project: tinker.ServiceClient) -> tuple[tinker.TrainingClient, str, str]:
    """A trained model of the project, with a training checkpoint and a sampler checkpoint."""
    training = in_project.create_lora_training_client(
        MODEL, rank=4, seed=5, optimizer=types.AdamOptimizerConfig()
    ).result()
    training.forward_backward([sft_datum()], "cross_entropy").result()
    training.optim_step(types.AdamParams(learning_rate=0.05)).result()
    state = training.save_state("scoped-state").result().path
    sampler = training.save_weights_for_sampler("scoped-sampler").result().path
    return training, state, sampler


def test_the_session_carries_its_project_and_display_name(
    in_project: tinker.ServiceClient, trained: tuple[tinker.TrainingClient, str, str]
) -> None:
    rest = in_project.create_rest_client()
    session = rest.get_session(in_project.session_id).result()
    assert session.display_name == "copies and scopes"
    assert trained[0].model_id in session.training_run_ids


def test_listing_runs_by_project(
    service: tinker.ServiceClient,
    in_project: tinker.ServiceClient,
    trained: tuple[tinker.TrainingClient, str, str],
    project: str,
) -> None:
    outside = service.create_lora_training_client(MODEL, rank=4).result()
    rest = in_project.create_rest_client()
    mine = rest.list_training_runs(limit=1000, project_id=project).result()
    ids = [run.training_run_id for run in mine.training_runs]
    assert ids == [trained[0].model_id]
    assert mine.cursor.total_count == 1
    everything = [
        r.training_run_id for r in rest.list_training_runs(limit=1000).result().training_runs
    ]
    assert {trained[0].model_id, outside.model_id} <= set(everything)
    assert rest.list_training_runs(project_id="no-such-project").result().training_runs == []


def test_access_scope_accessible_reaches_published_runs_only(
    other_service: tinker.ServiceClient,
    trained: tuple[tinker.TrainingClient, str, str],
    in_project: tinker.ServiceClient,
) -> None:
    training, state, _sampler = trained
    owner_rest = in_project.create_rest_client()
    other = other_service.create_rest_client()
    with pytest.raises(tinker.NotFoundError):
        other.get_training_run(training.model_id, access_scope="accessible").result()
    owner_rest.publish_checkpoint_from_tinker_path(state).result()
    try:
        with pytest.raises(tinker.NotFoundError):  # the default scope is the caller's own
            other.get_training_run(training.model_id).result()
        run = other.get_training_run_by_tinker_path(state, access_scope="accessible").result()
        assert run.training_run_id == training.model_id
        listed = other.list_training_runs(limit=1000, access_scope="accessible").result()
        assert training.model_id in [r.training_run_id for r in listed.training_runs]
        owned = other.list_training_runs(limit=1000).result()
        assert training.model_id not in [r.training_run_id for r in owned.training_runs]
        sessions = other.list_sessions(limit=1000, access_scope="accessible").result().sessions
        assert in_project.session_id in sessions
        assert in_project.session_id not in other.list_sessions(limit=1000).result().sessions
        seen = other.get_session(in_project.session_id, access_scope="accessible").result()
        assert seen.training_run_ids == [training.model_id]
        assert seen.sampler_ids == []  # another user sees only what was published
    finally:
        owner_rest.unpublish_checkpoint_from_tinker_path(state).result()
    with pytest.raises(tinker.NotFoundError):
        other.get_training_run(training.model_id, access_scope="accessible").result()


def test_a_bad_access_scope_is_refused_before_sending(in_project: tinker.ServiceClient) -> None:
    rest = in_project.create_rest_client()
    with pytest.raises(tinker.ValidationError, match="access_scope"):
        rest.list_training_runs(access_scope="everything")  # type: ignore[arg-type]


def test_copy_weights_into_the_project(
    in_project: tinker.ServiceClient,
    trained: tuple[tinker.TrainingClient, str, str],
    project: str,
) -> None:
    training, state, sampler_path = trained
    copied_sampler = in_project.copy_weights(sampler_path, ttl_seconds=7200).result()
    copied_state = in_project.create_rest_client().copy_weights(state, project).result()
    assert copied_sampler != sampler_path and copied_sampler.endswith(
        "/sampler_weights/scoped-sampler"
    )
    assert copied_state.endswith("/weights/scoped-state")
    rest = in_project.create_rest_client()
    copy_run = rest.get_training_run_by_tinker_path(copied_sampler).result()
    assert copy_run.base_model == MODEL and copy_run.training_run_id != training.model_id
    listed = rest.list_checkpoints(copy_run.training_run_id).result().checkpoints
    assert [c.tinker_path for c in listed] == [copied_sampler]
    assert listed[0].expires_at is not None  # its own ttl; the source has none
    in_project_runs = rest.list_training_runs(limit=1000, project_id=project).result()
    assert copy_run.training_run_id in [r.training_run_id for r in in_project_runs.training_runs]
    # The copy samples exactly as the source does, and stays after the source is deleted.
    doomed = training.save_weights_for_sampler("doomed-sampler").result().path
    source_tokens = (
        in_project.create_sampling_client(doomed)
        .result()
        .sample(PROMPT, 1, GREEDY)
        .result()
        .sequences[0]
        .tokens
    )
    survivor = in_project.copy_weights(doomed).result()
    rest.delete_checkpoint_from_tinker_path(doomed).result()
    copy_sampler = in_project.create_sampling_client(survivor).result()
    assert copy_sampler.sample(PROMPT, 1, GREEDY).result().sequences[0].tokens == source_tokens
    resumed = in_project.create_training_client_from_state(copied_state).result()
    datum = sft_datum()
    assert resumed.forward([datum], "cross_entropy").result().metrics["loss:sum"] == pytest.approx(
        training.forward([datum], "cross_entropy").result().metrics["loss:sum"], rel=1e-5
    )


def test_copy_weights_needs_a_project_and_refuses_an_access_token(
    service: tinker.ServiceClient,
    trained: tuple[tinker.TrainingClient, str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TINKER_PROJECT_ID", raising=False)
    rest = service.create_rest_client()
    with pytest.raises(tinker.ValidationError, match="destination_project_id"):
        rest.copy_weights(trained[2])
    with pytest.raises(tinker.BadRequestError, match="access token"):
        rest.copy_weights(trained[2], "proj", weights_access_token="tok").result()
    with pytest.raises(tinker.ValidationError, match="ttl_seconds"):
        rest.copy_weights(trained[2], "proj", ttl_seconds=5)


def test_training_client_from_state_with_the_038_arguments(
    in_project: tinker.ServiceClient, trained: tuple[tinker.TrainingClient, str, str]
) -> None:
    training, state, _sampler = trained
    resumed = in_project.create_training_client_from_state_with_optimizer(
        state,
        base_model=MODEL,
        user_metadata={"resumed_from": state},
    ).result()
    run = in_project.create_rest_client().get_training_run(resumed.model_id).result()
    assert run.user_metadata == {"resumed_from": state}
    datum = sft_datum()
    assert resumed.forward([datum], "cross_entropy").result().metrics["loss:sum"] == pytest.approx(
        training.forward([datum], "cross_entropy").result().metrics["loss:sum"], rel=1e-5
    )
    with pytest.raises(tinker.BadRequestError, match="base_model"):  # the server checks it
        in_project.create_training_client_from_state(state, base_model="local/other").result()
    fresh = in_project.create_training_client_from_state(
        state, optimizer=types.AdamOptimizerConfig()
    ).result()
    assert fresh.forward([datum], "cross_entropy").result().metrics["loss:sum"] > 0
    with pytest.raises(tinker.BadRequestError, match="weights_access_token"):
        in_project.create_training_client_from_state(state, weights_access_token="tok").result()


def test_an_optimizer_family_the_server_lacks_is_refused_by_name(
    in_project: tinker.ServiceClient,
) -> None:
    with pytest.raises(tinker.BadRequestError, match="dimuon"):
        in_project.create_lora_training_client(
            MODEL, rank=4, optimizer=types.DimuonOptimizerConfig()
        ).result()
    with pytest.raises(tinker.ValidationError, match="optimizer"):
        in_project.create_lora_training_client(MODEL, rank=4, optimizer="adam")  # type: ignore[arg-type]


def test_the_async_twins(
    in_project: tinker.ServiceClient, project: str, trained: tuple[tinker.TrainingClient, str, str]
) -> None:
    async def main() -> None:
        rest = in_project.create_rest_client()
        runs = await rest.list_training_runs_async(limit=1000, project_id=project)
        assert trained[0].model_id in [r.training_run_id for r in runs.training_runs]
        copied = await rest.copy_weights_async(trained[2], project)
        assert copied.endswith("/sampler_weights/scoped-sampler")
        client = await in_project.create_training_client_from_state_async(
            trained[1], base_model=MODEL
        )
        assert client.model_id

    asyncio.run(main())


def test_from_state_takes_either_eras_positional_arguments(
    in_project: tinker.ServiceClient, trained: tuple[tinker.TrainingClient, str, str]
) -> None:
    state = trained[1]
    rest = in_project.create_rest_client()
    old_style = in_project.create_training_client_from_state(state, {"era": "0.7.0"}).result()
    assert rest.get_training_run(old_style.model_id).result().user_metadata == {"era": "0.7.0"}
    new_style = in_project.create_training_client_from_state(state, MODEL, {"era": "0.38"}).result()
    assert rest.get_training_run(new_style.model_id).result().user_metadata == {"era": "0.38"}


def test_a_sampling_clients_tokenizer_loads_offline(
    service: tinker.ServiceClient, trained: tuple[tinker.TrainingClient, str, str]
) -> None:
    by_name = service.create_sampling_client(base_model=MODEL).result()
    by_path = service.create_sampling_client(trained[2]).result()
    text = "tokens, offline"
    for sampler in (by_name, by_path):
        tokenizer = sampler.get_tokenizer()  # the preset's own tokenizer, not the model's name
        ids = tokenizer.encode(text, add_special_tokens=False)
        assert tokenizer.decode(ids) == text
    assert by_path.get_tokenizer().encode(text) == trained[0].get_tokenizer().encode(text)


def test_from_state_on_a_07_era_server_checks_the_base_model_itself(
    url: str, trained: tuple[tinker.TrainingClient, str, str]
) -> None:
    state = trained[1]
    with (
        recording_proxy(url, as_07=True) as (proxy, seen),
        tinker.ServiceClient(api_key=OWNER, base_url=proxy) as old_server,
    ):
        with pytest.raises(tinker.ValidationError, match="base_model"):
            old_server.create_training_client_from_state(state, base_model="local/other").result()
        resumed = old_server.create_training_client_from_state(
            state, MODEL, {"via": "create_model"}
        ).result()
        assert resumed.forward([sft_datum()], "cross_entropy").result().metrics["loss:sum"] > 0
    assert any(exchange.path == "/api/v1/create_model" for exchange in seen)


def test_custom_is_refused_before_sending_when_the_server_offers_no_custom_losses(
    in_project: tinker.ServiceClient, trained: tuple[tinker.TrainingClient, str, str]
) -> None:
    training = trained[0]
    assert not in_project.holder.features.custom_losses  # the local backend says so
    turn = training._sequencer.turn
    with pytest.raises(tinker.ValidationError, match="forward_backward_custom"):
        training.forward_backward([sft_datum()], "custom")
    assert training._sequencer.turn == turn  # nothing was sent, no sequence id was taken
    assert training.forward([sft_datum()], "cross_entropy").result().metrics["loss:sum"] > 0


def test_a_server_that_offers_custom_losses_gets_them() -> None:
    from tinker_api_client.models import ClientConfigResponse

    from tinker_hl._server_features import ServerFeatures

    offered = ClientConfigResponse.from_dict({"custom_loss_server_side": True})
    assert ServerFeatures.from_config(offered).custom_losses
    assert not ServerFeatures.from_config(ClientConfigResponse.from_dict({})).custom_losses


def test_sampled_sequences_carry_their_sequence_ids(service: tinker.ServiceClient) -> None:
    sampler = service.create_sampling_client(base_model=MODEL).result()
    sampled = types.SamplingParams(max_tokens=3, temperature=1.0, seed=1)
    first = sampler.sample(PROMPT, 3, sampled).result().sequences
    second = sampler.sample(PROMPT, 2, sampled).result().sequences
    ids = [sequence.sequence_id for sequence in first + second]
    assert all(isinstance(i, str) and i for i in ids)
    assert len(set(ids)) == 5  # distinct per sequence, across requests
