"""Asynchronous requests: records, per-model ordering by seq_id, fair compute turns, long-poll.

Every submitting endpoint creates a `RequestRecord` and returns its id at once. The work itself
(a plain blocking function) runs in a worker thread that computes only while it holds the
compute turn (`scheduler.FairScheduler`: users and their models take turns, long jobs hand the
turn on between bounded slices), so torch never runs two jobs at once and the event loop stays
free to answer polls.

Ordering: each model has a queue. Requests carrying a `seq_id` run strictly in seq order (seq N
waits for N-1; after `seq_gap_timeout_s` without N-1 the queue moves on and logs). Requests
without a seq_id run in arrival order, interleaved by arrival with the seq'd ones that are ready.
A seq id rejected at submission is marked consumed so the queue does not stall on it. A queue
hands its next job to the compute thread as soon as it is known (the moment its request arrives,
or while the job before it still runs), so consecutive jobs follow each other without a round
trip through the event loop; they still run one at a time.

Idempotency: a submission carrying an idempotency key (e.g. (model_id, seq_id)) that was seen
before returns the existing record; nothing is executed twice.

Retention: a finished record is dropped once it was delivered at least once and `result_ttl_s`
has passed since that delivery (so a client whose poll connection dropped can poll again), or
after `undelivered_ttl_s` if nobody ever fetched it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .conditions import scrub_paths, storage_condition
from .errors import is_user_error
from .scheduler import FairScheduler

log = logging.getLogger(__name__)

JobFn = Callable[[], dict[str, Any]]


@dataclass
class RequestRecord:
    request_id: str
    user: str
    model_id: str | None
    request_type: str
    created_at: float
    done: asyncio.Event = field(default_factory=asyncio.Event)
    result: dict[str, Any] | None = None
    error: str | None = None
    category: str | None = None
    finished_at: float | None = None
    delivered_at: float | None = None
    idem_key: Hashable | None = None

    def complete(self, result: dict[str, Any]) -> None:
        self.result = result
        self.finished_at = time.time()
        self.done.set()

    def fail(self, message: str, category: str) -> None:
        self.error, self.category = message, category
        self.finished_at = time.time()
        self.done.set()

    def outcome(self) -> dict[str, Any]:
        """The retrieve_future body of a finished request: the result or RequestFailedResponse."""
        if self.result is not None:
            return self.result
        return {"error": self.error or "request failed", "category": self.category or "unknown"}


@dataclass
class _Job:
    arrival: int
    record: RequestRecord
    fn: JobFn
    lane: str | None = None  # the scheduler lane: its model's queue, else the request itself


# Worker threads: one per job in flight (see FutureRegistry.start).
JOB_THREADS = 512
# The scheduler's user for the server's own blocking work (run_blocking).
SERVER_USER = "__server__"

# Jobs of one queue in the compute thread's hands at once: the running one and the next one, so
# that back-to-back requests (forward_backward, then optim_step) follow each other in the compute
# thread without a round trip through the event loop. They still run one at a time, in order.
_DISPATCH_AHEAD = 2


class _ModelQueue:
    """Runs one model's jobs one at a time, in seq order / arrival order."""

    def __init__(self, registry: FutureRegistry, name: str, first_seq: int) -> None:
        self.registry = registry
        self.name = name
        self.next_seq = first_seq
        self.pending: dict[int, _Job] = {}
        self.fifo: deque[_Job] = deque()
        self.consumed: set[int] = set()
        # Handed to the compute thread (oldest first), not yet settled.
        self.dispatched: deque[tuple[_Job, asyncio.Future[dict[str, Any]]]] = deque()
        self.closed = False
        self.closed_reason: str | None = None
        self.wake = asyncio.Event()
        self.gap_since: float | None = None
        self.gap_seq: int | None = None
        self.task: asyncio.Task[None] | None = None

    def add(self, job: _Job, seq_id: int | None) -> None:
        job.lane = self.name
        if seq_id is None:
            self.fifo.append(job)
        elif seq_id >= self.next_seq and seq_id not in self.pending:
            self.consumed.discard(seq_id)
            self.pending[seq_id] = job
        else:
            log.warning(
                "%s: seq_id %s arrived after the queue moved past it (next is %s); "
                "running it in arrival order",
                self.name,
                seq_id,
                self.next_seq,
            )
            self.fifo.append(job)
        self._feed()

    def consume(self, seq_id: int) -> None:
        if seq_id >= self.next_seq and seq_id not in self.pending:
            self.consumed.add(seq_id)
            self._feed()

    def _pick(self) -> _Job | None:
        while self.next_seq in self.consumed:
            self.consumed.discard(self.next_seq)
            self.next_seq += 1
        ready = self.pending.get(self.next_seq)
        head = self.fifo[0] if self.fifo else None
        if ready is not None and (head is None or ready.arrival < head.arrival):
            del self.pending[self.next_seq]
            self.next_seq += 1
            return ready
        if head is not None:
            return self.fifo.popleft()
        return None

    def _feed(self) -> None:
        """Hand the next jobs in order to the compute thread (up to `_DISPATCH_AHEAD` in its
        hands); when the queue is idle but waiting for a seq_id, let `run` time the gap."""
        while not self.closed and len(self.dispatched) < _DISPATCH_AHEAD:
            job = self._pick()
            if job is None:
                break
            future = self.registry.dispatch(job)
            self.dispatched.append((job, future))
            future.add_done_callback(self._on_done)
        if not self.dispatched and self.pending:
            self.wake.set()

    def _on_done(self, _: asyncio.Future[dict[str, Any]]) -> None:
        while self.dispatched and self.dispatched[0][1].done():
            job, future = self.dispatched.popleft()
            self.registry.settle(job.record, future)
        self._feed()

    def cancel_waiting(self, reason: str) -> list[_Job]:
        """Take the jobs not yet handed to the compute threads off the queue (and return them);
        later submissions are refused the same way."""
        self.closed_reason = reason
        jobs = [*self.pending.values(), *self.fifo]
        self.pending.clear()
        self.fifo.clear()
        return jobs

    def abort(self) -> None:
        """Shutdown: take no more jobs; dispatched ones that did not finish fail."""
        self.closed = True
        while self.dispatched:
            job, future = self.dispatched.popleft()
            future.cancel()
            self.registry.settle(job.record, future)

    async def run(self) -> None:
        """Times a missing seq_id: after `seq_gap_timeout_s` the queue moves on (and logs)."""
        while True:
            self._feed()
            timeout: float | None = None
            if not self.dispatched and self.pending:
                now = time.monotonic()
                if self.gap_since is None or self.gap_seq != self.next_seq:
                    self.gap_since, self.gap_seq = now, self.next_seq
                remaining = self.gap_since + self.registry.seq_gap_timeout_s - now
                if remaining <= 0:
                    skip_to = min(self.pending)
                    log.warning(
                        "%s: seq_id %s never arrived within %.0f s; continuing with seq_id %s",
                        self.name,
                        self.next_seq,
                        self.registry.seq_gap_timeout_s,
                        skip_to,
                    )
                    self.next_seq = skip_to
                    continue
                timeout = remaining
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)


