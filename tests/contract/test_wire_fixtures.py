"""The generated models speak the 0.7.0 wire protocol: every JSON body the official SDK puts on the
wire (`wire_fixtures/`, copied from the shared reference so CI needs nothing outside the repo)
decodes into the generated model named by the file's prefix and re-encodes to the same JSON, with
absent fields staying absent; unions decode to the right variant."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import tinker_api_client.models as models
from tinker_api_client import Client
from tinker_api_client.api.futures import retrieve_future

HERE = Path(__file__).parent
FIXTURES = HERE / "wire_fixtures"
FILES = sorted(FIXTURES.glob("*.json"))


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def canonical(body: Any) -> str:
    """JSON text with sorted keys: tells 1 from 1.0 and a missing key from a null one."""
    return json.dumps(body, sort_keys=True, allow_nan=False)


def test_fixtures_are_present() -> None:
    assert len(FILES) > 100
    assert (FIXTURES / "README.md").is_file()


def test_the_copy_is_byte_for_byte_the_reference() -> None:
    """wire_fixtures.sha256 was taken from the shared reference when the copy was made."""
    sums = Path(__file__).with_name("wire_fixtures.sha256").read_text().splitlines()
    expected = dict(reversed(line.split(maxsplit=1)) for line in sums)
    actual = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in FIXTURES.iterdir()}
    assert actual == expected, "refresh tests/contract/wire_fixtures from the reference"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fixture_decodes_and_reencodes_identically(path: Path) -> None:
    cls = getattr(models, path.name.split(".")[0])
    body = json.loads(path.read_text())
    decoded = cls.from_dict(body)
    assert isinstance(decoded, cls)
    assert canonical(decoded.to_dict()) == canonical(body)
    again = cls.from_dict(json.loads(canonical(decoded.to_dict())))
    assert again == decoded


# ----- unions -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("chunk", "cls"),
    [
        ({"tokens": [1, 2]}, models.EncodedTextChunk),
        ({"tokens": [1, 2], "type": "encoded_text"}, models.EncodedTextChunk),
        ({"tokens": []}, models.EncodedTextChunk),
        (load("ImageChunk.min.json"), models.ImageChunk),
        (load("ImageChunk.full.json"), models.ImageChunk),
        (load("ImageAssetPointerChunk.min.json"), models.ImageAssetPointerChunk),
        (load("ImageAssetPointerChunk.full.json"), models.ImageAssetPointerChunk),
    ],
)
def test_model_input_chunks_decode_to_their_class(chunk: dict[str, Any], cls: type) -> None:
    mi = models.ModelInput.from_dict({"chunks": [chunk]})
    assert type(mi.chunks[0]) is cls
    assert mi.to_dict() == {"chunks": [chunk]}


def test_a_datum_from_from_ints_without_type_literals() -> None:
    body = load("Datum.min.json")
    datum = models.Datum.from_dict(body)
    assert all(isinstance(c, models.EncodedTextChunk) for c in datum.model_input.chunks)


def retrieve(body: Any) -> object:
    response = httpx.Response(200, json=body)
    return retrieve_future._parse_response(client=Client(base_url="http://test"), response=response)


@pytest.mark.parametrize(
    ("fixture", "cls"),
    [
        ("TryAgainResponse.realistic.json", models.TryAgainResponse),
        ("RequestFailedResponse.min.json", models.RequestFailedResponse),
        ("RequestFailedResponse.user.json", models.RequestFailedResponse),
        ("ForwardBackwardOutput.min.json", models.ForwardBackwardOutput),
        ("ForwardBackwardOutput.realistic.json", models.ForwardBackwardOutput),
        ("SampleResponse.realistic.json", models.SampleResponse),
        ("CreateModelResponse.min.json", models.CreateModelResponse),
        ("UnloadModelResponse.full.json", models.UnloadModelResponse),
        ("SaveWeightsResponse.full.json", models.SaveWeightsResponse),
        ("LoadWeightsResponse.full.json", models.LoadWeightsResponse),
        (
            "SaveWeightsForSamplerResponseInternal.full.json",
            models.SaveWeightsForSamplerResponseInternal,
        ),
    ],
)
def test_future_results_decode_to_the_right_variant(fixture: str, cls: type) -> None:
    body = load(fixture)
    result = retrieve(body)
    assert type(result) is cls
    assert canonical(result.to_dict()) == canonical(body)  # type: ignore[attr-defined]


def test_a_failure_body_is_never_taken_for_try_again() -> None:
    result = retrieve({"error": "boom", "category": "server"})
    assert isinstance(result, models.RequestFailedResponse)
    assert (result.error, result.category) == ("boom", "server")


@pytest.mark.parametrize(
    "fixture",
    [
        "OptimStepResponse.min.json",
        "OptimStepResponse.full.json",
        "SaveWeightsResponse.min.json",
        "LoadWeightsResponse.min.json",
        "UnloadModelResponse.min.json",
    ],
)
def test_ambiguous_results_still_decode_losslessly(fixture: str) -> None:
    """Bodies without a `type` literal and with only optional fields match an earlier variant
    (an optim_step result decodes as SaveWeightsForSamplerResponseInternal). No data is lost, but
    a client must decode a finished result with the type it asked for, not through the union."""
    body = load(fixture)
    result = retrieve(body)
    assert not isinstance(result, models.TryAgainResponse | models.RequestFailedResponse)
    assert canonical(result.to_dict()) == canonical(body)  # type: ignore[attr-defined]
    cls = getattr(models, fixture.split(".")[0])
    assert canonical(cls.from_dict(body).to_dict()) == canonical(body)


EVENT_BASE = {
    "event_id": "e-1",
    "event_session_index": 0,
    "severity": "INFO",
    "timestamp": "2026-01-01T00:00:00Z",
}


@pytest.mark.parametrize(
    ("event", "cls"),
    [
        ({**EVENT_BASE, "event": "SESSION_START"}, models.SessionStartEvent),
        ({**EVENT_BASE, "event": "SESSION_END", "duration": "PT5S"}, models.SessionEndEvent),
        (
            {**EVENT_BASE, "event": "UNHANDLED_EXCEPTION", "error_message": "x", "error_type": "E"},
            models.UnhandledExceptionEvent,
        ),
        (
            {**EVENT_BASE, "event": "GENERIC_EVENT", "event_name": "n", "event_data": {"k": 1}},
            models.GenericEvent,
        ),
        (load("UnhandledExceptionEvent.full.json"), models.UnhandledExceptionEvent),
        (load("SessionEndEvent.full.json"), models.SessionEndEvent),
        (load("SessionStartEvent.full.json"), models.SessionStartEvent),
    ],
)
def test_telemetry_events_decode_by_required_fields(event: dict[str, Any], cls: type) -> None:
    body = {**load("TelemetrySendRequest.min.json"), "events": [event]}
    request = models.TelemetrySendRequest.from_dict(body)
    assert type(request.events[0]) is cls
    assert canonical(request.to_dict()) == canonical(body)
