"""The 0.38 type surface end to end against the local backend, in both protocol modes
(protobuf: the backend as it is; JSON: behind a proxy that answers client/config 404, as a
0.7-era server): Datums made with `dataclasses.replace` train, and the results are
dataclasses too; provenance spans travel with their Datum (read back from the bodies sent),
change nothing of training, and bad ones are refused before anything is sent; sparse tensors
(`TensorData.from_torch_sparse`) ask for target prompt logprobs as dense ones do; the numpy
views of sampling results hold the values the lists do."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import zstandard
from tinker_proto import tinker_public_pb2 as pb

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


def _sent_spans(exchange: Exchange) -> list[dict[str, list[tuple[str, str, int, int]]]]:
    """The provenance spans of each datum of a forward_backward request, read from its body
    as sent (protobuf, maybe zstd; or JSON): (kind, sequence_id, offset, length) per span."""
    names = ("model_input_spans", "loss_fn_input_spans")
    if exchange.sent == "application/x-protobuf":
        body = exchange.body
        if exchange.encoding == "zstd":
            body = zstandard.ZstdDecompressor().decompress(body, max_output_size=1 << 26)
        msg = pb.ForwardBackwardRequest()
        msg.ParseFromString(body)
        out = []
        for datum in msg.data:
            spans = {}
            for name in names:
                spans[name] = []
                for span in getattr(datum, name):
                    kind = span.WhichOneof("span")
                    arm = getattr(span, kind)
                    spans[name].append((kind, arm.sequence_id, arm.offset, arm.length))
            out.append(spans)
        return out
    request = json.loads(exchange.body)
    return [
        {
            name: [
                (s["type"], s["sequence_id"], s.get("offset", 0), s["length"])
                for s in datum.get(name) or []
            ]
            for name in names
        }
        for datum in request["forward_backward_input"]["data"]
    ]


def test_provenance_spans_travel_with_the_datum_and_do_not_change_training(mode: Mode) -> None:
    training = mode.service.create_lora_training_client(MODEL, rank=4, seed=5).result()
    sampler = training.save_weights_and_get_sampling_client(f"spans-{mode.name}").result()
    prompt = list(b"where tokens come from")
    response = sampler.sample(
        types.ModelInput.from_ints(prompt), 1, types.SamplingParams(max_tokens=6, temperature=0.0)
    ).result()
    sequence = response.sequences[0]
    assert sequence.sequence_id  # the id the spans name
    sampled = sequence.tokens
    tokens = prompt + sampled
    datum = types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
    )
    # Inputs: the whole prompt, then all sampled tokens but the last; targets: the prompt
    # from its second token, then every sampled token.
    with_spans = datum.with_provenance(
        model_input=[
            types.PromptProvenanceSpan(sequence_id=sequence.sequence_id, length=len(prompt)),
            types.SampledProvenanceSpan(sequence_id=sequence.sequence_id, length=len(sampled) - 1),
        ],
        loss_fn_inputs=[
            types.PromptProvenanceSpan(
                sequence_id=sequence.sequence_id, offset=1, length=len(prompt) - 1
            ),
            types.SampledProvenanceSpan(sequence_id=sequence.sequence_id, length=len(sampled)),
        ],
    )
    assert datum.model_input_spans is None  # with_provenance returns a copy
    assert [s.length for s in with_spans.model_input_spans] == [len(prompt), len(sampled) - 1]

    plain_out = training.forward([datum], "cross_entropy").result()
    spans_out = training.forward_backward([with_spans], "cross_entropy").result()
    training.optim_step(types.AdamParams(learning_rate=1e-2)).result()
    after = training.forward([datum], "cross_entropy").result()
    # The spans are not trained on: the same loss as without them, and the step trained.
    assert spans_out.metrics["loss:sum"] == pytest.approx(plain_out.metrics["loss:sum"], rel=1e-6)
    assert after.metrics["loss:sum"] < plain_out.metrics["loss:sum"]

    (sent,) = _sent_spans(paths(mode.seen, FORWARD_BACKWARD)[-2 if mode.name == "protobuf" else -1])
    sid = sequence.sequence_id
    assert sent == {
        "model_input_spans": [
            ("prompt_tokens", sid, 0, len(prompt)),
            ("sampled_tokens", sid, 0, len(sampled) - 1),
        ],
        "loss_fn_input_spans": [
            ("prompt_tokens", sid, 1, len(prompt) - 1),
            ("sampled_tokens", sid, 0, len(sampled)),
        ],
    }
    assert mode.forward_backward_bodies() == {_expected_body(mode)}


def test_bad_spans_are_refused_before_sending(mode: Mode) -> None:
    training = mode.service.create_lora_training_client(MODEL, rank=4, seed=6).result()
    tokens = list(b"refused early")
    datum = types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:]},
    )
    n = len(tokens) - 1
    with pytest.raises(ValueError, match="cover 3 positions but the model input has"):
        datum.with_provenance(
            model_input=[types.SampledProvenanceSpan(sequence_id="s", length=3)],
            loss_fn_inputs=[types.SampledProvenanceSpan(sequence_id="s", length=n)],
        )
    before = len(mode.seen)
    bad = datum.with_provenance(
        model_input=[types.SampledProvenanceSpan(sequence_id="s", length=n)],
        loss_fn_inputs=[types.SampledProvenanceSpan(sequence_id="s", length=n)],
    )
    bad.model_input_spans[0].sequence_id = ""  # the types stay mutable: checked again at the call
    with pytest.raises(tinker.ValidationError) as refused:
        training.forward_backward([bad], "cross_entropy")
    assert refused.value.field == "data[0].model_input_spans[0].sequence_id"
    bad.loss_fn_input_spans = None
    bad.model_input_spans[0].sequence_id = "s"
    with pytest.raises(tinker.ValidationError) as lone:
        training.forward([bad], "cross_entropy")
    assert lone.value.field == "data[0].model_input_spans"
    assert len(mode.seen) == before  # nothing was sent


def test_sparse_target_prompt_logprobs_and_numpy_views(mode: Mode) -> None:
    import torch

    training = mode.service.create_lora_training_client(MODEL, rank=4, seed=7).result()
    sampler = training.save_weights_and_get_sampling_client(f"sparse-{mode.name}").result()
    text = list(b"sparse targets")
    prompt = types.ModelInput.from_ints(text)
    # Each position's actual next token in column 0, -1 (no id) in the 7 others: CSR is
    # smaller than dense, so from_torch_sparse chooses it.
    ids = torch.full((len(text) - 1, 8), -1, dtype=torch.long)
    ids[:, 0] = torch.tensor(text[1:])
    sparse = types.TensorData.from_torch_sparse(ids, pad_value=-1)
    assert sparse.sparse_crow_indices == list(range(len(text)))
    assert sparse.sparse_col_indices == [0] * (len(text) - 1) and sparse.data == text[1:]
    assert torch.equal(sparse.to_torch(pad_value=-1), ids)
    dense = types.TensorData.from_torch(ids)
    assert dense.sparse_crow_indices is None

    greedy = types.SamplingParams(max_tokens=3, temperature=0.0)
    results = [
        sampler.sample(
            prompt, 1, greedy, include_prompt_logprobs=True, target_prompt_logprobs=tensor
        ).result()
        for tensor in (dense, sparse)
    ]
    from_dense, from_sparse = (r.target_prompt_logprobs for r in results)
    assert from_dense is not None and from_sparse is not None
    assert from_dense.shape == from_sparse.shape == [len(text) - 1, 8]
    assert np.array_equal(from_dense.to_numpy(), from_sparse.to_numpy())
    # Column 0 holds the logprob of each actual next token: the prompt logprobs.
    prompt_lps = results[0].prompt_logprobs_np
    assert prompt_lps is not None and prompt_lps.dtype == np.float32 and np.isnan(prompt_lps[0])
    np.testing.assert_allclose(from_sparse.to_numpy()[:, 0], prompt_lps[1:], rtol=1e-5)
    assert not from_sparse.to_numpy()[:, 1:].any()  # 0.0 where the request had -1

    sequence = results[1].sequences[0]
    tokens, logprobs = sequence.tokens_np, sequence.logprobs_np
    assert tokens.dtype == np.int32 and tokens.tolist() == sequence.tokens
    assert logprobs is not None and logprobs.dtype == np.float32
    assert logprobs.tolist() == [float(np.float32(lp)) for lp in sequence.logprobs or []]


def test_topk_tables_as_numpy_matrices(mode: Mode) -> None:
    training = mode.service.create_lora_training_client(MODEL, rank=4, seed=8).result()
    sampler = training.save_weights_and_get_sampling_client(f"topk-{mode.name}").result()
    prompt = types.ModelInput.from_ints(list(b"top k tables"))
    response = sampler.sample(
        prompt,
        1,
        types.SamplingParams(max_tokens=4, temperature=0.0),
        include_prompt_logprobs=True,
        topk_prompt_logprobs=3,
        topk_sample_logprobs=2,
    ).result()
    sequence = response.sequences[0]
    table = sequence.topk_logprobs_np
    assert isinstance(table, types.TopkLogprobs)
    assert table.token_ids.dtype == np.int32 and table.logprobs.dtype == np.float32
    assert table.token_ids.shape == table.logprobs.shape == (len(sequence.tokens), 2)
    # The lists and the matrices hold the same entries (float32 in the matrices).
    rows = [[(t, float(np.float32(lp))) for t, lp in row] for row in sequence.topk_logprobs or []]
    assert types.topk_to_lists(table) == rows
    # Greedy: each sampled token is its step's most likely one.
    assert table.token_ids[:, 0].tolist() == sequence.tokens
    prompt_table = response.topk_prompt_logprobs_np
    assert prompt_table is not None and prompt_table.token_ids.shape == (prompt.length, 3)
    lists = types.topk_to_lists(prompt_table)
    assert lists[0] is None  # the first prompt token has no logprob, so no entries
    assert [len(row or []) for row in lists[1:]] == [3] * (prompt.length - 1)
    # A table without entries in a row pads it with token 0 and the mask logprob.
    assert prompt_table.token_ids[0].tolist() == [0, 0, 0]
    assert prompt_table.logprobs[0].tolist() == [-99999.0] * 3


def test_the_038_types_through_the_async_calls(mode: Mode) -> None:
    import torch

    async def run() -> tuple[Any, Any, Any, Any]:
        training = await mode.service.create_lora_training_client_async(MODEL, rank=4, seed=8)
        sampler = await training.save_weights_and_get_sampling_client_async(f"async-{mode.name}")
        text = list(b"async spans")
        greedy = types.SamplingParams(max_tokens=2, temperature=0.0)
        sampled = await sampler.sample_async(types.ModelInput.from_ints(text), 1, greedy)
        sequence = sampled.sequences[0]
        tokens = text + sequence.tokens
        base = types.Datum(
            model_input=types.ModelInput.from_ints(tokens[:-1]),
            loss_fn_inputs={"target_tokens": tokens[1:], "weights": [0.0] * (len(tokens) - 1)},
        )
        weighted = dataclasses.replace(
            base, loss_fn_inputs={**base.loss_fn_inputs, "weights": [1.0] * (len(tokens) - 1)}
        )
        annotated = weighted.with_provenance(
            model_input=[
                types.PromptProvenanceSpan(sequence_id=sequence.sequence_id, length=len(text)),
                types.SampledProvenanceSpan(sequence_id=sequence.sequence_id, length=1),
            ],
            loss_fn_inputs=[
                types.PromptProvenanceSpan(
                    sequence_id=sequence.sequence_id, offset=1, length=len(text) - 1
                ),
                types.SampledProvenanceSpan(sequence_id=sequence.sequence_id, length=2),
            ],
        )
        plain = await (await training.forward_async([weighted], "cross_entropy"))
        spans = await (await training.forward_backward_async([annotated], "cross_entropy"))
        ids = torch.full((len(text) - 1, 6), -1, dtype=torch.long)
        ids[:, 0] = torch.tensor(text[1:])
        target = await sampler.sample_async(
            types.ModelInput.from_ints(text),
            1,
            greedy,
            target_prompt_logprobs=types.TensorData.from_torch_sparse(ids, pad_value=-1),
        )
        return plain, spans, target, sequence

    plain, spans, target, sequence = asyncio.run(run())
    assert spans.metrics["loss:sum"] == pytest.approx(plain.metrics["loss:sum"], rel=1e-6)
    assert plain.metrics["loss:sum"] > 0.0
    assert dataclasses.asdict(spans)["metrics"] == dict(spans.metrics)
    assert target.target_prompt_logprobs.to_numpy().shape == (len(b"async spans") - 1, 6)
    assert (target.target_prompt_logprobs.to_numpy()[:, 0] < 0).all()
    assert sequence.tokens_np.tolist() == sequence.tokens
