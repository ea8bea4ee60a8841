"""Models and training over raw HTTP: create_model, get_info, unload_model, forward,
forward_backward, optim_step."""

from __future__ import annotations

from typing import Any

import pytest

TOKENS = list(b"the quick brown fox")


def test_create_model_and_get_info(api: Any, other: Any) -> None:
    session_id = api.session()
    body = {
        "session_id": session_id,
        "model_seq_id": 0,
        "base_model": "local/tiny-llama",
        "lora_config": {"rank": 4, "seed": 1},
        "user_metadata": {"note": "hi"},
    }
    future = api.submit("/api/v1/create_model", body)
    assert future["model_id"]
    result = api.result(future)
    assert result == {"model_id": future["model_id"], "type": "create_model"}
    # A resubmitted create (same session and model_seq_id) is the same request.
    assert api.submit("/api/v1/create_model", body) == future

    info = api.ok("/api/v1/get_info", {"model_id": future["model_id"]})
    assert info["model_data"] == {
        "arch": "llama",
        "model_name": "local/tiny-llama",
        "tokenizer_id": "local/byte-bpe",
    }
    assert (info["model_id"], info["is_lora"], info["lora_rank"]) == (future["model_id"], True, 4)
    assert info["type"] == "get_info"
    assert other.post("/api/v1/get_info", {"model_id": future["model_id"]}).status_code == 404
    assert api.post("/api/v1/get_info", {"model_id": "unknown"}).status_code == 404
    bad = api.post("/api/v1/get_info", {"model_id": 1})
    assert bad.status_code == 400 and bad.json()["field"] == "model_id"

    run = api.get(f"/api/v1/training_runs/{future['model_id']}").json()
    assert run["user_metadata"] == {"note": "hi"} and run["lora_rank"] == 4


def test_create_model_failures_are_user_errors(api: Any) -> None:
    session_id = api.session()
    base = {"session_id": session_id, "lora_config": {"rank": 4}}
    failed = api.result(
        api.submit("/api/v1/create_model", {**base, "model_seq_id": 0, "base_model": "gpt-9"})
    )
    assert failed["category"] == "user" and "gpt-9" in failed["error"]
    no_lora = {"session_id": session_id, "model_seq_id": 1, "base_model": "local/tiny-llama"}
    failed = api.result(api.submit("/api/v1/create_model", no_lora))
    assert failed["category"] == "user" and "lora_config" in failed["error"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"lora_config": {"rank": 0}}, "lora_config.rank"),
        ({"lora_config": {"rank": "4"}}, "lora_config.rank"),
        ({"model_seq_id": "0"}, "model_seq_id"),
        ({"base_model": None}, "base_model"),
    ],
)
def test_create_model_bad_input(api: Any, patch: dict[str, Any], field: str) -> None:
    body = {"session_id": api.session(), "model_seq_id": 0, "base_model": "local/tiny-llama"}
    response = api.post("/api/v1/create_model", {**body, **patch})
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_create_model_in_a_foreign_session_is_404(api: Any, other: Any) -> None:
    body = {"session_id": api.session(), "model_seq_id": 0, "base_model": "local/tiny-llama"}
    assert other.post("/api/v1/create_model", body).status_code == 404


def test_forward_backward_and_optim_step_lower_the_loss(api: Any) -> None:
    model_id = api.model()
    data = [api.datum(TOKENS)]
    losses = []
    for step in range(4):
        fb = api.done("/api/v1/forward_backward", api.fb_body(model_id, 2 * step + 1, data))
        assert fb["loss_fn_output_type"] == "TorchLossReturn"
        (outputs,) = fb["loss_fn_outputs"]
        n = len(TOKENS) - 1
        assert outputs["logprobs"]["dtype"] == "float32" and outputs["logprobs"]["shape"] == [n]
        assert len(outputs["elementwise_loss"]["data"]) == n
        losses.append(fb["metrics"]["loss:sum"])
        opt = api.done(
            "/api/v1/optim_step",
            {"model_id": model_id, "seq_id": 2 * step + 2, "adam_params": {"learning_rate": 1e-2}},
        )
        assert opt["metrics"]["learning_rate:mean"] == pytest.approx(1e-2)
    assert losses[-1] < losses[0]


def test_forward_does_not_train(api: Any, model_id: str) -> None:
    body = api.fb_body(model_id, None, [api.datum(TOKENS)], key="forward_input")
    first = api.done("/api/v1/forward", body)
    again = api.done("/api/v1/forward", body)
    assert first["metrics"]["loss:sum"] == again["metrics"]["loss:sum"]


