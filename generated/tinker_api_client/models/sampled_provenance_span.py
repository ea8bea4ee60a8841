from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..conveniences import DataclassMethods
from ..models.sampled_provenance_span_type import (
    SampledProvenanceSpanType,
    check_sampled_provenance_span_type,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="SampledProvenanceSpan")


@_attrs_define
class SampledProvenanceSpan(DataclassMethods):
    """Positions [offset, offset + length) of the sampled sequence `sequence_id`'s tokens."""

    sequence_id: str
    """ A SampledSequence.sequence_id. """
    length: int
    type_: SampledProvenanceSpanType = "sampled_tokens"
    offset: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sequence_id = self.sequence_id

        length = self.length

        type_: str = self.type_

        offset = self.offset

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sequence_id": sequence_id,
                "length": length,
                "type": type_,
            }
        )
        if offset is not UNSET:
            field_dict["offset"] = offset

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sequence_id = d.pop("sequence_id")

        length = d.pop("length")

        type_ = check_sampled_provenance_span_type(d.pop("type"))

        offset = d.pop("offset", UNSET)

        sampled_provenance_span = cls(
            sequence_id=sequence_id,
            length=length,
            type_=type_,
            offset=offset,
        )

        sampled_provenance_span.additional_properties = d
        return sampled_provenance_span

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
