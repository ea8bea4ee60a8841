"""The RL losses cispo, dro and gspo through tinker_hl's forward_backward against the local
backend: values that follow the documented formulas, training that moves the policy the way the
advantages say, and bad configs answered with an error naming the key."""

from __future__ import annotations

import numpy as np
import pytest

import tinker_hl as tinker
from tinker_hl import types

MODEL = "local/tiny-llama"
TOKENS = list(b"reinforce the good tokens")
N = len(TOKENS) - 1
CONFIGS = {
    "cispo": {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2},
    "dro": {"beta": 0.1},
    "gspo": {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2},
}


def _datum(sampler_lp: np.ndarray, advantages: np.ndarray) -> types.Datum:
    return types.Datum(
        model_input=types.ModelInput.from_ints(TOKENS[:-1]),
        loss_fn_inputs={
            "target_tokens": TOKENS[1:],
            "logprobs": sampler_lp.astype(np.float32),
            "advantages": advantages.astype(np.float32),
            "sequence_ratio_mask": np.ones(N, dtype=np.float32),
        },
    )


def _without_mask(datum: types.Datum) -> types.Datum:
    inputs = {k: v for k, v in datum.loss_fn_inputs.items() if k != "sequence_ratio_mask"}
    return types.Datum(model_input=datum.model_input, loss_fn_inputs=inputs)


def _expected(loss_fn: str, lp: np.ndarray, q: np.ndarray, a: np.ndarray) -> float:
    if loss_fn == "cispo":
        return float(-(np.clip(np.exp(lp - q), 0.8, 1.2) * lp * a).sum())
    if loss_fn == "dro":
        return float(-(lp * a - 0.05 * (lp - q) ** 2).sum())
    s = np.exp((lp - q).mean())
    return float(-np.minimum(s * a, np.clip(s, 0.8, 1.2) * a).sum())


@pytest.mark.parametrize("loss_fn", sorted(CONFIGS))
def test_rl_loss_follows_its_formula_and_raises_rewarded_logprobs(
    service: tinker.ServiceClient, loss_fn: str
) -> None:
    client = service.create_lora_training_client(MODEL, rank=4, seed=0)
    probe = types.Datum(
        model_input=types.ModelInput.from_ints(TOKENS[:-1]),
        loss_fn_inputs={"target_tokens": TOKENS[1:]},
    )
    before = client.forward([probe], "cross_entropy").result()
    lp = before.loss_fn_outputs[0]["logprobs"].to_numpy()
    rng = np.random.default_rng(0)
    sampler_lp = lp + rng.normal(0, 0.1, N)
    advantages = np.ones(N)  # every sampled token was good
    datum = _datum(sampler_lp, advantages)
    if loss_fn != "gspo":
        datum = _without_mask(datum)

    out = client.forward([datum], loss_fn, CONFIGS[loss_fn]).result()
    assert out.metrics["loss:sum"] == pytest.approx(
        _expected(loss_fn, lp, sampler_lp.astype(np.float32), advantages), rel=1e-4
    )
    for _ in range(3):
        client.forward_backward([datum], loss_fn, CONFIGS[loss_fn])
        client.optim_step(types.AdamParams(learning_rate=5e-3))
    after = client.forward([probe], "cross_entropy").result()
    assert after.loss_fn_outputs[0]["logprobs"].to_numpy().sum() > lp.sum()


@pytest.mark.parametrize(
    ("loss_fn", "config", "match"),
    [
        ("dro", {}, "beta"),
        ("cispo", {"clip_low_threshold": 2.0}, "clip_low_threshold"),
        ("gspo", {"kl_coeff": 0.1}, "kl_coeff"),
        ("stable_reinforce", {}, "stable_reinforce"),
    ],
)
def test_bad_loss_settings_are_user_errors_naming_the_key(
    service: tinker.ServiceClient, loss_fn: str, config: dict[str, float], match: str
) -> None:
    client = service.create_lora_training_client(MODEL, rank=4, seed=0)
    datum = _datum(np.zeros(N), np.ones(N))
    with pytest.raises(tinker.RequestFailedError, match=match) as info:
        client.forward_backward([datum], loss_fn, config).result()
    assert info.value.category == "user"
    # The model keeps working after the rejected request.
    assert client.forward([_without_mask(datum)], "dro", {"beta": 0.1}).result().metrics


def test_gspo_mask_is_checked_before_sending(service: tinker.ServiceClient) -> None:
    client = service.create_lora_training_client(MODEL, rank=4, seed=0)
    datum = _without_mask(_datum(np.zeros(N), np.ones(N)))
    with pytest.raises(tinker.ValidationError, match="sequence_ratio_mask"):
        client.forward_backward([datum], "gspo")
