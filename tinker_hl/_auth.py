"""JWT mode: when client/config enables it (`pjwt_auth_enabled`), the API key is exchanged at
`POST /api/v1/auth/token` for a short-lived token, sent instead of the key in `X-API-Key`.

The token is exchanged again shortly before its `exp` claim (read, not verified: the server
verifies), and at once when the server answers 401 with `WWW-Authenticate: ...invalid_token`
(a restarted server, a rotated secret); the refused request is then sent again once, with the
new token. auth/token itself goes with the API key. Concurrent calls share one exchange.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable, Mapping

from tinker_api_client.api.service import auth_token
from tinker_api_client.models import AuthTokenRequest, AuthTokenResponse

from ._exceptions import APIStatusError
from ._pipeline import CallPipeline

logger = logging.getLogger("tinker_hl.auth")

AUTH_OPERATION = "auth_token"
# Exchange again when this little of the token's life is left (at most a minute).
REFRESH_FRACTION = 0.1
REFRESH_MAX_S = 60.0


def token_times(token: str) -> tuple[float, float] | None:
    """(issued at, expires at) from a JWT's claims; None when it has none readable."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expires = float(claims["exp"])
        issued = float(claims.get("iat", expires - 2 * REFRESH_MAX_S))
    except (IndexError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    return issued, expires


def is_invalid_token(exc: BaseException) -> bool:
    """A 401 whose WWW-Authenticate says the token (not the key) is bad."""
    if not isinstance(exc, APIStatusError) or exc.status_code != 401:
        return False
    response = getattr(exc, "response", None)
    challenge = response.headers.get("www-authenticate", "") if response is not None else ""
    return "invalid_token" in challenge


class TokenAuth:
    """The pipeline's header provider and re-authenticator in JWT mode."""

    def __init__(self, pipeline: CallPipeline, clock: Callable[[], float] = time.time) -> None:
        self._pipeline = pipeline
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock: asyncio.Lock | None = None
        self.exchanges = 0

    def __repr__(self) -> str:  # never the token
        return f"TokenAuth(exchanges={self.exchanges})"

    def install(self) -> None:
        self._pipeline.header_provider = self.headers
        self._pipeline.reauthenticate = self.reauthenticate

    async def headers(self, operation: str) -> Mapping[str, str]:
        if operation == AUTH_OPERATION:
            return {}  # the connection's own header: the API key
        if self._token is None or self._clock() >= self._refresh_at:
            await self._exchange(stale=self._token)
        assert self._token is not None
        return {"X-API-Key": self._token}

    async def reauthenticate(self, operation: str, exc: BaseException) -> bool:
        """After a failed call: True when it was refused for its token, which is replaced
        (the caller sends the request again, once)."""
        if operation == AUTH_OPERATION or not is_invalid_token(exc):
            return False
        logger.info("the server refused the session token (%s); exchanging the key again", exc)
        await self._exchange(stale=self._token)
        return True

    async def _exchange(self, stale: str | None) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._token is not None and self._token != stale:
                return  # another call exchanged meanwhile
            answer = await self._pipeline.request(
                AUTH_OPERATION, auth_token, AuthTokenResponse, body=AuthTokenRequest()
            )
            token = answer.jwt
            times = token_times(token)
            now = self._clock()
            if times is None:  # opaque: keep it until the server refuses it
                self._refresh_at = float("inf")
            else:
                issued, expires = times
                margin = min(REFRESH_MAX_S, REFRESH_FRACTION * max(expires - issued, 0.0))
                self._refresh_at = expires - margin
            self._token = token
            self.exchanges += 1
            logger.debug("session token exchanged (refresh in %.0fs)", self._refresh_at - now)


__all__ = ["TokenAuth", "is_invalid_token", "token_times"]
