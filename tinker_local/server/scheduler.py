"""Fair shared compute: one turn at a time, users and their lanes taking turns.

Every job runs in a thread of its own, but only the thread holding the *turn* computes: so
torch never runs two jobs at once (as with a single compute thread), yet a job can hand the
turn on in the middle (`yield_turn`, between slices of bounded size: one decode step, one chunk
of a large forward_backward) or release it while it waits (`released`: a sampling request
waiting for the batch decoder that another request's thread drives).

Order: a *lane* is one model's queue (its jobs run one after another, in dispatch order: only
the head of a lane may take the turn) or one queue-less request. The turn goes round-robin over
the users that have a waiting job, and within a user round-robin over that user's lanes. So a
long job of one user delays another user's short job by at most one slice.

Cancelling: jobs that have not started (a finished or expired session's queued work) can be
cancelled; their thread then raises `JobCancelled` without running anything.

Waking: every ticket waits on a condition of its own (all sharing one lock), woken only when the
turn is handed to it or it is cancelled. With hundreds of concurrent sampling requests, one
shared condition woke every waiting thread at every hand-over, only for all but one to sleep
again: that cost more CPU than the decoding.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from .errors import UserError

T = TypeVar("T")
# Slice events kept for inspection (tests assert on the order in which lanes got the turn).
TRACE_LENGTH = 4096


class JobCancelled(UserError):
    """The job was cancelled before it started (its session ended)."""


@dataclass(eq=False)
class Ticket:
    """One job's place in its lane."""

    user: str
    lane: str
    order: int
    wake: threading.Condition  # on the scheduler's lock: the turn came, or it was cancelled
    waiting: bool = False  # its thread waits for the turn
    started: bool = False
    cancelled: str | None = None  # the reason, once cancelled
    slices: int = 0


@dataclass
class _User:
    # Its lanes, each with its place in the round-robin order: a stamp, renewed when the lane
    # gets the turn (the lowest stamp goes first).
    lanes: dict[str, int] = field(default_factory=dict)
    # Lanes with a ticket waiting for the turn (how many): only these are looked at when the
    # turn is handed on, not every lane (hundreds of sampling requests wait in the decoder).
    waiting: dict[str, int] = field(default_factory=dict)


_local = threading.local()


