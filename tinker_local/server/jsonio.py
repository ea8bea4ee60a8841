"""orjson request/response helpers."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .errors import ApiError, bad_request


class JSONResponse(Response):
    """A JSON response rendered with orjson (NaN/inf become null, numpy arrays allowed)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def error_response(err: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"error": err.message}
    if err.field is not None:
        body["field"] = err.field
    return JSONResponse(body, status_code=err.status, headers=err.headers)


def parse_json(raw: bytes) -> Any:
    """Decode a request body; malformed JSON is the caller's mistake (400)."""
    if not raw.strip():
        raise bad_request("request body: expected a JSON object, got an empty body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise bad_request(f"request body: malformed JSON ({e})") from None


async def read_json(request: Request) -> Any:
    return parse_json(await request.body())
