from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="GetSessionResponse")


@_attrs_define
class GetSessionResponse:
    training_run_ids: list[str]
    sampler_ids: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        training_run_ids = self.training_run_ids

        sampler_ids = self.sampler_ids

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "training_run_ids": training_run_ids,
                "sampler_ids": sampler_ids,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        training_run_ids = cast(list[str], d.pop("training_run_ids"))

        sampler_ids = cast(list[str], d.pop("sampler_ids"))

        get_session_response = cls(
            training_run_ids=training_run_ids,
            sampler_ids=sampler_ids,
        )

        get_session_response.additional_properties = d
        return get_session_response

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
