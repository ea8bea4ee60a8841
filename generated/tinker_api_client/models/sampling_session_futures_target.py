from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.sampling_session_futures_target_type import (
    SamplingSessionFuturesTargetType,
    check_sampling_session_futures_target_type,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="SamplingSessionFuturesTarget")


@_attrs_define
class SamplingSessionFuturesTarget:
    sampling_session_id: str
    type_: SamplingSessionFuturesTargetType | Unset = "sampling_session"
    cloned_sampler_id: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sampling_session_id = self.sampling_session_id

        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_

        cloned_sampler_id = self.cloned_sampler_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sampling_session_id": sampling_session_id,
            }
        )
        if type_ is not UNSET:
            field_dict["type"] = type_
        if cloned_sampler_id is not UNSET:
            field_dict["cloned_sampler_id"] = cloned_sampler_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sampling_session_id = d.pop("sampling_session_id")

        _type_ = d.pop("type", UNSET)
        type_: SamplingSessionFuturesTargetType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = check_sampling_session_futures_target_type(_type_)

        cloned_sampler_id = d.pop("cloned_sampler_id", UNSET)

        sampling_session_futures_target = cls(
            sampling_session_id=sampling_session_id,
            type_=type_,
            cloned_sampler_id=cloned_sampler_id,
        )

        sampling_session_futures_target.additional_properties = d
        return sampling_session_futures_target

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
