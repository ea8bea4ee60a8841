"""Contains all the data models used in inputs/outputs"""

from .access_scope import AccessScope
from .adam_params import AdamParams
from .auth_token_request import AuthTokenRequest
from .auth_token_response import AuthTokenResponse
from .cancel_future_request import CancelFutureRequest
from .cancel_future_response import CancelFutureResponse
from .checkpoint import Checkpoint
from .checkpoint_archive_url_response import CheckpointArchiveUrlResponse
from .checkpoint_kind import CheckpointKind
from .checkpoint_user_metadata_type_0 import CheckpointUserMetadataType0
from .checkpoints_list_response import CheckpointsListResponse
from .client_config_request import ClientConfigRequest
from .client_config_response import ClientConfigResponse
from .client_config_response_credential_default_source import (
    ClientConfigResponseCredentialDefaultSource,
)
from .client_dynamic_config_response import ClientDynamicConfigResponse
from .copy_weights_request import CopyWeightsRequest
from .copy_weights_response import CopyWeightsResponse
from .create_model_request import CreateModelRequest
from .create_model_request_type import CreateModelRequestType
from .create_model_request_user_metadata_type_0 import (
    CreateModelRequestUserMetadataType0,
)
from .create_model_response import CreateModelResponse
from .create_model_response_type import CreateModelResponseType
from .create_sampling_session_request import CreateSamplingSessionRequest
from .create_sampling_session_request_type import CreateSamplingSessionRequestType
from .create_sampling_session_response import CreateSamplingSessionResponse
from .create_sampling_session_response_type import CreateSamplingSessionResponseType
from .create_session_request import CreateSessionRequest
from .create_session_request_type import CreateSessionRequestType
from .create_session_request_user_metadata_type_0 import (
    CreateSessionRequestUserMetadataType0,
)
from .create_session_response import CreateSessionResponse
from .create_session_response_type import CreateSessionResponseType
from .cursor import Cursor
from .datum import Datum
from .encoded_text_chunk import EncodedTextChunk
from .encoded_text_chunk_type import EncodedTextChunkType
from .error_response import ErrorResponse
from .event_type import EventType
from .finish_reason import FinishReason
from .finish_session_request import FinishSessionRequest
from .finish_session_response import FinishSessionResponse
from .forward_backward_input import ForwardBackwardInput
from .forward_backward_output import ForwardBackwardOutput
from .forward_backward_request import ForwardBackwardRequest
from .forward_request import ForwardRequest
from .future_completion import FutureCompletion
from .future_completion_state import FutureCompletionState
from .future_retrieve_request import FutureRetrieveRequest
from .futures_retrieve_request import FuturesRetrieveRequest
from .futures_retrieve_response import FuturesRetrieveResponse
from .generic_event import GenericEvent
from .generic_event_event_data import GenericEventEventData
from .get_info_request import GetInfoRequest
from .get_info_request_type import GetInfoRequestType
from .get_info_response import GetInfoResponse
from .get_info_response_type import GetInfoResponseType
from .get_sampler_response import GetSamplerResponse
from .get_server_capabilities_response import GetServerCapabilitiesResponse
from .get_session_response import GetSessionResponse
from .get_session_response_user_metadata_type_0 import (
    GetSessionResponseUserMetadataType0,
)
from .health_response import HealthResponse
from .health_response_status import HealthResponseStatus
from .image_asset_pointer_chunk import ImageAssetPointerChunk
from .image_asset_pointer_chunk_type import ImageAssetPointerChunkType
from .image_chunk import ImageChunk
from .image_chunk_type import ImageChunkType
from .image_format import ImageFormat
from .known_checkpoint_type import KnownCheckpointType
from .known_finish_reason_type import KnownFinishReasonType
from .known_queue_state import KnownQueueState
from .known_request_error_category import KnownRequestErrorCategory
from .known_stop_reason import KnownStopReason
from .list_sessions_response import ListSessionsResponse
from .load_weights_request import LoadWeightsRequest
from .load_weights_request_type import LoadWeightsRequestType
from .load_weights_request_user_metadata_type_0 import (
    LoadWeightsRequestUserMetadataType0,
)
from .load_weights_response import LoadWeightsResponse
from .load_weights_response_type import LoadWeightsResponseType
from .lora_config import LoraConfig
from .loss_fn_config import LossFnConfig
from .loss_fn_inputs import LossFnInputs
from .loss_fn_output import LossFnOutput
from .loss_fn_type import LossFnType
from .metrics import Metrics
from .model_data import ModelData
from .model_input import ModelInput
from .optim_step_request import OptimStepRequest
from .optim_step_request_type import OptimStepRequestType
from .optim_step_response import OptimStepResponse
from .optimizer_config import OptimizerConfig
from .parsed_checkpoint_tinker_path import ParsedCheckpointTinkerPath
from .pending_response import PendingResponse
from .prompt_alt_tokens import PromptAltTokens
from .prompt_provenance_span import PromptProvenanceSpan
from .prompt_provenance_span_type import PromptProvenanceSpanType
from .request_failed_response import RequestFailedResponse
from .sample_request import SampleRequest
from .sample_request_type import SampleRequestType
from .sample_response import SampleResponse
from .sample_response_type import SampleResponseType
from .sampled_provenance_span import SampledProvenanceSpan
from .sampled_provenance_span_type import SampledProvenanceSpanType
from .sampled_sequence import SampledSequence
from .sampling_params import SamplingParams
from .sampling_session_futures_target import SamplingSessionFuturesTarget
from .sampling_session_futures_target_type import SamplingSessionFuturesTargetType
from .save_weights_for_sampler_request import SaveWeightsForSamplerRequest
from .save_weights_for_sampler_request_type import SaveWeightsForSamplerRequestType
from .save_weights_for_sampler_request_user_metadata_type_0 import (
    SaveWeightsForSamplerRequestUserMetadataType0,
)
from .save_weights_for_sampler_response import SaveWeightsForSamplerResponse
from .save_weights_for_sampler_response_internal import (
    SaveWeightsForSamplerResponseInternal,
)
from .save_weights_for_sampler_response_internal_type import (
    SaveWeightsForSamplerResponseInternalType,
)
from .save_weights_for_sampler_response_type import SaveWeightsForSamplerResponseType
from .save_weights_request import SaveWeightsRequest
from .save_weights_request_type import SaveWeightsRequestType
from .save_weights_request_user_metadata_type_0 import (
    SaveWeightsRequestUserMetadataType0,
)
from .save_weights_response import SaveWeightsResponse
from .save_weights_response_type import SaveWeightsResponseType
from .session_end_event import SessionEndEvent
from .session_heartbeat_request import SessionHeartbeatRequest
from .session_heartbeat_request_type import SessionHeartbeatRequestType
from .session_heartbeat_response import SessionHeartbeatResponse
from .session_heartbeat_response_type import SessionHeartbeatResponseType
from .session_start_event import SessionStartEvent
from .set_checkpoint_ttl_request import SetCheckpointTtlRequest
from .severity import Severity
from .supported_model import SupportedModel
from .telemetry_batch import TelemetryBatch
from .telemetry_response import TelemetryResponse
from .telemetry_response_status import TelemetryResponseStatus
from .telemetry_send_request import TelemetrySendRequest
from .tensor_data import TensorData
from .tensor_dtype import TensorDtype
from .training_run import TrainingRun
from .training_run_user_metadata_type_0 import TrainingRunUserMetadataType0
from .training_runs_response import TrainingRunsResponse
from .try_again_response import TryAgainResponse
from .try_again_response_type import TryAgainResponseType
from .unhandled_exception_event import UnhandledExceptionEvent
from .unload_model_request import UnloadModelRequest
from .unload_model_request_type import UnloadModelRequestType
from .unload_model_response import UnloadModelResponse
from .unload_model_response_type import UnloadModelResponseType
from .untyped_api_future import UntypedAPIFuture
from .weights_info_request import WeightsInfoRequest
from .weights_info_response import WeightsInfoResponse

