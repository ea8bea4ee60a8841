"""A training client from a checkpoint in one request, where the server offers it
(`create_model_via_load_weights`): `load_weights` without a model_id creates the model
`"{session_id}:train:{model_seq_id}"` from the checkpoint and loads it, as the model's first
request. Other servers get weights_info + create_model + load_weights (see ServiceClient)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tinker_api_client.api.weights import load_weights
from tinker_api_client.models import (
    LoadWeightsRequest,
    LoadWeightsRequestUserMetadataType0,
    LoadWeightsResponse,
    UntypedAPIFuture,
)

from ._futures import poll_until_done
from ._training_client import TrainingClient

if TYPE_CHECKING:
    from ._from_state import FromState
    from ._holder import ClientHolder


def created_model_id(session_id: str, model_seq_id: int) -> str:
    """The id the server gives a model created by load_weights (not read back: the protocol
    defines it)."""
    return f"{session_id}:train:{model_seq_id}"


async def create_by_loading(holder: ClientHolder, state: FromState) -> TrainingClient:
    model_seq_id = holder.session.next_model_seq_id()
    request = LoadWeightsRequest(
        path=state.path,
        optimizer=state.restore_optimizer,
        session_id=holder.session_id,
        model_seq_id=model_seq_id,
    )
    # Only what is given goes on the wire (the server checks `base_model` against the checkpoint).
    if state.user_metadata is not None:
        request.user_metadata = LoadWeightsRequestUserMetadataType0.from_dict(
            dict(state.user_metadata)
        )
    if state.base_model is not None:
        request.base_model = state.base_model
    if state.optimizer is not None:
        request.optimizer_config = state.optimizer
    if state.access_token is not None:
        request.weights_access_token = state.access_token
    submitted_at = time.time()
    pipeline = holder.pipeline
    untyped = await pipeline.request("load_weights", load_weights, UntypedAPIFuture, body=request)
    await poll_until_done(
        pipeline,
        untyped.request_id,
        LoadWeightsResponse.from_dict,
        request_type="load_weights",
        submitted_at=submitted_at,
    )
    return TrainingClient(holder, model_seq_id, created_model_id(holder.session_id, model_seq_id))


__all__ = ["create_by_loading", "created_model_id"]
