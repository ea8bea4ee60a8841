from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.create_session_request_type import (
    CreateSessionRequestType,
    check_create_session_request_type,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.create_session_request_user_metadata_type_0 import (
        CreateSessionRequestUserMetadataType0,
    )


T = TypeVar("T", bound="CreateSessionRequest")


@_attrs_define
class CreateSessionRequest:
    tags: list[str]
    user_metadata: CreateSessionRequestUserMetadataType0 | None
    sdk_version: str
    project_id: None | str | Unset = UNSET
    """ The project the session's training runs belong to (SDK 0.38). """
    display_name: None | str | Unset = UNSET
    """ A human-readable name for the session, not necessarily unique (SDK 0.38). """
    type_: CreateSessionRequestType | Unset = "create_session"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.create_session_request_user_metadata_type_0 import (
            CreateSessionRequestUserMetadataType0,  # noqa: PLC0415
        )

        tags = self.tags

        user_metadata: dict[str, Any] | None
        if isinstance(self.user_metadata, CreateSessionRequestUserMetadataType0):
            user_metadata = self.user_metadata.to_dict()
        else:
            user_metadata = self.user_metadata

        sdk_version = self.sdk_version

        project_id: None | str | Unset
        if isinstance(self.project_id, Unset):
            project_id = UNSET
        else:
            project_id = self.project_id

        display_name: None | str | Unset
        if isinstance(self.display_name, Unset):
            display_name = UNSET
        else:
            display_name = self.display_name

        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "tags": tags,
                "user_metadata": user_metadata,
                "sdk_version": sdk_version,
            }
        )
        if project_id is not UNSET:
            field_dict["project_id"] = project_id
        if display_name is not UNSET:
            field_dict["display_name"] = display_name
        if type_ is not UNSET:
            field_dict["type"] = type_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.create_session_request_user_metadata_type_0 import (
            CreateSessionRequestUserMetadataType0,  # noqa: PLC0415
        )

        d = dict(src_dict)
        tags = cast(list[str], d.pop("tags"))

        def _parse_user_metadata(
            data: object,
        ) -> CreateSessionRequestUserMetadataType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                user_metadata_type_0 = CreateSessionRequestUserMetadataType0.from_dict(
                    data
                )

                return user_metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CreateSessionRequestUserMetadataType0 | None, data)

        user_metadata = _parse_user_metadata(d.pop("user_metadata"))

        sdk_version = d.pop("sdk_version")

        def _parse_project_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        project_id = _parse_project_id(d.pop("project_id", UNSET))

        def _parse_display_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        display_name = _parse_display_name(d.pop("display_name", UNSET))

        _type_ = d.pop("type", UNSET)
        type_: CreateSessionRequestType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = check_create_session_request_type(_type_)

        create_session_request = cls(
            tags=tags,
            user_metadata=user_metadata,
            sdk_version=sdk_version,
            project_id=project_id,
            display_name=display_name,
            type_=type_,
        )

        create_session_request.additional_properties = d
        return create_session_request

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
