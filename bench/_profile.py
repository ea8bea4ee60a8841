"""cProfile of tinker_hl's sample path (caller thread + the client's event-loop thread) and of
its forward_backward encode path. Writes the full listings to the results folder and returns
the top entries (self time) plus self time summed by package."""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
from pathlib import Path
from typing import Any

from _common import LOCAL_VOCAB, MODEL, REAL_VOCAB, Sizes, sft_rows, tokens

TOP = 20


def _package(filename: str) -> str:
    """`.../site-packages/aiohttp/client.py` -> `aiohttp`; stdlib -> `stdlib:asyncio`."""
    parts = Path(filename).parts
    for marker in ("site-packages", "generated", "main"):
        if marker in parts:
            rest = parts[parts.index(marker) + 1 :]
            if rest and rest[0] not in ("bench",):
                return rest[0].removesuffix(".py")
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins"
    stem = [p for p in parts if p.startswith("python3")]
    if stem:
        rest = parts[parts.index(stem[-1]) + 1 :]
        return "stdlib:" + (rest[0].removesuffix(".py") if rest else "?")
    return "other"


# Waiting, not working: excluded from the percentages (reported as `idle_s`).
IDLE = ("select.epoll", "select.select", "_thread.lock", "_queue.SimpleQueue", "time.sleep")


def summarize(stats: pstats.Stats, out: Path, title: str) -> dict[str, Any]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    idle = sum(v[2] for (_f, _l, name), v in raw.items() if any(i in name for i in IDLE))
    total = sum(v[2] for v in raw.values()) - idle
    by_package: dict[str, float] = {}
    rows = []
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in raw.items():
        if any(i in name for i in IDLE):
            continue
        pkg = _package(filename)
        by_package[pkg] = by_package.get(pkg, 0.0) + tottime
        rows.append((tottime, cumtime, ncalls, f"{Path(filename).name}:{line}({name})", pkg))
    rows.sort(reverse=True)
    buffer = io.StringIO()
    stats.stream = buffer  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(60)
    stats.sort_stats("cumulative").print_stats(60)
    out.write_text(f"# {title}\n\n{buffer.getvalue()}")
    return {
        "total_self_s": total,
        "idle_s": idle,
        "top_self": [
            {
                "function": where,
                "package": pkg,
                "self_s": tottime,
                "self_pct": 100 * tottime / total if total else 0.0,
                "cum_s": cumtime,
                "calls": ncalls,
            }
            for tottime, cumtime, ncalls, where, pkg in rows[:TOP]
        ],
        "self_by_package_pct": {
            k: round(100 * v / total, 1)
            for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])
            if total and 100 * v / total >= 0.5
        },
        "listing": out.name,
    }


def profile_sample(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    from _overhead import drive

    import tinker_hl
    from tinker_hl import types

    out = Path(spec["out_dir"])
    with tinker_hl.ServiceClient(api_key=spec["key"], base_url=spec["url"]) as service:
        sampler = service.create_sampling_client(base_model=MODEL).result()
        prompt = types.ModelInput.from_ints(tokens(sizes.sample_prompt_tokens, LOCAL_VOCAB, 1))
        params = types.SamplingParams(max_tokens=sizes.sample_max_tokens)
        loop_thread = service.holder.loop_thread
        main_prof, loop_prof = cProfile.Profile(), cProfile.Profile()

        async def set_loop_profiling(on: bool) -> None:
            # cProfile hooks the calling thread only: switch it on inside the loop thread.
            if on:
                loop_prof.enable()
            else:
                loop_prof.disable()

        async def call() -> None:
            await sampler.sample_async(prompt=prompt, num_samples=1, sampling_params=params)

        async def main() -> None:
            await drive(sizes.sample_warmup, sizes.sample_concurrency, call)
            loop_thread.run(set_loop_profiling(True))
            main_prof.enable()
            await drive(sizes.profile_sample_calls, sizes.sample_concurrency, call)
            main_prof.disable()
            loop_thread.run(set_loop_profiling(False))

        asyncio.run(main())
    stats = pstats.Stats(loop_prof)
    stats.add(main_prof)
    return summarize(stats, out / "profile_sample.txt", "tinker_hl sample_async, both threads")


def profile_encode(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    from _encode import tinker_hl_encoder

    out = Path(spec["out_dir"])
    encode = tinker_hl_encoder()
    rows = sft_rows(sizes.encode_datums, sizes.encode_seq, REAL_VOCAB, seed=3)
    prof = cProfile.Profile()

    async def main() -> None:
        await encode(rows[:2])
        prof.enable()
        await encode(rows)
        prof.disable()

    asyncio.run(main())
    return summarize(
        pstats.Stats(prof), out / "profile_encode.txt", "tinker_hl forward_backward encode"
    )
