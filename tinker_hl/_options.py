"""ClientOptions: everything a client is configured with, resolved once from the caller's
arguments and the environment (`TINKER_API_KEY`, `TINKER_BASE_URL`, `TINKER_TAGS`).

Checked here, before anything connects: a bad key, URL or timeout fails the constructor with a
ValidationError naming the field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs
import httpx

from ._backpressure import SamplingLimits
from ._circuit import CircuitBreakerConfig
from ._exceptions import TinkerError, ValidationError
from ._http import DEFAULT_TIMEOUT, check_api_key, check_base_url
from ._retry import RetryConfig
from ._secrets import Secret

DEFAULT_BASE_URL = "https://tinker.thinkingmachines.dev/services/tinker-prod"
HEARTBEAT_INTERVAL_S = 10.0


def resolve_api_key(api_key: str | Secret | None) -> Secret:
    """The key, wrapped at once so that no repr, log line or traceback shows it."""
    __tracebackhide__ = True  # pytest: this frame's arguments hold the key
    if isinstance(api_key, Secret):
        return api_key
    key = api_key or os.environ.get("TINKER_API_KEY")
    del api_key
    if not key:
        raise TinkerError(
            "api_key: no API key given; pass api_key=... or set TINKER_API_KEY "
            "(for the local backend, `tinker-hl serve` prints one)"
        )
    if not isinstance(key, str):
        raise ValidationError("api_key", f"expected a string, got {type(key).__name__}")
    secret = Secret(key)
    del key
    check_api_key(secret)
    return secret


def resolve_base_url(base_url: str | None) -> str:
    return check_base_url(base_url or os.environ.get("TINKER_BASE_URL") or DEFAULT_BASE_URL)


def resolve_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ValidationError(
            "timeout", f"expected seconds > 0 or an httpx.Timeout, got {timeout!r}"
        )
    return httpx.Timeout(float(timeout), connect=5.0)


def env_tags() -> tuple[str, ...]:
    return tuple(sorted({t for t in os.environ.get("TINKER_TAGS", "").split(",") if t}))


@attrs.frozen(repr=False)
class ClientOptions:
    """The resolved configuration of one ServiceClient (or standalone RestClient)."""

    api_key: Secret
    base_url: str
    timeout: httpx.Timeout = DEFAULT_TIMEOUT
    headers: Mapping[str, str] = attrs.field(factory=dict)
    verify: bool = True
    retry_config: RetryConfig = attrs.field(factory=RetryConfig)
    circuit_breaker: CircuitBreakerConfig | None = None
    sampling_limits: SamplingLimits | None = None
    heartbeat_interval: float = HEARTBEAT_INTERVAL_S
    user_metadata: Mapping[str, str] = attrs.field(factory=dict)
    tags: tuple[str, ...] = ()
    project_id: str | None = None
    display_name: str | None = None

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        default_headers: Mapping[str, str] | None = None,
        verify: bool = True,
        retry_config: RetryConfig | None = None,
        circuit_breaker: CircuitBreakerConfig | None = None,
        sampling_limits: SamplingLimits | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL_S,
        user_metadata: Mapping[str, str] | None = None,
        project_id: str | None = None,
        display_name: str | None = None,
    ) -> ClientOptions:
        """Arguments first, then the environment, then the defaults."""
        __tracebackhide__ = True  # pytest: this frame's arguments hold the API key
        secret = resolve_api_key(api_key)
        del api_key
        if user_metadata is not None and not isinstance(user_metadata, Mapping):
            raise ValidationError("user_metadata", "expected a dict of strings")
        if default_headers is not None and not isinstance(default_headers, Mapping):
            raise ValidationError("default_headers", "expected a dict of strings")
        if project_id is not None and not isinstance(project_id, str):
            raise ValidationError("project_id", f"expected a string, got {project_id!r}")
        if display_name is not None and not isinstance(display_name, str):
            raise ValidationError("display_name", f"expected a string, got {display_name!r}")
        return cls(
            api_key=secret,
            base_url=resolve_base_url(base_url),
            timeout=resolve_timeout(timeout),
            headers=dict(default_headers or {}),
            verify=verify,
            retry_config=retry_config or RetryConfig(),
            circuit_breaker=circuit_breaker,
            sampling_limits=sampling_limits,
            heartbeat_interval=heartbeat_interval,
            user_metadata=dict(user_metadata or {}),
            tags=env_tags(),
            project_id=project_id or os.environ.get("TINKER_PROJECT_ID") or None,
            display_name=display_name,
        )

    def __repr__(self) -> str:  # never the key, nor header values (they may hold secrets)
        return f"ClientOptions(base_url={self.base_url!r}, headers={sorted(self.headers)})"
