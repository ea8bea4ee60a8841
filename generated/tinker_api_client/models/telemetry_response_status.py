from typing import Literal

TelemetryResponseStatus = Literal["accepted"]

TELEMETRY_RESPONSE_STATUS_VALUES: set[TelemetryResponseStatus] = {
    "accepted",
}


def check_telemetry_response_status(value: str) -> TelemetryResponseStatus:
    if value in TELEMETRY_RESPONSE_STATUS_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {TELEMETRY_RESPONSE_STATUS_VALUES!r}"
    )
