from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..conveniences import EncodedTextChunkMethods
from ..models.encoded_text_chunk_type import (
    EncodedTextChunkType,
    check_encoded_text_chunk_type,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="EncodedTextChunk")


@_attrs_define
class EncodedTextChunk(EncodedTextChunkMethods):
    tokens: list[int]
    type_: EncodedTextChunkType | Unset = "encoded_text"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        tokens = self.tokens

        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "tokens": tokens,
            }
        )
        if type_ is not UNSET:
            field_dict["type"] = type_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        tokens = cast(list[int], d.pop("tokens"))

        _type_ = d.pop("type", UNSET)
        type_: EncodedTextChunkType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = check_encoded_text_chunk_type(_type_)

        encoded_text_chunk = cls(
            tokens=tokens,
            type_=type_,
        )

        encoded_text_chunk.additional_properties = d
        return encoded_text_chunk

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
