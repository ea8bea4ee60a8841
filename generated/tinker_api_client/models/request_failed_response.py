from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.known_request_error_category import (
    KnownRequestErrorCategory,
    check_known_request_error_category,
)

T = TypeVar("T", bound="RequestFailedResponse")


@_attrs_define
class RequestFailedResponse:
    error: str
    category: KnownRequestErrorCategory | str
    """ Who is at fault; a newer server may add values. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error = self.error

        category: str
        if isinstance(self.category, str):
            category = self.category
        else:
            category = self.category

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
                "category": category,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        error = d.pop("error")

        def _parse_category(data: object) -> KnownRequestErrorCategory | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_request_error_category_type_0 = (
                    check_known_request_error_category(data)
                )

                return componentsschemas_request_error_category_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownRequestErrorCategory | str, data)

        category = _parse_category(d.pop("category"))

        request_failed_response = cls(
            error=error,
            category=category,
        )

        request_failed_response.additional_properties = d
        return request_failed_response

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
