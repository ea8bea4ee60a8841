from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.known_checkpoint_type import (
    KnownCheckpointType,
    check_known_checkpoint_type,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="Checkpoint")


@_attrs_define
class Checkpoint:
    checkpoint_id: str
    """ `weights/<name>` or `sampler_weights/<name>`. """
    checkpoint_type: KnownCheckpointType | str
    """ Training (adapter + optimizer) or sampler (weights only) checkpoint. """
    time: str
    """ RFC 3339 creation time. """
    tinker_path: str
    size_bytes: int | None | Unset = UNSET
    public: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        checkpoint_id = self.checkpoint_id

        checkpoint_type: str
        if isinstance(self.checkpoint_type, str):
            checkpoint_type = self.checkpoint_type
        else:
            checkpoint_type = self.checkpoint_type

        time = self.time

        tinker_path = self.tinker_path

        size_bytes: int | None | Unset
        if isinstance(self.size_bytes, Unset):
            size_bytes = UNSET
        else:
            size_bytes = self.size_bytes

        public = self.public

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "checkpoint_id": checkpoint_id,
                "checkpoint_type": checkpoint_type,
                "time": time,
                "tinker_path": tinker_path,
            }
        )
        if size_bytes is not UNSET:
            field_dict["size_bytes"] = size_bytes
        if public is not UNSET:
            field_dict["public"] = public

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        checkpoint_id = d.pop("checkpoint_id")

        def _parse_checkpoint_type(data: object) -> KnownCheckpointType | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_checkpoint_type_type_0 = check_known_checkpoint_type(
                    data
                )

                return componentsschemas_checkpoint_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownCheckpointType | str, data)

        checkpoint_type = _parse_checkpoint_type(d.pop("checkpoint_type"))

        time = d.pop("time")

        tinker_path = d.pop("tinker_path")

        def _parse_size_bytes(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        size_bytes = _parse_size_bytes(d.pop("size_bytes", UNSET))

        public = d.pop("public", UNSET)

        checkpoint = cls(
            checkpoint_id=checkpoint_id,
            checkpoint_type=checkpoint_type,
            time=time,
            tinker_path=tinker_path,
            size_bytes=size_bytes,
            public=public,
        )

        checkpoint.additional_properties = d
        return checkpoint

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
