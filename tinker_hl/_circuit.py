"""Per-endpoint circuit breakers: when an endpoint keeps failing, fail fast instead of piling
up retries, then let one trial call through after a cool-down.

Off by default for the training calls whose order matters (forward, forward_backward,
optim_step, weights): failing one of those fast would leave a gap in the model's sequence.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import Enum

from ._exceptions import CircuitOpenError

ORDERED_TRAINING_OPERATIONS = frozenset(
    {
        "forward",
        "forward_backward",
        "optim_step",
        "save_weights",
        "load_weights",
        "save_weights_for_sampler",
    }
)


class CircuitState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class CircuitBreakerConfig:
    """`enabled=False` (the default) turns every breaker off."""

    enabled: bool = False
    failure_threshold: int = 5
    cooldown_s: float = 30.0
    include_training_calls: bool = False

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold: expected >= 1, got {self.failure_threshold}")
        if self.cooldown_s <= 0:
            raise ValueError(f"cooldown_s: expected seconds > 0, got {self.cooldown_s}")


@dataclass
class CircuitBreaker:
    name: str
    failure_threshold: int = 5
    cooldown_s: float = 30.0
    state: CircuitState = CircuitState.CLOSED
    consecutive_failures: int = 0
    opened_at: float = 0.0
    _trial_in_flight: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def before_call(self) -> None:
        """Raise CircuitOpenError when calls must fail fast."""
        with self._lock:
            if self.state is CircuitState.CLOSED:
                return
            if self.state is CircuitState.OPEN:
                waited = time.monotonic() - self.opened_at
                if waited < self.cooldown_s:
                    raise CircuitOpenError(
                        f"{self.name}: circuit open after {self.consecutive_failures} consecutive "
                        f"failures; failing fast for another {self.cooldown_s - waited:.1f}s"
                    )
                self.state = CircuitState.HALF_OPEN
                self._trial_in_flight = False
            if self._trial_in_flight:
                raise CircuitOpenError(f"{self.name}: circuit half-open, a trial call is running")
            self._trial_in_flight = True

    def record_success(self) -> None:
        with self._lock:
            self.state = CircuitState.CLOSED
            self.consecutive_failures = 0
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self.consecutive_failures += 1
            self._trial_in_flight = False
            if (
                self.state is CircuitState.HALF_OPEN
                or self.consecutive_failures >= self.failure_threshold
            ):
                self.state = CircuitState.OPEN
                self.opened_at = time.monotonic()


class CircuitBreakers:
    """One breaker per operation, created on first use."""

    def __init__(self, config: CircuitBreakerConfig | None = None) -> None:
        self.config = config or CircuitBreakerConfig()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def for_operation(self, operation: str) -> CircuitBreaker | None:
        if not self.config.enabled:
            return None
        if operation in ORDERED_TRAINING_OPERATIONS and not self.config.include_training_calls:
            return None
        with self._lock:
            breaker = self._breakers.get(operation)
            if breaker is None:
                breaker = CircuitBreaker(
                    operation, self.config.failure_threshold, self.config.cooldown_s
                )
                self._breakers[operation] = breaker
            return breaker

    def states(self) -> dict[str, str]:
        with self._lock:
            return {name: b.state.value for name, b in self._breakers.items()}
