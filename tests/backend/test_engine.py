"""The local backend's compute engine, used directly (no HTTP): these double as usage examples."""

from __future__ import annotations

import hashlib
import math
import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from tinker_hl.local_tokenizers import (
    BOS_TOKEN_ID,
    EOS_TOKEN_ID,
    LOCAL_TOKENIZER_IDS,
    load_local_tokenizer,
    local_tokenizer_dir,
)
from tinker_local.engine import (
    DEFAULT_MODEL,
    PRESETS,
    DatumArrays,
    LoraTrainer,
    Sampler,
    UserInputError,
    build_base_model,
    get_preset,
    load_lora_checkpoint,
    load_tensors,
    save_lora_checkpoint,
    save_merged_model,
    save_tensors,
)
from tinker_local.engine.models import construct_base_model, private_base_model

MODEL = DEFAULT_MODEL
TEXT = b"hello world"


@pytest.fixture(autouse=True, scope="module")
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep tokenizer files out of the home directory."""
    old = os.environ.get("TINKER_HL_CACHE_DIR")
    os.environ["TINKER_HL_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        del os.environ["TINKER_HL_CACHE_DIR"]
    else:
        os.environ["TINKER_HL_CACHE_DIR"] = old


def sft_datum(tokens: list[int], weights: list[float] | None = None) -> DatumArrays:
    """Next-token prediction on `tokens`: input tokens[:-1], targets tokens[1:]."""
    inputs = {"target_tokens": np.array(tokens[1:], dtype=np.int64)}
    if weights is not None:
        inputs["weights"] = np.array(weights, dtype=np.float32)
    return DatumArrays(tokens=tokens[:-1], loss_fn_inputs=inputs)


def rl_datum(tokens: list[int], logprobs: np.ndarray, advantages: np.ndarray) -> DatumArrays:
    return DatumArrays(
        tokens=tokens[:-1],
        loss_fn_inputs={
            "target_tokens": np.array(tokens[1:], dtype=np.int64),
            "logprobs": logprobs.astype(np.float32),
            "advantages": advantages.astype(np.float32),
        },
    )


def text_tokens(text: bytes, eos: bool = True) -> list[int]:
    return [BOS_TOKEN_ID, *text] + ([EOS_TOKEN_ID] if eos else [])


def random_batch(n: int, length: int, seed: int = 0) -> list[DatumArrays]:
    rng = np.random.default_rng(seed)
    return [sft_datum(rng.integers(0, 256, size=length + 1).tolist()) for _ in range(n)]


def adapter_equal(a: LoraTrainer, b: LoraTrainer) -> bool:
    ta, tb = a.adapter_tensors(), b.adapter_tensors()
    return ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)


@pytest.fixture(scope="module")
def memorised() -> LoraTrainer:
    """A trainer that has memorised "<bos>hello world<eos>" (greedy sampling reproduces it)."""
    trainer = LoraTrainer(MODEL, rank=8, seed=0)
    datum = sft_datum(text_tokens(TEXT))
    for _ in range(40):
        trainer.forward([datum], "cross_entropy", backward=True)  # accumulates gradients
        trainer.optim_step(learning_rate=5e-3)  # applies and clears them
    return trainer


# -- tokenizer & presets -------------------------------------------------------------------------


def test_byte_tokenizer_round_trips_utf8() -> None:
    assert "local/byte-bpe" in LOCAL_TOKENIZER_IDS
    tok = load_local_tokenizer("local/byte-bpe")
    text = "héllo wörld  \n\t 日本語 🎉 \x00 end"
    ids = tok.encode(text, add_special_tokens=False)
    assert ids == list(text.encode("utf-8"))  # ids are the raw bytes
    assert tok.decode(ids) == text
    assert tok.encode("hi") == [BOS_TOKEN_ID, ord("h"), ord("i")]  # BOS is added by default
    assert (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) == (256, 257, 258)
    assert len(tok) == 259
    with pytest.raises(KeyError, match="unknown local tokenizer"):
        local_tokenizer_dir("nope/tokenizer")


def test_tokenizer_dir_is_built_once(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TINKER_HL_CACHE_DIR", str(tmp_path))
    path = local_tokenizer_dir("local/byte-bpe")
    assert path.is_relative_to(tmp_path) and (path / "tokenizer.json").is_file()
    mtime = (path / "tokenizer.json").stat().st_mtime_ns
    assert local_tokenizer_dir("local/byte-bpe") == path
    assert (path / "tokenizer.json").stat().st_mtime_ns == mtime
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp dirs left behind


def test_presets_registry() -> None:
    assert DEFAULT_MODEL == "local/tiny-llama"
    assert {"local/tiny-llama", "local/tiny-qwen3", "local/small-llama"} <= set(PRESETS)
    preset = get_preset("local/tiny-qwen3")
    assert preset.arch == "qwen3" and preset.vocab_size == 259
    with pytest.raises(
        UserInputError, match=r"base_model: unknown model 'gpt-9'.*local/tiny-llama"
    ):
        get_preset("gpt-9")


def test_base_model_is_deterministic_and_shared() -> None:
    a, b = construct_base_model(MODEL), construct_base_model(MODEL)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert all(not p.requires_grad for p in a.parameters())
    # Another process builds exactly the same weights (nothing depends on process state).
    code = (
        "import hashlib, sys\n"
        "from tinker_local.engine.models import construct_base_model\n"
        "sd = construct_base_model(sys.argv[1]).state_dict()\n"
        "h = hashlib.sha256()\n"
        "for k in sorted(sd): h.update(k.encode()); h.update(sd[k].numpy().tobytes())\n"
        "print(h.hexdigest())\n"
    )
    here = hashlib.sha256()
    for k in sorted(sa):
        here.update(k.encode())
        here.update(sa[k].numpy().tobytes())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path)}
    other = subprocess.run(
        [sys.executable, "-c", code, MODEL],
        capture_output=True,
        text=True,
        env=env,
        cwd=pathlib.Path(__file__).parent,
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == here.hexdigest()
    # Private copies (what trainers wrap with peft) share the cached base's weight tensors.
    shared, private = build_base_model(MODEL), private_base_model(MODEL)
    assert private is not shared
    assert private.lm_head.weight is shared.lm_head.weight


# -- training ------------------------------------------------------------------------------------


def test_cross_entropy_loss_falls_when_memorising() -> None:
    trainer = LoraTrainer(MODEL, rank=8, seed=0)
    batch = [sft_datum(text_tokens(TEXT))]
    losses = []
    for _ in range(20):
        result = trainer.forward(batch, "cross_entropy", backward=True)
        trainer.optim_step(learning_rate=5e-3)
        losses.append(result.metrics["loss:sum"])
    assert losses[-1] < 0.2 * losses[0], losses
    out = result.loss_fn_outputs[0]
    n = len(batch[0].tokens)
    assert out["logprobs"].shape == (n,) and out["logprobs"].dtype == np.float32
    assert np.allclose(out["elementwise_loss"], -out["logprobs"])
    assert result.metrics["num_tokens:sum"] == n


def test_weights_scale_the_cross_entropy() -> None:
    trainer = LoraTrainer(MODEL, rank=4, seed=0)
    tokens = text_tokens(TEXT)
    weights = [0.0, 0.5] + [1.0] * (len(tokens) - 3)
    result = trainer.forward([sft_datum(tokens, weights)], "cross_entropy")
    out = result.loss_fn_outputs[0]
    expected = -out["logprobs"] * np.array(weights, dtype=np.float32)
    np.testing.assert_array_equal(out["elementwise_loss"], expected)
    assert math.isclose(result.metrics["loss:sum"], float(expected.sum()), rel_tol=1e-6)


def test_gradients_accumulate_across_calls() -> None:
    batch = random_batch(4, 16)
    full, halves = LoraTrainer(MODEL, rank=4, seed=1), LoraTrainer(MODEL, rank=4, seed=1)
    for trainer in (full, halves):  # a first step makes lora_B (and so every gradient) nonzero
        trainer.forward(batch, "cross_entropy", backward=True)
        trainer.optim_step(learning_rate=1e-2)

    full.forward(batch, "cross_entropy", backward=True)
    halves.forward(batch[:2], "cross_entropy", backward=True)
    halves.forward(batch[2:], "cross_entropy", backward=True)
    for name, p in full.parameters().items():
        assert p.grad is not None
        torch.testing.assert_close(halves.parameters()[name].grad, p.grad, rtol=1e-4, atol=1e-5)

    # A forward without backward neither adds to nor clears the accumulated gradients.
    before = {k: p.grad.clone() for k, p in halves.parameters().items() if p.grad is not None}
    halves.forward(batch, "cross_entropy", backward=False)
    assert all(torch.equal(halves.parameters()[k].grad, g) for k, g in before.items())

    full.optim_step(learning_rate=1e-2)
    halves.optim_step(learning_rate=1e-2)
    assert all(p.grad is None for p in full.parameters().values())  # the step clears them
    for k, t in full.adapter_tensors().items():
        torch.testing.assert_close(halves.adapter_tensors()[k], t, rtol=1e-4, atol=1e-6)


def test_optim_step_matches_torch_adamw() -> None:
    trainer = _trained_a_bit()
    trainer.forward(random_batch(2, 12, seed=5), "cross_entropy", backward=True)
    params = trainer.parameters()
    # The same update with torch's AdamW on copies of the weights, moments and gradients.
    copies = {k: torch.nn.Parameter(p.detach().clone()) for k, p in params.items()}
    for k, c in copies.items():
        c.grad = params[k].grad.clone()
    reference = torch.optim.AdamW(
        list(copies.values()), lr=1e-2, betas=(0.8, 0.9), eps=1e-8, weight_decay=0.1
    )
    state = trainer.state_tensors(include_optimizer=True)
    for k, c in copies.items():  # resume torch's optimizer from the trainer's moments
        reference.state[c] = {
            "step": torch.tensor(float(trainer.step)),
            "exp_avg": state[f"optimizer/exp_avg/{k}"].clone(),
            "exp_avg_sq": state[f"optimizer/exp_avg_sq/{k}"].clone(),
        }
    torch.nn.utils.clip_grad_norm_(list(copies.values()), max_norm=0.5)
    reference.step()
    metrics = trainer.optim_step(
        learning_rate=1e-2, beta1=0.8, beta2=0.9, eps=1e-8, weight_decay=0.1, grad_clip_norm=0.5
    )
    assert metrics["grad_norm:mean"] > 0.5 and metrics["learning_rate:mean"] == 1e-2
    for k, p in trainer.parameters().items():
        torch.testing.assert_close(p.detach(), copies[k].detach(), rtol=1e-6, atol=1e-7)


def _trained_a_bit(seed: int = 0) -> LoraTrainer:
    trainer = LoraTrainer(MODEL, rank=4, seed=seed)
    trainer.forward(random_batch(2, 12, seed=3), "cross_entropy", backward=True)
    trainer.optim_step(learning_rate=1e-2)
    return trainer


def test_importance_sampling_and_ppo_match_direct_torch() -> None:
    trainer = _trained_a_bit()
    tokens = text_tokens(TEXT)
    n = len(tokens) - 1
    target_lp = trainer.forward([sft_datum(tokens)], "cross_entropy").loss_fn_outputs[0]["logprobs"]
    rng = np.random.default_rng(0)
    sampler_lp = (target_lp + rng.normal(0, 0.5, n)).astype(np.float32)
    advantages = rng.normal(0, 1, n).astype(np.float32)
    ratio = torch.exp(torch.from_numpy(target_lp) - torch.from_numpy(sampler_lp))
    adv = torch.from_numpy(advantages)
    expected = {
        "importance_sampling": -(ratio * adv),
        "ppo": -torch.minimum(ratio * adv, ratio.clamp(0.7, 1.3) * adv),
    }
    for loss_fn, config in [
        ("importance_sampling", None),
        ("ppo", {"clip_low_threshold": 0.7, "clip_high_threshold": 1.3}),
    ]:
        result = trainer.forward([rl_datum(tokens, sampler_lp, advantages)], loss_fn, config)
        out = result.loss_fn_outputs[0]
        np.testing.assert_array_equal(out["logprobs"], target_lp)
        np.testing.assert_allclose(out["elementwise_loss"], expected[loss_fn].numpy(), rtol=1e-6)
        assert math.isclose(
            result.metrics["loss:sum"], float(expected[loss_fn].sum()), rel_tol=1e-5
        )


def test_ppo_clipping_stops_the_gradient() -> None:
    trainer = _trained_a_bit()
    tokens = text_tokens(TEXT)
    n = len(tokens) - 1
    target_lp = trainer.forward([sft_datum(tokens)], "cross_entropy").loss_fn_outputs[0]["logprobs"]
    # ratio = e > 1.2 with positive advantages: every token is clipped to 1.2 * A.
    datum = rl_datum(tokens, target_lp - 1.0, np.ones(n))
    out = trainer.forward([datum], "ppo", backward=True).loss_fn_outputs[0]
    np.testing.assert_allclose(out["elementwise_loss"], -1.2, rtol=1e-6)
    assert all(float(p.grad.abs().max()) == 0.0 for p in trainer.parameters().values())
    # Importance sampling on the same datum is not clipped and does move the weights.
    trainer.zero_grad()
    trainer.forward([datum], "importance_sampling", backward=True)
    assert any(float(p.grad.abs().max()) > 0.0 for p in trainer.parameters().values())


def test_same_seed_is_bit_identical_and_seeds_differ() -> None:
    def run(seed: int) -> tuple[LoraTrainer, list[np.ndarray]]:
        trainer = LoraTrainer(MODEL, rank=4, seed=seed)
        logprobs = []
        for step in range(3):
            result = trainer.forward(random_batch(3, 10, seed=step), "cross_entropy", backward=True)
            logprobs += [o["logprobs"] for o in result.loss_fn_outputs]
            trainer.optim_step(learning_rate=1e-2, weight_decay=0.01, grad_clip_norm=1.0)
        return trainer, logprobs

    (a, lp_a), (b, lp_b), (c, _) = run(7), run(7), run(8)
    assert all(np.array_equal(x, y) for x, y in zip(lp_a, lp_b, strict=True))
    assert adapter_equal(a, b)
    ta, tc = a.adapter_tensors(), c.adapter_tensors()
    assert any(float(t.abs().max()) > 0 for k, t in ta.items() if "lora_B" in k)
    assert all(not torch.equal(ta[k], tc[k]) for k in ta)


def test_train_flags_choose_the_lora_targets() -> None:
    def targets(**flags: bool) -> set[str]:
        names = LoraTrainer(MODEL, rank=2, seed=0, **flags).trainable_parameter_names()
        return {name.split(".lora_")[0].rsplit(".", 1)[-1] for name in names}

    assert targets() == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
        "lm_head",
    }
    assert targets(train_attn=False, train_unembed=False) == {"gate_proj", "up_proj", "down_proj"}
    assert targets(train_mlp=False, train_unembed=False) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert targets(train_mlp=False, train_attn=False) == {"lm_head"}
    with pytest.raises(UserInputError, match="at least one must be true"):
        LoraTrainer(MODEL, rank=2, train_mlp=False, train_attn=False, train_unembed=False)
    with pytest.raises(UserInputError, match="rank: expected an integer >= 1"):
        LoraTrainer(MODEL, rank=0)


def test_unembed_lora_on_tied_embeddings_trains_only_the_output_side() -> None:
    trainer = LoraTrainer(MODEL, rank=4, seed=0, train_mlp=False, train_attn=False)
    base_embeddings = build_base_model(MODEL).model.embed_tokens.weight.clone()
    for _ in range(3):
        trainer.forward([sft_datum(text_tokens(TEXT))], "cross_entropy", backward=True)
        trainer.optim_step(learning_rate=1e-2)
    assert torch.equal(build_base_model(MODEL).model.embed_tokens.weight, base_embeddings)


@pytest.mark.parametrize("with_optimizer", [True, False])
def test_state_round_trip_reproduces_the_next_step(
    tmp_path: pathlib.Path, with_optimizer: bool
) -> None:
    batch = random_batch(2, 12)
    original = LoraTrainer(MODEL, rank=4, seed=0)
    for _ in range(2):
        original.forward(batch, "cross_entropy", backward=True)
        original.optim_step(learning_rate=1e-2)
    path = tmp_path / "state.safetensors"
    state = original.state_tensors(include_optimizer=with_optimizer)
    save_lora_checkpoint(path, original.lora_spec, state, kind="state", metadata={"step": "2"})
    spec, tensors, metadata = load_lora_checkpoint(path, kind="state")
    assert spec == original.lora_spec and metadata["step"] == "2"

    # A different init seed: the load overwrites the adapter.
    restored = LoraTrainer(spec.base_model, spec.rank, seed=123)
    restored.load_state_tensors(tensors, load_optimizer=with_optimizer)
    assert adapter_equal(original, restored)
    assert restored.step == (2 if with_optimizer else 0)
    if not with_optimizer:  # the reference for "weights only" is the same weights, fresh Adam
        original.load_state_tensors(tensors, load_optimizer=False)
    for _ in range(2):
        losses = [
            t.forward(batch, "cross_entropy", backward=True).metrics["loss:sum"]
            for t in (original, restored)
        ]
        assert losses[0] == losses[1]
        original.optim_step(learning_rate=1e-2)
        restored.optim_step(learning_rate=1e-2)
    assert adapter_equal(original, restored)


def test_loading_incompatible_state_is_a_user_error() -> None:
    small = LoraTrainer(MODEL, rank=2, seed=0)
    with pytest.raises(UserInputError, match="has no optimizer state"):
        small.load_state_tensors(small.state_tensors(include_optimizer=False), load_optimizer=True)
    other_rank = LoraTrainer(MODEL, rank=4, seed=0).state_tensors()
    with pytest.raises(UserInputError, match="shape"):
        small.load_state_tensors(other_rank)


def test_checkpoint_files_are_written_atomically(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "ckpt" / "weights.safetensors"
    save_tensors(path, {"a": torch.arange(3.0)}, {"kind": "test"})
    save_tensors(path, {"a": torch.arange(4.0)}, {"kind": "test2"})  # replaces in one rename
    tensors, metadata = load_tensors(path)
    assert torch.equal(tensors["a"], torch.arange(4.0)) and metadata == {"kind": "test2"}
    assert [p.name for p in path.parent.iterdir()] == ["weights.safetensors"]
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(UserInputError, match="not a valid checkpoint"):
        load_tensors(tmp_path / "bad.safetensors")


def test_merged_export_loads_with_from_pretrained(
    tmp_path: pathlib.Path, memorised: LoraTrainer
) -> None:
    from transformers import AutoModelForCausalLM

    out = save_merged_model(memorised.lora_spec, memorised.adapter_tensors(), tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(out)
    tokens = text_tokens(TEXT)
    with torch.no_grad():
        logits = model(torch.tensor([tokens[:-1]])).logits[0]
    got = torch.log_softmax(logits, -1).gather(-1, torch.tensor(tokens[1:])[:, None])[:, 0]
    want = memorised.forward([sft_datum(tokens)], "cross_entropy").loss_fn_outputs[0]["logprobs"]
    np.testing.assert_allclose(got.numpy(), want, atol=1e-4)


# -- validation ------------------------------------------------------------------------------------


def test_user_errors_name_the_field() -> None:
    trainer = LoraTrainer(MODEL, rank=2, seed=0)
    good = sft_datum(text_tokens(b"abc"))
    bad_token = sft_datum([BOS_TOKEN_ID, 97, 300, 98])
    with pytest.raises(UserInputError, match=r"data\[1\]\.model_input: token id 300 at position 2"):
        trainer.forward([good, bad_token], "cross_entropy")
    short = DatumArrays(
        tokens=[1, 2, 3, 4, 5],
        loss_fn_inputs={"target_tokens": np.arange(5), "weights": np.ones(4, np.float32)},
    )
    with pytest.raises(
        UserInputError,
        match=r"data\[0\]\.loss_fn_inputs\.weights: expected 5 values to match model_input "
        r"length 5 or \[5, K\] \(K targets per position\), got shape \[4\]",
    ):
        trainer.forward([short], "cross_entropy")
    with pytest.raises(UserInputError, match="loss_fn: unknown loss function 'mse'"):
        trainer.forward([good], "mse")
    with pytest.raises(UserInputError, match=r"data\[0\]\.loss_fn_inputs: missing required key"):
        trainer.forward([good], "ppo")
    with pytest.raises(UserInputError, match=r"loss_fn_config: unknown key\(s\) \['clip'\]"):
        trainer.forward([good], "ppo", {"clip": 0.2})
    float_targets = DatumArrays([1, 2], {"target_tokens": np.array([1.0, 2.0], np.float32)})
    with pytest.raises(UserInputError, match=r"target_tokens: expected integer token ids"):
        trainer.forward([float_targets], "cross_entropy")
    with pytest.raises(UserInputError, match="data: expected at least one datum"):
        trainer.forward([], "cross_entropy")
    with pytest.raises(UserInputError, match=r"adam_params\.beta1"):
        trainer.optim_step(learning_rate=1e-3, beta1=1.0)
    # Nothing above left gradients behind.
    assert all(p.grad is None for p in trainer.parameters().values())


def test_sampler_user_errors_name_the_field() -> None:
    sampler = Sampler(MODEL)
    cases = [
        ({"prompt": []}, "prompt: expected a non-empty"),
        ({"prompt": [1, 259]}, r"prompt: token id 259 at position 1"),
        ({"num_samples": 0}, "num_samples: expected an integer >= 1"),
        ({"max_tokens": 5000}, r"max_tokens: prompt length 2 \+ max_tokens 5000 exceeds"),
        ({"top_p": 0.0}, r"top_p: expected a number in \(0, 1\]"),
        ({"temperature": -1.0}, "temperature: expected a finite number >= 0"),
        ({"stop": [1, "x"]}, "stop: expected a string"),
    ]
    for overrides, message in cases:
        kwargs: dict = {"prompt": [BOS_TOKEN_ID, 104], **overrides}
        with pytest.raises(UserInputError, match=message):
            sampler.sample(**kwargs)


# -- sampling ------------------------------------------------------------------------------------


def test_greedy_sampling_reproduces_memorised_text(memorised: LoraTrainer) -> None:
    sampler = Sampler.from_trainer(memorised)
    prompt = text_tokens(b"hello", eos=False)
    result = sampler.sample(prompt, num_samples=3, max_tokens=20, temperature=0.0)
    for seq in result.sequences:  # greedy: every sample is the same
        assert bytes(seq.tokens[:-1]) == b" world" and seq.tokens[-1] == EOS_TOKEN_ID
        assert seq.stop_reason == "stop"  # eos always stops
        assert len(seq.logprobs) == len(seq.tokens)
    alone = sampler.sample(prompt, max_tokens=20, temperature=0.0).sequences[0]
    # Batch size changes float summation order (per CPU thread count): equal up to rounding.
    assert alone.tokens == result.sequences[0].tokens
    assert alone.logprobs == pytest.approx(result.sequences[0].logprobs, abs=1e-5)


def test_topk_sample_and_target_prompt_logprobs_match_direct_torch() -> None:
    """Seeded sampling's top-k table and the chosen prompt ids' logprobs equal a plain forward of
    the base model over prompt + sampled tokens (log-softmax of the raw logits)."""
    sampler = Sampler(MODEL)
    prompt = text_tokens(b"hello", eos=False)
    ids = np.full((len(prompt) - 1, 2), -1, dtype=np.int64)
    ids[:, 0] = prompt[1:]
    ids[1, 1], ids[3, 1] = 200, 7
    result = sampler.sample(
        prompt,
        max_tokens=5,
        temperature=1.0,
        seed=11,
        topk_sample_logprobs=4,
        target_prompt_ids=ids,
        stop=[EOS_TOKEN_ID],
    )
    seq = result.sequences[0]
    with torch.no_grad():
        logits = build_base_model(MODEL)(torch.tensor([prompt + seq.tokens])).logits[0]
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    steps = logprobs[len(prompt) - 1 : len(prompt) - 1 + len(seq.tokens)]
    values, top_ids = torch.topk(steps, 4, dim=-1)
    assert seq.topk_logprobs is not None and len(seq.topk_logprobs) == len(seq.tokens)
    for row, want_ids, want_values in zip(seq.topk_logprobs, top_ids, values, strict=True):
        assert [t for t, _ in row] == want_ids.tolist()
        assert [lp for _, lp in row] == pytest.approx(want_values.tolist(), abs=1e-5)
    prompt_lps = logprobs[: len(prompt) - 1]
    want = prompt_lps.gather(-1, torch.from_numpy(np.where(ids < 0, 0, ids))).numpy()
    want[ids < 0] = 0.0
    assert result.target_prompt_logprobs is not None
    assert result.target_prompt_logprobs.dtype == np.float32
    np.testing.assert_allclose(result.target_prompt_logprobs, want, atol=1e-5)
    plain = sampler.sample(prompt, max_tokens=5, temperature=1.0, seed=11, stop=[EOS_TOKEN_ID])
    assert plain.sequences[0].tokens == seq.tokens and plain.sequences[0].topk_logprobs is None
    for kwargs, message in [
        ({"topk_sample_logprobs": 10**6}, "topk_sample_logprobs: expected an integer in"),
        ({"target_prompt_ids": ids[1:]}, r"target_prompt_logprobs: expected shape \[len"),
        ({"target_prompt_ids": np.full_like(ids, -1)}, "names no token id"),
        ({"target_prompt_ids": np.where(ids < 0, 300, ids)}, "token id 300 out of range"),
    ]:
        with pytest.raises(UserInputError, match=message):
            sampler.sample(prompt, max_tokens=2, **kwargs)


def test_prompt_alt_tokens_are_draws_at_the_request_temperature() -> None:
    """prompt_alt_tokens_k: k draws per prompt position after the first, from the same
    distribution a plain forward of the base model gives (softmax(logits / T)), with that
    forward's logprobs; greedy at T = 0; reproducible by seed; the sampled tokens unchanged."""
    sampler = Sampler(MODEL)
    prompt = text_tokens(b"hello", eos=False)
    with torch.no_grad():
        logits = build_base_model(MODEL)(torch.tensor([prompt])).logits[0, :-1].float()
    logprobs = torch.log_softmax(logits, dim=-1)  # row i: the distribution over prompt[i + 1]
    rows = len(prompt) - 1

    greedy = sampler.sample(prompt, max_tokens=2, temperature=0, prompt_alt_tokens_k=3)
    assert greedy.prompt_alt_tokens is not None
    ids, lps = greedy.prompt_alt_tokens
    assert ids.shape == lps.shape == (rows, 3) and ids.dtype == np.int64
    assert lps.dtype == np.float32
    assert (ids == logprobs.argmax(-1, keepdim=True).numpy()).all()
    np.testing.assert_allclose(lps, logprobs.gather(-1, torch.from_numpy(ids)).numpy(), atol=1e-5)

    k, temperature = 4096, 0.2  # low: the random model is nearly uniform at T = 1
    kwargs: dict[str, Any] = {"max_tokens": 4, "temperature": temperature, "seed": 5}
    drawn = sampler.sample(prompt, prompt_alt_tokens_k=k, **kwargs)
    assert drawn.prompt_alt_tokens is not None
    ids, lps = drawn.prompt_alt_tokens
    assert ids.shape == (rows, k)
    np.testing.assert_allclose(lps, logprobs.gather(-1, torch.from_numpy(ids)).numpy(), atol=1e-5)
    probs = torch.softmax(logits / temperature, dim=-1).numpy()
    for i in range(rows):  # the most likely tokens' frequencies, within 4 standard errors
        freq = np.bincount(ids[i], minlength=probs.shape[1]) / k
        for token in np.argsort(probs[i])[-5:]:
            p = float(probs[i, token])
            assert abs(freq[token] - p) <= 4 * math.sqrt(p * (1 - p) / k) + 1e-9, (i, token)
    again = sampler.sample(prompt, prompt_alt_tokens_k=k, **kwargs)
    assert again.prompt_alt_tokens is not None and (again.prompt_alt_tokens[0] == ids).all()
    plain = sampler.sample(prompt, **kwargs)
    assert plain.prompt_alt_tokens is None
    assert [s.tokens for s in plain.sequences] == [s.tokens for s in drawn.sequences]

    one = sampler.sample(prompt[:1], max_tokens=1, prompt_alt_tokens_k=2)
    assert one.prompt_alt_tokens is not None and one.prompt_alt_tokens[0].shape == (0, 2)
    with pytest.raises(UserInputError, match="prompt_alt_tokens_k: expected an integer in"):
        sampler.sample(prompt, max_tokens=1, prompt_alt_tokens_k=-1)


