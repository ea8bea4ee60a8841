from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.known_request_error_category import (
    KnownRequestErrorCategory,
    check_known_request_error_category,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="ErrorResponse")


@_attrs_define
class ErrorResponse:
    """Body of every 4xx/5xx answer."""

    error: str
    """ Human-readable message. """
    field: str | Unset = UNSET
    """ Dotted path of the offending field, when one is at fault. """
    category: KnownRequestErrorCategory | str | Unset = UNSET
    """ Who is at fault; a newer server may add values. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error = self.error

        field = self.field

        category: str | Unset
        if isinstance(self.category, Unset):
            category = UNSET
        elif isinstance(self.category, str):
            category = self.category
        else:
            category = self.category

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
            }
        )
        if field is not UNSET:
            field_dict["field"] = field
        if category is not UNSET:
            field_dict["category"] = category

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        error = d.pop("error")

        field = d.pop("field", UNSET)

        def _parse_category(data: object) -> KnownRequestErrorCategory | str | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_request_error_category_type_0 = (
                    check_known_request_error_category(data)
                )

                return componentsschemas_request_error_category_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownRequestErrorCategory | str | Unset, data)

        category = _parse_category(d.pop("category", UNSET))

        error_response = cls(
            error=error,
            field=field,
            category=category,
        )

        error_response.additional_properties = d
        return error_response

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