def test_weights_shape_and_dtype_are_honoured(api: Any, model_id: str) -> None:
    d = api.datum(TOKENS, weights=[1.0] * (len(TOKENS) - 1))
    d["loss_fn_inputs"]["weights"]["shape"] = [len(TOKENS) - 1]
    assert "error" not in api.result(
        api.submit("/api/v1/forward", api.fb_body(model_id, None, [d], "forward_input"))
    )
    d["loss_fn_inputs"]["weights"]["shape"] = [2, 2]
    failed = api.result(
        api.submit("/api/v1/forward", api.fb_body(model_id, None, [d], "forward_input"))
    )
    assert failed["category"] == "user" and "shape" in failed["error"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["forward_backward_input"].pop("loss_fn"), "forward_backward_input.loss_fn"),
        (
            lambda b: b["forward_backward_input"].update(loss_fn="mse"),
            "forward_backward_input.loss_fn",
        ),
        (
            lambda b: b["forward_backward_input"]["data"][0]["model_input"]["chunks"][0].update(
                tokens="abc"
            ),
            "forward_backward_input.data.0.model_input.chunks.0.tokens",
        ),
        (
            lambda b: b["forward_backward_input"]["data"][0]["loss_fn_inputs"][
                "target_tokens"
            ].update(dtype="float64"),
            "forward_backward_input.data.0.loss_fn_inputs.target_tokens.dtype",
        ),
        (lambda b: b.update(seq_id="1"), "seq_id"),
        (lambda b: b.pop("model_id"), "model_id"),
    ],
)
def test_forward_backward_bad_input_names_the_field(
    api: Any, model_id: str, mutate: Any, field: str
) -> None:
    body = api.fb_body(model_id, None, [api.datum(TOKENS)])
    mutate(body)
    response = api.post("/api/v1/forward_backward", body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


def test_engine_rejections_fail_the_future_as_user_errors(api: Any, model_id: str) -> None:
    out_of_vocab = api.datum([1, 2, 100000])
    failed = api.result(
        api.submit("/api/v1/forward_backward", api.fb_body(model_id, None, [out_of_vocab]))
    )
    assert failed["category"] == "user" and "out of range" in failed["error"]

    image = api.datum(TOKENS)
    image["model_input"]["chunks"].append({"data": "aGk=", "format": "png", "type": "image"})
    failed = api.result(
        api.submit("/api/v1/forward_backward", api.fb_body(model_id, None, [image]))
    )
    assert failed["category"] == "user"
    assert "image inputs are not supported by the local backend" in failed["error"]

    bad_adam = {"model_id": model_id, "adam_params": {"learning_rate": -1.0}}
    failed = api.result(api.submit("/api/v1/optim_step", bad_adam))
    assert failed["category"] == "user" and "learning_rate" in failed["error"]


def test_optim_step_bad_input(api: Any, model_id: str) -> None:
    response = api.post("/api/v1/optim_step", {"model_id": model_id, "adam_params": {"beta1": "x"}})
    assert response.status_code == 400
    assert response.json()["field"] == "adam_params.beta1"
    response = api.post("/api/v1/optim_step", {"model_id": model_id})
    assert response.json()["field"] == "adam_params"


def test_foreign_or_unknown_model_is_404(api: Any, other: Any, model_id: str) -> None:
    for client, target in [(other, model_id), (api, "no-such-model")]:
        body = api.fb_body(target, None, [api.datum(TOKENS)])
        assert client.post("/api/v1/forward_backward", body).status_code == 404
        fwd = api.fb_body(target, None, [api.datum(TOKENS)], key="forward_input")
        assert client.post("/api/v1/forward", fwd).status_code == 404
        adam = {"model_id": target, "adam_params": {}}
        assert client.post("/api/v1/optim_step", adam).status_code == 404
        assert client.post("/api/v1/unload_model", {"model_id": target}).status_code == 404
        save = {"model_id": target, "path": "x"}
        assert client.post("/api/v1/save_weights", save).status_code == 404
        assert client.post("/api/v1/save_weights_for_sampler", save).status_code == 404
        load = {"model_id": target, "path": "tinker://r/weights/x", "optimizer": False}
        assert client.post("/api/v1/load_weights", load).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/forward", {"forward_input": {"data": [], "loss_fn": 1}}, "forward_input.loss_fn"),
        ("/api/v1/forward", {}, "forward_input"),
        ("/api/v1/save_weights", {"path": 5}, "path"),
        ("/api/v1/save_weights", {"seq_id": 1.5}, "seq_id"),
        ("/api/v1/save_weights_for_sampler", {"path": ["x"]}, "path"),
        (
            "/api/v1/save_weights_for_sampler",
            {"sampling_session_seq_id": "0"},
            "sampling_session_seq_id",
        ),
        ("/api/v1/load_weights", {"path": None, "optimizer": True}, "path"),
    ],
)
def test_other_submissions_bad_input(
    api: Any, model_id: str, path: str, body: dict[str, Any], field: str
) -> None:
    response = api.post(path, {"model_id": model_id, **body})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


def test_unload_model(api: Any) -> None:
    model_id = api.model()
    result = api.done("/api/v1/unload_model", {"model_id": model_id})
    assert result == {"model_id": model_id, "type": "unload_model"}
    body = api.fb_body(model_id, None, [api.datum(TOKENS)])
    response = api.post("/api/v1/forward_backward", body)
    assert response.status_code == 404 and "unloaded" in response.json()["error"]
    assert api.post("/api/v1/unload_model", {"model_id": 3}).json()["field"] == "model_id"
    # The run (and get_info) outlive the loaded model.
    assert api.ok("/api/v1/get_info", {"model_id": model_id})["model_id"] == model_id
