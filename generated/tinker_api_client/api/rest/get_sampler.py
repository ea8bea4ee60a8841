from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.get_sampler_response import GetSamplerResponse
from ...types import Response


def _get_kwargs(
    sampler_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/samplers/{sampler_id}".format(
            sampler_id=quote(str(sampler_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | GetSamplerResponse | None:
    if response.status_code == 200:
        response_200 = GetSamplerResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorResponse.from_dict(response.json())

        return response_404

    if response.status_code == 503:
        response_503 = ErrorResponse.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | GetSamplerResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    sampler_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorResponse | GetSamplerResponse]:
    """Describes a sampler (sampling session).

    Args:
        sampler_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | GetSamplerResponse]
    """

    kwargs = _get_kwargs(
        sampler_id=sampler_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    sampler_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorResponse | GetSamplerResponse | None:
    """Describes a sampler (sampling session).

    Args:
        sampler_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | GetSamplerResponse
    """

    return sync_detailed(
        sampler_id=sampler_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    sampler_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorResponse | GetSamplerResponse]:
    """Describes a sampler (sampling session).

    Args:
        sampler_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | GetSamplerResponse]
    """

    kwargs = _get_kwargs(
        sampler_id=sampler_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    sampler_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorResponse | GetSamplerResponse | None:
    """Describes a sampler (sampling session).

    Args:
        sampler_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | GetSamplerResponse
    """

    return (
        await asyncio_detailed(
            sampler_id=sampler_id,
            client=client,
        )
    ).parsed
