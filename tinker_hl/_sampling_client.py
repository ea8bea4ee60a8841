"""SamplingClient: generate from a base model or saved sampler weights, and score prompts."""

from __future__ import annotations

import logging
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from tinker_api_client.api.sampling import asample
from tinker_api_client.models import (
    GetSamplerResponse,
    ModelInput,
    SampleRequest,
    SampleResponse,
    SamplingParams,
    TensorData,
    UntypedAPIFuture,
)

from ._chunking import estimate_model_input_bytes
from ._client_future import ClientFuture
from ._exceptions import APIStatusError, ValidationError
from ._futures import (
    APIFuture,
    QueueState,
    QueueStateWarnings,
    poll_until_done,
    report_failure,
    submit_future,
)
from ._http import PreparedRequest, prepare
from ._loop import EventLoopThread
from ._retry import RetryConfig
from ._sample_results import sample_decoder
from ._sequencer import Sequencer
from ._telemetry import Telemetry
from ._twins import awaited_twin, blocking, on_loop
from .types import validate_model_input, validate_sampling_params

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from ._holder import ClientHolder

logger = logging.getLogger("tinker_hl")


class SamplingClient:
    """Samples from one sampling session. Create with `ServiceClient.create_sampling_client` or
    `TrainingClient.save_weights_and_get_sampling_client`."""

    def __init__(
        self,
        holder: ClientHolder,
        *,
        sampling_session_id: str,
        base_model: str | None = None,
        retry_config: RetryConfig | None = None,
        record_stability_info: bool = False,
    ) -> None:
        self.holder = holder
        self.sampling_session_id = sampling_session_id
        self._base_model = base_model
        self._record_stability_info = bool(record_stability_info)
        self._tokenizer: PreTrainedTokenizerBase | None = None
        pipeline = holder.pipeline
        self.retry_handler = (
            pipeline.make_retry_handler(retry_config, f"sampler {sampling_session_id}")
            if retry_config is not None
            else pipeline.retry_handler
        )
        # Sample requests carry sequence ids but are not ordered: only `take` is used.
        self._seq = Sequencer()
        self._queue_warnings = QueueStateWarnings("sampling requests")

    def __repr__(self) -> str:
        return f"SamplingClient(sampling_session_id={getattr(self, 'sampling_session_id', None)!r})"

    @property
    def _loop(self) -> EventLoopThread:
        return self.holder.loop_thread

    @staticmethod
    async def _create(
        holder: ClientHolder,
        *,
        model_path: str | None = None,
        base_model: str | None = None,
        retry_config: RetryConfig | None = None,
        record_stability_info: bool = False,
    ) -> SamplingClient:
        check_sampler_source(model_path, base_model, record_stability_info)
        session_id = await holder.session.create_sampling_session(
            model_path=model_path, base_model=base_model
        )
        return SamplingClient(
            holder,
            sampling_session_id=session_id,
            base_model=base_model,
            retry_config=retry_config,
            record_stability_info=record_stability_info,
        )

    @staticmethod
    def creating(
        holder: ClientHolder,
        *,
        model_path: str | None = None,
        base_model: str | None = None,
        retry_config: RetryConfig | None = None,
        record_stability_info: bool = False,
    ) -> Coroutine[Any, Any, SamplingClient]:
        """Check the arguments now (in the caller's thread); the coroutine that creates it."""
        check_sampler_source(model_path, base_model, record_stability_info)
        return SamplingClient._create(
            holder,
            model_path=model_path,
            base_model=base_model,
            retry_config=retry_config,
            record_stability_info=record_stability_info,
        )

    @staticmethod
    def create(
        holder: ClientHolder,
        *,
        model_path: str | None = None,
        base_model: str | None = None,
        sampling_session_id: str | None = None,
        retry_config: RetryConfig | None = None,
        record_stability_info: bool = False,
    ) -> APIFuture[SamplingClient]:
        if sampling_session_id is not None:

            async def existing() -> SamplingClient:
                return SamplingClient(
                    holder,
                    sampling_session_id=sampling_session_id,
                    base_model=base_model,
                    retry_config=retry_config,
                    record_stability_info=record_stability_info,
                )

            return submit_future(holder.loop_thread, existing())
        return submit_future(
            holder.loop_thread,
            SamplingClient._create(
                holder,
                model_path=model_path,
                base_model=base_model,
                retry_config=retry_config,
                record_stability_info=record_stability_info,
            ),
        )

    # ----- sampling ----------------------------------------------------------------------
    def sample(
        self,
        prompt: ModelInput,
        num_samples: int,
        sampling_params: SamplingParams,
        include_prompt_logprobs: bool = False,
        topk_prompt_logprobs: int = 0,
        topk_sample_logprobs: int = 0,
        target_prompt_logprobs: TensorData | None = None,
        prompt_alt_tokens_k: int = 0,
        prompt_logprobs_last_n: int | None = None,
    ) -> APIFuture[SampleResponse]:
        """Generate `num_samples` continuations of `prompt`.

        `include_prompt_logprobs` scores the prompt's tokens too (`prompt_logprobs_last_n`: only
        its last n); `topk_prompt_logprobs` / `topk_sample_logprobs`: the k most likely tokens
        at each prompt / sampled position; `target_prompt_logprobs`: logprobs of given target
        tokens at each prompt position."""
        validate_model_input(prompt, "prompt")
        validate_sampling_params(sampling_params)
        _check_count(num_samples, "num_samples", 1)
        _check_count(topk_prompt_logprobs, "topk_prompt_logprobs", 0)
        _check_count(topk_sample_logprobs, "topk_sample_logprobs", 0)
        _check_count(prompt_alt_tokens_k, "prompt_alt_tokens_k", 0)
        if prompt_logprobs_last_n is not None:
            _check_count(prompt_logprobs_last_n, "prompt_logprobs_last_n", 1)
        if target_prompt_logprobs is not None and not isinstance(
            target_prompt_logprobs, TensorData
        ):
            raise ValidationError(
                "target_prompt_logprobs",
                f"expected a TensorData, got {type(target_prompt_logprobs).__name__}",
            )
        seq_id = self._seq.take()
        request = SampleRequest(
            prompt=prompt,
            sampling_params=sampling_params,
            num_samples=num_samples,
            sampling_session_id=self.sampling_session_id,
            seq_id=seq_id,
        )
        if include_prompt_logprobs:
            request.prompt_logprobs = True
        if topk_prompt_logprobs:
            request.topk_prompt_logprobs = topk_prompt_logprobs
        # Only what differs from the defaults goes on the wire (a 0.7-era server knows no more).
        if topk_sample_logprobs:
            request.topk_sample_logprobs = topk_sample_logprobs
        if target_prompt_logprobs is not None:
            request.target_prompt_logprobs = target_prompt_logprobs
        if prompt_alt_tokens_k:
            request.prompt_alt_tokens_k = prompt_alt_tokens_k
        if prompt_logprobs_last_n is not None:
            request.prompt_logprobs_last_n = prompt_logprobs_last_n
        if self._record_stability_info:
            request.record_stability_info = True
        # Encoded here, before returning: the caller may reuse its prompt at once.
        prepared = prepare("asample", asample, body=request)
        size = estimate_model_input_bytes(prompt)
        what = f"sample from {self.sampling_session_id}"
        return submit_future(self._loop, self._sample(prepared, size), what)

    async def _sample(self, prepared: PreparedRequest, size: int) -> SampleResponse:
        pipeline = self.holder.pipeline
        submitted_at = time.time()

        try:
            async with pipeline.sampling_limiter.slot(size):
                untyped = await pipeline.request(
                    "asample",
                    asample,
                    UntypedAPIFuture,
                    retry_handler=self.retry_handler,
                    prepared=prepared,
                )
                return await poll_until_done(
                    pipeline,
                    untyped.request_id,
                    sample_decoder(untyped.sample_sequence_ids),
                    request_type="sample",
                    submitted_at=submitted_at,
                    observer=self,
                )
        except Exception as exc:
            report_failure(self.holder.telemetry, exc)
            raise

    sample_async = awaited_twin(sample)

    def compute_logprobs(
        self, prompt: ModelInput, prompt_logprobs_last_n: int | None = None
    ) -> APIFuture[list[float | None]]:
        """Logprob of every prompt token under the model (the first is None); with
        `prompt_logprobs_last_n`, only the last n are scored (the others are None)."""
        inner = self.sample(
            prompt,
            1,
            SamplingParams(max_tokens=1),
            include_prompt_logprobs=True,
            prompt_logprobs_last_n=prompt_logprobs_last_n,
        )

        async def extract() -> list[float | None]:
            response = await inner.result_async()
            values = response.prompt_logprobs
            if not isinstance(values, list):
                raise ValueError("the server returned no prompt logprobs")
            return list(values)

        return submit_future(self._loop, extract())

    compute_logprobs_async = awaited_twin(compute_logprobs)

    # ----- model ----------------------------------------------------------------------------
    async def _sampler_record(self) -> GetSamplerResponse:
        from tinker_api_client.api.rest import get_sampler

        return await self.holder.pipeline.request(
            "get_sampler", get_sampler, GetSamplerResponse, sampler_id=self.sampling_session_id
        )

    async def _get_base_model(self) -> str:
        """The base model this sampler samples from (asked of the server once, when the client
        was created from a path)."""
        if self._base_model is None:
            self._base_model = (await self._sampler_record()).base_model
        return self._base_model

    get_base_model = blocking(_get_base_model)
    get_base_model_async = on_loop(_get_base_model)

    async def _tokenizer_id(self) -> str:
        """The tokenizer the server names for this sampler (the local backend's models have
        their own), else the base model's name."""
        try:
            record = await self._sampler_record()
        except APIStatusError:
            if self._base_model is None:
                raise
            return self._base_model  # a server without sampler records: the model's name
        self._base_model = self._base_model or record.base_model
        named = record.tokenizer_id
        return named if isinstance(named, str) and named else record.base_model

    def get_tokenizer(self) -> PreTrainedTokenizerBase:
        """The model's tokenizer (transformers): the one the server names for this sampler,
        else the base model's, by name. Local-backend tokenizers are built offline."""
        if self._tokenizer is None:
            from ._tokenizer import load_tokenizer

            self._tokenizer = load_tokenizer(self.holder.loop_thread.run(self._tokenizer_id()))
        return self._tokenizer

    def get_telemetry(self) -> Telemetry | None:
        return self.holder.telemetry

    def on_queue_state_change(
        self, queue_state: QueueState, queue_state_reason: str | None
    ) -> None:
        if queue_state is not QueueState.ACTIVE:  # the server paused sampling: slow down
            self.holder.pipeline.sampling_limiter.signal_rate_limited(queue_state.value)
        self._queue_warnings(queue_state, queue_state_reason)


class SamplingClientFuture(ClientFuture[SamplingClient], SamplingClient):
    """What `create_sampling_client` and `save_weights_and_get_sampling_client` return:
    `.result()` or `await` it for the SamplingClient (using it as the client directly still
    works, with a FutureWarning, as in the official SDK 0.38)."""

    _client_name = "SamplingClient"


def check_sampler_source(
    model_path: str | None, base_model: str | None, record_stability_info: bool = False
) -> None:
    """What a sampling client is created from: sampler weights or a base model."""
    if model_path is None and base_model is None:
        raise ValidationError("model_path", "give model_path or base_model")
    if model_path is not None:
        from .types._paths import require_path

        require_path(model_path, "model_path")
    if base_model is not None and (not isinstance(base_model, str) or not base_model):
        raise ValidationError("base_model", f"expected a model name, got {base_model!r}")
    if not isinstance(record_stability_info, bool):
        raise ValidationError(
            "record_stability_info", f"expected a bool, got {record_stability_info!r}"
        )


def _check_count(value: object, field: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValidationError(field, f"expected an integer >= {low}, got {value!r}")
