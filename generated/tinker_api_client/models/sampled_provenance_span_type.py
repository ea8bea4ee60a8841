from typing import Literal

SampledProvenanceSpanType = Literal["sampled_tokens"]

SAMPLED_PROVENANCE_SPAN_TYPE_VALUES: set[SampledProvenanceSpanType] = {
    "sampled_tokens",
}


def check_sampled_provenance_span_type(value: str) -> SampledProvenanceSpanType:
    if value in SAMPLED_PROVENANCE_SPAN_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SAMPLED_PROVENANCE_SPAN_TYPE_VALUES!r}"
    )
