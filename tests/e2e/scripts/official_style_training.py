"""A training script written for the official SDK (tinker 0.7.0), the way research code builds
its data: one token buffer reused for every example (cleared after building each chunk), loss
inputs assembled in lists that are mutated and reused after the call returned, numpy arrays
changed in place, and the official module paths. Prints the losses as JSON.

Run as is for the official SDK, or after `tinker_hl.install_as_tinker()` for tinker_hl.
"""

import json
import os

import numpy as np
import tinker
from tinker import types
from tinker.lib.public_interfaces import APIFuture
from tinker.types.tensor_data import TensorData

TEXTS = [b"the quick brown fox jumps", b"over the lazy dog again", b"tinker trains adapters"]


def main() -> None:
    service = tinker.ServiceClient(
        api_key=os.environ["TINKER_API_KEY"], base_url=os.environ["TINKER_BASE_URL"]
    )
    training = service.create_lora_training_client(base_model="local/tiny-llama", rank=4, seed=3)
    buffer: list[int] = []
    targets: list[int] = []
    weights = np.zeros(64, dtype=np.float32)
    losses = []
    for step in range(3):
        data = []
        for text in TEXTS:
            buffer.extend(text[:-1])
            chunk = types.EncodedTextChunk(tokens=buffer)
            targets.extend(text[1:])
            weights[: len(targets)] = 1.0 + 0.5 * step
            datum = types.Datum(
                model_input=types.ModelInput(chunks=[chunk]),
                loss_fn_inputs={
                    "target_tokens": TensorData(data=targets, dtype="int64", shape=[len(targets)]),
                    "weights": weights[: len(targets)],
                },
            )
            data.append(datum)
            buffer.clear()  # the buffer is reused for the next example
            targets.clear()
        future: APIFuture = training.forward_backward(data, "cross_entropy")
        weights[:] = 0.0  # changed right after the call returned
        data.clear()
        optim = training.optim_step(types.AdamParams(learning_rate=1e-2))
        losses.append(future.result().metrics["loss:sum"])
        optim.result()
    prompt_tokens = list(TEXTS[0][:5])
    prompt = types.ModelInput.from_ints(prompt_tokens)
    prompt_tokens.clear()
    sampler = training.save_weights_and_get_sampling_client("official-style")
    logprobs = sampler.compute_logprobs(prompt).result()
    print(json.dumps({"losses": losses, "prompt_logprobs": logprobs[1:]}))


if __name__ == "__main__":
    main()
