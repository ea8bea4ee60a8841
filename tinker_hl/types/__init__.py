"""The wire types, under the names research code uses (`tinker.types.X`), plus conveniences.

Every class here except `Datum` IS the generated class from
`tinker_api_client.models` (attrs models with `from_dict` / `to_dict`; optional fields default
to `UNSET` and are omitted on the wire; unknown keys land in `additional_properties`; fields
named `type` / `format` are `type_` / `format_`). The conveniences research code expects
(`ModelInput.from_ints`, `TensorData.to_numpy`, ...) are methods of those classes, emitted by
codegen (`tinker_api_client.conveniences`); importing this package hands them the client's
functions that do the work: see `_conveniences.py`.

`Datum` is a thin subclass of the generated `Datum` whose constructor also accepts a dict of
lists / numpy arrays / torch tensors as `loss_fn_inputs` (kept a plain dict). Constructors copy
what they are given and take the official defaults; `ImageChunk.data` holds bytes: see
`_copying.py`.

The handwritten clients use the plain functions (`model_input_from_ints`, `tensor_to_numpy`,
`validate_datums`, `parse_tinker_path`, ...), which are typed for mypy.
"""

from __future__ import annotations

import importlib
from enum import StrEnum
from typing import TypeAlias

from tinker_api_client.models import (
    AdamParams,
    AuthTokenResponse,
    Checkpoint,
    CheckpointArchiveUrlResponse,
    CheckpointKind,
    CheckpointsListResponse,
    ClientConfigRequest,
    ClientConfigResponse,
    ClientDynamicConfigResponse,
    CopyWeightsRequest,
    CopyWeightsResponse,
    CreateModelRequest,
    CreateModelResponse,
    CreateSamplingSessionRequest,
    CreateSamplingSessionResponse,
    CreateSessionRequest,
    CreateSessionResponse,
    Cursor,
    EncodedTextChunk,
    ErrorResponse,
    EventType,
    ForwardBackwardInput,
    ForwardBackwardOutput,
    ForwardBackwardRequest,
    ForwardRequest,
    FutureCompletion,
    FutureRetrieveRequest,
    FuturesRetrieveRequest,
    FuturesRetrieveResponse,
    GenericEvent,
    GetInfoRequest,
    GetInfoResponse,
    GetSamplerResponse,
    GetServerCapabilitiesResponse,
    GetSessionResponse,
    HealthResponse,
    ImageAssetPointerChunk,
    ImageChunk,
    ImageFormat,
    KnownCheckpointType,
    KnownQueueState,
    KnownRequestErrorCategory,
    KnownStopReason,
    ListSessionsResponse,
    LoadWeightsRequest,
    LoadWeightsResponse,
    LoraConfig,
    LossFnConfig,
    LossFnInputs,
    LossFnOutput,
    LossFnType,
    Metrics,
    ModelData,
    ModelInput,
    OptimStepRequest,
    OptimStepResponse,
    ParsedCheckpointTinkerPath,
    PendingResponse,
    PromptAltTokens,
    PromptProvenanceSpan,
    RequestFailedResponse,
    SampledProvenanceSpan,
    SampledSequence,
    SampleRequest,
    SampleResponse,
    SamplingParams,
    SamplingSessionFuturesTarget,
    SaveWeightsForSamplerRequest,
    SaveWeightsForSamplerResponse,
    SaveWeightsForSamplerResponseInternal,
    SaveWeightsRequest,
    SaveWeightsResponse,
    SessionEndEvent,
    SessionHeartbeatRequest,
    SessionHeartbeatResponse,
    SessionStartEvent,
    Severity,
    SupportedModel,
    TelemetryBatch,
    TelemetryResponse,
    TelemetrySendRequest,
    TensorData,
    TensorDtype,
    TrainingRun,
    TrainingRunsResponse,
    TryAgainResponse,
    UnhandledExceptionEvent,
    UnloadModelRequest,
    UnloadModelResponse,
    UntypedAPIFuture,
    WeightsInfoRequest,
    WeightsInfoResponse,
)
from tinker_api_client.types import UNSET, Unset

from . import _conveniences, _copying
from ._datum import KEY_DTYPES, Datum, datum_from_tokens, to_loss_fn_inputs, to_tensor_data
from ._model_input import (
    ModelInputChunk,
    chunk_length,
    image_chunk_from_bytes,
    image_chunk_to_bytes,
    model_input_append,
    model_input_append_int,
    model_input_empty,
    model_input_from_ints,
    model_input_length,
    model_input_to_ints,
    token_list,
)
from ._optimizer import AdamOptimizerConfig, DimuonOptimizerConfig, OptimizerConfig
from ._paths import (
    CHECKPOINT_KINDS,
    checkpoint_type_for_kind,
    make_tinker_path,
    parse_tinker_path,
    split_checkpoint_id,
)
from ._provenance import ProvenanceSpans
from ._sampled import TopkLogprobs, topk_to_lists
from ._tensor import (
    infer_tensor_dtype,
    numpy_dtype_to_tensor_dtype,
    tensor_from_list,
    tensor_from_numpy,
    tensor_from_torch,
    tensor_to_numpy,
    tensor_to_torch,
    tensor_tolist,
)
from ._validation import (
    LOSS_FN_REQUIRED_KEYS,
    PER_TOKEN_KEYS,
    validate_adam_params,
    validate_datums,
    validate_lora,
    validate_lora_config,
    validate_loss_fn,
    validate_model_input,
    validate_sampling_params,
    validate_tensor_data,
)

_copying.install()
_conveniences.install()

