"""The local backend's loss functions against a direct torch computation of the Tinker
documentation's formulas, their gradients, and their config and input checks."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from tinker_api_client.models.loss_fn_type import LOSS_FN_TYPE_VALUES

from tinker_hl.local_tokenizers import BOS_TOKEN_ID, EOS_TOKEN_ID
from tinker_hl.types import LOSS_FN_REQUIRED_KEYS
from tinker_local.engine import DEFAULT_MODEL, DatumArrays, LoraTrainer, UserInputError
from tinker_local.engine.losses import LOSS_FNS, UNSUPPORTED_LOSS_FNS

TOKENS = [BOS_TOKEN_ID, *b"hello world", EOS_TOKEN_ID]
N = len(TOKENS) - 1
Formula = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@pytest.fixture(scope="module")
def trainer() -> LoraTrainer:
    torch.set_num_threads(1)
    trainer = LoraTrainer(DEFAULT_MODEL, rank=4, seed=0)
    # Some training first, so the adapter is not zero and its gradients are not degenerate.
    sft = DatumArrays(TOKENS[:-1], {"target_tokens": np.array(TOKENS[1:], dtype=np.int64)})
    trainer.forward([sft], "cross_entropy", backward=True)
    trainer.optim_step(learning_rate=1e-2)
    return trainer


def _target_logprobs(trainer: LoraTrainer) -> np.ndarray:
    sft = DatumArrays(TOKENS[:-1], {"target_tokens": np.array(TOKENS[1:], dtype=np.int64)})
    return trainer.forward([sft], "cross_entropy").loss_fn_outputs[0]["logprobs"]


def _datum(sampler_lp: np.ndarray, advantages: np.ndarray, **extra: np.ndarray) -> DatumArrays:
    inputs = {
        "target_tokens": np.array(TOKENS[1:], dtype=np.int64),
        "logprobs": sampler_lp.astype(np.float32),
        "advantages": advantages.astype(np.float32),
    }
    inputs.update({k: v.astype(np.float32) for k, v in extra.items()})
    return DatumArrays(TOKENS[:-1], inputs)


def _gradients(trainer: LoraTrainer) -> dict[str, torch.Tensor]:
    return {k: p.grad.detach().clone() for k, p in trainer.parameters().items()}


def _cispo(lp: torch.Tensor, q: torch.Tensor, a: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    ratio = torch.exp(lp - q)
    return -(torch.clamp(ratio, 0.7, 1.3).detach() * lp * a)


def _dro(lp: torch.Tensor, q: torch.Tensor, a: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return -(lp * a - 0.5 * 0.3 * (lp - q) ** 2)


def _gspo(lp: torch.Tensor, q: torch.Tensor, a: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    # s = exp(mean over the masked tokens of log(p/q)); s_t = sg(s) * p_t / sg(p_t).
    s = torch.exp(((lp - q) * mask).sum() / mask.sum()).detach()
    s_t = s * torch.exp(lp - lp.detach())
    return -torch.minimum(s_t * a, torch.clamp(s_t, 0.7, 1.3) * a)


CASES: list[tuple[str, dict[str, float], Formula]] = [
    ("cispo", {"clip_low_threshold": 0.7, "clip_high_threshold": 1.3}, _cispo),
    ("dro", {"beta": 0.3}, _dro),
    ("gspo", {"clip_low_threshold": 0.7, "clip_high_threshold": 1.3}, _gspo),
]


@pytest.mark.parametrize(("loss_fn", "config", "formula"), CASES, ids=[c[0] for c in CASES])
def test_loss_values_and_gradients_match_the_documented_formula(
    trainer: LoraTrainer, loss_fn: str, config: dict[str, float], formula: Formula
) -> None:
    target_lp = _target_logprobs(trainer)
    rng = np.random.default_rng(1)
    # Spread wide enough that some token ratios fall outside [0.7, 1.3] and some inside.
    sampler_lp = target_lp + rng.normal(0, 0.4, N).astype(np.float32)
    advantages = rng.normal(0, 1, N).astype(np.float32)
    mask = (np.arange(N) >= 3).astype(np.float32)  # the "prompt" is left out of the ratio
    extra = {"sequence_ratio_mask": mask} if loss_fn == "gspo" else {}
    datum = _datum(sampler_lp, advantages, **extra)

    trainer.zero_grad()
    result = trainer.forward([datum], loss_fn, config, backward=True)
    got_grads = _gradients(trainer)

    # The same formula in plain torch, differentiated through the model's own logprobs.
    trainer.zero_grad()
    logits = trainer.model(input_ids=torch.tensor([TOKENS[:-1]]), use_cache=False).logits
    all_lp = torch.log_softmax(logits.float(), dim=-1)[0]
    lp = all_lp.gather(-1, torch.tensor(TOKENS[1:]).unsqueeze(-1)).squeeze(-1)
    expected = formula(
        lp, torch.from_numpy(sampler_lp), torch.from_numpy(advantages), torch.from_numpy(mask)
    )
    expected.sum().backward()
    want_grads = _gradients(trainer)
    trainer.zero_grad()

    out = result.loss_fn_outputs[0]
    np.testing.assert_allclose(out["logprobs"], target_lp, rtol=1e-6)
    np.testing.assert_allclose(
        out["elementwise_loss"], expected.detach().numpy(), rtol=1e-5, atol=1e-6
    )
    assert math.isclose(result.metrics["loss:sum"], float(expected.detach().sum()), rel_tol=1e-5)
    assert any(float(g.abs().max()) > 0 for g in got_grads.values())
    for name, grad in got_grads.items():
        torch.testing.assert_close(grad, want_grads[name], rtol=1e-4, atol=1e-7)


def test_cispo_weights_every_token_even_when_clipped(trainer: LoraTrainer) -> None:
    """Unlike PPO, CISPO's clipped ratio only scales the gradient of log p: no token drops out."""
    target_lp = _target_logprobs(trainer)
    datum = _datum(target_lp - 1.0, np.ones(N))  # every ratio is e > 1.2: all clipped to 1.2
    trainer.zero_grad()
    out = trainer.forward([datum], "cispo", backward=True).loss_fn_outputs[0]
    np.testing.assert_allclose(out["elementwise_loss"], -1.2 * target_lp, rtol=1e-5)
    assert any(float(g.abs().max()) > 0 for g in _gradients(trainer).values())
    trainer.zero_grad()
    trainer.forward([datum], "ppo", backward=True)  # PPO clips all of them: no gradient
    assert all(float(g.abs().max()) == 0 for g in _gradients(trainer).values())
    trainer.zero_grad()


