"""`forward_backward_custom`: train on any differentiable function of the per-token logprobs.

How it works (the same method as the 0.7.0 SDK, with pipelining kept intact):

1. a `forward` pass with `cross_entropy` returns each datum's logprobs of its target tokens;
2. they become torch tensors (one per datum, `requires_grad=True`), the user's loss function
   maps them to a scalar, and autograd gives g_i = d loss / d logprobs_i;
3. a `forward_backward` with `cross_entropy` on the same model inputs and target tokens and
   `weights = -g` follows. That loss is sum(-logprob * weight) = sum(logprob * g): linear in the
   logprobs with slope g, so its gradient with respect to the model parameters equals the user
   loss's gradient (chain rule), at the current parameters.

Ordering: both requests take their sequence numbers when `forward_backward_custom` is *called*
(the surrogate's are reserved up front), so `custom = tc.forward_backward_custom(...);
tc.optim_step(...)` submitted back to back without waiting applies the custom gradient in that
step, as with plain `forward_backward`. Until the surrogate is submitted, later requests of the
same training client wait for their turn (the server would run them after it anyway). When the
forward pass or the loss function fails, the reserved sequence numbers are released with
gradient-free `forward` requests, so neither the client nor the server queue stalls.

The result is the surrogate's ForwardBackwardOutput (its `loss_fn_outputs` hold the logprobs),
with these metrics:

- `loss:sum`: the value of the user's loss (the function whose gradient was applied). The
  `:sum` suffix says how to combine several calls that accumulate into one step: gradients add.
- `surrogate_loss:sum`: what the server reported as `loss:sum` for the linear surrogate,
  sum(logprob * g); only useful for debugging.
- every other server metric under its own name, then the user's metrics as returned (a user
  metric wins over a server metric of the same name).

torch is imported only here, and only when a custom loss is run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from tinker_api_client.models import (
    Datum,
    ForwardBackwardInput,
    ForwardBackwardOutput,
    LossFnInputs,
    TensorData,
)
from tinker_api_client.types import Unset

from . import _chunking
from ._exceptions import ValidationError
from ._futures import APIFuture
from .types import validate_datums
from .types._shapes import WireMap

if TYPE_CHECKING:
    import torch


class ForwardPasses(Protocol):
    """What a custom loss needs from its training client: the forward pass, sequence ids, one
    chunk sent in turn, and where to report the loss function's failures."""

    def forward(
        self, data: list[Datum], loss_fn: str, loss_fn_config: dict[str, float] | None = None
    ) -> APIFuture[ForwardBackwardOutput]: ...

    def _take_seq_id(self) -> int: ...

    def _send_forward_chunk(
        self, seq_id: int, fb_input: ForwardBackwardInput, backward: bool, submitted_at: float
    ) -> Coroutine[Any, Any, ForwardBackwardOutput]: ...

    def get_telemetry(self) -> Any: ...


__all__ = ["CustomLossFnV1", "forward_backward_custom", "gradients_for_custom_loss"]

logger = logging.getLogger("tinker_hl.custom_loss")

CustomLossFnV1: TypeAlias = Callable[
    [list[Datum], list["torch.Tensor"]], tuple["torch.Tensor", dict[str, float]]
]
"""`loss_fn(data, logprobs) -> (loss, metrics)`: `logprobs[i]` holds datum i's per-token logprobs
of its target tokens (float32, requires_grad); `loss` is a scalar tensor computed from them;
`metrics` maps names to floats."""

SURROGATE_LOSS_KEY = "surrogate_loss:sum"
_BACKGROUND: set[asyncio.Task[None]] = set()
LOSS_KEY = "loss:sum"


def forward_backward_custom(
    training_client: ForwardPasses, data: Sequence[Datum], loss_fn: CustomLossFnV1
) -> Coroutine[Any, Any, ForwardBackwardOutput]:
    """Start a custom-loss forward/backward; return the coroutine that finishes it.

    Runs in the caller's thread: validates the batch, submits the forward pass and reserves the
    surrogate's sequence numbers (this fixes the request order). The returned coroutine, run on
    the client's event loop, waits for the logprobs, runs `loss_fn` in a worker thread (so the
    event loop keeps serving other requests), submits the surrogate and returns its output.
    Every datum needs `target_tokens`.
    """
    if not callable(loss_fn):
        raise ValidationError(
            "loss_fn", f"expected a callable (data, logprobs) -> (loss, metrics), got {loss_fn!r}"
        )
    items = list(data) if isinstance(data, Sequence) and not isinstance(data, str) else data
    if isinstance(items, list):
        for i, datum in enumerate(items):
            inputs = getattr(datum, "loss_fn_inputs", None)
            if isinstance(inputs, LossFnInputs | WireMap) and "target_tokens" not in inputs:
                raise ValidationError(
                    f"data[{i}].loss_fn_inputs.target_tokens",
                    "missing: forward_backward_custom needs target_tokens (the logprobs are "
                    "those of the target tokens, and the surrogate loss trains on them)",
                )
    items = validate_datums(items, loss_fn="cross_entropy")
    # Surrogate data with zero weights: fixes the surrogate's chunking (and so how many sequence
    # numbers it needs) now; also the gradient-free payload that releases them on failure.
    placeholders = [_surrogate_datum(d, None) for d in items]
    chunk_bounds = _chunk_bounds(placeholders)

    forward_future = training_client.forward(items, "cross_entropy")
    seq_ids = [training_client._take_seq_id() for _ in chunk_bounds]
    return _finish(
        training_client, items, loss_fn, forward_future, placeholders, chunk_bounds, seq_ids
    )


