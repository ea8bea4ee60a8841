from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..conveniences import ParsedCheckpointTinkerPathMethods
from ..models.known_checkpoint_type import (
    KnownCheckpointType,
    check_known_checkpoint_type,
)

T = TypeVar("T", bound="ParsedCheckpointTinkerPath")


@_attrs_define
class ParsedCheckpointTinkerPath(ParsedCheckpointTinkerPathMethods):
    tinker_path: str
    training_run_id: str
    checkpoint_type: KnownCheckpointType | str
    """ Training (adapter + optimizer) or sampler (weights only) checkpoint. """
    checkpoint_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        tinker_path = self.tinker_path

        training_run_id = self.training_run_id

        checkpoint_type: str
        if isinstance(self.checkpoint_type, str):
            checkpoint_type = self.checkpoint_type
        else:
            checkpoint_type = self.checkpoint_type

        checkpoint_id = self.checkpoint_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "tinker_path": tinker_path,
                "training_run_id": training_run_id,
                "checkpoint_type": checkpoint_type,
                "checkpoint_id": checkpoint_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        tinker_path = d.pop("tinker_path")

        training_run_id = d.pop("training_run_id")

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

        checkpoint_id = d.pop("checkpoint_id")

        parsed_checkpoint_tinker_path = cls(
            tinker_path=tinker_path,
            training_run_id=training_run_id,
            checkpoint_type=checkpoint_type,
            checkpoint_id=checkpoint_id,
        )

        parsed_checkpoint_tinker_path.additional_properties = d
        return parsed_checkpoint_tinker_path

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
