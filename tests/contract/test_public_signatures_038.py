"""Scripts written for the official SDK 0.38 run with `import tinker_hl as tinker`: the methods
of 0.38's clients that research code calls exist here with compatible parameters (names,
positions, defaults, `async def` where 0.38's is).

0.38 is installed in its own folder (`.sdk/tinker-0.38.0`, by `make install`); its signatures
are read in a subprocess (one process cannot import two versions of `tinker`). Where 0.38
differs from 0.7.0 in a way that cannot serve both (a renamed positional parameter), tinker_hl
keeps 0.7.0's position and accepts 0.38's name as a keyword; those, and what is not
implemented yet, are listed in KNOWN_DIFFERENCES, and the test checks that each listed
difference is still real (so the list cannot go stale).
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

import tinker_hl
from tinker_hl._rest_client import RestClient

from .sdk038 import run_with_038

CHECKED: dict[str, list[str]] = {
    "ServiceClient": [
        "__init__",
        "close",
        "create_lora_training_client",
        "create_lora_training_client_async",
        "create_rest_client",
        "create_training_client_from_state",
        "create_training_client_from_state_with_optimizer",
        "copy_weights",
        "create_sampling_client",
        "create_sampling_client_async",
        "get_server_capabilities",
        "get_server_capabilities_async",
        "get_telemetry",
    ],
    "TrainingClient": [
        "create_sampling_client",
        "create_sampling_client_async",
        "forward",
        "forward_async",
        "forward_backward",
        "forward_backward_async",
        "get_info",
        "get_info_async",
        "get_tokenizer",
        "get_telemetry",
        "optim_step",
        "optim_step_async",
        "save_state",
        "save_state_async",
        "save_weights_and_get_sampling_client",
        "save_weights_and_get_sampling_client_async",
        "save_weights_for_sampler",
        "save_weights_for_sampler_async",
    ],
    "SamplingClient": [
        "compute_logprobs",
        "compute_logprobs_async",
        "get_base_model",
        "get_base_model_async",
        "get_telemetry",
        "get_tokenizer",
        "sample",
        "sample_async",
    ],
    "RestClient": [
        "__init__",
        "delete_checkpoint",
        "get_server_capabilities",
        "list_checkpoints",
        "list_user_checkpoints",
        "publish_checkpoint_from_tinker_path",
        "set_checkpoint_ttl_from_tinker_path",
        "set_checkpoint_ttl_from_tinker_path_async",
        "copy_weights",
        "get_training_run",
        "get_training_run_by_tinker_path",
        "list_training_runs",
        "get_session",
        "list_sessions",
        "unpublish_checkpoint_from_tinker_path",
    ],
    "APIFuture": ["coroutine", "future", "result", "result_async"],
    # The types' methods and constructors research code calls (tinker_hl.types).
    "Datum": ["__init__", "with_provenance"],
    "TensorData": [
        "from_numpy",
        "from_torch",
        "from_torch_sparse",
        "to_numpy",
        "to_torch",
        "tolist",
    ],
    "PromptProvenanceSpan": ["__init__"],
    "SampledProvenanceSpan": ["__init__"],
}
TYPES = ("Datum", "TensorData", "PromptProvenanceSpan", "SampledProvenanceSpan")

# "Class.method" -> why it differs. Each must still differ (see the test below).
KNOWN_DIFFERENCES: dict[str, str] = {
    "ServiceClient.create_training_client_from_state": (
        "0.7.0's positional `user_metadata` kept second; a positional model name there is "
        "taken as 0.38's `base_model`"
    ),
    "ServiceClient.create_training_client_from_state_with_optimizer": "as above",
    "TrainingClient.optim_step": "0.7.0's positional `adam_params` kept; `optim_params=` works",
    "TrainingClient.optim_step_async": "as optim_step",
    "RestClient.__init__": "0.7.0's positional `holder` kept (0.38: `_holder`)",
    "Datum.__init__": "`loss_fn_inputs` defaults to None (an empty dict; 0.38: a dict factory)",
}

DUMP = r"""
import inspect, json, sys
import tinker
from tinker.lib.public_interfaces.rest_client import RestClient
classes = {"ServiceClient": tinker.ServiceClient, "TrainingClient": tinker.TrainingClient,
           "SamplingClient": tinker.SamplingClient, "RestClient": RestClient,
           "APIFuture": tinker.APIFuture}
classes.update({name: getattr(tinker.types, name) for name in
                ("Datum", "TensorData", "PromptProvenanceSpan", "SampledProvenanceSpan")})
out = {}
for cname, names in json.loads(sys.argv[1]).items():
    for name in names:
        member = getattr(classes[cname], name)
        params = [[p.name, p.kind.name, None if p.default is p.empty else repr(p.default),
                   p.default is p.empty] for p in inspect.signature(member).parameters.values()]
        out[f"{cname}.{name}"] = {"async": inspect.iscoroutinefunction(member), "params": params}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def official() -> dict[str, Any]:
    return run_with_038(DUMP, json.dumps(CHECKED))  # type: ignore[no-any-return]


def _ours(cname: str) -> type:
    if cname in TYPES:
        return getattr(tinker_hl.types, cname)  # type: ignore[no-any-return]
    return RestClient if cname == "RestClient" else getattr(tinker_hl, cname)  # type: ignore[no-any-return]


def _problems(theirs: dict[str, Any], mine: Any) -> list[str]:
    problems = []
    if theirs["async"] and not inspect.iscoroutinefunction(mine):
        problems.append("must be `async def` like 0.38's")
    ours = inspect.signature(mine).parameters
    has_var_kw = any(p.kind is p.VAR_KEYWORD for p in ours.values())
    positional = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
    their_positional = [n for n, kind, _, _ in theirs["params"] if kind in positional]
    our_positional = [
        n for n, p in ours.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if our_positional[: len(their_positional)] != their_positional:
        problems.append(f"positional parameters {our_positional} != {their_positional}")
    their_names = set()
    for name, kind, default, required in theirs["params"]:
        if kind in ("VAR_POSITIONAL", "VAR_KEYWORD"):
            continue
        their_names.add(name)
        param = ours.get(name)
        if param is None:
            if not has_var_kw:
                problems.append(f"missing parameter {name!r}")
            continue
        if not required and repr(param.default) != default:
            problems.append(f"{name!r} default {param.default!r} != {default}")
    for name, param in ours.items():
        if (
            name not in their_names
            and param.default is param.empty
            and param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL)
        ):
            problems.append(f"extra required parameter {name!r}")
    return problems


@pytest.mark.parametrize("cname", sorted(CHECKED))
def test_the_038_methods_research_code_calls_exist_with_compatible_parameters(
    cname: str, official: dict[str, Any]
) -> None:
    failures = []
    for name in CHECKED[cname]:
        key = f"{cname}.{name}"
        mine = getattr(_ours(cname), name, None)
        if mine is None:
            failures.append(f"{key} is missing")
            continue
        problems = _problems(official[key], mine)
        if key in KNOWN_DIFFERENCES:
            if not problems:
                failures.append(f"{key} now matches 0.38: remove it from KNOWN_DIFFERENCES")
            continue
        failures += [f"{key}: {p}" for p in problems]
    assert not failures, "\n".join(failures)
