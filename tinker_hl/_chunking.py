"""Splitting large forward_backward batches into chunks, and joining the chunks' outputs.

Limits and reductions follow the 0.7.0 SDK: at most 1024 datums and about 5 MB (estimated) per
request; metrics are reduced by the suffix of their key (`loss:sum`, `acc:mean`, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from tinker_api_client.models import (
    Datum,
    EncodedTextChunk,
    ForwardBackwardOutput,
    ImageAssetPointerChunk,
    ImageChunk,
    Metrics,
    ModelInput,
)

from .types._shapes import to_official_shape

logger = logging.getLogger("tinker_hl.chunking")

MAX_CHUNK_LEN = 1024
MAX_CHUNK_BYTES_COUNT = 5_000_000


def estimate_model_input_bytes(model_input: ModelInput) -> int:
    """Rough wire size: 10 bytes a token, the raw size of images."""
    total = 0
    for chunk in model_input.chunks:
        if isinstance(chunk, ImageChunk):
            total += len(chunk.data)
        elif isinstance(chunk, ImageAssetPointerChunk):
            total += len(chunk.location)
        elif isinstance(chunk, EncodedTextChunk):
            total += len(chunk.tokens) * 10
    return total


def estimate_datum_bytes(datum: Datum) -> int:
    total = estimate_model_input_bytes(datum.model_input)
    for value in datum.loss_fn_inputs.additional_properties.values():
        total += len(value.data) * 10
    return total


def chunk_datums(
    data: Sequence[Datum],
    max_len: int | None = None,
    max_bytes: int | None = None,
) -> Iterator[list[Datum]]:
    # Limits are read at call time, so that tests (and users) can change the module values.
    max_len = MAX_CHUNK_LEN if max_len is None else max_len
    max_bytes = MAX_CHUNK_BYTES_COUNT if max_bytes is None else max_bytes
    current: list[Datum] = []
    current_bytes = 0
    for datum in data:
        size = estimate_datum_bytes(datum)
        if current and (current_bytes + size > max_bytes or len(current) >= max_len):
            yield current
            current, current_bytes = [], 0
        current.append(datum)
        current_bytes += size
    if current:
        yield current


def _weighted_mean(values: list[float], weights: list[float]) -> float:
    if sum(weights) == 0:
        return float(np.mean(values))
    return float(np.average(values, weights=weights))


def _hash_unordered(values: list[float], weights: list[float]) -> float:
    return float(hash(tuple(sorted(int(v) for v in values))))


REDUCTIONS: dict[str, Callable[[list[float], list[float]], float]] = {
    "mean": _weighted_mean,
    "sum": lambda v, w: float(np.sum(v)),
    "min": lambda v, w: float(np.min(v)),
    "max": lambda v, w: float(np.max(v)),
    "slack": lambda v, w: float(np.max(v) - _weighted_mean(v, w)),
    "hash_unordered": _hash_unordered,
}


def reduce_metrics(
    metric_dicts: Sequence[dict[str, float]], weights: list[float]
) -> dict[str, float]:
    """Combine per-chunk metrics; `weights` are the chunks' datum counts (for means)."""
    if not metric_dicts:
        return {}
    out: dict[str, float] = {}
    for key in metric_dicts[0]:
        if not all(key in m for m in metric_dicts):
            continue
        values = [float(m[key]) for m in metric_dicts]
        _, _, reduction = key.rpartition(":")
        if reduction == "unique":
            out[key] = values[0]
            out.update({f"{key}_{i + 1}": v for i, v in enumerate(values[1:])})
        elif reduction in REDUCTIONS:
            out[key] = REDUCTIONS[reduction](values, weights)
        else:
            logger.debug("metric %r has no known reduction suffix; dropped when combining", key)
    return out


def combine_forward_backward_outputs(
    results: Sequence[ForwardBackwardOutput],
) -> ForwardBackwardOutput:
    if not results:
        return to_official_shape(
            ForwardBackwardOutput(
                loss_fn_output_type="", loss_fn_outputs=[], metrics=Metrics.from_dict({})
            )
        )
    if len(results) == 1:
        return results[0]
    weights = [float(len(r.loss_fn_outputs)) for r in results]
    metrics = reduce_metrics([dict(r.metrics.additional_properties) for r in results], weights)
    combined = ForwardBackwardOutput(
        loss_fn_output_type=results[0].loss_fn_output_type,
        loss_fn_outputs=[out for r in results for out in r.loss_fn_outputs],
        metrics=Metrics.from_dict(metrics),
    )
    return to_official_shape(combined)


combine_fwd_bwd_output_results = combine_forward_backward_outputs
"""The 0.7.0 SDK's name (`tinker.lib.chunked_fwdbwd_helpers`)."""