def test_stop_tokens_strings_and_length(memorised: LoraTrainer) -> None:
    sampler = Sampler.from_trainer(memorised)
    prompt = text_tokens(b"hello", eos=False)

    def greedy(**kwargs: Any) -> tuple[bytes, str]:
        seq = sampler.sample(prompt, temperature=0.0, **kwargs).sequences[0]
        return bytes(t for t in seq.tokens if t < 256), seq.stop_reason

    assert greedy(max_tokens=20, stop=[ord("r")]) == (b" wor", "stop")
    assert greedy(max_tokens=20, stop="orl") == (b" worl", "stop")
    assert greedy(max_tokens=20, stop=["zzz", "wo"]) == (b" wo", "stop")
    assert greedy(max_tokens=3) == (b" wo", "length")
    assert greedy(max_tokens=0) == (b"", "length")


def test_seeded_sampling_is_reproducible() -> None:
    sampler = Sampler.from_trainer(_trained_a_bit())
    prompt = text_tokens(b"hi", eos=False)

    def draw(seed: int, **kwargs: Any) -> list[list[int]]:
        result = sampler.sample(prompt, num_samples=4, max_tokens=16, seed=seed, **kwargs)
        return [s.tokens for s in result.sequences]

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)
    assert len({tuple(t) for t in draw(1)}) > 1  # samples within a request differ
    greedy = sampler.sample(prompt, max_tokens=16, temperature=0.0).sequences[0].tokens
    assert all(t == greedy for t in draw(3, top_k=1))  # top-k 1 is greedy
    assert all(t == greedy for t in draw(4, top_p=1e-6))  # so is a tiny nucleus


