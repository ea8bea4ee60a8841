from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.futures_retrieve_request import FuturesRetrieveRequest
from ...models.futures_retrieve_response import FuturesRetrieveResponse
from ...types import Response


def _get_kwargs(
    *,
    body: FuturesRetrieveRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/retrieve_futures",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | FuturesRetrieveResponse | None:
    if response.status_code == 200:
        response_200 = FuturesRetrieveResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorResponse.from_dict(response.json())

        return response_404

    if response.status_code == 415:
        response_415 = ErrorResponse.from_dict(response.json())

        return response_415

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | FuturesRetrieveResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FuturesRetrieveRequest,
) -> Response[ErrorResponse | FuturesRetrieveResponse]:
    """Long-polls the completions of a sampling session's requests (SDK 0.27+).

     Answers the requests of the target sampling session that finished since `prev_cursor`,
    in completion order, and a new cursor; waits up to `timeout` seconds (capped by the
    server's long-poll window) when none has. Payloads are then fetched per request with
    `retrieve_future`.

    Args:
        body (FuturesRetrieveRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | FuturesRetrieveResponse]
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
    body: FuturesRetrieveRequest,
) -> ErrorResponse | FuturesRetrieveResponse | None:
    """Long-polls the completions of a sampling session's requests (SDK 0.27+).

     Answers the requests of the target sampling session that finished since `prev_cursor`,
    in completion order, and a new cursor; waits up to `timeout` seconds (capped by the
    server's long-poll window) when none has. Payloads are then fetched per request with
    `retrieve_future`.

    Args:
        body (FuturesRetrieveRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | FuturesRetrieveResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FuturesRetrieveRequest,
) -> Response[ErrorResponse | FuturesRetrieveResponse]:
    """Long-polls the completions of a sampling session's requests (SDK 0.27+).

     Answers the requests of the target sampling session that finished since `prev_cursor`,
    in completion order, and a new cursor; waits up to `timeout` seconds (capped by the
    server's long-poll window) when none has. Payloads are then fetched per request with
    `retrieve_future`.

    Args:
        body (FuturesRetrieveRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | FuturesRetrieveResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: FuturesRetrieveRequest,
) -> ErrorResponse | FuturesRetrieveResponse | None:
    """Long-polls the completions of a sampling session's requests (SDK 0.27+).

     Answers the requests of the target sampling session that finished since `prev_cursor`,
    in completion order, and a new cursor; waits up to `timeout` seconds (capped by the
    server's long-poll window) when none has. Payloads are then fetched per request with
    `retrieve_future`.

    Args:
        body (FuturesRetrieveRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | FuturesRetrieveResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
