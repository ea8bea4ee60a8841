from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.load_weights_request_type import (
    LoadWeightsRequestType,
    check_load_weights_request_type,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="LoadWeightsRequest")


@_attrs_define
class LoadWeightsRequest:
    model_id: str
    path: str
    """ tinker:// path of a training checkpoint. """
    optimizer: bool
    """ Also restore the optimizer state. """
    seq_id: int | None | Unset = UNSET
    type_: LoadWeightsRequestType | Unset = "load_weights"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        model_id = self.model_id

        path = self.path

        optimizer = self.optimizer

        seq_id: int | None | Unset
        if isinstance(self.seq_id, Unset):
            seq_id = UNSET
        else:
            seq_id = self.seq_id

        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "model_id": model_id,
                "path": path,
                "optimizer": optimizer,
            }
        )
        if seq_id is not UNSET:
            field_dict["seq_id"] = seq_id
        if type_ is not UNSET:
            field_dict["type"] = type_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        model_id = d.pop("model_id")

        path = d.pop("path")

        optimizer = d.pop("optimizer")

        def _parse_seq_id(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        seq_id = _parse_seq_id(d.pop("seq_id", UNSET))

        _type_ = d.pop("type", UNSET)
        type_: LoadWeightsRequestType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = check_load_weights_request_type(_type_)

        load_weights_request = cls(
            model_id=model_id,
            path=path,
            optimizer=optimizer,
            seq_id=seq_id,
            type_=type_,
        )

        load_weights_request.additional_properties = d
        return load_weights_request

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
