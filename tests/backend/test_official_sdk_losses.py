"""The official `tinker` SDK, unmodified, training with `cispo` and `dro` (names in its enum since
0.7.0) against the local backend; a bad loss config reaches it as a user error naming the key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

tinker = pytest.importorskip("tinker")
from tinker import types  # noqa: E402

TOKENS = list(b"the official sdk trains with rl losses")
N = len(TOKENS) - 1
CONFIGS = {
    "cispo": {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2},
    "dro": {"beta": 0.1},
}


@pytest.fixture(scope="module")
def service(server: Any) -> Iterator[Any]:
    client = tinker.ServiceClient(api_key=server.api_keys[0], base_url=server.url)
    yield client
    client.holder.close()


def _sft(tokens: list[int]) -> Any:
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:]},
    )


def _rl(sampler_lp: np.ndarray, advantages: np.ndarray) -> Any:
    return types.Datum(
        model_input=types.ModelInput.from_ints(TOKENS[:-1]),
        loss_fn_inputs={
            "target_tokens": TOKENS[1:],
            "logprobs": types.TensorData.from_numpy(sampler_lp.astype(np.float32)),
            "advantages": types.TensorData.from_numpy(advantages.astype(np.float32)),
        },
    )


@pytest.mark.parametrize("loss_fn", sorted(CONFIGS))
def test_rl_loss_trains_through_the_official_sdk(service: Any, loss_fn: str) -> None:
    training = service.create_lora_training_client(base_model="local/tiny-llama", rank=4, seed=0)
    before = training.forward([_sft(TOKENS)], "cross_entropy").result()
    lp = np.asarray(before.loss_fn_outputs[0]["logprobs"].data, dtype=np.float32)
    q = (lp + np.random.default_rng(0).normal(0, 0.1, N)).astype(np.float32)
    a = np.ones(N, dtype=np.float32)
    if loss_fn == "cispo":
        expected = -(np.clip(np.exp(lp - q), 0.8, 1.2) * lp * a).sum()
    else:
        expected = -(lp * a - 0.05 * (lp - q) ** 2).sum()

    out = training.forward([_rl(q, a)], loss_fn, CONFIGS[loss_fn]).result()
    assert out.metrics["loss:sum"] == pytest.approx(float(expected), rel=1e-4)
    for _ in range(3):
        training.forward_backward([_rl(q, a)], loss_fn, CONFIGS[loss_fn])
        training.optim_step(types.AdamParams(learning_rate=5e-3))
    after = training.forward([_sft(TOKENS)], "cross_entropy").result()
    assert sum(after.loss_fn_outputs[0]["logprobs"].data) > lp.sum()


def test_a_bad_loss_config_is_a_user_error_naming_the_key(service: Any) -> None:
    training = service.create_lora_training_client(base_model="local/tiny-llama", rank=4)
    datum = _rl(np.zeros(N), np.ones(N))
    with pytest.raises(tinker.RequestFailedError, match="beta") as info:
        training.forward_backward([datum], "dro", {"beta": -1.0}).result()
    assert info.value.category == types.RequestErrorCategory.User
