"""Splitting large batches and combining chunk outputs."""

from __future__ import annotations

import pytest

from tinker_hl import types
from tinker_hl._chunking import (
    chunk_datums,
    combine_forward_backward_outputs,
    estimate_datum_bytes,
    reduce_metrics,
)


def datum(n: int) -> types.Datum:
    return types.Datum(
        model_input=types.ModelInput.from_ints(list(range(n))),
        loss_fn_inputs={"target_tokens": list(range(n)), "weights": [1.0] * n},
    )


def test_chunks_respect_count_limit() -> None:
    chunks = list(chunk_datums([datum(3) for _ in range(10)], max_len=4))
    assert [len(c) for c in chunks] == [4, 4, 2]


def test_chunks_respect_byte_limit() -> None:
    size = estimate_datum_bytes(datum(100))
    assert size == 100 * 10 * 3  # tokens, targets and weights at 10 bytes a number
    chunks = list(chunk_datums([datum(100) for _ in range(5)], max_bytes=size * 2))
    assert [len(c) for c in chunks] == [2, 2, 1]


def test_a_single_oversized_datum_still_goes_alone() -> None:
    chunks = list(chunk_datums([datum(10), datum(1000), datum(10)], max_bytes=5000))
    assert [len(c) for c in chunks] == [1, 1, 1]


def test_metric_reductions_by_suffix() -> None:
    metrics = [
        {
            "loss:sum": 1.0,
            "acc:mean": 0.5,
            "lo:min": 3.0,
            "hi:max": 3.0,
            "gap:slack": 1.0,
            "id:unique": 7.0,
        },
        {
            "loss:sum": 2.0,
            "acc:mean": 1.0,
            "lo:min": 1.0,
            "hi:max": 9.0,
            "gap:slack": 5.0,
            "id:unique": 8.0,
        },
    ]
    out = reduce_metrics(metrics, weights=[1.0, 3.0])
    assert out["loss:sum"] == 3.0
    assert out["acc:mean"] == pytest.approx((0.5 * 1 + 1.0 * 3) / 4)
    assert out["lo:min"] == 1.0 and out["hi:max"] == 9.0
    assert out["gap:slack"] == pytest.approx(5.0 - (1.0 * 1 + 5.0 * 3) / 4)
    assert out["id:unique"] == 7.0 and out["id:unique_1"] == 8.0


def test_hash_unordered_ignores_order() -> None:
    a = reduce_metrics([{"h:hash_unordered": 3.0}, {"h:hash_unordered": 5.0}], [1.0, 1.0])
    b = reduce_metrics([{"h:hash_unordered": 5.0}, {"h:hash_unordered": 3.0}], [1.0, 1.0])
    assert a == b


def test_combining_outputs_concatenates_in_order() -> None:
    def output(values: list[float]) -> types.ForwardBackwardOutput:
        return types.ForwardBackwardOutput.from_dict(
            {
                "loss_fn_output_type": "TorchLossReturn",
                "loss_fn_outputs": [
                    {"logprobs": {"data": [v], "dtype": "float32", "shape": [1]}} for v in values
                ],
                "metrics": {"loss:sum": -sum(values)},
            }
        )

    combined = combine_forward_backward_outputs([output([-1.0, -2.0]), output([-3.0])])
    assert [o["logprobs"].data[0] for o in combined.loss_fn_outputs] == [-1.0, -2.0, -3.0]
    assert combined.metrics["loss:sum"] == 6.0
