"""Device, dtype and threads: chosen deliberately, validated, and logprobs stay float32."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from tinker_local.engine import DatumArrays, LoraTrainer, Sampler, UserInputError, runtime


@pytest.fixture
def restore_runtime() -> Iterator[None]:
    before, threads = runtime.current(), torch.get_num_threads()
    yield
    dtype = {v: k for k, v in runtime.DTYPES.items()}[before.dtype]
    runtime.configure(before.device.type, dtype, threads)


def test_bfloat16_parameters_still_return_float32_logprobs(restore_runtime: None) -> None:
    chosen = runtime.configure("cpu", "bfloat16", 1)
    assert chosen.dtype == torch.bfloat16 and torch.get_num_threads() == 1
    trainer = LoraTrainer("local/tiny-llama", rank=2, seed=0)
    base_param = next(p for n, p in trainer.model.named_parameters() if "lora_" not in n)
    assert base_param.dtype == torch.bfloat16
    tokens = list(b"bf16 model")
    datum = DatumArrays(
        tokens=tokens[:-1],
        loss_fn_inputs={"target_tokens": np.array(tokens[1:]), "weights": np.ones(9)},
    )
    out = trainer.forward([datum], "cross_entropy", backward=True)
    assert out.loss_fn_outputs[0]["logprobs"].dtype == np.float32
    assert np.isfinite(out.loss_fn_outputs[0]["logprobs"]).all()
    trainer.optim_step(learning_rate=1e-2)
    sampled = Sampler.from_trainer(trainer).sample(tokens, max_tokens=3, seed=0)
    assert len(sampled.sequences[0].logprobs) == 3
    assert all(isinstance(lp, float) and lp <= 0 for lp in sampled.sequences[0].logprobs)


def test_bad_runtime_choices_are_refused(restore_runtime: None) -> None:
    with pytest.raises(UserInputError, match="device: expected one of"):
        runtime.configure("tpu")
    with pytest.raises(UserInputError, match="dtype: expected one of"):
        runtime.configure("cpu", "int8")
    with pytest.raises(UserInputError, match="threads: expected an integer >= 1"):
        runtime.configure("cpu", "float32", 0)
    if not torch.cuda.is_available():
        with pytest.raises(UserInputError, match="no CUDA device"):
            runtime.configure("cuda")
    assert runtime.configure("auto", "auto", 1).device.type in ("cpu", "cuda")
    assert 1 <= runtime.default_threads() <= 8


def test_serve_command_lines_take_the_new_options() -> None:
    from click.testing import CliRunner

    from tinker_hl.cli import cli
    from tinker_local.cli import serve

    argv = ["--model", "a/b", "--model", "c=/tmp/x", "--device", "cpu", "--threads", "3"]
    params = serve.make_context("serve", argv).params
    assert params["models"] == ("a/b", "c=/tmp/x")
    assert params["device"] == "cpu" and params["threads"] == 3
    help_text = CliRunner().invoke(cli, ["serve", "--help"]).output
    for option in ("--model", "--device", "--dtype", "--threads", "--jwt"):
        assert option in help_text
