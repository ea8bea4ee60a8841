from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.save_weights_request_type import (
    SaveWeightsRequestType,
    check_save_weights_request_type,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.save_weights_request_user_metadata_type_0 import (
        SaveWeightsRequestUserMetadataType0,
    )


T = TypeVar("T", bound="SaveWeightsRequest")


@_attrs_define
class SaveWeightsRequest:
    model_id: str
    path: None | str | Unset = UNSET
    """ Checkpoint name. """
    seq_id: int | None | Unset = UNSET
    ttl_seconds: int | None | Unset = UNSET
    """ The checkpoint is deleted this long after the save (1 hour to 10 years). """
    user_metadata: None | SaveWeightsRequestUserMetadataType0 | Unset = UNSET
    """ Listed with the checkpoint. """
    overwrite: bool | Unset = False
    """ Replace an existing checkpoint of the same name (else the save fails). """
    type_: SaveWeightsRequestType | Unset = "save_weights"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.save_weights_request_user_metadata_type_0 import (
            SaveWeightsRequestUserMetadataType0,  # noqa: PLC0415
        )

        model_id = self.model_id

        path: None | str | Unset
        if isinstance(self.path, Unset):
            path = UNSET
        else:
            path = self.path

        seq_id: int | None | Unset
        if isinstance(self.seq_id, Unset):
            seq_id = UNSET
        else:
            seq_id = self.seq_id

        ttl_seconds: int | None | Unset
        if isinstance(self.ttl_seconds, Unset):
            ttl_seconds = UNSET
        else:
            ttl_seconds = self.ttl_seconds

        user_metadata: dict[str, Any] | None | Unset
        if isinstance(self.user_metadata, Unset):
            user_metadata = UNSET
        elif isinstance(self.user_metadata, SaveWeightsRequestUserMetadataType0):
            user_metadata = self.user_metadata.to_dict()
        else:
            user_metadata = self.user_metadata

        overwrite = self.overwrite

        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "model_id": model_id,
            }
        )
        if path is not UNSET:
            field_dict["path"] = path
        if seq_id is not UNSET:
            field_dict["seq_id"] = seq_id
        if ttl_seconds is not UNSET:
            field_dict["ttl_seconds"] = ttl_seconds
        if user_metadata is not UNSET:
            field_dict["user_metadata"] = user_metadata
        if overwrite is not UNSET:
            field_dict["overwrite"] = overwrite
        if type_ is not UNSET:
            field_dict["type"] = type_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.save_weights_request_user_metadata_type_0 import (
            SaveWeightsRequestUserMetadataType0,  # noqa: PLC0415
        )

        d = dict(src_dict)
        model_id = d.pop("model_id")

        def _parse_path(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        path = _parse_path(d.pop("path", UNSET))

        def _parse_seq_id(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        seq_id = _parse_seq_id(d.pop("seq_id", UNSET))

        def _parse_ttl_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        ttl_seconds = _parse_ttl_seconds(d.pop("ttl_seconds", UNSET))

        def _parse_user_metadata(
            data: object,
        ) -> None | SaveWeightsRequestUserMetadataType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                user_metadata_type_0 = SaveWeightsRequestUserMetadataType0.from_dict(
                    data
                )

                return user_metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SaveWeightsRequestUserMetadataType0 | Unset, data)

        user_metadata = _parse_user_metadata(d.pop("user_metadata", UNSET))

        overwrite = d.pop("overwrite", UNSET)

        _type_ = d.pop("type", UNSET)
        type_: SaveWeightsRequestType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = check_save_weights_request_type(_type_)

        save_weights_request = cls(
            model_id=model_id,
            path=path,
            seq_id=seq_id,
            ttl_seconds=ttl_seconds,
            user_metadata=user_metadata,
            overwrite=overwrite,
            type_=type_,
        )

        save_weights_request.additional_properties = d
        return save_weights_request

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
