"""`load_weights` without a model_id (SDK 0.30+ behind `create_model_via_load_weights`, 0.38
always): the request creates the model from a training checkpoint and loads it, as the model's
first request (seq 0). The model's id is `"{session_id}:train:{model_seq_id}"`, which the SDK
derives by itself without reading it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from tinker_api_client.models import LoadWeightsResponse

from .compute import LoraArgs
from .endpoint import future_response
from .errors import UserError, access_token_refused, bad_request
from .models import ModelHandle
from .state import Backend
from .store import CheckpointRow, RunRow

SUPPORTED_OPTIMIZERS = ("adamw",)


def model_id_for(session_id: str, model_seq_id: int) -> str:
    return f"{session_id}:train:{model_seq_id}"


def check_optimizer_config(config: Any, field: str = "optimizer_config") -> None:
    """Only AdamW is implemented: any other optimizer family is refused by name."""
    if config is None:
        return
    kind = config.get("type") if isinstance(config, dict) else None
    if kind not in SUPPORTED_OPTIMIZERS:
        raise bad_request(
            f"{field}.type: the local backend trains with AdamW only (type 'adamw'), got {kind!r}",
            f"{field}.type",
        )
    extra = sorted(set(config) - {"type"})
    if extra:
        raise bad_request(f"{field}: unexpected field(s) {extra} for adamw", f"{field}.{extra[0]}")


@dataclass(frozen=True)
class _Found:
    """What the store says about a create-via-load request (read in a store thread)."""

    session_id: str
    ckpt: CheckpointRow
    run: RunRow


def _look_up(
    backend: Backend, user: str, body: dict[str, Any], session_id: str, request: Request
) -> _Found:
    """The session, the checkpoint and its run; blocking store calls, in a store thread."""
    session = backend.own_session(user, session_id)
    backend.note_sdk_version(request, session.session_id)
    ckpt = backend.checkpoint_by_path(user, body["path"], "path")
    if ckpt.kind != "weights":
        raise bad_request(
            "path: expected a training checkpoint (tinker://<run>/weights/<name>)", "path"
        )
    run = backend.store.get_run(ckpt.run_id)
    if run is None:  # pragma: no cover - a checkpoint always has its run
        raise bad_request("path: the checkpoint's training run no longer exists", "path")
    return _Found(session.session_id, ckpt, run)


def _check_options(body: dict[str, Any]) -> bool:
    """The request's own options (no store needed); whether the optimizer state is loaded."""
    if body.get("weights_access_token") is not None:
        raise access_token_refused("weights_access_token")
    optimizer = bool(body["optimizer"])
    config = body.get("optimizer_config")
    check_optimizer_config(config)
    if optimizer and config is not None:
        raise bad_request(
            "optimizer_config: cannot be combined with optimizer=true (the restored optimizer "
            "state decides the optimizer)",
            "optimizer_config",
        )
    return optimizer


async def create_via_load(
    backend: Backend, user: str, body: dict[str, Any], request: Request
) -> dict[str, Any]:
    session_id, model_seq_id = body.get("session_id"), body.get("model_seq_id")
    if session_id is None or model_seq_id is None:
        field = "session_id" if session_id is None else "model_seq_id"
        raise bad_request(
            f"{field}: required when model_id is absent (load_weights then creates the model)",
            field,
        )
    session = await backend.db(backend.own_session, user, session_id)
    idem = ("create_model", user, session.session_id, model_seq_id)
    if (done := backend.registry.find(idem)) is not None:
        return future_response(done)
    optimizer = _check_options(body)
    found = await backend.db(_look_up, backend, user, body, session_id, request)
    ckpt, run = found.ckpt, found.run
    base_model = body.get("base_model")
    if base_model is not None and base_model != run.base_model:
        raise bad_request(
            f"base_model: the local backend cannot load a {run.base_model!r} checkpoint into "
            f"{base_model!r} (leave base_model out, or give the checkpoint's own)",
            "base_model",
        )
    if run.lora_rank is None:  # pragma: no cover - every local run is LoRA
        raise bad_request("path: the checkpoint is not a LoRA adapter", "path")
    lora = LoraArgs(
        rank=run.lora_rank,
        seed=run.seed,
        train_mlp=run.train_mlp,
        train_attn=run.train_attn,
        train_unembed=run.train_unembed,
    )
    model_id = model_id_for(found.session_id, model_seq_id)
    existing_run = await backend.db(backend.store.get_run, model_id)
    # Checked again after the store calls: a resubmission that arrived meanwhile may have
    # created the model; it is then the same request.
    if (done := backend.registry.find(idem)) is not None:
        return future_response(done)
    if model_id in backend.models or existing_run is not None:
        raise bad_request(
            f"model_seq_id: the session already has a model {model_id!r}", "model_seq_id"
        )
    meta = body.get("user_metadata")
    handle = ModelHandle(
        model_id=model_id,
        user=user,
        base_model=run.base_model,
        lora=lora,
        session_id=found.session_id,
        user_metadata=meta,
    )
    path = body["path"]

    def build() -> Any:
        trainer = backend.compute.new_trainer(handle.base_model, lora)
        if backend.store.get_checkpoint(ckpt.run_id, ckpt.kind, ckpt.name) is None:
            raise UserError(f"path: checkpoint {ckpt.tinker_path} was deleted")
        backend.compute.load_training_state(trainer, backend.checkpoint_dir(ckpt), optimizer)
        backend.store.create_run(
            RunRow.new_model(model_id, user, handle.session_id, handle.base_model, lora, meta)
        )
        return trainer

    def job() -> dict[str, Any]:
        backend.create_model(handle, build)  # a failed load keeps nothing of the model
        return LoadWeightsResponse(path=path, type_="load_weights").to_dict()

    backend.models[model_id] = handle
    backend.registry.open_queue(model_id, first_seq=0)
    record = backend.registry.submit(
        user=user,
        request_type="load_weights",
        fn=job,
        model_id=model_id,
        queue=model_id,
        seq_id=0,
        idem_key=idem,
    )
    return future_response(record)