def test_prompt_logprobs_match_the_trainer_exactly(memorised: LoraTrainer) -> None:
    sampler = Sampler.from_trainer(memorised)
    tokens = text_tokens(b"hello there")
    trainer_lp = memorised.forward([sft_datum(tokens)], "cross_entropy").loss_fn_outputs[0]
    result = sampler.sample(tokens, max_tokens=1, include_prompt_logprobs=True)
    assert result.prompt_logprobs is not None and result.prompt_logprobs[0] is None
    np.testing.assert_array_equal(
        np.array(result.prompt_logprobs[1:], dtype=np.float32), trainer_lp["logprobs"]
    )
    assert sampler.compute_prompt_logprobs(tokens) == result.prompt_logprobs


def test_sampled_logprobs_agree_with_the_trainer() -> None:
    trainer = _trained_a_bit()
    prompt = text_tokens(b"abc", eos=False)
    # Many stop ids: samples finish at different steps and leave the batch (and KV cache) early.
    stop = list(range(0, 256, 12))
    result = Sampler.from_trainer(trainer).sample(
        prompt, num_samples=6, max_tokens=24, seed=0, stop=stop
    )
    lengths = {len(seq.tokens) for seq in result.sequences}
    assert len(lengths) > 2 and any(seq.stop_reason == "stop" for seq in result.sequences)
    for seq in result.sequences:
        assert (seq.stop_reason == "stop") == (seq.tokens[-1] in [*stop, EOS_TOKEN_ID])
        full = prompt + seq.tokens
        out = trainer.forward([sft_datum(full)], "cross_entropy").loss_fn_outputs[0]
        np.testing.assert_allclose(out["logprobs"][len(prompt) - 1 :], seq.logprobs, atol=1e-5)


