"""TrainingClient: forward/backward passes, optimizer steps and checkpoints of one LoRA model.

Calls may be submitted back to back without waiting (pipelining): each takes a sequence number
when it is called, and submissions go out strictly in that order, so the server executes them in
call order.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tinker_api_client.api.models import get_info
from tinker_api_client.api.training import optim_step
from tinker_api_client.api.weights import load_weights, save_weights, save_weights_for_sampler
from tinker_api_client.limits import (
    CHECKPOINT_NAME_PATTERN,
    CHECKPOINT_TTL_MAX_S,
    CHECKPOINT_TTL_MIN_S,
)
from tinker_api_client.models import (
    AdamParams,
    Datum,
    ForwardBackwardInput,
    ForwardBackwardOutput,
    GetInfoRequest,
    GetInfoResponse,
    LoadWeightsRequest,
    LoadWeightsResponse,
    LossFnConfig,
    OptimStepRequest,
    OptimStepResponse,
    SaveWeightsForSamplerRequest,
    SaveWeightsForSamplerRequestUserMetadataType0,
    SaveWeightsForSamplerResponse,
    SaveWeightsForSamplerResponseInternal,
    SaveWeightsRequest,
    SaveWeightsRequestUserMetadataType0,
    SaveWeightsResponse,
    UntypedAPIFuture,
)

from ._chunking import chunk_datums, combine_forward_backward_outputs
from ._client_future import ClientFuture
from ._exceptions import ValidationError
from ._forward_wire import certification_for, prepare_forward
from ._futures import (
    APIFuture,
    QueueState,
    QueueStateWarnings,
    combine_futures,
    poll_until_done,
    report_failure,
    submit_future,
)
from ._http import Endpoint, PreparedRequest, prepare
from ._loop import EventLoopThread
from ._retry import RetryConfig
from ._sampling_client import SamplingClient, SamplingClientFuture
from ._sequencer import Sequencer
from ._telemetry import Telemetry
from ._twins import blocking, future_twin, on_loop, submitted
from .types import validate_adam_params
from .types._number_lists import Certified
from .types._validation import validate_datums_certified

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from ._custom_loss import CustomLossFnV1
    from ._holder import ClientHolder

T = TypeVar("T")
logger = logging.getLogger("tinker_hl")

_CHECKPOINT_NAME = re.compile(CHECKPOINT_NAME_PATTERN)


class TrainingClient:
    """A LoRA model being trained. Create one with `ServiceClient.create_lora_training_client`."""

    def __init__(self, holder: ClientHolder, model_seq_id: int, model_id: str) -> None:
        self.holder = holder
        self.model_seq_id = model_seq_id
        self.model_id = model_id
        self._sequencer = Sequencer()
        self._tokenizer: PreTrainedTokenizerBase | None = None
        self._info: GetInfoResponse | None = None
        self._queue_warnings = QueueStateWarnings(f"training requests for {model_id}")

    def __repr__(self) -> str:
        return f"TrainingClient(model_id={getattr(self, 'model_id', None)!r})"

    @property
    def _loop(self) -> EventLoopThread:
        return self.holder.loop_thread

    # ----- sequencing --------------------------------------------------------------------
    def _take_seq_id(self) -> int:
        return self._sequencer.take()

    def _submit(
        self,
        request_type: str,
        endpoint: Endpoint,
        make_body: Callable[[int], Any],
        decode: Callable[[dict[str, Any]], T],
    ) -> APIFuture[T]:
        """Take a sequence number and encode the request now (nothing the caller changes later
        alters what is sent); submit in turn; poll for the outcome."""
        ((seq_id, prepared),) = self._sequencer.take_encoding(
            [lambda n: prepare(request_type, endpoint, body=make_body(n))]
        )
        run = self._send_in_turn(seq_id, request_type, endpoint, prepared, decode, time.time())
        return submit_future(self._loop, run, f"{request_type} of {self.model_id}")

    async def _send_in_turn(
        self,
        seq_id: int,
        request_type: str,
        endpoint: Endpoint,
        prepared: PreparedRequest,
        decode: Callable[[dict[str, Any]], T],
        submitted_at: float,
    ) -> T:
        """Submit the request numbered `seq_id` once all earlier ones went out; poll for it."""
        pipeline = self.holder.pipeline
        await self._sequencer.wait_turn(seq_id)
        try:
            untyped = await pipeline.request(
                request_type, endpoint, UntypedAPIFuture, prepared=prepared
            )
        except Exception as exc:
            report_failure(self.holder.telemetry, exc)
            raise
        finally:
            self._sequencer.end_turn(seq_id)
        try:
            return await poll_until_done(
                pipeline,
                untyped.request_id,
                decode,
                request_type=request_type,
                submitted_at=submitted_at,
                observer=self,
            )
        except Exception as exc:
            report_failure(self.holder.telemetry, exc)
            raise

    # ----- training ----------------------------------------------------------------------
    def _forward_impl(
        self,
        data: Sequence[Datum],
        loss_fn: str,
        loss_fn_config: dict[str, float] | None,
        backward: bool,
    ) -> APIFuture[ForwardBackwardOutput]:
        features = self.holder.pipeline.features
        # The scans leave each list's encoding in `certified` for the encoder below, which
        # then reads no list twice. Validated and encoded in this call, in this thread: the
        # caller changes nothing in between.
        certified = certification_for(features, backward)
        data = validate_datums_certified(data, loss_fn, certified)  # checks loss_fn first
        if loss_fn == "custom" and not self.holder.features.custom_losses:
            raise ValidationError(
                "loss_fn",
                "'custom' runs a loss registered on the server, and this server offers none "
                "(client/config: custom_loss_server_side is off); compute your loss on the "
                "client with forward_backward_custom instead",
            )
        config = _loss_fn_config(loss_fn_config)
        inputs = []
        for chunk in chunk_datums(data):
            fb_input = ForwardBackwardInput(data=chunk, loss_fn=loss_fn)
            if config is not None:
                fb_input.loss_fn_config = config
            inputs.append(fb_input)
        # Encoded here, before returning: the caller may reuse its lists at once. All chunks
        # are encoded before any is sent, so a failing one sends none of them.
        numbered = self._sequencer.take_encoding(
            [
                functools.partial(
                    self._encode_forward_chunk, fb_input=i, backward=backward, certified=certified
                )
                for i in inputs
            ]
        )
        submitted_at = time.time()
        what = f"{'forward_backward' if backward else 'forward'} of {self.model_id}"
        futures: list[APIFuture[ForwardBackwardOutput]] = []
        for seq_id, prepared in numbered:
            send = self._send_prepared_chunk(seq_id, prepared, backward, submitted_at)
            futures.append(submit_future(self._loop, send, what))
        if len(futures) == 1:
            return futures[0]
        return combine_futures(self._loop, futures, combine_forward_backward_outputs)

    def _send_forward_chunk(
        self, seq_id: int, fb_input: ForwardBackwardInput, backward: bool, submitted_at: float
    ) -> Coroutine[Any, Any, ForwardBackwardOutput]:
        """One forward (or forward_backward) request, numbered `seq_id`: encoded now, and a
        coroutine that sends it in turn and polls for its output."""
        prepared = self._encode_forward_chunk(seq_id, fb_input, backward)
        return self._send_prepared_chunk(seq_id, prepared, backward, submitted_at)

    def _encode_forward_chunk(
        self,
        seq_id: int,
        fb_input: ForwardBackwardInput,
        backward: bool,
        certified: Certified | None = None,
    ) -> PreparedRequest:
        features = self.holder.pipeline.features
        return prepare_forward(features, self.model_id, seq_id, fb_input, backward, certified)

    def _send_prepared_chunk(
        self, seq_id: int, prepared: PreparedRequest, backward: bool, submitted_at: float
    ) -> Coroutine[Any, Any, ForwardBackwardOutput]:
        request_type = "forward_backward" if backward else "forward"
        endpoint = prepared.endpoint  # a forward may go to /forward_backward (forward_only)
        return self._send_in_turn(
            seq_id, request_type, endpoint, prepared, ForwardBackwardOutput.from_dict, submitted_at
        )

    def forward(
        self,
        data: list[Datum],
        loss_fn: str,
        loss_fn_config: dict[str, float] | None = None,
    ) -> APIFuture[ForwardBackwardOutput]:
        """Forward pass only (no gradients): per-datum logprobs and loss."""
        return self._forward_impl(data, loss_fn, loss_fn_config, backward=False)

    forward_async = future_twin(forward)

    def forward_backward(
        self,
        data: list[Datum],
        loss_fn: str,
        loss_fn_config: dict[str, float] | None = None,
    ) -> APIFuture[ForwardBackwardOutput]:
        """Forward and backward pass; gradients accumulate until `optim_step`."""
        return self._forward_impl(data, loss_fn, loss_fn_config, backward=True)

    forward_backward_async = future_twin(forward_backward)

    def forward_backward_custom(
        self, data: list[Datum], loss_fn: CustomLossFnV1
    ) -> APIFuture[ForwardBackwardOutput]:
        """Train on any differentiable function of the per-token logprobs (needs torch)."""
        from ._custom_loss import forward_backward_custom

        return submit_future(self._loop, forward_backward_custom(self, data, loss_fn))

    forward_backward_custom_async = future_twin(forward_backward_custom)

    def optim_step(
        self, adam_params: AdamParams | None = None, *, optim_params: AdamParams | None = None
    ) -> APIFuture[OptimStepResponse]:
        """Apply one Adam step with the gradients accumulated since the last step.

        The parameters go first (0.7.0 calls them `adam_params`, 0.38 `optim_params`; either
        keyword works, not both)."""
        if adam_params is not None and optim_params is not None:
            raise ValidationError("optim_params", "give optim_params or adam_params, not both")
        params = adam_params if adam_params is not None else optim_params
        if params is None:
            raise ValidationError("optim_params", "missing: pass AdamParams(learning_rate=...)")
        validate_adam_params(params)
        return self._submit(
            "optim_step",
            optim_step,
            lambda seq_id: OptimStepRequest(
                adam_params=params, model_id=self.model_id, seq_id=seq_id
            ),
            OptimStepResponse.from_dict,
        )

    optim_step_async = future_twin(optim_step)

    # ----- checkpoints -------------------------------------------------------------------
    def save_state(
        self,
        name: str,
        ttl_seconds: int | None = None,
        overwrite: bool = False,
        user_metadata: dict[str, str] | None = None,
    ) -> APIFuture[SaveWeightsResponse]:
        """Save adapter weights and optimizer state as `tinker://<run>/weights/<name>`.

        `ttl_seconds`: the checkpoint expires that long after saving (None: never);
        `overwrite`: replace a checkpoint of the same name; `user_metadata`: kept with it."""
        _check_name(name)
        check_ttl(ttl_seconds)
        if not isinstance(overwrite, bool):
            raise ValidationError("overwrite", f"expected a bool, got {overwrite!r}")
        metadata = _check_metadata(user_metadata)

        def body(seq_id: int) -> SaveWeightsRequest:
            request = SaveWeightsRequest(model_id=self.model_id, path=name, seq_id=seq_id)
            if ttl_seconds is not None:
                request.ttl_seconds = ttl_seconds
            if overwrite:
                request.overwrite = True
            if metadata is not None:
                request.user_metadata = SaveWeightsRequestUserMetadataType0.from_dict(metadata)
            return request

        return self._submit("save_weights", save_weights, body, SaveWeightsResponse.from_dict)

    save_state_async = future_twin(save_state)

    def _load(
        self, path: str, optimizer: bool, weights_access_token: str | None = None
    ) -> APIFuture[LoadWeightsResponse]:
        from .types._paths import require_path

        require_path(path)
        check_access_token(weights_access_token)

        def body(seq_id: int) -> LoadWeightsRequest:
            request = LoadWeightsRequest(
                model_id=self.model_id, path=path, optimizer=optimizer, seq_id=seq_id
            )
            if weights_access_token is not None:
                request.weights_access_token = weights_access_token
            return request

        return self._submit("load_weights", load_weights, body, LoadWeightsResponse.from_dict)

    def load_state(
        self, path: str, weights_access_token: str | None = None
    ) -> APIFuture[LoadWeightsResponse]:
        """Load adapter weights from a training checkpoint (optimizer state starts fresh);
        `weights_access_token` reads another account's checkpoint where the server allows."""
        return self._load(path, optimizer=False, weights_access_token=weights_access_token)

    load_state_async = future_twin(load_state)

    def load_state_with_optimizer(
        self, path: str, weights_access_token: str | None = None
    ) -> APIFuture[LoadWeightsResponse]:
        """Load adapter weights and optimizer state from a training checkpoint."""
        return self._load(path, optimizer=True, weights_access_token=weights_access_token)

    load_state_with_optimizer_async = future_twin(load_state_with_optimizer)

    def save_weights_for_sampler(
        self,
        name: str,
        ttl_seconds: int | None = None,
        user_metadata: dict[str, str] | None = None,
    ) -> APIFuture[SaveWeightsForSamplerResponse]:
        """Save weights for sampling as `tinker://<run>/sampler_weights/<name>` (`ttl_seconds`
        and `user_metadata` as for `save_state`)."""
        _check_name(name)
        check_ttl(ttl_seconds)
        metadata = _check_metadata(user_metadata)

        def body(seq_id: int) -> SaveWeightsForSamplerRequest:
            request = SaveWeightsForSamplerRequest(model_id=self.model_id, path=name, seq_id=seq_id)
            if ttl_seconds is not None:
                request.ttl_seconds = ttl_seconds
            if metadata is not None:
                request.user_metadata = SaveWeightsForSamplerRequestUserMetadataType0.from_dict(
                    metadata
                )
            return request

        return self._submit(
            "save_weights_for_sampler",
            save_weights_for_sampler,
            body,
            SaveWeightsForSamplerResponse.from_dict,
        )

    save_weights_for_sampler_async = future_twin(save_weights_for_sampler)

    def save_weights_and_get_sampling_client_submit(
        self,
        retry_config: RetryConfig | None = None,
        record_stability_info: bool = False,
        kind: str = "snapshot",
    ) -> APIFuture[SamplingClient]:
        """Snapshot the current weights into a new sampler (no named checkpoint)."""
        if not isinstance(kind, str) or not kind:
            raise ValidationError("kind", f"expected a sampling client kind, got {kind!r}")
        if not isinstance(record_stability_info, bool):
            raise ValidationError(
                "record_stability_info", f"expected a bool, got {record_stability_info!r}"
            )
        sampling_seq = self.holder.session.next_sampling_session_seq_id()

        def body(seq_id: int) -> SaveWeightsForSamplerRequest:
            request = SaveWeightsForSamplerRequest(
                model_id=self.model_id, sampling_session_seq_id=sampling_seq, seq_id=seq_id
            )
            if kind != "snapshot":
                request.kind = kind
            return request

        snapshot = self._submit(
            "save_weights_for_sampler",
            save_weights_for_sampler,
            body,
            SaveWeightsForSamplerResponseInternal.from_dict,
        )
        base_model = self._base_model_if_known()

        async def build() -> SamplingClient:
            result = await snapshot.result_async()
            if isinstance(result.sampling_session_id, str):
                return SamplingClient(
                    self.holder,
                    sampling_session_id=result.sampling_session_id,
                    base_model=base_model,
                    retry_config=retry_config,
                    record_stability_info=record_stability_info,
                )
            if isinstance(result.path, str):
                return await SamplingClient._create(
                    self.holder,
                    model_path=result.path,
                    retry_config=retry_config,
                    record_stability_info=record_stability_info,
                )
            raise ValueError("save_weights_for_sampler returned neither a sampler nor a path")

        return submit_future(self._loop, build())

    def _save_weights_and_get_sampling_client(
        self,
        name: str | None = None,
        retry_config: RetryConfig | None = None,
        record_stability_info: bool = False,
        kind: str = "snapshot",
    ) -> Coroutine[Any, Any, SamplingClient]:
        """Save the current weights for sampling and return a SamplingClient for them (with
        `name`, as a named sampler checkpoint too)."""
        if name is None:
            return self.save_weights_and_get_sampling_client_submit(
                retry_config, record_stability_info, kind
            ).coroutine()
        saved = self.save_weights_for_sampler(name)

        async def sampler() -> SamplingClient:
            path = (await saved).path
            return await SamplingClient._create(
                self.holder,
                model_path=path,
                retry_config=retry_config,
                record_stability_info=record_stability_info,
            )

        return sampler()

    save_weights_and_get_sampling_client = submitted(SamplingClientFuture)(
        _save_weights_and_get_sampling_client
    )
    save_weights_and_get_sampling_client_async = on_loop(_save_weights_and_get_sampling_client)

    def _create_sampling_client(
        self,
        model_path: str,
        retry_config: RetryConfig | None = None,
        record_stability_info: bool = False,
    ) -> Coroutine[Any, Any, SamplingClient]:
        """A SamplingClient for sampler weights saved by this (or any) training run."""
        return SamplingClient.creating(
            self.holder,
            model_path=model_path,
            retry_config=retry_config,
            record_stability_info=record_stability_info,
        )

    create_sampling_client = submitted(SamplingClientFuture)(_create_sampling_client)
    create_sampling_client_async = on_loop(_create_sampling_client)

    def _base_model_if_known(self) -> str | None:
        name = self._info.model_data.model_name if self._info is not None else None
        return name if isinstance(name, str) else None

    # ----- info --------------------------------------------------------------------------
    async def _get_info(self) -> GetInfoResponse:
        """The model's id, base model, LoRA rank and tokenizer id."""
        if self._info is None:
            self._info = await self.holder.pipeline.request(
                "get_info", get_info, GetInfoResponse, body=GetInfoRequest(model_id=self.model_id)
            )
        return self._info

    get_info = blocking(_get_info)
    get_info_async = on_loop(_get_info)

    def get_tokenizer(self) -> PreTrainedTokenizerBase:
        """The model's tokenizer (transformers). Local-backend tokenizers are built offline."""
        if self._tokenizer is None:
            from ._tokenizer import load_tokenizer

            info = self.get_info()
            tokenizer_id = info.model_data.tokenizer_id
            if not isinstance(tokenizer_id, str) or not tokenizer_id:
                name = info.model_data.model_name
                tokenizer_id = name if isinstance(name, str) else None
            if tokenizer_id is None:
                raise ValueError(f"model {self.model_id} reports no tokenizer id")
            self._tokenizer = load_tokenizer(tokenizer_id)
        return self._tokenizer

    def get_telemetry(self) -> Telemetry | None:
        return self.holder.telemetry

    def on_queue_state_change(
        self, queue_state: QueueState, queue_state_reason: str | None
    ) -> None:
        self._queue_warnings(queue_state, queue_state_reason)


