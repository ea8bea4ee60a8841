from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..conveniences import DataclassMethods

if TYPE_CHECKING:
    from ..models.tensor_data import TensorData


T = TypeVar("T", bound="PromptAltTokens")


@_attrs_define
class PromptAltTokens(DataclassMethods):
    """The draws SampleRequest.prompt_alt_tokens_k asked for, as two dense tensors of shape
    [len(prompt) - 1, k]: `tokens` (int64 ids; row i holds k draws from the distribution
    over prompt token i + 1, alternatives to prompt[i + 1]) and `logprobs` (float32, the
    model's logprob of each draw).

    """

    tokens: TensorData
    """ A dense tensor, or (SDK 0.38, `TensorData.from_torch_sparse`) a sparse CSR matrix: with
    `sparse_crow_indices` and `sparse_col_indices` set, `data` holds only the listed values,
    `shape` (2-D) is required, and the unlisted cells are the tensor's pad (0 for loss
    inputs and results, -1 for target_prompt_logprobs).
     """
    logprobs: TensorData
    """ A dense tensor, or (SDK 0.38, `TensorData.from_torch_sparse`) a sparse CSR matrix: with
    `sparse_crow_indices` and `sparse_col_indices` set, `data` holds only the listed values,
    `shape` (2-D) is required, and the unlisted cells are the tensor's pad (0 for loss
    inputs and results, -1 for target_prompt_logprobs).
     """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        tokens = self.tokens.to_dict()

        logprobs = self.logprobs.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "tokens": tokens,
                "logprobs": logprobs,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        d = dict(src_dict)
        tokens = TensorData.from_dict(d.pop("tokens"))

        logprobs = TensorData.from_dict(d.pop("logprobs"))

        prompt_alt_tokens = cls(
            tokens=tokens,
            logprobs=logprobs,
        )

        prompt_alt_tokens.additional_properties = d
        return prompt_alt_tokens

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
