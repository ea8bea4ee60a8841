"""Continuous batching: concurrent requests (different prompts, lengths, stop conditions, seeds
and LoRA adapters of one base model) decoded together give the same results as decoding each
request alone."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
import torch

from tinker_local.engine import LoraTrainer, Sampler
from tinker_local.engine.batching import (
    COMPACT_FINISHED_FRACTION,
    BatchDecoder,
    DecodeRequest,
    decoder_for,
)
from tinker_local.engine.models import build_base_model
from tinker_local.engine.token_choice import Sampling
from tinker_local.server.scheduler import FairScheduler, JobTurns

MODEL = "local/tiny-llama"


def _trained(seed: int, text: bytes) -> Sampler:
    import numpy as np

    from tinker_local.engine import DatumArrays

    trainer = LoraTrainer(MODEL, rank=4, seed=seed)
    tokens = list(text)
    datum = DatumArrays(
        tokens=tokens[:-1],
        loss_fn_inputs={"target_tokens": np.array(tokens[1:]), "weights": np.ones(len(tokens) - 1)},
    )
    for _ in range(3):
        trainer.forward([datum], "cross_entropy", backward=True)
        trainer.optim_step(learning_rate=5e-2)
    return Sampler.from_trainer(trainer)


@pytest.fixture(scope="module")
def samplers() -> list[Sampler]:
    return [Sampler(MODEL), _trained(1, b"first adapter text"), _trained(2, b"the second one")]


REQUESTS: list[dict[str, Any]] = [
    {"prompt": [256], "max_tokens": 6, "temperature": 0.0},
    {"prompt": list(b"hello"), "max_tokens": 8, "temperature": 0.0, "num_samples": 2},
    {"prompt": list(b"ab"), "max_tokens": 5, "seed": 11, "num_samples": 3, "top_k": 20},
    {"prompt": list(b"a longer prompt"), "max_tokens": 8, "seed": 7, "top_p": 0.9, "stop": ["e"]},
    {"prompt": list(b"stop"), "max_tokens": 8, "temperature": 0.0, "stop": [101, 32]},
    {"prompt": list(b"zero"), "max_tokens": 0, "include_prompt_logprobs": True},
    {"prompt": list(b"q"), "max_tokens": 4, "seed": 3, "include_prompt_logprobs": True},
]


def _calls(samplers: list[Sampler]) -> list[tuple[Sampler, dict[str, Any]]]:
    # Every request on every sampler: base rows and two different adapters in one batch.
    return [(s, dict(r)) for r in REQUESTS for s in samplers]


def _all_at_once(calls: list[tuple[Sampler, dict[str, Any]]]) -> list[Any]:
    """Run every call in a thread of its own, all joining the decoder's first step."""
    scheduler = FairScheduler()
    turns = JobTurns(scheduler)
    gate = threading.Event()
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        sampler, kwargs = calls[i]
        results[i] = sampler.sample(**kwargs, turns=turns)

    # One job holds the turn until every request waits: then they all join the first batch.
    holder_ticket = scheduler.enqueue("holder", "hold")
    holder = threading.Thread(target=scheduler.run, args=(holder_ticket, lambda: gate.wait(10)))
    holder.start()
    tickets = [scheduler.enqueue(f"user-{i % 3}", f"req-{i}") for i in range(len(calls))]
    threads = [
        threading.Thread(target=scheduler.run, args=(t, lambda i=i: run(i)))
        for i, t in enumerate(tickets)
    ]
    for t in threads:
        t.start()
    for _ in range(10_000):
        if all(t.waiting for t in tickets):
            break
        threading.Event().wait(0.001)
    gate.set()
    for t in [holder, *threads]:
        t.join(timeout=60)
    return results


def test_concurrent_requests_batch_and_equal_one_at_a_time(samplers: list[Sampler]) -> None:
    calls = _calls(samplers)
    alone = [s.sample(**kw) for s, kw in calls]

    decoder = decoder_for(MODEL)
    steps_before = decoder.steps
    results = _all_at_once(calls)

    rows = sum(kw.get("num_samples", 1) for _, kw in calls if kw["max_tokens"] > 0)
    assert decoder.max_rows_seen >= rows // 2  # decoded together, not one after another
    longest = max(kw["max_tokens"] for kw in REQUESTS)
    assert decoder.steps - steps_before <= 2 * longest
    for (sampler, kwargs), one, batched in zip(calls, alone, results, strict=True):
        where = f"{kwargs} on adapter {sampler.adapter_key}"
        assert batched is not None, where
        assert batched.prompt_logprobs == one.prompt_logprobs, where  # prefill runs alone
        for a, b in zip(one.sequences, batched.sequences, strict=True):
            assert a.tokens == b.tokens and a.stop_reason == b.stop_reason, where
            assert a.logprobs == pytest.approx(b.logprobs, abs=1e-5), where


