"""Hand the client's conversions to the methods the generated models declare.

`ModelInput.from_ints`, `TensorData.to_numpy`, `Checkpoint.checkpoint_name` and the other
conveniences research code calls are real methods of the generated classes (base classes in
`tinker_api_client.conveniences`, emitted by codegen), so type checkers see them and decoded
results have them. What they do is the client's: the plain typed functions of `_model_input`,
`_tensor` and `_paths`, which the handwritten client also calls directly. `install()` gives the
generated package those functions (idempotent); nothing is attached to any class.
"""

from __future__ import annotations

from tinker_api_client import conveniences

from . import _model_input as mi
from . import _paths, _sampled, _tensor

__all__ = ["install"]

IMPLEMENTATION = conveniences.Implementation(
    model_input_from_ints=mi.model_input_from_ints,
    model_input_to_ints=mi.model_input_to_ints,
    model_input_length=mi.model_input_length,
    model_input_append=mi.model_input_append,
    model_input_append_int=mi.model_input_append_int,
    chunk_length=mi.chunk_length,
    image_chunk_from_bytes=mi.image_chunk_from_bytes,
    image_chunk_to_bytes=mi.image_chunk_to_bytes,
    tensor_from_numpy=_tensor.tensor_from_numpy,
    tensor_from_torch=_tensor.tensor_from_torch,
    tensor_from_torch_sparse=_tensor.tensor_from_torch_sparse,
    tensor_to_numpy=_tensor.tensor_to_numpy,
    tensor_to_torch=_tensor.tensor_to_torch,
    tensor_tolist=_tensor.tensor_tolist,
    sequence_tokens_np=_sampled.tokens_np,
    sequence_logprobs_np=_sampled.logprobs_np,
    prompt_logprobs_np=_sampled.prompt_logprobs_np,
    sequence_topk_logprobs_np=_sampled.topk_logprobs_np,
    topk_prompt_logprobs_np=_sampled.topk_prompt_logprobs_np,
    parse_tinker_path=_paths.parse_tinker_path,
    split_checkpoint_id=_paths.split_checkpoint_id,
)


def install() -> None:
    conveniences.install(IMPLEMENTATION)
