from typing import Literal

ClientConfigResponseCredentialDefaultSource = Literal["api_key"]

CLIENT_CONFIG_RESPONSE_CREDENTIAL_DEFAULT_SOURCE_VALUES: set[
    ClientConfigResponseCredentialDefaultSource
] = {
    "api_key",
}


def check_client_config_response_credential_default_source(
    value: str,
) -> ClientConfigResponseCredentialDefaultSource:
    if value in CLIENT_CONFIG_RESPONSE_CREDENTIAL_DEFAULT_SOURCE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CLIENT_CONFIG_RESPONSE_CREDENTIAL_DEFAULT_SOURCE_VALUES!r}"
    )
