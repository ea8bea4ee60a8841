"""One research-style loop with an official `tinker` SDK, run in its own process.

    python official_sdk_workload.py BASE_URL API_KEY

The test that runs this puts one SDK version first on PYTHONPATH (an unchanged install of the
official wheel) and starts the local backend; the script uses only the SDK's public API, adapts
to what each version offers, and prints one JSON summary line for the test to check against the
server's store. Any failed check raises (a non-zero exit).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.setdefault("TINKER_TELEMETRY", "0")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import tinker
from tinker import types

BASE_MODEL = "local/tiny-llama"
TEXT = list(b"the local backend speaks tinker.")


def version() -> tuple[int, ...]:
    return tuple(int(p) for p in tinker.__version__.split(".")[:3])


def resolved(value: Any) -> Any:
    """0.38's factories answer a future that also forwards to the client: wait for it."""
    if type(value).__name__.startswith("Backcompat"):
        return value.result()
    return value


def datum(tokens: list[int]) -> Any:
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:]},
    )


def check(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(what)


def train(training: Any, steps: int) -> list[float]:
    """Pipelined steps: every request is submitted before any result is awaited."""
    batch = [datum(TEXT), datum(TEXT[4:])]
    pending = []
    for _ in range(steps):
        fb = training.forward_backward(batch, "cross_entropy")
        step = training.optim_step(types.AdamParams(learning_rate=1e-2))
        pending.append((fb, step))
    losses = []
    for fb, step in pending:
        losses.append(float(fb.result().metrics["loss:sum"]))
        check(step.result().metrics is not None, "optim_step metrics")
    return losses


def run(service: Any, summary: dict[str, Any]) -> None:
    caps = service.get_server_capabilities()
    check(BASE_MODEL in [m.model_name for m in caps.supported_models], "capabilities")

    training = resolved(service.create_lora_training_client(base_model=BASE_MODEL, rank=8, seed=0))
    summary["model_id"] = training.model_id
    info = training.get_info()
    check(info.model_data.model_name == BASE_MODEL and info.lora_rank == 8, "get_info")

    losses = train(training, 8)
    check(losses[-1] < losses[0] * 0.7, f"training learns: {losses}")
    summary["losses"] = losses

    fwd = training.forward([datum(TEXT)], "cross_entropy").result()
    logprobs = fwd.loss_fn_outputs[0]["logprobs"].tolist()
    check(len(logprobs) == len(TEXT) - 1 and all(lp <= 0 for lp in logprobs), "forward")

    state_path = training.save_state("ckpt").result().path
    check(state_path == f"tinker://{training.model_id}/weights/ckpt", state_path)
    training.load_state_with_optimizer(state_path).result()
    after_load = train(training, 1)[0]
    check(after_load < losses[0], "the loaded state keeps what was learnt")

    resumed = resolved(service.create_training_client_from_state_with_optimizer(state_path))
    check(resumed.model_id != training.model_id, "a new run from the state")
    resumed_loss = train(resumed, 1)[0]
    check(resumed_loss < losses[0], f"the resumed run starts trained: {resumed_loss}")
    summary["resumed_model_id"] = resumed.model_id

    name = ("sampler",) if version() < (0, 22) else ()
    sampler = resolved(training.save_weights_and_get_sampling_client(*name))
    prompt = types.ModelInput.from_ints(TEXT[:6])
    params = types.SamplingParams(max_tokens=6, temperature=0)
    out = sampler.sample(prompt, 2, params).result()
    check(len(out.sequences) == 2 and all(len(s.tokens) == 6 for s in out.sequences), "sample")
    check(out.sequences[0].tokens == out.sequences[1].tokens, "greedy samples agree")
    if version() >= (0, 26):
        ids = [s.sequence_id for s in out.sequences]
        check(all(isinstance(i, str) and i for i in ids) and len(set(ids)) == 2, f"ids {ids}")
        summary["sequence_ids"] = ids
    lps = sampler.compute_logprobs(types.ModelInput.from_ints(TEXT[:10])).result()
    check(len(lps) == 10 and lps[0] is None and all(lp < 0 for lp in lps[1:]), "logprobs")

    sampler_path = training.save_weights_for_sampler("named").result().path
    from_path = resolved(service.create_sampling_client(model_path=sampler_path))
    again = from_path.sample(prompt, 1, params).result()
    check(list(again.sequences[0].tokens) == list(out.sequences[0].tokens), "same weights")

    rest = service.create_rest_client()
    runs = rest.list_training_runs().result()
    check(training.model_id in [r.training_run_id for r in runs.training_runs], "runs listed")
    listed = [c.tinker_path for c in rest.list_checkpoints(training.model_id).result().checkpoints]
    check(state_path in listed and sampler_path in listed, f"checkpoints listed: {listed}")
    rest.publish_checkpoint_from_tinker_path(state_path).result()
    public = {
        c.tinker_path: c.public
        for c in rest.list_checkpoints(training.model_id).result().checkpoints
    }
    check(public[state_path] is True, "published")
    rest.unpublish_checkpoint_from_tinker_path(state_path).result()
    rest.delete_checkpoint_from_tinker_path(sampler_path).result()
    remaining = [
        c.tinker_path for c in rest.list_checkpoints(training.model_id).result().checkpoints
    ]
    check(sampler_path not in remaining and state_path in remaining, "deleted")
    summary["state_path"] = state_path
    if version() >= (0, 38):
        current_api(training, sampler, rest, summary)
        summary["loss_fns"] = every_loss(service)


def current_api(training: Any, sampler: Any, rest: Any, summary: dict[str, Any]) -> None:
    """0.38's checkpoint lifetimes and metadata, overwrite, and partial prompt logprobs."""
    path = training.save_state("kept", ttl_seconds=7200, user_metadata={"stage": "sft"}).result()
    path = path.path

    def listed() -> Any:
        checkpoints = rest.list_checkpoints(training.model_id).result().checkpoints
        return next(c for c in checkpoints if c.tinker_path == path)

    first = listed()
    check(first.user_metadata == {"stage": "sft"} and first.expires_at is not None, str(first))
    rest.set_checkpoint_ttl_from_tinker_path(path, None).result()
    check(listed().expires_at is None, "ttl removed")
    again = training.save_state("kept", overwrite=True).result().path
    check(again == path and listed().user_metadata is None, "overwritten")
    out = sampler.sample(
        types.ModelInput.from_ints(TEXT[:8]),
        1,
        types.SamplingParams(max_tokens=2, temperature=0),
        include_prompt_logprobs=True,
        prompt_logprobs_last_n=3,
    ).result()
    lps = out.prompt_logprobs
    check(lps[:5] == [None] * 5 and all(lp is not None and lp < 0 for lp in lps[5:]), str(lps))
    check(out.prompt_cache_hit_tokens == 0, "no prefix cache")
    summary["kept_path"] = path
    summary["provenance_sequence_id"] = provenance(training, sampler)
    sampled_and_target_logprobs(sampler, lps)
    prompt_alt_tokens(sampler)
    summary["sampling_options"] = [
        "topk_sample_logprobs",
        "target_prompt_logprobs",
        "prompt_alt_tokens_k",
    ]


def provenance(training: Any, sampler: Any) -> str:
    """0.38's provenance spans: a prompt and the sequence sampled from it, as one datum whose
    spans name that sequence, gives the same loss as the datum without them (the spans travel
    in the protobuf body and are not trained on)."""
    prompt = TEXT[:6]
    greedy = types.SamplingParams(max_tokens=4, temperature=0)
    sampled = sampler.sample(types.ModelInput.from_ints(prompt), 1, greedy).result().sequences[0]
    plain = datum(prompt + list(sampled.tokens))
    sid = sampled.sequence_id
    annotated = plain.with_provenance(
        model_input=[
            types.PromptProvenanceSpan(sequence_id=sid, length=6),
            types.SampledProvenanceSpan(sequence_id=sid, length=3),
        ],
        loss_fn_inputs=[
            types.PromptProvenanceSpan(sequence_id=sid, offset=1, length=5),
            types.SampledProvenanceSpan(sequence_id=sid, length=4),
        ],
    )
    losses = [
        training.forward([d], "cross_entropy").result().metrics["loss:sum"]
        for d in (plain, annotated)
    ]
    check(abs(losses[0] - losses[1]) <= 1e-6 * abs(losses[0]), f"losses {losses}")
    return str(sid)


RL_LOSSES = {
    "importance_sampling": None,
    "ppo": {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2},
    "cispo": {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2},
    "dro": {"beta": 0.05},
    "gspo": None,
}


def every_loss(service: Any) -> list[str]:
    """0.38's loss functions, each through forward_backward + optim_step (on a fresh model, no
    optimizer history) on a sequence whose sampler logprobs are the model's own forward
    logprobs, with a positive advantage: each step must raise the sequence's log-probability.
    `stable_reinforce` is refused with a user error that names it (see the backend README:
    its formula is not implemented)."""
    import numpy as np

    seq = datum(TEXT)
    training = resolved(service.create_lora_training_client(base_model=BASE_MODEL, rank=8, seed=1))

    def logprobs() -> Any:
        out = training.forward([seq], "cross_entropy").result()
        return out.loss_fn_outputs[0]["logprobs"].to_numpy().astype(np.float32)

    trained = []
    for loss_fn, config in RL_LOSSES.items():
        before = logprobs()
        inputs: dict[str, Any] = {
            "target_tokens": TEXT[1:],
            "logprobs": types.TensorData.from_numpy(before),
            "advantages": types.TensorData.from_numpy(np.ones_like(before)),
        }
        if loss_fn == "gspo":
            inputs["sequence_ratio_mask"] = types.TensorData.from_numpy(np.ones_like(before))
        rl = types.Datum(model_input=seq.model_input, loss_fn_inputs=inputs)
        out = training.forward_backward([rl], loss_fn, loss_fn_config=config).result()
        check(np.isfinite(out.metrics["loss:sum"]), f"{loss_fn} loss {out.metrics}")
        training.optim_step(types.AdamParams(learning_rate=1e-3)).result()
        after = logprobs()
        check(
            float(after.sum()) > float(before.sum()), f"{loss_fn}: {after.sum()} <= {before.sum()}"
        )
        trained.append(loss_fn)
    try:
        rl = types.Datum(model_input=seq.model_input, loss_fn_inputs={"target_tokens": TEXT[1:]})
        training.forward_backward([rl], "stable_reinforce").result()
    except Exception as e:
        check("stable_reinforce" in str(e) and "not supported" in str(e), f"refusal: {e!r}")
    else:
        raise AssertionError("stable_reinforce was not refused")
    return trained


def prompt_alt_tokens(sampler: Any) -> None:
    """0.38's prompt_alt_tokens_k: greedy draws are each prompt position's most likely token,
    with that token's logprob (checked against topk_prompt_logprobs of the same request)."""
    prompt = types.ModelInput.from_ints(TEXT[:8])
    greedy = types.SamplingParams(max_tokens=1, temperature=0)
    out = sampler.sample(prompt, 1, greedy, topk_prompt_logprobs=1, prompt_alt_tokens_k=2).result()
    alt = out.prompt_alt_tokens
    check(alt is not None and alt.tokens.shape == alt.logprobs.shape == [7, 2], f"alt {alt}")
    ids, lps = alt.tokens.to_numpy(), alt.logprobs.to_numpy()
    top = out.topk_prompt_logprobs[1:]
    check(ids.tolist() == [[row[0][0]] * 2 for row in top], f"greedy draws {ids} vs {top}")
    check(all(abs(lps[i][j] - top[i][0][1]) < 1e-5 for i in range(7) for j in range(2)), "lps")


def sampled_and_target_logprobs(sampler: Any, prompt_lps: list[float | None]) -> None:
    """0.38's top-k logprobs of sampled tokens and logprobs of chosen prompt ids (dense and
    sparse), checked against the same model's sampled and prompt logprobs."""
    import torch

    prompt = types.ModelInput.from_ints(TEXT[:8])
    greedy = types.SamplingParams(max_tokens=3, temperature=0)
    seq = sampler.sample(prompt, 1, greedy, topk_sample_logprobs=4).result().sequences[0]
    top = seq.topk_logprobs
    check(top is not None and len(top) == len(seq.tokens) == 3, f"topk rows {top}")
    for token, logprob, row in zip(seq.tokens, seq.logprobs, top, strict=True):
        check(len(row) == 4 and row[0][0] == token, f"greedy picks the top token: {row}")
        check(abs(row[0][1] - logprob) < 1e-5, f"top logprob {row[0][1]} vs {logprob}")
        check([lp for _, lp in row] == sorted((lp for _, lp in row), reverse=True), f"{row}")
    ids = torch.full((7, 3), -1, dtype=torch.long)
    ids[:, 0] = torch.tensor(TEXT[1:8])  # each position's actual next prompt token
    for tensor in (types.TensorData.from_torch(ids), types.TensorData.from_torch_sparse(ids, -1)):
        out = sampler.sample(prompt, 1, greedy, target_prompt_logprobs=tensor).result()
        got = out.target_prompt_logprobs
        check(got is not None and got.shape == [7, 3], f"target shape {got}")
        check((got.sparse_crow_indices is None) == (tensor.sparse_crow_indices is None), "layout")
        dense = got.to_numpy()
        check(bool((dense[:, 1:] == 0).all()), f"cells of -1 are 0.0: {dense}")
        for i in range(5, 7):  # the positions the last_n request above scored
            expected = prompt_lps[i + 1]
            check(expected is not None and abs(dense[i, 0] - expected) < 1e-5, f"target {i}")


def main() -> None:
    base_url, api_key = sys.argv[1], sys.argv[2]
    summary: dict[str, Any] = {"sdk_version": tinker.__version__}
    service = tinker.ServiceClient(base_url=base_url, api_key=api_key)
    if hasattr(service, "__enter__"):  # 0.28+: leaving the block finishes the session
        with service:
            run(service, summary)
            summary["session_id"] = service._session_holder.get_session_id()
        summary["finished"] = True
    else:
        run(service, summary)
        summary["session_id"] = service.holder.get_session_id()
        service.holder.close()
    print("SUMMARY " + json.dumps(summary))


if __name__ == "__main__":
    main()
    # The SDK's daemon threads (its event loop, heartbeats) may still be running: an
    # interpreter shutdown that meets one holding the stderr lock aborts the process (seen once
    # in CI with 0.22.7: SIGABRT after SUMMARY). What is tested ended with SUMMARY.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