def test_defaults_are_ppos_clip_range(trainer: LoraTrainer) -> None:
    target_lp = _target_logprobs(trainer)
    datum = _datum(target_lp - 1.0, np.ones(N))
    cispo = trainer.forward([datum], "cispo").metrics["loss:sum"]
    assert cispo == pytest.approx(float(-1.2 * target_lp.sum()), rel=1e-5)
    mask = {"sequence_ratio_mask": np.ones(N)}
    gspo = trainer.forward([_datum(target_lp - 1.0, np.ones(N), **mask)], "gspo").metrics
    assert gspo["loss:sum"] == pytest.approx(-1.2 * N, rel=1e-5)  # s = e, clipped at 1.2


@pytest.mark.parametrize(
    ("loss_fn", "config", "match"),
    [
        ("cispo", {"clip_low_threshold": 1.5}, "clip_low_threshold <= 1"),
        ("cispo", {"beta": 0.1}, r"unknown key\(s\) \['beta'\].*clip_high_threshold"),
        ("gspo", {"clip_high_threshold": 0.5}, "clip_high_threshold"),
        ("gspo", {"clip_low_threshold": "low"}, r"loss_fn_config.clip_low_threshold: .*number"),
        ("dro", None, r"missing required key\(s\) \['beta'\]"),
        ("dro", {"beta": -1.0}, "loss_fn_config.beta: expected a number >= 0"),
        ("dro", {"beta": float("nan")}, "loss_fn_config.beta: expected a finite number"),
        ("dro", {"beta": True}, "loss_fn_config.beta: expected a number"),
        ("stable_reinforce", None, "'stable_reinforce' is not supported by the local backend"),
        ("custom", None, "'custom' is not supported by the local backend"),
        ("grpo", None, "unknown loss function 'grpo'"),
    ],
)
def test_bad_names_and_configs_are_user_errors_naming_the_key(
    trainer: LoraTrainer, loss_fn: str, config: dict[str, object] | None, match: str
) -> None:
    datum = _datum(np.zeros(N), np.ones(N), sequence_ratio_mask=np.ones(N))
    with pytest.raises(UserInputError, match=match):
        trainer.forward([datum], loss_fn, config)  # type: ignore[arg-type]


def test_gspo_needs_a_mask_that_marks_some_token(trainer: LoraTrainer) -> None:
    config = {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2}
    with pytest.raises(UserInputError, match=r"missing required key\(s\) \['sequence_ratio_mask'"):
        trainer.forward([_datum(np.zeros(N), np.ones(N))], "gspo", config)
    empty = _datum(np.zeros(N), np.ones(N), sequence_ratio_mask=np.zeros(N))
    with pytest.raises(UserInputError, match=r"data\[0\].loss_fn_inputs.sequence_ratio_mask"):
        trainer.forward([empty], "gspo", config)


def test_every_protocol_loss_name_is_computed_or_rejected_with_a_reason() -> None:
    """The names live in the spec's LossFnType; both sides' tables are keyed by exactly those."""
    assert set(LOSS_FNS) | set(UNSUPPORTED_LOSS_FNS) == set(LOSS_FN_TYPE_VALUES)
    assert not set(LOSS_FNS) & set(UNSUPPORTED_LOSS_FNS)
    assert set(LOSS_FN_REQUIRED_KEYS) == set(LOSS_FN_TYPE_VALUES)
    for name, spec in LOSS_FNS.items():  # the client checks what the server will require
        assert set(LOSS_FN_REQUIRED_KEYS[name]) == set(spec.required_inputs), name


