from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..conveniences import DataclassMethods

if TYPE_CHECKING:
    from ..models.loss_fn_output import LossFnOutput
    from ..models.metrics import Metrics


T = TypeVar("T", bound="ForwardBackwardOutput")


@_attrs_define
class ForwardBackwardOutput(DataclassMethods):
    loss_fn_output_type: str
    loss_fn_outputs: list[LossFnOutput]
    metrics: Metrics
    """ Metric values keyed `name:reduction` (mean, sum, min, max, slack, hash_unordered, unique). """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        loss_fn_output_type = self.loss_fn_output_type

        loss_fn_outputs = []
        for loss_fn_outputs_item_data in self.loss_fn_outputs:
            loss_fn_outputs_item = loss_fn_outputs_item_data.to_dict()
            loss_fn_outputs.append(loss_fn_outputs_item)

        metrics = self.metrics.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "loss_fn_output_type": loss_fn_output_type,
                "loss_fn_outputs": loss_fn_outputs,
                "metrics": metrics,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.loss_fn_output import LossFnOutput  # noqa: PLC0415
        from ..models.metrics import Metrics  # noqa: PLC0415

        d = dict(src_dict)
        loss_fn_output_type = d.pop("loss_fn_output_type")

        loss_fn_outputs = []
        _loss_fn_outputs = d.pop("loss_fn_outputs")
        for loss_fn_outputs_item_data in _loss_fn_outputs:
            loss_fn_outputs_item = LossFnOutput.from_dict(loss_fn_outputs_item_data)

            loss_fn_outputs.append(loss_fn_outputs_item)

        metrics = Metrics.from_dict(d.pop("metrics"))

        forward_backward_output = cls(
            loss_fn_output_type=loss_fn_output_type,
            loss_fn_outputs=loss_fn_outputs,
            metrics=metrics,
        )

        forward_backward_output.additional_properties = d
        return forward_backward_output

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
