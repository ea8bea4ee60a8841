"""The protocol steps of SDK 0.18+ over raw HTTP: client/config flags, protobuf (and zstd)
forward_backward bodies and protobuf results, unreadable bodies, sequence ids, retrieve_futures,
cancel_future, session finish, and load_weights creating a model."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import numpy as np
import pytest
import zstandard
from tinker_proto import tinker_public_pb2 as pb

from tinker_local.server.api_protocol import client_flags

PROTO = {"Content-Type": "application/x-protobuf"}
TEXT = list(b"protobuf on the wire")


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    # A skipped seq id that was not consumed would hold later requests this long: far past
    # any wait below, so a stall shows as a failure, not as a slow pass.
    return {"long_poll_s": 0.3, "seq_gap_timeout_s": 600.0}


def proto_request(
    model_id: str, seq_id: int, tokens: list[int], *, forward_only: bool = False, **config: Any
) -> pb.ForwardBackwardRequest:
    msg = pb.ForwardBackwardRequest(
        model_id=model_id, seq_id=seq_id, loss_fn="cross_entropy", forward_only=forward_only
    )
    datum = msg.data.add()
    datum.model_input.add().encoded_text.tokens = np.asarray(tokens[:-1], np.int32).tobytes()
    target = datum.loss_fn_inputs["target_tokens"]
    target.dtype, target.dense = pb.DTYPE_INT64, np.asarray(tokens[1:], np.int64).tobytes()
    target.shape.append(len(tokens) - 1)
    weights = datum.loss_fn_inputs["weights"]
    weights.dtype = pb.DTYPE_FLOAT32
    weights.dense = np.ones(len(tokens) - 1, np.float32).tobytes()
    for key, value in config.items():
        msg.loss_fn_config_v2[key].number = value
    return msg


def proto_result(api: Any, future: dict[str, Any], message: Any) -> Any:
    """Poll with the SDK 0.25+ Accept header until a protobuf result arrives."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        response = api.post(
            "/api/v1/retrieve_future",
            {"request_id": future["request_id"], "allow_metadata_only": True},
            headers={"Accept": "application/x-protobuf"},
        )
        assert response.status_code == 200, response.text
        if response.headers["content-type"].startswith("application/x-protobuf"):
            out = message()
            out.ParseFromString(response.content)
            return out
        body = response.json()
        assert body.get("type") == "try_again", body
    raise TimeoutError(future)


def test_client_config_answers_what_the_backend_honours(api: Any, server: Any) -> None:
    flags = api.ok("/api/v1/client/config", {"sdk_version": "0.38.0"})
    assert flags == client_flags(server.backend)
    assert flags["custom_loss_server_side"] is False and flags["pjwt_auth_enabled"] is False
    assert flags["proto_compress_fwdbwd"] and flags["create_model_via_load_weights"]
    dynamic = api.ok("/api/v1/client/dynamic_config", {"sdk_version": "0.38.0"})
    assert dynamic["sample_cancel_enabled"] is True
    assert api.post("/api/v1/client/config", {}).status_code == 400  # sdk_version required
    assert api.post("/api/v1/auth/token", {}).status_code == 404  # JWT mode is off


def test_protobuf_forward_matches_json_and_answers_protobuf(api: Any, model_id: str) -> None:
    seq = 1
    json_future = api.submit(
        "/api/v1/forward", api.fb_body(model_id, seq, [api.datum(TEXT)], "forward_input")
    )
    json_out = api.result(json_future)
    seq += 1
    body = proto_request(model_id, seq, TEXT, forward_only=True).SerializeToString()
    response = api.http.post("/api/v1/forward_backward", content=body, headers=PROTO)
    assert response.status_code == 200, response.text
    out = proto_result(api, response.json(), pb.ForwardBackwardOutput)
    assert out.metrics["loss:sum"] == pytest.approx(json_out["metrics"]["loss:sum"], rel=1e-5)
    (record,) = out.loss_fn_outputs
    assert record.num_datums == 1
    logprobs = record.fields["logprobs"]
    assert logprobs.dtype == pb.DTYPE_FLOAT32
    offsets = np.frombuffer(logprobs.offsets, np.int64)
    values = np.frombuffer(logprobs.data, np.float32)
    assert offsets.tolist() == [0, values.nbytes]
    expected = json_out["loss_fn_outputs"][0]["logprobs"]["data"]
    np.testing.assert_allclose(values, expected, rtol=1e-5)


