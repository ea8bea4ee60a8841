"""The optimizer family a training model is created with (SDK 0.38's `optimizer=`).

`AdamOptimizerConfig` (AdamW, every server's default) and `DimuonOptimizerConfig` are the wire
type `OptimizerConfig` with their family fixed; the per-step hyperparameters stay in
`optim_step(AdamParams(...))`. A server that has only AdamW (the local backend) answers any
other family with a 400 naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from tinker_api_client.models import OptimizerConfig

from .._exceptions import ValidationError


class AdamOptimizerConfig(OptimizerConfig):
    """AdamW, the default optimizer family."""

    def __init__(self, type: Literal["adamw"] = "adamw") -> None:
        if type != "adamw":
            raise ValidationError("type", f"expected 'adamw', got {type!r}")
        super().__init__(type_="adamw")

    @property
    def type(self) -> str:
        return self.type_


class DimuonOptimizerConfig(OptimizerConfig):
    """The Dimuon optimizer family (where the server offers it)."""

    def __init__(self, type: Literal["dimuon"] = "dimuon", version: Literal[1] = 1) -> None:
        if type != "dimuon":
            raise ValidationError("type", f"expected 'dimuon', got {type!r}")
        if version != 1:
            raise ValidationError("version", f"expected 1, got {version!r}")
        super().__init__(type_="dimuon")
        self.additional_properties["version"] = version

    @property
    def type(self) -> str:
        return self.type_

    @property
    def version(self) -> int:
        return int(self.additional_properties["version"])


def optimizer_config(value: object, field: str = "optimizer") -> OptimizerConfig | None:
    """The wire form of an `optimizer=` argument: None, an `OptimizerConfig` (or the official
    SDK's object of that name), or a mapping with a string `type`."""
    if value is None or isinstance(value, OptimizerConfig):
        return value
    raw: Any
    if isinstance(value, Mapping):
        raw = dict(value)
    elif isinstance(getattr(value, "type", None), str) and hasattr(value, "model_dump"):
        raw = value.model_dump()  # an official SDK object (pydantic)
    else:
        raise ValidationError(
            field, f"expected an OptimizerConfig such as AdamOptimizerConfig(), got {value!r}"
        )
    family = raw.get("type")
    if not isinstance(family, str) or not family:
        raise ValidationError(
            f"{field}.type", f"expected the optimizer family name, got {family!r}"
        )
    return OptimizerConfig.from_dict(raw)
