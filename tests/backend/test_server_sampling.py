"""Sampling over raw HTTP: sampling sessions (base model, sampler checkpoint), asample by
session / base model / model path, prompt logprobs, samplers and sessions."""

from __future__ import annotations

from typing import Any

import pytest

PROMPT = list(b"abc")


def _prompt(tokens: list[int]) -> dict[str, Any]:
    return {"chunks": [{"tokens": tokens}]}


def _sampling_session(api: Any, session_id: str, seq: int, **target: Any) -> str:
    body = {"session_id": session_id, "sampling_session_seq_id": seq, **target}
    sampler_id: str = api.ok("/api/v1/create_sampling_session", body)["sampling_session_id"]
    return sampler_id


@pytest.fixture(scope="module")
def sampler_checkpoint(api: Any, model_id: str) -> str:
    """A trained model's sampler weights: tinker://<run>/sampler_weights/trained."""
    data = [api.datum(list(b"abcabcabcabc"))]
    for step in range(3):
        api.done("/api/v1/forward_backward", api.fb_body(model_id, 2 * step + 1, data))
        adam = {
            "model_id": model_id,
            "seq_id": 2 * step + 2,
            "adam_params": {"learning_rate": 0.01},
        }
        api.done("/api/v1/optim_step", adam)
    body = {"model_id": model_id, "seq_id": 7, "path": "trained"}
    path: str = api.done("/api/v1/save_weights_for_sampler", body)["path"]
    return path


def test_sample_from_a_base_model_session(api: Any) -> None:
    session_id = api.session()
    sampler_id = _sampling_session(api, session_id, 0, base_model="local/tiny-llama")
    # A retried creation returns the same sampler.
    assert _sampling_session(api, session_id, 0, base_model="local/tiny-llama") == sampler_id
    body = {
        "sampling_session_id": sampler_id,
        "seq_id": 0,
        "num_samples": 2,
        "prompt": _prompt(PROMPT),
        "sampling_params": {"max_tokens": 5, "seed": 3},
    }
    result = api.done("/api/v1/asample", body)
    assert result["type"] == "sample" and len(result["sequences"]) == 2
    for seq in result["sequences"]:
        assert len(seq["tokens"]) == len(seq["logprobs"]) <= 5
        assert seq["stop_reason"] in ("length", "stop")
    assert "prompt_logprobs" not in result or result["prompt_logprobs"] is None
    # Same (session, seq_id): the same request.
    assert api.submit("/api/v1/asample", body) == api.submit("/api/v1/asample", body)

    sampler = api.get(f"/api/v1/samplers/{sampler_id}").json()
    assert sampler == {
        "sampler_id": sampler_id,
        "base_model": "local/tiny-llama",
        "model_path": None,
        "tokenizer_id": "local/byte-bpe",  # the preset's own tokenizer, not the model's name
    }
    assert api.get(f"/api/v1/sessions/{session_id}").json()["sampler_ids"] == [sampler_id]


def test_prompt_logprobs_and_topk(api: Any) -> None:
    body = {
        "base_model": "local/tiny-llama",
        "prompt": _prompt(PROMPT),
        "sampling_params": {"max_tokens": 1, "temperature": 0},
        "prompt_logprobs": True,
        "topk_prompt_logprobs": 3,
    }
    result = api.done("/api/v1/asample", body)
    lps = result["prompt_logprobs"]
    assert len(lps) == len(PROMPT) and lps[0] is None and all(x < 0 for x in lps[1:])
    topk = result["topk_prompt_logprobs"]
    assert topk[0] is None and all(len(row) == 3 for row in topk[1:])
    assert all(isinstance(t, int) and lp <= 0 for row in topk[1:] for t, lp in row)


def test_sample_from_a_sampler_checkpoint(api: Any, sampler_checkpoint: str) -> None:
    session_id = api.session()
    sampler_id = _sampling_session(api, session_id, 0, model_path=sampler_checkpoint)
    got = api.get(f"/api/v1/samplers/{sampler_id}").json()
    assert got["model_path"] == sampler_checkpoint and got["base_model"] == "local/tiny-llama"
    params = {"max_tokens": 4, "temperature": 0}
    tuned = api.done(
        "/api/v1/asample",
        {"sampling_session_id": sampler_id, "prompt": _prompt(PROMPT), "sampling_params": params},
    )
    direct = api.done(
        "/api/v1/asample",
        {"model_path": sampler_checkpoint, "prompt": _prompt(PROMPT), "sampling_params": params},
    )
    base = api.done(
        "/api/v1/asample",
        {"base_model": "local/tiny-llama", "prompt": _prompt(PROMPT), "sampling_params": params},
    )
    assert tuned["sequences"][0]["tokens"] == direct["sequences"][0]["tokens"]
    assert tuned["sequences"][0]["logprobs"] != base["sequences"][0]["logprobs"]


