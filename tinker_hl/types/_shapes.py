"""The official SDK's shapes for the values the client returns.

The generated models keep the wire's shapes: absent optional fields are `UNSET`, string-keyed
maps (`metrics`, `loss_fn_outputs[i]`, `user_metadata`) are model objects, timestamps are
strings. The official 0.7.0 types give `None`, plain dicts and `datetime`s, and research code
relies on that (`run.user_metadata.get("key")`, `json.dumps(output.metrics)`,
`if seq.logprobs is not None`). `to_official_shape` converts a decoded result in place, once,
where the client produces it (`_http.parsed`, the futures' decoding, combined outputs); it does
not touch the generated classes, which the local backend shares in the same process.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs
from tinker_api_client.types import UNSET, Unset

__all__ = ["WireMap", "to_official_shape"]

# Fields the official types declare as datetimes (the wire carries RFC 3339 strings).
DATETIME_FIELDS = frozenset(
    {
        ("Checkpoint", "time"),
        ("TrainingRun", "last_request_time"),
        ("CheckpointArchiveUrlResponse", "expires"),
        ("GenericEvent", "timestamp"),
        ("SessionStartEvent", "timestamp"),
        ("SessionEndEvent", "timestamp"),
        ("UnhandledExceptionEvent", "timestamp"),
    }
)
_SCALARS = (int, float, str, bool, bytes, type(None))


class WireMap(dict[str, Any]):
    """A string-keyed map of the wire (metrics, loss outputs, metadata) as a plain dict, which
    still re-encodes like the generated model it replaces (`to_dict`, `additional_properties`)."""

    @property
    def additional_properties(self) -> dict[str, Any]:
        return self

    @property
    def additional_keys(self) -> list[str]:
        return list(self)

    def to_dict(self) -> dict[str, Any]:
        return {k: v.to_dict() if hasattr(v, "to_dict") else v for k, v in self.items()}


def _is_map_model(cls: type) -> bool:
    names = [a.name for a in attrs.fields(cls)]
    return names == ["additional_properties"]


_MAP_MODELS: dict[type, bool] = {}


def _parse_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return _dt.datetime.fromisoformat(value)
        except ValueError:  # a server's own format: kept as given rather than refused
            return value
    return value


def to_official_shape(value: Any) -> Any:
    """`value` with official shapes (in place for models and lists; returns the value)."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list):
        if value and not isinstance(value[0], _SCALARS):
            for i, item in enumerate(value):
                value[i] = to_official_shape(item)
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(item, _SCALARS):
                value[key] = to_official_shape(item)
        return value
    cls = type(value)
    if not attrs.has(cls):
        return value
    is_map = _MAP_MODELS.get(cls)
    if is_map is None:
        is_map = _MAP_MODELS[cls] = _is_map_model(cls)
    if is_map:
        return WireMap({k: to_official_shape(v) for k, v in value.additional_properties.items()})
    name = cls.__name__
    for field in attrs.fields(cls):
        if field.name == "additional_properties":
            continue
        item = getattr(value, field.name)
        if isinstance(item, Unset):
            default = field.default
            item = None if default is attrs.NOTHING or default is UNSET else default
        elif (name, field.name) in DATETIME_FIELDS:
            item = _parse_time(item)
        elif not isinstance(item, _SCALARS):
            item = to_official_shape(item)
        setattr(value, field.name, item)
    return value
