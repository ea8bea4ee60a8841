"""RL-rollout sampling: many concurrent small sample requests (num_samples=1 each, as RL
recipes send them) through the full stack, against the same requests served one at a time and
against one batched `model.generate` over the same prompts (the limit for batching). A second
anchor: the same requests given to the engine's batch decoder in this process (one thread each,
as the server's jobs), without HTTP: what the full stack adds is the rest."""

from __future__ import annotations

import statistics
import time
from typing import Any

from _common import LOCAL_VOCAB, MODEL, Sizes, device, log, sync, tokens


def _prompts(sizes: Sizes) -> list[list[int]]:
    n, length = sizes.rollout_requests, sizes.gen_prompt_tokens
    return [tokens(length, 256, 100 + i) for i in range(n)]  # byte ids: no special tokens


def rollouts(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    import warnings

    import torch

    import tinker_hl
    from tinker_hl import types
    from tinker_local.engine import build_base_model, get_preset

    warnings.filterwarnings("ignore")
    assert LOCAL_VOCAB >= 256
    preset = get_preset(MODEL)
    prompts = _prompts(sizes)
    max_tokens = sizes.rollout_max_tokens
    service = tinker_hl.ServiceClient(api_key=spec["key"], base_url=spec["url"])
    sampler = service.create_sampling_client(base_model=MODEL).result()

    def params(i: int) -> Any:
        return types.SamplingParams(max_tokens=max_tokens, temperature=1.0, seed=i)

    def concurrent() -> tuple[int, float]:
        t0 = time.perf_counter()
        futures = [
            sampler.sample(types.ModelInput.from_ints(p), 1, params(i))
            for i, p in enumerate(prompts)
        ]
        count = sum(len(f.result().sequences[0].tokens) for f in futures)
        return count, time.perf_counter() - t0

    def one_at_a_time(n: int) -> tuple[int, float]:
        t0 = time.perf_counter()
        count = 0
        for i, p in enumerate(prompts[:n]):
            out = sampler.sample(types.ModelInput.from_ints(p), 1, params(i)).result()
            count += len(out.sequences[0].tokens)
        return count, time.perf_counter() - t0

    def engine() -> tuple[int, float]:
        import threading

        from tinker_local.engine import Sampler

        local = Sampler(MODEL)
        outs: list[Any] = [None] * len(prompts)

        def one(i: int) -> None:
            outs[i] = local.sample(prompts[i], 1, max_tokens=max_tokens, temperature=1.0, seed=i)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(prompts))]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        return sum(len(o.sequences[0].tokens) for o in outs), elapsed

    model = build_base_model(MODEL)
    # All prompts have the same length: no padding needed.
    input_ids = torch.tensor(prompts, device=device())

    def generate() -> tuple[int, float]:
        torch.manual_seed(0)
        t0 = time.perf_counter()
        with torch.no_grad():
            out = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                do_sample=True,
                temperature=1.0,
                top_k=0,
                top_p=1.0,
                max_new_tokens=max_tokens,
                eos_token_id=preset.eos_token_id,
                pad_token_id=preset.pad_token_id,
            )
        sync()
        elapsed = time.perf_counter() - t0
        count = 0
        for row in out[:, input_ids.shape[1] :].tolist():
            eos = preset.eos_token_id
            count += row.index(eos) + 1 if eos in row else len(row)
        return count, elapsed

    rates: dict[str, list[float]] = {
        "concurrent": [],
        "one_at_a_time": [],
        "engine": [],
        "generate": [],
    }
    counts: dict[str, int] = {}
    try:
        concurrent()  # warm-up (threads, decoder, allocations)
        engine()
        generate()
        for r in range(sizes.rollout_rounds):
            log(f"  rollouts round {r + 1}/{sizes.rollout_rounds}")
            for name, run in (
                ("concurrent", concurrent),
                ("one_at_a_time", lambda: one_at_a_time(sizes.rollout_serial_requests)),
                ("engine", engine),
                ("generate", generate),
            ):
                count, seconds = run()
                counts[name] = count
                rates[name].append(count / seconds)
    finally:
        service.close()
    return {
        name: {
            "tokens_per_s": max(values),  # the least disturbed round
            "tokens_per_s_median": statistics.median(values),
            "tokens_last_round": counts[name],
        }
        for name, values in rates.items()
    } | {
        "requests": len(prompts),
        "max_tokens": max_tokens,
        "serial_requests": sizes.rollout_serial_requests,
    }