def test_zstd_protobuf_forward_backward_trains(api: Any) -> None:
    model_id = api.model()
    losses = []
    for step in range(4):
        fb = proto_request(model_id, 2 * step + 1, TEXT).SerializeToString()
        response = api.http.post(
            "/api/v1/forward_backward",
            content=zstandard.ZstdCompressor().compress(fb),
            headers={**PROTO, "Content-Encoding": "zstd"},
        )
        assert response.status_code == 200, response.text
        out = proto_result(api, response.json(), pb.ForwardBackwardOutput)
        losses.append(out.metrics["loss:sum"])
        api.done(
            "/api/v1/optim_step",
            {"model_id": model_id, "seq_id": 2 * step + 2, "adam_params": {"learning_rate": 1e-2}},
        )
    assert losses[-1] < losses[0]


def _corrupt_multiblock_frame(model_id: str, seq_id: int) -> bytes:
    """A zstd frame of several blocks whose last block is damaged: the start still reads."""
    msg = proto_request(model_id, seq_id, TEXT)
    padding = msg.data[0].loss_fn_inputs["padding"]
    padding.dtype = pb.DTYPE_FLOAT32
    padding.dense = np.random.default_rng(0).random(100_000, dtype=np.float32).tobytes()
    frame = bytearray(
        zstandard.ZstdCompressor(write_checksum=True).compress(msg.SerializeToString())
    )
    frame[-200:-100] = bytes(100)
    return bytes(frame)


def test_unreadable_bodies_get_a_400_and_do_not_stall_the_model(api: Any) -> None:
    model_id = api.model()
    garbage = api.http.post(
        "/api/v1/forward_backward",
        content=b"\x28\xb5\x2f\xfd not really zstd",
        headers={**PROTO, "Content-Encoding": "zstd"},
    )
    assert garbage.status_code == 400 and "zstd" in garbage.json()["error"]
    not_proto = api.http.post("/api/v1/forward_backward", content=b"\xff\xff\xff", headers=PROTO)
    assert not_proto.status_code == 400 and "protobuf" in not_proto.json()["error"]

    damaged = api.http.post(
        "/api/v1/forward_backward",
        content=_corrupt_multiblock_frame(model_id, 1),
        headers={**PROTO, "Content-Encoding": "zstd"},
    )
    assert damaged.status_code == 400 and "zstd" in damaged.json()["error"]
    # seq 1 was unreadable but named: seq 2 runs at once instead of waiting for it.
    later = api.http.post(
        "/api/v1/forward_backward",
        content=proto_request(model_id, 2, TEXT).SerializeToString(),
        headers=PROTO,
    )
    out = proto_result(api, later.json(), pb.ForwardBackwardOutput)
    assert out.metrics["loss:sum"] > 0

    bad_datum = proto_request(model_id, 3, TEXT)
    bad_datum.data[0].loss_fn_inputs["weights"].dense = b"\x00\x00\x80"  # 3 bytes: not float32
    answer = api.http.post(
        "/api/v1/forward_backward", content=bad_datum.SerializeToString(), headers=PROTO
    )
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("data.0.loss_fn_inputs.weights.dense:")
    api.done("/api/v1/optim_step", {"model_id": model_id, "seq_id": 4, "adam_params": {}})


def test_json_endpoints_refuse_protobuf_and_compressed_bodies(api: Any, model_id: str) -> None:
    answer = api.http.post("/api/v1/optim_step", content=b"\x0a\x01x", headers=PROTO)
    # 415 from the media-type guard (request_guards), naming the header
    assert answer.status_code in (400, 415) and "Content-Type" in answer.json()["error"]
    answer = api.http.post(
        "/api/v1/optim_step",
        content=zstandard.ZstdCompressor().compress(b'{"model_id": "x", "adam_params": {}}'),
        headers={"Content-Type": "application/json", "Content-Encoding": "zstd"},
    )
    assert answer.status_code == 400 and answer.json()["field"] == "Content-Encoding"
    # Neither refusal holds up the model's queue: its next request runs at once.
    fresh = api.model()
    body = proto_request(fresh, 1, TEXT).SerializeToString()
    assert api.http.post("/api/v1/optim_step", content=body, headers=PROTO).status_code in (
        400,
        415,
    )
    assert "metrics" in api.done(
        "/api/v1/forward_backward", api.fb_body(fresh, 1, [api.datum(TEXT)])
    )


