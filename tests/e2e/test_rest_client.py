"""RestClient end to end against a real local backend: every method, sync and async, the error
paths (unknown ids, malformed paths, other users' checkpoints, publish state), the pagination
helpers, archive downloads, and the examples of the README's RestClient/CLI section."""

from __future__ import annotations

import asyncio
import datetime
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tinker_hl as tinker
from tinker_hl._rest_client import RestClient

OWNER_KEY = "tml-rest-owner-key"
OTHER_KEY = "tml-rest-other-key"
MODEL = "local/tiny-llama"
README = Path(__file__).resolve().parents[2] / "README.md"
# The README's "RestClient and CLI" section: its examples are run here.
DOCS_TEXT = (
    README.read_text().split("<!-- rest-and-cli:begin -->")[1].split("<!-- rest-and-cli:end -->")[0]
)
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens there: a request would fail to connect


@dataclass
class World:
    """What the module's tests share: a backend, two users, runs and checkpoints."""

    url: str
    owner: tinker.ServiceClient
    other: tinker.ServiceClient
    rest: RestClient  # the owner's, from owner.create_rest_client()
    other_rest: RestClient
    trainers: list[tinker.TrainingClient]  # the owner's runs, oldest first
    run_ids: list[str]
    training_path: str  # tinker://<run_ids[0]>/weights/first
    sampler_path: str  # tinker://<run_ids[0]>/sampler_weights/for-sampling
    sampler_id: str
    foreign_path: str  # the other user's private checkpoint


@pytest.fixture(scope="module")
def backend_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tinker_local.launcher import serve_local

    with serve_local(
        tmp_path_factory.mktemp("rest-backend"), api_keys=[OWNER_KEY, OTHER_KEY]
    ) as server:
        yield server.url


@pytest.fixture(scope="module")
def world(backend_url: str) -> Iterator[World]:
    owner = tinker.ServiceClient(api_key=OWNER_KEY, base_url=backend_url)
    other = tinker.ServiceClient(api_key=OTHER_KEY, base_url=backend_url)
    runs = [owner.create_lora_training_client(MODEL, rank=4) for _ in range(3)]
    first = runs[0]
    training_path = first.save_state("first").result().path
    first.save_state("second").result()
    sampler_path = first.save_weights_for_sampler("for-sampling").result().path
    sampler = owner.create_sampling_client(model_path=sampler_path)
    foreign = other.create_lora_training_client(MODEL, rank=4).save_state("private").result()
    yield World(
        url=backend_url,
        owner=owner,
        other=other,
        rest=owner.create_rest_client(),
        other_rest=other.create_rest_client(),
        trainers=runs,
        run_ids=[r.model_id for r in runs],
        training_path=training_path,
        sampler_path=sampler_path,
        sampler_id=sampler.sampling_session_id,
        foreign_path=foreign.path,
    )
    owner.close()
    other.close()


# ----- training runs --------------------------------------------------------------------------
def test_get_training_run(world: World) -> None:
    run_id = world.run_ids[0]
    run = world.rest.get_training_run(run_id).result()
    assert run.training_run_id == run_id
    assert (run.base_model, run.is_lora, run.lora_rank) == (MODEL, True, 4)
    assert run.last_sampler_checkpoint.tinker_path == world.sampler_path
    assert asyncio.run(world.rest.get_training_run_async(run_id)) == run

    by_path = world.rest.get_training_run_by_tinker_path(world.training_path).result()
    assert by_path.training_run_id == run_id
    by_path = asyncio.run(world.rest.get_training_run_by_tinker_path_async(world.sampler_path))
    assert by_path.training_run_id == run_id


def test_list_training_runs_pages(world: World) -> None:
    page = world.rest.list_training_runs(limit=2).result()
    assert page.cursor.total_count == 3
    assert [r.training_run_id for r in page.training_runs] == world.run_ids[::-1][:2]  # newest
    rest = asyncio.run(world.rest.list_training_runs_async(limit=2, offset=2))
    assert [r.training_run_id for r in rest.training_runs] == [world.run_ids[0]]
    # Defaults: limit=20, offset=0.
    assert len(world.rest.list_training_runs().result().training_runs) == 3


def test_iter_training_runs_walks_every_page(world: World) -> None:
    runs = list(world.rest.iter_training_runs(page_size=1))
    assert [r.training_run_id for r in runs] == world.run_ids[::-1]
    assert len(list(world.rest.iter_training_runs())) == 3


# ----- checkpoints ----------------------------------------------------------------------------
def test_list_checkpoints(world: World) -> None:
    listed = world.rest.list_checkpoints(world.run_ids[0]).result()
    ids = {c.checkpoint_id: c.checkpoint_type for c in listed.checkpoints}
    assert ids == {
        "weights/first": "training",
        "weights/second": "training",
        "sampler_weights/for-sampling": "sampler",
    }
    assert asyncio.run(world.rest.list_checkpoints_async(world.run_ids[0])) == listed
    assert world.rest.list_checkpoints(world.run_ids[1]).result().checkpoints == []