def test_adapters_change_the_samples(samplers: list[Sampler]) -> None:
    # (Otherwise the test above could not tell the adapters apart.)
    kwargs = {"prompt": list(b"hello"), "max_tokens": 8, "temperature": 0.0}
    outs = [s.sample(**kwargs).sequences[0].tokens for s in samplers]
    assert outs[0] != outs[1] and outs[1] != outs[2]


def _decode_together(decoder: BatchDecoder, requests: list[DecodeRequest]) -> None:
    decoder.pending.extend(requests)
    while not all(r.done for r in requests):
        decoder._step()


def test_prompts_of_one_length_are_prefilled_together(samplers: list[Sampler]) -> None:
    # Same-length prompts on the base model and two adapters joining at one step: one prefill
    # forward for all of them (mixed adapters), except a request asking for its prompt
    # logprobs (prefilled alone, like the trainer's forward); results equal decoding alone.
    def requests() -> list[DecodeRequest]:
        out = []
        for i, prompt in enumerate([b"abcdef", b"ghijkl", b"mnopqr", b"stuvwx", b"yzabcd"]):
            sampler = samplers[i % 3]
            out.append(
                DecodeRequest(
                    prompt=list(prompt),
                    num_samples=1 + i % 2,
                    max_new=5,
                    sampling=Sampling(1.0, -1, 1.0, random.Random(i)),
                    is_stop=lambda tokens, token: token == 10,
                    adapter_key=sampler.adapter_key,
                    adapter=sampler._adapter,
                    wants_prompt_logprobs=i == 4,
                )
            )
        return out

    decoder = BatchDecoder(MODEL, build_base_model(MODEL))
    alone = requests()
    for request in alone:
        _decode_together(decoder, [request])
    together = requests()
    before = decoder.prefills
    _decode_together(decoder, together)
    assert decoder.prefills - before == 2
    assert decoder.max_rows_seen == sum(r.num_samples for r in together)
    for one, batched in zip(alone, together, strict=True):
        assert batched.error is None and one.error is None
        assert batched.tokens == one.tokens and batched.stopped == one.stopped
        for a, b in zip(one.logprobs, batched.logprobs, strict=True):
            assert a == pytest.approx(b, abs=1e-5)
    assert torch.equal(together[4].prompt_logprobs, alone[4].prompt_logprobs)


def test_a_burst_of_requests_arriving_apart_joins_one_batch(
    samplers: list[Sampler], monkeypatch: pytest.MonkeyPatch
) -> None:
    # RL recipes send a group of requests within milliseconds: decoding the first ones alone
    # while the rest arrive would cost a step each time. (A wide quiet window keeps a loaded
    # machine's late thread starts inside the burst.)
    import tinker_local.engine.batching as batching

    monkeypatch.setattr(batching, "GATHER_QUIET_S", 0.5)
    monkeypatch.setattr(batching, "GATHER_MAX_S", 10.0)
    decoder = decoder_for(MODEL)
    steps, prefills = decoder.steps, decoder.prefills
    results: list[Any] = [None] * 24
    max_tokens = 12

    def run(i: int) -> None:
        prompt = [97 + i % 20, 98, 99, 100]
        results[i] = samplers[0].sample(prompt, max_tokens=max_tokens, temperature=0.0)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
        threading.Event().wait(0.003)  # arriving apart, as over HTTP
    for t in threads:
        t.join(timeout=60)
    assert all(r is not None for r in results)
    # The first request starts alone (it may be the only one); the rest join together.
    assert decoder.prefills - prefills <= 3
    assert decoder.steps - steps <= max_tokens + 3


