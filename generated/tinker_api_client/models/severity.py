from typing import Literal

Severity = Literal["CRITICAL", "DEBUG", "ERROR", "INFO", "WARNING"]

SEVERITY_VALUES: set[Severity] = {
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "INFO",
    "WARNING",
}


def check_severity(value: str) -> Severity:
    if value in SEVERITY_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEVERITY_VALUES!r}")
