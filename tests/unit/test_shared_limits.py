"""Limits the client checks and the server enforces come from one declaration in openapi.yaml
(exported as generated `tinker_api_client.limits` and the enums' `*_VALUES`): both sides agree
on every case, and the exported values are the spec's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tinker_api_client import limits
from tinker_api_client.models.image_format import IMAGE_FORMAT_VALUES
from tinker_api_client.models.loss_fn_type import LOSS_FN_TYPE_VALUES

import tinker_hl
from tinker_hl._rest_client import MAX_PAGE_SIZE
from tinker_hl._training_client import _check_name, check_ttl
from tinker_hl.types import LOSS_FN_REQUIRED_KEYS
from tinker_local.server.checkpoint_files import validate_checkpoint_name
from tinker_local.server.errors import UserError

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
NAMES = [
    "step-1",
    "a",
    "A.b_c-9",
    "x" * 128,
    "x" * 129,
    "",
    ".",
    "..",
    "-lead",
    ".hidden",
    "a/b",
    "a\\b",
    "sp ace",
    "ünï",
    "tab\t",
    "ok.tar",
    "newline\n",
]


@pytest.mark.parametrize("name", NAMES)
def test_client_and_server_accept_the_same_checkpoint_names(name: str) -> None:
    try:
        validate_checkpoint_name(name)
        server_ok = True
    except UserError:
        server_ok = False
    try:
        _check_name(name)
        client_ok = True
    except tinker_hl.ValidationError:
        client_ok = False
    assert client_ok == server_ok, name


def test_exported_limits_are_the_specs() -> None:
    parameters, schemas = SPEC["components"]["parameters"], SPEC["components"]["schemas"]
    assert parameters["CheckpointName"]["schema"]["pattern"] == limits.CHECKPOINT_NAME_PATTERN
    assert limits.PAGE_LIMIT_MAX == parameters["Limit"]["schema"]["maximum"] == MAX_PAGE_SIZE
    ttl = schemas["SaveWeightsRequest"]["properties"]["ttl_seconds"]
    assert (
        ttl["minimum"],
        ttl["maximum"],
    ) == (limits.CHECKPOINT_TTL_MIN_S, limits.CHECKPOINT_TTL_MAX_S)
    assert set(LOSS_FN_REQUIRED_KEYS) == LOSS_FN_TYPE_VALUES == set(schemas["LossFnType"]["enum"])
    assert set(schemas["ImageFormat"]["enum"]) == IMAGE_FORMAT_VALUES


def test_ttl_bounds_are_checked_before_sending() -> None:
    check_ttl(None)
    check_ttl(limits.CHECKPOINT_TTL_MIN_S)
    check_ttl(limits.CHECKPOINT_TTL_MAX_S)
    for bad in (limits.CHECKPOINT_TTL_MIN_S - 1, limits.CHECKPOINT_TTL_MAX_S + 1, True, 1.5):
        with pytest.raises(tinker_hl.ValidationError, match="ttl_seconds"):
            check_ttl(bad)


def test_server_pages_end_at_the_spec_maximum() -> None:
    from starlette.requests import Request

    from tinker_local.server.endpoint import pagination

    def request(query: str) -> Request:
        return Request({"type": "http", "query_string": query.encode(), "headers": []})

    assert pagination(request(f"limit={limits.PAGE_LIMIT_MAX}"))[0] == limits.PAGE_LIMIT_MAX
    with pytest.raises(Exception, match="limit"):
        pagination(request(f"limit={limits.PAGE_LIMIT_MAX + 1}"))
