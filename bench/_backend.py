"""Backend-efficiency workers: the same training step / sampling through the full stack
(tinker_hl -> HTTP -> server queue -> LoRA engine, server in another process) and in plain
torch in one process (the limit)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from _common import LOCAL_VOCAB, MODEL, Sizes, device, log, sft_rows, sync, tokens

RANK = 32
LEARNING_RATE = 1e-4


# ----- training step -----------------------------------------------------------------------
def _stack_client(spec: dict[str, Any]) -> tuple[Any, Any]:
    import tinker_hl

    service = tinker_hl.ServiceClient(api_key=spec["key"], base_url=spec["url"])
    training = service.create_lora_training_client(MODEL, rank=RANK, seed=0).result()
    return service, training


def _stack_data(batch: int, seq: int) -> list[Any]:
    from tinker_hl import types

    return [
        types.Datum(
            model_input=types.ModelInput.from_ints(r["tokens"]),
            loss_fn_inputs={"target_tokens": r["targets"], "weights": r["weights"]},
        )
        for r in sft_rows(batch, seq, LOCAL_VOCAB, seed=batch * 7919 + seq)
    ]


def _sequential_steps(training: Any, data: list[Any], n: int) -> list[float]:
    """Wall time of each step when every step waits for both results before the next."""
    from tinker_hl import types

    adam = types.AdamParams(learning_rate=LEARNING_RATE)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fb = training.forward_backward(data, "cross_entropy")
        training.optim_step(adam).result()
        fb.result()
        times.append(time.perf_counter() - t0)
    return times


def _pipelined_rounds(training: Any, data: list[Any], depth: int, rounds: int) -> list[float]:
    """Per-step wall time of `rounds` rounds, each submitting `depth` steps back to back
    (forward_backward, optim_step, forward_backward, ...) before waiting for any result."""
    from tinker_hl import types

    adam = types.AdamParams(learning_rate=LEARNING_RATE)
    per_step = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        futures = []
        for _ in range(depth):
            futures.append(training.forward_backward(data, "cross_entropy"))
            futures.append(training.optim_step(adam))
        for future in futures:
            future.result()
        per_step.append((time.perf_counter() - t0) / depth)
    return per_step


class _Engine:
    """`tinker_local.engine.trainer.LoraTrainer` called directly: the server's own engine with
    no HTTP, queue or serialization (same math, same model, same LoRA)."""

    def __init__(self) -> None:
        from tinker_local.engine import LoraTrainer

        self.trainer = LoraTrainer(MODEL, rank=RANK, seed=0)

    def steps(self, data: list[Any], n: int) -> list[float]:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            self.trainer.forward_backward(data, "cross_entropy")
            self.trainer.optim_step(LEARNING_RATE)
            sync()
            times.append(time.perf_counter() - t0)
        return times


def _engine_batch(batch: int, seq: int) -> list[Any]:
    import numpy as np

    from tinker_local.engine import DatumArrays

    return [
        DatumArrays(
            tokens=r["tokens"],
            loss_fn_inputs={
                "target_tokens": np.asarray(r["targets"], dtype=np.int64),
                "weights": np.asarray(r["weights"], dtype=np.float32),
            },
        )
        for r in sft_rows(batch, seq, LOCAL_VOCAB, seed=batch * 7919 + seq)
    ]


class _PeftLoop:
    """A textbook peft + torch loop: the same base model and LoRA targets, `torch.optim.AdamW`,
    weighted token cross-entropy on one (unpadded) batch tensor."""

    def __init__(self, batch: int, seq: int) -> None:
        import torch
        from peft import LoraConfig, get_peft_model

        from tinker_local.engine.models import LORA_ALPHA, LoraSpec, construct_base_model

        self.torch = torch
        torch.manual_seed(0)
        self.model = get_peft_model(
            construct_base_model(MODEL),
            LoraConfig(
                r=RANK,
                lora_alpha=LORA_ALPHA,
                lora_dropout=0.0,
                target_modules=LoraSpec(MODEL, RANK).target_modules(),
                bias="none",
            ),
        )
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            params, lr=LEARNING_RATE, betas=(0.9, 0.95), eps=1e-12, weight_decay=0.0
        )
        rows = sft_rows(batch, seq, LOCAL_VOCAB, seed=batch * 7919 + seq)
        self.input_ids = torch.tensor([r["tokens"] for r in rows], device=device())
        self.targets = torch.tensor([r["targets"] for r in rows], device=device())
        self.weights = torch.tensor([r["weights"] for r in rows], device=device())

    def steps(self, n: int) -> list[float]:
        torch = self.torch
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            logits = self.model(input_ids=self.input_ids, use_cache=False).logits.float()
            logprobs = torch.log_softmax(logits, dim=-1)
            target_lp = logprobs.gather(-1, self.targets[..., None])[..., 0]
            loss = -(target_lp * self.weights).sum()
            loss.backward()
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            sync()
            times.append(time.perf_counter() - t0)
        return times


def _median_ms(values: list[float]) -> float:
    return 1e3 * statistics.median(values)


def _best_round_ms(rounds: list[list[float]]) -> float:
    """The least disturbed round: min over rounds of the round's median step time.

    On a shared 2-core machine another process makes torch's two threads stall for whole
    rounds (10x slower steps); every mode gets the same number of interleaved rounds, so
    taking each mode's best round compares like with like.
    """
    return 1e3 * min(statistics.median(r) for r in rounds if r)


def ratios_by_round(
    way: list[list[float]], engine: list[list[float]], peft: list[list[float]]
) -> list[float]:
    """Per round: the way's median step over the same round's median of plain torch, taken as
    whichever in-process loop (engine or peft) is faster over all rounds.

    Each round ran every way back to back under the same background load, so a ratio within a
    round cancels that load. One baseline for all rounds: the faster of the two in each round
    would pick the luckier noise every time and bias the ratios up.
    """
    rounds = len(way)
    if not (len(engine) == len(peft) == rounds):
        raise ValueError(f"rounds do not pair up: {rounds}, {len(engine)}, {len(peft)}")
    engine_ms = [statistics.median(r) for r in engine]
    peft_ms = [statistics.median(r) for r in peft]
    plain = engine_ms if statistics.median(engine_ms) <= statistics.median(peft_ms) else peft_ms
    return [statistics.median(w) / p for w, p in zip(way, plain, strict=True)]


def step_compare(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """The same step four ways, in interleaved blocks within one process, so that every mode
    sees the same background load: LoraTrainer directly, a plain peft loop, the full stack
    one step at a time, the full stack pipelined (`pipeline_depth` steps in flight)."""
    import warnings

    warnings.filterwarnings("ignore")
    b, n = sizes.step_batch, sizes.step_seq
    engine, peft = _Engine(), _PeftLoop(b, n)
    engine_data, stack_data = _engine_batch(b, n), _stack_data(b, n)
    service, training = _stack_client(spec)
    server = _ServerCpu(spec.get("server_pid"))
    modes = ("engine", "peft", "sequential", "pipelined")
    # Per mode, per round: (step times, client CPU, server CPU) of that round.
    rounds: dict[str, list[tuple[list[float], float, float]]] = {k: [] for k in modes}

    def block(mode: str, run: Any) -> None:
        c0, s0 = time.process_time(), server.now()
        times = run()
        rounds[mode].append((times, time.process_time() - c0, server.now() - s0))

    try:
        engine.steps(engine_data, sizes.step_warmup)
        peft.steps(sizes.step_warmup)
        _sequential_steps(training, stack_data, sizes.step_warmup)
        for _ in range(sizes.step_rounds):
            block("engine", lambda: engine.steps(engine_data, sizes.step_block))
            block("peft", lambda: peft.steps(sizes.step_block))
            block("sequential", lambda: _sequential_steps(training, stack_data, sizes.step_block))
            block(
                "pipelined",
                lambda: _pipelined_rounds(training, stack_data, sizes.pipeline_depth, 1),
            )
    finally:
        service.close()
    result: dict[str, Any] = {
        "statistic": "step times: best of interleaved rounds (min over rounds of the round "
        "median), CPU figures from the same round; *_vs_plain_paired: median over rounds of "
        "the round's median / the same round's median of plain torch (whichever of engine and "
        "peft has the lower median over all rounds)",
        "steps_per_round": sizes.step_block,
        "rounds": sizes.step_rounds,
        "pipeline_depth": sizes.pipeline_depth,
        "all_ms": {k: [[round(1e3 * t, 2) for t in r[0]] for r in v] for k, v in rounds.items()},
    }
    for mode in ("sequential", "pipelined"):
        per_round = ratios_by_round(
            [r[0] for r in rounds[mode]],
            [r[0] for r in rounds["engine"]],
            [r[0] for r in rounds["peft"]],
        )
        result[f"{mode}_vs_plain_by_round"] = [round(x, 4) for x in per_round]
        result[f"{mode}_vs_plain_paired"] = statistics.median(per_round)
    for mode in modes:
        best = min(rounds[mode], key=lambda r: statistics.median(r[0]))
        steps = sizes.step_block if mode != "pipelined" else sizes.pipeline_depth
        result[f"{mode}_step_ms"] = _median_ms(best[0])
        result[f"{mode}_step_ms_median_all"] = _median_ms([t for r in rounds[mode] for t in r[0]])
        result[f"{mode}_cpu_ms_per_step"] = 1e3 * best[1] / steps
        if server.pid is not None and mode in ("sequential", "pipelined"):
            result[f"{mode}_server_cpu_ms_per_step"] = 1e3 * best[2] / steps
    return result


class _ServerCpu:
    """CPU seconds used so far by the server process (0 when its pid is unknown)."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid

    def now(self) -> float:
        if self.pid is None:
            return 0.0
        import psutil

        t = psutil.Process(self.pid).cpu_times()
        return float(t.user + t.system)


