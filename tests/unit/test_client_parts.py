"""The parts of a client's plumbing, each through its own narrow interface: options resolved
from arguments and environment, the Sequencer's turn order, the call pipeline's breaker /
metrics / back-pressure / header hook, and the sync/async twins built from one definition."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import httpx
import pytest

from tinker_hl import RetryConfig
from tinker_hl._circuit import CircuitBreakerConfig, CircuitBreakers
from tinker_hl._exceptions import TinkerError, ValidationError, status_error_for
from tinker_hl._loop import EventLoopThread
from tinker_hl._options import DEFAULT_BASE_URL, ClientOptions
from tinker_hl._pipeline import CallPipeline
from tinker_hl._sequencer import Sequencer
from tinker_hl._twins import awaited_twin, blocking, future_twin, on_loop


# ----- options ---------------------------------------------------------------------------------
def test_options_come_from_arguments_before_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TINKER_API_KEY", "tml-env")
    monkeypatch.setenv("TINKER_BASE_URL", "http://env.example:1234/")
    monkeypatch.setenv("TINKER_TAGS", "b,a,b")
    monkeypatch.setenv("TINKER_PROJECT_ID", "proj-env")
    from_env = ClientOptions.resolve()
    assert from_env.api_key.reveal() == "tml-env"
    assert from_env.base_url == "http://env.example:1234"
    assert from_env.tags == ("a", "b")
    assert from_env.project_id == "proj-env"
    given = ClientOptions.resolve(
        api_key="tml-arg", base_url="http://arg.example", timeout=7, project_id="p"
    )
    assert given.api_key.reveal() == "tml-arg" and given.base_url == "http://arg.example"
    assert given.timeout.read == 7.0 and given.project_id == "p"
    assert "tml-arg" not in repr(given)


def test_options_defaults_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TINKER_API_KEY", raising=False)
    monkeypatch.delenv("TINKER_BASE_URL", raising=False)
    with pytest.raises(TinkerError, match="api_key"):
        ClientOptions.resolve()
    assert ClientOptions.resolve(api_key="k").base_url == DEFAULT_BASE_URL
    with pytest.raises(ValidationError, match="timeout"):
        ClientOptions.resolve(api_key="k", timeout=-1)
    with pytest.raises(ValidationError, match="base_url"):
        ClientOptions.resolve(api_key="k", base_url="ftp://x")
    with pytest.raises(ValidationError, match="user_metadata"):
        ClientOptions.resolve(api_key="k", user_metadata=["x"])  # type: ignore[arg-type]
    assert ClientOptions.resolve(api_key="k", timeout=httpx.Timeout(3.0)).timeout.read == 3.0


# ----- sequencer -------------------------------------------------------------------------------
def test_sequencer_sends_in_id_order_whatever_order_the_coroutines_run() -> None:
    sequencer = Sequencer()
    ids = [sequencer.take() for _ in range(4)]
    assert ids == [1, 2, 3, 4]
    sent: list[int] = []

    async def send(seq_id: int) -> None:
        await sequencer.wait_turn(seq_id)
        sent.append(seq_id)
        sequencer.end_turn(seq_id)

    async def main() -> None:
        await asyncio.gather(*(send(i) for i in reversed(ids)))

    asyncio.run(main())
    assert sent == ids
    assert sequencer.turn == 5


# ----- pipeline --------------------------------------------------------------------------------
class Answers:
    """Stands in for the HTTP layer below the pipeline: `_http.call` is replaced."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.headers: list[dict[str, str]] = []

    async def __call__(self, operation: str, endpoint: Any, client: Any, **kw: Any) -> Any:
        prepared = kw.get("prepared")
        self.headers.append(dict(prepared.headers) if prepared is not None else {})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class _Endpoint:
    @staticmethod
    def _get_kwargs(**kwargs: Any) -> dict[str, Any]:
        return {"method": "get", "url": "/x", "headers": {"A": "1"}}