class FairScheduler:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lanes: dict[str, deque[Ticket]] = {}
        self._users: dict[str, _User] = {}
        self._user_order: deque[str] = deque()
        self._holder: Ticket | None = None
        self._orders = itertools.count()
        self._stamps = itertools.count()
        self.trace: deque[tuple[str, str]] = deque(maxlen=TRACE_LENGTH)  # (user, lane)

    # -- submission (any thread; the event loop calls it in dispatch order) -------------------
    def enqueue(self, user: str, lane: str) -> Ticket:
        ticket = Ticket(user, lane, next(self._orders), threading.Condition(self._lock))
        with self._lock:
            queue = self._lanes.setdefault(lane, deque())
            queue.append(ticket)
            state = self._users.setdefault(user, _User())
            if lane not in state.lanes:
                state.lanes[lane] = next(self._stamps)
            if user not in self._user_order:
                self._user_order.append(user)
        return ticket

    def cancel_lane(self, lane: str, reason: str) -> int:
        """Cancel the lane's jobs that have not started; returns how many."""
        with self._lock:
            count = 0
            for ticket in self._lanes.get(lane, ()):
                if not ticket.started and ticket.cancelled is None:
                    ticket.cancelled = reason
                    ticket.wake.notify()
                    count += 1
            return count

    def cancel_all(self, reason: str) -> None:
        """Shutdown: cancel every job that has not started."""
        with self._lock:
            lanes = list(self._lanes)
        for lane in lanes:
            self.cancel_lane(lane, reason)

    # -- running (the job's own thread) -------------------------------------------------------
    def run(self, ticket: Ticket, fn: Callable[[], T]) -> T:
        """Wait for the ticket's turn, run `fn` holding it, then pass the turn on."""
        previous = getattr(_local, "ticket", None), getattr(_local, "scheduler", None)
        _local.ticket, _local.scheduler = ticket, self
        try:
            self._acquire(ticket, first=True)
            try:
                return fn()
            finally:
                self._release(ticket, finished=True)
        finally:
            _local.ticket, _local.scheduler = previous

    def yield_turn(self) -> None:
        """From inside a job: let whoever is next have one slice, then continue."""
        ticket = self._current()
        with self._lock:
            if self._next_waiting(exclude=ticket) is None:
                ticket.slices += 1
                self.trace.append((ticket.user, ticket.lane))
                return
            # Hand the turn on and queue again in one step: between the two, another job's
            # loop would see nobody waiting and keep the turn for many slices.
            self._set_waiting(ticket, True)
            self._holder = None
            self._grant(exclude=ticket)
        self._acquire(ticket, first=False)

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """From inside a job: give the turn away while waiting for something else."""
        self.release_turn()
        try:
            yield
        finally:
            self.take_turn()

    def release_turn(self) -> None:
        """From inside a job: give the turn away (until `take_turn`; a job may also end
        without taking it again, when what is left of it computes nothing)."""
        self._release(self._current(), finished=False)

    def take_turn(self) -> None:
        """From inside a job that released its turn: wait for the turn again."""
        self._acquire(self._current(), first=False)

    # -- internals ------------------------------------------------------------------------------
    def _current(self) -> Ticket:
        ticket: Ticket | None = getattr(_local, "ticket", None)
        if ticket is None:
            raise RuntimeError("not inside a scheduled job")
        return ticket

    def _eligible(self, ticket: Ticket) -> bool:
        lane = self._lanes.get(ticket.lane)
        runnable = ticket.started or ticket.cancelled is None
        return bool(runnable and ticket.waiting and lane and lane[0] is ticket)

    def _next_waiting(self, exclude: Ticket | None = None) -> Ticket | None:
        """The next ticket by the round-robin order (without moving it)."""
        for user in self._user_order:
            state = self._users[user]
            best: Ticket | None = None
            for lane in state.waiting:
                queue = self._lanes.get(lane)
                head = queue[0] if queue else None
                if (
                    head is not None
                    and head is not exclude
                    and self._eligible(head)
                    and (best is None or state.lanes[lane] < state.lanes[best.lane])
                ):
                    best = head
            if best is not None:
                return best
        return None

    def _set_waiting(self, ticket: Ticket, waiting: bool) -> None:
        if ticket.waiting == waiting:
            return
        ticket.waiting = waiting
        counts = self._users[ticket.user].waiting
        if waiting:
            counts[ticket.lane] = counts.get(ticket.lane, 0) + 1
        elif counts[ticket.lane] == 1:
            del counts[ticket.lane]
        else:
            counts[ticket.lane] -= 1

    def _grant(self, exclude: Ticket | None = None) -> None:
        """Hand the free turn to the next waiting ticket and rotate the round-robin orders."""
        if self._holder is not None:
            return
        ticket = self._next_waiting(exclude)
        if ticket is None:
            return
        self._holder = ticket
        self._user_order.remove(ticket.user)
        self._user_order.append(ticket.user)
        self._users[ticket.user].lanes[ticket.lane] = next(self._stamps)
        ticket.wake.notify()

    def _acquire(self, ticket: Ticket, first: bool) -> None:
        with self._lock:
            self._set_waiting(ticket, True)
            self._grant()
            while self._holder is not ticket:
                if first and ticket.cancelled is not None:
                    self._set_waiting(ticket, False)
                    self._drop(ticket)
                    self._grant()
                    raise JobCancelled(ticket.cancelled)
                ticket.wake.wait()
            if first and ticket.cancelled is not None:  # cancelled as the turn came
                self._set_waiting(ticket, False)
                self._holder = None
                self._drop(ticket)
                self._grant()
                raise JobCancelled(ticket.cancelled)
            self._set_waiting(ticket, False)
            ticket.started = True
            ticket.slices += 1
            self.trace.append((ticket.user, ticket.lane))

    def _release(self, ticket: Ticket, finished: bool) -> None:
        with self._lock:
            if self._holder is ticket:
                self._holder = None
            if finished:
                self._drop(ticket)
            self._grant()

    def _drop(self, ticket: Ticket) -> None:
        """Remove a finished or cancelled ticket (and empty lanes and users)."""
        queue = self._lanes.get(ticket.lane)
        if queue is None:
            return
        with contextlib.suppress(ValueError):
            queue.remove(ticket)
        if not queue:
            del self._lanes[ticket.lane]
            state = self._users.get(ticket.user)
            if state is not None:
                state.lanes.pop(ticket.lane, None)
                if not state.lanes:
                    del self._users[ticket.user]
                    with contextlib.suppress(ValueError):
                        self._user_order.remove(ticket.user)


class JobTurns:
    """The engine's `Turns` protocol for the job running in this thread."""

    def __init__(self, scheduler: FairScheduler) -> None:
        self.scheduler = scheduler

    def yield_turn(self) -> None:
        self.scheduler.yield_turn()

    def released(self) -> contextlib.AbstractContextManager[None]:
        return self.scheduler.released()

    def release_turn(self) -> None:
        self.scheduler.release_turn()

    def take_turn(self) -> None:
        self.scheduler.take_turn()


def current_turns() -> JobTurns | None:
    """How the job running in this thread shares its turn (None outside scheduled jobs)."""
    scheduler = getattr(_local, "scheduler", None)
    return None if scheduler is None else JobTurns(scheduler)
