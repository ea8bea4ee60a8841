"""orjson request/response helpers."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import orjson
from starlette.responses import Response

from .conditions import scrub_paths
from .errors import ApiError, bad_request

# Deeper than any body of the spec (a few levels) yet far below what the recursion limit of
# json.dumps, jsonschema or the generated models can take (about 1,000 levels).
DEFAULT_MAX_DEPTH = 64
# An error message longer than this is cut (callers quote values with errors.shown already).
_MAX_MESSAGE_CHARS = 2000
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


class JSONResponse(Response):
    """A JSON response rendered with orjson (NaN/inf become null, numpy arrays allowed)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def error_response(err: ApiError) -> JSONResponse:
    message = scrub_paths(err.message)
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[: _MAX_MESSAGE_CHARS - 3] + "..."
    body: dict[str, Any] = {"error": message}
    if err.field is not None:
        body["field"] = err.field[:200]
    headers = dict(err.headers) if err.headers else None
    if err.retry_after_s is not None:
        headers = {**(headers or {}), "Retry-After": str(max(1, math.ceil(err.retry_after_s)))}
    return JSONResponse(body, status_code=err.status, headers=headers)


def nesting_depth(raw: bytes) -> int:
    """How deeply the arrays/objects of a (valid) JSON text nest, without recursion: strings
    are blanked out, then the brackets are counted in C (numpy)."""
    opens = raw.count(b"[") + raw.count(b"{")
    if opens == 0:
        return 0
    if b'"' in raw:
        raw = _JSON_STRING.sub(b'""', raw)
    codes = np.frombuffer(raw, dtype=np.uint8)
    steps = np.zeros(codes.shape, dtype=np.int32)
    steps[(codes == ord("[")) | (codes == ord("{"))] = 1
    steps[(codes == ord("]")) | (codes == ord("}"))] = -1
    return int(np.cumsum(steps).max(initial=0))


def parse_json(raw: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Decode a request body; malformed or too deeply nested JSON is the caller's mistake."""
    if not raw.strip():
        raise bad_request("request body: expected a JSON object, got an empty body")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        if "depth limit" in str(e):  # orjson's own limit (1,024 levels)
            raise bad_request(
                f"request body: JSON nested too deeply; at most {max_depth} levels are accepted"
            ) from None
        raise bad_request(f"request body: malformed JSON ({e})") from None
    # Fewer brackets than the limit cannot nest deeper than it (the common, cheap case).
    if raw.count(b"[") + raw.count(b"{") > max_depth and (depth := nesting_depth(raw)) > max_depth:
        raise bad_request(
            f"request body: JSON nested {depth} levels deep; at most {max_depth} are accepted"
        )
    return body
