"""SamplingClient: generate from a base model or saved sampler weights, and score prompts."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from tinker_api_client.api.sampling import asample
from tinker_api_client.models import (
    ModelInput,
    SampleRequest,
    SampleResponse,
    SamplingParams,
    UntypedAPIFuture,
)

from ._chunking import estimate_model_input_bytes
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
from ._sequencer import Sequencer
from ._twins import awaited_twin
from .types import validate_model_input, validate_sampling_params

if TYPE_CHECKING:
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
        retry_config: RetryConfig | None = None,
    ) -> None:
        self.holder = holder
        self.sampling_session_id = sampling_session_id
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
    ) -> SamplingClient:
        if model_path is None and base_model is None:
            from ._exceptions import ValidationError

            raise ValidationError("model_path", "give model_path or base_model")
        if model_path is not None:
            from .types._paths import require_path

            require_path(model_path, "model_path")
        session_id = await holder.session.create_sampling_session(
            model_path=model_path, base_model=base_model
        )
        return SamplingClient(holder, sampling_session_id=session_id, retry_config=retry_config)

    @staticmethod
    def create(
        holder: ClientHolder,
        *,
        model_path: str | None = None,
        base_model: str | None = None,
        sampling_session_id: str | None = None,
        retry_config: RetryConfig | None = None,
    ) -> APIFuture[SamplingClient]:
        if sampling_session_id is not None:

            async def existing() -> SamplingClient:
                return SamplingClient(
                    holder, sampling_session_id=sampling_session_id, retry_config=retry_config
                )

            return submit_future(holder.loop_thread, existing())
        return submit_future(
            holder.loop_thread,
            SamplingClient._create(
                holder, model_path=model_path, base_model=base_model, retry_config=retry_config
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
    ) -> APIFuture[SampleResponse]:
        """Generate `num_samples` continuations of `prompt`."""
        from ._exceptions import ValidationError

        validate_model_input(prompt, "prompt")
        validate_sampling_params(sampling_params)
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ValidationError("num_samples", f"expected an integer >= 1, got {num_samples!r}")
        if (
            isinstance(topk_prompt_logprobs, bool)
            or not isinstance(topk_prompt_logprobs, int)
            or topk_prompt_logprobs < 0
        ):
            raise ValidationError(
                "topk_prompt_logprobs", f"expected an integer >= 0, got {topk_prompt_logprobs!r}"
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
                    SampleResponse.from_dict,
                    request_type="sample",
                    submitted_at=submitted_at,
                    observer=self,
                )
        except Exception as exc:
            report_failure(self.holder.telemetry, exc)
            raise

    sample_async = awaited_twin(sample)

    def compute_logprobs(self, prompt: ModelInput) -> APIFuture[list[float | None]]:
        """Logprob of every prompt token under the model (the first is None)."""
        inner = self.sample(prompt, 1, SamplingParams(max_tokens=1), include_prompt_logprobs=True)

        async def extract() -> list[float | None]:
            response = await inner.result_async()
            values = response.prompt_logprobs
            if not isinstance(values, list):
                raise ValueError("the server returned no prompt logprobs")
            return list(values)

        return submit_future(self._loop, extract())

    compute_logprobs_async = awaited_twin(compute_logprobs)

    def get_telemetry(self) -> Any:
        return self.holder.telemetry

    def on_queue_state_change(
        self, queue_state: QueueState, queue_state_reason: str | None
    ) -> None:
        if queue_state is not QueueState.ACTIVE:  # the server paused sampling: slow down
            self.holder.pipeline.sampling_limiter.signal_rate_limited(queue_state.value)
        self._queue_warnings(queue_state, queue_state_reason)