def test_loss_config_v2_text_values_and_unknown_losses_are_named(api: Any) -> None:
    model_id = api.model()
    msg = proto_request(model_id, 1, TEXT)
    msg.loss_fn_config_v2["mode"].text = "fancy"
    answer = api.http.post(
        "/api/v1/forward_backward", content=msg.SerializeToString(), headers=PROTO
    )
    assert answer.status_code == 400 and answer.json()["field"] == "loss_fn_config_v2.mode"
    msg = proto_request(model_id, 2, TEXT)
    msg.loss_fn = "no_such_loss"
    answer = api.http.post(
        "/api/v1/forward_backward", content=msg.SerializeToString(), headers=PROTO
    )
    assert answer.status_code == 400 and answer.json()["field"] == "loss_fn"
    # both seq ids were consumed: seq 3 runs
    ok = proto_request(model_id, 3, TEXT, forward_only=True).SerializeToString()
    answer = api.http.post("/api/v1/forward_backward", content=ok, headers=PROTO)
    assert proto_result(api, answer.json(), pb.ForwardBackwardOutput).metrics["loss:sum"] > 0


def _sampler(api: Any, session_id: str, seq: int) -> str:
    body = {
        "session_id": session_id,
        "sampling_session_seq_id": seq,
        "base_model": "local/tiny-llama",
    }
    sampler_id: str = api.ok("/api/v1/create_sampling_session", body)["sampling_session_id"]
    return sampler_id


def _sample_body(sampler_id: str, seq_id: int, num_samples: int = 2) -> dict[str, Any]:
    return {
        "sampling_session_id": sampler_id,
        "seq_id": seq_id,
        "num_samples": num_samples,
        "prompt": {"chunks": [{"tokens": TEXT[:5]}]},
        "sampling_params": {"max_tokens": 4, "temperature": 0},
        "prompt_logprobs": True,
    }


def test_sample_sequence_ids_and_protobuf_sample_results(api: Any) -> None:
    sampler_id = _sampler(api, api.session(), 0)
    future = api.submit("/api/v1/asample", _sample_body(sampler_id, 1))
    ids = future["sample_sequence_ids"]
    assert len(ids) == 2 and len(set(ids)) == 2
    again = api.submit("/api/v1/asample", _sample_body(sampler_id, 1))  # a resubmission
    assert again["request_id"] == future["request_id"] and again["sample_sequence_ids"] == ids
    other = api.submit("/api/v1/asample", _sample_body(sampler_id, 2))
    assert not set(other["sample_sequence_ids"]) & set(ids)

    out = proto_result(api, future, pb.SampleResponse)
    json_out = api.result(future)  # the same result as JSON for a JSON poll
    assert len(out.sequences) == 2 and out.prompt_cache_hit_tokens == 0
    for seq, js in zip(out.sequences, json_out["sequences"], strict=True):
        assert np.frombuffer(seq.tokens, np.int32).tolist() == js["tokens"]
        np.testing.assert_allclose(
            np.frombuffer(seq.logprobs, np.float32), js["logprobs"], rtol=1e-6
        )
    prompt = np.frombuffer(out.prompt_logprobs, np.float32)
    assert np.isnan(prompt[0]) and json_out["prompt_logprobs"][0] is None
    np.testing.assert_allclose(prompt[1:], json_out["prompt_logprobs"][1:], rtol=1e-6)


def test_prompt_alt_tokens_as_json_and_protobuf(api: Any) -> None:
    """prompt_alt_tokens_k: [len(prompt) - 1, k] draws and their logprobs; greedy draws are
    each position's most likely token (the top entry of topk_prompt_logprobs)."""
    sampler_id = _sampler(api, api.session(), 0)
    body = {**_sample_body(sampler_id, 1, 1), "prompt_alt_tokens_k": 3, "topk_prompt_logprobs": 1}
    future = api.submit("/api/v1/asample", body)
    out = api.result(future)
    alt = out["prompt_alt_tokens"]
    assert alt["tokens"]["dtype"] == "int64" and alt["logprobs"]["dtype"] == "float32"
    assert alt["tokens"]["shape"] == alt["logprobs"]["shape"] == [4, 3]
    ids = np.reshape(alt["tokens"]["data"], (4, 3))
    lps = np.reshape(alt["logprobs"]["data"], (4, 3))
    top = out["topk_prompt_logprobs"][1:]
    assert ids.tolist() == [[row[0][0]] * 3 for row in top]
    np.testing.assert_allclose(lps, [[row[0][1]] * 3 for row in top], rtol=1e-6)
    proto = proto_result(api, future, pb.SampleResponse).prompt_alt_tokens
    assert list(proto.tokens.shape) == list(proto.logprobs.shape) == [4, 3]
    assert proto.tokens.dtype == pb.DTYPE_INT64 and proto.logprobs.dtype == pb.DTYPE_FLOAT32
    assert np.frombuffer(proto.tokens.dense, np.int64).tolist() == ids.ravel().tolist()
    np.testing.assert_allclose(np.frombuffer(proto.logprobs.dense, np.float32), lps.ravel())
    plain = api.result(api.submit("/api/v1/asample", _sample_body(sampler_id, 2, 1)))
    assert plain.get("prompt_alt_tokens") is None
    too_many = api.result(
        api.submit("/api/v1/asample", {**body, "seq_id": 3, "prompt_alt_tokens_k": 10**5})
    )
    assert "prompt_alt_tokens_k" in too_many["error"] and too_many["category"] == "user"


