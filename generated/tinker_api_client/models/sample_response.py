from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..conveniences import SampleResponseMethods
from ..models.sample_response_type import SampleResponseType, check_sample_response_type
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.prompt_alt_tokens import PromptAltTokens
    from ..models.sampled_sequence import SampledSequence
    from ..models.tensor_data import TensorData


T = TypeVar("T", bound="SampleResponse")


@_attrs_define
class SampleResponse(SampleResponseMethods):
    sequences: list[SampledSequence]
    type_: SampleResponseType | Unset = "sample"
    prompt_logprobs: list[float | None] | None | Unset = UNSET
    topk_prompt_logprobs: list[list[list[float | int]] | None] | None | Unset = UNSET
    prompt_cache_hit_tokens: int | Unset = UNSET
    """ Prompt tokens served from a prefix cache (always 0 locally, no cache). """
    target_prompt_logprobs: None | TensorData | Unset = UNSET
    """ float32 logprobs of the request's target_prompt_logprobs ids, same shape and layout
    (0.0 where the request had -1).
     """
    prompt_alt_tokens: None | PromptAltTokens | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.prompt_alt_tokens import PromptAltTokens  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        sequences = []
        for sequences_item_data in self.sequences:
            sequences_item = sequences_item_data.to_dict()
            sequences.append(sequences_item)

        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_

        prompt_logprobs: list[float | None] | None | Unset
        if isinstance(self.prompt_logprobs, Unset):
            prompt_logprobs = UNSET
        elif isinstance(self.prompt_logprobs, list):
            prompt_logprobs = []
            for prompt_logprobs_type_0_item_data in self.prompt_logprobs:
                prompt_logprobs_type_0_item: float | None
                prompt_logprobs_type_0_item = prompt_logprobs_type_0_item_data
                prompt_logprobs.append(prompt_logprobs_type_0_item)

        else:
            prompt_logprobs = self.prompt_logprobs

        topk_prompt_logprobs: list[list[list[float | int]] | None] | None | Unset
        if isinstance(self.topk_prompt_logprobs, Unset):
            topk_prompt_logprobs = UNSET
        elif isinstance(self.topk_prompt_logprobs, list):
            topk_prompt_logprobs = []
            for topk_prompt_logprobs_type_0_item_data in self.topk_prompt_logprobs:
                topk_prompt_logprobs_type_0_item: list[list[float | int]] | None
                if isinstance(topk_prompt_logprobs_type_0_item_data, list):
                    topk_prompt_logprobs_type_0_item = []
                    for (
                        topk_prompt_logprobs_type_0_item_type_0_item_data
                    ) in topk_prompt_logprobs_type_0_item_data:
                        topk_prompt_logprobs_type_0_item_type_0_item = []
                        for (
                            componentsschemas_topk_logprob_item_data
                        ) in topk_prompt_logprobs_type_0_item_type_0_item_data:
                            componentsschemas_topk_logprob_item: float | int
                            componentsschemas_topk_logprob_item = (
                                componentsschemas_topk_logprob_item_data
                            )
                            topk_prompt_logprobs_type_0_item_type_0_item.append(
                                componentsschemas_topk_logprob_item
                            )

                        topk_prompt_logprobs_type_0_item.append(
                            topk_prompt_logprobs_type_0_item_type_0_item
                        )

                else:
                    topk_prompt_logprobs_type_0_item = (
                        topk_prompt_logprobs_type_0_item_data
                    )
                topk_prompt_logprobs.append(topk_prompt_logprobs_type_0_item)

        else:
            topk_prompt_logprobs = self.topk_prompt_logprobs

        prompt_cache_hit_tokens = self.prompt_cache_hit_tokens

        target_prompt_logprobs: dict[str, Any] | None | Unset
        if isinstance(self.target_prompt_logprobs, Unset):
            target_prompt_logprobs = UNSET
        elif isinstance(self.target_prompt_logprobs, TensorData):
            target_prompt_logprobs = self.target_prompt_logprobs.to_dict()
        else:
            target_prompt_logprobs = self.target_prompt_logprobs

        prompt_alt_tokens: dict[str, Any] | None | Unset
        if isinstance(self.prompt_alt_tokens, Unset):
            prompt_alt_tokens = UNSET
        elif isinstance(self.prompt_alt_tokens, PromptAltTokens):
            prompt_alt_tokens = self.prompt_alt_tokens.to_dict()
        else:
            prompt_alt_tokens = self.prompt_alt_tokens

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sequences": sequences,
            }
        )
        if type_ is not UNSET:
            field_dict["type"] = type_
        if prompt_logprobs is not UNSET:
            field_dict["prompt_logprobs"] = prompt_logprobs
        if topk_prompt_logprobs is not UNSET:
            field_dict["topk_prompt_logprobs"] = topk_prompt_logprobs
        if prompt_cache_hit_tokens is not UNSET:
            field_dict["prompt_cache_hit_tokens"] = prompt_cache_hit_tokens
        if target_prompt_logprobs is not UNSET:
            field_dict["target_prompt_logprobs"] = target_prompt_logprobs
        if prompt_alt_tokens is not UNSET:
            field_dict["prompt_alt_tokens"] = prompt_alt_tokens

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.prompt_alt_tokens import PromptAltTokens  # noqa: PLC0415
        from ..models.sampled_sequence import SampledSequence  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        d = dict(src_dict)
        sequences = []
        _sequences = d.pop("sequences")
        for sequences_item_data in _sequences:
            sequences_item = SampledSequence.from_dict(sequences_item_data)

            sequences.append(sequences_item)

        _type_ = d.pop("type", UNSET)
        type_: SampleResponseType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = check_sample_response_type(_type_)

        def _parse_prompt_logprobs(data: object) -> list[float | None] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                prompt_logprobs_type_0 = []
                _prompt_logprobs_type_0 = data
                for prompt_logprobs_type_0_item_data in _prompt_logprobs_type_0:

                    def _parse_prompt_logprobs_type_0_item(
                        data: object,
                    ) -> float | None:
                        if data is None:
                            return data
                        return cast(float | None, data)

                    prompt_logprobs_type_0_item = _parse_prompt_logprobs_type_0_item(
                        prompt_logprobs_type_0_item_data
                    )

                    prompt_logprobs_type_0.append(prompt_logprobs_type_0_item)

                return prompt_logprobs_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[float | None] | None | Unset, data)

        prompt_logprobs = _parse_prompt_logprobs(d.pop("prompt_logprobs", UNSET))

        def _parse_topk_prompt_logprobs(
            data: object,
        ) -> list[list[list[float | int]] | None] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                topk_prompt_logprobs_type_0 = []
                _topk_prompt_logprobs_type_0 = data
                for (
                    topk_prompt_logprobs_type_0_item_data
                ) in _topk_prompt_logprobs_type_0:

                    def _parse_topk_prompt_logprobs_type_0_item(
                        data: object,
                    ) -> list[list[float | int]] | None:
                        if data is None:
                            return data
                        try:
                            if not isinstance(data, list):
                                raise TypeError()
                            topk_prompt_logprobs_type_0_item_type_0 = []
                            _topk_prompt_logprobs_type_0_item_type_0 = data
                            for (
                                topk_prompt_logprobs_type_0_item_type_0_item_data
                            ) in _topk_prompt_logprobs_type_0_item_type_0:
                                topk_prompt_logprobs_type_0_item_type_0_item = []
                                _topk_prompt_logprobs_type_0_item_type_0_item = (
                                    topk_prompt_logprobs_type_0_item_type_0_item_data
                                )
                                for (
                                    componentsschemas_topk_logprob_item_data
                                ) in _topk_prompt_logprobs_type_0_item_type_0_item:

                                    def _parse_componentsschemas_topk_logprob_item(
                                        data: object,
                                    ) -> float | int:
                                        return cast(float | int, data)

                                    componentsschemas_topk_logprob_item = (
                                        _parse_componentsschemas_topk_logprob_item(
                                            componentsschemas_topk_logprob_item_data
                                        )
                                    )

                                    topk_prompt_logprobs_type_0_item_type_0_item.append(
                                        componentsschemas_topk_logprob_item
                                    )

                                topk_prompt_logprobs_type_0_item_type_0.append(
                                    topk_prompt_logprobs_type_0_item_type_0_item
                                )

                            return topk_prompt_logprobs_type_0_item_type_0
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        return cast(list[list[float | int]] | None, data)

                    topk_prompt_logprobs_type_0_item = (
                        _parse_topk_prompt_logprobs_type_0_item(
                            topk_prompt_logprobs_type_0_item_data
                        )
                    )

                    topk_prompt_logprobs_type_0.append(topk_prompt_logprobs_type_0_item)

                return topk_prompt_logprobs_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[list[list[float | int]] | None] | None | Unset, data)

        topk_prompt_logprobs = _parse_topk_prompt_logprobs(
            d.pop("topk_prompt_logprobs", UNSET)
        )

        prompt_cache_hit_tokens = d.pop("prompt_cache_hit_tokens", UNSET)

        def _parse_target_prompt_logprobs(data: object) -> None | TensorData | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                target_prompt_logprobs_type_0 = TensorData.from_dict(data)

                return target_prompt_logprobs_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TensorData | Unset, data)

        target_prompt_logprobs = _parse_target_prompt_logprobs(
            d.pop("target_prompt_logprobs", UNSET)
        )

        def _parse_prompt_alt_tokens(data: object) -> None | PromptAltTokens | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                prompt_alt_tokens_type_0 = PromptAltTokens.from_dict(data)

                return prompt_alt_tokens_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PromptAltTokens | Unset, data)

        prompt_alt_tokens = _parse_prompt_alt_tokens(d.pop("prompt_alt_tokens", UNSET))

        sample_response = cls(
            sequences=sequences,
            type_=type_,
            prompt_logprobs=prompt_logprobs,
            topk_prompt_logprobs=topk_prompt_logprobs,
            prompt_cache_hit_tokens=prompt_cache_hit_tokens,
            target_prompt_logprobs=target_prompt_logprobs,
            prompt_alt_tokens=prompt_alt_tokens,
        )

        sample_response.additional_properties = d
        return sample_response

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