ModelID: TypeAlias = str
RequestID: TypeAlias = str
StopReason: TypeAlias = KnownStopReason | str
"""Why sampling stopped: "length", "stop", or a value a newer server added."""
CheckpointType: TypeAlias = KnownCheckpointType | str
""""training" or "sampler", or a value a newer server added."""
QueueState: TypeAlias = KnownQueueState | str
FutureRetrieveResponse: TypeAlias = (
    TryAgainResponse
    | RequestFailedResponse
    | ForwardBackwardOutput
    | SampleResponse
    | CreateModelResponse
    | UnloadModelResponse
    | SaveWeightsForSamplerResponseInternal
    | SaveWeightsResponse
    | LoadWeightsResponse
    | OptimStepResponse
)
TelemetryEvent: TypeAlias = (
    UnhandledExceptionEvent | SessionEndEvent | GenericEvent | SessionStartEvent
)


class RequestErrorCategory(StrEnum):
    """Who is at fault when a request fails (compares equal to the wire strings)."""

    Unknown = "unknown"
    Server = "server"
    User = "user"


def __getattr__(name: str) -> object:
    # `tinker_hl.types.tensor_data` etc. (the official module tree) as attributes, like the
    # official package whose types/__init__ imports every module.
    from .._module_tree import TYPES_MODULES

    if name in TYPES_MODULES or name == "shared":
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CHECKPOINT_KINDS",
    "KEY_DTYPES",
    "LOSS_FN_REQUIRED_KEYS",
    "PER_TOKEN_KEYS",
    "UNSET",
    "AdamOptimizerConfig",
    "AdamParams",
    "AuthTokenResponse",
    "Checkpoint",
    "CheckpointArchiveUrlResponse",
    "CheckpointKind",
    "CheckpointType",
    "CheckpointsListResponse",
    "ClientConfigRequest",
    "ClientConfigResponse",
    "ClientDynamicConfigResponse",
    "CopyWeightsRequest",
    "CopyWeightsResponse",
    "CreateModelRequest",
    "CreateModelResponse",
    "CreateSamplingSessionRequest",
    "CreateSamplingSessionResponse",
    "CreateSessionRequest",
    "CreateSessionResponse",
    "Cursor",
    "Datum",
    "DimuonOptimizerConfig",
    "EncodedTextChunk",
    "ErrorResponse",
    "EventType",
    "ForwardBackwardInput",
    "ForwardBackwardOutput",
    "ForwardBackwardRequest",
    "ForwardRequest",
    "FutureCompletion",
    "FutureRetrieveRequest",
    "FutureRetrieveResponse",
    "FuturesRetrieveRequest",
    "FuturesRetrieveResponse",
    "GenericEvent",
    "GetInfoRequest",
    "GetInfoResponse",
    "GetSamplerResponse",
    "GetServerCapabilitiesResponse",
    "GetSessionResponse",
    "HealthResponse",
    "ImageAssetPointerChunk",
    "ImageChunk",
    "ImageFormat",
    "KnownCheckpointType",
    "KnownQueueState",
    "KnownRequestErrorCategory",
    "KnownStopReason",
    "ListSessionsResponse",
    "LoadWeightsRequest",
    "LoadWeightsResponse",
    "LoraConfig",
    "LossFnConfig",
    "LossFnInputs",
    "LossFnOutput",
    "LossFnType",
    "Metrics",
    "ModelData",
    "ModelID",
    "ModelInput",
    "ModelInputChunk",
    "OptimStepRequest",
    "OptimStepResponse",
    "OptimizerConfig",
    "ParsedCheckpointTinkerPath",
    "PendingResponse",
    "PromptAltTokens",
    "PromptProvenanceSpan",
    "ProvenanceSpans",
    "QueueState",
    "RequestErrorCategory",
    "RequestFailedResponse",
    "RequestID",
    "SampleRequest",
    "SampleResponse",
    "SampledProvenanceSpan",
    "SampledSequence",
    "SamplingParams",
    "SamplingSessionFuturesTarget",
    "SaveWeightsForSamplerRequest",
    "SaveWeightsForSamplerResponse",
    "SaveWeightsForSamplerResponseInternal",
    "SaveWeightsRequest",
    "SaveWeightsResponse",
    "SessionEndEvent",
    "SessionHeartbeatRequest",
    "SessionHeartbeatResponse",
    "SessionStartEvent",
    "Severity",
    "StopReason",
    "SupportedModel",
    "TelemetryBatch",
    "TelemetryEvent",
    "TelemetryResponse",
    "TelemetrySendRequest",
    "TensorData",
    "TensorDtype",
    "TopkLogprobs",
    "TrainingRun",
    "TrainingRunsResponse",
    "TryAgainResponse",
    "UnhandledExceptionEvent",
    "UnloadModelRequest",
    "UnloadModelResponse",
    "Unset",
    "UntypedAPIFuture",
    "WeightsInfoRequest",
    "WeightsInfoResponse",
    "checkpoint_type_for_kind",
    "chunk_length",
    "datum_from_tokens",
    "image_chunk_from_bytes",
    "image_chunk_to_bytes",
    "infer_tensor_dtype",
    "make_tinker_path",
    "model_input_append",
    "model_input_append_int",
    "model_input_empty",
    "model_input_from_ints",
    "model_input_length",
    "model_input_to_ints",
    "numpy_dtype_to_tensor_dtype",
    "parse_tinker_path",
    "split_checkpoint_id",
    "tensor_from_list",
    "tensor_from_numpy",
    "tensor_from_torch",
    "tensor_to_numpy",
    "tensor_to_torch",
    "tensor_tolist",
    "to_loss_fn_inputs",
    "to_tensor_data",
    "token_list",
    "topk_to_lists",
    "validate_adam_params",
    "validate_datums",
    "validate_lora",
    "validate_lora_config",
    "validate_loss_fn",
    "validate_model_input",
    "validate_sampling_params",
    "validate_tensor_data",
]