def test_retrieve_futures_reports_completions_in_order(api: Any) -> None:
    sampler_id = _sampler(api, api.session(), 0)
    submitted = [api.submit("/api/v1/asample", _sample_body(sampler_id, s, 1)) for s in (1, 2)]
    wanted = {f["request_id"] for f in submitted}
    seen: list[dict[str, Any]] = []
    cursor = 0
    deadline = time.monotonic() + 120
    while {c["request_id"] for c in seen} != wanted and time.monotonic() < deadline:
        body = {"target": {"sampling_session_id": sampler_id}, "prev_cursor": cursor, "timeout": 5}
        page = api.ok("/api/v1/retrieve_futures", body)
        assert page["cursor"] >= cursor
        cursor = page["cursor"]
        seen += page["completions"]
    assert sorted(c["request_id"] for c in seen) == sorted(wanted)
    assert all(c["state"] == "finished" for c in seen)
    # Nothing new after the last cursor; the payloads are still fetched per request.
    empty = api.ok(
        "/api/v1/retrieve_futures",
        {"target": {"sampling_session_id": sampler_id}, "prev_cursor": cursor, "timeout": 0},
    )
    assert empty["completions"] == [] and empty["cursor"] == cursor
    assert api.result(submitted[0])["sequences"]
    unknown = {"target": {"sampling_session_id": "nope"}, "prev_cursor": 0}
    assert api.post("/api/v1/retrieve_futures", unknown).status_code == 404


def test_cancel_future(api: Any, other: Any) -> None:
    sampler_id = _sampler(api, api.session(), 0)
    future = api.submit("/api/v1/asample", _sample_body(sampler_id, 1, 1))
    assert (
        other.post("/api/v1/cancel_future", {"request_id": future["request_id"]}).status_code == 404
    )
    api.result(future)
    answer = api.ok("/api/v1/cancel_future", {"request_id": future["request_id"]})
    assert answer == {"request_id": future["request_id"], "cancelled": False}
    # Queued behind a long request, a cancelled one never runs and answers its failure.
    slow = _sample_body(sampler_id, 2, 8)
    slow["sampling_params"]["max_tokens"] = 64
    api.submit("/api/v1/asample", slow)
    queued = api.submit("/api/v1/asample", _sample_body(sampler_id, 3, 1))
    answer = api.ok("/api/v1/cancel_future", {"request_id": queued["request_id"]})
    if answer["cancelled"]:
        outcome = api.result(queued)
        assert "cancelled" in outcome["error"] and outcome["category"] == "user"


def test_finish_session_first_reason_wins(api: Any, server: Any, other: Any) -> None:
    session_id = api.session()
    path = f"/api/v1/sessions/{session_id}/finish"
    first = api.ok(path, {"reason": {"type": "errored"}, "detail": "boom"})
    assert first == {"session_id": session_id, "reason": "errored", "detail": "boom"}
    second = api.ok(path, {"reason": {"type": "success"}})
    assert second["reason"] == "errored"
    assert server.store.session_finish(session_id)[:2] == ("errored", "boom")
    assert api.post(path, {"reason": {"type": "sideways"}}).status_code == 400
    assert other.post(path, {"reason": {"type": "success"}}).status_code == 404


def test_load_weights_creates_a_model_and_names_what_it_cannot_do(api: Any) -> None:
    model_id = api.model(rank=4)
    api.done("/api/v1/forward_backward", api.fb_body(model_id, 1, [api.datum(TEXT)]))
    api.done("/api/v1/optim_step", {"model_id": model_id, "seq_id": 2, "adam_params": {}})
    path = api.done("/api/v1/save_weights", {"model_id": model_id, "seq_id": 3, "path": "s"})[
        "path"
    ]
    session_id = api.session()
    create = {"session_id": session_id, "model_seq_id": 5, "path": path, "optimizer": True}
    for extra, field in [
        ({"optimizer_config": {"type": "dimuon"}, "optimizer": False}, "optimizer_config.type"),
        ({"optimizer_config": {"type": "adamw"}}, "optimizer_config"),
        ({"weights_access_token": "t"}, "weights_access_token"),
        ({"base_model": "local/other"}, "base_model"),
    ]:
        answer = api.post("/api/v1/load_weights", {**create, **extra})
        assert answer.status_code == 400 and answer.json()["field"] == field, answer.text
    assert api.post("/api/v1/load_weights", {"path": path, "optimizer": True}).status_code == 400

    result = api.done("/api/v1/load_weights", create)
    assert result["path"] == path
    new_id = f"{session_id}:train:5"
    info = api.ok("/api/v1/get_info", {"model_id": new_id})
    assert info["lora_rank"] == 4
    out = api.done("/api/v1/forward", api.fb_body(new_id, 1, [api.datum(TEXT)], "forward_input"))
    assert out["metrics"]["loss:sum"] > 0
    # A retry of the creation answers the same request; optimizer_config never goes to an
    # existing model.
    assert api.submit("/api/v1/load_weights", create)["request_id"]
    existing = {"model_id": new_id, "seq_id": 2, "path": path, "optimizer": False}
    answer = api.post("/api/v1/load_weights", {**existing, "optimizer_config": {"type": "adamw"}})
    assert answer.status_code == 400 and answer.json()["field"] == "optimizer_config"


