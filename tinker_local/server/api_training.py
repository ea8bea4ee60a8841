"""Model and training endpoints: create/get_info/unload, forward(_backward), optim_step, and the
weights endpoints (save, save for sampler, load, weights_info).

Every submitting endpoint answers an UntypedAPIFuture at once and queues a job on the model's
queue (ordered by seq_id). A resubmission with the same (model_id, seq_id) returns the same
request id. A rejected request whose model_id/seq_id could be read consumes its seq id.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.routing import Route
from tinker_api_client.models import (
    CreateModelRequest,
    CreateModelResponse,
    ForwardBackwardInput,
    ForwardBackwardRequest,
    ForwardRequest,
    GetInfoRequest,
    GetInfoResponse,
    LoadWeightsRequest,
    LoadWeightsResponse,
    ModelData,
    OptimStepRequest,
    OptimStepResponse,
    SaveWeightsForSamplerRequest,
    SaveWeightsForSamplerResponseInternal,
    SaveWeightsRequest,
    SaveWeightsResponse,
    UnloadModelRequest,
    UnloadModelResponse,
    WeightsInfoRequest,
    WeightsInfoResponse,
)

from .checkpoint_files import validate_checkpoint_name
from .checkpoint_ttl import check_save_options, make_room, record_save_options
from .compute import LoraArgs
from .create_via_load import check_optimizer_config, create_via_load
from .endpoint import (
    OFFLOAD_BYTES,
    check_body,
    endpoint,
    future_response,
    parse_model,
    read_body,
    read_raw_json,
)
from .errors import ApiError, UserError, access_token_refused, bad_request, shown
from .futures import JobFn
from .models import ModelHandle
from .protobuf_wire import (
    ProtoForwardBackward,
    UnreadableBody,
    decode_forward_backward,
    is_protobuf,
)
from .provenance import check_json_datum
from .state import Backend
from .store import RunRow, SamplerRow
from .validation import validate
from .wire import data_from_json, forward_output, metrics_to_wire, opt, opt_none

JobBuilder = Callable[[Backend, ModelHandle, Any], JobFn]
# (generated request model, what its job builder needs) from a validated body.
Parser = Callable[[Any], tuple[Any, Any]]
# The spec's bounds of lora_config.seed: what SQLite stores (and torch.manual_seed takes).
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1


def _consume_seq(backend: Backend, user: str, body: Any) -> None:
    """Let the model's queue skip a seq id whose request was rejected at submission."""
    if not isinstance(body, dict):
        return
    model_id, seq_id = body.get("model_id"), body.get("seq_id")
    if isinstance(model_id, str) and type(seq_id) is int:
        handle = backend.models.get(model_id)
        if handle is not None and handle.user == user:
            backend.registry.consume_seq(model_id, seq_id)


async def _submit_training(
    request: Request,
    backend: Backend,
    user: str,
    schema: str,
    model_cls: Any,
    request_type: str,
    build: JobBuilder,
    parse: Parser | None = None,
    *,
    build_in_store_thread: bool = False,
) -> dict[str, Any]:
    """Validate, deduplicate and queue a training request. `build(backend, handle, body)` makes
    its job; with `parse`, `body` is the second item of `parse(raw)` (the first is the generated
    model, for the model_id and seq_id)."""
    raw, size = await read_raw_json(request)
    try:
        await check_body(schema, raw, size)
        if parse is None:
            body = job_input = parse_model(model_cls, raw)
        else:
            body, job_input = parse(raw)
    except ApiError:
        _consume_seq(backend, user, raw)
        raise
    model_id: str = body.model_id
    seq_id = opt_none(getattr(body, "seq_id", None))
    return await _queue_training(
        backend,
        user,
        raw,
        model_id,
        seq_id,
        request_type,
        build,
        job_input,
        build_in_store_thread=build_in_store_thread,
    )


