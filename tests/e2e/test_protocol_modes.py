"""The same research workload in both protocol modes, against the same local backend: protobuf
(the backend as it is: protobuf forward_backward bodies, zstd, forward as forward_only, protobuf
results) and JSON (the backend behind a proxy that answers client/config 404, as a 0.7-era
server). Training, sampling (with prompt logprobs and top-k tables), save/load, sync and async:
the results are identical value for value (as float32, the wire's precision: a JSON answer may
spell a float32 in its shortest decimal form, which reads back as another double), and each
mode used the wire format it should."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import tinker_hl as tinker
from tinker_hl import types

from .era_proxy import Exchange, paths, recording_proxy

MODEL = "local/tiny-llama"
PROMPT = types.ModelInput.from_ints(list(b"both modes"))


def _sft(text: bytes) -> types.Datum:
    tokens = list(text)
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
    )


def _rl(text: bytes) -> types.Datum:
    tokens = list(text)
    n = len(tokens) - 1
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={
            "target_tokens": tokens[1:],
            "logprobs": [-2.5 + 0.1 * i for i in range(n)],
            "advantages": [0.3 if i % 2 else -0.7 for i in range(n)],
        },
    )


def _top_k(text: bytes, k: int = 3) -> types.Datum:
    """cross_entropy's top-K form: K candidate targets per position, with weights."""
    tokens = list(text)
    n = len(tokens) - 1
    candidates = [[(t + j * 7) % 256 for j in range(k)] for t in tokens[1:]]
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={
            "target_tokens": types.TensorData(
                data=[c for row in candidates for c in row], dtype="int64", shape=[n, k]
            ),
            "weights": types.TensorData(data=[1.0 / k] * (n * k), dtype="float32", shape=[n, k]),
        },
    )


def _f32(value: Any) -> Any:
    """Every float as its float32 (exactly: no tolerance); other values unchanged."""
    if isinstance(value, float):
        return float(np.float32(value))
    if isinstance(value, list | tuple):
        return [_f32(v) for v in value]
    if isinstance(value, dict):
        return {k: _f32(v) for k, v in value.items()}
    return value


def _outputs(output: Any) -> list[dict[str, Any]]:
    """Every loss_fn_output of every datum: name -> (dtype, shape, data)."""
    return [
        {
            name: (str(tensor.dtype), list(tensor.shape), list(tensor.data))
            for name, tensor in sorted(per_datum.items())
        }
        for per_datum in output.loss_fn_outputs
    ]


def _fb(output: Any) -> dict[str, Any]:
    return {
        "type": output.loss_fn_output_type,
        "outputs": _outputs(output),
        "metrics": dict(output.metrics),
    }


def _sample(response: Any) -> dict[str, Any]:
    return {
        "sequences": [
            (s.stop_reason, list(s.tokens), s.logprobs, s.topk_logprobs) for s in response.sequences
        ],
        "prompt_logprobs": response.prompt_logprobs,
        "topk_prompt_logprobs": response.topk_prompt_logprobs,
        "prompt_alt_tokens": _alt(getattr(response, "prompt_alt_tokens", None)),
    }


def _alt(alt: Any) -> Any:
    if alt is None or type(alt).__name__ == "Unset":
        return None
    return {name: list(getattr(alt, name).data) for name in ("tokens", "logprobs")}


