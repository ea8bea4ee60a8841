"""Futures over raw HTTP: ordering by seq_id, idempotent resubmission, long-poll try_again,
re-delivery, ownership of request ids."""

from __future__ import annotations

from typing import Any

TOKENS = list(b"ordering matters")


def _optim(model_id: str, seq_id: int, lr: float = 1e-2) -> dict[str, Any]:
    return {"model_id": model_id, "seq_id": seq_id, "adam_params": {"learning_rate": lr}}


def test_try_again_then_result_and_out_of_order_seq_ids_run_in_order(api: Any) -> None:
    model_id = api.model()
    data = [api.datum(TOKENS)]
    # seq 2 and 3 arrive before seq 1: they must wait for it.
    f3 = api.submit("/api/v1/forward", api.fb_body(model_id, 3, data, key="forward_input"))
    f2 = api.submit("/api/v1/optim_step", _optim(model_id, 2))
    pending = api.poll(f2["request_id"])
    assert pending == {"type": "try_again", "request_id": f2["request_id"], "queue_state": "active"}
    f1 = api.submit("/api/v1/forward_backward", api.fb_body(model_id, 1, data))

    r1, r2, r3 = api.result(f1), api.result(f2), api.result(f3)
    assert r2["metrics"]["optim_step:max"] == 1.0
    # seq 3 (forward) ran after the optimizer step of seq 2: the loss went down.
    assert r3["metrics"]["loss:sum"] < r1["metrics"]["loss:sum"]


def test_resubmission_with_the_same_seq_id_is_not_executed_twice(api: Any) -> None:
    model_id = api.model()
    data = [api.datum(TOKENS)]
    first = api.submit("/api/v1/forward_backward", api.fb_body(model_id, 1, data))
    again = api.submit("/api/v1/forward_backward", api.fb_body(model_id, 1, data))
    assert again == first
    step = api.submit("/api/v1/optim_step", _optim(model_id, 2))
    assert api.submit("/api/v1/optim_step", _optim(model_id, 2)) == step
    assert api.result(step)["metrics"]["optim_step:max"] == 1.0
    # A resubmission after completion still returns the same (finished) request.
    assert api.submit("/api/v1/optim_step", _optim(model_id, 2)) == step
    third = api.result(api.submit("/api/v1/optim_step", _optim(model_id, 3)))
    assert third["metrics"]["optim_step:max"] == 2.0


def test_result_can_be_retrieved_again_after_delivery(api: Any, model_id: str) -> None:
    future = api.submit(
        "/api/v1/forward", api.fb_body(model_id, None, [api.datum(TOKENS)], "forward_input")
    )
    first = api.result(future)
    assert api.result(future) == first
    assert api.result(future) == first


def test_a_rejected_request_consumes_its_seq_id(api: Any) -> None:
    model_id = api.model()
    bad = api.fb_body(model_id, 1, [api.datum(TOKENS)])
    bad["forward_backward_input"]["loss_fn"] = "nonsense"
    assert api.post("/api/v1/forward_backward", bad).status_code == 400
    # seq 2 must not wait for the rejected seq 1.
    result = api.result(api.submit("/api/v1/optim_step", _optim(model_id, 2)), timeout=20)
    assert result["metrics"]["optim_step:max"] == 1.0


def test_failures_are_reported_with_a_category(api: Any, model_id: str) -> None:
    body = {"model_id": model_id, "path": "category-dup"}
    assert "error" not in api.result(api.submit("/api/v1/save_weights", body))
    failed = api.result(api.submit("/api/v1/save_weights", body))  # the name exists
    assert set(failed) == {"error", "category"} and failed["category"] == "user"


def test_request_ids_are_private_and_validated(api: Any, other: Any, model_id: str) -> None:
    future = api.submit(
        "/api/v1/forward", api.fb_body(model_id, None, [api.datum(TOKENS)], "forward_input")
    )
    assert (
        other.post("/api/v1/retrieve_future", {"request_id": future["request_id"]}).status_code
        == 404
    )
    assert api.post("/api/v1/retrieve_future", {"request_id": "req-unknown"}).status_code == 404
    bad = api.post("/api/v1/retrieve_future", {"request": "x"})
    assert bad.status_code == 400 and bad.json()["field"] == "request_id"
    api.result(future)
