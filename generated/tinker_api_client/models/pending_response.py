from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.known_queue_state import KnownQueueState, check_known_queue_state
from ..types import UNSET, Unset

T = TypeVar("T", bound="PendingResponse")


@_attrs_define
class PendingResponse:
    """Body of a 408 from retrieve_future."""

    error: str | Unset = UNSET
    queue_state: KnownQueueState | str | Unset = UNSET
    """ Why a request waits; a newer server may add values. """
    queue_state_reason: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error = self.error

        queue_state: str | Unset
        if isinstance(self.queue_state, Unset):
            queue_state = UNSET
        elif isinstance(self.queue_state, str):
            queue_state = self.queue_state
        else:
            queue_state = self.queue_state

        queue_state_reason = self.queue_state_reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if error is not UNSET:
            field_dict["error"] = error
        if queue_state is not UNSET:
            field_dict["queue_state"] = queue_state
        if queue_state_reason is not UNSET:
            field_dict["queue_state_reason"] = queue_state_reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        error = d.pop("error", UNSET)

        def _parse_queue_state(data: object) -> KnownQueueState | str | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_queue_state_type_0 = check_known_queue_state(data)

                return componentsschemas_queue_state_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownQueueState | str | Unset, data)

        queue_state = _parse_queue_state(d.pop("queue_state", UNSET))

        queue_state_reason = d.pop("queue_state_reason", UNSET)

        pending_response = cls(
            error=error,
            queue_state=queue_state,
            queue_state_reason=queue_state_reason,
        )

        pending_response.additional_properties = d
        return pending_response

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
