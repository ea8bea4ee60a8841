"""The 0.38 types behave as the installed official 0.38 wheel's do where research code relies on
it: the dataclasses have 0.38's public fields (differences listed, each still real), and
`TensorData.from_torch_sparse` chooses the same layout and values, read back the same way.
0.38 is run in a subprocess (see sdk038.py)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
import torch

from tinker_hl import types
from tinker_hl.types._sampled import TOPK_MASK_LOGPROB

from .sdk038 import run_with_038

DATACLASSES = [
    "Datum",
    "TensorData",
    "SampleResponse",
    "SampledSequence",
    "ForwardBackwardOutput",
    "ForwardBackwardInput",
    "ForwardBackwardRequest",
    "ForwardRequest",
    "PromptAltTokens",
    "PromptProvenanceSpan",
    "SampledProvenanceSpan",
]

# "Class.field" of 0.38 that is no dataclass field here -> why. Each must still be missing.
FIELD_DIFFERENCES: dict[str, str] = {
    "SampledSequence.tokens_np": "a property over `tokens` (the list is the field, as in 0.7.0)",
    "SampledSequence.logprobs_np": "a property over `logprobs`",
    "SampledSequence.topk_logprobs_np": "a property over `topk_logprobs`",
    "SampleResponse.prompt_logprobs_np": "a property over `prompt_logprobs`",
    "SampleResponse.topk_prompt_logprobs_np": "a property over `topk_prompt_logprobs`",
}

DUMP_FIELDS = r"""
import dataclasses, json, sys
from tinker import types
out = {}
for name in json.loads(sys.argv[1]):
    cls = getattr(types, name)
    out[name] = [f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def official_fields() -> dict[str, list[str]]:
    return run_with_038(DUMP_FIELDS, json.dumps(DATACLASSES))  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", DATACLASSES)
def test_the_dataclasses_have_038s_public_fields(
    name: str, official_fields: dict[str, list[str]]
) -> None:
    ours = {f.name for f in dataclasses.fields(getattr(types, name))}
    missing = [f for f in official_fields[name] if f not in ours]
    listed = [key.split(".")[1] for key in FIELD_DIFFERENCES if key.startswith(f"{name}.")]
    assert sorted(missing) == sorted(listed), f"missing {missing}, listed {listed}"
    for field in listed:  # the properties are there, except what is not offered
        reason = FIELD_DIFFERENCES[f"{name}.{field}"]
        assert hasattr(getattr(types, name), field) != reason.startswith("not offered"), field


# (values, torch dtype, pad): 2-D tensors where CSR wins and where it does not, 1-D, floats.
CASES: list[tuple[list[Any], str, int]] = [
    ([[5, -1, -1, -1], [-1, -1, 7, -1], [-1, -1, -1, -1]], "int64", -1),
    ([[1, 2], [3, 4]], "int64", 0),
    ([[0, 0, 0, 0, 3], [0, 0, 0, 0, 0], [9, 0, 0, 0, 0]], "int32", 0),
    ([[0.0, 0.0, 0.0, 2.5], [0.0, 0.0, 0.0, 0.0], [0.0, -1.5, 0.0, 0.0]], "float32", 0),
    ([[2.0, 2.0, 2.0], [2.0, 0.5, 2.0], [2.0, 2.0, 2.0]], "float32", 2),
    ([0, 0, 0, 4], "int64", 0),
    ([[True, False, False, False], [False] * 4, [False] * 4], "bool", 0),
]

DUMP_SPARSE = r"""
import json, sys, torch
from tinker import types
out = []
for values, dtype, pad in json.loads(sys.argv[1]):
    td = types.TensorData.from_torch_sparse(torch.tensor(values, dtype=getattr(torch, dtype)), pad)
    out.append({"dtype": td.dtype, "shape": td.shape, "data": td.data,
                "crow": td.sparse_crow_indices, "col": td.sparse_col_indices,
                "dense": td.tolist(pad)})
print(json.dumps(out))
"""


def _layout(td: Any) -> dict[str, Any]:
    """What the dump scripts print of a TensorData."""
    return {
        "dtype": td.dtype,
        "shape": td.shape,
        "data": td.data,
        "crow": td.sparse_crow_indices,
        "col": td.sparse_col_indices,
    }


def test_from_torch_sparse_as_038() -> None:
    official = run_with_038(DUMP_SPARSE, json.dumps(CASES))
    for (values, dtype, pad), theirs in zip(CASES, official, strict=True):
        td = types.TensorData.from_torch_sparse(
            torch.tensor(values, dtype=getattr(torch, dtype)), pad
        )
        assert {**_layout(td), "dense": td.tolist(pad)} == theirs, (values, dtype, pad)
    assert any(case["crow"] is not None for case in official)  # CSR was chosen somewhere
    assert any(case["crow"] is None for case in official)


DUMP_DATUM_INPUTS = r"""
import json, sys, torch
from tinker import types
out = []
for key, values, dtype in json.loads(sys.argv[1]):
    datum = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2, 3]),
        loss_fn_inputs={key: torch.tensor(values, dtype=getattr(torch, dtype))},
    )
    td = datum.loss_fn_inputs[key]
    out.append({"dtype": td.dtype, "shape": td.shape, "data": td.data,
                "crow": td.sparse_crow_indices, "col": td.sparse_col_indices})
print(json.dumps(out))
"""
# (key, values, torch dtype): the [N, K] top-K forms (mostly padding: CSR), a 2-D tensor of a
# key that is never sparse, a 2-D one where CSR does not win, and a 1-D one.
DATUM_CASES: list[tuple[str, list[Any], str]] = [
    ("target_tokens", [[5, 0, 0, 0], [0, 0, 7, 0], [0, 0, 0, 9]], "int64"),
    ("weights", [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.5]], "float32"),
    ("logprobs", [[0.0, 0.0, 0.0, -1.0], [0.0] * 4, [0.0] * 4], "float32"),
    ("target_tokens", [[1, 2], [3, 4]], "int64"),
    ("target_tokens", [0, 0, 0, 4], "int64"),
]


