"""Fair shared compute: users and their lanes take turns; a long job hands the turn on between
bounded slices; queued work of an ended session is cancelled. Assertions are on the order of
events, never on wall-clock time."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest

from tinker_local.server.futures import FutureRegistry
from tinker_local.server.scheduler import FairScheduler, JobCancelled

LONG_SLICES = 30


def _start(scheduler: FairScheduler, user: str, lane: str, fn: Any) -> threading.Thread:
    ticket = scheduler.enqueue(user, lane)
    thread = threading.Thread(target=scheduler.run, args=(ticket, fn))
    thread.start()
    thread.ticket = ticket  # type: ignore[attr-defined]
    return thread


def _until(condition: Any) -> None:
    """Wait (on other threads' progress, not on a clock) until `condition()` holds."""
    event = threading.Event()
    for _ in range(10_000):
        if condition():
            return
        event.wait(0.001)
    raise AssertionError("condition never held")


def test_a_long_job_delays_another_users_short_job_by_at_most_one_slice() -> None:
    scheduler = FairScheduler()
    log: list[str] = []
    threads: list[threading.Thread] = []

    def short() -> None:
        log.append("B")

    def long() -> None:
        for i in range(LONG_SLICES):
            log.append(f"A{i}")
            if i == 3:  # another user's short job arrives while the long one runs
                log.append("B-arrives")
                threads.append(_start(scheduler, "user-b", "model-b", short))
                _until(lambda: threads[-1].ticket.waiting)  # type: ignore[attr-defined]
            scheduler.yield_turn()

    threads.append(_start(scheduler, "user-a", "model-a", long))
    while len(threads) < 2 or any(t.is_alive() for t in threads):
        for t in list(threads):
            t.join(timeout=5)
    arrived = log.index("B-arrives")
    # The long job finishes its current slice (A3), then B runs: at most one slice later.
    assert log[arrived + 1 : arrived + 2] == ["B"], log
    assert log[-1] == f"A{LONG_SLICES - 1}"


def test_users_take_turns_and_a_users_lanes_take_turns() -> None:
    scheduler = FairScheduler()
    log: list[str] = []
    gate = threading.Event()

    def holder() -> None:
        gate.wait(5)  # holds the turn until every other job is queued and waiting

    def job(name: str) -> Any:
        return lambda: log.append(name)

    first = _start(scheduler, "user-0", "hold", holder)
    jobs = [("user-a", "a1", "A1-1"), ("user-a", "a1", "A1-2"), ("user-a", "a2", "A2-1")]
    jobs += [("user-b", "b1", "B1-1"), ("user-b", "b1", "B1-2")]
    started = [_start(scheduler, u, lane, job(name)) for u, lane, name in jobs]
    _until(lambda: all(t.ticket.waiting for t in started))  # type: ignore[attr-defined]
    gate.set()
    for t in [first, *started]:
        t.join(timeout=10)
    # Round-robin over users (a, b, a, b, ...), and over user a's lanes (a1, a2, a1).
    assert log == ["A1-1", "B1-1", "A2-1", "B1-2", "A1-2"], log


def test_jobs_of_one_lane_run_in_order_even_when_the_first_yields() -> None:
    scheduler = FairScheduler()
    log: list[str] = []

    def first() -> None:
        log.append("1-start")
        scheduler.yield_turn()
        log.append("1-end")

    a = _start(scheduler, "u", "m", first)
    b = _start(scheduler, "u", "m", lambda: log.append("2"))
    a.join(timeout=5)
    b.join(timeout=5)
    assert log == ["1-start", "1-end", "2"]


def test_cancelled_jobs_never_run() -> None:
    scheduler = FairScheduler()
    gate = threading.Event()
    ran: list[str] = []
    errors: list[BaseException] = []

    def queued() -> None:
        ran.append("queued")

    def run_catching(ticket: Any) -> None:
        try:
            scheduler.run(ticket, queued)
        except JobCancelled as e:
            errors.append(e)

    holder = _start(scheduler, "other", "x", lambda: gate.wait(5))
    tickets = [scheduler.enqueue("u", "session-model") for _ in range(3)]
    threads = [threading.Thread(target=run_catching, args=(t,)) for t in tickets]
    for t in threads:
        t.start()
    assert scheduler.cancel_lane("session-model", "the session ended") == 3
    gate.set()
    for t in [holder, *threads]:
        t.join(timeout=5)
    assert ran == [] and [str(e) for e in errors] == ["the session ended"] * 3


async def test_cancel_queue_fails_the_queued_requests_of_a_model(registry: FutureRegistry) -> None:
    entered, gate = threading.Event(), threading.Event()
    log: list[str] = []

    def blocking() -> dict[str, Any]:
        entered.set()
        gate.wait(5)
        return {"ok": 1}

    def never() -> dict[str, Any]:
        log.append("ran")
        return {}

    running = registry.submit(user="u", request_type="t", fn=blocking, queue="m")
    queued = [registry.submit(user="u", request_type="t", fn=never, queue="m") for _ in range(3)]
    assert await asyncio.to_thread(entered.wait, 5)
    assert registry.cancel_queue("m", "session s ended; its queued work was cancelled") == 3
    late = registry.submit(user="u", request_type="t", fn=never, queue="m")
    gate.set()
    assert await registry.wait(running, 5) and running.result == {"ok": 1}
    for r in [*queued, late]:
        assert await registry.wait(r, 5)
        assert r.category == "user" and "session s ended" in (r.error or "")
    assert log == []


def test_large_forward_backward_runs_in_slices_that_add_up() -> None:
    from tinker_local.server.compute import TorchCompute, WireDatum, _slices

    whole, sliced = TorchCompute(threads=1), TorchCompute(threads=1, slice_tokens=24)
    rng = np.random.default_rng(0)
    data = []
    for n in (5, 9, 3, 12, 7):
        tokens = rng.integers(0, 256, n + 1).tolist()
        inputs = {"target_tokens": np.array(tokens[1:]), "weights": np.ones(n, np.float32)}
        data.append(WireDatum(tokens=tokens[:-1], loss_fn_inputs=inputs))
    assert len(_slices(data, 24)) > 2
    from tinker_local.server.compute import LoraArgs

    results = []
    for compute in (whole, sliced):
        trainer = compute.new_trainer("local/tiny-llama", LoraArgs(rank=4, seed=3))
        compute.forward(trainer, data, "cross_entropy", None, backward=True)  # grads: nonzero B
        compute.optim_step(trainer, {"learning_rate": 1e-2})
        outputs, metrics = compute.forward(trainer, data, "cross_entropy", None, backward=True)
        grads = {k: p.grad.clone() for k, p in trainer.parameters().items()}
        results.append((outputs, metrics, grads))
    (o1, m1, g1), (o2, m2, g2) = results
    assert m1["num_tokens:sum"] == m2["num_tokens:sum"] == 36
    assert m1["loss:sum"] == pytest.approx(m2["loss:sum"], rel=1e-5)
    for a, b in zip(o1, o2, strict=True):
        assert a["logprobs"] == pytest.approx(b["logprobs"], abs=1e-5)
    for k in g1:
        assert g1[k].numpy() == pytest.approx(g2[k].numpy(), abs=1e-5)


def test_training_is_not_queued_behind_another_users_long_sampling() -> None:
    import tinker_hl as tinker
    from tinker_hl import types
    from tinker_local.launcher import serve_local
    from tinker_local.server.config import user_id_for_key

    key_a, key_b = "tml-fair-user-a", "tml-fair-user-b"
    with serve_local(api_keys=[key_a, key_b], threads=1) as server:
        a = tinker.ServiceClient(api_key=key_a, base_url=server.url)
        b = tinker.ServiceClient(api_key=key_b, base_url=server.url)
        try:
            training = b.create_lora_training_client("local/tiny-llama", rank=2, seed=0)
            sampler = a.create_sampling_client(base_model="local/tiny-llama")
            trace = server.backend.registry.scheduler.trace  # type: ignore[union-attr]
            user_a, user_b = user_id_for_key(key_a), user_id_for_key(key_b)
            long = sampler.sample(
                types.ModelInput.from_ints(list(b"a long one")),
                32,
                # Near the context length: long enough that on a loaded machine it is still
                # decoding when the short job arrives (else the test would prove nothing).
                # 32 samples, as a sample stops early at eos (p ~ 1/259 a token here): the
                # job runs until its longest sample ends, which is then near 1000 tokens.
                types.SamplingParams(max_tokens=1000, temperature=1.0, seed=0),
            )
            _until(lambda: sum(u == user_a for u, _ in trace) > 2)  # the long job is decoding
            datum = types.Datum(
                model_input=types.ModelInput.from_ints(list(b"short")),
                loss_fn_inputs={"target_tokens": list(b"hort!")},
            )
            training.forward_backward([datum], "cross_entropy").result()
            still_decoding = not long.done()
            assert len(long.result().sequences) == 32
            events = list(trace)  # read after the long job ended: its later turns are in it
            assert still_decoding  # else the long job ended first, and this proves nothing
            last_b = max(i for i, (u, _) in enumerate(events) if u == user_b)
            # Decoding went on after the short job: it did not wait for the long one to end.
            assert any(u == user_a for u, _ in events[last_b:]), events[-20:]
        finally:
            a.close()
            b.close()
