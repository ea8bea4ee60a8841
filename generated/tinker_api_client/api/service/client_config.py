from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.client_config_request import ClientConfigRequest
from ...models.client_config_response import ClientConfigResponse
from ...models.error_response import ErrorResponse
from ...types import Response


def _get_kwargs(
    *,
    body: ClientConfigRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/client/config",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ClientConfigResponse | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = ClientConfigResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 415:
        response_415 = ErrorResponse.from_dict(response.json())

        return response_415

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ClientConfigResponse | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ClientConfigRequest,
) -> Response[ClientConfigResponse | ErrorResponse]:
    """The feature flags this server supports, fetched once by a new client (SDK 0.18+).

     Every flag the server answers is one it really honours: protobuf forward_backward bodies
    (optionally zstd-compressed) and results, JWT authentication when the server runs with
    `--jwt`, batched `retrieve_futures` polling, and model creation through `load_weights`.
    Server-side custom losses are not supported (`custom_loss_server_side: false`).

    Args:
        body (ClientConfigRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClientConfigResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: ClientConfigRequest,
) -> ClientConfigResponse | ErrorResponse | None:
    """The feature flags this server supports, fetched once by a new client (SDK 0.18+).

     Every flag the server answers is one it really honours: protobuf forward_backward bodies
    (optionally zstd-compressed) and results, JWT authentication when the server runs with
    `--jwt`, batched `retrieve_futures` polling, and model creation through `load_weights`.
    Server-side custom losses are not supported (`custom_loss_server_side: false`).

    Args:
        body (ClientConfigRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClientConfigResponse | ErrorResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ClientConfigRequest,
) -> Response[ClientConfigResponse | ErrorResponse]:
    """The feature flags this server supports, fetched once by a new client (SDK 0.18+).

     Every flag the server answers is one it really honours: protobuf forward_backward bodies
    (optionally zstd-compressed) and results, JWT authentication when the server runs with
    `--jwt`, batched `retrieve_futures` polling, and model creation through `load_weights`.
    Server-side custom losses are not supported (`custom_loss_server_side: false`).

    Args:
        body (ClientConfigRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClientConfigResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ClientConfigRequest,
) -> ClientConfigResponse | ErrorResponse | None:
    """The feature flags this server supports, fetched once by a new client (SDK 0.18+).

     Every flag the server answers is one it really honours: protobuf forward_backward bodies
    (optionally zstd-compressed) and results, JWT authentication when the server runs with
    `--jwt`, batched `retrieve_futures` polling, and model creation through `load_weights`.
    Server-side custom losses are not supported (`custom_loss_server_side: false`).

    Args:
        body (ClientConfigRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClientConfigResponse | ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
