"""Research code as tinker-cookbook 0.6.1 (the official recipe library, written for the 0.38 SDK)
runs it, its own functions unmodified: supervised steps from `datum_from_model_input_weights`
scored with `compute_mean_nll`, a checkpoint through `checkpoint_utils` and a resume from the
record it wrote, sampling through `TinkerTokenCompleter`, held-out NLL by `SamplerNLLEvaluator`
(`compute_logprobs`), an RL step whose data `assemble_training_data` builds (provenance spans
included) and `rl.train.train_step` trains on, SDFT's reverse-KL custom loss over top-K
targets ([N, K] target_tokens, cross_entropy's top-K form) through `forward_backward_custom`, and
a `CheckpointManager` run (periodic saves in background tasks, rolling saves that delete the
previous one, a final save) read back through the REST client.

Reads TINKER_BASE_URL / TINKER_API_KEY; prints one JSON line of results. Run with either the
official SDK or tinker_hl (`install_as_tinker()`) as `tinker`.
"""

from __future__ import annotations

import asyncio
import json
import tempfile

import tinker
import torch
from tinker_cookbook import checkpoint_utils
from tinker_cookbook.checkpoint_utils import CheckpointManager
from tinker_cookbook.completers import TinkerTokenCompleter, TokensWithLogprobs
from tinker_cookbook.distillation.sdft import (
    build_topk_distillation_datums,
    reverse_kl_custom_loss,
)
from tinker_cookbook.recipes.decisions.decision import DecisionRendering, sample_decision
from tinker_cookbook.rl.data_processing import assemble_training_data, compute_advantages
from tinker_cookbook.rl.train import train_step
from tinker_cookbook.rl.types import Trajectory, TrajectoryGroup, Transition
from tinker_cookbook.supervised.common import compute_mean_nll, datum_from_model_input_weights
from tinker_cookbook.supervised.nll_evaluator import SamplerNLLEvaluator

MODEL = "local/tiny-llama"
TEXTS = [b"The quick brown fox jumps over the lazy dog.", b"Tinker trains LoRA adapters."]


