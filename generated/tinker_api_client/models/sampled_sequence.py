from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.known_stop_reason import KnownStopReason, check_known_stop_reason
from ..types import UNSET, Unset

T = TypeVar("T", bound="SampledSequence")


@_attrs_define
class SampledSequence:
    stop_reason: KnownStopReason | str
    """ Why sampling stopped; a newer server may add values. """
    tokens: list[int]
    logprobs: list[float] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        stop_reason: str
        if isinstance(self.stop_reason, str):
            stop_reason = self.stop_reason
        else:
            stop_reason = self.stop_reason

        tokens = self.tokens

        logprobs: list[float] | None | Unset
        if isinstance(self.logprobs, Unset):
            logprobs = UNSET
        elif isinstance(self.logprobs, list):
            logprobs = self.logprobs

        else:
            logprobs = self.logprobs

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "stop_reason": stop_reason,
                "tokens": tokens,
            }
        )
        if logprobs is not UNSET:
            field_dict["logprobs"] = logprobs

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_stop_reason(data: object) -> KnownStopReason | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_stop_reason_type_0 = check_known_stop_reason(data)

                return componentsschemas_stop_reason_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownStopReason | str, data)

        stop_reason = _parse_stop_reason(d.pop("stop_reason"))

        tokens = cast(list[int], d.pop("tokens"))

        def _parse_logprobs(data: object) -> list[float] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                logprobs_type_0 = cast(list[float], data)

                return logprobs_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[float] | None | Unset, data)

        logprobs = _parse_logprobs(d.pop("logprobs", UNSET))

        sampled_sequence = cls(
            stop_reason=stop_reason,
            tokens=tokens,
            logprobs=logprobs,
        )

        sampled_sequence.additional_properties = d
        return sampled_sequence

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