class FutureRegistry:
    """All in-flight and recently finished requests of the server."""

    def __init__(
        self,
        *,
        result_ttl_s: float = 600.0,
        undelivered_ttl_s: float = 24 * 3600.0,
        seq_gap_timeout_s: float = 120.0,
    ) -> None:
        self.result_ttl_s = result_ttl_s
        self.undelivered_ttl_s = undelivered_ttl_s
        self.seq_gap_timeout_s = seq_gap_timeout_s
        self._records: dict[str, RequestRecord] = {}
        self._by_key: dict[Hashable, RequestRecord] = {}
        self._queues: dict[str, _ModelQueue] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._arrivals = itertools.count()
        self._executor: ThreadPoolExecutor | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.scheduler = FairScheduler()

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        # One thread per job in flight (most of them wait for their turn or for the batch
        # decoder): enough for a few hundred concurrent sampling requests to batch together.
        self._executor = ThreadPoolExecutor(
            max_workers=JOB_THREADS, thread_name_prefix="tinker-compute"
        )
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        tasks = [*self._tasks, *(q.task for q in self._queues.values() if q.task)]
        if self._sweeper is not None:
            tasks.append(self._sweeper)
        for task in tasks:
            task.cancel()
        for queue in self._queues.values():
            queue.abort()
        self.scheduler.cancel_all("the server shut down before the request started")
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    async def run_blocking(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` in the compute thread (outside any queue) and return its result."""
        assert self._executor is not None, "registry not started"
        ticket = self.scheduler.enqueue(SERVER_USER, f"blocking-{next(self._arrivals)}")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self.scheduler.run, ticket, fn
        )

    # -- submission --------------------------------------------------------------------------
    def find(self, idem_key: Hashable) -> RequestRecord | None:
        return self._by_key.get(idem_key)

    def open_queue(self, name: str, first_seq: int = 1) -> None:
        if name not in self._queues:
            queue = _ModelQueue(self, name, first_seq)
            queue.task = asyncio.create_task(queue.run(), name=f"queue-{name}")
            self._queues[name] = queue

    def has_queue(self, name: str) -> bool:
        return name in self._queues

    def submit(
        self,
        *,
        user: str,
        request_type: str,
        fn: JobFn,
        model_id: str | None = None,
        queue: str | None = None,
        seq_id: int | None = None,
        idem_key: Hashable | None = None,
    ) -> RequestRecord:
        """Register a request and schedule `fn`; a known idem_key returns the earlier record."""
        if idem_key is not None and (existing := self._by_key.get(idem_key)) is not None:
            return existing
        record = self._new_record(user, request_type, model_id, idem_key)
        job = _Job(next(self._arrivals), record, fn)
        if queue is None:
            task = asyncio.create_task(self.execute(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self.open_queue(queue)
            model_queue = self._queues[queue]
            if model_queue.closed_reason is not None:
                record.fail(model_queue.closed_reason, "user")
                return record
            model_queue.add(job, seq_id)
        return record

    def cancel_queue(self, name: str, reason: str) -> int:
        """Cancel a model's queued work (its session finished or expired): requests that have
        not started fail with `reason`, later ones too; the one running finishes. Returns how
        many were cancelled."""
        self.open_queue(name)
        queue = self._queues[name]
        waiting = queue.cancel_waiting(reason)
        for job in waiting:
            job.record.fail(reason, "user")
        return len(waiting) + self.scheduler.cancel_lane(name, reason)

    def fail_now(
        self,
        *,
        user: str,
        request_type: str,
        message: str,
        category: str = "user",
        model_id: str | None = None,
        idem_key: Hashable | None = None,
    ) -> RequestRecord:
        """A request that fails without running (its future answers the failure at once)."""
        if idem_key is not None and (existing := self._by_key.get(idem_key)) is not None:
            return existing
        record = self._new_record(user, request_type, model_id, idem_key)
        record.fail(message, category)
        return record

    def _new_record(
        self, user: str, request_type: str, model_id: str | None, idem_key: Hashable | None
    ) -> RequestRecord:
        record = RequestRecord(
            request_id=f"req-{uuid.uuid4().hex}",
            user=user,
            model_id=model_id,
            request_type=request_type,
            created_at=time.time(),
            idem_key=idem_key,
        )
        self._records[record.request_id] = record
        if idem_key is not None:
            self._by_key[idem_key] = record
        return record

    def consume_seq(self, queue: str, seq_id: int) -> None:
        """A seq id that will never run (rejected at submission): let the queue move past it."""
        if queue in self._queues:
            self._queues[queue].consume(seq_id)

    def dispatch(self, job: _Job) -> asyncio.Future[dict[str, Any]]:
        """Queue `job.fn` in the compute thread now; the future has its result."""
        loop = asyncio.get_running_loop()
        if self._executor is None:
            future: asyncio.Future[dict[str, Any]] = loop.create_future()
            future.set_exception(RuntimeError("the server is shutting down"))
            return future
        ticket = self.scheduler.enqueue(job.record.user, job.lane or job.record.request_id)
        return loop.run_in_executor(self._executor, self.scheduler.run, ticket, job.fn)

    def settle(self, record: RequestRecord, future: asyncio.Future[dict[str, Any]]) -> None:
        """Record the outcome of a finished (or cancelled: shutdown) dispatched job."""
        if record.done.is_set():
            return
        if future.cancelled() or not future.done():
            record.fail("the server shut down before the request finished", "server")
            return
        error = future.exception()
        if error is None:
            record.complete(future.result())
        elif is_user_error(error):
            record.fail(scrub_paths(str(error)), "user")
        elif (condition := storage_condition(error)) is not None:
            log.warning("%s %s failed: %s", record.request_type, record.request_id, error)
            record.fail(condition, "server")
        else:
            log.error(
                "%s %s failed",
                record.request_type,
                record.request_id,
                exc_info=(type(error), error, error.__traceback__),
            )
            message = scrub_paths(f"{type(error).__name__}: {error}")
            record.fail(f"internal server error: {message}", "server")

    async def execute(self, job: _Job) -> None:
        """Run a job outside any queue (as soon as the compute thread is free)."""
        future = self.dispatch(job)
        try:
            await asyncio.wait([future])
        except asyncio.CancelledError:
            future.cancel()
            self.settle(job.record, future)
            raise
        self.settle(job.record, future)

    # -- retrieval ---------------------------------------------------------------------------
    def get(self, request_id: str, user: str) -> RequestRecord | None:
        record = self._records.get(request_id)
        return record if record is not None and record.user == user else None

    async def wait(self, record: RequestRecord, timeout: float) -> bool:
        """Wait up to `timeout` s for the request to finish; True if it has."""
        if not record.done.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):  # (no extra task, unlike wait_for)
                    await record.done.wait()
        if record.done.is_set():
            if record.delivered_at is None:
                record.delivered_at = time.time()
            return True
        return False

    def sweep(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        drop = [
            r
            for r in self._records.values()
            if r.finished_at is not None
            and (
                (r.delivered_at is not None and now - r.delivered_at >= self.result_ttl_s)
                or (r.delivered_at is None and now - r.finished_at >= self.undelivered_ttl_s)
            )
        ]
        for r in drop:
            del self._records[r.request_id]
            if r.idem_key is not None and self._by_key.get(r.idem_key) is r:
                del self._by_key[r.idem_key]
        return len(drop)

    async def _sweep_forever(self) -> None:
        period = max(1.0, min(30.0, self.result_ttl_s / 2))
        while True:
            await asyncio.sleep(period)
            self.sweep()

    def __len__(self) -> int:
        return len(self._records)