def _loss_fn_config(config: dict[str, float] | None) -> LossFnConfig | None:
    if config is None:
        return None
    if not isinstance(config, dict):
        raise ValidationError(
            "loss_fn_config", f"expected a dict of floats, got {type(config).__name__}"
        )
    for key, value in config.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(f"loss_fn_config.{key}", f"expected a number, got {value!r}")
    return LossFnConfig.from_dict({k: float(v) for k, v in config.items()})


def check_ttl(ttl_seconds: object) -> None:
    """None (no expiry) or whole seconds within the spec's bounds."""
    if ttl_seconds is None:
        return
    low, high = CHECKPOINT_TTL_MIN_S, CHECKPOINT_TTL_MAX_S
    if (
        isinstance(ttl_seconds, bool)
        or not isinstance(ttl_seconds, int)
        or not low <= ttl_seconds <= high
    ):
        raise ValidationError(
            "ttl_seconds", f"expected whole seconds from {low} to {high}, got {ttl_seconds!r}"
        )


def check_access_token(token: object) -> str | None:
    """A `weights_access_token` argument: None or a string."""
    if token is not None and not isinstance(token, str):
        raise ValidationError("weights_access_token", f"expected a string, got {type(token)}")
    return token


def _check_metadata(metadata: object) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise ValidationError("user_metadata", "expected a dict of strings to strings")
    return dict(metadata)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _CHECKPOINT_NAME.fullmatch(name):
        raise ValidationError(
            "name",
            f"expected a checkpoint name of 1-128 letters, digits, '.', '_' or '-' starting with "
            f"a letter or digit, got {name!r}",
        )


class TrainingClientFuture(ClientFuture[TrainingClient], TrainingClient):
    """What `create_lora_training_client` and `create_training_client_from_state*` return:
    `.result()` or `await` it for the TrainingClient (using it as the client directly still
    works, with a FutureWarning, as in the official SDK 0.38)."""

    _client_name = "TrainingClient"
