from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..conveniences import SampledSequenceMethods
from ..models.known_stop_reason import KnownStopReason, check_known_stop_reason
from ..types import UNSET, Unset

T = TypeVar("T", bound="SampledSequence")


@_attrs_define
class SampledSequence(SampledSequenceMethods):
    stop_reason: KnownStopReason | str
    """ Why sampling stopped; a newer server may add values. """
    tokens: list[int]
    sequence_id: None | str | Unset = UNSET
    """ Names this sequence in later requests (SDK 0.38; e.g. stable_reinforce training). The
    client takes it from the asample promise's `sample_sequence_ids`; null where the server
    gave none.
     """
    logprobs: list[float] | None | Unset = UNSET
    topk_logprobs: list[list[list[float | int]] | None] | None | Unset = UNSET
    """ With topk_sample_logprobs k, per sampled token its step's k most likely. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        stop_reason: str
        if isinstance(self.stop_reason, str):
            stop_reason = self.stop_reason
        else:
            stop_reason = self.stop_reason

        tokens = self.tokens

        sequence_id: None | str | Unset
        if isinstance(self.sequence_id, Unset):
            sequence_id = UNSET
        else:
            sequence_id = self.sequence_id

        logprobs: list[float] | None | Unset
        if isinstance(self.logprobs, Unset):
            logprobs = UNSET
        elif isinstance(self.logprobs, list):
            logprobs = self.logprobs

        else:
            logprobs = self.logprobs

        topk_logprobs: list[list[list[float | int]] | None] | None | Unset
        if isinstance(self.topk_logprobs, Unset):
            topk_logprobs = UNSET
        elif isinstance(self.topk_logprobs, list):
            topk_logprobs = []
            for topk_logprobs_type_0_item_data in self.topk_logprobs:
                topk_logprobs_type_0_item: list[list[float | int]] | None
                if isinstance(topk_logprobs_type_0_item_data, list):
                    topk_logprobs_type_0_item = []
                    for (
                        topk_logprobs_type_0_item_type_0_item_data
                    ) in topk_logprobs_type_0_item_data:
                        topk_logprobs_type_0_item_type_0_item = []
                        for (
                            componentsschemas_topk_logprob_item_data
                        ) in topk_logprobs_type_0_item_type_0_item_data:
                            componentsschemas_topk_logprob_item: float | int
                            componentsschemas_topk_logprob_item = (
                                componentsschemas_topk_logprob_item_data
                            )
                            topk_logprobs_type_0_item_type_0_item.append(
                                componentsschemas_topk_logprob_item
                            )

                        topk_logprobs_type_0_item.append(
                            topk_logprobs_type_0_item_type_0_item
                        )

                else:
                    topk_logprobs_type_0_item = topk_logprobs_type_0_item_data
                topk_logprobs.append(topk_logprobs_type_0_item)

        else:
            topk_logprobs = self.topk_logprobs

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "stop_reason": stop_reason,
                "tokens": tokens,
            }
        )
        if sequence_id is not UNSET:
            field_dict["sequence_id"] = sequence_id
        if logprobs is not UNSET:
            field_dict["logprobs"] = logprobs
        if topk_logprobs is not UNSET:
            field_dict["topk_logprobs"] = topk_logprobs

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

        def _parse_sequence_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        sequence_id = _parse_sequence_id(d.pop("sequence_id", UNSET))

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

        def _parse_topk_logprobs(
            data: object,
        ) -> list[list[list[float | int]] | None] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                topk_logprobs_type_0 = []
                _topk_logprobs_type_0 = data
                for topk_logprobs_type_0_item_data in _topk_logprobs_type_0:

                    def _parse_topk_logprobs_type_0_item(
                        data: object,
                    ) -> list[list[float | int]] | None:
                        if data is None:
                            return data
                        try:
                            if not isinstance(data, list):
                                raise TypeError()
                            topk_logprobs_type_0_item_type_0 = []
                            _topk_logprobs_type_0_item_type_0 = data
                            for (
                                topk_logprobs_type_0_item_type_0_item_data
                            ) in _topk_logprobs_type_0_item_type_0:
                                topk_logprobs_type_0_item_type_0_item = []
                                _topk_logprobs_type_0_item_type_0_item = (
                                    topk_logprobs_type_0_item_type_0_item_data
                                )
                                for (
                                    componentsschemas_topk_logprob_item_data
                                ) in _topk_logprobs_type_0_item_type_0_item:

                                    def _parse_componentsschemas_topk_logprob_item(
                                        data: object,
                                    ) -> float | int:
                                        return cast(float | int, data)

                                    componentsschemas_topk_logprob_item = (
                                        _parse_componentsschemas_topk_logprob_item(
                                            componentsschemas_topk_logprob_item_data
                                        )
                                    )

                                    topk_logprobs_type_0_item_type_0_item.append(
                                        componentsschemas_topk_logprob_item
                                    )

                                topk_logprobs_type_0_item_type_0.append(
                                    topk_logprobs_type_0_item_type_0_item
                                )

                            return topk_logprobs_type_0_item_type_0
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        return cast(list[list[float | int]] | None, data)

                    topk_logprobs_type_0_item = _parse_topk_logprobs_type_0_item(
                        topk_logprobs_type_0_item_data
                    )

                    topk_logprobs_type_0.append(topk_logprobs_type_0_item)

                return topk_logprobs_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[list[list[float | int]] | None] | None | Unset, data)

        topk_logprobs = _parse_topk_logprobs(d.pop("topk_logprobs", UNSET))

        sampled_sequence = cls(
            stop_reason=stop_reason,
            tokens=tokens,
            sequence_id=sequence_id,
            logprobs=logprobs,
            topk_logprobs=topk_logprobs,
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
