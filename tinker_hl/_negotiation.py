"""What the server supports, asked once per ServiceClient at `POST /api/v1/client/config`.

A server that does not know client/config (a 0.7-era server, another project's Tinker-shaped
server) answers 404/405 or some other error: that is not a failure, it means "today's JSON
protocol". So the probe is sent once, without retries, and any error answer (or an unreadable
body) gives `JSON_ONLY`; the result is cached on the caller's side (one probe per client).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from tinker_api_client.api.service import client_config
from tinker_api_client.models import ClientConfigRequest, ClientConfigResponse

from ._exceptions import APIConnectionError, APIResponseValidationError, APIStatusError
from ._http import parsed
from ._pipeline import CallPipeline
from ._version import __version__

logger = logging.getLogger("tinker_hl.negotiation")


@dataclass(frozen=True, slots=True)
class ServerFeatures:
    """The protocol steps a server offers beyond the JSON protocol. All off: JSON only."""

    negotiated: bool = False  # the server answered client/config at all
    protobuf_requests: bool = False  # forward_backward bodies as protobuf
    compressed_requests: bool = False  # ... zstd-compressed
    forward_via_forward_backward: bool = False  # forward = forward_backward(forward_only)
    model_via_load_weights: bool = False  # load_weights without model_id creates the model
    jwt: bool = False  # exchange the API key at auth/token

    @property
    def protobuf_results(self) -> bool:
        """Ask for protobuf results in polls: a server that reads protobuf bodies writes them
        (the SDKs since 0.22 pair the two); the poll still reads JSON when it gets JSON."""
        return self.protobuf_requests

    @classmethod
    def from_config(cls, config: ClientConfigResponse) -> ServerFeatures:
        def flag(name: str) -> bool:
            return getattr(config, name, None) is True

        return cls(
            negotiated=True,
            protobuf_requests=flag("proto_write_fwdbwd"),
            compressed_requests=flag("proto_write_fwdbwd") and flag("proto_compress_fwdbwd"),
            forward_via_forward_backward=flag("proto_write_fwdbwd") and flag("fwd_via_fwdbwd"),
            model_via_load_weights=flag("create_model_via_load_weights"),
            jwt=flag("pjwt_auth_enabled"),
        )


JSON_ONLY = ServerFeatures()


async def fetch_server_features(pipeline: CallPipeline) -> ServerFeatures:
    """One client/config probe (no retries: an old server's 404 must cost no extra wait)."""
    operation = "client_config"
    try:
        response = await pipeline.call(
            operation,
            client_config,
            body=ClientConfigRequest(sdk_version=f"tinker-hl/{__version__}"),
        )
        config: Any = parsed(operation, response, ClientConfigResponse)
    except (APIStatusError, APIResponseValidationError, APIConnectionError) as exc:
        logger.debug("client/config not available (%s): JSON protocol", exc)
        return JSON_ONLY
    return ServerFeatures.from_config(config)


__all__ = ["JSON_ONLY", "ServerFeatures", "fetch_server_features"]
