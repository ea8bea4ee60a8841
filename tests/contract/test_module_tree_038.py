"""The official SDK 0.38's `types` modules under tinker_hl: research code written today imports
`from tinker.types.<module> import <Name>`. Every module of the installed 0.38 wheel's `types/`
exists here with its public names, except the names listed in NOT_OFFERED, each with the
feature it belongs to; the test checks that each listed name is still missing (so the list
cannot go stale) and that a name offered in several modules is one object.

The 0.38 wheel cannot share a process with our generated protobuf module (both register the
same protobuf package), so its module tree is read in a subprocess."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tinker_hl

from .sdk038 import run_with_038

_ACCOUNTING = "the service's accounting endpoints (billing, storage usage, audit log, whoami)"
_SEARCH = "session search and per-session status (RestClient.search_sessions)"
_CUSTOM_LOSS = "server-side custom loss graphs (`custom`, advertised as unsupported)"
_EXTERNAL = "weights saved to external storage (save_weights_external)"
_JOIN = "joining another client's sampling session by its handle"

NOT_OFFERED: dict[str, str] = {
    **dict.fromkeys(
        [
            "AuditLogEntry",
            "AuditLogResponse",
            "BillingEventInfo",
            "BillingUsageEvent",
            "BillingUsageResponse",
            "BillingUsageSession",
            "CheckpointBillingEvent",
            "SamplingPrefillBillingEvent",
            "SamplingSampleBillingEvent",
            "StorageBillingEvent",
            "TrainingBillingEvent",
            "GetBillingUsageRequest",
            "CurrentCheckpointStorageUsageItem",
            "CurrentCheckpointStorageUsageResponse",
            "GetCurrentCheckpointStorageUsageRequest",
            "WhoamiResponse",
        ],
        _ACCOUNTING,
    ),
    **dict.fromkeys(
        [
            "AccessibleSearchOwner",
            "OwnSearchOwner",
            "UserSearchOwner",
            "SearchOwner",
            "ActiveSessionStatusQuery",
            "CancelledSessionStatusQuery",
            "ClientFinishedSessionStatusQuery",
            "FailedSessionStatusQuery",
            "SessionStatusQuery",
            "SessionSearchCursor",
            "SessionSearchRequest",
            "SessionSearchResponse",
            "SessionSummary",
            "SessionStatus",
            "SessionActive",
            "SessionCancelled",
            "SessionFailed",
            "SessionFailedReason",
            "SessionFailedRequestReason",
            "SessionFailedSamplingSessionReason",
            "SessionFailedTrainingRunReason",
            "ClientSessionFinished",
            "ClientSessionFinishErrored",
            "ClientSessionFinishInterrupted",
            "ClientSessionFinishReason",
            "ClientSessionFinishReasonType",
            "ClientSessionFinishSuccess",
        ],
        _SEARCH,
    ),
    **dict.fromkeys(
        [
            "CreateCustomLossRequest",
            "CreateCustomLossResponse",
            "CustomLossGraph",
            "CustomLossInput",
            "CustomLossInputRank",
            "CustomLossNode",
            "CustomLossNodeOp",
        ],
        _CUSTOM_LOSS,
    ),
    **dict.fromkeys(
        [
            "ExternalWeightsUrlsResponse",
            "SaveWeightsExternalRequest",
            "SaveWeightsExternalResponse",
            "SaveWeightsExternalResponseInternal",
        ],
        _EXTERNAL,
    ),
    **dict.fromkeys(
        ["JoinSamplingSessionRequest", "JoinSamplingSessionResponse", "SamplingClientKind"],
        _JOIN,
    ),
    "DmelChunk": "DMEL model-input chunks (no local model reads them)",
    **dict.fromkeys(
        ["DimuonParams", "OptimParams", "OptimParamsBase", "OptimizerConfigBase"],
        "Dimuon optimizer steps (the local backend has AdamW only; AdamParams is offered)",
    ),
    **dict.fromkeys(
        ["FutureFailed", "FutureFinished"],
        "the variants of FutureCompletion (offered as one class with a `state`)",
    ),
}

DUMP = r"""
import importlib, json, pathlib, types, typing
import tinker
root = pathlib.Path(tinker.__file__).parent / "types"
namespace = vars(importlib.import_module("tinker.types"))

