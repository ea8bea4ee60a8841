"""Finding 2: a LoRA seed in [2**63, 2**64) passed the handler's check and overflowed SQLite
when the run was stored (a 500), leaving a failed model handle behind. The spec now bounds the
seed to a signed 64-bit integer (what SQLite stores; the client checks the same bounds from the
generated model), so such a seed is a 400 naming the field, before anything is created; and a
model whose creation fails for any reason leaves nothing behind."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from tinker_local.server.validation import load_spec

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _create(api: Any, session_id: str, seq: int, seed: Any) -> Any:
    body = {
        "session_id": session_id,
        "model_seq_id": seq,
        "base_model": "local/tiny-llama",
        "lora_config": {"rank": 1, "seed": seed},
    }
    return api.post("/api/v1/create_model", body)


def test_the_spec_bounds_the_seeds() -> None:
    schemas = load_spec()["components"]["schemas"]
    for schema, prop in (("LoraConfig", "seed"), ("SamplingParams", "seed")):
        bounds = schemas[schema]["properties"][prop]
        assert (bounds["minimum"], bounds["maximum"]) == (INT64_MIN, INT64_MAX), schema


@pytest.mark.parametrize("seed", [2**63, 2**63 + 1, 2**64 - 1, 2**64, 2**70, INT64_MIN - 1])
def test_seeds_beyond_64_bits_are_a_400_naming_the_field_and_leave_nothing(
    api: Any, hardened_server: Any, seed: int
) -> None:
    session_id = api.session()
    models_before = dict(hardened_server.backend.models)
    answer = _create(api, session_id, 0, seed)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == "lora_config.seed"
    assert hardened_server.backend.models == models_before
    assert api.get(f"/api/v1/sessions/{session_id}").json()["training_run_ids"] == []


@pytest.mark.parametrize("seed", [INT64_MIN, -1, 0, INT64_MAX])
def test_seeds_at_the_bounds_are_stored(api: Any, hardened_server: Any, seed: int) -> None:
    session_id = api.session()
    future = _create(api, session_id, 0, seed)
    assert future.status_code == 200, future.text
    model_id = api.result(future.json())["model_id"]
    assert hardened_server.store.get_run(model_id).seed == seed


def test_a_model_whose_creation_fails_in_the_store_leaves_no_handle(
    api: Any, hardened_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(row: Any) -> None:
        raise sqlite3.IntegrityError("simulated store failure")

    monkeypatch.setattr(hardened_server.store, "create_run", broken)
    session_id = api.session()
    before = set(hardened_server.backend.models)
    failed = api.result(_create(api, session_id, 0, 1).json())
    assert failed["category"] == "server" and "simulated store failure" in failed["error"]
    assert set(hardened_server.backend.models) == before
