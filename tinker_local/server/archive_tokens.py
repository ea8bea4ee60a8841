"""Signed, expiring tokens for checkpoint archive downloads (HMAC-SHA256, per-server secret).

A token names one checkpoint by identity (run, kind, name and the nonce of its creation) and
the user it was made for; the download checks both again, so a link dies with an unpublish, a
delete, or a re-creation under the same name. The secret is per process: a restart revokes all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import CheckpointRow


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class ArchiveGrant:
    run_id: str
    kind: str
    name: str
    nonce: str
    user: str
    expires_at: float


class ArchiveSigner:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def sign(self, row: CheckpointRow, user: str, expires_at: float) -> str:
        claims = {
            "r": row.run_id,
            "k": row.kind,
            "n": row.name,
            "i": row.nonce,
            "u": user,
            "e": int(expires_at),
        }
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: float | None = None) -> ArchiveGrant | None:
        """The grant a valid, unexpired token carries; None for anything else."""
        payload, _, mac = token.partition(".")
        if not payload or not mac or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            grant = ArchiveGrant(
                run_id=str(data["r"]),
                kind=str(data["k"]),
                name=str(data["n"]),
                nonce=str(data["i"]),
                user=str(data["u"]),
                expires_at=float(data["e"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if grant.expires_at < (time.time() if now is None else now):
            return None
        return grant
