from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.save_weights_for_sampler_response_internal_type import (
    SaveWeightsForSamplerResponseInternalType,
    check_save_weights_for_sampler_response_internal_type,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="SaveWeightsForSamplerResponseInternal")


@_attrs_define
class SaveWeightsForSamplerResponseInternal:
    """What the server returns for save_weights_for_sampler (path, or a sampling session)."""

    path: None | str | Unset = UNSET
    sampling_session_id: None | str | Unset = UNSET
    type_: SaveWeightsForSamplerResponseInternalType | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        path: None | str | Unset
        if isinstance(self.path, Unset):
            path = UNSET
        else:
            path = self.path

        sampling_session_id: None | str | Unset
        if isinstance(self.sampling_session_id, Unset):
            sampling_session_id = UNSET
        else:
            sampling_session_id = self.sampling_session_id

        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if path is not UNSET:
            field_dict["path"] = path
        if sampling_session_id is not UNSET:
            field_dict["sampling_session_id"] = sampling_session_id
        if type_ is not UNSET:
            field_dict["type"] = type_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_path(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        path = _parse_path(d.pop("path", UNSET))

        def _parse_sampling_session_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        sampling_session_id = _parse_sampling_session_id(
            d.pop("sampling_session_id", UNSET)
        )

        _type_ = d.pop("type", UNSET)
        type_: SaveWeightsForSamplerResponseInternalType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = check_save_weights_for_sampler_response_internal_type(_type_)

        save_weights_for_sampler_response_internal = cls(
            path=path,
            sampling_session_id=sampling_session_id,
            type_=type_,
        )

        save_weights_for_sampler_response_internal.additional_properties = d
        return save_weights_for_sampler_response_internal

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