def scaling_backend(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Per grid point: LoraTrainer steps and full-stack steps (pipelined, and one at a time),
    interleaved."""
    engine = _Engine()
    service, training = _stack_client(spec)
    points = []
    try:
        for batch, seq in spec["grid"]:
            engine_data, stack_data = _engine_batch(batch, seq), _stack_data(batch, seq)
            engine.steps(engine_data, 1)
            _sequential_steps(training, stack_data, 1)
            engine_rounds: list[list[float]] = []
            stack_rounds: list[list[float]] = []
            sequential_rounds: list[list[float]] = []
            for _ in range(sizes.scaling_rounds):
                engine_rounds.append(engine.steps(engine_data, sizes.scaling_steps))
                stack_rounds.append(_pipelined_rounds(training, stack_data, sizes.scaling_steps, 1))
                sequential_rounds.append(
                    _sequential_steps(training, stack_data, sizes.scaling_steps)
                )
            point = {
                "batch": batch,
                "seq": seq,
                "engine_step_ms": _best_round_ms(engine_rounds),
                "stack_step_ms": _best_round_ms(stack_rounds),
                "sequential_step_ms": _best_round_ms(sequential_rounds),
            }
            point["sequential_vs_engine"] = point["sequential_step_ms"] / point["engine_step_ms"]
            points.append(point)
            log(
                f"    B={batch} L={seq}: engine {point['engine_step_ms']:.1f} ms, stack "
                f"{point['stack_step_ms']:.1f} ms/step pipelined, "
                f"{point['sequential_step_ms']:.1f} ms one at a time"
            )
    finally:
        service.close()
    return {"points": points}


# ----- sampling throughput ------------------------------------------------------------------
def _gen_prompt(sizes: Sizes) -> list[int]:
    return tokens(sizes.gen_prompt_tokens, LOCAL_VOCAB, 4)


def _rate(samples: list[tuple[int, float]], block: int) -> dict[str, Any]:
    """Per-request (tokens, seconds), in request order -> the best block of `block`
    consecutive requests (by its median rate), like the training-step statistic."""
    blocks = [samples[i : i + block] for i in range(0, len(samples), block)]
    blocks = [b for b in blocks if len(b) == block] or blocks

    def median_rate(b: list[tuple[int, float]]) -> float:
        return statistics.median(count / seconds for count, seconds in b)

    best = max(blocks, key=median_rate)
    return {
        "requests": len(samples),
        "tokens": sum(count for count, _ in samples),
        "tokens_per_s": median_rate(best),
        "ms_per_request": 1e3 * statistics.median(t for _, t in best),
        "tokens_per_s_median_all": statistics.median(c / t for c, t in samples),
        "tokens_per_s_mean_all": sum(c for c, _ in samples) / sum(t for _, t in samples),
    }


def gen_compare(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """One request at a time, round-robin over the three ways (same background load for all):
    the full stack (`SamplingClient.sample`), the engine's `Sampler` called directly, and
    `transformers` `model.generate` on the same base model (the num_samples rows as one batch,
    multinomial sampling at temperature 1 with no top-k/top-p, stopping at eos)."""
    import warnings

    import torch

    import tinker_hl
    from tinker_hl import types
    from tinker_local.engine import Sampler, build_base_model, get_preset

    warnings.filterwarnings("ignore")
    preset = get_preset(MODEL)
    eos = preset.eos_token_id
    prompt = _gen_prompt(sizes)
    engine = Sampler(MODEL)
    model = build_base_model(MODEL)
    input_ids = torch.tensor([prompt] * sizes.gen_num_samples, device=device())
    service = tinker_hl.ServiceClient(api_key=spec["key"], base_url=spec["url"])
    sampler = service.create_sampling_client(base_model=MODEL).result()
    stack_prompt = types.ModelInput.from_ints(prompt)

    def stack(i: int) -> int:
        params = types.SamplingParams(max_tokens=sizes.gen_max_tokens, temperature=1.0, seed=i)
        response = sampler.sample(stack_prompt, sizes.gen_num_samples, params).result()
        return sum(len(s.tokens) for s in response.sequences)

    def direct(i: int) -> int:
        result = engine.sample(
            prompt, sizes.gen_num_samples, sizes.gen_max_tokens, temperature=1.0, seed=i
        )
        return sum(len(s.tokens) for s in result.sequences)

    def generate(i: int) -> int:
        torch.manual_seed(i)
        out = model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            do_sample=True,
            temperature=1.0,
            top_k=0,
            top_p=1.0,
            max_new_tokens=sizes.gen_max_tokens,
            eos_token_id=eos,
            pad_token_id=preset.pad_token_id,
        )
        count = 0
        for row in out[:, input_ids.shape[1] :].tolist():
            count += row.index(eos) + 1 if eos in row else len(row)
        return count

    ways = {"stack": stack, "engine": direct, "hf": generate}
    samples: dict[str, list[tuple[int, float]]] = {k: [] for k in ways}
    try:
        for i in range(-2, sizes.gen_requests):  # two warm-up rounds
            for name, one in ways.items():
                t0 = time.perf_counter()
                count = one(i % 1000)
                if i >= 0:
                    samples[name].append((count, time.perf_counter() - t0))
    finally:
        service.close()
    return {name: _rate(done, sizes.gen_block) for name, done in samples.items()}


def long_decode(spec: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """One long request (long_num_samples rows x long_max_tokens tokens, as a reasoning RL
    rollout): the engine's `Sampler` in this process against one `model.generate`, rounds
    interleaved; both decode exactly long_max_tokens per row (generate with min_new_tokens,
    the engine with its eos replaced by an id outside the vocabulary), so the figure is the
    cost of long sequences (the KV cache's growth), not of rows stopping early."""
    import dataclasses
    import warnings

    import torch

    from tinker_local.engine import Sampler, build_base_model, get_preset

    warnings.filterwarnings("ignore")
    preset = get_preset(MODEL)
    prompt = _gen_prompt(sizes)
    rows, steps = sizes.long_num_samples, sizes.long_max_tokens
    engine = Sampler(MODEL)
    engine.preset = dataclasses.replace(preset, eos_token_id=preset.vocab_size, stop_token_ids=())
    model = build_base_model(MODEL)
    input_ids = torch.tensor([prompt] * rows, device=device())

    def direct(i: int) -> int:
        result = engine.sample(prompt, rows, steps, temperature=1.0, seed=i)
        return sum(len(s.tokens) for s in result.sequences)

    def generate(i: int) -> int:
        torch.manual_seed(i)
        out = model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            do_sample=True,
            top_k=0,
            max_new_tokens=steps,
            min_new_tokens=steps,
            pad_token_id=preset.pad_token_id,
        )
        sync()
        return (out.shape[1] - input_ids.shape[1]) * rows

    ways = {"engine": direct, "hf": generate}
    rates: dict[str, list[float]] = {k: [] for k in ways}
    for i in range(-1, sizes.long_rounds):  # one warm-up round
        for name, one in ways.items():
            t0 = time.perf_counter()
            count = one(i % 1000)
            if i >= 0:
                rates[name].append(count / (time.perf_counter() - t0))
    return {
        name: {"tokens_per_s": max(done), "tokens_per_s_median": statistics.median(done)}
        for name, done in rates.items()
    } | {"rows": rows, "max_tokens": steps}
