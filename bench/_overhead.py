"""Client-overhead workers: each runs in a fresh process (`run.py --worker NAME`), drives one
client against a compute="none" backend in another process, and reports its own CPU and wall
time.

CPU is `time.process_time()`: every thread of this process (the SDKs' background event loops
included), nothing of the server's.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _common import LOCAL_VOCAB, MODEL, Sizes, log, settled, sft_rows, tokens


class Meter:
    """CPU and wall time of a block."""

    def __enter__(self) -> Meter:
        gc.collect()
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = time.process_time() - self.cpu0
        self.wall = time.perf_counter() - self.wall0


async def drive(n: int, concurrency: int, call: Callable[[], Awaitable[Any]]) -> None:
    """`n` calls with at most `concurrency` in flight."""
    todo = iter(range(n))

    async def lane() -> None:
        for _ in todo:
            await call()

    await asyncio.gather(*(lane() for _ in range(min(concurrency, n))))


def sample_result(meter: Meter, n: int) -> dict[str, Any]:
    return {
        "calls": n,
        "cpu_s": meter.cpu,
        "wall_s": meter.wall,
        "cpu_ms_per_call": 1e3 * meter.cpu / n,
        "wall_ms_per_call": 1e3 * meter.wall / n,
        "calls_per_s": n / meter.wall,
    }


# ----- (a) sampling ------------------------------------------------------------------------
async def _timed_samples(sizes: Sizes, call: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    await drive(sizes.sample_warmup, sizes.sample_concurrency, call)
    with Meter() as m:
        await drive(sizes.sample_calls, sizes.sample_concurrency, call)
    return sample_result(m, sizes.sample_calls)


def _check_sample(response: Any, max_tokens: int) -> None:
    seqs = response.sequences
    if len(seqs) != 1 or len(seqs[0].tokens) != max_tokens:
        raise RuntimeError(f"unexpected sample response: {response!r}")


def sample_tinker_hl(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    import tinker_hl
    from tinker_hl import types

    with tinker_hl.ServiceClient(api_key=spec["key"], base_url=spec["url"]) as service:
        sampler = service.create_sampling_client(base_model=MODEL).result()
        prompt = types.ModelInput.from_ints(tokens(sizes.sample_prompt_tokens, LOCAL_VOCAB, 1))
        params = types.SamplingParams(max_tokens=sizes.sample_max_tokens)

        async def call() -> None:
            response = await sampler.sample_async(
                prompt=prompt, num_samples=1, sampling_params=params
            )
            _check_sample(response, sizes.sample_max_tokens)

        return asyncio.run(_timed_samples(sizes, call))


def _official_service(spec: dict[str, Any], aiohttp: bool) -> Any:
    import tinker

    kwargs: dict[str, Any] = {}
    if aiohttp:
        # tinker 0.7.0 does not re-export it at the top level.
        from tinker._base_client import DefaultAioHttpClient

        kwargs["http_client"] = DefaultAioHttpClient()
    return tinker.ServiceClient(api_key=spec["key"], base_url=spec["url"], **kwargs)


def sample_official(spec: dict[str, Any], sizes: Sizes, aiohttp: bool = False) -> dict[str, Any]:
    from tinker import types

    service = _official_service(spec, aiohttp)
    sampler = service.create_sampling_client(base_model=MODEL)
    prompt = types.ModelInput.from_ints(tokens(sizes.sample_prompt_tokens, LOCAL_VOCAB, 1))
    params = types.SamplingParams(max_tokens=sizes.sample_max_tokens)

    async def call() -> None:
        response = await sampler.sample_async(prompt=prompt, num_samples=1, sampling_params=params)
        _check_sample(response, sizes.sample_max_tokens)

    return asyncio.run(_timed_samples(sizes, call))


def sample_official_aiohttp(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    return sample_official(spec, sizes, aiohttp=True)


def sample_official_038(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """The official SDK 0.38.0 (run with its install first on PYTHONPATH), as its users call
    it: its default transport, factories that return futures, `await sampler.sample(...)`."""
    import tinker
    from tinker import types

    service = tinker.ServiceClient(api_key=spec["key"], base_url=spec["url"])
    if not tinker.__version__.startswith("0.38"):
        raise RuntimeError(f"expected the official SDK 0.38, imported {tinker.__version__}")
    sampler = service.create_sampling_client(base_model=MODEL).result()
    prompt = types.ModelInput.from_ints(tokens(sizes.sample_prompt_tokens, LOCAL_VOCAB, 1))
    params = types.SamplingParams(max_tokens=sizes.sample_max_tokens)

    async def call() -> None:
        response = await sampler.sample(prompt=prompt, num_samples=1, sampling_params=params)
        _check_sample(response, sizes.sample_max_tokens)

    return asyncio.run(_timed_samples(sizes, call))


class Bare:
    """The practical floor: aiohttp + orjson doing only the protocol's HTTP requests."""

    def __init__(self, url: str, key: str) -> None:
        import aiohttp

        self.url = url.rstrip("/") + "/api/v1/"
        self.session = aiohttp.ClientSession(
            headers={"X-API-Key": key, "Content-Type": "application/json"},
            connector=aiohttp.TCPConnector(limit=100),
        )

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        import orjson

        async with self.session.post(self.url + path, data=orjson.dumps(body)) as response:
            return response.status, orjson.loads(await response.read())

    async def call(self, path: str, body: dict[str, Any]) -> Any:
        status, data = await self.post(path, body)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status}: {data}")
        return data

    async def result(self, request_id: str) -> Any:
        """Poll retrieve_future until the request has an outcome."""
        while True:
            status, data = await self.post("retrieve_future", {"request_id": request_id})
            if status == 408 or (status == 200 and data.get("type") == "try_again"):
                continue
            if status != 200 or ("error" in data and "category" in data):
                raise RuntimeError(f"request {request_id} failed: HTTP {status}: {data}")
            return data

    async def submit(self, path: str, body: dict[str, Any]) -> Any:
        return (await self.call(path, body))["request_id"]

    async def create_session(self) -> str:
        body = {"tags": [], "user_metadata": {}, "sdk_version": "bench-bare"}
        return str((await self.call("create_session", body))["session_id"])

    async def close(self) -> None:
        await self.session.close()


