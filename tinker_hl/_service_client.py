"""ServiceClient: the entry point. Holds the session and creates the other clients."""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Literal

import httpx
from tinker_api_client.api.models import create_model
from tinker_api_client.api.service import get_server_capabilities
from tinker_api_client.api.weights import weights_info
from tinker_api_client.models import (
    CreateModelRequest,
    CreateModelRequestUserMetadataType0,
    CreateModelResponse,
    GetServerCapabilitiesResponse,
    LoraConfig,
    UntypedAPIFuture,
    WeightsInfoRequest,
    WeightsInfoResponse,
)

from ._backpressure import SamplingLimits
from ._circuit import CircuitBreakerConfig
from ._exceptions import ValidationError
from ._from_state import FromState
from ._futures import APIFuture, poll_until_done
from ._holder import ClientHolder
from ._lifecycle import ClosingContext
from ._load_create import create_by_loading
from ._loop import EventLoopThread
from ._options import ClientOptions
from ._retry import RetryConfig
from ._sampling_client import SamplingClient, SamplingClientFuture
from ._session import FINISH_TIMEOUT_S, check_finish
from ._telemetry import Telemetry, http_sender, start_telemetry
from ._training_client import TrainingClient, TrainingClientFuture
from ._twins import blocking, on_loop, submitted
from .types import OptimizerConfig, validate_lora
from .types._optimizer import optimizer_config
from .types._paths import require_path

if TYPE_CHECKING:
    from ._rest_client import RestClient

logger = logging.getLogger("tinker_hl")

FinishStatus = Literal["success", "errored", "interrupted"]

# Keyword arguments of the 0.7.0 SDK's ServiceClient that have no meaning here.
_ACCEPTED_AND_IGNORED = frozenset(
    {"max_retries", "http_client", "default_query", "_strict_response_validation"}
)


