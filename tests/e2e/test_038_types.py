"""The 0.38 type surface end to end against the local backend, in both protocol modes
(protobuf: the backend as it is; JSON: behind a proxy that answers client/config 404, as a
0.7-era server): Datums made with `dataclasses.replace` train, and the results are
dataclasses too."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

import tinker_hl as tinker
from tinker_hl import types

from .era_proxy import Exchange, paths, recording_proxy

MODEL = "local/tiny-llama"
FORWARD_BACKWARD = "/api/v1/forward_backward"


@dataclasses.dataclass
class Mode:
    name: str
    service: tinker.ServiceClient
    seen: list[Exchange]

    def forward_backward_bodies(self) -> set[str]:
        """The media types of the forward_backward requests sent so far."""
        return {e.sent for e in paths(self.seen, FORWARD_BACKWARD)}


@pytest.fixture(scope="module", params=["protobuf", "json"])
def mode(request: pytest.FixtureRequest, local_server: Any, owner_key: str) -> Iterator[Mode]:
    with recording_proxy(local_server.url, as_07=request.param == "json") as (url, seen):
        service = tinker.ServiceClient(api_key=owner_key, base_url=url)
        try:
            assert service.holder.features.protobuf_requests is (request.param == "protobuf")
            yield Mode(request.param, service, seen)
        finally:
            service.close()


def _expected_body(mode: Mode) -> str:
    return "application/x-protobuf" if mode.name == "protobuf" else "application/json"


def test_a_datum_made_by_replace_trains(mode: Mode) -> None:
    training = mode.service.create_lora_training_client(MODEL, rank=4, seed=3).result()
    tokens = list(b"replace() keeps value semantics")
    n = len(tokens) - 1
    unweighted = types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [0.0] * n},
    )
    weights = [1.0] * n
    weighted = dataclasses.replace(
        unweighted, loss_fn_inputs={**unweighted.loss_fn_inputs, "weights": weights}
    )
    weights.clear()  # the replaced Datum holds its own copy
    assert unweighted.loss_fn_inputs["weights"].data == [0.0] * n

    first = training.forward_backward([unweighted], "cross_entropy").result()
    assert first.metrics["loss:sum"] == 0.0  # no weight, no loss
    losses = []
    for _ in range(4):
        output = training.forward_backward([weighted], "cross_entropy").result()
        training.optim_step(types.AdamParams(learning_rate=5e-3)).result()
        losses.append(output.metrics["loss:sum"])
    assert losses[0] > 0.0 and losses[-1] < losses[0]
    assert mode.forward_backward_bodies() == {_expected_body(mode)}

    # What the backend returns is a dataclass as well.
    assert dataclasses.is_dataclass(output)
    plain = dataclasses.asdict(output)
    assert plain["metrics"]["loss:sum"] == losses[-1]
    assert len(plain["loss_fn_outputs"][0]["logprobs"]["data"]) == n
    relabelled = dataclasses.replace(output, loss_fn_output_type="relabelled")
    assert relabelled.metrics == output.metrics and output.loss_fn_output_type != "relabelled"

    sampler = training.save_weights_and_get_sampling_client(f"replace-{mode.name}").result()
    response = sampler.sample(
        types.ModelInput.from_ints(tokens[:4]),
        2,
        types.SamplingParams(max_tokens=3, temperature=0.0),
    ).result()
    first_sequence = response.sequences[0]
    shortened = dataclasses.replace(first_sequence, tokens=first_sequence.tokens[:1])
    assert shortened.tokens == first_sequence.tokens[:1]
    assert shortened.sequence_id == first_sequence.sequence_id
    assert len(dataclasses.replace(response, sequences=[shortened]).sequences) == 1
    assert len(response.sequences) == 2
