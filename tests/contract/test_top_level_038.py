"""The top-level namespace of the official SDK 0.38.0 (`tinker.X`, as research code of today
writes it: `tinker.SampledProvenanceSpan(...)`, `tinker.SampleRequest`): every public name is on
tinker_hl too, the same object as in `tinker_hl.types` where both have it, except the names of
TOP_NOT_OFFERED, each with its reason (and each checked to be still missing)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

import tinker_hl

from .sdk038 import run_with_038

_ACCOUNTING = "the service's accounting and admin endpoints"
_CUSTOM_LOSS = "server-side custom loss graphs (advertised as unsupported)"
_DIMUON = "Dimuon optimizer steps (the local backend has AdamW only)"
_STAINLESS = "the official SDK's own HTTP layer (tinker_hl's is generated and not public)"
_FUTURES = "0.38's future classes (the factories return tinker_hl's client futures)"

TOP_NOT_OFFERED: dict[str, str] = {
    "AdminClient": _ACCOUNTING,
    "BillingError": _ACCOUNTING,
    "LossHandle": _CUSTOM_LOSS,
    "PerDatumLossFn": _CUSTOM_LOSS,
    "DimuonOptimizerConfig": _DIMUON,
    "DimuonParams": _DIMUON,
    "OptimParams": _DIMUON,
    "DmelChunk": "DMEL model-input chunks (no local model reads them)",
    "APIResponse": _STAINLESS,
    "AsyncAPIResponse": _STAINLESS,
    "RequestOptions": _STAINLESS,
    "Timeout": _STAINLESS,
    "resources": _STAINLESS,
    "auth": _STAINLESS,
    "proto": "the official SDK's generated protobuf module (tinker_hl's is tinker_proto)",
    "BackcompatSamplingClientFuture": _FUTURES,
    "BackcompatTrainingClientFuture": _FUTURES,
    "ExperimentalWarning": "the experimental RestClient endpoints it marks",
}

DUMP = r"""
import json, types
import tinker
names = {}
for name in dir(tinker):
    if not name.startswith("_"):
        names[name] = isinstance(getattr(tinker, name), types.ModuleType)
print(json.dumps(names))
"""


@pytest.fixture(scope="module")
def official() -> dict[str, bool]:
    names: dict[str, bool] = run_with_038(DUMP)
    return names


def _offered(name: str, is_module: bool) -> Any:
    if is_module:
        try:
            return importlib.import_module(f"tinker_hl.{name}")
        except ImportError:
            return None
    return getattr(tinker_hl, name, None)


def test_every_top_level_038_name_is_offered(official: dict[str, bool]) -> None:
    assert len(official) > 60  # the walk read the wheel's namespace
    absent = [
        name
        for name, is_module in official.items()
        if name not in TOP_NOT_OFFERED and _offered(name, is_module) is None
    ]
    assert absent == []


def test_top_level_names_are_the_types_objects(official: dict[str, bool]) -> None:
    for name, is_module in official.items():
        if not is_module and name not in TOP_NOT_OFFERED and hasattr(tinker_hl.types, name):
            assert getattr(tinker_hl, name) is getattr(tinker_hl.types, name), name


def test_each_top_level_name_not_offered_is_still_missing(official: dict[str, bool]) -> None:
    stale = [n for n in TOP_NOT_OFFERED if _offered(n, official.get(n, False)) is not None]
    unknown = [n for n in TOP_NOT_OFFERED if n not in official]
    assert stale == [], "offered now: remove them from TOP_NOT_OFFERED"
    assert unknown == [], "not names of the 0.38 wheel"