__all__ = (
    "AccessScope",
    "AdamParams",
    "AuthTokenRequest",
    "AuthTokenResponse",
    "CancelFutureRequest",
    "CancelFutureResponse",
    "Checkpoint",
    "CheckpointArchiveUrlResponse",
    "CheckpointKind",
    "CheckpointsListResponse",
    "CheckpointUserMetadataType0",
    "ClientConfigRequest",
    "ClientConfigResponse",
    "ClientConfigResponseCredentialDefaultSource",
    "ClientDynamicConfigResponse",
    "CopyWeightsRequest",
    "CopyWeightsResponse",
    "CreateModelRequest",
    "CreateModelRequestType",
    "CreateModelRequestUserMetadataType0",
    "CreateModelResponse",
    "CreateModelResponseType",
    "CreateSamplingSessionRequest",
    "CreateSamplingSessionRequestType",
    "CreateSamplingSessionResponse",
    "CreateSamplingSessionResponseType",
    "CreateSessionRequest",
    "CreateSessionRequestType",
    "CreateSessionRequestUserMetadataType0",
    "CreateSessionResponse",
    "CreateSessionResponseType",
    "Cursor",
    "Datum",
    "EncodedTextChunk",
    "EncodedTextChunkType",
    "ErrorResponse",
    "EventType",
    "FinishReason",
    "FinishSessionRequest",
    "FinishSessionResponse",
    "ForwardBackwardInput",
    "ForwardBackwardOutput",
    "ForwardBackwardRequest",
    "ForwardRequest",
    "FutureCompletion",
    "FutureCompletionState",
    "FutureRetrieveRequest",
    "FuturesRetrieveRequest",
    "FuturesRetrieveResponse",
    "GenericEvent",
    "GenericEventEventData",
    "GetInfoRequest",
    "GetInfoRequestType",
    "GetInfoResponse",
    "GetInfoResponseType",
    "GetSamplerResponse",
    "GetServerCapabilitiesResponse",
    "GetSessionResponse",
    "GetSessionResponseUserMetadataType0",
    "HealthResponse",
    "HealthResponseStatus",
    "ImageAssetPointerChunk",
    "ImageAssetPointerChunkType",
    "ImageChunk",
    "ImageChunkType",
    "ImageFormat",
    "KnownCheckpointType",
    "KnownFinishReasonType",
    "KnownQueueState",
    "KnownRequestErrorCategory",
    "KnownStopReason",
    "ListSessionsResponse",
    "LoadWeightsRequest",
    "LoadWeightsRequestType",
    "LoadWeightsRequestUserMetadataType0",
    "LoadWeightsResponse",
    "LoadWeightsResponseType",
    "LoraConfig",
    "LossFnConfig",
    "LossFnInputs",
    "LossFnOutput",
    "LossFnType",
    "Metrics",
    "ModelData",
    "ModelInput",
    "OptimizerConfig",
    "OptimStepRequest",
    "OptimStepRequestType",
    "OptimStepResponse",
    "ParsedCheckpointTinkerPath",
    "PendingResponse",
    "PromptAltTokens",
    "PromptProvenanceSpan",
    "PromptProvenanceSpanType",
    "RequestFailedResponse",
    "SampledProvenanceSpan",
    "SampledProvenanceSpanType",
    "SampledSequence",
    "SampleRequest",
    "SampleRequestType",
    "SampleResponse",
    "SampleResponseType",
    "SamplingParams",
    "SamplingSessionFuturesTarget",
    "SamplingSessionFuturesTargetType",
    "SaveWeightsForSamplerRequest",
    "SaveWeightsForSamplerRequestType",
    "SaveWeightsForSamplerRequestUserMetadataType0",
    "SaveWeightsForSamplerResponse",
    "SaveWeightsForSamplerResponseInternal",
    "SaveWeightsForSamplerResponseInternalType",
    "SaveWeightsForSamplerResponseType",
    "SaveWeightsRequest",
    "SaveWeightsRequestType",
    "SaveWeightsRequestUserMetadataType0",
    "SaveWeightsResponse",
    "SaveWeightsResponseType",
    "SessionEndEvent",
    "SessionHeartbeatRequest",
    "SessionHeartbeatRequestType",
    "SessionHeartbeatResponse",
    "SessionHeartbeatResponseType",
    "SessionStartEvent",
    "SetCheckpointTtlRequest",
    "Severity",
    "SupportedModel",
    "TelemetryBatch",
    "TelemetryResponse",
    "TelemetryResponseStatus",
    "TelemetrySendRequest",
    "TensorData",
    "TensorDtype",
    "TrainingRun",
    "TrainingRunsResponse",
    "TrainingRunUserMetadataType0",
    "TryAgainResponse",
    "TryAgainResponseType",
    "UnhandledExceptionEvent",
    "UnloadModelRequest",
    "UnloadModelRequestType",
    "UnloadModelResponse",
    "UnloadModelResponseType",
    "UntypedAPIFuture",
    "WeightsInfoRequest",
    "WeightsInfoResponse",
)
