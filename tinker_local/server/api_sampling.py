"""Sampling endpoints: create_sampling_session and asample."""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any, TypeVar

import numpy as np
from starlette.requests import Request
from starlette.routing import Route
from tinker_api_client.models import (
    CreateSamplingSessionRequest,
    CreateSamplingSessionResponse,
    EncodedTextChunk,
    SampleRequest,
)

from .api_protocol import skip_if_cancelled
from .compute import SampleArgs, SampleOut
from .csr import CsrLayout, json_indices
from .endpoint import endpoint, future_response, parse_model, read_body
from .errors import UserError, bad_request, shown
from .samplers import SamplerTarget
from .state import Backend
from .store import SamplerRow
from .wire import opt, opt_none, sample_output, tensor_from_json, tokens_from_model_input

T = TypeVar("T")


def _check_base_model(name: str, field: str) -> None:
    from tinker_local.engine.presets import PRESETS

    if name not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        raise bad_request(f"{field}: unknown model {shown(name)}; known models: {known}", field)


async def create_sampling_session(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    body = parse_model(
        CreateSamplingSessionRequest, await read_body(request, "CreateSamplingSessionRequest")
    )
    sampler_id = await backend.db(_create_sampler, backend, user, body)
    backend.note_sdk_version(request, body.session_id)
    return CreateSamplingSessionResponse(
        sampling_session_id=sampler_id, type_="create_sampling_session"
    ).to_dict()


def _create_sampler(backend: Backend, user: str, body: CreateSamplingSessionRequest) -> str:
    """The new sampler's id (or the existing one's, for a retried creation); in a store thread."""
    session = backend.own_session(user, body.session_id)
    existing = backend.store.find_sampler(session.session_id, body.sampling_session_seq_id)
    if existing is not None:  # a retried creation: the same sampler
        return existing.sampler_id
    model_path, base_model = opt_none(body.model_path), opt_none(body.base_model)
    if model_path is not None:
        ckpt = backend.checkpoint_by_path(user, model_path, "model_path")
        run = backend.store.get_run(ckpt.run_id)
        if run is None:  # pragma: no cover - a checkpoint always has its run
            raise bad_request("model_path: the checkpoint's training run no longer exists")
        base_model = run.base_model
    elif base_model is not None:
        _check_base_model(base_model, "base_model")
    else:
        raise bad_request("base_model: required unless model_path is given", "base_model")
    row = SamplerRow(
        sampler_id=str(uuid.uuid4()),
        user=user,
        session_id=session.session_id,
        sampling_session_seq_id=body.sampling_session_seq_id,
        base_model=base_model,
        model_path=model_path,
        weights_dir=None,
        created_at=time.time(),
    )
    backend.store.create_sampler(row)
    return row.sampler_id


# One request's samples share a KV cache: bounded so that no request can exhaust memory.
MAX_NUM_SAMPLES = 128
# Below this, logits / temperature overflow float32; the limit of sampling as T -> 0 is greedy.
MIN_TEMPERATURE = 1e-30


def _sample_args(
    body: SampleRequest, prompt: list[int], target_ids: np.ndarray | None
) -> SampleArgs:
    params = body.sampling_params
    stop = opt_none(params.stop)
    num_samples = opt(body.num_samples, 1)
    if num_samples > MAX_NUM_SAMPLES:
        raise UserError(f"num_samples: at most {MAX_NUM_SAMPLES} per request, got {num_samples}")
    temperature = float(opt(params.temperature, 1.0))
    if 0.0 < temperature < MIN_TEMPERATURE:
        temperature = 0.0
    return SampleArgs(
        prompt=prompt,
        num_samples=num_samples,
        max_tokens=opt_none(params.max_tokens),
        temperature=temperature,
        top_k=opt(params.top_k, -1),
        top_p=float(opt(params.top_p, 1.0)),
        seed=opt_none(params.seed),
        stop=list(stop) if isinstance(stop, list) else stop,
        include_prompt_logprobs=bool(opt(body.prompt_logprobs, False)),
        topk_prompt_logprobs=opt(body.topk_prompt_logprobs, 0),
        topk_sample_logprobs=opt(body.topk_sample_logprobs, 0),
        target_prompt_ids=target_ids,
        prompt_alt_tokens_k=opt(body.prompt_alt_tokens_k, 0),
    )


def _check_prompt_length(backend: Backend, body: SampleRequest) -> None:
    """At most `max_tokens_per_request` prompt tokens (checked at submission)."""
    limit = backend.config.max_tokens_per_request
    count = sum(len(getattr(chunk, "tokens", None) or ()) for chunk in body.prompt.chunks)
    if count > limit:
        raise bad_request(
            f"prompt: {count} tokens, more than the {limit} this server accepts in one request",
            "prompt",
        )


def _refuse_unsupported(body: SampleRequest) -> None:
    """SDK 0.38's sampling options the local sampler does not implement: named, never ignored."""
    if opt(body.record_stability_info, False) is True:
        field = "record_stability_info"
        raise bad_request(f"{field}: not supported by the local backend (got true)", field)
    alt_k = opt(body.prompt_alt_tokens_k, 0)
    if isinstance(alt_k, bool) or not isinstance(alt_k, int) or alt_k < 0:
        field = "prompt_alt_tokens_k"
        raise bad_request(f"{field}: expected an integer >= 0, got {shown(alt_k)}", field)
    last_n = opt_none(body.prompt_logprobs_last_n)
    if last_n is not None:
        if not opt(body.prompt_logprobs, False):
            raise bad_request(
                "prompt_logprobs_last_n: needs prompt_logprobs=true", "prompt_logprobs_last_n"
            )
        prompt_len = _prompt_tokens(body)
        if last_n > prompt_len - 1:
            raise bad_request(
                f"prompt_logprobs_last_n: at most len(prompt) - 1 = {prompt_len - 1}, got {last_n}",
                "prompt_logprobs_last_n",
            )


def _blank_before(values: list[T | None] | None, last_n: int) -> list[T | None] | None:
    if values is None:
        return None
    kept: list[T | None] = [None] * max(0, len(values) - last_n)
    return kept + list(values[-last_n:])


def _keep_last(out: SampleOut, last_n: int | None) -> SampleOut:
    """prompt_logprobs_last_n: the prompt's earlier entries become None (not scored)."""
    if last_n is None:
        return out
    return dataclasses.replace(
        out,
        prompt_logprobs=_blank_before(out.prompt_logprobs, last_n),
        topk_prompt_logprobs=_blank_before(out.topk_prompt_logprobs, last_n),
    )


def _target_ids(raw: Any, body: SampleRequest) -> tuple[np.ndarray, CsrLayout | None] | None:
    """target_prompt_logprobs as a dense int64 [len(prompt) - 1, K] array (-1 = nothing asked,
    also in every cell a sparse tensor leaves out) and that tensor's CSR layout, if sparse."""
    tensor = raw.get("target_prompt_logprobs") if isinstance(raw, dict) else None
    if tensor is None:
        return None
    field = "target_prompt_logprobs"
    shape = tensor.get("shape")
    if tensor.get("dtype") != "int64" or shape is None or len(shape) != 2:
        raise bad_request(
            f"{field}: expected an int64 tensor of shape [len(prompt) - 1, K], "
            f"got dtype {shown(tensor.get('dtype'))} and shape {shown(shape)}",
            field,
        )
    rows = _prompt_tokens(body) - 1
    if shape[0] != rows:
        raise bad_request(f"{field}: {shape[0]} rows, expected len(prompt) - 1 = {rows}", field)
    try:
        ids = tensor_from_json(tensor, field, pad=-1)
        layout = json_indices(tensor, field)
    except UserError as e:
        raise bad_request(str(e), field) from None
    return ids, layout


def _prompt_tokens(body: SampleRequest) -> int:
    return sum(len(c.tokens) for c in body.prompt.chunks if isinstance(c, EncodedTextChunk))


async def asample(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    raw = await read_body(request, "SampleRequest")
    body = parse_model(SampleRequest, raw)
    _check_prompt_length(backend, body)
    _refuse_unsupported(body)
    target = _target_ids(raw, body)
    target_ids, target_layout = target if target is not None else (None, None)
    last_n = opt_none(body.prompt_logprobs_last_n)
    sampler_id = opt_none(body.sampling_session_id)
    model_path, base_model = opt_none(body.model_path), opt_none(body.base_model)
    seq_id = opt_none(body.seq_id)
    idem = None
    row: SamplerRow | None = None
    sampler_target: SamplerTarget | None = None
    if sampler_id is not None:
        row = await backend.db(backend.own_sampler, user, sampler_id)
        if seq_id is not None:
            idem = ("sample", sampler_id, seq_id)
            if (done := backend.registry.find(idem)) is not None:
                return sample_future_response(done, opt(body.num_samples, 1))
    elif model_path is not None:
        sampler_target = await backend.db(backend.checkpoint_sampler_target, user, model_path)
    elif base_model is not None:
        _check_base_model(base_model, "base_model")
        sampler_target = SamplerTarget(f"base:{base_model}", base_model)
    else:
        raise bad_request(
            "sampling_session_id: one of sampling_session_id, model_path or base_model is required",
            "sampling_session_id",
        )

    box: list[Any] = []  # the request's record, for the cancellation check

    def job() -> dict[str, Any]:
        skip_if_cancelled(box)
        if sampler_target is not None:
            resolved = sampler_target
        else:
            assert row is not None
            resolved = backend.sampler_target(row)
        prompt = tokens_from_model_input(body.prompt, "prompt")
        args = _sample_args(body, prompt, target_ids)
        sampler = backend.build_sampler(resolved)
        out = _keep_last(backend.compute.sample(sampler, args), last_n)
        return sample_output(out, target_layout)

    record = backend.registry.submit(user=user, request_type="sample", fn=job, idem_key=idem)
    if not box:
        box.append(record)
        if sampler_id is not None:
            backend.sampling_log.add(sampler_id, record)
    return sample_future_response(record, opt(body.num_samples, 1))


def sequence_ids(request_id: str, num_samples: int) -> list[str]:
    """The ids of a sample request's sequences (SDK 0.26+ stamps them on SampledSequence):
    derived from the request id, so a resubmission answered with the same request gets the
    same ids, and unique across requests."""
    return [f"{request_id}-s{i}" for i in range(num_samples)]


def sample_future_response(record: Any, num_samples: int) -> dict[str, Any]:
    # A request over the cap fails without sequences: it gets no ids (and no huge list).
    num_samples = num_samples if 0 < num_samples <= MAX_NUM_SAMPLES else 0
    return {
        **future_response(record),
        "sample_sequence_ids": sequence_ids(record.request_id, num_samples),
    }


def routes() -> list[Route]:
    return [
        Route("/api/v1/asample", endpoint(asample), methods=["POST"]),
        Route(
            "/api/v1/create_sampling_session",
            endpoint(create_sampling_session),
            methods=["POST"],
        ),
    ]
