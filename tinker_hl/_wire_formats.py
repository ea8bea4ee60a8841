"""The media types of the protobuf protocol and which results have a protobuf form; apart from
the codec so that naming them does not import the protobuf runtime."""

from __future__ import annotations

import orjson

# How request bodies are written as JSON (numpy scalars and arrays as numbers). Validation's
# scans write lists with the same options, so that the encoder can embed their text as is.
JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY

PROTOBUF = "application/x-protobuf"
# Polls ask for protobuf first; a server may still answer JSON, which is read as JSON.
ACCEPT_PROTOBUF = "application/x-protobuf, application/json"
# The request types whose results a server may send as protobuf.
PROTOBUF_RESULT_TYPES = frozenset({"forward_backward", "forward", "sample"})

__all__ = ["ACCEPT_PROTOBUF", "JSON_OPTIONS", "PROTOBUF", "PROTOBUF_RESULT_TYPES"]
