"""The official SDK's module tree under `tinker_hl`, and `install_as_tinker()`.

Research code imports from the official package's modules (`from tinker.types.tensor_data import
TensorData`, `from tinker.lib.public_interfaces import APIFuture`). Those modules exist here too,
as aliases: each name in the tables below is a module under `tinker_hl` holding the listed names,
taken from where tinker_hl defines them. They are built on first import by a finder on
`sys.meta_path` (one small table instead of ninety one-line files). The names per module are
those of the official 0.7.0 wheel; `tests/contract/test_module_tree.py` walks the installed
wheel and checks that every one of them imports from here.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence

__all__ = ["LIB_MODULES", "TYPES_MODULES", "install_as_tinker"]

TYPES_MODULES: dict[str, tuple[str, ...]] = {
    "auth_token_response": ("AuthTokenResponse",),
    "checkpoint": ("Checkpoint", "CheckpointType", "ParsedCheckpointTinkerPath"),
    "checkpoint_archive_url_response": ("CheckpointArchiveUrlResponse",),
    "checkpoints_list_response": ("Checkpoint", "CheckpointsListResponse", "Cursor"),
    "client_config_request": ("ClientConfigRequest",),
    "client_config_response": ("ClientConfigResponse",),
    "client_dynamic_config_response": ("ClientDynamicConfigResponse",),
    "copy_weights_request": ("CopyWeightsRequest",),
    "copy_weights_response": ("CopyWeightsResponse",),
    "create_model_request": (
        "AdamOptimizerConfig",
        "CreateModelRequest",
        "LoraConfig",
        "OptimizerConfig",
    ),
    "create_model_response": ("CreateModelResponse", "ModelID"),
    "create_sampling_session_request": ("CreateSamplingSessionRequest",),
    "create_sampling_session_response": ("CreateSamplingSessionResponse",),
    "create_session_request": ("CreateSessionRequest",),
    "create_session_response": ("CreateSessionResponse",),
    "cursor": ("Cursor",),
    "datum": (
        "Datum",
        "LossFnInputs",
        "ModelInput",
        "PromptProvenanceSpan",
        "ProvenanceSpans",
        "SampledProvenanceSpan",
        "TensorData",
    ),
    "encoded_text_chunk": ("EncodedTextChunk",),
    "event_type": ("EventType",),
    "forward_backward_input": ("Datum", "ForwardBackwardInput", "LossFnType"),
    "forward_backward_output": ("ForwardBackwardOutput", "LossFnOutput"),
    "forward_backward_request": ("ForwardBackwardInput", "ForwardBackwardRequest", "ModelID"),
    "forward_request": ("ForwardBackwardInput", "ForwardRequest", "ModelID"),
    "future_completion": ("FutureCompletion", "RequestID"),
    "future_retrieve_request": ("FutureRetrieveRequest", "RequestID"),
    "future_retrieve_response": (
        "CreateModelResponse",
        "ForwardBackwardOutput",
        "FutureRetrieveResponse",
        "LoadWeightsResponse",
        "OptimStepResponse",
        "RequestFailedResponse",
        "SaveWeightsForSamplerResponse",
        "SaveWeightsResponse",
        "UnloadModelResponse",
    ),
    "futures_retrieve_request": ("FuturesRetrieveRequest", "SamplingSessionFuturesTarget"),
    "futures_retrieve_response": ("FutureCompletion", "FuturesRetrieveResponse"),
    "generic_event": ("EventType", "GenericEvent", "Severity"),
    "get_info_request": ("GetInfoRequest", "ModelID"),
    "get_info_response": ("GetInfoResponse", "ModelData", "ModelID"),
    "get_sampler_response": ("GetSamplerResponse",),
    "get_server_capabilities_response": ("GetServerCapabilitiesResponse", "SupportedModel"),
    "get_session_response": ("GetSessionResponse", "ModelID"),
    "health_response": ("HealthResponse",),
    "image_asset_pointer_chunk": ("ImageAssetPointerChunk",),
    "image_chunk": ("ImageChunk",),
    "list_sessions_response": ("ListSessionsResponse",),
    "load_weights_request": ("LoadWeightsRequest", "ModelID", "OptimizerConfig"),
    "load_weights_response": ("LoadWeightsResponse",),
    "lora_config": ("LoraConfig",),
    "loss_fn_inputs": ("LossFnInputs", "TensorData"),
    "loss_fn_output": ("LossFnOutput", "TensorData"),
    "loss_fn_type": ("LossFnType",),
    "model_id": ("ModelID",),
    "model_input": ("EncodedTextChunk", "ModelInput", "ModelInputChunk"),
    "model_input_chunk": (
        "EncodedTextChunk",
        "ImageAssetPointerChunk",
        "ImageChunk",
        "ModelInputChunk",
    ),
    "optim_step_request": ("AdamParams", "ModelID", "OptimStepRequest"),
    "optim_step_response": ("OptimStepResponse",),
    "optimizer": ("AdamOptimizerConfig", "AdamParams", "DimuonOptimizerConfig", "OptimizerConfig"),
    "prompt_alt_tokens": ("PromptAltTokens", "TensorData"),
    "provenance_spans": ("PromptProvenanceSpan", "ProvenanceSpans", "SampledProvenanceSpan"),
    "request_error_category": ("RequestErrorCategory",),
    "request_failed_response": ("RequestErrorCategory", "RequestFailedResponse"),
    "request_id": ("RequestID",),
    "sample_request": ("ModelInput", "SampleRequest", "SamplingParams"),
    "sample_response": ("PromptAltTokens", "SampleResponse", "SampledSequence", "TensorData"),
    "sampled_sequence": ("SampledSequence", "StopReason"),
    "sampling_params": ("SamplingParams",),
    "save_weights_for_sampler_request": ("ModelID", "SaveWeightsForSamplerRequest"),
    "save_weights_for_sampler_response": (
        "SaveWeightsForSamplerResponse",
        "SaveWeightsForSamplerResponseInternal",
    ),
    "save_weights_request": ("ModelID", "SaveWeightsRequest"),
    "save_weights_response": ("ParsedCheckpointTinkerPath", "SaveWeightsResponse"),
    "session_end_event": ("EventType", "SessionEndEvent", "Severity"),
    "session_heartbeat_request": ("SessionHeartbeatRequest",),
    "session_heartbeat_response": ("SessionHeartbeatResponse",),
    "session_start_event": ("EventType", "SessionStartEvent", "Severity"),
    "severity": ("Severity",),
    "shared.untyped_api_future": ("ModelID", "RequestID", "UntypedAPIFuture"),
    "stop_reason": ("StopReason",),
    "telemetry_batch": ("TelemetryBatch", "TelemetryEvent"),
    "telemetry_event": (
        "SessionEndEvent",
        "SessionStartEvent",
        "TelemetryEvent",
        "UnhandledExceptionEvent",
    ),
    "telemetry_response": ("TelemetryResponse",),
    "telemetry_send_request": ("TelemetryEvent", "TelemetrySendRequest"),
    "tensor_data": ("TensorData", "TensorDtype"),
    "tensor_dtype": ("TensorDtype",),
    "topk_logprobs": ("TopkLogprobs", "topk_to_lists"),
    "training_run": ("Checkpoint", "TrainingRun"),
    "training_runs_response": ("Cursor", "TrainingRun", "TrainingRunsResponse"),
    "try_again_response": ("TryAgainResponse",),
    "unhandled_exception_event": ("EventType", "Severity", "UnhandledExceptionEvent"),
    "unload_model_request": ("ModelID", "UnloadModelRequest"),
    "unload_model_response": ("ModelID", "UnloadModelResponse"),
    "weights_info_response": ("AdamOptimizerConfig", "OptimizerConfig", "WeightsInfoResponse"),
}

# lib/ modules research code imports: module -> (where tinker_hl defines the names, the names).
LIB_MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "lib": ("tinker_hl", ()),
    "lib.public_interfaces": (
        "tinker_hl",
        (
            "APIFuture",
            "AwaitableConcurrentFuture",
            "SamplingClient",
            "ServiceClient",
            "TrainingClient",
        ),
    ),
    "lib.public_interfaces.api_future": ("tinker_hl", ("APIFuture", "AwaitableConcurrentFuture")),
    "lib.public_interfaces.rest_client": ("tinker_hl._rest_client", ("RestClient",)),
    "lib.public_interfaces.sampling_client": ("tinker_hl", ("SamplingClient",)),
    "lib.public_interfaces.service_client": ("tinker_hl", ("ServiceClient",)),
    "lib.public_interfaces.training_client": ("tinker_hl", ("TrainingClient",)),
    "lib.retry_handler": (
        "tinker_hl._retry",
        ("RetryConfig", "RetryHandler", "is_retryable_status_code"),
    ),
    "lib.retryable_exception": ("tinker_hl._retry", ("RetryableException",)),
    "lib.api_future_impl": ("tinker_hl._futures", ("QueueState", "QueueStateObserver")),
    "lib.chunked_fwdbwd_helpers": ("tinker_hl._chunking", ("combine_fwd_bwd_output_results",)),
}

_PACKAGES = frozenset({"lib", "lib.public_interfaces", "types.shared"})


def _table() -> dict[str, tuple[str, tuple[str, ...]]]:
    out = {f"types.{name}": ("tinker_hl.types", names) for name, names in TYPES_MODULES.items()}
    out["types.shared"] = ("tinker_hl.types", ())
    out.update(LIB_MODULES)
    return out


ALIASES = _table()


class _AliasModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and builds the alias modules `tinker_hl.<name>` of `ALIASES`."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        short = fullname.removeprefix("tinker_hl.")
        if short == fullname or short not in ALIASES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=short in _PACKAGES)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        source_name, names = ALIASES[module.__name__.removeprefix("tinker_hl.")]
        source = importlib.import_module(source_name)
        for name in names:
            setattr(module, name, getattr(source, name))
        module.__all__ = list(names)  # type: ignore[attr-defined]
        module.__doc__ = f"The official SDK's module of this name; the names live in {source_name}."
        if module.__spec__ is not None and module.__spec__.submodule_search_locations is not None:
            module.__path__ = []


_FINDER = _AliasModules()


def register_finder() -> None:
    """Put the finder on `sys.meta_path` (idempotent)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)


def install_as_tinker() -> None:
    """Make `import tinker` (and every `tinker.<module>` of the official tree) import tinker_hl,
    so unmodified code written for the official SDK runs on tinker_hl. Call it before anything
    imports `tinker`; raises ImportError if the official package is already imported."""
    tinker_hl = sys.modules["tinker_hl"]
    current = sys.modules.get("tinker")
    if current is not None and current is not tinker_hl:
        raise ImportError(
            "install_as_tinker(): the official `tinker` package is already imported "
            f"({getattr(current, '__file__', current)!r}); call tinker_hl.install_as_tinker() "
            "before the first `import tinker`"
        )
    register_finder()
    sys.modules["tinker"] = tinker_hl
    for short in ("types", *ALIASES):
        sys.modules[f"tinker.{short}"] = importlib.import_module(f"tinker_hl.{short}")