def main() -> None:
    log_path = tempfile.mkdtemp()
    service = tinker.ServiceClient(display_name="cookbook-e2e")
    training = service.create_lora_training_client(base_model=MODEL, rank=4).result()

    # Supervised: the cookbook's datum builder (next-token shift, truncation) and metric.
    batch = []
    for text in TEXTS:
        tokens = list(text)
        weights = torch.ones(len(tokens))
        weights[:4] = 0.0  # the "prompt"
        batch.append(
            datum_from_model_input_weights(tinker.ModelInput.from_ints(tokens), weights, 32)
        )
    adam = tinker.AdamParams(learning_rate=1e-3, beta1=0.9, beta2=0.95, eps=1e-8)
    nlls = []
    for _ in range(3):
        fwd_bwd = training.forward_backward(batch, loss_fn="cross_entropy")
        optim = training.optim_step(adam)
        result = fwd_bwd.result()
        optim.result()
        logprobs = [out["logprobs"] for out in result.loss_fn_outputs]
        nlls.append(compute_mean_nll(logprobs, [d.loss_fn_inputs["weights"] for d in batch]))

    # A checkpoint as the recipes save one, and a resume from the record it appended.
    paths = checkpoint_utils.save_checkpoint(
        training_client=training,
        name="sl-3",
        log_path=log_path,
        loop_state={"batch": 3},
        kind="both",
        ttl_seconds=3600,
    )
    record = checkpoint_utils.get_last_checkpoint(log_path)
    assert record is not None and record.batch == 3
    resumed = service.create_training_client_from_state_with_optimizer(record.state_path).result()
    resumed_result = resumed.forward_backward(batch, loss_fn="cross_entropy").result()
    resumed_nll = compute_mean_nll(
        [out["logprobs"] for out in resumed_result.loss_fn_outputs],
        [d.loss_fn_inputs["weights"] for d in batch],
    )

    # Sampling through the cookbook's completer (no seed: only the shape is compared).
    sampler = service.create_sampling_client(model_path=paths["sampler_path"]).result()
    completer = TinkerTokenCompleter(sampling_client=sampler, max_tokens=6)
    prompt = tinker.ModelInput.from_ints(list(b"Hello"))
    completion = asyncio.run(completer(prompt, stop=[]))
    held_out = asyncio.run(SamplerNLLEvaluator(batch, name="held_out")(sampler))
    # The decisions recipe: one sample request scoring a label token per choice at the answer
    # position (target_prompt_logprobs from TensorData.from_torch_sparse).
    rendering = DecisionRendering(
        tokens=list(b"Pick one: A or B? Answer: ?"),
        choice_pos=len(b"Pick one: A or B? Answer: "),
        label_tokens={"A": ord("A"), "B": ord("B")},
    )
    decision = asyncio.run(sample_decision(sampler, rendering))

    # RL: two rollouts of one prompt (seeded samples, so both SDKs see the same tokens), the
    # cookbook's advantages, its data assembly with provenance, and its training step.
    transitions = []
    for seed, reward in ((1, 1.0), (2, 0.0)):
        sampled = sampler.sample(
            prompt, 1, tinker.SamplingParams(max_tokens=5, temperature=1.0, seed=seed)
        ).result()
        sequence = sampled.sequences[0]
        action = TokensWithLogprobs(
            tokens=list(sequence.tokens),
            maybe_logprobs=list(sequence.logprobs or []),
            stop_reason=sequence.stop_reason,
            sequence_id=sequence.sequence_id,
        )
        transitions.append(Transition(ob=prompt, ac=action, reward=reward, episode_done=True))
    group = TrajectoryGroup(
        trajectories_G=[Trajectory(transitions=[t], final_ob=prompt) for t in transitions],
        final_rewards_G=[0.0, 0.0],
        metrics_G=[{}, {}],
    )
    data, metadata = assemble_training_data([group], compute_advantages([group]))
    rl_logprobs = asyncio.run(
        train_step(data, training, 1e-4, num_substeps=1, loss_fn="importance_sampling")
    )

    # SDFT's top-K distillation data: the teacher's top-K prompt logprobs over each rollout's
    # completion, teacher-forced after a teacher prompt, as [N, K] cross_entropy targets.
    teacher_prompt = tinker.ModelInput.from_ints(list(b"Teacher: Hello"))
    topk_data, topk_metrics = asyncio.run(
        build_topk_distillation_datums(
            data, metadata, sampler, [teacher_prompt], topk=3, skip_first_n_tokens=0
        )
    )
    topk_step = training.forward_backward(topk_data, loss_fn="cross_entropy").result()

    # Top-K distillation: K teacher candidates per position, their renormalised probabilities
    # as weights, the student's logprobs of all K scored by the server.
    k = 3
    generator = torch.Generator().manual_seed(0)
    student = batch[0]
    n = student.model_input.length
    candidates = torch.randint(0, 256, (n, k), generator=generator)
    teacher = torch.softmax(torch.randn(n, k, generator=generator), dim=-1)
    top_k = tinker.Datum(
        model_input=student.model_input,
        loss_fn_inputs={
            "target_tokens": tinker.TensorData.from_torch(candidates),
            "weights": tinker.TensorData.from_torch(teacher),
        },
    )
    distilled = training.forward_backward_custom([top_k], reverse_kl_custom_loss).result()
    distilled_logprobs = distilled.loss_fn_outputs[0]["logprobs"]

    # The recipes' checkpoint manager, in an async training loop.
    managed_log = tempfile.mkdtemp()

    async def managed_run() -> dict[str, str]:
        manager = CheckpointManager(
            training_client=training,
            service_client=service,
            log_path=managed_log,
            save_every=2,
            rolling_save_every=1,
            async_periodic_saves=True,
        )
        for step in range(1, 4):
            await (await training.forward_backward_async(batch, loss_fn="cross_entropy"))
            await (await training.optim_step_async(adam))
            await manager.maybe_save_async(step, {"batch": step})
        return await manager.save_final_async({"batch": 3})

    final = asyncio.run(managed_run())
    run_id = tinker.ParsedCheckpointTinkerPath.from_tinker_path(final["state_path"])
    rest = service.create_rest_client()
    kept = rest.list_checkpoints(run_id.training_run_id).result().checkpoints
    renderer = checkpoint_utils.get_renderer_name_from_checkpoint(service, final["state_path"])

    print(
        json.dumps(
            {
                "nlls": nlls,
                "resumed_nll": resumed_nll,
                "paths": sorted(paths),
                "completion": [len(completion.tokens), len(completion.logprobs)],
                "sequence_id": isinstance(completion.sequence_id, str),
                "rl_data": [
                    [d.model_input.length, sorted(d.loss_fn_inputs), len(d.model_input_spans)]
                    for d in data
                ],
                "rl_logprobs": [t.tolist() for t in rl_logprobs],
                "held_out_nll": held_out["held_out/nll"],
                "decision": decision,
                "sdft_topk_metrics": topk_metrics,
                "sdft_topk_loss": topk_step.metrics["loss:sum"],
                "sdft_topk_shapes": [
                    list(d.loss_fn_inputs["target_tokens"].to_numpy().shape) for d in topk_data
                ],
                "distill_kl": distilled.metrics["sdft/reverse_kl_loss"],
                "distill_logprobs_shape": list(distilled_logprobs.to_numpy().shape),
                "kept_checkpoints": sorted(
                    f"{c.checkpoint_type}:{c.tinker_path.rsplit('/', 1)[-1]}" for c in kept
                ),
                "managed_records": [
                    r.name for r in checkpoint_utils.load_checkpoints_file(managed_log)
                ],
                "renderer": renderer,
            }
        )
    )


if __name__ == "__main__":
    main()