def test_a_request_arriving_alone_does_not_wait(
    samplers: list[Sampler], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tinker_local.engine.batching as batching

    monkeypatch.setattr(batching, "GATHER_QUIET_S", 60.0)
    decoder = decoder_for(MODEL)
    waits: list[float | None] = []

    class CountingEvent(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout)
            return super().wait(0)

    monkeypatch.setattr(decoder, "arrived", CountingEvent())
    out = samplers[0].sample(list(b"alone"), max_tokens=4, temperature=0.0)
    assert len(out.sequences[0].tokens) >= 1
    assert waits == []


def test_finished_rows_stay_until_compacted_and_change_no_result(samplers: list[Sampler]) -> None:
    """A row that finishes stays in the batch (its outputs unread) until finished rows are a
    quarter of the batch or a request joins; its request is answered at the step it finished.
    Requests that join meanwhile, and the rows still decoding, get what they get alone."""

    def request(i: int, max_new: int, num_samples: int = 1) -> DecodeRequest:
        sampler = samplers[i % 3]
        return DecodeRequest(
            prompt=list(f"prompt {i}".encode()),
            num_samples=num_samples,
            max_new=max_new,
            sampling=Sampling(1.0 if i % 2 else 0.0, -1, 1.0, random.Random(i)),
            is_stop=lambda tokens, token: False,
            adapter_key=sampler.adapter_key,
            adapter=sampler._adapter,
            wants_prompt_logprobs=False,
        )

    def plan() -> tuple[list[DecodeRequest], DecodeRequest]:
        # 8 long rows and one short one (1 finished row in 9: below the compaction fraction),
        # and a request that joins after the short one has finished.
        return [request(0, 12, num_samples=4), request(1, 12, num_samples=4), request(2, 2)], (
            request(3, 6)
        )

    decoder = BatchDecoder(MODEL, build_base_model(MODEL))
    first, late = plan()
    for r in [*first, late]:
        _decode_together(decoder, [r])
    alone = [*first, late]

    first, late = plan()
    decoder.pending.extend(first)
    seen: list[tuple[int, int]] = []
    while not first[2].done:
        decoder._step()
        seen.append((len(decoder.rows), decoder.finished_rows))
    assert seen[-1] == (9, 1)  # answered, its row still in the batch
    assert not first[0].done and not first[1].done
    decoder.pending.append(late)  # joins: the finished row is dropped as the caches merge
    decoder._step()
    assert (len(decoder.rows), decoder.finished_rows) == (9, 0)
    while not all(r.done for r in [*first, late]):
        decoder._step()
        assert decoder.finished_rows < COMPACT_FINISHED_FRACTION * len(decoder.rows) or (
            not decoder.rows
        )
    for one, batched in zip(alone, [*first, late], strict=True):
        assert batched.error is None and one.error is None
        assert batched.tokens == one.tokens and batched.stopped == one.stopped
        for a, b in zip(one.logprobs, batched.logprobs, strict=True):
            assert a == pytest.approx(b, abs=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_requests_joining_and_leaving_at_random_steps_equal_decoding_alone(
    samplers: list[Sampler], seed: int
) -> None:
    """Continuous batching under a random schedule: requests of random lengths, sample counts,
    stop tokens, seeds and adapters join at random steps while others finish (finished rows
    linger and are compacted); each gets what it gets decoded alone."""
    rng = random.Random(seed)
    plan = []
    for i in range(14):
        stop = rng.randrange(256)
        plan.append(
            dict(
                index=i,
                prompt=[rng.randrange(256) for _ in range(rng.randint(1, 9))],
                num_samples=rng.choice([1, 1, 2, 3]),
                max_new=rng.randint(1, 14),
                temperature=rng.choice([0.0, 0.7, 1.0]),
                stop=stop,
                join_at=rng.randint(0, 12),
            )
        )

    def request(p: dict[str, Any]) -> DecodeRequest:
        sampler = samplers[p["index"] % 3]
        stop = p["stop"]
        return DecodeRequest(
            prompt=list(p["prompt"]),
            num_samples=p["num_samples"],
            max_new=p["max_new"],
            sampling=Sampling(p["temperature"], -1, 1.0, random.Random(p["index"])),
            is_stop=lambda tokens, token: token == stop,
            adapter_key=sampler.adapter_key,
            adapter=sampler._adapter,
            wants_prompt_logprobs=p["index"] % 4 == 0,
        )

    decoder = BatchDecoder(MODEL, build_base_model(MODEL))
    alone = [request(p) for p in plan]
    for r in alone:
        _decode_together(decoder, [r])
    together = [request(p) for p in plan]
    step, lingered, joined_with_finished = 0, 0, 0
    while not all(r.done for r in together):
        joining = [r for p, r in zip(plan, together, strict=True) if p["join_at"] == step]
        joined_with_finished += bool(joining and decoder.finished_rows)
        decoder.pending.extend(joining)
        decoder._step()
        lingered = max(lingered, decoder.finished_rows)
        step += 1
    assert lingered > 0  # finished rows stayed in the batch for a while
    assert joined_with_finished > 0  # and requests joined while they did (compacting them)
    for p, one, batched in zip(plan, alone, together, strict=True):
        assert batched.error is None and one.error is None, p
        assert batched.tokens == one.tokens and batched.stopped == one.stopped, p
        for a, b in zip(one.logprobs, batched.logprobs, strict=True):
            assert a == pytest.approx(b, abs=1e-5), p
