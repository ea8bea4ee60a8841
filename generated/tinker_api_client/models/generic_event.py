from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_type import EventType, check_event_type
from ..models.severity import Severity, check_severity
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.generic_event_event_data import GenericEventEventData


T = TypeVar("T", bound="GenericEvent")


@_attrs_define
class GenericEvent:
    event: EventType
    event_id: str
    event_name: str
    """ Low-cardinality event name. """
    event_session_index: int
    severity: Severity
    timestamp: str
    """ RFC 3339 date-time. """
    event_data: GenericEventEventData | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event: str = self.event

        event_id = self.event_id

        event_name = self.event_name

        event_session_index = self.event_session_index

        severity: str = self.severity

        timestamp = self.timestamp

        event_data: dict[str, Any] | Unset = UNSET
        if not isinstance(self.event_data, Unset):
            event_data = self.event_data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event": event,
                "event_id": event_id,
                "event_name": event_name,
                "event_session_index": event_session_index,
                "severity": severity,
                "timestamp": timestamp,
            }
        )
        if event_data is not UNSET:
            field_dict["event_data"] = event_data

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.generic_event_event_data import GenericEventEventData  # noqa: PLC0415

        d = dict(src_dict)
        event = check_event_type(d.pop("event"))

        event_id = d.pop("event_id")

        event_name = d.pop("event_name")

        event_session_index = d.pop("event_session_index")

        severity = check_severity(d.pop("severity"))

        timestamp = d.pop("timestamp")

        _event_data = d.pop("event_data", UNSET)
        event_data: GenericEventEventData | Unset
        if isinstance(_event_data, Unset):
            event_data = UNSET
        else:
            event_data = GenericEventEventData.from_dict(_event_data)

        generic_event = cls(
            event=event,
            event_id=event_id,
            event_name=event_name,
            event_session_index=event_session_index,
            severity=severity,
            timestamp=timestamp,
            event_data=event_data,
        )

        generic_event.additional_properties = d
        return generic_event

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
