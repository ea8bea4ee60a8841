"""`generated/` is exactly what openapi.yaml yields: the committed tree passes `--check`, a hand
edit is detected, and a spec change touches only the models it should. Three generations in all
(about 1-2 s each); the real generated/ folder is never modified."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "codegen" / "generate.py"
COMMITTED = ROOT / "generated" / "tinker_api_client"

pytestmark = pytest.mark.skipif(
    not (Path(sys.executable).parent / "openapi-python-client").exists(),
    reason="openapi-python-client is not installed next to this Python",
)


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("codegen_generate_under_test", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="module")
def fresh(gen: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generation from the committed spec, shared by the tests below."""
    out: Path = gen.generate_into(tmp_path_factory.mktemp("fresh"))
    return out


def changed_files(diff: list[str]) -> set[str]:
    prefix = "+++ from-spec/tinker_api_client/"
    return {line[len(prefix) :].strip() for line in diff if line.startswith(prefix)}


def test_committed_tree_passes_check() -> None:
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "generated/ matches openapi.yaml" in proc.stdout


def test_fresh_generation_equals_the_committed_tree(gen: ModuleType, fresh: Path) -> None:
    assert gen.diff_trees(fresh, COMMITTED) == []


def test_a_hand_edit_in_a_copy_is_detected(gen: ModuleType, fresh: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tinker_api_client"
    shutil.copytree(COMMITTED, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert gen.diff_trees(fresh, copy) == []

    datum = copy / "models" / "datum.py"
    datum.write_text(datum.read_text().replace("model_input: ModelInput", "model_input: object"))
    (copy / "models" / "handwritten_helper.py").write_text("X = 1\n")
    (copy / "errors.py").unlink()

    diff = gen.diff_trees(fresh, copy)
    text = "".join(diff)
    assert "committed/tinker_api_client/models/datum.py" in text
    assert "-    model_input: object" in text
    assert "committed/tinker_api_client/models/handwritten_helper.py" in text
    assert "from-spec/tinker_api_client/errors.py" in text
    assert COMMITTED.joinpath("models", "datum.py").read_text().count("model_input: ModelInput")


def test_renaming_a_field_changes_only_its_model(
    gen: ModuleType, fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    props = spec["components"]["schemas"]["WeightsInfoResponse"]["properties"]
    props["lora_rank_v2"] = props.pop("lora_rank")
    renamed = tmp_path / "openapi.yaml"
    renamed.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    monkeypatch.setattr(gen, "SPEC", renamed)

    (tmp_path / "out").mkdir()
    out = gen.generate_into(tmp_path / "out")
    diff = gen.diff_trees(out, fresh)
    assert changed_files(diff) == {"models/weights_info_response.py"}
    text = "".join(diff)
    assert "+    lora_rank_v2:" in text and "-    lora_rank:" in text
