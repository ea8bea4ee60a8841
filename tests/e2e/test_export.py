"""Exported checkpoints run outside the backend: a peft adapter folder and a merged model give
the same logprobs as the backend's sampler."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import torch

import tinker_hl as tinker
from tinker_hl import types
from tinker_local.export import ExportError, export_checkpoint

PROMPT = list(b"exported weights agree")


def _logprobs(model: torch.nn.Module, tokens: list[int]) -> list[float]:
    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0].float()
    logp = torch.log_softmax(logits[:-1], dim=-1)
    return logp.gather(1, torch.tensor(tokens[1:])[:, None])[:, 0].tolist()


@pytest.fixture(scope="module")
def trained_archive(
    service: tinker.ServiceClient, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[float | None]]:
    client = service.create_lora_training_client("local/tiny-llama", rank=4, seed=2)
    tokens = list(b"make the adapter nonzero")
    datum = types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
    )
    for _ in range(3):
        client.forward_backward([datum], "cross_entropy")
        client.optim_step(types.AdamParams(learning_rate=1e-2))
    path = client.save_weights_for_sampler("export-me").result().path
    expected = (
        client.create_sampling_client(path)
        .compute_logprobs(types.ModelInput.from_ints(PROMPT))
        .result()
    )
    url = (
        service.create_rest_client().get_checkpoint_archive_url_from_tinker_path(path).result().url
    )
    archive = tmp_path_factory.mktemp("export") / "checkpoint.tar"
    archive.write_bytes(httpx.get(url).content)
    return archive, expected


def test_peft_adapter_folder_loads_onto_the_base_model(
    trained_archive: tuple[Path, list[float | None]], tmp_path: Path
) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    archive, expected = trained_archive
    out = export_checkpoint(archive, tmp_path / "adapter")
    assert (out / "adapter_config.json").is_file()
    assert (out / "adapter_model.safetensors").is_file()
    base = AutoModelForCausalLM.from_pretrained(out / "base_model")
    model = PeftModel.from_pretrained(base, out).eval()
    assert _logprobs(model, PROMPT) == pytest.approx(expected[1:], abs=1e-4)


def test_merged_model_loads_with_from_pretrained(
    trained_archive: tuple[Path, list[float | None]], tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    archive, expected = trained_archive
    out = export_checkpoint(archive, tmp_path / "merged", merge=True)
    model = AutoModelForCausalLM.from_pretrained(out).eval()
    assert _logprobs(model, PROMPT) == pytest.approx(expected[1:], abs=1e-4)


def test_cli_export_command(
    service: tinker.ServiceClient, local_server: object, owner_key: str, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from tinker_hl.cli import cli

    client = service.create_lora_training_client("local/tiny-llama", rank=2, seed=0)
    path = client.save_state("cli-export").result().path
    env = {"TINKER_API_KEY": owner_key, "TINKER_BASE_URL": local_server.url}  # type: ignore[attr-defined]
    runner = CliRunner()
    adapter = runner.invoke(cli, ["checkpoints", "export", path, str(tmp_path / "a")], env=env)
    assert adapter.exit_code == 0, adapter.output
    assert (tmp_path / "a" / "adapter_config.json").is_file()
    merged = runner.invoke(
        cli, ["--json", "checkpoints", "export", path, str(tmp_path / "m"), "--merge"], env=env
    )
    assert merged.exit_code == 0, merged.output
    assert (tmp_path / "m" / "config.json").is_file()
    assert owner_key not in adapter.output + merged.output
    again = runner.invoke(cli, ["checkpoints", "export", path, str(tmp_path / "a")], env=env)
    assert again.exit_code == 1 and "not empty" in again.output


def test_export_refuses_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no such"):
        export_checkpoint(tmp_path / "missing.tar", tmp_path / "out")
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar")
    with pytest.raises(ExportError, match="not a checkpoint"):
        export_checkpoint(junk, tmp_path / "out")
