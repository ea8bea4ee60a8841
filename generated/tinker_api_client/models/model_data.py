from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ModelData")


@_attrs_define
class ModelData:
    arch: None | str | Unset = UNSET
    model_name: None | str | Unset = UNSET
    tokenizer_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        arch: None | str | Unset
        if isinstance(self.arch, Unset):
            arch = UNSET
        else:
            arch = self.arch

        model_name: None | str | Unset
        if isinstance(self.model_name, Unset):
            model_name = UNSET
        else:
            model_name = self.model_name

        tokenizer_id: None | str | Unset
        if isinstance(self.tokenizer_id, Unset):
            tokenizer_id = UNSET
        else:
            tokenizer_id = self.tokenizer_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if arch is not UNSET:
            field_dict["arch"] = arch
        if model_name is not UNSET:
            field_dict["model_name"] = model_name
        if tokenizer_id is not UNSET:
            field_dict["tokenizer_id"] = tokenizer_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_arch(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        arch = _parse_arch(d.pop("arch", UNSET))

        def _parse_model_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model_name = _parse_model_name(d.pop("model_name", UNSET))

        def _parse_tokenizer_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tokenizer_id = _parse_tokenizer_id(d.pop("tokenizer_id", UNSET))

        model_data = cls(
            arch=arch,
            model_name=model_name,
            tokenizer_id=tokenizer_id,
        )

        model_data.additional_properties = d
        return model_data

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