def public(module):
    names = set(getattr(module, "__all__", ()))
    for name, value in vars(module).items():
        if name.startswith("_") or name == "annotations":
            continue
        if isinstance(value, (types.ModuleType, typing.TypeVar)):
            continue
        if getattr(value, "__module__", None) == module.__name__ or name in namespace:
            names.add(name)
    return sorted(n for n in names if not isinstance(getattr(module, n, None), typing.TypeVar))

modules = {}
for path in sorted(root.rglob("*.py")):
    parts = path.relative_to(root).with_suffix("").parts
    if any(p.startswith("_") for p in parts) or parts[-1].endswith("_test"):
        continue
    short = ".".join(parts)
    modules[short] = public(importlib.import_module("tinker.types." + short))
top = sorted(n for n in namespace if not n.startswith("_") and n[0].isupper())
print(json.dumps({"modules": modules, "top": top}))
"""


@pytest.fixture(scope="module")
def official() -> dict[str, Any]:
    return run_with_038(DUMP)  # type: ignore[no-any-return]


# Names many modules re-export: a module not offered may still list them.
_SHARED = {"ModelID", "RequestID", "TensorData"}


def _ours(short: str) -> Any:
    try:
        return importlib.import_module(f"tinker_hl.types.{short}")
    except ImportError:
        return None


def test_every_038_types_module_exists_with_its_names(official: dict[str, Any]) -> None:
    modules: dict[str, list[str]] = official["modules"]
    assert len(modules) > 100  # the walk found the wheel's modules
    missing = []
    for short, names in modules.items():
        ours = _ours(short)
        offered = [n for n in names if n not in NOT_OFFERED]
        if ours is None:
            if set(offered) - _SHARED:  # a module of a feature not offered lists only these
                missing.append(f"tinker_hl.types.{short} (for {offered})")
            continue
        for name in offered:
            if not hasattr(ours, name):
                missing.append(f"tinker_hl.types.{short}.{name}")
            elif hasattr(tinker_hl.types, name):
                assert getattr(ours, name) is getattr(tinker_hl.types, name), f"{short}.{name}"
    assert missing == []


def test_every_038_name_of_tinker_types_is_offered(official: dict[str, Any]) -> None:
    absent = [
        n for n in official["top"] if n not in NOT_OFFERED and not hasattr(tinker_hl.types, n)
    ]
    assert absent == []


def test_each_name_not_offered_is_still_missing(official: dict[str, Any]) -> None:
    known = set(official["top"]).union(*map(set, official["modules"].values()))
    stale = [n for n in NOT_OFFERED if hasattr(tinker_hl.types, n)]
    unknown = [n for n in NOT_OFFERED if n not in known]
    assert stale == [], "offered now: remove them from NOT_OFFERED"
    assert unknown == [], "not names of the 0.38 wheel"


def test_038_module_imports_work_through_install_as_tinker(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        "import tinker_hl\n"
        "tinker_hl.install_as_tinker()\n"
        "from tinker.types.optimizer import AdamOptimizerConfig\n"
        "from tinker.types.copy_weights_request import CopyWeightsRequest\n"
        "from tinker import types\n"
        "request = CopyWeightsRequest(source_path='tinker://run/weights/a', ttl_seconds=3600)\n"
        "print(types.AdamOptimizerConfig().type, AdamOptimizerConfig is types.AdamOptimizerConfig,"
        " request.to_dict()['ttl_seconds'])\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["adamw", "True", "3600"]
