"""Placeholder: replaced by the telemetry reporter."""

from __future__ import annotations

from typing import Any


def start_telemetry(holder: Any) -> Any:
    return None
