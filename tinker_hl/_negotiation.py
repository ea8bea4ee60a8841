"""What the server supports, asked once per ServiceClient at `POST /api/v1/client/config`.

A server that does not know client/config (a 0.7-era server, another project's Tinker-shaped
server) answers 404/405 or some other error: that is not a failure, it means "today's JSON
protocol". So the probe is sent once, without retries, and any error answer (or an unreadable
body) gives `JSON_ONLY`; the result is cached on the caller's side (one probe per client).
"""

from __future__ import annotations

import logging
from typing import Any

from tinker_api_client.api.service import client_config
from tinker_api_client.models import ClientConfigRequest, ClientConfigResponse

from ._exceptions import APIConnectionError, APIResponseValidationError, APIStatusError
from ._http import parsed
from ._pipeline import CallPipeline
from ._server_features import JSON_ONLY, ServerFeatures
from ._version import __version__

logger = logging.getLogger("tinker_hl.negotiation")


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
    features = ServerFeatures.from_config(config)
    logger.debug("server features: %s", features)
    return features


__all__ = ["JSON_ONLY", "ServerFeatures", "fetch_server_features"]
