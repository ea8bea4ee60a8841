"""Torch CPU threads: the engine's sampling and training step at each thread count (1 up to the
machine's cores), to choose `--threads`' default on this machine. One worker process per thread
count and round, the counts interleaved round by round (same background load for each)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from _backend import _Engine, _engine_batch
from _common import MODEL, Sizes, log, tokens


def threads_worker(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    import warnings

    import torch

    from tinker_local.engine import Sampler

    warnings.filterwarnings("ignore")
    n = int(spec["threads"])
    torch.set_num_threads(n)
    prompt = tokens(sizes.gen_prompt_tokens, 256, 7)
    sampler, engine = Sampler(MODEL), _Engine()
    data = _engine_batch(sizes.step_batch, sizes.step_seq)

    def sample(i: int) -> float:
        t0 = time.perf_counter()
        out = sampler.sample(prompt, sizes.gen_num_samples, sizes.gen_max_tokens, seed=i)
        return sum(len(s.tokens) for s in out.sequences) / (time.perf_counter() - t0)

    sample(-1)  # warm-up
    engine.steps(data, sizes.step_warmup)
    rates = [sample(i) for i in range(sizes.gen_block)]
    steps = engine.steps(data, sizes.step_block)
    log(
        f"  threads={n}: {statistics.median(rates):.0f} tokens/s, "
        f"step {1000 * statistics.median(steps):.1f} ms"
    )
    return {
        "threads": n,
        "sample_tokens_per_s": statistics.median(rates),
        "step_ms": 1000 * statistics.median(steps),
    }