def test_checkpoint_ttl_metadata_overwrite_and_expiry(api: Any, server: Any) -> None:
    from tinker_local.server.checkpoint_ttl import expire_checkpoints

    model_id = api.model()
    save = {"model_id": model_id, "seq_id": 1, "path": "short", "ttl_seconds": 3600}
    path = api.done("/api/v1/save_weights", {**save, "user_metadata": {"why": "test"}})["path"]
    listing = api.get(f"/api/v1/training_runs/{model_id}/checkpoints").json()["checkpoints"]
    (listed,) = [c for c in listing if c["tinker_path"] == path]
    assert listed["user_metadata"] == {"why": "test"} and listed["expires_at"].endswith("Z")

    failed = api.result(api.submit("/api/v1/save_weights", {**save, "seq_id": 2}))
    assert "already has a checkpoint" in failed["error"]  # no overwrite: the save fails
    api.done("/api/v1/save_weights", {**save, "seq_id": 3, "overwrite": True, "ttl_seconds": None})
    listing = api.get(f"/api/v1/training_runs/{model_id}/checkpoints").json()["checkpoints"]
    (listed,) = [c for c in listing if c["tinker_path"] == path]
    assert listed["expires_at"] is None and listed["user_metadata"] is None

    ttl_path = f"/api/v1/training_runs/{model_id}/checkpoints/weights/short/ttl"
    assert api.http.put(ttl_path, json={"ttl_seconds": 60}).status_code == 400  # < 1 hour
    assert api.http.put(ttl_path, json={"ttl_seconds": 7200}).status_code == 204
    folder = server.backend.checkpoint_dir(
        server.store.get_checkpoint(model_id, "weights", "short")
    )
    assert folder.is_dir()
    assert expire_checkpoints(server.backend, now=time.time() + 3600) == 0  # not yet
    assert expire_checkpoints(server.backend, now=time.time() + 7300) == 1
    assert server.store.get_checkpoint(model_id, "weights", "short") is None
    assert not folder.exists()
    assert api.http.put(ttl_path, json={"ttl_seconds": None}).status_code == 404

    for extra, field in [
        ({"ttl_seconds": 10}, "ttl_seconds"),
        ({"kind": "inflight", "path": "s"}, "kind"),
        ({"ttl_seconds": 3600}, "ttl_seconds"),  # an unnamed (ephemeral) sampler save
    ]:
        body = {"model_id": model_id, "seq_id": 4, **extra}
        answer = api.post("/api/v1/save_weights_for_sampler", body)
        assert answer.status_code == 400 and answer.json()["field"] == field, answer.text
    # the rejected seq id 4 was consumed
    api.done("/api/v1/save_weights_for_sampler", {"model_id": model_id, "seq_id": 5, "path": "x"})