def test_list_user_checkpoints_and_iterate(world: World) -> None:
    page = world.rest.list_user_checkpoints().result()  # limit=100 by default
    paths = [c.tinker_path for c in page.checkpoints]
    assert len(paths) == 3 and page.cursor.total_count == 3
    assert world.foreign_path not in paths  # only the caller's own
    second = asyncio.run(world.rest.list_user_checkpoints_async(limit=1, offset=1))
    assert [c.tinker_path for c in second.checkpoints] == paths[1:2]
    assert [c.tinker_path for c in world.rest.iter_user_checkpoints(page_size=2)] == paths


def test_weights_info(world: World) -> None:
    info = world.rest.get_weights_info_by_tinker_path(world.training_path).result()
    assert (info.base_model, info.is_lora, info.lora_rank) == (MODEL, True, 4)
    # get_weights_info_by_tinker_path returns an APIFuture: it can be awaited directly.

    async def both() -> tuple[object, object]:
        return (
            await world.rest.get_weights_info_by_tinker_path(world.sampler_path),
            await world.rest.get_weights_info_by_tinker_path_async(world.sampler_path),
        )

    awaited, twin = asyncio.run(both())
    assert awaited == twin


def test_archive_url(world: World) -> None:
    run_id = world.run_ids[0]
    url = world.rest.get_checkpoint_archive_url(run_id, "weights/first").result()
    assert url.url.startswith(world.url + "/")
    # A datetime, as the official CheckpointArchiveUrlResponse gives it (RFC 3339, UTC on the wire)
    assert url.expires.utcoffset() == datetime.timedelta(0)
    from_path = world.rest.get_checkpoint_archive_url_from_tinker_path(world.sampler_path)
    assert from_path.result().url.startswith(world.url)
    url = asyncio.run(world.rest.get_checkpoint_archive_url_async(run_id, "weights/second"))
    assert url.url
    url = asyncio.run(
        world.rest.get_checkpoint_archive_url_from_tinker_path_async(world.training_path)
    )
    assert url.url


