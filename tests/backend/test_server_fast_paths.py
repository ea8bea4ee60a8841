"""The server's fast paths give exactly the answers of the slow paths they short-cut:
compiled request validation, numpy conversion of tensors, datums read from the JSON, result
bodies built without the generated models, and jobs handed to the compute thread ahead."""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest
from jsonschema.exceptions import best_match
from tinker_api_client.models import Datum, ForwardBackwardOutput, LossFnOutput, TensorData

from tinker_local.server import validation, wire
from tinker_local.server.errors import ApiError, UserError
from tinker_local.server.futures import FutureRegistry
from tinker_local.server.jsonio import JSONResponse

# -- validation ---------------------------------------------------------------------------------
_ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    1.0,
    2**63,
    2**63 - 1,
    -(2**63) - 1,
    2**64,
    10**30,
    1e308,
    "",
    "x",
    [],
    {},
    [1],
    {"a": 1},
]


def _instance(schema: Any, rng: random.Random, depth: int = 0) -> Any:
    """A random instance shaped like `schema`, with odd values mixed in (mostly near-misses)."""
    if rng.random() < 0.08 or depth > 6 or not isinstance(schema, dict):
        return rng.choice(_ODD_VALUES)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return _instance(rng.choice(schema[key]), rng, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice(kind)
    if kind == "object" or (kind is None and ("properties" in schema or "required" in schema)):
        required = set(schema.get("required", []))
        out = {
            name: _instance(sub, rng, depth + 1)
            for name, sub in schema.get("properties", {}).items()
            if (name in required and rng.random() < 0.97) or rng.random() < 0.5
        }
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            out.update(
                {f"k{i}": _instance(extra, rng, depth + 1) for i in range(rng.randint(0, 2))}
            )
        return out
    if kind == "array":
        return [
            _instance(schema.get("items", {}), rng, depth + 1) for _ in range(rng.randint(0, 3))
        ]
    if kind == "integer":
        low, high = schema.get("minimum", -10), schema.get("maximum", 10)
        return rng.choice(
            [low, high, low - 1, high + 1, rng.randint(-5, 5), float(rng.randint(0, 3))]
        )
    if kind == "number":
        return rng.choice([0.5, -2, 3, schema.get("minimum", 0), schema.get("maximum", 1), 1e300])
    if kind == "string":
        return rng.choice(["", "abc", "tinker://a/weights/b"])
    if kind == "boolean":
        return rng.random() < 0.5
    return rng.choice(_ODD_VALUES)


def _python_accepts(name: str, instance: Any) -> bool:
    return best_match(validation.validator_for(name).iter_errors(instance)) is None


def test_the_compiled_check_never_accepts_what_the_python_validator_rejects() -> None:
    if validation.fast_check_for("ForwardBackwardRequest") is None:
        pytest.skip("jsonschema_rs is not installed")
    rng = random.Random(1234)
    accepted = 0
    for name in validation.load_spec()["components"]["schemas"]:
        check = validation.fast_check_for(name)
        assert check is not None, name
        schema = validation._inlined_schema(name)
        for _ in range(150):
            instance = _instance(schema, rng)
            try:
                fast = bool(check(instance))
            except Exception:
                continue  # validate() then asks the Python validator
            if fast:
                accepted += 1
                assert _python_accepts(name, instance), (name, instance)
    assert accepted > 1000  # the check was exercised on valid bodies too


def _outcome(name: str, body: Any) -> tuple[str, str | None] | None:
    try:
        validation.validate(name, body)
    except ApiError as e:
        return e.message, e.field
    return None


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("FutureRetrieveRequest", {"request_id": "req-1"}),
        ("FutureRetrieveRequest", {"request_id": 5}),
        ("FutureRetrieveRequest", {}),
        ("OptimStepRequest", {"adam_params": {"learning_rate": 1e-4}, "model_id": "m"}),
        ("OptimStepRequest", {"adam_params": {"learning_rate": "x"}, "model_id": "m"}),
        ("OptimStepRequest", {"adam_params": {}, "model_id": "m", "seq_id": 2**63}),
        (
            "ForwardBackwardRequest",
            {
                "model_id": "m",
                "seq_id": 3,
                "forward_backward_input": {
                    "loss_fn": "cross_entropy",
                    "data": [
                        {
                            "model_input": {"chunks": [{"tokens": [1, 2, 3]}]},
                            "loss_fn_inputs": {
                                "target_tokens": {"data": [2, 3, 4], "dtype": "int64"},
                                "weights": {"data": [1, 0.5, True], "dtype": "float32"},
                            },
                        }
                    ],
                },
            },
        ),
        (
            "ForwardBackwardRequest",
            {
                "model_id": "m",
                "forward_backward_input": {
                    "loss_fn": "cross_entropy",
                    "data": [{"model_input": {"chunks": [{"tokens": [1, 2.5]}]}}],
                },
            },
        ),
    ],
)
def test_validation_answers_do_not_depend_on_the_compiled_check(
    name: str, body: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_fast = _outcome(name, body)
    monkeypatch.setattr(validation, "_fast_accepts", lambda schema, instance: False)
    assert _outcome(name, body) == with_fast


# -- tensors and datums -------------------------------------------------------------------------
def _slow_tensor(values: list[Any], dtype: str, shape: list[int] | None) -> Any:
    original = wire._plain_array
    wire._plain_array = lambda values, dtype: None  # type: ignore[assignment]
    try:
        return _tensor_outcome(values, dtype, shape)
    finally:
        wire._plain_array = original  # type: ignore[assignment]


def _tensor_outcome(values: list[Any], dtype: str, shape: list[int] | None) -> Any:
    try:
        array = wire._tensor(values, dtype, shape, "f")
    except (UserError, OverflowError) as e:
        return type(e).__name__, str(e)
    return array.dtype.str, array.shape, array.tolist()


@pytest.mark.parametrize(
    ("values", "dtype", "shape"),
    [
        ([1, 2, 3], "int64", None),
        ([1, 2, 3, 4], "int64", [2, 2]),
        ([1, 2, 3], "int64", [2, 2]),
        ([1, 2.0, 3], "int64", None),
        ([1, 2.5], "int64", None),
        ([2**63 - 1, -(2**63)], "int64", None),
        ([2**63], "int64", None),
        ([-(2**63) - 1], "int64", None),
        ([10**30], "int64", None),
        ([], "int64", None),
        ([], "float32", [0]),
        ([0.5, 1, -2.25], "float32", None),
        ([0.1, 1e-45, 3.4e38], "float32", [3]),
        ([1e300], "float32", None),
        ([2**70, 1], "float32", None),
        ([10**400], "float32", None),
        ([1.0, 2.0], "float32", [2, -1]),
    ],
)
def test_tensor_fast_path_matches_the_checked_conversion(
    values: list[Any], dtype: str, shape: list[int] | None
) -> None:
    assert _tensor_outcome(values, dtype, shape) == _slow_tensor(values, dtype, shape)


def _datum_json(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "model_input": {"chunks": chunks},
        "loss_fn_inputs": {
            "target_tokens": {"data": [1, 2, 3, 4], "dtype": "int64"},
            "weights": {"data": [0, 1, 0.5, 1], "dtype": "float32", "shape": [4]},
        },
        "extra": 1,
    }


@pytest.mark.parametrize(
    "chunks",
    [
        [{"tokens": [5, 6, 7, 8]}],
        [{"tokens": [5, 6], "type": "encoded_text"}, {"tokens": [7, 8]}],
        [{"tokens": [5, 6]}, {"data": "aGk=", "format": "png", "type": "image"}],
        [{"format": "png", "location": "http://x/y.png", "type": "image_asset_pointer"}],
    ],
)
def test_datums_read_from_json_match_the_generated_models(chunks: list[dict[str, Any]]) -> None:
    raw = _datum_json(chunks)

    def outcome(convert: Callable[[], wire.WireDatum]) -> Any:
        try:
            d = convert()
        except UserError as e:
            return str(e)
        return d.tokens, {k: (v.dtype.str, v.tolist()) for k, v in d.loss_fn_inputs.items()}

    def via_generated_models() -> wire.WireDatum:  # the reading this path short-cuts
        datum = Datum.from_dict(raw)
        tokens = wire.tokens_from_model_input(datum.model_input, "data.0.model_input")
        inputs = {
            name: wire._tensor(
                t.data, str(t.dtype), wire.opt_none(t.shape), f"data.0.loss_fn_inputs.{name}"
            )
            for name, t in datum.loss_fn_inputs.additional_properties.items()
        }
        return wire.WireDatum(tokens=tokens, loss_fn_inputs=inputs)

    expected = outcome(via_generated_models)
    assert outcome(lambda: wire.datum_from_json(raw, "data.0")) == expected


def _tensor_model(array: np.ndarray) -> TensorData:
    if array.dtype.kind in "iub":
        return TensorData(
            data=array.astype(np.int64).ravel().tolist(), dtype="int64", shape=list(array.shape)
        )
    values = array.astype(np.float32).ravel()
    return TensorData(data=values.tolist(), dtype="float32", shape=list(array.shape))


def test_forward_output_matches_the_generated_models() -> None:
    rng = np.random.default_rng(0)
    outputs = [
        {"logprobs": rng.standard_normal(7).astype(np.float32), "ids": np.arange(6).reshape(2, 3)},
        {"flags": np.array([True, False]), "wide": np.array([1e-3, 2.5])},
    ]
    metrics = {"loss:sum": 1.5, "num_tokens:sum": 7}

    def generated() -> dict[str, Any]:
        items = []
        for per_datum in outputs:
            item = LossFnOutput()
            item.additional_properties = {k: _tensor_model(v) for k, v in per_datum.items()}
            items.append(item)
        return ForwardBackwardOutput(
            loss_fn_output_type="TorchLossReturn",
            loss_fn_outputs=items,
            metrics=wire.metrics_to_wire(metrics),
        ).to_dict()

    # What goes on the wire, read back as a client would.
    ours = orjson.loads(JSONResponse(wire.forward_output(outputs, metrics)).body)
    expected = generated()
    assert list(ours) == list(expected)
    assert ours["metrics"] == expected["metrics"]
    assert ours["loss_fn_output_type"] == expected["loss_fn_output_type"]
    for got, want in zip(ours["loss_fn_outputs"], expected["loss_fn_outputs"], strict=True):
        assert got.keys() == want.keys()
        for name in got:
            assert (got[name]["dtype"], got[name]["shape"]) == (
                want[name]["dtype"],
                want[name]["shape"],
            )
            # float32 values travel in their shortest float32 form: the same float32 values.
            dtype = np.float32 if want[name]["dtype"] == "float32" else np.int64
            assert np.array_equal(
                np.asarray(got[name]["data"], dtype=dtype),
                np.asarray(want[name]["data"], dtype=dtype),
            )
    with pytest.raises(UserError, match="NaN or infinite"):
        wire.forward_output([{"x": np.array([np.nan], dtype=np.float32)}], {})


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_sample_result_with_a_non_finite_logprob_is_refused(bad: float) -> None:
    from tinker_local.server.compute import SampleOut

    finite = SampleOut(sequences=[([1, 2], [-0.5, -3.4e38], "length")])
    assert wire.sample_output(finite)["sequences"][0]["logprobs"] == [-0.5, -3.4e38]
    for out in (
        SampleOut(sequences=[([1, 2], [-0.5, bad], "length")]),
        SampleOut(sequences=[([1], [-0.5], "length")], prompt_logprobs=[None, bad]),
        SampleOut(sequences=[([1], [-0.5], "length")], topk_sample_logprobs=[[[(1, bad)]]]),
    ):
        with pytest.raises(UserError, match="NaN or infinite"):
            wire.sample_output(out)


# -- dispatch ahead -----------------------------------------------------------------------------
async def test_jobs_handed_ahead_still_run_one_at_a_time_in_seq_order(
    registry: FutureRegistry,
) -> None:
    running: list[str] = []
    log: list[tuple[str, str]] = []
    lock = threading.Lock()

    def job(name: str) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            with lock:
                assert not running, f"{name} started while {running} ran"
                running.append(name)
                log.append(("start", name))
            time.sleep(0.005)
            with lock:
                running.remove(name)
                log.append(("end", name))
            return {"name": name}

        return run

    registry.open_queue("m")
    order = [5, 2, 4, 1, 3, 7, 6]
    records = {
        s: registry.submit(user="u", request_type="t", fn=job(f"s{s}"), queue="m", seq_id=s)
        for s in order
    }
    for s, record in records.items():
        assert await registry.wait(record, 5)
        assert record.result == {"name": f"s{s}"}
    starts = [name for kind, name in log if kind == "start"]
    assert starts == [f"s{s}" for s in sorted(order)]


async def test_a_job_arriving_while_one_runs_starts_right_after_it(
    registry: FutureRegistry,
) -> None:
    """The next job is already in the compute thread's hands: it starts without waiting for
    the event loop, even while the loop is busy."""
    times: dict[str, float] = {}

    def slow() -> dict[str, Any]:
        time.sleep(0.05)
        times["first_end"] = time.perf_counter()
        return {}

    def quick() -> dict[str, Any]:
        times["second_start"] = time.perf_counter()
        return {}

    registry.open_queue("m")
    first = registry.submit(user="u", request_type="t", fn=slow, queue="m", seq_id=1)
    second = registry.submit(user="u", request_type="t", fn=quick, queue="m", seq_id=2)
    await asyncio.sleep(0.01)
    time.sleep(0.1)  # the event loop is busy when the first job ends
    assert await registry.wait(first, 5) and await registry.wait(second, 5)
    assert times["second_start"] - times["first_end"] < 0.03


async def test_stopping_fails_the_handed_out_jobs_that_did_not_finish() -> None:
    reg = FutureRegistry(result_ttl_s=10, undelivered_ttl_s=100, seq_gap_timeout_s=0.3)
    await reg.start()
    release = threading.Event()

    def blocked() -> dict[str, Any]:
        release.wait(5)
        return {}

    reg.open_queue("m")
    first = reg.submit(user="u", request_type="t", fn=blocked, queue="m", seq_id=1)
    second = reg.submit(user="u", request_type="t", fn=lambda: {}, queue="m", seq_id=2)
    await asyncio.sleep(0.05)
    stopping = asyncio.create_task(reg.stop())
    await asyncio.sleep(0.05)
    release.set()
    await stopping
    for record in (first, second):
        assert record.done.is_set()
        assert record.outcome() == {
            "error": "the server shut down before the request finished",
            "category": "server",
        }
