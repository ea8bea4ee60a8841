from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..conveniences import CheckpointMethods
from ..models.known_checkpoint_type import (
    KnownCheckpointType,
    check_known_checkpoint_type,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.checkpoint_user_metadata_type_0 import CheckpointUserMetadataType0


T = TypeVar("T", bound="Checkpoint")


@_attrs_define
class Checkpoint(CheckpointMethods):
    checkpoint_id: str
    """ `weights/<name>` or `sampler_weights/<name>`. """
    checkpoint_type: KnownCheckpointType | str
    """ Training (adapter + optimizer) or sampler (weights only) checkpoint. """
    time: str
    """ RFC 3339 creation time. """
    tinker_path: str
    size_bytes: int | None | Unset = UNSET
    public: bool | Unset = False
    user_metadata: CheckpointUserMetadataType0 | None | Unset = UNSET
    expires_at: None | str | Unset = UNSET
    """ RFC 3339 time the checkpoint expires; null for never. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.checkpoint_user_metadata_type_0 import CheckpointUserMetadataType0  # noqa: PLC0415

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

        user_metadata: dict[str, Any] | None | Unset
        if isinstance(self.user_metadata, Unset):
            user_metadata = UNSET
        elif isinstance(self.user_metadata, CheckpointUserMetadataType0):
            user_metadata = self.user_metadata.to_dict()
        else:
            user_metadata = self.user_metadata

        expires_at: None | str | Unset
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = self.expires_at

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
        if user_metadata is not UNSET:
            field_dict["user_metadata"] = user_metadata
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.checkpoint_user_metadata_type_0 import CheckpointUserMetadataType0  # noqa: PLC0415

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

        def _parse_user_metadata(
            data: object,
        ) -> CheckpointUserMetadataType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                user_metadata_type_0 = CheckpointUserMetadataType0.from_dict(data)

                return user_metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CheckpointUserMetadataType0 | None | Unset, data)

        user_metadata = _parse_user_metadata(d.pop("user_metadata", UNSET))

        def _parse_expires_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))

        checkpoint = cls(
            checkpoint_id=checkpoint_id,
            checkpoint_type=checkpoint_type,
            time=time,
            tinker_path=tinker_path,
            size_bytes=size_bytes,
            public=public,
            user_metadata=user_metadata,
            expires_at=expires_at,
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
