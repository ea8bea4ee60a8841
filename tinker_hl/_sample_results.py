"""How a sample request's result becomes a SampleResponse: the promise of a current server
carries one id per requested sample (`sample_sequence_ids`, SDK 0.26+), which each returned
sequence gets as its `sequence_id`. A server without them (0.7-era) leaves the ids out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tinker_api_client.models import SampleResponse

logger = logging.getLogger("tinker_hl")


def sample_decoder(sequence_ids: object) -> Callable[[dict[str, Any]], SampleResponse]:
    """The poll's decoder for a sample whose promise carried `sequence_ids` (or not)."""
    if not isinstance(sequence_ids, list) or not sequence_ids:
        return SampleResponse.from_dict
    ids = [str(i) for i in sequence_ids]

    def decode(body: dict[str, Any]) -> SampleResponse:
        sequences = body.get("sequences")
        if isinstance(sequences, list) and len(sequences) == len(ids):
            for sequence, sequence_id in zip(sequences, ids, strict=True):
                if isinstance(sequence, dict):
                    sequence.setdefault("sequence_id", sequence_id)
        elif isinstance(sequences, list):  # lenient with the server, but say so
            logger.warning(
                "sample: the server promised %d sequence ids and returned %d sequences; "
                "the sequences carry no sequence_id",
                len(ids),
                len(sequences),
            )
        return SampleResponse.from_dict(body)

    return decode


__all__ = ["sample_decoder"]
