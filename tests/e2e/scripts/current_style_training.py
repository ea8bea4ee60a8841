"""A training script written for the official SDK 0.38, the way current research code is:
async, factories awaited, futures awaited, a checkpoint with a time to live and metadata, a
sampler from the trained weights, `await service.close("success")`. Prints what it saw as JSON.

Run as is with 0.38 on the path for the official SDK, or after `tinker_hl.install_as_tinker()`
for tinker_hl.
"""

import asyncio
import json
import os

import tinker
from tinker import types

TEXTS = [b"the quick brown fox jumps", b"over the lazy dog again", b"tinker trains adapters"]


def datum(text: bytes, weight: float) -> types.Datum:
    return types.Datum(
        model_input=types.ModelInput.from_ints(list(text[:-1])),
        loss_fn_inputs={
            "target_tokens": types.TensorData(
                data=list(text[1:]), dtype="int64", shape=[len(text) - 1]
            ),
            "weights": types.TensorData(
                data=[weight] * (len(text) - 1), dtype="float32", shape=[len(text) - 1]
            ),
        },
    )


async def main() -> None:
    service = tinker.ServiceClient(
        api_key=os.environ["TINKER_API_KEY"], base_url=os.environ["TINKER_BASE_URL"]
    )
    training = await service.create_lora_training_client(
        base_model="local/tiny-llama", rank=4, seed=5
    )
    losses = []
    for step in range(3):
        data = [datum(text, 1.0 + 0.5 * step) for text in TEXTS]
        forward_backward = training.forward_backward(data, "cross_entropy")
        optim = training.optim_step(types.AdamParams(learning_rate=1e-2))
        losses.append((await forward_backward).metrics["loss:sum"])
        await optim
    saved = await training.save_state("current-style", ttl_seconds=7200, user_metadata={"a": "b"})
    sampler = await training.save_weights_and_get_sampling_client()
    prompt = types.ModelInput.from_ints(list(TEXTS[0][:6]))
    logprobs = await sampler.compute_logprobs(prompt)
    base_model = sampler.get_base_model()
    await service.close("success", detail="done")
    print(
        json.dumps(
            {
                "losses": losses,
                "prompt_logprobs": logprobs[1:],
                "saved": saved.path.rsplit("/", 1)[-1],
                "base_model": base_model,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