def test_pipeline_counts_trips_the_breaker_and_signals_back_pressure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tinker_hl._pipeline as pipeline_module

    answers = Answers(
        status_error_for("op", 429, {"error": "slow down"}),
        status_error_for("op", 503, {"error": "down"}),
        "ok",
    )
    monkeypatch.setattr(pipeline_module, "call", answers)
    pipeline = CallPipeline(
        lambda: None,  # type: ignore[arg-type,return-value]
        breakers=CircuitBreakers(
            CircuitBreakerConfig(enabled=True, failure_threshold=1, cooldown_s=3600)
        ),
    )

    async def run() -> list[object]:
        out: list[object] = []
        for _ in range(3):
            try:
                out.append(await pipeline.call("asample", _Endpoint()))  # type: ignore[arg-type]
            except Exception as exc:
                out.append(type(exc).__name__)
        return out

    results = asyncio.run(run())
    assert results[0] == "RateLimitError"
    assert pipeline.sampling_limiter.throttled
    assert pipeline.metrics.snapshot()["endpoints"]["asample"]["requests"] >= 2
    assert "open" in pipeline.breakers.states().values()
    # A 429 is not the service failing; the 503 is, and opened it: the third call fails fast.
    assert results[2] == "CircuitOpenError" and answers.answers == ["ok"]


def test_pipeline_header_provider_is_asked_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    import tinker_hl._pipeline as pipeline_module

    answers = Answers("a", "b")
    monkeypatch.setattr(pipeline_module, "call", answers)
    pipeline = CallPipeline(lambda: None)  # type: ignore[arg-type,return-value]
    tokens = iter(["t1", "t2"])
    asked: list[str] = []

    def provider(operation: str) -> dict[str, str]:
        asked.append(operation)
        return {"Authorization": f"Bearer {next(tokens)}"}

    pipeline.header_provider = provider

    async def run() -> None:
        await pipeline.call("op", _Endpoint())  # type: ignore[arg-type]
        await pipeline.call("op2", _Endpoint())  # type: ignore[arg-type]

    asyncio.run(run())
    assert [h["Authorization"] for h in answers.headers] == ["Bearer t1", "Bearer t2"]
    assert asked == ["op", "op2"]  # the provider knows what each call is (auth/token is not)
    assert all(h["A"] == "1" for h in answers.headers)


def test_pipeline_retries_count_in_its_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    import tinker_hl._pipeline as pipeline_module

    answers = Answers(status_error_for("op", 500, {"error": "x"}), "done")
    monkeypatch.setattr(pipeline_module, "call", answers)
    monkeypatch.setattr(pipeline_module, "parsed", lambda op, response, model: response)
    pipeline = CallPipeline(
        lambda: None,  # type: ignore[arg-type,return-value]
        retry_config=RetryConfig(retry_delay_base=0.001, retry_delay_max=0.002),
    )
    result = asyncio.run(pipeline.request("op", _Endpoint(), str))  # type: ignore[arg-type]
    assert result == "done"
    assert pipeline.metrics.snapshot()["endpoints"]["op"]["retries"] == {"http_500": 1}


# ----- twins -----------------------------------------------------------------------------------
class Thing:
    def __init__(self, loop: EventLoopThread) -> None:
        self.loop_thread = loop

    @property
    def _loop(self) -> EventLoopThread:
        return self.loop_thread

    def submit(self, x: int, y: int = 2) -> asyncio.Future[int]:
        """Add two numbers later."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        future.set_result(x + y)
        return future

    submit_async = future_twin(submit)
    submitted_async = awaited_twin(submit)

    async def _compute(self, x: int, *, scale: int = 10) -> tuple[int, bool]:
        """Scale a number on the loop."""
        return x * scale, self.loop_thread.in_loop_thread()

    compute = blocking(_compute)
    compute_async = on_loop(_compute)


def test_twins_keep_signature_and_name_their_original() -> None:
    loop = EventLoopThread()
    try:
        thing = Thing(loop)
        assert thing.compute(3) == (30, True)
        assert inspect.signature(Thing.compute) == inspect.signature(Thing._compute)
        assert inspect.signature(Thing.submit_async) == inspect.signature(Thing.submit)
        assert not inspect.iscoroutinefunction(Thing.compute)
        for twin in (Thing.submit_async, Thing.submitted_async, Thing.compute_async):
            assert inspect.iscoroutinefunction(twin)
        assert Thing.compute.__name__ == "compute"
        assert Thing.compute_async.__name__ == "compute_async"
        assert Thing.submit_async.__qualname__ == "Thing.submit_async"
        assert "`submit`" in (Thing.submit_async.__doc__ or "")
        assert "Scale a number" in (Thing.compute_async.__doc__ or "")

        async def from_another_loop() -> tuple[Any, ...]:
            future = await thing.submit_async(1)
            return (
                await future,
                await thing.submitted_async(1, y=5),
                await thing.compute_async(2, scale=3),
            )

        assert asyncio.run(from_another_loop()) == (3, 6, (6, True))
    finally:
        loop.close()
