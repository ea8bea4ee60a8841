"""Same shapes as the official types, for what a real session against the local backend
returns: each result, re-read by the installed official type from its own JSON, has the same
Python type in every field."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

import tinker_hl as tinker
from tinker_hl import types

from ..contract.test_official_shapes import differences

official_types = pytest.importorskip("tinker.types")

TEXT = list(b"shapes of values")


def _same_shapes(result: Any) -> None:
    name = type(result).__name__
    theirs = getattr(official_types, name).model_validate(
        orjson.loads(orjson.dumps(result.to_dict()))
    )
    assert differences(result, theirs, name) == []


def test_results_of_a_real_session_have_the_official_shapes(service: tinker.ServiceClient) -> None:
    training = service.create_lora_training_client(
        "local/tiny-llama", rank=2, seed=0, user_metadata={"experiment": "shapes"}
    )
    datum = types.Datum(
        model_input=types.ModelInput.from_ints(TEXT[:-1]),
        loss_fn_inputs={"target_tokens": TEXT[1:], "weights": [1.0] * (len(TEXT) - 1)},
    )
    fwd = training.forward_backward([datum], "cross_entropy").result()
    assert type(fwd.metrics) is not list and isinstance(fwd.metrics, dict)
    assert isinstance(fwd.loss_fn_outputs[0], dict)
    step = training.optim_step(types.AdamParams(learning_rate=1e-3)).result()
    saved = training.save_state("shapes").result()
    sampler = training.save_weights_and_get_sampling_client("shapes-sampler")
    sample = sampler.sample(
        types.ModelInput.from_ints(TEXT[:4]), 1, types.SamplingParams(max_tokens=3)
    ).result()
    rest = service.create_rest_client()
    run = rest.get_training_run(training.model_id).result()
    assert (
        run.user_metadata.get("experiment") == "shapes"
    )  # a plain dict, as research code reads it
    checkpoints = rest.list_checkpoints(training.model_id).result()
    for result in (fwd, step, saved, sample, run, checkpoints, training.get_info()):
        _same_shapes(result)
