"""Finding 3: a signed archive URL bound (run, kind, name, expiry) only, and the download
re-checked nothing: after unpublish an outstanding URL still downloaded, and after delete and
re-create under the same name an old URL downloaded the new content; the tokens were written
to the access log.

Now a token names the checkpoint's identity (a nonce of its creation) and the user it was
made for, and the download checks again that the checkpoint is that one and still readable by
that user. Access-log lines mask the tokens and every query string, and no log line of the
server carries an API key or a token."""

from __future__ import annotations

import io
import logging
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinker_local.server.log_secrecy import redact_url

from .conftest import KEY, OTHER_KEY


def _ckpt(model_id: str, name: str, suffix: str = "") -> str:
    return f"/api/v1/training_runs/{model_id}/checkpoints/weights/{name}{suffix}"


def _archive_url(api: Any, model_id: str, name: str) -> str:
    answer = api.get(_ckpt(model_id, name, "/archive"), follow_redirects=False)
    assert answer.status_code == 302, answer.text
    url: str = answer.headers["location"]
    return url


def _members(content: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(content)) as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def test_a_link_dies_with_unpublish_and_with_delete_and_re_create(api: Any, other: Any) -> None:
    model_id = api.model()
    api.done("/api/v1/save_weights", {"model_id": model_id, "path": "shared"})
    assert api.post(_ckpt(model_id, "shared", "/publish")).status_code == 204
    owners_url = _archive_url(api, model_id, "shared")
    others_url = _archive_url(other, model_id, "shared")
    first = httpx.get(others_url)
    assert first.status_code == 200 and _members(first.content)

    assert api.delete(_ckpt(model_id, "shared", "/publish")).status_code == 204
    revoked = httpx.get(others_url)
    assert revoked.status_code == 404 and "revoked" in revoked.json()["error"]
    assert httpx.get(owners_url).status_code == 200  # the owner may still read their own

    assert api.delete(_ckpt(model_id, "shared")).status_code == 204
    api.done("/api/v1/optim_step", {"model_id": model_id, "adam_params": {"learning_rate": 0.1}})
    api.done("/api/v1/save_weights", {"model_id": model_id, "path": "shared"})
    assert httpx.get(owners_url).status_code == 404  # made for the deleted checkpoint
    fresh = httpx.get(_archive_url(api, model_id, "shared"))
    assert fresh.status_code == 200 and _members(fresh.content)


def test_a_tampered_or_foreign_token_is_refused(api: Any) -> None:
    model_id = api.model()
    api.done("/api/v1/save_weights", {"model_id": model_id, "path": "mine"})
    url = _archive_url(api, model_id, "mine")
    payload, _, mac = url.rsplit("/", 1)[1].partition(".")

    def other(text: str) -> str:  # the text with its first character changed (never kept)
        return ("y" if text[0] == "x" else "x") + text[1:]

    for token in (f"{payload}.{other(mac)}", f"{other(payload)}.{mac}", "garbage", "a.b"):
        assert httpx.get(url.rsplit("/", 1)[0] + "/" + token).status_code == 404


def test_access_log_lines_mask_tokens_and_query_strings() -> None:
    line = '127.0.0.1:5 - "GET /api/v1/archives/eyJy.abc?x=1 HTTP/1.1" 200'
    masked = '127.0.0.1:5 - "GET /api/v1/archives/<token>?<redacted> HTTP/1.1" 200'
    assert redact_url(line) == masked
    assert redact_url("/api/v1/checkpoints?limit=5&key=tml-x") == "/api/v1/checkpoints?<redacted>"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logged_server(tmp_path: Path) -> Iterator[tuple[str, _Capture]]:
    """A server as `tinker-hl serve --log-level debug` runs it (access log on), every log
    line of the process captured."""
    import uvicorn

    from tinker_local.launcher import _bind, _wait_healthy
    from tinker_local.server.app import create_app
    from tinker_local.server.config import ServerConfig

    sock = _bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = create_app(
        ServerConfig(data_dir=tmp_path, api_keys=[KEY, OTHER_KEY], port=port, compute="none")
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="debug", access_log=True))
    capture = _Capture()
    watched = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.access", "uvicorn.error")]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, thread.is_alive)
        for logger in watched:  # after uvicorn set its logging up
            logger.addHandler(capture)
        yield url, capture
    finally:
        for logger in watched:
            logger.removeHandler(capture)
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_no_log_line_carries_an_api_key_or_a_token(
    logged_server: tuple[str, _Capture], raw_api: Any
) -> None:
    url, capture = logged_server
    api, other = raw_api(url, KEY), raw_api(url, OTHER_KEY)
    model_id = api.model()
    api.done("/api/v1/save_weights", {"model_id": model_id, "path": "logged"})
    assert api.post(_ckpt(model_id, "logged", "/publish")).status_code == 204
    archive = _archive_url(other, model_id, "logged")
    assert httpx.get(archive + "?secret=query-value").status_code == 200
    assert api.get("/api/v1/checkpoints", params={"token": "query-secret"}).status_code == 200
    api.post("/api/v1/create_session", {"bad": "body"})  # a 400 is logged too
    raw_api(url, "tml-wrong-key-never-logged").get("/api/v1/checkpoints")
    api.close()
    other.close()
    token = archive.rsplit("/", 1)[1]
    text = "\n".join(capture.lines)
    assert "/api/v1/archives/<token>" in text  # the access log did run
    for secret in (KEY, OTHER_KEY, "tml-wrong-key-never-logged", token, "query-secret"):
        assert secret not in text, secret
    assert "query-value" not in text
