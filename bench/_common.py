"""Shared by the orchestrator (`run.py`) and the workers: inputs, sizes, the result protocol."""

from __future__ import annotations

import json
import os
import random
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

# The benchmarked model: the tiny preset, or (`run.py --model-size 0.5b`) a real-size random
# model served from a folder, which the orchestrator names here for its workers.
MODEL = os.environ.get("BENCH_MODEL", "local/tiny-llama")
RESULT_MARKER = "BENCH_RESULT "
# `run.py --set FIELD=VALUE` overrides, passed on to the workers (space-separated pairs).
SIZES_ENV = "BENCH_SIZES"
# The official SDK reads TINKER_TELEMETRY; tinker_hl's reporter honours the same variable.
QUIET_ENV = {
    "TINKER_TELEMETRY": "0",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
# Token ids sent to the local backend stay inside the byte-level vocabulary (259 ids).
LOCAL_VOCAB = 256
# Encoding-only inputs use the id range of a real tokenizer (Llama 3: 128k), since the number
# of digits per id is what JSON encoding pays for.
REAL_VOCAB = 128_000

# The clients compared in the overhead runs, in table order.
OVERHEAD_CLIENTS = ("tinker_hl", "official", "official_aiohttp", "bare_aiohttp")
ENCODE_CLIENTS = ("tinker_hl", "official", "official_aiohttp", "bare_orjson")
# The current official SDK as a second anchor (its default transport; protobuf bodies). It runs
# only in workers with its own install first on PYTHONPATH: its generated protobuf module
# registers the same message names as ours, so the two never share a process.
ANCHOR_038_SAMPLE_CLIENTS = ("tinker_hl", "official_038")
PROTOBUF_ENCODE_CLIENTS = ("tinker_hl_protobuf", "official_038")
SDK_038 = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".sdk",
                       "tinker-0.38.0")  # fmt: skip


@dataclass
class Sizes:
    """Every knob of one run; `quick()` is the smoke-test version."""

    overhead_rounds: int = 2
    sample_calls: int = 2000
    sample_concurrency: int = 64
    sample_warmup: int = 64
    sample_prompt_tokens: int = 32
    sample_max_tokens: int = 16
    train_pairs: int = 200
    train_batch: int = 4
    train_seq: int = 128
    encode_datums: int = 64
    encode_seq: int = 4096
    encode_repeats: int = 7
    step_batch: int = 8
    step_seq: int = 256
    step_rounds: int = 16
    step_block: int = 3
    step_warmup: int = 3
    pipeline_depth: int = 10
    gen_prompt_tokens: int = 16
    gen_max_tokens: int = 64
    gen_num_samples: int = 4
    gen_requests: int = 20
    gen_block: int = 5
    long_num_samples: int = 128  # one long request (the KV cache's growth): rows x tokens
    long_max_tokens: int = 600
    long_rounds: int = 3
    scaling_batches: list[int] = field(default_factory=lambda: [2, 8, 32])
    scaling_batch_seq: int = 128
    scaling_seqs: list[int] = field(default_factory=lambda: [128, 256, 512, 1024])
    scaling_seq_batch: int = 4
    scaling_steps: int = 5
    scaling_rounds: int = 4
    scaling_client_repeats: int = 5
    profile_sample_calls: int = 1000
    rollout_requests: int = 256
    rollout_max_tokens: int = 64
    rollout_serial_requests: int = 32  # one-at-a-time serving: its rate, over fewer requests
    rollout_rounds: int = 3

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            overhead_rounds=1,
            sample_calls=200,
            sample_warmup=16,
            train_pairs=20,
            encode_datums=16,
            encode_repeats=2,
            step_rounds=2,
            step_block=3,
            step_warmup=2,
            pipeline_depth=4,
            gen_requests=4,
            gen_block=2,
            gen_max_tokens=32,
            long_num_samples=16,
            long_max_tokens=64,
            long_rounds=1,
            scaling_batches=[2, 4, 8],
            scaling_seqs=[64, 128, 256],
            scaling_steps=3,
            scaling_rounds=1,
            scaling_client_repeats=2,
            profile_sample_calls=200,
            rollout_requests=32,
            rollout_max_tokens=16,
            rollout_serial_requests=8,
            rollout_rounds=1,
        )

    def override(self, pairs: list[str]) -> list[str]:
        """Apply `FIELD=VALUE` pairs (the value read as the field's default is typed: an int,
        or comma-separated ints for a list); the pairs applied, for the workers."""
        applied = []
        for pair in pairs:
            name, sep, text = pair.partition("=")
            current = getattr(self, name, None) if sep else None
            if current is None:
                known = ", ".join(sorted(self.to_dict()))
                raise ValueError(f"--set {pair!r}: expected FIELD=VALUE with FIELD one of {known}")
            try:
                value: Any = (
                    [int(v) for v in text.split(",")] if isinstance(current, list) else int(text)
                )
            except ValueError:
                raise ValueError(f"--set {pair!r}: {name} takes integers") from None
            setattr(self, name, value)
            applied.append(f"{name}={text}")
        return applied

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def settled(client: Any) -> Any:
    """The client a factory gave: tinker_hl's (as 0.38's) return a future of it, 0.7.0's the
    client itself."""
    result = getattr(type(client), "result", None)
    return client.result() if callable(result) else client


def tokens(n: int, vocab: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(vocab) for _ in range(n)]


def sft_rows(batch: int, seq: int, vocab: int, seed: int = 0) -> list[dict[str, list[Any]]]:
    """Plain-list supervised examples, as research code holds them before building Datums:
    inputs, next-token targets, and weights (0.0 over the first quarter -- the prompt -- then
    1.0)."""
    rows = []
    prompt = seq // 4
    weights = [0.0] * prompt + [1.0] * (seq - prompt)
    for i in range(batch):
        toks = tokens(seq + 1, vocab, seed * 100_003 + i)
        rows.append({"tokens": toks[:-1], "targets": toks[1:], "weights": list(weights)})
    return rows


def emit(result: dict[str, Any]) -> None:
    """A worker's answer: one marked JSON line on stdout (everything else is progress)."""
    sys.stdout.write(RESULT_MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def apply_quiet_env() -> None:
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


def device() -> Any:
    """Where the engine computes (the workers configure it like the server: `--device`)."""
    from tinker_local.engine.runtime import current

    return current().device


def sync() -> None:
    """Wait for queued GPU work, so that a wall-clock reading covers it (no-op on CPU)."""
    import torch

    if device().type == "cuda":
        torch.cuda.synchronize()