class ServiceClient(ClosingContext):
    """Connects to a Tinker service (the local backend, or any Tinker-compatible server).

    `api_key`, `base_url` and `project_id` default to `TINKER_API_KEY`, `TINKER_BASE_URL` and
    `TINKER_PROJECT_ID`. Use it as a context manager (which finishes the session: `success`,
    or `errored` / `interrupted` when an exception leaves the block), or call
    `close(status)`, to stop its background thread.
    """

    def __init__(
        self,
        user_metadata: dict[str, str] | None = None,
        project_id: str | None = None,
        *,
        display_name: str | None = None,
        default_headers_overrides: Mapping[str, str] | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry_config: RetryConfig | None = None,
        default_headers: dict[str, str] | None = None,
        verify: bool = True,
        circuit_breaker: CircuitBreakerConfig | None = None,
        sampling_limits: SamplingLimits | None = None,
        **kwargs: Any,
    ) -> None:
        __tracebackhide__ = True  # pytest: this frame's arguments hold the API key
        unknown = set(kwargs) - _ACCEPTED_AND_IGNORED
        if unknown:
            raise TypeError(f"ServiceClient got unexpected keyword arguments: {sorted(unknown)}")
        if user_metadata is not None and not isinstance(user_metadata, dict):
            raise ValidationError("user_metadata", "expected a dict of strings")
        if default_headers_overrides is not None:
            default_headers = {**(default_headers or {}), **dict(default_headers_overrides)}
        self.display_name = display_name
        options = ClientOptions.resolve(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            user_metadata=user_metadata,
            retry_config=retry_config,
            default_headers=default_headers,
            verify=verify,
            circuit_breaker=circuit_breaker,
            sampling_limits=sampling_limits,
            project_id=project_id,
            display_name=display_name,
        )
        del api_key
        self.project_id = options.project_id
        holder = self.holder = ClientHolder(options)
        secrets = [options.api_key.reveal(), *options.headers.values()]
        holder.telemetry = start_telemetry(
            holder.loop_thread.loop,
            holder.session_id,
            http_sender(lambda: holder.connection.client, lambda: holder.pipeline.header_provider),
            secrets=secrets,
        )

    def __repr__(self) -> str:  # never raises, even when the constructor failed
        holder = self.__dict__.get("holder")
        if holder is None:
            return "ServiceClient(<not connected>)"
        return f"ServiceClient(base_url={holder.base_url!r}, session_id={holder.session_id!r})"

    @property
    def session_id(self) -> str:
        return self.holder.session_id

    @property
    def _loop(self) -> EventLoopThread:
        return self.holder.loop_thread

    def close(
        self, status: FinishStatus | None = None, detail: str | None = None
    ) -> APIFuture[None]:
        """Stop the heartbeat and the background thread, closing connections. With `status`
        (`"success"`, `"errored"` or `"interrupted"`, and an optional `detail`), first mark the
        session finished on the server. The future holds the outcome of that; closing again
        does nothing."""
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        holder = self.__dict__.get("holder")
        if status is not None:
            check_finish(status, detail)
        if holder is None or holder.closed:
            done.set_result(None)
            return APIFuture(done)
        try:
            if status is not None:
                holder.loop_thread.run(
                    holder.session.finish(status, detail), timeout=FINISH_TIMEOUT_S
                )
            done.set_result(None)
        except Exception as exc:  # the client still closes; the caller sees why in the future
            done.set_exception(exc)
        finally:
            holder.close()
        return APIFuture(done)

    def _close_on_exit(self, exc: BaseException | None) -> None:
        status: FinishStatus = (
            "success"
            if exc is None
            else ("errored" if isinstance(exc, Exception) else "interrupted")
        )
        failure = self.close(status).exception()
        if failure is not None:  # leaving the block must not fail for it (the server may be gone)
            logger.warning("could not mark the session %s on the server: %s", status, failure)

    def metrics(self) -> dict[str, Any]:
        """Client-side metrics: per-endpoint requests, errors, retries by cause, latency
        percentiles, time spent per queue state, sampling back-pressure and breaker states."""
        pipeline = self.holder.pipeline
        snapshot = pipeline.metrics.snapshot()
        snapshot["sampling"] = pipeline.sampling_limiter.snapshot()
        snapshot["circuit_breakers"] = pipeline.breakers.states()
        return snapshot

    def _on_error(self, exc: BaseException) -> None:
        if self.holder.telemetry is not None:
            self.holder.telemetry.log_exception(exc, fatal=True)

    # ----- capabilities ------------------------------------------------------------------
    async def _get_server_capabilities(self) -> GetServerCapabilitiesResponse:
        """The base models the service supports."""
        return await self.holder.pipeline.request(
            "get_server_capabilities", get_server_capabilities, GetServerCapabilitiesResponse
        )

    get_server_capabilities = blocking(_get_server_capabilities)
    get_server_capabilities_async = on_loop(_get_server_capabilities)

    # ----- training clients --------------------------------------------------------------
    async def _create_lora(
        self,
        base_model: str,
        rank: int,
        seed: int | None,
        train_mlp: bool,
        train_attn: bool,
        train_unembed: bool,
        user_metadata: dict[str, str] | None,
        optimizer: OptimizerConfig | None = None,
    ) -> TrainingClient:
        holder = self.holder
        model_seq_id = holder.session.next_model_seq_id()
        lora = LoraConfig(
            rank=rank, train_mlp=train_mlp, train_attn=train_attn, train_unembed=train_unembed
        )
        if seed is not None:
            lora.seed = seed
        request = CreateModelRequest(
            session_id=holder.session_id,
            model_seq_id=model_seq_id,
            base_model=base_model,
            lora_config=lora,
        )
        if user_metadata is not None:
            request.user_metadata = CreateModelRequestUserMetadataType0.from_dict(
                dict(user_metadata)
            )
        if optimizer is not None:
            request.optimizer_config = optimizer
        submitted_at = time.time()

        pipeline = holder.pipeline
        untyped = await pipeline.request(
            "create_model", create_model, UntypedAPIFuture, body=request
        )
        created = await poll_until_done(
            pipeline,
            untyped.request_id,
            CreateModelResponse.from_dict,
            request_type="create_model",
            submitted_at=submitted_at,
        )
        return TrainingClient(holder, model_seq_id, created.model_id)

    def _create_lora_training_client(
        self,
        base_model: str,
        rank: int = 32,
        seed: int | None = None,
        train_mlp: bool = True,
        train_attn: bool = True,
        train_unembed: bool = True,
        user_metadata: dict[str, str] | None = None,
        optimizer: OptimizerConfig | None = None,
    ) -> Coroutine[Any, Any, TrainingClient]:
        """Create a LoRA adapter of `rank` over `base_model` and return its TrainingClient.

        `optimizer`: the optimizer family (0.38), e.g. `types.AdamOptimizerConfig()` (AdamW, the
        default when None)."""
        if not isinstance(base_model, str) or not base_model:
            raise ValidationError("base_model", f"expected a model name, got {base_model!r}")
        validate_lora(
            rank, seed=seed, train_mlp=train_mlp, train_attn=train_attn, train_unembed=train_unembed
        )
        wire_optimizer = optimizer_config(optimizer)
        return self._create_lora(
            base_model,
            rank,
            seed,
            train_mlp,
            train_attn,
            train_unembed,
            user_metadata,
            wire_optimizer,
        )

    create_lora_training_client = submitted(TrainingClientFuture)(_create_lora_training_client)
    create_lora_training_client_async = on_loop(_create_lora_training_client)

    async def _weights_info(self, path: str) -> WeightsInfoResponse:

        require_path(path)

        return await self.holder.pipeline.request(
            "weights_info",
            weights_info,
            WeightsInfoResponse,
            body=WeightsInfoRequest(tinker_path=path),
        )

    async def _from_state(self, state: FromState) -> TrainingClient:
        if self.holder.features.model_via_load_weights:
            return await create_by_loading(self.holder, state)
        info = await self._weights_info(state.path)
        if state.base_model is not None and state.base_model != info.base_model:
            raise ValidationError(
                "base_model",
                f"the checkpoint {state.path} is of {info.base_model!r}, got {state.base_model!r}",
            )
        rank = info.lora_rank if isinstance(info.lora_rank, int) else 32
        client = await self._create_lora(
            info.base_model, rank, None, True, True, True, state.user_metadata, state.optimizer
        )
        loaded = client._load(
            state.path, optimizer=state.restore_optimizer, weights_access_token=state.access_token
        )
        await loaded.result_async()
        return client

    def _create_training_client_from_state(
        self,
        path: str,
        user_metadata: dict[str, str] | None = None,
        base_model: str | None = None,
        weights_access_token: str | None = None,
        optimizer: OptimizerConfig | None = None,
    ) -> Coroutine[Any, Any, TrainingClient]:
        """A new training client whose adapter weights come from a training checkpoint (its
        optimizer state starts fresh).

        `base_model`: the checkpoint's base model, checked when given; `weights_access_token`:
        reads a checkpoint of another account (where the server supports it); `optimizer`:
        the new model's optimizer family (0.38; AdamW when None)."""
        state = FromState.checked(
            path, user_metadata, base_model, weights_access_token, optimizer, False
        )
        return self._from_state(state)

    create_training_client_from_state = submitted(TrainingClientFuture)(
        _create_training_client_from_state
    )
    create_training_client_from_state_async = on_loop(_create_training_client_from_state)

    def _create_training_client_from_state_with_optimizer(
        self,
        path: str,
        user_metadata: dict[str, str] | None = None,
        base_model: str | None = None,
        weights_access_token: str | None = None,
    ) -> Coroutine[Any, Any, TrainingClient]:
        """Like create_training_client_from_state, restoring the optimizer state too (so the
        optimizer family is the checkpoint's)."""
        state = FromState.checked(path, user_metadata, base_model, weights_access_token, None, True)
        return self._from_state(state)

    create_training_client_from_state_with_optimizer = submitted(TrainingClientFuture)(
        _create_training_client_from_state_with_optimizer
    )
    create_training_client_from_state_with_optimizer_async = on_loop(
        _create_training_client_from_state_with_optimizer
    )

    # ----- sampling and REST -------------------------------------------------------------
    def _create_sampling_client(
        self,
        model_path: str | None = None,
        base_model: str | None = None,
        retry_config: RetryConfig | None = None,
        record_stability_info: bool = False,
    ) -> Coroutine[Any, Any, SamplingClient]:
        """Sample from saved sampler weights (`model_path`) or from a base model."""
        return SamplingClient.creating(
            self.holder,
            model_path=model_path,
            base_model=base_model,
            retry_config=retry_config,
            record_stability_info=record_stability_info,
        )

    create_sampling_client = submitted(SamplingClientFuture)(_create_sampling_client)
    create_sampling_client_async = on_loop(_create_sampling_client)

    def create_rest_client(self) -> RestClient:
        from ._rest_client import RestClient

        return RestClient(self.holder)

    def copy_weights(
        self,
        path: str,
        *,
        ttl_seconds: int | None = None,
        weights_access_token: str | None = None,
    ) -> APIFuture[str]:
        """Copy a checkpoint into this client's project (`project_id`, or
        `TINKER_PROJECT_ID`), as `RestClient.copy_weights`; the future gives the copy's path."""
        return self.create_rest_client().copy_weights(
            path,
            self.project_id,
            ttl_seconds=ttl_seconds,
            weights_access_token=weights_access_token,
        )

    def get_telemetry(self) -> Telemetry | None:
        return self.holder.telemetry


__all__ = ["APIFuture", "ServiceClient"]
