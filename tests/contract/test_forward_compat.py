"""A newer server may add fields and enum values. Unknown fields are kept (additional_properties)
and survive re-encoding; new values of the open enums (stop_reason, queue_state, error category,
checkpoint_type; declared `anyOf: [Known..., string]` in the spec on purpose) decode as plain
strings instead of failing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import tinker_api_client.models as models
from tinker_api_client import Client
from tinker_api_client.api.futures import retrieve_future

from tinker_hl import types

FIXTURES = Path(__file__).parent / "wire_fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def retrieve(body: Any) -> object:
    response = httpx.Response(200, json=body)
    return retrieve_future._parse_response(client=Client(base_url="http://test"), response=response)


NEW = {"added_in_v2": {"nested": [1, 2.5, None, "x"]}}


@pytest.mark.parametrize(
    "fixture",
    [
        "SampleResponse.realistic.json",
        "ForwardBackwardOutput.realistic.json",
        "TrainingRun.full.json",
        "Checkpoint.full.json",
        "GetInfoResponse.full.json",
        "TryAgainResponse.realistic.json",
        "RequestFailedResponse.user.json",
    ],
)
def test_unknown_top_level_fields_survive(fixture: str) -> None:
    cls = getattr(models, fixture.split(".")[0])
    body = {**load(fixture), **NEW}
    decoded = cls.from_dict(body)
    assert decoded.additional_properties == NEW
    assert decoded.to_dict() == body


def test_unknown_nested_fields_survive() -> None:
    body = load("SampleResponse.realistic.json")
    body["sequences"][0]["finish_detail"] = "eos"
    out = load("ForwardBackwardOutput.realistic.json")
    out["loss_fn_outputs"][0]["logprobs"]["device"] = "cuda:0"
    datum = load("Datum.full.json")
    datum["model_input"]["chunks"][0]["cache_hint"] = True

    sample = models.SampleResponse.from_dict(body)
    assert sample.sequences[0].additional_properties == {"finish_detail": "eos"}
    assert sample.to_dict() == body
    decoded = models.ForwardBackwardOutput.from_dict(out)
    assert decoded.loss_fn_outputs[0]["logprobs"]["device"] == "cuda:0"
    assert decoded.to_dict() == out
    assert types.Datum.from_dict(datum).to_dict() == datum


def test_a_new_loss_output_key_is_kept() -> None:
    out = load("ForwardBackwardOutput.realistic.json")
    out["loss_fn_outputs"][0]["entropy"] = {"data": [0.5], "dtype": "float32"}
    decoded = models.ForwardBackwardOutput.from_dict(out)
    assert decoded.loss_fn_outputs[0]["entropy"].tolist() == [0.5]
    assert decoded.to_dict() == out


def test_new_stop_reason() -> None:
    body = load("SampleResponse.realistic.json")
    body["sequences"][0]["stop_reason"] = "content_filter"
    result = retrieve(body)
    assert isinstance(result, models.SampleResponse)
    assert result.sequences[0].stop_reason == "content_filter"
    assert result.to_dict() == body


def test_new_queue_state_still_means_try_again() -> None:
    body = {**load("TryAgainResponse.realistic.json"), "queue_state": "paused_maintenance"}
    result = retrieve(body)
    assert isinstance(result, models.TryAgainResponse)
    assert result.queue_state == "paused_maintenance"
    assert result.to_dict() == body
    pending = models.PendingResponse.from_dict({"queue_state": "warming_up"})
    assert pending.queue_state == "warming_up"


def test_new_error_category_still_means_failure() -> None:
    body = {"error": "over quota", "category": "quota"}
    result = retrieve(body)
    assert isinstance(result, models.RequestFailedResponse)
    assert result.category == "quota"
    assert result.to_dict() == body
    assert models.ErrorResponse.from_dict({"error": "e", "category": "billing"}).category == (
        "billing"
    )


@pytest.mark.parametrize(
    "fixture", ["Checkpoint.full.json", "ParsedCheckpointTinkerPath.full.json"]
)
def test_new_checkpoint_type(fixture: str) -> None:
    cls = getattr(models, fixture.split(".")[0])
    body = {**load(fixture), "checkpoint_type": "archived"}
    decoded = cls.from_dict(body)
    assert decoded.checkpoint_type == "archived"
    assert decoded.to_dict() == body


def test_new_checkpoint_type_inside_lists() -> None:
    body = load("CheckpointsListResponse.full.json")
    body["checkpoints"][0]["checkpoint_type"] = "archived"
    decoded = models.CheckpointsListResponse.from_dict(body)
    assert decoded.checkpoints[0].checkpoint_type == "archived"
    assert decoded.to_dict() == body
