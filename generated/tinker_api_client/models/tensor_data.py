from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..conveniences import TensorDataMethods
from ..models.tensor_dtype import TensorDtype, check_tensor_dtype
from ..types import UNSET, Unset

T = TypeVar("T", bound="TensorData")


@_attrs_define
class TensorData(TensorDataMethods):
    """A dense tensor, or (SDK 0.38) a sparse CSR one with two more keys, read by the server
    but not part of this model: `sparse_crow_indices` (rows + 1 row pointers) and
    `sparse_col_indices` (one per value of `data`); the unlisted cells are the tensor's pad
    (0 for loss inputs, -1 for target_prompt_logprobs).

    """

    data: list[float]
    """ The tensor's values, flattened. """
    dtype: TensorDtype
    shape: list[int] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data

        dtype: str = self.dtype

        shape: list[int] | None | Unset
        if isinstance(self.shape, Unset):
            shape = UNSET
        elif isinstance(self.shape, list):
            shape = self.shape

        else:
            shape = self.shape

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
                "dtype": dtype,
            }
        )
        if shape is not UNSET:
            field_dict["shape"] = shape

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        data = cast(list[float], d.pop("data"))

        dtype = check_tensor_dtype(d.pop("dtype"))

        def _parse_shape(data: object) -> list[int] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                shape_type_0 = cast(list[int], data)

                return shape_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int] | None | Unset, data)

        shape = _parse_shape(d.pop("shape", UNSET))

        tensor_data = cls(
            data=data,
            dtype=dtype,
            shape=shape,
        )

        tensor_data.additional_properties = d
        return tensor_data

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
