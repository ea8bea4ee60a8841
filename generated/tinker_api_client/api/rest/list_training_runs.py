from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.access_scope import AccessScope
from ...models.error_response import ErrorResponse
from ...models.training_runs_response import TrainingRunsResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
    access_scope: AccessScope | Unset = UNSET,
    project_id: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["offset"] = offset

    json_access_scope: str | Unset = UNSET
    if not isinstance(access_scope, Unset):
        json_access_scope = access_scope

    params["access_scope"] = json_access_scope

    params["project_id"] = project_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/training_runs",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | TrainingRunsResponse | None:
    if response.status_code == 200:
        response_200 = TrainingRunsResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = ErrorResponse.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | TrainingRunsResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
    access_scope: AccessScope | Unset = UNSET,
    project_id: str | Unset = UNSET,
) -> Response[ErrorResponse | TrainingRunsResponse]:
    """Lists the caller's training runs, newest first.

    Args:
        limit (int | Unset):  Default: 20.
        offset (int | Unset):  Default: 0.
        access_scope (AccessScope | Unset):
        project_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | TrainingRunsResponse]
    """

    kwargs = _get_kwargs(
        limit=limit,
        offset=offset,
        access_scope=access_scope,
        project_id=project_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
    access_scope: AccessScope | Unset = UNSET,
    project_id: str | Unset = UNSET,
) -> ErrorResponse | TrainingRunsResponse | None:
    """Lists the caller's training runs, newest first.

    Args:
        limit (int | Unset):  Default: 20.
        offset (int | Unset):  Default: 0.
        access_scope (AccessScope | Unset):
        project_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | TrainingRunsResponse
    """

    return sync_detailed(
        client=client,
        limit=limit,
        offset=offset,
        access_scope=access_scope,
        project_id=project_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
    access_scope: AccessScope | Unset = UNSET,
    project_id: str | Unset = UNSET,
) -> Response[ErrorResponse | TrainingRunsResponse]:
    """Lists the caller's training runs, newest first.

    Args:
        limit (int | Unset):  Default: 20.
        offset (int | Unset):  Default: 0.
        access_scope (AccessScope | Unset):
        project_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | TrainingRunsResponse]
    """

    kwargs = _get_kwargs(
        limit=limit,
        offset=offset,
        access_scope=access_scope,
        project_id=project_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
    access_scope: AccessScope | Unset = UNSET,
    project_id: str | Unset = UNSET,
) -> ErrorResponse | TrainingRunsResponse | None:
    """Lists the caller's training runs, newest first.

    Args:
        limit (int | Unset):  Default: 20.
        offset (int | Unset):  Default: 0.
        access_scope (AccessScope | Unset):
        project_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | TrainingRunsResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            offset=offset,
            access_scope=access_scope,
            project_id=project_id,
        )
    ).parsed
