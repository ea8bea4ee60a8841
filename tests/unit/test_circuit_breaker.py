"""Circuit breakers open after repeated failures, fail fast, and close after a good trial."""

from __future__ import annotations

import time

import pytest

from tinker_hl import CircuitOpenError
from tinker_hl._circuit import CircuitBreaker, CircuitBreakerConfig, CircuitBreakers, CircuitState


def test_opens_after_threshold_and_fails_fast() -> None:
    breaker = CircuitBreaker("asample", failure_threshold=3, cooldown_s=60)
    for _ in range(3):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError, match="asample: circuit open after 3"):
        breaker.before_call()


def test_half_open_trial_closes_or_reopens() -> None:
    breaker = CircuitBreaker("asample", failure_threshold=1, cooldown_s=0.05)
    breaker.before_call()
    breaker.record_failure()
    time.sleep(0.06)
    breaker.before_call()  # the trial call
    assert breaker.state is CircuitState.HALF_OPEN
    with pytest.raises(CircuitOpenError, match="trial"):
        breaker.before_call()  # only one trial at a time
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    time.sleep(0.06)
    breaker.before_call()
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    breaker.before_call()


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker("x", failure_threshold=2)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED


def test_off_by_default_and_never_for_ordered_training_calls() -> None:
    assert CircuitBreakers().for_operation("asample") is None
    breakers = CircuitBreakers(CircuitBreakerConfig(enabled=True))
    assert breakers.for_operation("asample") is not None
    assert breakers.for_operation("forward_backward") is None
    assert breakers.for_operation("optim_step") is None
    opted_in = CircuitBreakers(CircuitBreakerConfig(enabled=True, include_training_calls=True))
    assert opted_in.for_operation("optim_step") is not None


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreakerConfig(failure_threshold=0)