def sample_bare_aiohttp(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        bare = Bare(spec["url"], spec["key"])
        try:
            session_id = await bare.create_session()
            created = await bare.call(
                "create_sampling_session",
                {"session_id": session_id, "sampling_session_seq_id": 0, "base_model": MODEL},
            )
            sampling_session_id = created["sampling_session_id"]
            prompt = tokens(sizes.sample_prompt_tokens, LOCAL_VOCAB, 1)
            seq = itertools.count(1)

            async def call() -> None:
                body = {
                    "prompt": {"chunks": [{"tokens": prompt, "type": "encoded_text"}]},
                    "num_samples": 1,
                    "sampling_params": {"max_tokens": sizes.sample_max_tokens},
                    "sampling_session_id": sampling_session_id,
                    "seq_id": next(seq),
                }
                result = await bare.result(await bare.submit("asample", body))
                if len(result["sequences"][0]["tokens"]) != sizes.sample_max_tokens:
                    raise RuntimeError(f"unexpected sample response: {result}")

            return await _timed_samples(sizes, call)
        finally:
            await bare.close()

    return asyncio.run(main())


# ----- (b) pipelined training --------------------------------------------------------------
def train_result(meter: Meter, pairs: int) -> dict[str, Any]:
    return {
        "pairs": pairs,
        "cpu_s": meter.cpu,
        "wall_s": meter.wall,
        "cpu_ms_per_pair": 1e3 * meter.cpu / pairs,
        "wall_ms_per_pair": 1e3 * meter.wall / pairs,
    }


def _sdk_train(tinker_module: Any, service: Any, sizes: Sizes) -> dict[str, Any]:
    """The same loop for tinker_hl and the official SDK (same public API)."""
    types = tinker_module.types
    training = settled(service.create_lora_training_client(MODEL, rank=8, seed=0))
    rows = sft_rows(sizes.train_batch, sizes.train_seq, LOCAL_VOCAB, seed=2)
    data = [
        types.Datum(
            model_input=types.ModelInput.from_ints(r["tokens"]),
            loss_fn_inputs={"target_tokens": r["targets"], "weights": r["weights"]},
        )
        for r in rows
    ]
    adam = types.AdamParams(learning_rate=1e-4)

    def pairs(n: int) -> None:
        futures = []
        for _ in range(n):
            futures.append(training.forward_backward(data, "cross_entropy"))
            futures.append(training.optim_step(adam))
        for future in futures:
            future.result()

    pairs(3)
    with Meter() as m:
        pairs(sizes.train_pairs)
    return train_result(m, sizes.train_pairs)


def train_tinker_hl(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    import tinker_hl

    with tinker_hl.ServiceClient(api_key=spec["key"], base_url=spec["url"]) as service:
        return _sdk_train(tinker_hl, service, sizes)


def train_official(spec: dict[str, Any], sizes: Sizes, aiohttp: bool = False) -> dict[str, Any]:
    import tinker

    return _sdk_train(tinker, _official_service(spec, aiohttp), sizes)


def train_official_aiohttp(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    return train_official(spec, sizes, aiohttp=True)


def bare_datum(row: dict[str, list[Any]]) -> dict[str, Any]:
    n = len(row["tokens"])
    return {
        "model_input": {"chunks": [{"tokens": row["tokens"], "type": "encoded_text"}]},
        "loss_fn_inputs": {
            "target_tokens": {"data": row["targets"], "dtype": "int64", "shape": [n]},
            "weights": {"data": row["weights"], "dtype": "float32", "shape": [n]},
        },
    }


def train_bare_aiohttp(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        bare = Bare(spec["url"], spec["key"])
        try:
            session_id = await bare.create_session()
            request_id = await bare.submit(
                "create_model",
                {
                    "session_id": session_id,
                    "model_seq_id": 0,
                    "base_model": MODEL,
                    "lora_config": {"rank": 8, "seed": 0},
                },
            )
            model_id = (await bare.result(request_id))["model_id"]
            rows = sft_rows(sizes.train_batch, sizes.train_seq, LOCAL_VOCAB, seed=2)
            data = [bare_datum(r) for r in rows]
            seq = itertools.count(1)

            async def pairs(n: int) -> None:
                # Submissions go out in order (the server runs them in seq_id order); results
                # are collected concurrently.
                polls = []
                for _ in range(n):
                    fb = {
                        "forward_backward_input": {"data": data, "loss_fn": "cross_entropy"},
                        "model_id": model_id,
                        "seq_id": next(seq),
                    }
                    polls.append(
                        asyncio.ensure_future(
                            bare.result(await bare.submit("forward_backward", fb))
                        )
                    )
                    step = {
                        "adam_params": {"learning_rate": 1e-4},
                        "model_id": model_id,
                        "seq_id": next(seq),
                    }
                    polls.append(
                        asyncio.ensure_future(bare.result(await bare.submit("optim_step", step)))
                    )
                await asyncio.gather(*polls)

            await pairs(3)
            with Meter() as m:
                await pairs(sizes.train_pairs)
            return train_result(m, sizes.train_pairs)
        finally:
            await bare.close()

    return asyncio.run(main())


# ----- scaling: client CPU of one forward_backward (encode + submit + result) ---------------
def scaling_client(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """CPU per forward_backward (Datums built from lists, sent, result decoded) over a grid."""
    client = spec["client"]
    if client == "tinker_hl":
        import tinker_hl as sdk

        service: Any = sdk.ServiceClient(api_key=spec["key"], base_url=spec["url"])
    else:
        import tinker as sdk  # type: ignore[no-redef]

        service = _official_service(spec, aiohttp=client == "official_aiohttp")
    types = sdk.types
    training = settled(service.create_lora_training_client(MODEL, rank=8, seed=0))
    points = []
    for batch, seq in spec["grid"]:
        rows = sft_rows(batch, seq, LOCAL_VOCAB, seed=batch * 7919 + seq)
        samples = []
        for repeat in range(sizes.scaling_client_repeats + 1):
            with Meter() as m:
                data = [
                    types.Datum(
                        model_input=types.ModelInput.from_ints(r["tokens"]),
                        loss_fn_inputs={"target_tokens": r["targets"], "weights": r["weights"]},
                    )
                    for r in rows
                ]
                training.forward_backward(data, "cross_entropy").result()
            if repeat:  # the first is a warm-up
                samples.append(m.cpu)
        samples.sort()
        points.append({"batch": batch, "seq": seq, "cpu_ms": 1e3 * samples[len(samples) // 2]})
        log(f"    {client} B={batch} L={seq}: {points[-1]['cpu_ms']:.2f} ms CPU")
    return {"points": points}
