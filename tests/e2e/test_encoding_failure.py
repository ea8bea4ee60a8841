"""A training call whose request cannot be encoded fails at the call and takes no sequence
number: the calls after it run (a number taken and never sent would stall every later call,
in the client's turn order and in the server's queue)."""

from __future__ import annotations

import pytest

import tinker_hl as tinker
from tinker_hl import types

TEXT = list(b"an unencodable request must not stall the next ones")


def _datum(weight: float = 1.0) -> types.Datum:
    return types.Datum(
        model_input=types.ModelInput.from_ints(TEXT[:-1]),
        loss_fn_inputs={"target_tokens": TEXT[1:], "weights": [weight] * (len(TEXT) - 1)},
    )


def _unencodable() -> types.Datum:
    datum = _datum()
    # Passes validation (a number) but no JSON encoder takes an integer beyond 64 bits.
    datum.loss_fn_inputs["weights"].data[-1] = 2**70
    return datum


def test_a_call_that_fails_to_encode_does_not_stall_later_calls(
    service: tinker.ServiceClient,
) -> None:
    training = service.create_lora_training_client("local/tiny-llama", rank=2, seed=0)
    first = training.forward([_datum()], "cross_entropy")
    with pytest.raises(tinker.ValidationError, match="cannot be encoded"):
        training.forward_backward([_unencodable()], "cross_entropy")
    # Several chunks, the last unencodable: none of them is sent, no number is taken.
    many = [_datum()] * 200 + [_unencodable()]
    with pytest.raises(tinker.ValidationError, match="cannot be encoded"):
        training.forward(many, "cross_entropy")
    with pytest.raises(tinker.ValidationError, match="cannot be encoded"):
        training.optim_step(types.AdamParams(learning_rate=2**70))
    after = training.forward_backward([_datum()], "cross_entropy")
    step = training.optim_step(types.AdamParams(learning_rate=1e-4))
    assert first.result().metrics["loss:sum"] == after.result().metrics["loss:sum"]
    assert step.result() is not None
    assert training._sequencer.turn == 4  # forward, forward_backward, optim_step: nothing else