def test_topk_prompt_logprobs_are_sorted_and_consistent(memorised: LoraTrainer) -> None:
    sampler = Sampler.from_trainer(memorised)
    tokens = text_tokens(b"hello world")
    result = sampler.sample(
        tokens, max_tokens=1, include_prompt_logprobs=True, topk_prompt_logprobs=5
    )
    topk, lps = result.topk_prompt_logprobs, result.prompt_logprobs
    assert topk is not None and lps is not None
    assert topk[0] is None and len(topk) == len(tokens)
    for i in range(1, len(tokens)):
        entries = topk[i]
        assert entries is not None and len(entries) == 5
        values = [v for _, v in entries]
        assert values == sorted(values, reverse=True)
        assert all(0 <= t < 259 for t, _ in entries)
        lp = lps[i]
        assert lp is not None and lp <= values[0]
        if tokens[i] in dict(entries):
            assert dict(entries)[tokens[i]] == lp
    # The model has memorised the text, so the actual next byte is usually the top choice.
    assert sum(e[0][0] == tokens[i] for i, e in enumerate(topk) if e is not None) >= 8


def test_sampler_is_a_snapshot_of_the_trainer(tmp_path: pathlib.Path) -> None:
    trainer = _trained_a_bit()
    sampler = Sampler.from_trainer(trainer)
    before = sampler.compute_prompt_logprobs(text_tokens(TEXT))
    path = tmp_path / "sampler.safetensors"
    save_lora_checkpoint(path, trainer.lora_spec, trainer.adapter_tensors(), kind="adapter")
    trainer.forward(random_batch(2, 8), "cross_entropy", backward=True)
    trainer.optim_step(learning_rate=1e-1)
    assert sampler.compute_prompt_logprobs(text_tokens(TEXT)) == before
    # The saved sampler weights rebuild the same sampler (e.g. in another server process).
    spec, adapter, _ = load_lora_checkpoint(path, kind="adapter")
    assert (
        Sampler(spec.base_model, adapter, spec).compute_prompt_logprobs(text_tokens(TEXT)) == before
    )
    with pytest.raises(UserInputError, match="holds sampler weights, expected a training state"):
        load_lora_checkpoint(path, kind="state")
    base = Sampler(MODEL).compute_prompt_logprobs(text_tokens(TEXT))
    assert base != before  # the base sampler has no adapter


@pytest.mark.parametrize("model", ["local/tiny-qwen3", "local/small-llama"])
def test_other_presets_train_and_sample(model: str) -> None:
    trainer = LoraTrainer(model, rank=2, seed=0)
    assert trainer.arch == get_preset(model).arch
    tokens = text_tokens(b"hi there")
    first = trainer.forward([sft_datum(tokens)], "cross_entropy", backward=True)
    trainer.optim_step(learning_rate=1e-2)
    second = trainer.forward([sft_datum(tokens)], "cross_entropy")
    assert second.metrics["loss:sum"] < first.metrics["loss:sum"]
    sampler = Sampler.from_trainer(trainer)
    result = sampler.sample(
        tokens, num_samples=2, max_tokens=4, seed=0, include_prompt_logprobs=True
    )
    assert result.prompt_logprobs is not None
    assert np.array_equal(
        np.array(result.prompt_logprobs[1:], dtype=np.float32),
        second.loss_fn_outputs[0]["logprobs"],
    )
    assert all(len(s.tokens) <= 4 for s in result.sequences)
