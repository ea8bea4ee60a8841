"""The tinker-hl demo: fine-tune a small model on this machine, end to end.

What it runs, honestly: it starts the local backend (`tinker_local`, a Tinker-compatible server
doing real LoRA training with torch on the CPU), then drives it through `tinker_hl` exactly as a
research script would drive the Tinker service: sample before training, fine-tune on a tiny
memorisation task with a progress bar, sample after, save a checkpoint, reload it into a fresh
training client and check the next-step loss matches, and write a loss-curve PNG.

    make demo                      # or: .venv/bin/python examples/demo.py --steps 40
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("TINKER_TELEMETRY", "1")

import tinker_hl as tinker
from tinker_hl import types
from tinker_local.launcher import serve_local

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

TEXT = "The quick brown fox jumps over the lazy dog."
PROMPT = "The quick brown"


def make_datum(tokenizer: PreTrainedTokenizerBase, text: str) -> types.Datum:
    tokens = tokenizer.encode(text, add_special_tokens=False)
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
    )


def sample_text(
    sampler: tinker.SamplingClient, tokenizer: PreTrainedTokenizerBase, prompt: str
) -> str:
    prompt_tokens = tokenizer.encode(prompt, add_special_tokens=False)
    response = sampler.sample(
        types.ModelInput.from_ints(prompt_tokens),
        num_samples=1,
        sampling_params=types.SamplingParams(max_tokens=len(TEXT) - len(prompt), temperature=0.0),
    ).result()
    return prompt + str(tokenizer.decode(response.sequences[0].tokens))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--model", default="local/tiny-llama")
    parser.add_argument("--out", default="demo-output")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console()
    with tempfile.TemporaryDirectory() as data_dir, serve_local(data_dir) as server:
        console.print(f"[bold]local backend[/] at {server.url} (data in {data_dir})")
        with tinker.ServiceClient(api_key=server.api_key, base_url=server.url) as service:
            models = [m.model_name for m in service.get_server_capabilities().supported_models]
            console.print(f"models served: {', '.join(str(m) for m in models)}")
            training = service.create_lora_training_client(args.model, rank=16, seed=0).result()
            tokenizer = training.get_tokenizer()
            datum = make_datum(tokenizer, TEXT)

            before = training.save_weights_and_get_sampling_client().result()
            console.print(f"before training: {sample_text(before, tokenizer, PROMPT)!r}")

            losses: list[float] = []
            adam = types.AdamParams(learning_rate=5e-3)
            started = time.monotonic()
            with Progress(
                TextColumn("fine-tuning"),
                BarColumn(),
                TextColumn("step {task.completed}/{task.total}  loss {task.fields[loss]:.3f}"),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("train", total=args.steps, loss=float("nan"))
                for _ in range(args.steps):
                    # Pipelined: optim_step is submitted before forward_backward has finished.
                    fwd = training.forward_backward([datum], "cross_entropy")
                    step = training.optim_step(adam)
                    result = fwd.result()
                    step.result()
                    loss = result.metrics["loss:sum"] / len(datum.loss_fn_inputs["weights"].data)
                    losses.append(loss)
                    progress.update(task, advance=1, loss=loss)
            console.print(
                f"loss {losses[0]:.3f} -> {losses[-1]:.3f} in {time.monotonic() - started:.1f}s"
            )

            after = training.save_weights_and_get_sampling_client().result()
            console.print(f"after training:  {sample_text(after, tokenizer, PROMPT)!r}")

            saved = training.save_state("demo-final").result()
            console.print(f"saved checkpoint {saved.path}")
            next_loss = training.forward([datum], "cross_entropy").result().metrics["loss:sum"]
            restored = service.create_training_client_from_state_with_optimizer(saved.path)
            restored_loss = restored.forward([datum], "cross_entropy").result().metrics["loss:sum"]
            verdict = "identical" if restored_loss == next_loss else "DIFFERENT"
            console.print(
                f"reloaded into {restored.model_id}: loss {restored_loss:.6f} "
                f"(original {next_loss:.6f}, {verdict})"
            )
            rest = service.create_rest_client()
            listed = rest.list_checkpoints(training.model_id).result()
            names = [c.checkpoint_id for c in listed.checkpoints]
            console.print(f"checkpoints of {training.model_id}: {names}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(range(1, len(losses) + 1), losses, marker="o", markersize=3)
    ax.set_xlabel("step")
    ax.set_ylabel("mean token loss")
    ax.set_title(f"LoRA fine-tuning of {args.model} through tinker_hl")
    fig.tight_layout()
    fig.savefig(out / "loss_curve.png", dpi=120)
    console.print(f"loss curve written to {out / 'loss_curve.png'}")
    if losses[-1] >= losses[0]:
        raise SystemExit("the loss did not fall: something is wrong")


if __name__ == "__main__":
    main()
