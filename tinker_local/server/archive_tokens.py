"""Signed, expiring tokens for checkpoint archive downloads (HMAC-SHA256, per-server secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class ArchiveGrant:
    run_id: str
    kind: str
    name: str
    expires_at: float


class ArchiveSigner:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def sign(self, run_id: str, kind: str, name: str, expires_at: float) -> str:
        payload = _b64(
            json.dumps(
                {"r": run_id, "k": kind, "n": name, "e": int(expires_at)}, separators=(",", ":")
            ).encode()
        )
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: float | None = None) -> ArchiveGrant | None:
        """The grant a valid, unexpired token carries; None for anything else."""
        payload, _, mac = token.partition(".")
        if not payload or not mac or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            grant = ArchiveGrant(str(data["r"]), str(data["k"]), str(data["n"]), float(data["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        if grant.expires_at < (time.time() if now is None else now):
            return None
        return grant
