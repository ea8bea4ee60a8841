from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_type import EventType, check_event_type
from ..models.severity import Severity, check_severity
from ..types import UNSET, Unset

T = TypeVar("T", bound="UnhandledExceptionEvent")


@_attrs_define
class UnhandledExceptionEvent:
    error_message: str
    error_type: str
    event: EventType
    event_id: str
    event_session_index: int
    severity: Severity
    timestamp: str
    """ RFC 3339 date-time. """
    traceback: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error_message = self.error_message

        error_type = self.error_type

        event: str = self.event

        event_id = self.event_id

        event_session_index = self.event_session_index

        severity: str = self.severity

        timestamp = self.timestamp

        traceback: None | str | Unset
        if isinstance(self.traceback, Unset):
            traceback = UNSET
        else:
            traceback = self.traceback

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error_message": error_message,
                "error_type": error_type,
                "event": event,
                "event_id": event_id,
                "event_session_index": event_session_index,
                "severity": severity,
                "timestamp": timestamp,
            }
        )
        if traceback is not UNSET:
            field_dict["traceback"] = traceback

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        error_message = d.pop("error_message")

        error_type = d.pop("error_type")

        event = check_event_type(d.pop("event"))

        event_id = d.pop("event_id")

        event_session_index = d.pop("event_session_index")

        severity = check_severity(d.pop("severity"))

        timestamp = d.pop("timestamp")

        def _parse_traceback(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        traceback = _parse_traceback(d.pop("traceback", UNSET))

        unhandled_exception_event = cls(
            error_message=error_message,
            error_type=error_type,
            event=event,
            event_id=event_id,
            event_session_index=event_session_index,
            severity=severity,
            timestamp=timestamp,
            traceback=traceback,
        )

        unhandled_exception_event.additional_properties = d
        return unhandled_exception_event

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