def test_foreign_samplers_and_private_checkpoints_are_404(
    api: Any, other: Any, sampler_checkpoint: str
) -> None:
    sampler_id = _sampling_session(api, api.session(), 0, base_model="local/tiny-llama")
    assert other.get(f"/api/v1/samplers/{sampler_id}").status_code == 404
    body = {"sampling_session_id": sampler_id, "prompt": _prompt(PROMPT), "sampling_params": {}}
    assert other.post("/api/v1/asample", body).status_code == 404
    theirs = other.session()
    create = {"session_id": theirs, "sampling_session_seq_id": 0, "model_path": sampler_checkpoint}
    assert other.post("/api/v1/create_sampling_session", create).status_code == 404
    direct = {"model_path": sampler_checkpoint, "prompt": _prompt(PROMPT), "sampling_params": {}}
    assert other.post("/api/v1/asample", direct).status_code == 404
    # ...and visible once published.
    run_id, _, name = sampler_checkpoint.removeprefix("tinker://").split("/")
    url = f"/api/v1/training_runs/{run_id}/checkpoints/sampler_weights/{name}/publish"
    assert api.post(url).status_code == 204
    try:
        assert other.ok("/api/v1/create_sampling_session", create)["sampling_session_id"]
        assert "error" not in other.result(other.submit("/api/v1/asample", direct))
    finally:
        api.delete(url)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"sampling_session_seq_id": 0, "base_model": "gpt-9"}, 400, "base_model"),
        ({"sampling_session_seq_id": 0}, 400, "base_model"),
        ({"sampling_session_seq_id": 0, "model_path": "tinker://a/b"}, 400, "model_path"),
        (
            {"sampling_session_seq_id": "0", "base_model": "local/tiny-llama"},
            400,
            "sampling_session_seq_id",
        ),
        (
            {"sampling_session_seq_id": 0, "model_path": "tinker://nope/sampler_weights/x"},
            404,
            None,
        ),
    ],
)
def test_create_sampling_session_bad_input(
    api: Any, body: Any, status: int, field: str | None
) -> None:
    response = api.post("/api/v1/create_sampling_session", {"session_id": api.session(), **body})
    assert response.status_code == status, response.text
    assert response.json().get("field") == field


def test_create_sampling_session_in_unknown_or_foreign_session_is_404(api: Any, other: Any) -> None:
    body = {"session_id": "nope", "sampling_session_seq_id": 0, "base_model": "local/tiny-llama"}
    assert api.post("/api/v1/create_sampling_session", body).status_code == 404
    body["session_id"] = api.session()
    assert other.post("/api/v1/create_sampling_session", body).status_code == 404


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"prompt": {"chunks": [{"tokens": [1, "x"]}]}}, "prompt.chunks.0.tokens.1"),
        ({"sampling_params": {"max_tokens": "5"}}, "sampling_params.max_tokens"),
        ({"sampling_params": {"temperature": None}}, "sampling_params.temperature"),
        ({"num_samples": 1.5}, "num_samples"),
        ({"sampling_params": None}, "sampling_params"),
    ],
)
def test_asample_bad_input(api: Any, patch: Any, field: str) -> None:
    body = {"base_model": "local/tiny-llama", "prompt": _prompt(PROMPT), "sampling_params": {}}
    response = api.post("/api/v1/asample", {**body, **patch})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


def test_asample_engine_rejections_are_user_errors(api: Any) -> None:
    body = {
        "base_model": "local/tiny-llama",
        "prompt": _prompt(PROMPT),
        "sampling_params": {"top_p": 0},
    }
    failed = api.result(api.submit("/api/v1/asample", body))
    assert failed["category"] == "user" and "top_p" in failed["error"]
    missing = {"prompt": _prompt(PROMPT), "sampling_params": {}}
    assert api.post("/api/v1/asample", missing).status_code == 400


def test_stop_sequences(api: Any) -> None:
    body = {
        "base_model": "local/tiny-llama",
        "prompt": _prompt(PROMPT),
        "sampling_params": {"max_tokens": 20, "temperature": 0, "stop": []},
    }
    assert "error" not in api.result(api.submit("/api/v1/asample", body))
    greedy = api.done("/api/v1/asample", body)["sequences"][0]["tokens"]
    body["sampling_params"]["stop"] = [greedy[1]]
    stopped = api.done("/api/v1/asample", body)["sequences"][0]
    assert stopped["stop_reason"] == "stop" and stopped["tokens"][-1] == greedy[1]
