"""The numpy views of sampling results that SDK 0.38 offers (`SampledSequence.tokens_np`,
`logprobs_np`, `SampleResponse.prompt_logprobs_np`), made from the lists the results hold: the
lists stay the one copy (0.7.0 code reads and changes them), so each view is a new array of
their current values, in 0.38's dtypes (token ids int32, logprobs float32 with NaN for none)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from tinker_api_client.models import SampledSequence, SampleResponse
from tinker_api_client.types import Unset

__all__ = ["logprobs_np", "prompt_logprobs_np", "tokens_np"]


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
