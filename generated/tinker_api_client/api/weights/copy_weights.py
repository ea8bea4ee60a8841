from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.copy_weights_request import CopyWeightsRequest
from ...models.copy_weights_response import CopyWeightsResponse
from ...models.error_response import ErrorResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CopyWeightsRequest,
    x_idempotency_key: str | Unset = UNSET,
    x_tinker_weights_access_token: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_idempotency_key, Unset):
        headers["X-Idempotency-Key"] = x_idempotency_key

    if not isinstance(x_tinker_weights_access_token, Unset):
        headers["X-Tinker-Weights-Access-Token"] = x_tinker_weights_access_token

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/copy_weights",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CopyWeightsResponse | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = CopyWeightsResponse.from_dict(response.json())

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

    if response.status_code == 409:
        response_409 = ErrorResponse.from_dict(response.json())

        return response_409

    if response.status_code == 415:
        response_415 = ErrorResponse.from_dict(response.json())

        return response_415

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
) -> Response[CopyWeightsResponse | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CopyWeightsRequest,
    x_idempotency_key: str | Unset = UNSET,
    x_tinker_weights_access_token: str | Unset = UNSET,
) -> Response[CopyWeightsResponse | ErrorResponse]:
    """Copies a readable checkpoint into a new training run (SDK 0.38).

     The copy keeps the source's kind and name and belongs to a new training run that cannot
    be trained on: in the session `session_id` (slot `model_seq_id`) or, without one, in a
    new session of `destination_project_id`. The files are shared (hard links) where the
    file system allows. A repeated `X-Idempotency-Key` answers the first copy again.

    Args:
        x_idempotency_key (str | Unset):
        x_tinker_weights_access_token (str | Unset):
        body (CopyWeightsRequest): A destination project, or a session and its model slot.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CopyWeightsResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        x_idempotency_key=x_idempotency_key,
        x_tinker_weights_access_token=x_tinker_weights_access_token,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: CopyWeightsRequest,
    x_idempotency_key: str | Unset = UNSET,
    x_tinker_weights_access_token: str | Unset = UNSET,
) -> CopyWeightsResponse | ErrorResponse | None:
    """Copies a readable checkpoint into a new training run (SDK 0.38).

     The copy keeps the source's kind and name and belongs to a new training run that cannot
    be trained on: in the session `session_id` (slot `model_seq_id`) or, without one, in a
    new session of `destination_project_id`. The files are shared (hard links) where the
    file system allows. A repeated `X-Idempotency-Key` answers the first copy again.

    Args:
        x_idempotency_key (str | Unset):
        x_tinker_weights_access_token (str | Unset):
        body (CopyWeightsRequest): A destination project, or a session and its model slot.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CopyWeightsResponse | ErrorResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        x_idempotency_key=x_idempotency_key,
        x_tinker_weights_access_token=x_tinker_weights_access_token,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CopyWeightsRequest,
    x_idempotency_key: str | Unset = UNSET,
    x_tinker_weights_access_token: str | Unset = UNSET,
) -> Response[CopyWeightsResponse | ErrorResponse]:
    """Copies a readable checkpoint into a new training run (SDK 0.38).

     The copy keeps the source's kind and name and belongs to a new training run that cannot
    be trained on: in the session `session_id` (slot `model_seq_id`) or, without one, in a
    new session of `destination_project_id`. The files are shared (hard links) where the
    file system allows. A repeated `X-Idempotency-Key` answers the first copy again.

    Args:
        x_idempotency_key (str | Unset):
        x_tinker_weights_access_token (str | Unset):
        body (CopyWeightsRequest): A destination project, or a session and its model slot.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CopyWeightsResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        x_idempotency_key=x_idempotency_key,
        x_tinker_weights_access_token=x_tinker_weights_access_token,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CopyWeightsRequest,
    x_idempotency_key: str | Unset = UNSET,
    x_tinker_weights_access_token: str | Unset = UNSET,
) -> CopyWeightsResponse | ErrorResponse | None:
    """Copies a readable checkpoint into a new training run (SDK 0.38).

     The copy keeps the source's kind and name and belongs to a new training run that cannot
    be trained on: in the session `session_id` (slot `model_seq_id`) or, without one, in a
    new session of `destination_project_id`. The files are shared (hard links) where the
    file system allows. A repeated `X-Idempotency-Key` answers the first copy again.

    Args:
        x_idempotency_key (str | Unset):
        x_tinker_weights_access_token (str | Unset):
        body (CopyWeightsRequest): A destination project, or a session and its model slot.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CopyWeightsResponse | ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_idempotency_key=x_idempotency_key,
            x_tinker_weights_access_token=x_tinker_weights_access_token,
        )
    ).parsed
