from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cancel_future_request import CancelFutureRequest
from ...models.cancel_future_response import CancelFutureResponse
from ...models.error_response import ErrorResponse
from ...types import Response


def _get_kwargs(
    *,
    body: CancelFutureRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/cancel_future",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CancelFutureResponse | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = CancelFutureResponse.from_dict(response.json())

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
) -> Response[CancelFutureResponse | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CancelFutureRequest,
) -> Response[CancelFutureResponse | ErrorResponse]:
    """Abandons a submitted sampling request (SDK 0.26+).

     A request that has not started yet never runs; one that is running finishes but its
    result is dropped. Either way its future then answers a `RequestFailedResponse`. A
    finished request is left as it is.

    Args:
        body (CancelFutureRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CancelFutureResponse | ErrorResponse]
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
    body: CancelFutureRequest,
) -> CancelFutureResponse | ErrorResponse | None:
    """Abandons a submitted sampling request (SDK 0.26+).

     A request that has not started yet never runs; one that is running finishes but its
    result is dropped. Either way its future then answers a `RequestFailedResponse`. A
    finished request is left as it is.

    Args:
        body (CancelFutureRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CancelFutureResponse | ErrorResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CancelFutureRequest,
) -> Response[CancelFutureResponse | ErrorResponse]:
    """Abandons a submitted sampling request (SDK 0.26+).

     A request that has not started yet never runs; one that is running finishes but its
    result is dropped. Either way its future then answers a `RequestFailedResponse`. A
    finished request is left as it is.

    Args:
        body (CancelFutureRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CancelFutureResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CancelFutureRequest,
) -> CancelFutureResponse | ErrorResponse | None:
    """Abandons a submitted sampling request (SDK 0.26+).

     A request that has not started yet never runs; one that is running finishes but its
    result is dropped. Either way its future then answers a `RequestFailedResponse`. A
    finished request is left as it is.

    Args:
        body (CancelFutureRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CancelFutureResponse | ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
