"""What the fault injector injects (`FaultSettings`), apart from the injector itself (faults.py):
ServerConfig validates its fault_* fields with it, and faults.py acts on it, so neither of those
two modules imports the other."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

ENV_VAR = "TINKER_LOCAL_FAULTS"
STATUS_KINDS = ("500", "502", "503", "429", "408")
KINDS = (*STATUS_KINDS, "drop_before", "drop_after", "slow")
_API_PREFIX = "/api/v1/"


class FaultFields(Protocol):
    """The ServerConfig fields that configure fault injection."""

    fault_rate: float
    fault_kinds: str
    fault_seed: int
    fault_paths: str
    fault_delay_s: float
    fault_retry_after_s: float
    fault_limit: int


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _normalise_path(path: str) -> str:
    path = path.strip()
    if not path.startswith("/"):
        path = _API_PREFIX + path
    return path.rstrip("/") or "/"


@dataclass(frozen=True)
class FaultSettings:
    """What to inject. `rate` 0 (the default) injects nothing."""

    rate: float = 0.0
    kinds: tuple[str, ...] = KINDS
    seed: int = 0
    paths: tuple[str, ...] = ()  # paths or path prefixes; empty: every path
    delay_s: float = 1.0
    retry_after_s: float = 1.0
    limit: int = 0  # stop after this many faults; 0: no limit

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault_rate: expected a fraction in [0, 1], got {self.rate}")
        if not self.kinds:
            raise ValueError("fault_kinds: expected at least one kind")
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"fault_kinds: unknown kind(s) {unknown}; known: {', '.join(KINDS)}")
        if self.delay_s < 0 or self.retry_after_s < 0:
            raise ValueError("fault_delay_s / fault_retry_after_s: expected seconds >= 0")
        if self.limit < 0:
            raise ValueError(f"fault_limit: expected >= 0, got {self.limit}")
        object.__setattr__(self, "paths", tuple(_normalise_path(p) for p in self.paths))

    @property
    def active(self) -> bool:
        return self.rate > 0.0

    @classmethod
    def from_config(cls, config: FaultFields) -> FaultSettings:
        """From the ServerConfig fault_* fields; when fault_rate is 0, from $TINKER_LOCAL_FAULTS."""
        if config.fault_rate <= 0 and os.environ.get(ENV_VAR, "").strip():
            return cls.parse(os.environ[ENV_VAR])
        return cls.from_fields(config)

    @classmethod
    def from_fields(cls, config: FaultFields) -> FaultSettings:
        """From the ServerConfig fault_* fields only (raises ValueError on bad values)."""
        return cls(
            rate=config.fault_rate,
            kinds=_split(config.fault_kinds) or KINDS,
            seed=config.fault_seed,
            paths=_split(config.fault_paths),
            delay_s=config.fault_delay_s,
            retry_after_s=config.fault_retry_after_s,
            limit=config.fault_limit,
        )

    @classmethod
    def parse(cls, text: str) -> FaultSettings:
        """`rate=0.2;kinds=503,drop_after;seed=1;paths=forward_backward;delay=0.5;
        retry_after=0.1;limit=10` (every item optional)."""
        names: dict[str, tuple[str, Callable[[str], Any]]] = {
            "rate": ("rate", float),
            "kinds": ("kinds", _split),
            "seed": ("seed", int),
            "paths": ("paths", _split),
            "delay": ("delay_s", float),
            "delay_s": ("delay_s", float),
            "retry_after": ("retry_after_s", float),
            "retry_after_s": ("retry_after_s", float),
            "limit": ("limit", int),
        }
        values: dict[str, Any] = {}
        for item in text.split(";"):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            if not sep or key not in names:
                raise ValueError(
                    f"{ENV_VAR}: expected key=value items separated by ';' with keys "
                    f"{', '.join(sorted(names))}; got {item.strip()!r}"
                )
            field, convert = names[key]
            try:
                values[field] = convert(value.strip())
            except ValueError:
                raise ValueError(f"{ENV_VAR}: bad value for {key}: {value.strip()!r}") from None
        if "kinds" in values and not values["kinds"]:
            del values["kinds"]
        return cls(**values)

    def describe(self) -> str:
        where = ", ".join(self.paths) if self.paths else "all paths"
        limit = f", at most {self.limit}" if self.limit else ""
        return (
            f"rate {self.rate:g} of {where}; kinds {', '.join(self.kinds)}; seed {self.seed}; "
            f"delay {self.delay_s:g}s; Retry-After {self.retry_after_s:g}s{limit}"
        )


__all__ = ["ENV_VAR", "KINDS", "STATUS_KINDS", "FaultFields", "FaultSettings"]
