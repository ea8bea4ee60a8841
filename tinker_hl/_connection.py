"""Connection: the HTTP client (generated client over the aiohttp transport) of one
ServiceClient, opened and closed on its event loop."""

from __future__ import annotations

from tinker_api_client import AuthenticatedClient

from ._http import make_client
from ._options import ClientOptions


class Connection:
    """Opened by `open()` (in the loop that will use it: aiohttp binds to it), closed by
    `aclose()` in that same loop."""

    def __init__(self, options: ClientOptions) -> None:
        self._options = options
        self._client: AuthenticatedClient | None = None

    def __repr__(self) -> str:  # never the key
        return f"Connection({getattr(self, '_options', None)!r})"

    def open(self) -> AuthenticatedClient:
        if self._client is None:
            options = self._options
            self._client = make_client(
                options.base_url,
                options.api_key,
                timeout=options.timeout,
                max_connections=max(options.retry_config.max_connections, 100),
                headers=dict(options.headers),
                verify=options.verify,
            )
        return self._client

    @property
    def client(self) -> AuthenticatedClient:
        if self._client is None:
            raise RuntimeError("the HTTP client is not started yet")
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.get_async_httpx_client().aclose()
