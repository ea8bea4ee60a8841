"""TokenAuth (JWT mode) with a scripted pipeline and a fake clock: the token is exchanged
before its expiry, concurrent calls share one exchange, auth/token goes with the key, and only
a 401 marked invalid_token re-exchanges."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx

from tinker_hl._auth import TokenAuth, is_invalid_token, token_times
from tinker_hl._exceptions import status_error_for


def _jwt(issued: float, expires: float) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part({'sub': 'u', 'iat': issued, 'exp': expires})}.sig"


class _Answer:
    def __init__(self, jwt: str) -> None:
        self.jwt = jwt


class _Pipeline:
    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.exchanged: list[str] = []
        self.header_provider: Any = None
        self.reauthenticate: Any = None

    async def request(self, operation: str, *args: Any, **kwargs: Any) -> _Answer:
        await asyncio.sleep(0)  # let concurrent callers pile up on the exchange
        token = _jwt(self.clock[0], self.clock[0] + 1000)
        self.exchanged.append(token)
        return _Answer(token)


def _refused(challenge: str | None) -> Exception:
    headers = {"www-authenticate": challenge} if challenge else {}
    response = httpx.Response(401, headers=headers, request=httpx.Request("POST", "http://x"))
    return status_error_for("forward", 401, {"error": "no"}, headers, response=response)


def test_tokens_are_exchanged_before_they_expire_and_shared() -> None:
    clock = [1000.0]
    pipeline = _Pipeline(clock)
    auth = TokenAuth(pipeline, clock=lambda: clock[0])  # type: ignore[arg-type]
    auth.install()
    assert pipeline.header_provider == auth.headers

    async def run() -> None:
        first = await asyncio.gather(*(auth.headers("forward") for _ in range(5)))
        assert len(pipeline.exchanged) == 1  # five concurrent calls, one exchange
        assert {h["X-API-Key"] for h in first} == {pipeline.exchanged[0]}
        assert await auth.headers("auth_token") == {}  # the exchange itself uses the key
        clock[0] = 1000 + 1000 - 61  # a minute and a second left (of 1000 s): still kept
        await auth.headers("forward")
        assert len(pipeline.exchanged) == 1
        clock[0] = 1000 + 1000 - 59  # under a minute left: exchanged before the server refuses
        renewed = await auth.headers("forward")
        assert len(pipeline.exchanged) == 2 and renewed["X-API-Key"] == pipeline.exchanged[1]

    asyncio.run(run())


def test_only_an_invalid_token_answer_re_exchanges() -> None:
    clock = [0.0]
    pipeline = _Pipeline(clock)
    auth = TokenAuth(pipeline, clock=lambda: clock[0])  # type: ignore[arg-type]

    async def run() -> None:
        await auth.headers("forward")
        assert not await auth.reauthenticate("forward", _refused(None))  # a bad key: no
        assert not await auth.reauthenticate("auth_token", _refused('Bearer error="invalid_token"'))
        assert len(pipeline.exchanged) == 1
        assert await auth.reauthenticate("forward", _refused('Bearer error="invalid_token"'))
        assert len(pipeline.exchanged) == 2

    asyncio.run(run())
    assert is_invalid_token(_refused('Bearer realm="x", error="invalid_token"'))
    assert not is_invalid_token(ValueError("x"))


def test_token_times_reads_the_claims_and_tolerates_opaque_tokens() -> None:
    assert token_times(_jwt(5, 65)) == (5.0, 65.0)
    assert token_times("opaque-token") is None
    assert token_times("a.!!!.c") is None