async def _finish(
    training_client: ForwardPasses,
    data: list[Datum],
    loss_fn: CustomLossFnV1,
    forward_future: APIFuture[ForwardBackwardOutput],
    placeholders: list[Datum],
    chunk_bounds: list[tuple[int, int]],
    seq_ids: list[int],
) -> ForwardBackwardOutput:
    submitted_at = time.time()
    try:
        forward_output = await forward_future.result_async()
        try:
            weights, loss_value, user_metrics = await asyncio.to_thread(
                gradients_for_custom_loss, data, forward_output, loss_fn
            )
        except Exception as exc:
            # The loss function (or what it returned) failed: the caller's error.
            _report(training_client, exc)
            raise
    except asyncio.CancelledError:
        # Cancelled (for example through APIFuture.future().cancel()): release the reserved
        # sequence numbers in the background, or every later request would wait forever.
        task = asyncio.get_running_loop().create_task(
            _release(training_client, placeholders, chunk_bounds, seq_ids, submitted_at)
        )
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)
        raise
    except Exception:
        with contextlib.suppress(Exception):
            await _release(training_client, placeholders, chunk_bounds, seq_ids, submitted_at)
        raise
    surrogate = [_surrogate_datum(d, w) for d, w in zip(data, weights, strict=True)]
    results = await asyncio.gather(
        *(
            training_client._send_forward_chunk(
                seq_id, _cross_entropy_input(surrogate[lo:hi]), True, submitted_at
            )
            for seq_id, (lo, hi) in zip(seq_ids, chunk_bounds, strict=True)
        )
    )
    output = _chunking.combine_forward_backward_outputs(results)
    output.metrics = WireMap(
        _custom_metrics(dict(output.metrics.additional_properties), loss_value, user_metrics)
    )
    return output


def _report(training_client: ForwardPasses, exc: BaseException) -> None:
    telemetry = training_client.get_telemetry()
    if telemetry is not None:
        with contextlib.suppress(Exception):
            telemetry.log_exception(exc, fatal=False, user_error=True)


def _custom_metrics(
    server: dict[str, Any], loss_value: float, user_metrics: dict[str, float]
) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in server.items():
        out[SURROGATE_LOSS_KEY if key == LOSS_KEY else key] = float(value)
    out[LOSS_KEY] = loss_value
    out.update(user_metrics)
    return out


def gradients_for_custom_loss(
    data: Sequence[Datum], forward_output: ForwardBackwardOutput, loss_fn: CustomLossFnV1
) -> tuple[list[TensorData], float, dict[str, float]]:
    """Run `loss_fn` on the forward pass's logprobs; return the surrogate weights (-d loss /
    d logprobs, one TensorData per datum, shaped like its target tokens), the loss value and the
    user's metrics. Plain torch, no I/O: usable offline to check a loss function."""
    import torch

    outputs = forward_output.loss_fn_outputs
    if len(outputs) != len(data):
        raise ValueError(f"the forward pass returned {len(outputs)} outputs for {len(data)} datums")
    logprobs: list[torch.Tensor] = []
    for i, (datum, out) in enumerate(zip(data, outputs, strict=True)):
        td = out.additional_properties.get("logprobs")
        if not isinstance(td, TensorData):
            raise ValueError(f"the forward pass returned no logprobs for datum {i}")
        target = datum.loss_fn_inputs["target_tokens"]
        if len(td.data) != len(target.data):
            raise ValueError(
                f"datum {i}: the forward pass returned {len(td.data)} logprobs for "
                f"{len(target.data)} target tokens"
            )
        tensor = torch.tensor(td.data, dtype=torch.float32)
        shape = target.shape
        if not isinstance(shape, Unset) and shape is not None:
            tensor = tensor.reshape(list(shape))
        logprobs.append(tensor.requires_grad_(True))

    result = loss_fn(list(data), logprobs)
    loss, metrics = _check_loss_result(result)
    grads = torch.autograd.grad(loss, logprobs, allow_unused=True)
    weights: list[TensorData] = []
    for i, (lp, grad) in enumerate(zip(logprobs, grads, strict=True)):
        g = torch.zeros_like(lp) if grad is None else grad.detach().to(torch.float32)
        if not bool(torch.isfinite(g).all()):
            raise ValueError(
                f"the custom loss has a non-finite gradient for datum {i} (loss = "
                f"{float(loss.detach())}); check the loss function for log(0), 0/0, ..."
            )
        neg = (-g).reshape(-1)
        weights.append(TensorData(data=neg.tolist(), dtype="float32", shape=list(lp.shape)))
    return weights, float(loss.detach()), metrics


