from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.load_weights_request import LoadWeightsRequest
from ...models.untyped_api_future import UntypedAPIFuture
from ...types import Response


def _get_kwargs(
    *,
    body: LoadWeightsRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/load_weights",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | UntypedAPIFuture | None:
    if response.status_code == 200:
        response_200 = UntypedAPIFuture.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = ErrorResponse.from_dict(response.json())

        return response_413

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
) -> Response[ErrorResponse | UntypedAPIFuture]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: LoadWeightsRequest,
) -> Response[ErrorResponse | UntypedAPIFuture]:
    """Loads a training checkpoint, optionally with optimizer state; result is a LoadWeightsResponse.

    Args:
        body (LoadWeightsRequest): With `model_id`: load a checkpoint into that model (a request
            in its order, `seq_id`).
            Without it (SDK 0.30+): create the model `"{session_id}:train:{model_seq_id}"` from the
            checkpoint (its base model and LoRA settings) and load it, as the model's first request.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | UntypedAPIFuture]
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
    body: LoadWeightsRequest,
) -> ErrorResponse | UntypedAPIFuture | None:
    """Loads a training checkpoint, optionally with optimizer state; result is a LoadWeightsResponse.

    Args:
        body (LoadWeightsRequest): With `model_id`: load a checkpoint into that model (a request
            in its order, `seq_id`).
            Without it (SDK 0.30+): create the model `"{session_id}:train:{model_seq_id}"` from the
            checkpoint (its base model and LoRA settings) and load it, as the model's first request.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | UntypedAPIFuture
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: LoadWeightsRequest,
) -> Response[ErrorResponse | UntypedAPIFuture]:
    """Loads a training checkpoint, optionally with optimizer state; result is a LoadWeightsResponse.

    Args:
        body (LoadWeightsRequest): With `model_id`: load a checkpoint into that model (a request
            in its order, `seq_id`).
            Without it (SDK 0.30+): create the model `"{session_id}:train:{model_seq_id}"` from the
            checkpoint (its base model and LoRA settings) and load it, as the model's first request.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | UntypedAPIFuture]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: LoadWeightsRequest,
) -> ErrorResponse | UntypedAPIFuture | None:
    """Loads a training checkpoint, optionally with optimizer state; result is a LoadWeightsResponse.

    Args:
        body (LoadWeightsRequest): With `model_id`: load a checkpoint into that model (a request
            in its order, `seq_id`).
            Without it (SDK 0.30+): create the model `"{session_id}:train:{model_seq_id}"` from the
            checkpoint (its base model and LoRA settings) and load it, as the model's first request.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | UntypedAPIFuture
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
