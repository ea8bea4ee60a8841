from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.checkpoint_kind import CheckpointKind
from ...models.error_response import ErrorResponse
from ...models.set_checkpoint_ttl_request import SetCheckpointTtlRequest
from ...types import Response


def _get_kwargs(
    training_run_id: str,
    checkpoint_kind: CheckpointKind,
    checkpoint_name: str,
    *,
    body: SetCheckpointTtlRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/training_runs/{training_run_id}/checkpoints/{checkpoint_kind}/{checkpoint_name}/ttl".format(
            training_run_id=quote(str(training_run_id), safe=""),
            checkpoint_kind=quote(str(checkpoint_kind), safe=""),
            checkpoint_name=quote(str(checkpoint_name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ErrorResponse | None:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

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

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    training_run_id: str,
    checkpoint_kind: CheckpointKind,
    checkpoint_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: SetCheckpointTtlRequest,
) -> Response[Any | ErrorResponse]:
    """Sets (or with null removes) a checkpoint's expiry (SDK 0.38).

    Args:
        training_run_id (str):
        checkpoint_kind (CheckpointKind): The first segment of a checkpoint id and of a tinker
            path's checkpoint part.
        checkpoint_name (str):
        body (SetCheckpointTtlRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorResponse]
    """

    kwargs = _get_kwargs(
        training_run_id=training_run_id,
        checkpoint_kind=checkpoint_kind,
        checkpoint_name=checkpoint_name,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    training_run_id: str,
    checkpoint_kind: CheckpointKind,
    checkpoint_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: SetCheckpointTtlRequest,
) -> Any | ErrorResponse | None:
    """Sets (or with null removes) a checkpoint's expiry (SDK 0.38).

    Args:
        training_run_id (str):
        checkpoint_kind (CheckpointKind): The first segment of a checkpoint id and of a tinker
            path's checkpoint part.
        checkpoint_name (str):
        body (SetCheckpointTtlRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorResponse
    """

    return sync_detailed(
        training_run_id=training_run_id,
        checkpoint_kind=checkpoint_kind,
        checkpoint_name=checkpoint_name,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    training_run_id: str,
    checkpoint_kind: CheckpointKind,
    checkpoint_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: SetCheckpointTtlRequest,
) -> Response[Any | ErrorResponse]:
    """Sets (or with null removes) a checkpoint's expiry (SDK 0.38).

    Args:
        training_run_id (str):
        checkpoint_kind (CheckpointKind): The first segment of a checkpoint id and of a tinker
            path's checkpoint part.
        checkpoint_name (str):
        body (SetCheckpointTtlRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorResponse]
    """

    kwargs = _get_kwargs(
        training_run_id=training_run_id,
        checkpoint_kind=checkpoint_kind,
        checkpoint_name=checkpoint_name,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    training_run_id: str,
    checkpoint_kind: CheckpointKind,
    checkpoint_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: SetCheckpointTtlRequest,
) -> Any | ErrorResponse | None:
    """Sets (or with null removes) a checkpoint's expiry (SDK 0.38).

    Args:
        training_run_id (str):
        checkpoint_kind (CheckpointKind): The first segment of a checkpoint id and of a tinker
            path's checkpoint part.
        checkpoint_name (str):
        body (SetCheckpointTtlRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorResponse
    """

    return (
        await asyncio_detailed(
            training_run_id=training_run_id,
            checkpoint_kind=checkpoint_kind,
            checkpoint_name=checkpoint_name,
            client=client,
            body=body,
        )
    ).parsed
