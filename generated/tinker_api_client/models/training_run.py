from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.checkpoint import Checkpoint
    from ..models.training_run_user_metadata_type_0 import TrainingRunUserMetadataType0


T = TypeVar("T", bound="TrainingRun")


@_attrs_define
class TrainingRun:
    training_run_id: str
    base_model: str
    model_owner: str
    is_lora: bool
    last_request_time: str
    """ RFC 3339 time of the last request. """
    corrupted: bool | Unset = False
    lora_rank: int | None | Unset = UNSET
    last_checkpoint: Checkpoint | None | Unset = UNSET
    last_sampler_checkpoint: Checkpoint | None | Unset = UNSET
    user_metadata: None | TrainingRunUserMetadataType0 | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.checkpoint import Checkpoint  # noqa: PLC0415
        from ..models.training_run_user_metadata_type_0 import (
            TrainingRunUserMetadataType0,  # noqa: PLC0415
        )

        training_run_id = self.training_run_id

        base_model = self.base_model

        model_owner = self.model_owner

        is_lora = self.is_lora

        last_request_time = self.last_request_time

        corrupted = self.corrupted

        lora_rank: int | None | Unset
        if isinstance(self.lora_rank, Unset):
            lora_rank = UNSET
        else:
            lora_rank = self.lora_rank

        last_checkpoint: dict[str, Any] | None | Unset
        if isinstance(self.last_checkpoint, Unset):
            last_checkpoint = UNSET
        elif isinstance(self.last_checkpoint, Checkpoint):
            last_checkpoint = self.last_checkpoint.to_dict()
        else:
            last_checkpoint = self.last_checkpoint

        last_sampler_checkpoint: dict[str, Any] | None | Unset
        if isinstance(self.last_sampler_checkpoint, Unset):
            last_sampler_checkpoint = UNSET
        elif isinstance(self.last_sampler_checkpoint, Checkpoint):
            last_sampler_checkpoint = self.last_sampler_checkpoint.to_dict()
        else:
            last_sampler_checkpoint = self.last_sampler_checkpoint

        user_metadata: dict[str, Any] | None | Unset
        if isinstance(self.user_metadata, Unset):
            user_metadata = UNSET
        elif isinstance(self.user_metadata, TrainingRunUserMetadataType0):
            user_metadata = self.user_metadata.to_dict()
        else:
            user_metadata = self.user_metadata

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "training_run_id": training_run_id,
                "base_model": base_model,
                "model_owner": model_owner,
                "is_lora": is_lora,
                "last_request_time": last_request_time,
            }
        )
        if corrupted is not UNSET:
            field_dict["corrupted"] = corrupted
        if lora_rank is not UNSET:
            field_dict["lora_rank"] = lora_rank
        if last_checkpoint is not UNSET:
            field_dict["last_checkpoint"] = last_checkpoint
        if last_sampler_checkpoint is not UNSET:
            field_dict["last_sampler_checkpoint"] = last_sampler_checkpoint
        if user_metadata is not UNSET:
            field_dict["user_metadata"] = user_metadata

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.checkpoint import Checkpoint  # noqa: PLC0415
        from ..models.training_run_user_metadata_type_0 import (
            TrainingRunUserMetadataType0,  # noqa: PLC0415
        )

        d = dict(src_dict)
        training_run_id = d.pop("training_run_id")

        base_model = d.pop("base_model")

        model_owner = d.pop("model_owner")

        is_lora = d.pop("is_lora")

        last_request_time = d.pop("last_request_time")

        corrupted = d.pop("corrupted", UNSET)

        def _parse_lora_rank(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        lora_rank = _parse_lora_rank(d.pop("lora_rank", UNSET))

        def _parse_last_checkpoint(data: object) -> Checkpoint | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                last_checkpoint_type_0 = Checkpoint.from_dict(data)

                return last_checkpoint_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Checkpoint | None | Unset, data)

        last_checkpoint = _parse_last_checkpoint(d.pop("last_checkpoint", UNSET))

        def _parse_last_sampler_checkpoint(data: object) -> Checkpoint | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                last_sampler_checkpoint_type_0 = Checkpoint.from_dict(data)

                return last_sampler_checkpoint_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Checkpoint | None | Unset, data)

        last_sampler_checkpoint = _parse_last_sampler_checkpoint(
            d.pop("last_sampler_checkpoint", UNSET)
        )

        def _parse_user_metadata(
            data: object,
        ) -> None | TrainingRunUserMetadataType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                user_metadata_type_0 = TrainingRunUserMetadataType0.from_dict(data)

                return user_metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TrainingRunUserMetadataType0 | Unset, data)

        user_metadata = _parse_user_metadata(d.pop("user_metadata", UNSET))

        training_run = cls(
            training_run_id=training_run_id,
            base_model=base_model,
            model_owner=model_owner,
            is_lora=is_lora,
            last_request_time=last_request_time,
            corrupted=corrupted,
            lora_rank=lora_rank,
            last_checkpoint=last_checkpoint,
            last_sampler_checkpoint=last_sampler_checkpoint,
            user_metadata=user_metadata,
        )

        training_run.additional_properties = d
        return training_run

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