def _workload(service: tinker.ServiceClient) -> dict[str, Any]:
    got: dict[str, Any] = {}
    training = service.create_lora_training_client(MODEL, rank=4, seed=11).result()
    batch = [_sft(b"identical in both modes"), _sft(b"value for value")]
    got["fb"] = _fb(training.forward_backward(batch, "cross_entropy").result())
    step = training.optim_step(types.AdamParams(learning_rate=5e-3)).result()
    got["optim"] = dict(step.metrics or {})
    got["rl"] = _fb(
        training.forward_backward(
            [_rl(b"policy gradient"), _rl(b"ppo")], "ppo", {"clip_low_threshold": 0.7}
        ).result()
    )
    training.optim_step(types.AdamParams(learning_rate=5e-3)).result()
    got["top_k"] = _fb(
        training.forward_backward([_top_k(b"distilled"), _sft(b"mixed")], "cross_entropy").result()
    )
    assert got["top_k"]["outputs"][0]["logprobs"][1] == [8, 3]  # [N, K] logprobs came back
    got["forward"] = _fb(training.forward(batch, "cross_entropy").result())
    path = training.save_state("modes").result().path
    restored = service.create_training_client_from_state_with_optimizer(path).result()
    got["restored_forward"] = _fb(restored.forward(batch, "cross_entropy").result())
    sampler = training.save_weights_and_get_sampling_client("modes-sampler").result()
    greedy = types.SamplingParams(max_tokens=5, temperature=0.0)
    got["greedy"] = _sample(
        sampler.sample(
            PROMPT,
            2,
            greedy,
            include_prompt_logprobs=True,
            topk_prompt_logprobs=3,
            topk_sample_logprobs=2,
            prompt_alt_tokens_k=2,
        ).result()
    )
    seeded = types.SamplingParams(max_tokens=6, temperature=0.9, seed=5)
    got["seeded"] = _sample(sampler.sample(PROMPT, 3, seeded).result())
    got["logprobs"] = sampler.compute_logprobs(PROMPT).result()

    async def run_async() -> dict[str, Any]:
        fb = await training.forward_backward_async(batch, "cross_entropy")
        forward = await training.forward_async(batch, "cross_entropy")
        sampled = await sampler.sample_async(PROMPT, 1, greedy, include_prompt_logprobs=True)
        return {
            "fb": _fb(await fb),
            "forward": _fb(await forward),
            "sample": _sample(sampled),
        }

    got["async"] = asyncio.run(run_async())
    return got


Runs = dict[str, tuple[dict[str, Any], list[Exchange]]]


@pytest.fixture(scope="module")
def runs(local_server: Any, owner_key: str) -> Iterator[Runs]:
    results: Runs = {}
    for mode, as_07 in (("protobuf", False), ("json", True)):
        with recording_proxy(local_server.url, as_07=as_07) as (url, seen):
            service = tinker.ServiceClient(api_key=owner_key, base_url=url)
            try:
                assert service.holder.features.protobuf_requests is (not as_07)
                results[mode] = (_workload(service), list(seen))
            finally:
                service.close()
    yield results


def test_both_modes_give_identical_results(runs: dict[str, Any]) -> None:
    protobuf, json = runs["protobuf"][0], runs["json"][0]
    assert protobuf.keys() == json.keys()
    for key in protobuf:
        assert _f32(protobuf[key]) == _f32(json[key]), key
    # The workload really produced values (not two empty results).
    assert protobuf["fb"]["outputs"][0]["logprobs"][2]
    assert protobuf["greedy"]["topk_prompt_logprobs"][1]
    assert all(row for row in protobuf["greedy"]["sequences"][0][3])
    assert protobuf["greedy"]["prompt_logprobs"][0] is None
    assert protobuf["greedy"]["prompt_alt_tokens"]["tokens"]
    assert len({tuple(s[1]) for s in protobuf["seeded"]["sequences"]}) >= 1


def test_protobuf_mode_sends_and_reads_protobuf(runs: dict[str, Any]) -> None:
    seen: list[Exchange] = runs["protobuf"][1]
    fwdbwd = paths(seen, "/api/v1/forward_backward")
    # 4 forward_backward + 3 forward (sent as forward_only), all protobuf and zstd.
    assert len(fwdbwd) == 7
    assert {(e.sent, e.encoding) for e in fwdbwd} == {("application/x-protobuf", "zstd")}
    assert not paths(seen, "/api/v1/forward")
    polls = paths(seen, "/api/v1/retrieve_future")
    protobuf_answers = [e for e in polls if e.answered == "application/x-protobuf"]
    # Every forward/forward_backward and sample result (the others stay JSON).
    # Six outputs and four samples (two sync, compute_logprobs, one async); others JSON, the
    # top-K batch too (its [N, K] and [N] logprobs cannot share one protobuf ArrayRecord).
    assert len(protobuf_answers) == 6 + 4
    assert all("application/x-protobuf" in e.accept for e in protobuf_answers)


def test_json_mode_sends_and_reads_json(runs: dict[str, Any]) -> None:
    seen: list[Exchange] = runs["json"][1]
    assert len(paths(seen, "/api/v1/forward_backward")) == 4
    assert len(paths(seen, "/api/v1/forward")) == 3
    assert {e.sent for e in seen} == {"application/json"}
    assert {e.answered for e in seen} == {"application/json"}
    assert not [e for e in seen if "protobuf" in e.accept]
