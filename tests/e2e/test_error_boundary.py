"""Lenient toward servers, strict toward the caller: any error answer becomes the right
APIStatusError subclass (with status_code, body, request, response), any 5xx is retried, paths a
server hands out are used as given, and the caller's own mistakes fail at once."""

from __future__ import annotations

import json

import httpx
import pytest

import tinker_hl as tinker
from tinker_hl import RetryConfig

from .fake_server import SESSION, Answer, fake_server, json_answer

KEY = "tml-fake-key-0123"
NO_RETRIES = RetryConfig(enable_retry_logic=False)
FAST_RETRIES = RetryConfig(retry_delay_base=0.01, retry_delay_max=0.02)
HTML = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr>nginx</body></html>"
)
FASTAPI_422 = json.dumps(
    {"detail": [{"loc": ["query", "limit"], "msg": "field required", "type": "missing"}]}
).encode()


@pytest.mark.parametrize(
    ("status", "content", "content_type", "error_type", "body", "says"),
    [
        (404, b'{"detail": "Not Found"}', "application/json", tinker.NotFoundError,
         {"detail": "Not Found"}, "Not Found"),
        (400, b'{"error": "bad limit", "category": "user"}', "application/json",
         tinker.BadRequestError, {"error": "bad limit", "category": "user"}, "bad limit"),
        (422, FASTAPI_422, "application/json", tinker.UnprocessableEntityError,
         json.loads(FASTAPI_422), "query.limit: field required"),
        (403, b"forbidden by policy\n", "text/plain", tinker.PermissionDeniedError,
         "forbidden by policy", "forbidden by policy"),
        (502, HTML, "text/html", tinker.InternalServerError, HTML.decode(), "502 Bad Gateway"),
        (401, b"", "text/plain", tinker.AuthenticationError, "", "Unauthorized"),
        (522, b"", "text/plain", tinker.InternalServerError, "", "HTTP 522"),
        (499, b"{}", "application/json", tinker.APIStatusError, {}, "HTTP 499"),
        (409, b'{"message": "busy"}', "application/json", tinker.ConflictError,
         {"message": "busy"}, "busy"),
    ],
)  # fmt: skip
def test_every_error_shape_becomes_the_right_status_error(
    status: int,
    content: bytes,
    content_type: str,
    error_type: type[tinker.APIStatusError],
    body: object,
    says: str,
) -> None:
    def script(path: str, _: bytes) -> Answer | None:
        if "/training_runs/" in path:
            return status, content, {"Content-Type": content_type}
        return None

    with (
        fake_server(script) as (url, _),
        tinker.RestClient.from_env(api_key=KEY, base_url=url, retry_config=NO_RETRIES) as rest,
        pytest.raises(tinker.APIStatusError) as info,
    ):
        rest.get_training_run("run-1").result()
    error = info.value
    assert type(error) is error_type
    assert error.status_code == status
    assert error.body == body
    assert says in str(error)
    assert isinstance(error.request, httpx.Request)
    assert error.request.method == "GET" and error.request.url.path.endswith("/run-1")
    assert isinstance(error.response, httpx.Response) and error.response.status_code == status
    assert error.response.content == content
    assert KEY not in repr(error.request.headers) and KEY not in str(error)


def test_any_5xx_is_retried_and_a_bad_success_body_is_a_validation_error() -> None:
    answers = [(522, b"", {}), (502, HTML, {"Content-Type": "text/html"}), (599, b"x", {})]

    def script(path: str, _: bytes) -> Answer | None:
        if path.endswith("/create_session"):
            return answers.pop(0) if answers else json_answer(200, SESSION)
        return None

    with fake_server(script) as (url, seen):
        with tinker.ServiceClient(api_key=KEY, base_url=url, retry_config=FAST_RETRIES) as service:
            assert service.session_id == "fake-session"
        assert [path for path, _ in seen].count("/api/v1/create_session") == 4

    def unreadable(path: str, _: bytes) -> Answer | None:
        return json_answer(200, b'{"unexpected": 1}') if path.endswith("/create_session") else None

    with (
        fake_server(unreadable) as (url, _),
        pytest.raises(tinker.APIResponseValidationError, match="unexpected response body"),
    ):
        tinker.ServiceClient(api_key=KEY, base_url=url, retry_config=NO_RETRIES)


def test_paths_a_server_hands_out_are_used_as_given() -> None:
    with fake_server(lambda path, body: None) as (url, seen):
        with tinker.ServiceClient(api_key=KEY, base_url=url) as service:
            sampler = service.create_sampling_client(model_path="tinker://run-7/final")
            assert sampler.sampling_session_id == "fake-sampler"
        sent = [json.loads(b) for p, b in seen if p.endswith("/create_sampling_session")]
    assert sent and sent[0]["model_path"] == "tinker://run-7/final"


@pytest.mark.parametrize(
    ("base_url", "api_key", "field", "says"),
    [
        ("ftp://127.0.0.1:1", KEY, "base_url", "unsupported URL scheme"),
        ("http://127.0.0.1:99999", KEY, "base_url", "not a valid URL"),
        ("http://127.0.0.1:port", KEY, "base_url", "not a valid URL"),
        ("http://", KEY, "base_url", "no host"),
        ("http://127.0.0.1:1", KEY + "\r\nX-Injected: 1", "api_key", "control characters"),
    ],
)
def test_the_callers_own_mistakes_fail_at_once_with_a_clear_message(
    base_url: str, api_key: str, field: str, says: str
) -> None:
    with pytest.raises(tinker.ValidationError, match=says) as info:
        tinker.ServiceClient(api_key=api_key, base_url=base_url)
    assert info.value.field == field
    assert KEY not in str(info.value)


def test_an_unreadable_result_body_is_a_validation_error_not_a_key_error() -> None:
    def script(path: str, _: bytes) -> Answer | None:
        if path.endswith("/create_model"):
            return json_answer(200, b'{"request_id": "req-1"}')
        if path.endswith("/retrieve_future"):
            return json_answer(200, b'{"garbage": 1}')
        return None

    with (
        fake_server(script) as (url, _),
        tinker.ServiceClient(api_key=KEY, base_url=url, retry_config=NO_RETRIES) as service,
        pytest.raises(tinker.APIResponseValidationError, match="unexpected result body"),
    ):
        service.create_lora_training_client("local/tiny-llama", rank=2)
