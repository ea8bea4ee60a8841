"""Opt-in run recovery: keep a training run going when the server marks it corrupted or its
training client fails past its retries, by restarting from the latest training checkpoint
(with optimizer state), with bounded attempts and backoff.

    recovery = RunRecovery(service, training_client)
    for batch in batches:
        recovery.run(lambda tc: train_step(tc, batch))   # tc is the current training client
        if step % 10 == 0:
            recovery.client.save_state(f"step-{step}").result()

Every step of a recovery is logged (logger `tinker_hl.recovery`) and sent as a telemetry event.
Steps taken after the last checkpoint are lost by a restart: checkpoint as often as you can
afford to redo work.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from tinker_api_client.models import TrainingRun

from ._errors import is_user_error
from ._exceptions import APIError, RequestFailedError, TinkerError

if TYPE_CHECKING:
    from ._service_client import ServiceClient
    from ._training_client import TrainingClient

T = TypeVar("T")
logger = logging.getLogger("tinker_hl.recovery")


class RecoveryFailedError(TinkerError):
    """The run could not be recovered within the policy's attempts."""


@dataclass(frozen=True)
class RecoveryPolicy:
    max_attempts: int = 3
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    check_corrupted: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts: expected >= 1, got {self.max_attempts}")
        if self.backoff_base_s < 0 or self.backoff_max_s < self.backoff_base_s:
            raise ValueError("backoff_base_s/backoff_max_s: expected 0 <= base <= max")

    def delay(self, attempt: int) -> float:
        return min(self.backoff_max_s, self.backoff_base_s * 2 ** max(0, attempt - 1))


@dataclass
class RecoveryEvent:
    reason: str
    from_model_id: str
    to_model_id: str | None
    checkpoint: str | None
    attempt: int
    at: float = field(default_factory=time.time)


class RunRecovery:
    def __init__(
        self,
        service: ServiceClient,
        training_client: TrainingClient,
        policy: RecoveryPolicy | None = None,
    ) -> None:
        self.service = service
        self.policy = policy or RecoveryPolicy()
        self._client = training_client
        self.history: list[RecoveryEvent] = []
        self._rest = service.create_rest_client()

    @property
    def client(self) -> TrainingClient:
        """The training client to use now (replaced after each recovery)."""
        return self._client

    def training_run(self) -> TrainingRun:
        """The server's view of the current run (its `corrupted` flag, last checkpoint)."""
        return self._rest.get_training_run(self._client.model_id).result()

    def check(self) -> bool:
        """Recover now if the server marks the run corrupted; True when a recovery happened."""
        run = self.training_run()
        if run.corrupted is True:
            self._recover_with_attempts("the server marked the run corrupted")
            return True
        return False

    def run(self, step: Callable[[TrainingClient], T]) -> T:
        """Run `step(current_client)`; on corruption or a non-user failure, recover and rerun."""
        attempt = 0
        while True:
            if self.policy.check_corrupted:
                self.check()
            try:
                return step(self._client)
            except (RequestFailedError, APIError) as exc:
                if is_user_error(exc):
                    raise
                attempt += 1
                if attempt > self.policy.max_attempts:
                    raise RecoveryFailedError(
                        f"step failed {attempt} times; giving up: {exc}"
                    ) from exc
                self._report("step_failed", {"attempt": attempt, "error": type(exc).__name__})
                logger.warning("training step failed (%s); recovering (attempt %d)", exc, attempt)
                time.sleep(self.policy.delay(attempt))
                self._recover(f"step failed: {type(exc).__name__}", attempt)

    def _recover_with_attempts(self, reason: str) -> None:
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                self._recover(reason, attempt)
                return
            except RecoveryFailedError:
                raise
            except (RequestFailedError, APIError) as exc:
                logger.warning("recovery attempt %d failed: %s", attempt, exc)
                if attempt == self.policy.max_attempts:
                    raise RecoveryFailedError(
                        f"could not recover after {attempt} attempts"
                    ) from exc
                time.sleep(self.policy.delay(attempt))

    def _recover(self, reason: str, attempt: int) -> None:
        old = self._client
        run = self.training_run()
        checkpoint = run.last_checkpoint
        path = getattr(checkpoint, "tinker_path", None)
        if not isinstance(path, str):
            self.history.append(RecoveryEvent(reason, old.model_id, None, None, attempt))
            self._report("no_checkpoint", {"reason": reason})
            raise RecoveryFailedError(
                f"run {old.model_id} needs recovery ({reason}) but has no training checkpoint"
            )
        logger.warning("recovering run %s from %s (%s)", old.model_id, path, reason)
        self._report("restarting", {"reason": reason, "attempt": attempt})
        self._client = self.service.create_training_client_from_state_with_optimizer(path)
        self.history.append(
            RecoveryEvent(reason, old.model_id, self._client.model_id, path, attempt)
        )
        self._report("restarted", {"to_model_id": self._client.model_id, "attempt": attempt})
        logger.warning("run %s resumed as %s", old.model_id, self._client.model_id)

    def _report(self, what: str, data: dict[str, Any]) -> None:
        telemetry = self.service.holder.telemetry
        if telemetry is None:
            return
        try:
            telemetry.log(
                f"run_recovery.{what}", {"model_id": self._client.model_id, **data}, "WARNING"
            )
        except Exception:  # telemetry never disturbs training
            logger.debug("telemetry failed", exc_info=True)
