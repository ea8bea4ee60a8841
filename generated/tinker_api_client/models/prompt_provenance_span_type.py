from typing import Literal

PromptProvenanceSpanType = Literal["prompt_tokens"]

PROMPT_PROVENANCE_SPAN_TYPE_VALUES: set[PromptProvenanceSpanType] = {
    "prompt_tokens",
}


def check_prompt_provenance_span_type(value: str) -> PromptProvenanceSpanType:
    if value in PROMPT_PROVENANCE_SPAN_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {PROMPT_PROVENANCE_SPAN_TYPE_VALUES!r}"
    )
