"""The official module tree: every module of tinker 0.7.0's `types/` (and the `lib/` modules
research code imports) exists under tinker_hl with the same public names, and
`install_as_tinker()` serves unmodified `import tinker.<module>` code from tinker_hl."""

from __future__ import annotations

import importlib
import pathlib
import subprocess
import sys
import types
import typing

import pytest

import tinker_hl
from tinker_hl._module_tree import LIB_MODULES

official = pytest.importorskip("tinker")  # installed in the dev environment by `make install`
OFFICIAL_ROOT = pathlib.Path(official.__file__).parent


def _public_names(module: types.ModuleType, namespace: dict[str, object]) -> set[str]:
    """What a module offers research code: the names it defines, and the names of the package's
    public namespace it holds (type aliases such as `LossFnType` have no `__module__` of their
    own). Type variables and modules are not API."""
    names = set(getattr(module, "__all__", ()))
    for name, value in vars(module).items():
        if name.startswith("_") or name == "annotations":
            continue
        if isinstance(value, types.ModuleType | typing.TypeVar):
            continue
        if getattr(value, "__module__", None) == module.__name__ or name in namespace:
            names.add(name)
    return {n for n in names if not isinstance(getattr(module, n, None), typing.TypeVar)}


def _official_types_modules() -> list[str]:
    root = OFFICIAL_ROOT / "types"
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if not any(p.startswith("_") for p in parts):
            found.append(".".join(("types", *parts)))
    return found


def test_every_official_types_module_exists_with_its_names() -> None:
    modules = _official_types_modules()
    assert len(modules) > 60  # the walk found the wheel's modules
    namespace = vars(importlib.import_module("tinker.types"))
    missing = []
    for short in modules:
        theirs = importlib.import_module(f"tinker.{short}")
        ours = importlib.import_module(f"tinker_hl.{short}")
        for name in sorted(_public_names(theirs, namespace)):
            if not hasattr(ours, name):
                missing.append(f"tinker_hl.{short}.{name}")
            elif hasattr(tinker_hl.types, name):
                assert getattr(ours, name) is getattr(tinker_hl.types, name)
    assert missing == []


@pytest.mark.parametrize("short", sorted(LIB_MODULES))
def test_lib_modules_offer_the_official_names(short: str) -> None:
    theirs = importlib.import_module(f"tinker.{short}")
    ours = importlib.import_module(f"tinker_hl.{short}")
    namespace = vars(importlib.import_module("tinker"))
    wanted = _public_names(theirs, namespace) & set(LIB_MODULES[short][1]) | set(
        getattr(theirs, "__all__", ())
    )
    for name in sorted(wanted):
        assert hasattr(ours, name), f"tinker_hl.{short}.{name}"


def test_the_lib_names_research_code_imports() -> None:
    from tinker_hl.lib.public_interfaces import APIFuture, TrainingClient
    from tinker_hl.lib.public_interfaces.rest_client import RestClient
    from tinker_hl.lib.retry_handler import RetryConfig
    from tinker_hl.types.tensor_data import TensorData

    assert APIFuture is tinker_hl.APIFuture and TrainingClient is tinker_hl.TrainingClient
    assert RestClient is tinker_hl.RestClient and RetryConfig is tinker_hl.RetryConfig
    assert TensorData is tinker_hl.types.TensorData
    assert tinker_hl.types.tensor_data.TensorData is TensorData  # attribute access, too


SCRIPT = """
import tinker_hl
tinker_hl.install_as_tinker()
import tinker
from tinker import types
from tinker.types.tensor_data import TensorData
from tinker.lib.public_interfaces import APIFuture
import tinker.lib.public_interfaces.rest_client as rest_module
assert tinker is tinker_hl and types is tinker_hl.types
assert TensorData is tinker_hl.types.TensorData and APIFuture is tinker_hl.APIFuture
assert rest_module.RestClient is tinker_hl.RestClient
print("ok")
"""


def test_install_as_tinker_serves_the_whole_tree() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_install_as_tinker_refuses_when_the_official_package_is_loaded() -> None:
    script = "import tinker, tinker_hl\ntinker_hl.install_as_tinker()\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode != 0
    assert "ImportError: install_as_tinker(): the official `tinker` package is already" in (
        out.stderr
    )