def test_download_archive(world: World, tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    path = world.rest.download_checkpoint_archive(
        world.training_path, tmp_path, progress=lambda done, total: seen.append((done, total))
    )
    assert path == tmp_path / f"{world.run_ids[0]}_weights_first.tar"
    assert seen[0][0] == 0 and seen[-1][0] == path.stat().st_size > 0
    with tarfile.open(path) as tar:
        assert any(m.isfile() for m in tar.getmembers())
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind

    # An existing file is only replaced on request; a file path works as dest too.
    with pytest.raises(tinker.ValidationError, match="dest"):
        world.rest.download_checkpoint_archive(world.training_path, tmp_path)
    again = world.rest.download_checkpoint_archive(world.training_path, path, overwrite=True)
    assert again == path
    named = asyncio.run(
        world.rest.download_checkpoint_archive_async(world.sampler_path, tmp_path / "s.tar")
    )
    assert tarfile.is_tarfile(named)


def test_download_errors_leave_nothing_behind(world: World, tmp_path: Path) -> None:
    with pytest.raises(tinker.NotFoundError):
        world.other_rest.download_checkpoint_archive(world.training_path, tmp_path)
    with pytest.raises(tinker.ValidationError, match="dest"):
        world.rest.download_checkpoint_archive(world.training_path, tmp_path / "no" / "x.tar")
    assert list(tmp_path.iterdir()) == []


def test_publish_lets_other_users_read(world: World) -> None:
    path = world.training_path
    with pytest.raises(tinker.NotFoundError):
        world.other_rest.get_weights_info_by_tinker_path(path).result()
    world.rest.publish_checkpoint_from_tinker_path(path).result()
    try:
        info = world.other_rest.get_weights_info_by_tinker_path(path).result()
        assert info.base_model == MODEL
        assert world.other_rest.get_checkpoint_archive_url_from_tinker_path(path).result().url
        listed = world.rest.list_checkpoints(world.run_ids[0]).result().checkpoints
        assert {c.tinker_path: c.public for c in listed}[path] is True
        with pytest.raises(tinker.ConflictError):  # already public
            world.rest.publish_checkpoint_from_tinker_path(path).result()
        with pytest.raises(tinker.NotFoundError):  # only the owner may unpublish
            world.other_rest.unpublish_checkpoint_from_tinker_path(path).result()
    finally:
        world.rest.unpublish_checkpoint_from_tinker_path(path).result()
    with pytest.raises(tinker.NotFoundError):
        world.other_rest.get_weights_info_by_tinker_path(path).result()


def test_publish_unpublish_async(world: World) -> None:
    async def roundtrip() -> bool:
        await world.rest.publish_checkpoint_from_tinker_path_async(world.sampler_path)
        listed = await world.rest.list_checkpoints_async(world.run_ids[0])
        public = {c.tinker_path: c.public for c in listed.checkpoints}[world.sampler_path]
        await world.rest.unpublish_checkpoint_from_tinker_path_async(world.sampler_path)
        return bool(public)

    assert asyncio.run(roundtrip()) is True


def test_unpublishing_a_private_checkpoint_is_a_conflict(world: World) -> None:
    with pytest.raises(tinker.ConflictError, match="not public"):
        world.rest.unpublish_checkpoint_from_tinker_path(world.training_path).result()


def test_delete_checkpoint(world: World) -> None:
    training = world.trainers[2]
    doomed = [training.save_state(f"doomed-{i}").result().path for i in range(3)]
    run_id = training.model_id
    assert len(world.rest.list_checkpoints(run_id).result().checkpoints) == 3

    world.rest.delete_checkpoint_from_tinker_path(doomed[0]).result()
    world.rest.delete_checkpoint(run_id, "weights/doomed-1").result()
    asyncio.run(world.rest.delete_checkpoint_from_tinker_path_async(doomed[2]))
    assert world.rest.list_checkpoints(run_id).result().checkpoints == []
    with pytest.raises(tinker.NotFoundError):
        asyncio.run(world.rest.delete_checkpoint_async(run_id, "weights/doomed-1"))
    with pytest.raises(tinker.NotFoundError):
        world.rest.get_weights_info_by_tinker_path(doomed[0]).result()


# ----- sessions and samplers ------------------------------------------------------------------
def test_sessions(world: World) -> None:
    session = world.rest.get_session(world.owner.session_id).result()
    assert session.training_run_ids[:3] == world.run_ids
    assert world.sampler_id in session.sampler_ids
    assert asyncio.run(world.rest.get_session_async(world.owner.session_id)) == session

    ids = world.rest.list_sessions().result().sessions
    assert world.owner.session_id in ids and world.other.session_id not in ids
    assert asyncio.run(world.rest.list_sessions_async(limit=1)).sessions == ids[:1]


def test_iter_sessions_walks_every_page(world: World) -> None:
    extra = [tinker.ServiceClient(api_key=OWNER_KEY, base_url=world.url) for _ in range(2)]
    try:
        every = list(world.rest.iter_sessions(page_size=1))
        assert {world.owner.session_id, *(c.session_id for c in extra)} <= set(every)
        assert every == world.rest.list_sessions(limit=1000).result().sessions
    finally:
        for client in extra:
            client.close()


def test_get_sampler(world: World) -> None:
    sampler = world.rest.get_sampler(world.sampler_id).result()
    assert (sampler.sampler_id, sampler.base_model) == (world.sampler_id, MODEL)
    assert sampler.model_path == world.sampler_path
    assert asyncio.run(world.rest.get_sampler_async(world.sampler_id)) == sampler
    with pytest.raises(tinker.NotFoundError):  # another user's sampler
        world.other_rest.get_sampler(world.sampler_id).result()


def test_capabilities_and_telemetry(world: World) -> None:
    names = [m.model_name for m in world.rest.get_server_capabilities().result().supported_models]
    assert MODEL in names
    caps = asyncio.run(world.rest.get_server_capabilities_async())
    assert [m.model_name for m in caps.supported_models] == names
    assert world.rest.get_telemetry() is world.owner.get_telemetry()


# ----- errors ---------------------------------------------------------------------------------
def test_unknown_ids_are_not_found(world: World) -> None:
    rest = world.rest
    for future in (
        lambda: rest.get_training_run("no-such-run").result(),
        lambda: rest.list_checkpoints("no-such-run").result(),
        lambda: rest.get_session("no-such-session").result(),
        lambda: rest.get_sampler("no-such-sampler").result(),
        lambda: rest.get_weights_info_by_tinker_path("tinker://no-such-run/weights/x").result(),
        lambda: rest.delete_checkpoint(world.run_ids[0], "weights/no-such").result(),
        lambda: rest.get_checkpoint_archive_url(world.run_ids[0], "weights/nope").result(),
    ):
        with pytest.raises(tinker.NotFoundError):
            future()
    with pytest.raises(tinker.NotFoundError):
        asyncio.run(rest.get_training_run_async("no-such-run"))


def test_other_users_private_checkpoints_are_not_found(world: World) -> None:
    path = world.foreign_path
    rest = world.rest
    for call in (
        rest.get_weights_info_by_tinker_path,
        rest.get_checkpoint_archive_url_from_tinker_path,
        rest.get_training_run_by_tinker_path,
        rest.publish_checkpoint_from_tinker_path,
        rest.delete_checkpoint_from_tinker_path,
    ):
        with pytest.raises(tinker.NotFoundError):
            call(path).result()
    # ... and the owner still has it.
    assert world.other_rest.get_weights_info_by_tinker_path(path).result().lora_rank == 4


@pytest.mark.parametrize(
    "path",
    [
        "no-scheme/weights/x",
        "tinker://run/weights",
        "tinker://run/weights/x/y",
        "tinker://run/optimizer/x",
        "tinker:///weights/x",
        "tinker://run/weights/",
        42,
    ],
)
def test_malformed_tinker_paths_fail_before_any_request(path: str) -> None:
    # The base URL is unreachable: a request would raise APIConnectionError, not this.
    with RestClient.from_env(api_key="tml-unused", base_url=UNREACHABLE) as rest:
        for call in (
            rest.get_training_run_by_tinker_path,
            rest.get_weights_info_by_tinker_path,
            rest.get_checkpoint_archive_url_from_tinker_path,
            rest.delete_checkpoint_from_tinker_path,
            rest.publish_checkpoint_from_tinker_path,
            rest.unpublish_checkpoint_from_tinker_path,
        ):
            with pytest.raises(tinker.ValidationError, match="tinker_path"):
                call(path)
        with pytest.raises(tinker.ValidationError, match="tinker_path"):
            asyncio.run(rest.unpublish_checkpoint_from_tinker_path_async(path))


def test_arguments_are_validated_before_sending() -> None:
    with RestClient.from_env(api_key="tml-unused", base_url=UNREACHABLE) as rest:
        cases = [
            ("limit", lambda: rest.list_training_runs(limit=0)),
            ("limit", lambda: rest.list_user_checkpoints(limit=1001)),
            ("limit", lambda: rest.list_sessions(limit=True)),  # type: ignore[arg-type]
            ("offset", lambda: rest.list_sessions(offset=-1)),
            ("training_run_id", lambda: rest.get_training_run("")),
            ("training_run_id", lambda: rest.list_checkpoints(None)),  # type: ignore[arg-type]
            ("checkpoint_id", lambda: rest.delete_checkpoint("run", "weights")),
            ("checkpoint_id", lambda: rest.get_checkpoint_archive_url("run", "ckpt/x")),
            ("session_id", lambda: rest.get_session(" ")),
            ("sampler_id", lambda: rest.get_sampler(7)),  # type: ignore[arg-type]
            ("page_size", lambda: next(rest.iter_training_runs(page_size=0))),
        ]
        for field, call in cases:
            with pytest.raises(tinker.ValidationError) as info:
                call()
            assert info.value.field == field
        with pytest.raises(tinker.ValidationError, match="limit"):
            asyncio.run(rest.list_training_runs_async(limit=5000))
    # A valid call does reach the (unreachable) network.
    no_retries = tinker.RetryConfig(enable_retry_logic=False)
    with (
        RestClient.from_env("tml-unused", UNREACHABLE, retry_config=no_retries) as rest,
        pytest.raises(tinker.APIConnectionError),
    ):
        rest.list_sessions().result()


# ----- standalone construction ----------------------------------------------------------------
def test_from_env_opens_no_session(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINKER_API_KEY", OWNER_KEY)
    monkeypatch.setenv("TINKER_BASE_URL", world.url)
    before = world.rest.list_sessions(limit=1000).result().sessions
    with RestClient.from_env() as rest:
        assert OWNER_KEY not in repr(rest)
        assert [r.training_run_id for r in rest.iter_training_runs()] == world.run_ids[::-1]
        assert rest.get_telemetry() is None
    assert world.rest.list_sessions(limit=1000).result().sessions == before
    with pytest.raises(RuntimeError, match="closed"):
        rest.list_sessions()
    # Closing a borrowed client leaves its ServiceClient usable.
    borrowed = world.owner.create_rest_client()
    borrowed.close()
    assert borrowed.get_training_run(world.run_ids[0]).result()


def test_wrong_key_is_an_authentication_error(world: World) -> None:
    with (
        RestClient.from_env(api_key="tml-wrong", base_url=world.url) as rest,
        pytest.raises(tinker.AuthenticationError),
    ):
        rest.list_training_runs().result()


# ----- the documentation's examples -----------------------------------------------------------
def test_docs_python_examples_run(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ```python block of the README's RestClient section runs against the backend."""
    monkeypatch.setenv("TINKER_API_KEY", OWNER_KEY)
    monkeypatch.setenv("TINKER_BASE_URL", world.url)
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOCS_TEXT, flags=re.S)
    assert len(blocks) >= 3
    namespace: dict[str, object] = {}
    for block in blocks:  # in order, sharing names, like a notebook
        exec(compile(block, str(README), "exec"), namespace)
