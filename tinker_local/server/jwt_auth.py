"""JWT mode (`tinker-hl serve --jwt`): API keys are exchanged at `POST /api/v1/auth/token` for
short-lived signed tokens (HS256 JWTs), which clients then send in `X-API-Key` instead of the
key. A token that is expired, forged or signed by an earlier server process is answered 401 with
`WWW-Authenticate: Bearer error="invalid_token"`, the signal for a client to exchange again.

The signing secret lives in memory only: restarting the server invalidates every token (clients
re-exchange), and nothing secret is ever written to disk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from .errors import ApiError, unauthorized

INVALID_TOKEN = 'Bearer error="invalid_token"'


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_HEADER = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("ey")


class JwtSigner:
    """Issues and checks tokens for this server process."""

    def __init__(self, ttl_s: float) -> None:
        if ttl_s <= 0:
            raise ValueError("jwt_ttl_s must be positive")
        self.ttl_s = ttl_s
        self._secret = secrets.token_bytes(32)
        self.issued = self.rejected = 0  # counts, for tests and diagnostics

    def rotate(self) -> None:
        """A new secret: every token issued so far becomes invalid (as after a restart)."""
        self._secret = secrets.token_bytes(32)

    def _sign(self, signing_input: str) -> str:
        return _b64(hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest())

    def issue(self, user: str, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {"sub": user, "iat": issued, "exp": issued + int(self.ttl_s)}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{_HEADER}.{payload}"
        self.issued += 1
        return f"{signing_input}.{self._sign(signing_input)}"

    def user_of(self, token: str, now: float | None = None) -> str:
        """The token's user; a 401 marked invalid_token otherwise."""
        try:
            header, payload, signature = token.split(".")
            good = hmac.compare_digest(signature, self._sign(f"{header}.{payload}"))
            claims: dict[str, Any] = json.loads(_unb64(payload)) if good else {}
        except (ValueError, UnicodeDecodeError):
            good, claims = False, {}
        if not good or not isinstance(claims.get("sub"), str):
            self.rejected += 1
            raise _invalid("invalid token: not issued by this server (exchange the API key again)")
        expires = claims.get("exp")
        if not isinstance(expires, int) or (time.time() if now is None else now) >= expires:
            self.rejected += 1
            raise _invalid("token expired: exchange the API key again at /api/v1/auth/token")
        return str(claims["sub"])


def _invalid(message: str) -> ApiError:
    error = unauthorized(message)
    error.headers = {"WWW-Authenticate": INVALID_TOKEN}
    return error
