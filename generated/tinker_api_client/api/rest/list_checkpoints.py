from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.checkpoints_list_response import CheckpointsListResponse
from ...models.error_response import ErrorResponse
from ...types import Response


def _get_kwargs(
    training_run_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/training_runs/{training_run_id}/checkpoints".format(
            training_run_id=quote(str(training_run_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CheckpointsListResponse | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = CheckpointsListResponse.from_dict(response.json())

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
) -> Response[CheckpointsListResponse | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    training_run_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[CheckpointsListResponse | ErrorResponse]:
    """Lists the checkpoints (training and sampler) of a training run.

    Args:
        training_run_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CheckpointsListResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        training_run_id=training_run_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    training_run_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> CheckpointsListResponse | ErrorResponse | None:
    """Lists the checkpoints (training and sampler) of a training run.

    Args:
        training_run_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CheckpointsListResponse | ErrorResponse
    """

    return sync_detailed(
        training_run_id=training_run_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    training_run_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[CheckpointsListResponse | ErrorResponse]:
    """Lists the checkpoints (training and sampler) of a training run.

    Args:
        training_run_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CheckpointsListResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        training_run_id=training_run_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    training_run_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> CheckpointsListResponse | ErrorResponse | None:
    """Lists the checkpoints (training and sampler) of a training run.

    Args:
        training_run_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CheckpointsListResponse | ErrorResponse
    """

    return (
        await asyncio_detailed(
            training_run_id=training_run_id,
            client=client,
        )
    ).parsed
