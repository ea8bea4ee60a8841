"""Regenerate (or check) `generated/` from the contract: `generated/tinker_api_client` from
`openapi.yaml` (openapi-python-client) and `generated/tinker_proto` from `tinker_public.proto`
(protoc, as bundled by the pinned grpcio-tools).

    python codegen/generate.py           # rewrite generated/ from the contract
    python codegen/generate.py --check   # validate the spec; show a diff if generated/ is stale

Each generator writes into a fresh temporary folder that then replaces the old package: the
client generator's own `--overwrite` keeps stale top-level files, which would make the output
depend on history.
"""

from __future__ import annotations

import argparse
import difflib
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CONFIG = ROOT / "codegen" / "config.yaml"
# Our version of the generator's model template (it adds the conveniences' base classes) and
# the module that declares them, copied into the package as `conveniences.py`.
TEMPLATES = ROOT / "codegen" / "templates"
CONVENIENCES = ROOT / "codegen" / "conveniences.py"
PACKAGE = "tinker_api_client"
TARGET = ROOT / "generated" / PACKAGE
PROTO = ROOT / "tinker_public.proto"
PROTO_PACKAGE = "tinker_proto"
PROTO_TARGET = ROOT / "generated" / PROTO_PACKAGE
PROTO_INIT = '''"""Protobuf messages of the Tinker protocol, compiled from tinker_public.proto by
`make generate` (never edit by hand)."""
'''


# Limits that the client checks before sending and the server enforces, each declared once in
# openapi.yaml (where the server's schema validation reads it) and exported by name, for both
# sides, as generated/tinker_api_client/limits.py. Name -> (JSON pointer into the spec, what).
LIMITS: dict[str, tuple[str, str]] = {
    "CHECKPOINT_NAME_PATTERN": (
        "/components/parameters/CheckpointName/schema/pattern",
        "A checkpoint name: one path segment of letters, digits, '.', '_' and '-'.",
    ),
    "PAGE_LIMIT_MAX": (
        "/components/parameters/Limit/schema/maximum",
        "The largest page (`limit`) a listing endpoint serves.",
    ),
    "CHECKPOINT_TTL_MIN_S": (
        "/components/schemas/SaveWeightsRequest/properties/ttl_seconds/minimum",
        "The shortest checkpoint time to live, in seconds.",
    ),
    "CHECKPOINT_TTL_MAX_S": (
        "/components/schemas/SaveWeightsRequest/properties/ttl_seconds/maximum",
        "The longest checkpoint time to live, in seconds.",
    ),
    "TOPK_MASK_LOGPROB": (
        "/components/schemas/TopkLogprob/x-mask-logprob",
        "The logprob of a padded (token 0) cell of a protobuf top-k table: no entry.",
    ),
}
LIMITS_HEADER = '''"""Limits shared by the client and the server, read from openapi.yaml by
`make generate` (codegen/generate.py, LIMITS). Never edit by hand. Enumerations (loss function
names, image formats, ...) are in their models' `*_VALUES` sets."""
'''


def _pointer(spec: dict[str, object], pointer: str) -> object:
    node: object = spec
    for part in pointer.strip("/").split("/"):
        if not isinstance(node, dict) or part not in node:
            raise SystemExit(f"openapi.yaml has no {pointer} (codegen/generate.py LIMITS)")
        node = node[part]
    return node


def write_limits(dest: Path) -> None:
    import yaml

    spec = yaml.safe_load(SPEC.read_text())
    lines = [LIMITS_HEADER]
    for name, (pointer, what) in LIMITS.items():
        value = _pointer(spec, pointer)
        lines.append(f'\n# {pointer}\n{name} = {value!r}\n"""{what}"""\n')
    (dest / "limits.py").write_text("".join(lines))


def validate_spec() -> None:
    import yaml
    from openapi_spec_validator import validate

    validate(yaml.safe_load(SPEC.read_text()))


def generate_into(out_dir: Path) -> Path:
    """Run openapi-python-client; return the generated package folder inside out_dir."""
    dest = out_dir / PACKAGE
    bin_dir = Path(sys.executable).parent
    cmd = [
        str(bin_dir / "openapi-python-client"),
        "generate",
        "--path",
        str(SPEC),
        "--config",
        str(CONFIG),
        "--meta",
        "none",
        "--custom-template-path",
        str(TEMPLATES),
        "--output-path",
        str(dest),
    ]
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONHASHSEED": "0", "NO_COLOR": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=out_dir)
    if proc.returncode != 0 or "Error" in proc.stdout or "Warning" in proc.stdout:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit("openapi-python-client failed or warned; see above")
    (dest / "py.typed").touch()
    write_limits(dest)
    shutil.copyfile(CONVENIENCES, dest / "conveniences.py")
    return dest


def generate_proto_into(out_dir: Path) -> Path:
    """Compile tinker_public.proto (messages and type stubs); return the package folder."""
    dest = out_dir / PROTO_PACKAGE
    dest.mkdir(parents=True)
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO.parent}",
        f"--python_out={dest}",
        f"--pyi_out={dest}",
        str(PROTO),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={"PYTHONHASHSEED": "0"})
    if proc.returncode != 0 or proc.stderr.strip():
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit("protoc failed or warned; see above")
    (dest / "__init__.py").write_text(PROTO_INIT)
    (dest / "py.typed").touch()
    return dest


def _files(folder: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(folder)): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def diff_trees(expected: Path, actual: Path, package: str = PACKAGE) -> list[str]:
    """Unified diff lines turning `actual` (committed) into `expected` (fresh)."""
    want, have = _files(expected), _files(actual)
    lines: list[str] = []
    for rel in sorted(set(want) | set(have)):
        if rel in want and rel in have and filecmp.cmp(want[rel], have[rel], shallow=False):
            continue
        old = have[rel].read_text().splitlines(keepends=True) if rel in have else []
        new = want[rel].read_text().splitlines(keepends=True) if rel in want else []
        lines += difflib.unified_diff(
            old, new, f"committed/{package}/{rel}", f"from-spec/{package}/{rel}"
        )
    return lines


def _check(fresh: Path, target: Path, package: str) -> bool:
    if not target.exists():
        print(f"{target.relative_to(ROOT)} is missing: run `make generate`")
        return False
    diff = diff_trees(fresh, target, package)
    if diff:
        sys.stdout.writelines(diff[:400])
        print(
            f"\ngenerated/{package} differs from what the contract yields. Never edit "
            "generated/ by hand: change openapi.yaml / tinker_public.proto and run `make generate`."
        )
        return False
    return True


def _replace(fresh: Path, target: Path, package: str) -> None:
    target.parent.mkdir(exist_ok=True)
    staged = target.parent / f".{package}.new"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(fresh, staged)
    shutil.rmtree(target, ignore_errors=True)
    staged.rename(target)
    print(f"wrote {target.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if generated/ is stale")
    args = parser.parse_args()
    validate_spec()
    with tempfile.TemporaryDirectory() as tmp:
        outputs = [
            (generate_into(Path(tmp)), TARGET, PACKAGE),
            (generate_proto_into(Path(tmp) / "proto"), PROTO_TARGET, PROTO_PACKAGE),
        ]
        if args.check:
            results = [_check(fresh, target, package) for fresh, target, package in outputs]
            if not all(results):
                return 1
            print("generated/ matches openapi.yaml and tinker_public.proto")
            return 0
        for fresh, target, package in outputs:
            _replace(fresh, target, package)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
