"""The conveniences research code calls (`ModelInput.from_ints`, `TensorData.to_numpy`, ...) are
real methods of the generated classes, emitted by codegen: importing the client adds no
attribute to any generated class (type checkers see what runs), and `make typecheck` checks the
README's examples with `mypy --strict` (tests/typing/check_examples.py)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from tinker_hl import types

ROOT = Path(__file__).resolve().parents[2]

CONVENIENCES = {
    "ModelInput": ["from_ints", "empty", "to_ints", "length", "append", "append_int"],
    "EncodedTextChunk": ["length", "type"],
    "ImageChunk": ["length", "type", "format", "from_bytes", "to_bytes"],
    "ImageAssetPointerChunk": ["length", "type", "format"],
    "TensorData": [
        "from_numpy",
        "from_torch",
        "from_torch_sparse",
        "to_numpy",
        "to_torch",
        "tolist",
    ],
    "SampledSequence": ["tokens_np", "logprobs_np", "__dataclass_fields__"],
    "SampleResponse": ["prompt_logprobs_np", "__dataclass_fields__"],
    "Datum": ["__dataclass_fields__"],
    "LossFnInputs": ["keys", "values", "items", "get", "__iter__", "__len__"],
    "LossFnOutput": ["keys", "values", "items", "get", "__iter__", "__len__"],
    "Metrics": ["keys", "values", "items", "get", "__iter__", "__len__"],
    "ParsedCheckpointTinkerPath": ["from_tinker_path", "checkpoint_kind", "checkpoint_name"],
    "Checkpoint": ["checkpoint_kind", "checkpoint_name"],
}


def test_every_convenience_is_defined_by_the_generated_class_hierarchy() -> None:
    for class_name, names in CONVENIENCES.items():
        cls = getattr(types, class_name)
        for name in names:
            owner = next(c for c in cls.__mro__ if name in c.__dict__)
            assert owner.__module__ == "tinker_api_client.conveniences", (class_name, name)


def test_importing_the_client_attaches_nothing_to_the_generated_classes() -> None:
    script = textwrap.dedent(
        """
        import inspect, json
        import tinker_api_client.models as models

        def names():
            return {
                n: sorted(dir(c)) for n, c in vars(models).items() if inspect.isclass(c)
            }

        before = names()
        try:
            models.ModelInput.from_ints([1, 2])
        except RuntimeError as exc:
            unset = str(exc)
        import tinker_hl.types
        print(json.dumps({"same": before == names(), "unset": unset,
                          "tokens": models.ModelInput.from_ints([1, 2]).to_ints()}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    result = json.loads(out)
    assert result["same"], "importing tinker_hl.types added attributes to generated classes"
    assert "tinker_hl.types" in result["unset"]
    assert result["tokens"] == [1, 2]


def test_the_methods_carry_their_signatures_and_docstrings() -> None:
    sig = inspect.signature(types.ModelInput.from_ints)
    assert list(sig.parameters) == ["tokens"]
    assert inspect.getdoc(types.TensorData.to_numpy)
    assert (
        inspect.signature(types.ImageChunk.from_bytes).parameters["expected_tokens"].default is None
    )


def test_decoded_results_have_the_methods() -> None:
    out = types.ForwardBackwardOutput.from_dict(
        {
            "loss_fn_output_type": "TorchLossReturn",
            "loss_fn_outputs": [{"logprobs": {"data": [-1.0, -2.0], "dtype": "float32"}}],
            "metrics": {"loss:sum": 3.0},
        }
    )
    assert out.loss_fn_outputs[0]["logprobs"].to_numpy().dtype == np.float32
    mi = types.ModelInput.from_dict({"chunks": [{"tokens": [3, 4], "type": "encoded_text"}]})
    assert mi.length == 2 and mi.chunks[0].type == "encoded_text"


def test_the_readme_check_reads_blocks_and_leaves_out_marked_fragments() -> None:
    sys.path.insert(0, str(ROOT / "tests" / "typing"))
    try:
        import check_examples
    finally:
        sys.path.pop(0)
    text = "intro\n```python\nimport a\n```\n\n<!-- fragment -->\n```python\nb.c()\n```\n"
    checked, fragments = check_examples.readme_blocks(text)
    assert checked == [(2, "import a\n")]
    assert fragments == [7]
