from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.optim_step_request_type import (
    OptimStepRequestType,
    check_optim_step_request_type,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.adam_params import AdamParams


T = TypeVar("T", bound="OptimStepRequest")


@_attrs_define
class OptimStepRequest:
    adam_params: AdamParams
    model_id: str
    seq_id: int | None | Unset = UNSET
    type_: OptimStepRequestType | Unset = "optim_step"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        adam_params = self.adam_params.to_dict()

        model_id = self.model_id

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
                "adam_params": adam_params,
                "model_id": model_id,
            }
        )
        if seq_id is not UNSET:
            field_dict["seq_id"] = seq_id
        if type_ is not UNSET:
            field_dict["type"] = type_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.adam_params import AdamParams  # noqa: PLC0415

        d = dict(src_dict)
        adam_params = AdamParams.from_dict(d.pop("adam_params"))

        model_id = d.pop("model_id")

        def _parse_seq_id(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        seq_id = _parse_seq_id(d.pop("seq_id", UNSET))

        _type_ = d.pop("type", UNSET)
        type_: OptimStepRequestType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = check_optim_step_request_type(_type_)

        optim_step_request = cls(
            adam_params=adam_params,
            model_id=model_id,
            seq_id=seq_id,
            type_=type_,
        )

        optim_step_request.additional_properties = d
        return optim_step_request

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