async def _queue_training(
    backend: Backend,
    user: str,
    raw: Any,
    model_id: str,
    seq_id: int | None,
    request_type: str,
    build: JobBuilder,
    job_input: Any,
    *,
    build_in_store_thread: bool = False,
) -> dict[str, Any]:
    """Deduplicate by (model_id, seq_id) and queue the job on the model's queue."""
    idem = ("train", model_id, seq_id) if seq_id is not None else None
    if idem is not None and (done := backend.registry.find(idem)) is not None and done.user == user:
        return future_response(done)
    try:
        if model_id in backend.models:  # in memory: no store access needed
            handle = backend.live_model(user, model_id)
        else:
            handle = await backend.db(backend.live_model, user, model_id)
        if build_in_store_thread:  # the builder looks things up in the store
            job = await backend.db(build, backend, handle, job_input)
        else:
            job = build(backend, handle, job_input)
    except ApiError:
        _consume_seq(backend, user, raw)
        raise
    backend.touch_run(model_id)
    record = backend.registry.submit(
        user=user,
        request_type=request_type,
        fn=job,
        model_id=model_id,
        queue=model_id,
        seq_id=seq_id,
        idem_key=idem,
    )
    return future_response(record)


# -- models -------------------------------------------------------------------------------------
async def create_model(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    raw = await read_body(request, "CreateModelRequest")
    check_optimizer_config(raw.get("optimizer_config"))
    body = parse_model(CreateModelRequest, raw)
    session = await backend.db(backend.own_session, user, body.session_id)
    backend.note_sdk_version(request, session.session_id)
    idem = ("create_model", user, session.session_id, body.model_seq_id)
    if (done := backend.registry.find(idem)) is not None:
        return future_response(done)

    lora_cfg = opt_none(body.lora_config)
    if lora_cfg is not None and not _seed_ok(opt_none(lora_cfg.seed)):
        # The schema's bounds, for a value the JSON parser read as a float (beyond 64 bits).
        raise bad_request(
            f"lora_config.seed: expected null or an integer in [{SEED_MIN}, {SEED_MAX}]",
            "lora_config.seed",
        )
    problem = _create_model_problem(backend, user, body.base_model, lora_cfg)
    if problem is not None:
        record = backend.registry.fail_now(
            user=user, request_type="create_model", message=problem, idem_key=idem
        )
        return future_response(record)

    assert lora_cfg is not None
    lora = LoraArgs(
        rank=lora_cfg.rank,
        seed=opt_none(lora_cfg.seed),
        train_mlp=opt(lora_cfg.train_mlp, True),
        train_attn=opt(lora_cfg.train_attn, True),
        train_unembed=opt(lora_cfg.train_unembed, True),
    )
    meta = opt_none(body.user_metadata)
    handle = ModelHandle(
        model_id=str(uuid.uuid4()),
        user=user,
        base_model=body.base_model,
        lora=lora,
        session_id=session.session_id,
        user_metadata=None if meta is None else meta.to_dict(),
    )

    def build() -> Any:
        trainer = backend.compute.new_trainer(handle.base_model, lora)
        backend.store.create_run(
            RunRow.new_model(
                handle.model_id,
                user,
                handle.session_id,
                handle.base_model,
                lora,
                handle.user_metadata,
            )
        )
        return trainer

    def job() -> dict[str, Any]:
        backend.create_model(handle, build)
        return CreateModelResponse(model_id=handle.model_id, type_="create_model").to_dict()

    backend.models[handle.model_id] = handle
    backend.registry.open_queue(handle.model_id, first_seq=0)
    record = backend.registry.submit(
        user=user,
        request_type="create_model",
        fn=job,
        model_id=handle.model_id,
        queue=handle.model_id,
        seq_id=0,
        idem_key=idem,
    )
    return future_response(record)


def _create_model_problem(
    backend: Backend, user: str, base_model: str, lora_cfg: Any
) -> str | None:
    """Why the model cannot be created (the caller's input or their caps), else None."""
    from tinker_local.engine.presets import PRESETS

    config = backend.config
    if base_model not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        return f"base_model: unknown model {shown(base_model)}; known models: {known}"
    if lora_cfg is None:
        return "lora_config: required; the local backend only trains LoRA adapters"
    if lora_cfg.rank > config.max_lora_rank:
        return f"lora_config.rank: at most {config.max_lora_rank} on this server"
    live = backend.live_models_of(user)
    if len(live) >= config.max_models_per_user:
        return (
            f"create_model: you already have {len(live)} models loaded, the most this server "
            f"allows per user ({config.max_models_per_user}); unload one (unload_model) or "
            "close the clients you no longer use"
        )
    total = sum(h.rank for h in live)
    if total + lora_cfg.rank > config.max_total_rank_per_user:
        return (
            f"lora_config.rank: your loaded models already use rank {total} of the "
            f"{config.max_total_rank_per_user} this server allows per user; a rank-"
            f"{lora_cfg.rank} model does not fit: unload a model or ask for a smaller rank"
        )
    return None


def _seed_ok(seed: object) -> bool:
    """Within the spec's bounds (a signed 64-bit integer: what SQLite stores)."""
    return seed is None or (type(seed) is int and SEED_MIN <= seed <= SEED_MAX)


async def get_info(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    body = parse_model(GetInfoRequest, await read_body(request, "GetInfoRequest"))
    found = await backend.db(backend.own_model, user, body.model_id)
    base_model = found.base_model
    rank = found.lora.rank if isinstance(found, ModelHandle) and found.lora else None
    if isinstance(found, RunRow):
        rank = found.lora_rank

    from tinker_local.engine.presets import PRESETS

    preset = PRESETS.get(base_model)
    data = ModelData(
        arch=None if preset is None else preset.arch,
        model_name=base_model,
        tokenizer_id=None if preset is None else preset.tokenizer_id,
    )
    return GetInfoResponse(
        model_data=data,
        model_id=body.model_id,
        type_="get_info",
        is_lora=rank is not None,
        lora_rank=rank,
        model_name=base_model,
    ).to_dict()


def _unload_job(backend: Backend, handle: ModelHandle, body: UnloadModelRequest) -> JobFn:
    def job() -> dict[str, Any]:
        if handle.status == "ready":
            handle.status, handle.trainer = "unloaded", None
        return UnloadModelResponse(model_id=handle.model_id, type_="unload_model").to_dict()

    return job


async def unload_model(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    return await _submit_training(
        request,
        backend,
        user,
        "UnloadModelRequest",
        UnloadModelRequest,
        "unload_model",
        _unload_job,
    )


# -- training -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _ForwardInput:
    """What a forward(_backward) job needs: the input's options, and its datums as the
    validated JSON (converted to arrays in the job, see `wire.data_from_json`)."""

    fb: ForwardBackwardInput  # with an empty `data`
    data: list[Any]
    field: str  # "forward_input" / "forward_backward_input", for messages


def _forward_parser(model_cls: Any, field: str) -> Parser:
    """Build the generated request model without its datums: generated objects for thousands
    of values cost more than all the rest of the request's handling."""

    def parse(raw: Any) -> tuple[Any, _ForwardInput]:
        inner = raw[field]
        body = parse_model(model_cls, {**raw, field: {**inner, "data": []}})
        return body, _ForwardInput(getattr(body, field), inner["data"], field)

    return parse


def _check_token_count(backend: Backend, inp: _ForwardInput) -> None:
    """At most `max_tokens_per_request` input tokens over all datums (checked at submission,
    so an oversized request fails at once instead of inside the job)."""
    limit = backend.config.max_tokens_per_request
    total = 0
    for i, datum in enumerate(inp.data):
        total += sum(len(chunk.get("tokens") or ()) for chunk in datum["model_input"]["chunks"])
        if total > limit:
            where = f"{inp.field}.data.{i}.model_input"
            raise bad_request(
                f"{where}: the request has more than {limit} input tokens, the most this "
                "server accepts in one request; split the batch",
                where,
            )


def _forward_job(backward: bool) -> JobBuilder:
    def build(backend: Backend, handle: ModelHandle, inp: _ForwardInput) -> JobFn:
        _check_token_count(backend, inp)
        for i, datum in enumerate(inp.data):  # provenance: checked, then left out
            check_json_datum(datum, f"{inp.field}.data.{i}")

        def job() -> dict[str, Any]:
            trainer = backend.require_trainer(handle)
            data = data_from_json(inp.data, f"{inp.field}.data")
            config = opt_none(inp.fb.loss_fn_config)
            cfg = None if config is None else dict(config.additional_properties)
            outputs, metrics = backend.compute.forward(
                trainer, data, str(inp.fb.loss_fn), cfg, backward
            )
            return forward_output(outputs, metrics)

        return job

    return build


async def forward(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    return await _submit_training(
        request,
        backend,
        user,
        "ForwardRequest",
        ForwardRequest,
        "forward",
        _forward_job(False),
        _forward_parser(ForwardRequest, "forward_input"),
    )


def _proto_forward_job(backend: Backend, handle: ModelHandle, inp: ProtoForwardBackward) -> JobFn:
    def job() -> dict[str, Any]:
        trainer = backend.require_trainer(handle)
        outputs, metrics = backend.compute.forward(
            trainer, inp.data, inp.loss_fn, inp.loss_fn_config, not inp.forward_only
        )
        return forward_output(outputs, metrics)

    return job


async def _submit_protobuf_forward(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    """A forward_backward body as protobuf (SDK 0.22+), maybe zstd-compressed; forward_only
    makes it a forward. Decoded straight to arrays (off the event loop when large)."""
    raw = await request.body()
    encoding = request.headers.get("content-encoding")
    try:
        if len(raw) > OFFLOAD_BYTES:
            decoded = await asyncio.to_thread(decode_forward_backward, raw, encoding)
        else:
            decoded = decode_forward_backward(raw, encoding)
    except UnreadableBody as e:
        if e.salvaged is not None:
            _consume_seq(backend, user, {"model_id": e.salvaged[0], "seq_id": e.salvaged[1]})
        raise
    ids = {"model_id": decoded.model_id, "seq_id": decoded.seq_id}
    try:
        validate("LossFnType", decoded.loss_fn, "loss_fn")
    except ApiError:
        _consume_seq(backend, user, ids)
        raise
    request_type = "forward" if decoded.forward_only else "forward_backward"
    return await _queue_training(
        backend,
        user,
        ids,
        decoded.model_id,
        decoded.seq_id,
        request_type,
        _proto_forward_job,
        decoded,
    )


async def forward_backward(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    if is_protobuf(request.headers.get("content-type")):
        return await _submit_protobuf_forward(request, backend, user)
    return await _submit_training(
        request,
        backend,
        user,
        "ForwardBackwardRequest",
        ForwardBackwardRequest,
        "forward_backward",
        _forward_job(True),
        _forward_parser(ForwardBackwardRequest, "forward_backward_input"),
    )


def _optim_job(backend: Backend, handle: ModelHandle, body: OptimStepRequest) -> JobFn:
    p = body.adam_params
    adam = {
        "learning_rate": float(opt(p.learning_rate, 1e-4)),
        "beta1": float(opt(p.beta1, 0.9)),
        "beta2": float(opt(p.beta2, 0.95)),
        "eps": float(opt(p.eps, 1e-12)),
        "weight_decay": float(opt(p.weight_decay, 0.0)),
        "grad_clip_norm": float(opt(p.grad_clip_norm, 0.0)),
    }

    def job() -> dict[str, Any]:
        metrics = backend.compute.optim_step(backend.require_trainer(handle), adam)
        return OptimStepResponse(metrics=metrics_to_wire(metrics)).to_dict()

    return job


async def optim_step(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    return await _submit_training(
        request, backend, user, "OptimStepRequest", OptimStepRequest, "optim_step", _optim_job
    )


# -- weights ------------------------------------------------------------------------------------
def _save_options(body: Any) -> dict[str, Any]:
    """A save request's SDK 0.38 fields (time to live, metadata, overwrite, kind), checked."""
    meta = opt_none(getattr(body, "user_metadata", None))
    options = {
        "path": opt_none(body.path),
        "ttl_seconds": opt_none(getattr(body, "ttl_seconds", None)),
        "user_metadata": None if meta is None else dict(meta.additional_properties),
        "overwrite": bool(opt(getattr(body, "overwrite", None), False)),
        "kind": opt(getattr(body, "kind", None), "snapshot"),
    }
    check_save_options(options, sampler=hasattr(body, "kind"))
    return options


def _requested_name(path: str | None) -> str | None:
    """A save's `path`: None or "" ask for a default name; anything else must be a valid
    checkpoint name, checked at submission (400 naming `path`)."""
    if not path:
        return None
    try:
        return validate_checkpoint_name(path)
    except UserError as e:
        raise bad_request(str(e), "path") from None


def _save_job(backend: Backend, handle: ModelHandle, body: SaveWeightsRequest) -> JobFn:
    requested = _requested_name(opt_none(body.path))
    options = _save_options(body)

    def job() -> dict[str, Any]:
        trainer = backend.require_trainer(handle)
        name = requested or backend.default_checkpoint_name(handle.model_id, "weights")
        make_room(backend, handle, "weights", name, options["overwrite"])
        row = backend.write_checkpoint(
            handle,
            "weights",
            name,
            lambda folder: backend.compute.save_training_state(trainer, folder),
        )
        record_save_options(backend, row.run_id, row.kind, row.name, options)
        return SaveWeightsResponse(path=row.tinker_path, type_="save_weights").to_dict()

    return job


async def save_weights(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    return await _submit_training(
        request, backend, user, "SaveWeightsRequest", SaveWeightsRequest, "save_weights", _save_job
    )


def _save_for_sampler_job(
    backend: Backend, handle: ModelHandle, body: SaveWeightsForSamplerRequest
) -> JobFn:
    path = opt_none(body.path)
    # No path: an ephemeral sampler; "" (as for save_weights): a default checkpoint name.
    requested = _requested_name(path)
    sampling_seq = opt_none(body.sampling_session_seq_id)
    options = _save_options(body)

    def save_named(trainer: Any, name: str) -> dict[str, Any]:
        make_room(backend, handle, "sampler_weights", name, options["overwrite"])
        row = backend.write_checkpoint(
            handle,
            "sampler_weights",
            name,
            lambda folder: backend.compute.save_sampler_weights(trainer, folder),
        )
        record_save_options(backend, row.run_id, row.kind, row.name, options)
        return SaveWeightsForSamplerResponseInternal(
            path=row.tinker_path, type_="save_weights_for_sampler"
        ).to_dict()

    def save_ephemeral(trainer: Any) -> dict[str, Any]:
        sampler_id = str(uuid.uuid4())
        files = backend.files
        staging = files.new_staging_dir(files.sampler_root)
        try:
            backend.compute.save_sampler_weights(trainer, staging)
        except BaseException:
            files.remove_dir(staging)
            raise
        files.commit_dir(staging, files.sampler_dir(sampler_id))
        backend.store.create_sampler(
            SamplerRow(
                sampler_id=sampler_id,
                user=handle.user,
                session_id=handle.session_id,
                sampling_session_seq_id=sampling_seq,
                base_model=handle.base_model,
                model_path=None,
                weights_dir=str(Path("samplers") / sampler_id),
                created_at=time.time(),
            )
        )
        return SaveWeightsForSamplerResponseInternal(
            sampling_session_id=sampler_id, type_="save_weights_for_sampler"
        ).to_dict()

    def job() -> dict[str, Any]:
        trainer = backend.require_trainer(handle)
        if path is None:
            return save_ephemeral(trainer)
        name = requested or backend.default_checkpoint_name(handle.model_id, "sampler_weights")
        return save_named(trainer, name)

    return job


async def save_weights_for_sampler(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    return await _submit_training(
        request,
        backend,
        user,
        "SaveWeightsForSamplerRequest",
        SaveWeightsForSamplerRequest,
        "save_weights_for_sampler",
        _save_for_sampler_job,
    )


def _load_job(backend: Backend, handle: ModelHandle, body: LoadWeightsRequest) -> JobFn:
    ckpt = backend.checkpoint_by_path(handle.user, body.path, "path")
    if ckpt.kind != "weights":
        raise bad_request(
            "path: expected a training checkpoint (tinker://<run>/weights/<name>); sampler "
            "weights cannot be loaded into a training client",
            "path",
        )
    optimizer = body.optimizer

    def job() -> dict[str, Any]:
        trainer = backend.require_trainer(handle)
        folder = backend.checkpoint_dir(ckpt)
        if backend.store.get_checkpoint(ckpt.run_id, ckpt.kind, ckpt.name) is None:
            raise UserError(f"path: checkpoint {ckpt.tinker_path} was deleted")
        backend.compute.load_training_state(trainer, folder, optimizer)
        return LoadWeightsResponse(path=body.path, type_="load_weights").to_dict()

    return job


# Fields of load_weights that only a model it creates (no model_id) can take, or none can.
_REFUSED_ON_A_LOADED_MODEL: dict[str, Callable[[], ApiError]] = {
    "optimizer_config": lambda: bad_request(
        "optimizer_config: only for a model that load_weights creates (without model_id); "
        "an existing model keeps its optimizer",
        "optimizer_config",
    ),
    "weights_access_token": lambda: access_token_refused("weights_access_token"),
}


async def load_weights(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    raw, size = await read_raw_json(request)
    if isinstance(raw, dict) and raw.get("model_id") is None:
        await check_body("LoadWeightsRequest", raw, size)
        return await create_via_load(backend, user, raw, request)
    for field, refusal in _REFUSED_ON_A_LOADED_MODEL.items():
        if isinstance(raw, dict) and raw.get(field) is not None:
            _consume_seq(backend, user, raw)  # later requests of the model must not wait for it
            raise refusal()
    return await _submit_training(
        request,
        backend,
        user,
        "LoadWeightsRequest",
        LoadWeightsRequest,
        "load_weights",
        _load_job,
        build_in_store_thread=True,
    )


async def weights_info(request: Request, backend: Backend, user: str) -> dict[str, Any]:
    body = parse_model(WeightsInfoRequest, await read_body(request, "WeightsInfoRequest"))
    run = await backend.db(_checkpoint_run, backend, user, body.tinker_path)
    return WeightsInfoResponse(
        base_model=run.base_model, is_lora=run.lora_rank is not None, lora_rank=run.lora_rank
    ).to_dict()


def _checkpoint_run(backend: Backend, user: str, tinker_path: str) -> RunRow:
    ckpt = backend.checkpoint_by_path(user, tinker_path, "tinker_path")
    run = backend.store.get_run(ckpt.run_id)
    if run is None:  # pragma: no cover - a checkpoint always has its run
        raise bad_request("tinker_path: the checkpoint's training run no longer exists")
    return run


def routes() -> list[Route]:
    post = ["POST"]
    return [  # the per-step ones first (routes are tried in turn)
        Route("/api/v1/forward_backward", endpoint(forward_backward), methods=post),
        Route("/api/v1/optim_step", endpoint(optim_step), methods=post),
        Route("/api/v1/forward", endpoint(forward), methods=post),
        Route("/api/v1/create_model", endpoint(create_model), methods=post),
        Route("/api/v1/get_info", endpoint(get_info), methods=post),
        Route("/api/v1/unload_model", endpoint(unload_model), methods=post),
        Route("/api/v1/load_weights", endpoint(load_weights), methods=post),
        Route("/api/v1/save_weights", endpoint(save_weights), methods=post),
        Route("/api/v1/save_weights_for_sampler", endpoint(save_weights_for_sampler), methods=post),
        Route("/api/v1/weights_info", endpoint(weights_info), methods=post),
    ]
