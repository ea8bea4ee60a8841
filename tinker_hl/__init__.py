"""tinker-hl: a Python SDK for the Tinker fine-tuning API.

Scripts written for the official SDK run with `import tinker_hl as tinker`.
"""

from typing import TYPE_CHECKING

from . import types
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestFailedError,
    TinkerError,
    UnprocessableEntityError,
    ValidationError,
)
from ._futures import APIFuture, AwaitableConcurrentFuture, QueueState, QueueStateObserver
from ._module_tree import install_as_tinker, register_finder
from ._retry import RetryConfig
from ._sampling_client import SamplingClient
from ._service_client import ServiceClient
from ._training_client import TrainingClient
from ._version import __version__
from .types import (
    AdamOptimizerConfig,
    AdamParams,
    Checkpoint,
    CheckpointType,
    Datum,
    EncodedTextChunk,
    ForwardBackwardOutput,
    LoraConfig,
    ModelID,
    ModelInput,
    ModelInputChunk,
    OptimStepRequest,
    OptimStepResponse,
    ParsedCheckpointTinkerPath,
    PromptProvenanceSpan,
    SampledProvenanceSpan,
    SampledSequence,
    SampleRequest,
    SampleResponse,
    SamplingParams,
    StopReason,
    TensorData,
    TensorDtype,
    TrainingRun,
)

# `tinker_hl.types.tensor_data`, `tinker_hl.lib.public_interfaces`, ...: the official tree.
register_finder()


if TYPE_CHECKING:  # imported on first use (below); type checkers see the class
    from ._rest_client import RestClient as RestClient


def __getattr__(name: str) -> object:
    # RestClient pulls in nothing heavy, but keep the import lazy like the other optional parts.
    if name == "RestClient":
        from ._rest_client import RestClient

        return RestClient
    raise AttributeError(f"module 'tinker_hl' has no attribute {name!r}")


__all__ = [
    "APIConnectionError",
    "APIError",
    "APIFuture",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AdamOptimizerConfig",
    "AdamParams",
    "AuthenticationError",
    "AwaitableConcurrentFuture",
    "BadRequestError",
    "Checkpoint",
    "CheckpointType",
    "CircuitOpenError",
    "ConflictError",
    "Datum",
    "EncodedTextChunk",
    "ForwardBackwardOutput",
    "InternalServerError",
    "LoraConfig",
    "ModelID",
    "ModelInput",
    "ModelInputChunk",
    "NotFoundError",
    "OptimStepRequest",
    "OptimStepResponse",
    "ParsedCheckpointTinkerPath",
    "PermissionDeniedError",
    "PromptProvenanceSpan",
    "QueueState",
    "QueueStateObserver",
    "RateLimitError",
    "RequestFailedError",
    "RetryConfig",
    "SampleRequest",
    "SampleResponse",
    "SampledProvenanceSpan",
    "SampledSequence",
    "SamplingClient",
    "SamplingParams",
    "ServiceClient",
    "StopReason",
    "TensorData",
    "TensorDtype",
    "TinkerError",
    "TrainingClient",
    "TrainingRun",
    "UnprocessableEntityError",
    "ValidationError",
    "__version__",
    "install_as_tinker",
    "types",
]
