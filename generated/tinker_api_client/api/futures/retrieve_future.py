from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_model_response import CreateModelResponse
from ...models.error_response import ErrorResponse
from ...models.forward_backward_output import ForwardBackwardOutput
from ...models.future_retrieve_request import FutureRetrieveRequest
from ...models.load_weights_response import LoadWeightsResponse
from ...models.optim_step_response import OptimStepResponse
from ...models.pending_response import PendingResponse
from ...models.request_failed_response import RequestFailedResponse
from ...models.sample_response import SampleResponse
from ...models.save_weights_for_sampler_response_internal import (
    SaveWeightsForSamplerResponseInternal,
)
from ...models.save_weights_response import SaveWeightsResponse
from ...models.try_again_response import TryAgainResponse
from ...models.unload_model_response import UnloadModelResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: FutureRetrieveRequest,
    x_tinker_request_iteration: str | Unset = UNSET,
    x_tinker_request_type: str | Unset = UNSET,
    x_tinker_create_promise_roundtrip_time: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_tinker_request_iteration, Unset):
        headers["X-Tinker-Request-Iteration"] = x_tinker_request_iteration

    if not isinstance(x_tinker_request_type, Unset):
        headers["X-Tinker-Request-Type"] = x_tinker_request_type

    if not isinstance(x_tinker_create_promise_roundtrip_time, Unset):
        headers["X-Tinker-Create-Promise-Roundtrip-Time"] = (
            x_tinker_create_promise_roundtrip_time
        )

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/retrieve_future",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> (
    CreateModelResponse
    | ForwardBackwardOutput
    | LoadWeightsResponse
    | OptimStepResponse
    | RequestFailedResponse
    | SampleResponse
    | SaveWeightsForSamplerResponseInternal
    | SaveWeightsResponse
    | TryAgainResponse
    | UnloadModelResponse
    | ErrorResponse
    | PendingResponse
    | None
):
    if response.status_code == 200:

        def _parse_response_200(
            data: object,
        ) -> (
            CreateModelResponse
            | ForwardBackwardOutput
            | LoadWeightsResponse
            | OptimStepResponse
            | RequestFailedResponse
            | SampleResponse
            | SaveWeightsForSamplerResponseInternal
            | SaveWeightsResponse
            | TryAgainResponse
            | UnloadModelResponse
        ):
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_future_retrieve_response_type_0 = (
                    TryAgainResponse.from_dict(data)
                )

                return componentsschemas_future_retrieve_response_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_future_retrieve_response_type_1 = (
                    RequestFailedResponse.from_dict(data)
                )

                return componentsschemas_future_retrieve_response_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_future_retrieve_response_type_2 = (
                    ForwardBackwardOutput.from_dict(data)
                )

                return componentsschemas_future_retrieve_response_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_future_retrieve_response_type_3 = (
                    SampleResponse.from_dict(data)
                )

                return componentsschemas_future_retrieve_response_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_future_retrieve_response_type_4 = (
                    CreateModelResponse.from_dict(data)
                )

                return componentsschemas_future_retrieve_response_type_4
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_future_retrieve_response_type_5 = (
                    UnloadModelResponse.from_dict(data)
                )

                return componentsschemas_future_retrieve_response_type_5
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_future_retrieve_response_type_6 = (
                    SaveWeightsForSamplerResponseInternal.from_dict(data)
                )

                return componentsschemas_future_retrieve_response_type_6
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_future_retrieve_response_type_7 = (
                    SaveWeightsResponse.from_dict(data)
                )

                return componentsschemas_future_retrieve_response_type_7
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_future_retrieve_response_type_8 = (
                    LoadWeightsResponse.from_dict(data)
                )

                return componentsschemas_future_retrieve_response_type_8
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_future_retrieve_response_type_9 = (
                OptimStepResponse.from_dict(data)
            )

            return componentsschemas_future_retrieve_response_type_9

        response_200 = _parse_response_200(response.json())

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

    if response.status_code == 408:
        response_408 = PendingResponse.from_dict(response.json())

        return response_408

    if response.status_code == 410:
        response_410 = ErrorResponse.from_dict(response.json())

        return response_410

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
) -> Response[
    CreateModelResponse
    | ForwardBackwardOutput
    | LoadWeightsResponse
    | OptimStepResponse
    | RequestFailedResponse
    | SampleResponse
    | SaveWeightsForSamplerResponseInternal
    | SaveWeightsResponse
    | TryAgainResponse
    | UnloadModelResponse
    | ErrorResponse
    | PendingResponse
]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FutureRetrieveRequest,
    x_tinker_request_iteration: str | Unset = UNSET,
    x_tinker_request_type: str | Unset = UNSET,
    x_tinker_create_promise_roundtrip_time: str | Unset = UNSET,
) -> Response[
    CreateModelResponse
    | ForwardBackwardOutput
    | LoadWeightsResponse
    | OptimStepResponse
    | RequestFailedResponse
    | SampleResponse
    | SaveWeightsForSamplerResponseInternal
    | SaveWeightsResponse
    | TryAgainResponse
    | UnloadModelResponse
    | ErrorResponse
    | PendingResponse
]:
    """Long-polls the result of a submitted request.

     Answers with the typed result once the request has finished, a `TryAgainResponse` while
    it is pending (poll again; `queue_state` says why it waits), or a
    `RequestFailedResponse` when it failed. Clients send `X-Tinker-Request-Iteration`
    (0, 1, ...) and `X-Tinker-Request-Type`; the first poll also carries
    `X-Tinker-Create-Promise-Roundtrip-Time`. A 408 also means "still pending".

    Args:
        x_tinker_request_iteration (str | Unset):
        x_tinker_request_type (str | Unset):
        x_tinker_create_promise_roundtrip_time (str | Unset):
        body (FutureRetrieveRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateModelResponse | ForwardBackwardOutput | LoadWeightsResponse | OptimStepResponse | RequestFailedResponse | SampleResponse | SaveWeightsForSamplerResponseInternal | SaveWeightsResponse | TryAgainResponse | UnloadModelResponse | ErrorResponse | PendingResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        x_tinker_request_iteration=x_tinker_request_iteration,
        x_tinker_request_type=x_tinker_request_type,
        x_tinker_create_promise_roundtrip_time=x_tinker_create_promise_roundtrip_time,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: FutureRetrieveRequest,
    x_tinker_request_iteration: str | Unset = UNSET,
    x_tinker_request_type: str | Unset = UNSET,
    x_tinker_create_promise_roundtrip_time: str | Unset = UNSET,
) -> (
    CreateModelResponse
    | ForwardBackwardOutput
    | LoadWeightsResponse
    | OptimStepResponse
    | RequestFailedResponse
    | SampleResponse
    | SaveWeightsForSamplerResponseInternal
    | SaveWeightsResponse
    | TryAgainResponse
    | UnloadModelResponse
    | ErrorResponse
    | PendingResponse
    | None
):
    """Long-polls the result of a submitted request.

     Answers with the typed result once the request has finished, a `TryAgainResponse` while
    it is pending (poll again; `queue_state` says why it waits), or a
    `RequestFailedResponse` when it failed. Clients send `X-Tinker-Request-Iteration`
    (0, 1, ...) and `X-Tinker-Request-Type`; the first poll also carries
    `X-Tinker-Create-Promise-Roundtrip-Time`. A 408 also means "still pending".

    Args:
        x_tinker_request_iteration (str | Unset):
        x_tinker_request_type (str | Unset):
        x_tinker_create_promise_roundtrip_time (str | Unset):
        body (FutureRetrieveRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateModelResponse | ForwardBackwardOutput | LoadWeightsResponse | OptimStepResponse | RequestFailedResponse | SampleResponse | SaveWeightsForSamplerResponseInternal | SaveWeightsResponse | TryAgainResponse | UnloadModelResponse | ErrorResponse | PendingResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        x_tinker_request_iteration=x_tinker_request_iteration,
        x_tinker_request_type=x_tinker_request_type,
        x_tinker_create_promise_roundtrip_time=x_tinker_create_promise_roundtrip_time,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FutureRetrieveRequest,
    x_tinker_request_iteration: str | Unset = UNSET,
    x_tinker_request_type: str | Unset = UNSET,
    x_tinker_create_promise_roundtrip_time: str | Unset = UNSET,
) -> Response[
    CreateModelResponse
    | ForwardBackwardOutput
    | LoadWeightsResponse
    | OptimStepResponse
    | RequestFailedResponse
    | SampleResponse
    | SaveWeightsForSamplerResponseInternal
    | SaveWeightsResponse
    | TryAgainResponse
    | UnloadModelResponse
    | ErrorResponse
    | PendingResponse
]:
    """Long-polls the result of a submitted request.

     Answers with the typed result once the request has finished, a `TryAgainResponse` while
    it is pending (poll again; `queue_state` says why it waits), or a
    `RequestFailedResponse` when it failed. Clients send `X-Tinker-Request-Iteration`
    (0, 1, ...) and `X-Tinker-Request-Type`; the first poll also carries
    `X-Tinker-Create-Promise-Roundtrip-Time`. A 408 also means "still pending".

    Args:
        x_tinker_request_iteration (str | Unset):
        x_tinker_request_type (str | Unset):
        x_tinker_create_promise_roundtrip_time (str | Unset):
        body (FutureRetrieveRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateModelResponse | ForwardBackwardOutput | LoadWeightsResponse | OptimStepResponse | RequestFailedResponse | SampleResponse | SaveWeightsForSamplerResponseInternal | SaveWeightsResponse | TryAgainResponse | UnloadModelResponse | ErrorResponse | PendingResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        x_tinker_request_iteration=x_tinker_request_iteration,
        x_tinker_request_type=x_tinker_request_type,
        x_tinker_create_promise_roundtrip_time=x_tinker_create_promise_roundtrip_time,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: FutureRetrieveRequest,
    x_tinker_request_iteration: str | Unset = UNSET,
    x_tinker_request_type: str | Unset = UNSET,
    x_tinker_create_promise_roundtrip_time: str | Unset = UNSET,
) -> (
    CreateModelResponse
    | ForwardBackwardOutput
    | LoadWeightsResponse
    | OptimStepResponse
    | RequestFailedResponse
    | SampleResponse
    | SaveWeightsForSamplerResponseInternal
    | SaveWeightsResponse
    | TryAgainResponse
    | UnloadModelResponse
    | ErrorResponse
    | PendingResponse
    | None
):
    """Long-polls the result of a submitted request.

     Answers with the typed result once the request has finished, a `TryAgainResponse` while
    it is pending (poll again; `queue_state` says why it waits), or a
    `RequestFailedResponse` when it failed. Clients send `X-Tinker-Request-Iteration`
    (0, 1, ...) and `X-Tinker-Request-Type`; the first poll also carries
    `X-Tinker-Create-Promise-Roundtrip-Time`. A 408 also means "still pending".

    Args:
        x_tinker_request_iteration (str | Unset):
        x_tinker_request_type (str | Unset):
        x_tinker_create_promise_roundtrip_time (str | Unset):
        body (FutureRetrieveRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateModelResponse | ForwardBackwardOutput | LoadWeightsResponse | OptimStepResponse | RequestFailedResponse | SampleResponse | SaveWeightsForSamplerResponseInternal | SaveWeightsResponse | TryAgainResponse | UnloadModelResponse | ErrorResponse | PendingResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_tinker_request_iteration=x_tinker_request_iteration,
            x_tinker_request_type=x_tinker_request_type,
            x_tinker_create_promise_roundtrip_time=x_tinker_create_promise_roundtrip_time,
        )
    ).parsed
