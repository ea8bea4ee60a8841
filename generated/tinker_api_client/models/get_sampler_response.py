from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="GetSamplerResponse")


@_attrs_define
class GetSamplerResponse:
    sampler_id: str
    base_model: str
    model_path: None | str | Unset = UNSET
    tokenizer_id: None | str | Unset = UNSET
    """ The tokenizer of the sampler's model, where it is not the model's name. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sampler_id = self.sampler_id

        base_model = self.base_model

        model_path: None | str | Unset
        if isinstance(self.model_path, Unset):
            model_path = UNSET
        else:
            model_path = self.model_path

        tokenizer_id: None | str | Unset
        if isinstance(self.tokenizer_id, Unset):
            tokenizer_id = UNSET
        else:
            tokenizer_id = self.tokenizer_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sampler_id": sampler_id,
                "base_model": base_model,
            }
        )
        if model_path is not UNSET:
            field_dict["model_path"] = model_path
        if tokenizer_id is not UNSET:
            field_dict["tokenizer_id"] = tokenizer_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sampler_id = d.pop("sampler_id")

        base_model = d.pop("base_model")

        def _parse_model_path(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model_path = _parse_model_path(d.pop("model_path", UNSET))

        def _parse_tokenizer_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tokenizer_id = _parse_tokenizer_id(d.pop("tokenizer_id", UNSET))

        get_sampler_response = cls(
            sampler_id=sampler_id,
            base_model=base_model,
            model_path=model_path,
            tokenizer_id=tokenizer_id,
        )

        get_sampler_response.additional_properties = d
        return get_sampler_response

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