def test_a_datum_converts_torch_inputs_as_038() -> None:
    official = run_with_038(DUMP_DATUM_INPUTS, json.dumps(DATUM_CASES))
    for (key, values, dtype), theirs in zip(DATUM_CASES, official, strict=True):
        datum = types.Datum(
            model_input=types.ModelInput.from_ints([1, 2, 3]),
            loss_fn_inputs={key: torch.tensor(values, dtype=getattr(torch, dtype))},
        )
        assert _layout(datum.loss_fn_inputs[key]) == theirs, (key, values)
    assert [case["crow"] is not None for case in official] == [True, True, False, False, False]


TOPK_TABLES = [
    [[3, 1, 0], [7, 0, 0], [0, 0, 0]],
    [[5, 2], [9, 4]],
]
DUMP_TOPK = r"""
import json, sys
import numpy as np
from tinker.types.topk_logprobs import MASK_LOGPROB, TopkLogprobs, topk_to_lists
out = []
for ids in json.loads(sys.argv[1]):
    ids = np.array(ids, dtype=np.int32)
    logprobs = np.where(ids == 0, MASK_LOGPROB, -0.5 * ids).astype(np.float32)
    out.append(topk_to_lists(TopkLogprobs(token_ids=ids, logprobs=logprobs)))
print(json.dumps(out))
"""


def test_topk_to_lists_as_038() -> None:
    official = run_with_038(DUMP_TOPK, json.dumps(TOPK_TABLES))
    ours = []
    for ids in TOPK_TABLES:
        token_ids = np.array(ids, dtype=np.int32)
        logprobs = np.where(token_ids == 0, TOPK_MASK_LOGPROB, -0.5 * token_ids)
        logprobs = logprobs.astype(np.float32)
        table = types.TopkLogprobs(token_ids=token_ids, logprobs=logprobs)
        ours.append(json.loads(json.dumps(types.topk_to_lists(table))))
    assert ours == official