def test_sampling_options_the_backend_cannot_honour_are_named(api: Any) -> None:
    sampler_id = _sampler(api, api.session(), 0)
    for extra, field in [
        ({"prompt_alt_tokens_k": -1}, "prompt_alt_tokens_k"),
        ({"record_stability_info": True}, "record_stability_info"),
        # target_prompt_logprobs: int64, 2-D, len(prompt) - 1 = 4 rows, valid CSR
        ({"target_prompt_logprobs": {"data": [1], "dtype": "int64"}}, "target_prompt_logprobs"),
        (
            {"target_prompt_logprobs": {"data": [1.0] * 4, "dtype": "float32", "shape": [4, 1]}},
            "target_prompt_logprobs",
        ),
        (
            {"target_prompt_logprobs": {"data": [1] * 5, "dtype": "int64", "shape": [5, 1]}},
            "target_prompt_logprobs",
        ),
        (
            {
                "target_prompt_logprobs": {
                    "data": [1],
                    "dtype": "int64",
                    "shape": [4, 2],
                    "sparse_crow_indices": [0, 1, 1, 1],
                    "sparse_col_indices": [0],
                }
            },
            "target_prompt_logprobs",
        ),
        ({"prompt_logprobs": False, "prompt_logprobs_last_n": 2}, "prompt_logprobs_last_n"),
        ({"prompt_logprobs_last_n": 5}, "prompt_logprobs_last_n"),  # the prompt has 5 tokens
    ]:
        answer = api.post("/api/v1/asample", {**_sample_body(sampler_id, 1), **extra})
        assert answer.status_code == 400 and answer.json()["field"] == field, answer.text
    defaults = {"topk_sample_logprobs": 0, "prompt_alt_tokens_k": 0, "record_stability_info": False}
    out = api.result(
        api.submit(
            "/api/v1/asample",
            {**_sample_body(sampler_id, 1), **defaults, "prompt_logprobs_last_n": 2},
        )
    )
    assert out["prompt_logprobs"][:3] == [None] * 3 and all(
        v < 0 for v in out["prompt_logprobs"][3:]
    )
    assert out["prompt_cache_hit_tokens"] == 0


def _sparse_ids(dense: np.ndarray) -> dict[str, Any]:
    """The CSR JSON of `dense` with -1 as the pad (what the 0.38 SDK's from_torch_sparse sends)."""
    rows, cols = np.nonzero(dense != -1)
    crow = np.searchsorted(rows, np.arange(dense.shape[0] + 1)).tolist()
    return {
        "data": dense[rows, cols].tolist(),
        "dtype": "int64",
        "shape": list(dense.shape),
        "sparse_crow_indices": crow,
        "sparse_col_indices": cols.tolist(),
    }


def test_topk_sample_and_target_prompt_logprobs(api: Any) -> None:
    """Top-k logprobs of each sampled token, and logprobs of chosen prompt ids (dense and
    sparse CSR), JSON and protobuf, agree with the sampled and prompt logprobs."""
    sampler_id = _sampler(api, api.session(), 0)
    body = {**_sample_body(sampler_id, 1, 2), "topk_sample_logprobs": 3}
    future = api.submit("/api/v1/asample", body)
    out = api.result(future)
    for seq in out["sequences"]:
        assert len(seq["topk_logprobs"]) == len(seq["tokens"]) == 4
        rows = zip(seq["tokens"], seq["logprobs"], seq["topk_logprobs"], strict=True)
        for token, logprob, row in rows:
            assert len(row) == 3 and row[0][0] == token  # greedy: the top token is sampled
            assert abs(row[0][1] - logprob) < 1e-6
            assert row[0][1] >= row[1][1] >= row[2][1]
    pb_out = proto_result(api, future, pb.SampleResponse)
    table = pb_out.sequences[0].topk_sampled_logprobs
    assert (table.length, table.k) == (4, 3)
    ids = np.frombuffer(table.token_ids, np.int32).reshape(4, 3)
    assert ids.tolist() == [[t for t, _ in row] for row in out["sequences"][0]["topk_logprobs"]]

    prompt = TEXT[:5]
    wanted = np.full((4, 3), -1, dtype=np.int64)
    wanted[:, 0] = prompt[1:]  # the actual next tokens: their logprobs are the prompt logprobs
    wanted[2, 2] = 7
    dense = {"data": wanted.ravel().tolist(), "dtype": "int64", "shape": [4, 3]}
    for seq, tensor in [(2, dense), (3, _sparse_ids(wanted))]:
        body = {**_sample_body(sampler_id, seq, 1), "target_prompt_logprobs": tensor}
        future = api.submit("/api/v1/asample", body)
        got = api.result(future)
        target = got["target_prompt_logprobs"]
        assert target["dtype"] == "float32" and target["shape"] == [4, 3]
        if "sparse_crow_indices" in tensor:
            assert target["sparse_crow_indices"] == tensor["sparse_crow_indices"]
            assert target["sparse_col_indices"] == tensor["sparse_col_indices"]
            values = np.zeros((4, 3), np.float32)
            rows = np.repeat(np.arange(4), np.diff(target["sparse_crow_indices"]))
            values[rows, target["sparse_col_indices"]] = target["data"]
        else:
            values = np.asarray(target["data"], np.float32).reshape(4, 3)
        np.testing.assert_allclose(values[:, 0], got["prompt_logprobs"][1:], rtol=1e-6)
        assert values[2, 2] < 0 and values[0, 1] == 0 and values[3, 2] == 0
        proto = proto_result(api, future, pb.SampleResponse).target_prompt_logprobs
        assert list(proto.shape) == [4, 3]
        stored = proto.sparse_csr.values if "sparse_crow_indices" in tensor else proto.dense
        np.testing.assert_array_equal(
            np.frombuffer(stored, np.float32), np.asarray(target["data"], np.float32)
        )

    out_of_range = wanted.copy()
    out_of_range[0, 1] = 10**6
    body = {**_sample_body(sampler_id, 4, 1), "target_prompt_logprobs": _sparse_ids(out_of_range)}
    failed = api.result(api.submit("/api/v1/asample", body))
    assert "target_prompt_logprobs: token id 1000000 out of range" in failed["error"]


