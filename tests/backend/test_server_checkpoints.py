"""Checkpoints over raw HTTP: save, list, publish/unpublish, delete, archive download,
load_weights, weights_info, training runs, and durability across a restart."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinker_local.launcher import serve_local

TOKENS = list(b"checkpoint me")


def _save(api: Any, model_id: str, name: str | None, kind: str = "weights") -> dict[str, Any]:
    path = "/api/v1/save_weights" if kind == "weights" else "/api/v1/save_weights_for_sampler"
    body: dict[str, Any] = {"model_id": model_id}
    if name is not None:
        body["path"] = name
    return api.result(api.submit(path, body))


def _ckpt_url(model_id: str, kind: str, name: str, suffix: str = "") -> str:
    return f"/api/v1/training_runs/{model_id}/checkpoints/{kind}/{name}{suffix}"


def test_save_and_list(api: Any, other: Any) -> None:
    model_id = api.model()
    saved = _save(api, model_id, "first")
    assert saved == {"path": f"tinker://{model_id}/weights/first", "type": "save_weights"}
    sampler = _save(api, model_id, "s1", kind="sampler")
    assert sampler["path"] == f"tinker://{model_id}/sampler_weights/s1"
    generated = _save(api, model_id, None)
    assert generated["path"].startswith(f"tinker://{model_id}/weights/")

    listed = api.get(f"/api/v1/training_runs/{model_id}/checkpoints").json()["checkpoints"]
    assert [c["checkpoint_id"] for c in listed] == [
        "weights/first",
        "sampler_weights/s1",
        generated["path"].split("/", 3)[3],
    ]
    first = listed[0]
    assert first["checkpoint_type"] == "training" and first["public"] is False
    assert first["size_bytes"] > 0 and first["time"].endswith("Z")
    assert listed[1]["checkpoint_type"] == "sampler"
    assert other.get(f"/api/v1/training_runs/{model_id}/checkpoints").status_code == 404

    run = api.get(f"/api/v1/training_runs/{model_id}").json()
    assert run["last_checkpoint"]["tinker_path"] == generated["path"]
    assert run["last_sampler_checkpoint"]["checkpoint_id"] == "sampler_weights/s1"
    assert run["corrupted"] is False and run["model_owner"]
    assert other.get(f"/api/v1/training_runs/{model_id}").status_code == 404


def test_bad_names_are_rejected_at_submission_and_duplicates_are_user_errors(
    api: Any, model_id: str
) -> None:
    for path in ["/api/v1/save_weights", "/api/v1/save_weights_for_sampler"]:
        for name in ["../escape", "a/b", "..", ".hidden", " "]:
            answer = api.post(path, {"model_id": model_id, "path": name})
            assert answer.status_code == 400, (path, name)
            assert answer.json()["field"] == "path"
    assert "error" not in _save(api, model_id, "dup")
    failed = _save(api, model_id, "dup")
    assert failed["category"] == "user" and "already" in failed["error"]


def test_user_checkpoints_and_runs_are_paginated_newest_first(api: Any, other: Any) -> None:
    model_id = api.model()
    for name in ["p1", "p2", "p3"]:
        _save(api, model_id, name)
    page = api.get("/api/v1/checkpoints", params={"limit": 2}).json()
    assert [c["checkpoint_id"] for c in page["checkpoints"]] == ["weights/p3", "weights/p2"]
    assert page["cursor"]["limit"] == 2 and page["cursor"]["total_count"] >= 3
    nxt = api.get("/api/v1/checkpoints", params={"limit": 2, "offset": 1}).json()
    assert nxt["checkpoints"][0]["checkpoint_id"] == "weights/p2"
    assert all(
        c["tinker_path"].split("/")[2] != model_id
        for c in other.get("/api/v1/checkpoints").json()["checkpoints"]
    )

    runs = api.get("/api/v1/training_runs", params={"limit": 1}).json()
    assert runs["training_runs"][0]["training_run_id"] == model_id
    assert runs["cursor"] == {"offset": 0, "limit": 1, "total_count": runs["cursor"]["total_count"]}
    assert model_id not in [
        r["training_run_id"] for r in other.get("/api/v1/training_runs").json()["training_runs"]
    ]
    assert api.get("/api/v1/training_runs", params={"limit": 1001}).json()["field"] == "limit"
    assert api.get("/api/v1/checkpoints", params={"limit": 0}).json()["field"] == "limit"
    far = api.get("/api/v1/checkpoints", params={"offset": 10**30}).json()
    assert far["checkpoints"] == []


def test_publish_unpublish(api: Any, other: Any, model_id: str) -> None:
    _save(api, model_id, "pub")
    url = _ckpt_url(model_id, "weights", "pub", "/publish")
    assert api.delete(url).status_code == 409  # not public yet
    assert other.post(url).status_code == 404
    assert api.post(url).status_code == 204
    assert api.post(url).status_code == 409  # already public
    assert other.delete(url).status_code == 404  # only the owner can unpublish
    listed = api.get(f"/api/v1/training_runs/{model_id}/checkpoints").json()["checkpoints"]
    assert next(c for c in listed if c["checkpoint_id"] == "weights/pub")["public"] is True
    assert api.delete(url).status_code == 204
    assert api.post(_ckpt_url(model_id, "weights", "nope", "/publish")).status_code == 404
    not_allowed = api.http.put(url)
    assert not_allowed.status_code == 405
    assert set(not_allowed.headers["allow"].split(", ")) >= {"POST", "DELETE"}
    bad_kind = api.post(_ckpt_url(model_id, "models", "pub", "/publish"))
    assert bad_kind.status_code == 422 and bad_kind.json()["field"] == "checkpoint_kind"


def test_delete(api: Any, other: Any, server: Any, model_id: str) -> None:
    _save(api, model_id, "gone")
    folder = Path(server.data_dir) / "checkpoints" / model_id / "weights" / "gone"
    assert folder.is_dir()
    assert other.delete(_ckpt_url(model_id, "weights", "gone")).status_code == 404
    assert api.delete(_ckpt_url(model_id, "weights", "gone")).status_code == 204
    assert not folder.exists()
    assert api.delete(_ckpt_url(model_id, "weights", "gone")).status_code == 404
    assert api.delete(_ckpt_url(model_id, "bogus", "gone")).status_code == 422
    listed = api.get(f"/api/v1/training_runs/{model_id}/checkpoints").json()["checkpoints"]
    assert "weights/gone" not in [c["checkpoint_id"] for c in listed]


def test_archive_download(api: Any, other: Any, model_id: str) -> None:
    _save(api, model_id, "arch")
    url = _ckpt_url(model_id, "weights", "arch", "/archive")
    redirect = api.get(url)
    assert redirect.status_code == 302
    location = redirect.headers["location"]
    assert location.startswith(api.url + "/api/v1/archives/")
    assert redirect.headers["expires"].endswith("GMT")
    download = httpx.get(location)  # no API key: the signed URL authorises
    assert download.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(download.content)) as tar:
        names = tar.getnames()
    assert "arch" in names and any(
        n.startswith("arch/") and n.endswith(".safetensors") for n in names
    )

    assert httpx.get(location[:-3] + "xyz").status_code == 404  # tampered signature
    assert other.get(url).status_code == 404  # private
    api.post(_ckpt_url(model_id, "weights", "arch", "/publish"))
    assert other.get(url).status_code == 302  # published: anyone may download
    api.delete(_ckpt_url(model_id, "weights", "arch"))
    assert httpx.get(location).status_code == 404  # deleted since


def test_load_weights_and_weights_info(api: Any, other: Any) -> None:
    model_id = api.model()
    data = [api.datum(TOKENS)]
    before = api.done("/api/v1/forward", api.fb_body(model_id, 1, data, "forward_input"))
    path = api.result(
        api.submit("/api/v1/save_weights", {"model_id": model_id, "seq_id": 2, "path": "base"})
    )["path"]
    api.done("/api/v1/forward_backward", api.fb_body(model_id, 3, data))
    api.done(
        "/api/v1/optim_step",
        {"model_id": model_id, "seq_id": 4, "adam_params": {"learning_rate": 0.01}},
    )
    trained = api.done("/api/v1/forward", api.fb_body(model_id, 5, data, "forward_input"))
    assert trained["metrics"]["loss:sum"] != before["metrics"]["loss:sum"]
    loaded = api.done(
        "/api/v1/load_weights", {"model_id": model_id, "seq_id": 6, "path": path, "optimizer": True}
    )
    assert loaded == {"path": path, "type": "load_weights"}
    after = api.done("/api/v1/forward", api.fb_body(model_id, 7, data, "forward_input"))
    assert after["metrics"]["loss:sum"] == pytest.approx(before["metrics"]["loss:sum"], rel=1e-5)

    info = api.ok("/api/v1/weights_info", {"tinker_path": path})
    assert info == {"base_model": "local/tiny-llama", "is_lora": True, "lora_rank": 4}
    assert other.post("/api/v1/weights_info", {"tinker_path": path}).status_code == 404
    bad = api.post("/api/v1/weights_info", {"tinker_path": "s3://bucket/x"})
    assert bad.status_code == 400 and bad.json()["field"] == "tinker_path"

    # Another user can use a checkpoint once it is published.
    theirs = other.model()
    body = {"model_id": theirs, "path": path, "optimizer": False}
    assert other.post("/api/v1/load_weights", body).status_code == 404
    name = path.rsplit("/", 1)[1]
    assert api.post(_ckpt_url(model_id, "weights", name, "/publish")).status_code == 204
    assert other.ok("/api/v1/weights_info", {"tinker_path": path})["lora_rank"] == 4
    assert "error" not in other.result(other.submit("/api/v1/load_weights", body))

    bad = api.post(
        "/api/v1/load_weights", {"model_id": model_id, "path": "tinker://x", "optimizer": True}
    )
    assert bad.status_code == 400 and bad.json()["field"] == "path"
    missing = api.post("/api/v1/load_weights", {"model_id": model_id, "path": path})
    assert missing.status_code == 400 and missing.json()["field"] == "optimizer"


def test_save_for_sampler_without_path_creates_a_sampling_session(api: Any, model_id: str) -> None:
    body = {"model_id": model_id, "sampling_session_seq_id": 0}
    result = api.result(api.submit("/api/v1/save_weights_for_sampler", body))
    sampler_id = result["sampling_session_id"]
    assert result["type"] == "save_weights_for_sampler" and "path" not in result
    sampler = api.get(f"/api/v1/samplers/{sampler_id}").json()
    assert sampler["base_model"] == "local/tiny-llama" and sampler.get("model_path") is None


def test_corrupted_flag(api: Any, server: Any) -> None:
    model_id = api.model()
    server.store.mark_run_corrupted(model_id)
    assert api.get(f"/api/v1/training_runs/{model_id}").json()["corrupted"] is True


def test_restart_keeps_checkpoints_and_drops_torn_ones(tmp_path: Path, api_class: Any) -> None:
    keys = ["tml-restart-a"]
    with serve_local(tmp_path, api_keys=keys, long_poll_s=0.3) as first:
        api = api_class(first.url, keys[0])
        model_id = api.model()
        path = _save(api, model_id, "kept")["path"]
        sampler_path = _save(api, model_id, "kept-s", kind="sampler")["path"]
        api.close()
    # Simulate crashes: a folder renamed into place whose row was never committed, and a
    # half-written temp folder.
    run_dir = tmp_path / "checkpoints" / model_id
    (run_dir / "weights" / "torn").mkdir()
    (run_dir / "weights" / "torn" / "state.safetensors").write_bytes(b"partial")
    (run_dir / "weights" / ".tmp-abc").mkdir()

    with serve_local(tmp_path, api_keys=keys, long_poll_s=0.3) as second:
        api = api_class(second.url, keys[0])
        listed = api.get(f"/api/v1/training_runs/{model_id}/checkpoints").json()["checkpoints"]
        assert [c["tinker_path"] for c in listed] == [path, sampler_path]
        assert not (run_dir / "weights" / "torn").exists()
        assert not (run_dir / "weights" / ".tmp-abc").exists()
        # The checkpoint is still usable: resume from it in a new model.
        fresh = api.model()
        body = {"model_id": fresh, "path": path, "optimizer": True}
        assert "error" not in api.result(api.submit("/api/v1/load_weights", body))
        # The old model is not loaded any more, but its run is still listed.
        old = api.post("/api/v1/forward_backward", api.fb_body(model_id, None, [api.datum(TOKENS)]))
        assert old.status_code == 404 and "not loaded" in old.json()["error"]
        assert api.get(f"/api/v1/training_runs/{model_id}").status_code == 200
        api.close()
