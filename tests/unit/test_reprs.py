"""`repr()` never raises, and never shows the API key: not on a client whose constructor failed
half-way, nor on the objects that hold the key."""

from __future__ import annotations

import pytest

import tinker_hl as tinker
from tinker_hl._holder import ClientHolder
from tinker_hl._http import make_client
from tinker_hl._rest_client import RestClient
from tinker_hl._secrets import Secret
from tinker_hl._telemetry import Telemetry

KEY = "tml-repr-canary-31337"


@pytest.mark.parametrize(
    "cls",
    [
        tinker.ServiceClient,
        tinker.TrainingClient,
        tinker.SamplingClient,
        RestClient,
        ClientHolder,
        Telemetry,
    ],
)
def test_repr_of_a_half_built_object_does_not_raise(cls: type) -> None:
    assert cls.__name__ in repr(object.__new__(cls))


def test_repr_of_a_service_client_whose_constructor_failed() -> None:
    service = object.__new__(tinker.ServiceClient)
    with pytest.raises(tinker.ValidationError):
        service.__init__(api_key=KEY, base_url="ftp://nowhere")  # type: ignore[misc]
    assert "ServiceClient" in repr(service)
    service.close()  # and closing it is harmless


def test_objects_holding_the_key_never_show_it() -> None:
    secret = Secret(KEY)
    assert KEY not in repr(secret) and KEY not in str(secret) and secret.reveal() == KEY
    client = make_client("http://127.0.0.1:1", secret)
    assert KEY not in repr(client)
    assert KEY not in repr(client.get_async_httpx_client())
    assert KEY not in repr(vars(client.get_async_httpx_client()))
