"""Ratios, targets, the markdown report and the scaling plot, from the raw results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# (ratio key, target, description); a ratio meets its target when it is <= target, or, for a
# negative target (throughputs), when it is >= -target.
TARGETS: list[tuple[str, float, str]] = [
    (
        "sample_client_cpu_vs_official_aiohttp",
        0.5,
        "client CPU per sample call <= 0.5x official+aiohttp",
    ),
    ("sample_client_cpu_vs_bare_aiohttp", 3.0, "client CPU per sample call <= 3x bare aiohttp"),
    ("encode_vs_official", 0.2, "forward_backward request encoding <= 0.2x official"),
    (
        "sample_client_cpu_vs_official_038",
        0.5,
        "client CPU per sample call <= 0.5x the official SDK 0.38.0 (its default transport)",
    ),
    (
        "encode_protobuf_vs_official_038",
        0.2,
        "protobuf forward_backward request encoding <= 0.2x the official SDK 0.38.0",
    ),
    ("step_time_vs_plain_torch", 1.2, "end-to-end step time <= 1.2x plain torch (one at a time)"),
    (
        "rollouts_tokens_per_s_vs_one_at_a_time",
        -8.0,
        "RL rollouts (256 concurrent requests) >= 8x the throughput of one-at-a-time serving",
    ),
    (
        "rollouts_tokens_per_s_vs_batched_generate",
        -0.8,
        "RL rollouts >= 0.8x one batched model.generate over the same prompts",
    ),
    (
        "sampling_tokens_per_s_vs_transformers_generate",
        -1.0,
        "single-request sampling tokens/s >= 1x model.generate",
    ),
    (
        "pipelined_step_time_vs_plain_torch",
        1.2,
        "pipelined step time <= 1.2x plain torch (backend kept busy)",
    ),
]


def _get(results: dict[str, Any], *path: str) -> Any:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or node.get(key) is None:
            return None
        node = node[key]
    return node


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 4)


def compute_ratios(results: dict[str, Any]) -> dict[str, float | None]:
    r: dict[str, float | None] = {}
    ov = results.get("overhead", {})
    for workload, cpu_key, wall_key in (
        ("sample", "cpu_ms_per_call", "wall_ms_per_call"),
        ("train", "cpu_ms_per_pair", "wall_ms_per_pair"),
    ):
        hl = _get(ov, workload, "tinker_hl")
        for other in ("official", "official_aiohttp", "bare_aiohttp"):
            ref = _get(ov, workload, other)
            r[f"{workload}_client_cpu_vs_{other}"] = _ratio(
                hl and hl[cpu_key], ref and ref[cpu_key]
            )
            r[f"{workload}_wall_vs_{other}"] = _ratio(hl and hl[wall_key], ref and ref[wall_key])
    enc = ov.get("encode", {})
    hl_cpu = _get(enc, "tinker_hl", "cpu_s")
    r["encode_vs_official"] = _ratio(hl_cpu, _get(enc, "official", "cpu_s"))
    r["encode_vs_official_aiohttp"] = _ratio(hl_cpu, _get(enc, "official_aiohttp", "cpu_s"))
    r["encode_vs_bare_orjson"] = _ratio(hl_cpu, _get(enc, "bare_orjson", "cpu_s"))
    r["encode_build_vs_official_build"] = _ratio(
        _get(enc, "tinker_hl", "build_cpu_s"), _get(enc, "official", "build_cpu_s")
    )
    r["encode_serialize_vs_official_serialize"] = _ratio(
        _get(enc, "tinker_hl", "encode_cpu_s"), _get(enc, "official", "encode_cpu_s")
    )

    anchor = ov.get("sample_038", {})
    r["sample_client_cpu_vs_official_038"] = _ratio(
        _get(anchor, "tinker_hl", "cpu_ms_per_call"),
        _get(anchor, "official_038", "cpu_ms_per_call"),
    )
    r["sample_wall_vs_official_038"] = _ratio(
        _get(anchor, "tinker_hl", "wall_ms_per_call"),
        _get(anchor, "official_038", "wall_ms_per_call"),
    )
    pb = ov.get("encode_protobuf", {})
    r["encode_protobuf_vs_official_038"] = _ratio(
        _get(pb, "tinker_hl_protobuf", "cpu_s"), _get(pb, "official_038", "cpu_s")
    )
    r["encode_protobuf_serialize_vs_official_038_serialize"] = _ratio(
        _get(pb, "tinker_hl_protobuf", "encode_cpu_s"), _get(pb, "official_038", "encode_cpu_s")
    )

    step = _get(results, "backend", "step") or {}
    engine, peft = step.get("engine_step_ms"), step.get("peft_step_ms")
    seq, pipe = step.get("sequential_step_ms"), step.get("pipelined_step_ms")
    # The limit: the faster of the two in-process loops (the engine's LoraTrainer called
    # directly, a textbook peft + AdamW loop) doing the same step without client or server.
    plain = min((t for t in (engine, peft) if t is not None), default=None)
    r["step_time_vs_plain_torch"] = _ratio(seq, plain)
    r["pipelined_step_time_vs_plain_torch"] = _ratio(pipe, plain)
    # The same, paired within rounds (median over rounds; see step_compare): the typical
    # overhead under the run's background load, where the best rounds show the quiet machine.
    r["step_time_vs_plain_torch_paired"] = step.get("sequential_vs_plain_paired")
    r["pipelined_step_time_vs_plain_torch_paired"] = step.get("pipelined_vs_plain_paired")
    r["step_time_vs_engine_step_time"] = _ratio(seq, engine)
    r["pipelined_step_time_vs_engine_step_time"] = _ratio(pipe, engine)
    r["pipelined_step_time_vs_sequential_step_time"] = _ratio(pipe, seq)
    r["step_time_vs_peft_torch_loop"] = _ratio(seq, peft)
    r["pipelined_step_time_vs_peft_torch_loop"] = _ratio(pipe, peft)
    r["engine_step_time_vs_peft_torch_loop"] = _ratio(engine, peft)
    gen = _get(results, "backend", "sampling") or {}
    stack_tps = _get(gen, "stack", "tokens_per_s")
    r["sampling_tokens_per_s_vs_transformers_generate"] = _ratio(
        stack_tps, _get(gen, "hf", "tokens_per_s")
    )
    r["sampling_tokens_per_s_vs_engine_sampler"] = _ratio(
        stack_tps, _get(gen, "engine", "tokens_per_s")
    )
    roll = _get(results, "backend", "rollouts") or {}
    roll_tps = _get(roll, "concurrent", "tokens_per_s")
    r["rollouts_tokens_per_s_vs_one_at_a_time"] = _ratio(
        roll_tps, _get(roll, "one_at_a_time", "tokens_per_s")
    )
    r["rollouts_tokens_per_s_vs_batched_generate"] = _ratio(
        roll_tps, _get(roll, "generate", "tokens_per_s")
    )
    long = _get(results, "backend", "long_decode") or {}
    r["long_decode_tokens_per_s_vs_transformers_generate"] = _ratio(
        _get(long, "engine", "tokens_per_s"), _get(long, "hf", "tokens_per_s")
    )
    r["rollouts_engine_decoder_tokens_per_s_vs_batched_generate"] = _ratio(
        _get(roll, "engine", "tokens_per_s"), _get(roll, "generate", "tokens_per_s")
    )
    return r


def check_targets(ratios: dict[str, float | None]) -> list[dict[str, Any]]:
    def met(value: float | None, target: float) -> bool | None:
        if value is None:
            return None
        return value >= -target if target < 0 else value <= target

    return [
        {
            "ratio": key,
            "target": f">= {-target}" if target < 0 else f"<= {target}",
            "value": ratios.get(key),
            "met": met(ratios.get(key), target),
            "what": what,
        }
        for key, target, what in TARGETS
    ]


# ----- markdown ------------------------------------------------------------------------------
def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def _noise(results: dict[str, Any]) -> list[tuple[str, float]]:
    """(where, cores other processes kept busy) for every worker result, busiest first."""
    found: list[tuple[str, float]] = []

    def walk(node: Any, path: str) -> None:
        if not isinstance(node, dict):
            return
        machine = node.get("machine")
        if isinstance(machine, dict) and "other_processes_cores" in machine:
            found.append((path, float(machine["other_processes_cores"])))
        for key, value in node.items():
            if key != "machine":
                walk(value, f"{path}.{key}" if path else key)

    for section in ("overhead", "backend", "scaling", "profile"):
        walk(results.get(section), section)
    return sorted(found, key=lambda x: -x[1])


def _top_other(results: dict[str, Any]) -> str | None:
    """The other process that took the most CPU during any one worker."""
    best: tuple[float, str] | None = None

    def walk(node: Any) -> None:
        nonlocal best
        if not isinstance(node, dict):
            return
        for other in (node.get("machine") or {}).get("busiest_others", []):
            if best is None or other["cpu_s"] > best[0]:
                best = (other["cpu_s"], other["process"])
        for key, value in node.items():
            if key != "machine":
                walk(value)

    for section in ("overhead", "backend", "scaling", "profile"):
        walk(results.get(section))
    return best[1] if best else None


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    s = meta["sizes"]
    ratios = results["ratios"]
    ov = results.get("overhead", {})
    lines = [
        "# tinker_hl benchmark",
        "",
        f"{meta['date']} - {meta['platform']}, {meta['cpus']} CPUs, Python {meta['python']}, "
        f"torch {meta['torch']} ({meta['torch_threads']} threads), {meta['official_sdk']}, "
        f"commit {meta['commit']}{' - QUICK RUN' if meta['quick'] else ''}; "
        f"total {meta.get('total_s', 0):.0f} s.",
        "",
        f"Other processes on the machine (not this benchmark) kept "
        f"{meta.get('other_processes_cores', 0):.2f} cores busy on average while workers ran"
        + (
            "; busiest during: "
            + ", ".join(f"`{w}` {c:.2f}" for w, c in noisy[:4])
            + ". Figures from those workers are the least trustworthy"
            + (f" (top other process: `{_top_other(results)}`)." if _top_other(results) else ".")
            if (noisy := [(w, c) for w, c in _noise(results) if c > 0.25])
            else "."
        ),
        "",
        '## Client overhead (local backend, compute="none", server in its own process)',
        "",
        f"(a) {s['sample_calls']} `sample_async` calls at concurrency {s['sample_concurrency']} "
        f"(prompt {s['sample_prompt_tokens']} tokens, {s['sample_max_tokens']} returned); "
        f"(b) {s['train_pairs']} pipelined `forward_backward` + `optim_step` pairs "
        f"({s['train_batch']} datums x {s['train_seq']} tokens). Client process CPU "
        "(`time.process_time()`, all its threads) and wall time.",
        "",
    ]
    rows = []
    for client in ("tinker_hl", "official", "official_aiohttp", "bare_aiohttp"):
        a = _get(ov, "sample", client) or {}
        b = _get(ov, "train", client) or {}
        rows.append(
            [
                f"`{client}`",
                _f(a.get("cpu_ms_per_call"), 3),
                _f(a.get("wall_ms_per_call"), 3),
                _f(a.get("calls_per_s"), 0),
                _f(b.get("cpu_ms_per_pair"), 3),
                _f(b.get("wall_ms_per_pair"), 3),
            ]
        )
    lines += _table(
        [
            "client",
            "sample CPU ms/call",
            "sample wall ms/call",
            "samples/s",
            "train CPU ms/pair",
            "train wall ms/pair",
        ],
        rows,
    )
    enc = ov.get("encode", {})
    lines += [
        "",
        f"(c) Encoding one `forward_backward` of {s['encode_datums']} datums x "
        f"{s['encode_seq']} tokens (targets and weights included): Datums built from lists, "
        "then the exact HTTP bodies each client sends (best of "
        f"{s['encode_repeats']} in each of {s['overhead_rounds']} rounds, clients interleaved).",
        "",
    ]
    rows = []
    for client in ("tinker_hl", "official", "official_aiohttp", "bare_orjson"):
        e = enc.get(client) or {}
        rows.append(
            [
                f"`{client}`",
                _f(e.get("cpu_s") and 1e3 * e["cpu_s"], 1),
                _f(e.get("build_cpu_s") and 1e3 * e["build_cpu_s"], 1),
                _f(e.get("encode_cpu_s") and 1e3 * e["encode_cpu_s"], 1),
                _f(e.get("requests")),
                _f(e.get("body_bytes") and e["body_bytes"] / 1e6, 1),
                str(e.get("payload_digest", "n/a")),
            ]
        )
    lines += _table(
        [
            "client",
            "CPU ms total",
            "build Datums",
            "validate+serialize",
            "requests",
            "MB on the wire",
            "payload digest",
        ],
        rows,
    )
    lines += [
        "",
        "(a') and (c') The official SDK 0.38.0 as a second anchor (its default transport, "
        "run from its own install in its own worker processes): the same sample calls, "
        "interleaved with tinker_hl's; the same request encoded as protobuf with zstd, as a "
        "server that offers both (the local backend) gets it.",
        "",
    ]
    anchor = ov.get("sample_038", {})
    rows = []
    for client in ("tinker_hl", "official_038"):
        a = anchor.get(client) or {}
        rows.append(
            [
                f"`{client}`",
                _f(a.get("cpu_ms_per_call"), 3),
                _f(a.get("wall_ms_per_call"), 3),
                _f(a.get("calls_per_s"), 0),
            ]
        )
    lines += _table(["client", "sample CPU ms/call", "sample wall ms/call", "samples/s"], rows)
    lines.append("")
    rows = []
    for client in ("tinker_hl_protobuf", "official_038"):
        e = ov.get("encode_protobuf", {}).get(client) or {}
        rows.append(
            [
                f"`{client}`",
                _f(e.get("cpu_s") and 1e3 * e["cpu_s"], 1),
                _f(e.get("build_cpu_s") and 1e3 * e["build_cpu_s"], 1),
                _f(e.get("encode_cpu_s") and 1e3 * e["encode_cpu_s"], 1),
                _f(e.get("requests")),
                _f(e.get("body_bytes") and e["body_bytes"] / 1e6, 2),
            ]
        )
    lines += _table(
        [
            "client",
            "CPU ms total",
            "build Datums",
            "validate+serialize+zstd",
            "requests",
            "MB on the wire",
        ],
        rows,
    )
    step = _get(results, "backend", "step") or {}
    served = meta.get("model", "local/tiny-llama")
    if meta.get("accelerator"):
        served += f"` on `{meta['accelerator']}"
    lines += [
        "",
        f'## Backend efficiency (compute="torch", `{served}`, LoRA rank 32)',
        "",
        f"One step = `forward_backward` ({s['step_batch']} datums x {s['step_seq']} tokens, "
        f"cross-entropy) + `optim_step` (Adam). All four in one process, in "
        f"{s['step_rounds']} interleaved rounds of {s['step_block']} steps (same background "
        "load for each); per way, the best round's median (medians over all steps are in "
        "results.json). Plain torch is the faster of the last two rows; the `_paired` ratios "
        "divide each round's median by the same round's median of one plain torch loop (the "
        "one faster over all rounds) and take the median over rounds.",
        "",
    ]
    rows = [
        [
            "full stack, one step at a time (wait for both results)",
            _f(step.get("sequential_step_ms"), 1),
        ],
        [
            f"full stack, pipelined ({s['pipeline_depth']} steps in flight), per step",
            _f(step.get("pipelined_step_ms"), 1),
        ],
        [
            "`LoraTrainer` called directly, no server",
            _f(step.get("engine_step_ms"), 1),
        ],
        ["plain peft + `torch.optim.AdamW` loop", _f(step.get("peft_step_ms"), 1)],
    ]
    # "plain torch" in the ratios is the faster of the last two rows.
    lines += _table(["training step", "ms"], rows)
    lines += [
        "",
        "CPU per step in those rounds (ms, all threads): "
        f"`LoraTrainer` {_f(step.get('engine_cpu_ms_per_step'), 1)}; full stack one at a time: "
        f"client {_f(step.get('sequential_cpu_ms_per_step'), 1)} + server "
        f"{_f(step.get('sequential_server_cpu_ms_per_step'), 1)}; pipelined: client "
        f"{_f(step.get('pipelined_cpu_ms_per_step'), 1)} + server "
        f"{_f(step.get('pipelined_server_cpu_ms_per_step'), 1)}.",
        "",
        f"Sampling: {s['gen_requests']} requests per way, round-robin, "
        f"{s['gen_num_samples']} samples each, prompt {s['gen_prompt_tokens']} tokens, up to "
        f"{s['gen_max_tokens']} new tokens (temperature 1, stop at eos); per way, the best "
        f"block of {s['gen_block']} requests (by median rate).",
        "",
    ]
    gen = _get(results, "backend", "sampling") or {}
    rows = [
        [name, _f(_get(gen, key, "tokens_per_s"), 0), _f(_get(gen, key, "ms_per_request"), 1)]
        for name, key in (
            ("full stack (`SamplingClient.sample`)", "stack"),
            ("engine `Sampler` directly", "engine"),
            ("transformers `model.generate`", "hf"),
        )
    ]
    lines += _table(["sampling", "tokens/s", "ms/request"], rows)
    roll = _get(results, "backend", "rollouts") or {}
    if roll:
        lines += [
            "",
            f"RL rollouts: {roll.get('requests')} concurrent requests x 1 sample x up to "
            f"{roll.get('max_tokens')} tokens (temperature 1, stop at eos); one at a time over "
            f"{roll.get('serial_requests')} of them; best round.",
            "",
        ]
        lines += _table(
            ["rollouts", "tokens/s"],
            [
                [name, _f(_get(roll, key, "tokens_per_s"), 0)]
                for name, key in (
                    ("full stack, concurrent (continuous batching)", "concurrent"),
                    ("full stack, one request at a time", "one_at_a_time"),
                    ("engine batch decoder in-process, one thread per request (no HTTP)", "engine"),
                    ("one batched `model.generate` over the same prompts", "generate"),
                )
            ],
        )
    lines += ["", "## Scaling", "", "See `scaling.png`.", ""]
    lines += _scaling_table(results.get("scaling", {}))
    lines += ["", "## Ratios (tinker_hl / reference; lower is better except tokens/s)", ""]
    lines += _table(["ratio", "value"], [[f"`{k}`", _f(v, 3)] for k, v in ratios.items()])
    lines += ["", "## Targets", ""]
    lines += _table(
        ["target", "ratio", "value", "met"],
        [
            [
                t["what"],
                f"`{t['ratio']}`",
                _f(t["value"], 3),
                {True: "yes", False: "**no**", None: "n/a"}[t["met"]],
            ]
            for t in results["targets"]
        ],
    )
    for key, title in (("sample", "sample path"), ("encode", "encode path")):
        prof = _get(results, "profile", key)
        if not prof:
            continue
        lines += ["", f"## Profile: tinker_hl {title} (cProfile self time)", ""]
        lines += _table(
            ["function", "package", "self %", "calls"],
            [
                [f"`{p['function']}`", p["package"], _f(p["self_pct"], 1), str(p["calls"])]
                for p in prof["top_self"][:12]
            ],
        )
        pkgs = ", ".join(f"{k} {v}%" for k, v in prof["self_by_package_pct"].items())
        lines += ["", f"Self time by package: {pkgs}. Full listing: `{prof['listing']}`."]
    if results.get("errors"):
        lines += ["", "## Errors", ""]
        lines += [
            f"- `{k}`: {v.splitlines()[-1] if v else v}" for k, v in results["errors"].items()
        ]
    return "\n".join(lines) + "\n"


def _scaling_series(scaling: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]], str]]:
    return [
        (
            "tinker_hl client CPU / forward_backward",
            _get(scaling, "client_cpu", "tinker_hl", "points") or [],
            "cpu_ms",
        ),
        (
            "official+aiohttp client CPU / forward_backward",
            _get(scaling, "client_cpu", "official_aiohttp", "points") or [],
            "cpu_ms",
        ),
        (
            "full-stack step, pipelined",
            _get(scaling, "backend", "points") or [],
            "stack_step_ms",
        ),
        (
            "full-stack step, one at a time",
            _get(scaling, "backend", "points") or [],
            "sequential_step_ms",
        ),
        (
            "LoraTrainer step (plain torch)",
            _get(scaling, "backend", "points") or [],
            "engine_step_ms",
        ),
    ]


def _scaling_table(scaling: dict[str, Any]) -> list[str]:
    series = _scaling_series(scaling)
    keys: list[tuple[int, int]] = []
    for _, points, _ in series:
        for p in points:
            if (p["batch"], p["seq"]) not in keys:
                keys.append((p["batch"], p["seq"]))
    if not keys:
        return ["(no scaling data)"]
    backend = _get(scaling, "backend", "points") or []

    def value(points: list[dict[str, Any]], batch: int, seq: int, key: str) -> str:
        match = [p for p in points if (p["batch"], p["seq"]) == (batch, seq)]
        return _f(match[0].get(key) if match else None, 2)

    rows = []
    for batch, seq in keys:
        row = [str(batch), str(seq)]
        row += [value(points, batch, seq, y_key) for _, points, y_key in series]
        row.append(value(backend, batch, seq, "sequential_vs_engine"))
        rows.append(row)
    header = [f"{label}, ms" for label, _, _ in series]
    return _table(["batch", "seq", *header, "one at a time / LoraTrainer"], rows)


# ----- plot ----------------------------------------------------------------------------------
def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    s = results["meta"]["sizes"]
    styles = [("C0", "o-"), ("C1", "s-"), ("C2", "^-"), ("C4", "D-"), ("C3", "v--")]
    series = [
        (label, points, y_key, color, style)
        for (label, points, y_key), (color, style) in zip(
            _scaling_series(results.get("scaling", {})), styles, strict=True
        )
    ]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    panels = [
        (
            axes[0],
            "batch",
            "seq",
            s["scaling_batch_seq"],
            "datums per forward_backward",
            f"vs batch size (seq = {s['scaling_batch_seq']} tokens)",
        ),
        (
            axes[1],
            "seq",
            "batch",
            s["scaling_seq_batch"],
            "tokens per datum",
            f"vs sequence length (batch = {s['scaling_seq_batch']} datums)",
        ),
    ]
    for ax, x_key, fixed_key, fixed, xlabel, title in panels:
        for label, points, y_key, color, style in series:
            pts = sorted((p[x_key], p[y_key]) for p in points or [] if p[fixed_key] == fixed)
            if pts:
                ax.plot([x for x, _ in pts], [y for _, y in pts], style, color=color, label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
        ax.xaxis.set_major_formatter(plain)
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("milliseconds")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    model = results["meta"].get("model", "local/tiny-llama")
    fig.suptitle(f"tinker_hl: client overhead and backend step time ({model}, LoRA r=32)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def finish(results: dict[str, Any], out_dir: Path, json_path: Path) -> str:
    results["ratios"] = compute_ratios(results)
    results["targets"] = check_targets(results["ratios"])
    try:
        plot(results, out_dir / "scaling.png")
    except Exception as exc:  # a missing plot must not lose the numbers
        results.setdefault("errors", {})["plot"] = f"{type(exc).__name__}: {exc}"
    text = markdown(results)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / "results.md").write_text(text)
    return text