def _check_loss_result(result: object) -> tuple[torch.Tensor, dict[str, float]]:
    import torch

    if not isinstance(result, tuple) or len(result) != 2:
        raise ValidationError(
            "loss_fn",
            "expected the loss function to return a (loss, metrics) tuple, got "
            f"{type(result).__name__}",
        )
    loss, metrics = result
    if not isinstance(loss, torch.Tensor):
        raise ValidationError(
            "loss_fn", f"expected the loss to be a torch.Tensor, got {type(loss).__name__}"
        )
    if loss.numel() != 1 or loss.dim() > 1:
        raise ValidationError(
            "loss_fn", f"expected the loss to be a scalar tensor, got shape {tuple(loss.shape)}"
        )
    if not loss.is_floating_point():
        raise ValidationError("loss_fn", f"expected a floating point loss, got {loss.dtype}")
    if not loss.requires_grad:
        raise ValidationError(
            "loss_fn",
            "the loss does not depend on the logprobs (it has no gradient): compute it from "
            "the logprob tensors passed in, without .detach() / .item() / numpy",
        )
    loss_value = float(loss.detach())
    if not math.isfinite(loss_value):
        raise ValueError(f"the custom loss is not finite: {loss_value}")
    if not isinstance(metrics, Mapping):
        raise ValidationError(
            "loss_fn", f"expected the metrics to be a dict of floats, got {type(metrics).__name__}"
        )
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str):
            raise ValidationError("loss_fn", f"metric names must be strings, got {key!r}")
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                raise ValidationError(
                    f"loss_fn.metrics.{key}",
                    f"expected a float, got a tensor of shape {tuple(value.shape)}",
                )
            out[key] = float(value.detach())
            continue
        try:
            if isinstance(value, str | bytes):
                raise TypeError
            out[key] = float(value)
        except (TypeError, ValueError):
            raise ValidationError(
                f"loss_fn.metrics.{key}", f"expected a float, got {type(value).__name__}"
            ) from None
    return loss.reshape(()), out


# ----- surrogate data and reserved submissions ------------------------------------------------
def _surrogate_datum(datum: Datum, weights: TensorData | None) -> Datum:
    target = datum.loss_fn_inputs["target_tokens"]
    if weights is None:
        weights = TensorData(data=[0.0] * len(target.data), dtype="float32")
        if isinstance(target.shape, list):
            weights.shape = list(target.shape)
    inputs = LossFnInputs()
    inputs["target_tokens"] = target
    inputs["weights"] = weights
    return Datum(model_input=datum.model_input, loss_fn_inputs=inputs)


def _chunk_bounds(data: list[Datum]) -> list[tuple[int, int]]:
    # The module's limits are read at call time, so tests can shrink them.
    bounds: list[tuple[int, int]] = []
    start = 0
    for chunk in _chunking.chunk_datums(
        data, _chunking.MAX_CHUNK_LEN, _chunking.MAX_CHUNK_BYTES_COUNT
    ):
        bounds.append((start, start + len(chunk)))
        start += len(chunk)
    return bounds


def _cross_entropy_input(chunk: list[Datum]) -> ForwardBackwardInput:
    return ForwardBackwardInput(data=chunk, loss_fn="cross_entropy")


async def _release(
    training_client: ForwardPasses,
    placeholders: list[Datum],
    chunk_bounds: list[tuple[int, int]],
    seq_ids: list[int],
    submitted_at: float,
) -> None:
    """Use up reserved sequence numbers with gradient-free forward passes (the server runs a
    model's requests in sequence order and would wait for the missing numbers)."""

    async def release_one(seq_id: int, lo: int, hi: int) -> None:
        try:
            await training_client._send_forward_chunk(
                seq_id, _cross_entropy_input(placeholders[lo:hi]), False, submitted_at
            )
        except Exception:
            logger.debug("releasing sequence number %d failed", seq_id, exc_info=True)

    await asyncio.gather(
        *(release_one(s, lo, hi) for s, (lo, hi) in zip(seq_ids, chunk_bounds, strict=True))
    )