# ----- cross_entropy's top-K form: [N, K] targets (the docs' top-K distillation) -------------
def _full_logprobs(trainer: LoraTrainer) -> torch.Tensor:
    """log p(v) at every position for every vocabulary id, straight from the model: [N, V]."""
    from tinker_local.engine.models import sequence_logprobs

    with torch.no_grad():
        ids = torch.tensor([TOKENS[:-1]])
        return sequence_logprobs(trainer.model, ids, torch.ones_like(ids))[0]


def test_top_k_targets_score_k_tokens_per_position_with_the_documented_loss(
    trainer: LoraTrainer,
) -> None:
    k = 3
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 259, size=(N, k)).astype(np.int64)
    weights = rng.random((N, k)).astype(np.float32)
    datum = DatumArrays(TOKENS[:-1], {"target_tokens": targets, "weights": weights})
    result = trainer.forward([datum], "cross_entropy")
    full = _full_logprobs(trainer)
    expected_lp = full.gather(-1, torch.from_numpy(targets)).numpy()
    logprobs = result.loss_fn_outputs[0]["logprobs"]
    assert logprobs.shape == (N, k)
    np.testing.assert_allclose(logprobs, expected_lp, rtol=1e-5, atol=1e-6)
    expected_loss = float(-(torch.from_numpy(expected_lp) * torch.from_numpy(weights)).sum())
    assert result.metrics["loss:sum"] == pytest.approx(expected_loss, rel=1e-5)
    # K = 1 is the per-token form: the same logprobs and loss as [N] targets.
    one = DatumArrays(TOKENS[:-1], {"target_tokens": targets[:, :1], "weights": weights[:, :1]})
    flat = DatumArrays(TOKENS[:-1], {"target_tokens": targets[:, 0], "weights": weights[:, 0]})
    as_column = trainer.forward([one], "cross_entropy")
    as_list = trainer.forward([flat], "cross_entropy")
    np.testing.assert_allclose(
        as_column.loss_fn_outputs[0]["logprobs"][:, 0], as_list.loss_fn_outputs[0]["logprobs"]
    )
    assert as_column.metrics["loss:sum"] == pytest.approx(as_list.metrics["loss:sum"], rel=1e-6)


def test_top_k_targets_batch_with_per_token_datums_and_train(trainer: LoraTrainer) -> None:
    targets = np.stack([np.array(TOKENS[1:])] * 2, axis=1).astype(np.int64)  # K = 2, same id
    top_k = DatumArrays(TOKENS[:-1], {"target_tokens": targets, "weights": np.full((N, 2), 0.5)})
    per_token = DatumArrays(TOKENS[:-1], {"target_tokens": np.array(TOKENS[1:], dtype=np.int64)})
    result = trainer.forward([top_k, per_token], "cross_entropy", backward=True)
    trainer.zero_grad()
    # Half the weight on each of two copies of the same target is the per-token loss.
    lp_k, lp_1 = (out["logprobs"] for out in result.loss_fn_outputs)
    np.testing.assert_allclose(lp_k[:, 0], lp_1, rtol=1e-5)
    assert result.metrics["loss:sum"] == pytest.approx(-2 * float(lp_1.sum()), rel=1e-5)


@pytest.mark.parametrize(
    ("inputs", "match"),
    [
        ({"weights": np.ones((N, 2), dtype=np.float32)}, r"weights: expected shape \[\d+, 3\]"),
        ({"weights": np.ones(N, dtype=np.float32)}, r"weights: expected shape \[\d+, 3\]"),
    ],
)
def test_top_k_inputs_must_all_have_the_targets_shape(
    trainer: LoraTrainer, inputs: dict[str, np.ndarray], match: str
) -> None:
    targets = np.zeros((N, 3), dtype=np.int64)
    with pytest.raises(UserInputError, match=match):
        trainer.forward(
            [DatumArrays(TOKENS[:-1], {"target_tokens": targets, **inputs})], "cross_entropy"
        )


def test_only_cross_entropy_takes_top_k_targets(trainer: LoraTrainer) -> None:
    rl = _datum(np.zeros(N), np.ones(N))
    rl.loss_fn_inputs["target_tokens"] = np.zeros((N, 2), dtype=np.int64)
    with pytest.raises(UserInputError, match=r"target_tokens: expected \d+ values"):
        trainer.forward([rl], "importance_sampling")
    bad_id = np.zeros((N, 2), dtype=np.int64)
    bad_id[2, 1] = 10_000
    with pytest.raises(UserInputError, match=r"token id 10000 at position \[2, 1\]"):
        trainer.forward([DatumArrays(TOKENS[:-1], {"target_tokens": bad_id})], "cross_entropy")
