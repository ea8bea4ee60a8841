"""The numpy views of sampling results that SDK 0.38 offers (`SampledSequence.tokens_np`,
`logprobs_np`, `topk_logprobs_np`, `SampleResponse.prompt_logprobs_np`,
`topk_prompt_logprobs_np`), made from the lists the results hold: the lists stay the one copy
(0.7.0 code reads and changes them), so each view is a new array of their current values, in
0.38's dtypes (token ids int32, logprobs float32 with NaN for none; a top-k table pads rows
with fewer than k entries with token 0 and `TOPK_MASK_LOGPROB`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from tinker_api_client.limits import TOPK_MASK_LOGPROB  # the contract's value, both sides
from tinker_api_client.models import SampledSequence, SampleResponse
from tinker_api_client.types import Unset

__all__ = [
    "TOPK_MASK_LOGPROB",
    "TopkLogprobs",
    "logprobs_np",
    "prompt_logprobs_np",
    "tokens_np",
    "topk_logprobs_np",
    "topk_prompt_logprobs_np",
    "topk_to_lists",
]


@dataclass(frozen=True, slots=True)
class TopkLogprobs:
    """The k most likely tokens at each position as two (length, k) matrices: `token_ids`
    (int32) and `logprobs` (float32); cells past a position's entries hold token 0 and
    `TOPK_MASK_LOGPROB`, and a position without entries is all such cells."""

    token_ids: npt.NDArray[Any]
    logprobs: npt.NDArray[Any]


def topk_to_lists(topk: TopkLogprobs) -> list[list[tuple[int, float]] | None]:
    """The table as lists: per position its (token_id, logprob) pairs without the padding
    cells, or None for a position without entries."""
    rows: list[list[tuple[int, float]] | None] = []
    ids, logprobs = topk.token_ids.tolist(), topk.logprobs.tolist()
    for row_ids, row_logprobs in zip(ids, logprobs, strict=True):
        pairs = list(zip(row_ids, row_logprobs, strict=True))
        while pairs and pairs[-1] == (0, TOPK_MASK_LOGPROB):
            pairs.pop()
        rows.append(pairs or None)
    return rows


def _topk_table(rows: object) -> TopkLogprobs | None:
    if rows is None or isinstance(rows, Unset):
        return None
    entries: list[Any] = [row or [] for row in rows]  # type: ignore[attr-defined]
    k = max((len(row) for row in entries), default=0)
    token_ids = np.zeros((len(entries), k), dtype=np.int32)
    logprobs = np.full((len(entries), k), TOPK_MASK_LOGPROB, dtype=np.float32)
    for i, row in enumerate(entries):
        for j, (token_id, logprob) in enumerate(row):
            token_ids[i, j] = token_id
            logprobs[i, j] = logprob
    return TopkLogprobs(token_ids=token_ids, logprobs=logprobs)


def topk_logprobs_np(sequence: SampledSequence) -> TopkLogprobs | None:
    return _topk_table(sequence.topk_logprobs)


def topk_prompt_logprobs_np(response: SampleResponse) -> TopkLogprobs | None:
    return _topk_table(response.topk_prompt_logprobs)


def tokens_np(sequence: SampledSequence) -> npt.NDArray[Any]:
    return np.asarray(sequence.tokens, dtype=np.int32)


def _floats(values: object) -> npt.NDArray[Any] | None:
    if values is None or isinstance(values, Unset):
        return None
    return np.asarray(
        [np.nan if v is None else v for v in values],  # type: ignore[attr-defined]
        dtype=np.float32,
    )


def logprobs_np(sequence: SampledSequence) -> npt.NDArray[Any] | None:
    return _floats(sequence.logprobs)


def prompt_logprobs_np(response: SampleResponse) -> npt.NDArray[Any] | None:
    return _floats(response.prompt_logprobs)