def test_create_via_load_reads_the_store_off_the_event_loop(
    api: Any, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    model_id = api.model(rank=4)
    body = {"model_id": model_id, "seq_id": 1, "path": "via-load"}
    path = api.done("/api/v1/save_weights", body)["path"]
    threads: list[str] = []
    real = server.backend.checkpoint_by_path

    def recording(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(server.backend, "checkpoint_by_path", recording)
    create = {"session_id": api.session(), "model_seq_id": 1, "path": path, "optimizer": False}
    assert api.done("/api/v1/load_weights", create)["path"] == path
    assert threads and all(name.startswith("tinker-store") for name in threads), threads


def test_the_expiry_sweep_removes_files_before_the_row(
    api: Any, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a user's delete: a sweep that cannot remove the folder keeps the row (the next sweep
    retries), instead of forgetting a checkpoint whose files stay on disk."""
    from tinker_local.server.checkpoint_ttl import expire_checkpoints

    model_id = api.model()
    save = {"model_id": model_id, "seq_id": 1, "path": "expiring", "ttl_seconds": 3600}
    api.done("/api/v1/save_weights", save)
    row = server.store.get_checkpoint(model_id, "weights", "expiring")
    folder = server.backend.checkpoint_dir(row)

    def fails(path: Any) -> None:
        raise OSError("simulated: the folder cannot be removed")

    with monkeypatch.context() as patch:
        patch.setattr(server.backend.files, "remove_dir", fails)
        with pytest.raises(OSError, match="simulated"):
            expire_checkpoints(server.backend, now=time.time() + 7200)
    assert server.store.get_checkpoint(model_id, "weights", "expiring") is not None
    assert folder.is_dir()
    assert expire_checkpoints(server.backend, now=time.time() + 7200) >= 1
    assert server.store.get_checkpoint(model_id, "weights", "expiring") is None
    assert not folder.exists()


def _blocked_forward(server: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, list[str]]:
    """The compute's forward waits for `gate` (once `entered` is set); `ran` names each call."""
    import threading

    entered, gate, ran = threading.Event(), threading.Event(), []
    real = server.backend.compute.forward

    def forward(trainer: Any, data: Any, *args: Any) -> Any:
        ran.append(f"forward {len(ran)}")
        entered.set()
        assert gate.wait(60)
        return real(trainer, data, *args)

    monkeypatch.setattr(server.backend.compute, "forward", forward)
    return entered, gate, ran


@pytest.mark.parametrize("how", ["session_end", "finish", "expiry"])
def test_ending_a_session_cancels_its_models_queued_work(
    api: Any, server: Any, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The request running finishes; the queued ones fail at once with a clear cancelled
    error and never reach the compute."""
    session_id = api.session()
    model_id = api.model(session_id)
    entered, gate, ran = _blocked_forward(server, monkeypatch)
    data = [api.datum(TEXT)]
    running = api.submit("/api/v1/forward_backward", api.fb_body(model_id, 1, data))
    assert entered.wait(60)
    queued = [
        api.submit("/api/v1/optim_step", {"model_id": model_id, "seq_id": 2, "adam_params": {}}),
        api.submit("/api/v1/forward_backward", api.fb_body(model_id, 3, data)),
    ]
    if how == "session_end":
        end = {
            "event": "SESSION_END",
            "event_id": "end",
            "event_session_index": 1,
            "severity": "INFO",
            "timestamp": "2026-01-01T00:00:00Z",
            "duration": "PT1S",
        }
        telemetry = {"session_id": session_id, "platform": "t", "sdk_version": "t"}
        assert api.post("/api/v1/telemetry", {**telemetry, "events": [end]}).status_code == 200
    elif how == "finish":
        answer = api.ok(f"/api/v1/sessions/{session_id}/finish", {"reason": {"type": "success"}})
        assert answer["reason"] == "success"
    else:  # what the reaper does for an expired session, from a store thread
        server.backend.free_model(server.backend.models[model_id], "its session expired")
    # A cancelled request already handed on to the compute thread is answered in order, after
    # the one running: let it finish.
    last = api.result(queued[1], timeout=30)  # not yet handed on: answered at once
    gate.set()
    assert "metrics" in api.result(running)  # the one running finished
    for failed in [api.result(queued[0]), last]:
        assert failed["category"] == "user", failed
        assert failed["error"].startswith(f"cancelled before it ran: model '{model_id}'")
    assert ran == ["forward 0"]  # nothing ran for the cancelled requests
    if how == "finish":  # the model is gone, and says why
        later = api.post("/api/v1/forward_backward", api.fb_body(model_id, 4, data))
        assert later.status_code == 404, later.text
        assert "was unloaded (its session was finished (success))" in later.text


def test_sparse_json_tensors_are_read_dense() -> None:
    from tinker_local.server.errors import UserError
    from tinker_local.server.wire import tensor_from_json

    sparse = {
        "data": [5, 7],
        "dtype": "int64",
        "shape": [3, 2],
        "sparse_crow_indices": [0, 1, 1, 2],
        "sparse_col_indices": [1, 0],
    }
    assert tensor_from_json(sparse, "t", pad=-1).tolist() == [[-1, 5], [-1, -1], [7, -1]]
    assert tensor_from_json(sparse, "t").tolist() == [[0, 5], [0, 0], [7, 0]]
    for broken, message in [
        ({"sparse_col_indices": [1, 2]}, "t: sparse indices do not describe a 3x2 CSR matrix"),
        ({"sparse_crow_indices": [0, 1, 2]}, "do not describe"),
        ({"sparse_crow_indices": ["0", 1, 1, 2]}, "t.sparse_crow_indices: expected a list"),
        ({"sparse_col_indices": None}, "needs sparse_crow_indices, sparse_col_indices and shape"),
        ({"shape": [6]}, "t.shape: a sparse tensor needs a 2-D shape"),
        ({"shape": [3, 2**40]}, r"t.shape: \[3, 1099511627776\] is negative or over"),
        ({"shape": [-3, 2]}, "is negative or over"),
    ]:
        with pytest.raises(UserError, match=message):
            tensor_from_json({**sparse, **broken}, "t")


def test_a_model_whose_load_fails_keeps_nothing(
    api: Any, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a failed create_model: a load_weights that creates a model and cannot load the
    checkpoint leaves no model behind (404, not counted against the user's caps)."""
    model_id = api.model(rank=4)
    path = api.done("/api/v1/save_weights", {"model_id": model_id, "seq_id": 1, "path": "bad"})[
        "path"
    ]

    def unreadable(*args: Any, **kwargs: Any) -> None:
        raise OSError("simulated: the checkpoint cannot be read")

    monkeypatch.setattr(server.backend.compute, "load_training_state", unreadable)
    session_id = api.session()
    create = {"session_id": session_id, "model_seq_id": 0, "path": path, "optimizer": False}
    outcome = api.result(api.submit("/api/v1/load_weights", create))
    assert "cannot be read" in outcome["error"]
    new_id = f"{session_id}:train:0"
    assert new_id not in server.backend.models
    assert api.post("/api/v1/get_info", {"model_id": new_id}).status_code == 404


def test_a_copy_that_fails_partway_leaves_nothing(
    api: Any, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """copy_weights writes the folder, then every row (session, labels, run, checkpoint,
    extras, idempotency record) in one transaction: a failure at the last row leaves no
    session, run, checkpoint or folder of the copy; the retry then makes one copy."""
    model_id = api.model()
    path = api.done("/api/v1/save_weights", {"model_id": model_id, "seq_id": 1, "path": "src"})[
        "path"
    ]
    store, files = server.store, server.backend.files

    def state() -> tuple[set[str], int, int, list[Any]]:
        sessions = store._one("SELECT COUNT(*) FROM sessions")[0]
        runs = store._one("SELECT COUNT(*) FROM training_runs")[0]
        folders = sorted(p for p in files.root.rglob("*") if p.is_dir())
        return {c.tinker_path for c in store.all_checkpoints()}, sessions, runs, folders

    before = state()

    def fails(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")  # (simulated)

    body = {"source_path": path, "destination_project_id": "proj-copies"}
    headers = {"X-Idempotency-Key": "copy-once"}
    with monkeypatch.context() as patch:
        patch.setattr(store, "record_copy", fails)
        failed = api.post("/api/v1/copy_weights", body, headers=headers)
    assert failed.status_code == 503 and failed.headers.get("retry-after"), failed.text
    assert state() == before
    answers = [api.post("/api/v1/copy_weights", body, headers=headers) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200], answers[0].text
    copied, again = (a.json()["tinker_path"] for a in answers)
    assert copied == again and copied != path
    assert state()[0] == before[0] | {copied}
    assert state()[1:3] == (before[1] + 1, before[2] + 1)
