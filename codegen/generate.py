"""Regenerate (or check) `generated/tinker_api_client` from `openapi.yaml`.

    python codegen/generate.py           # rewrite generated/ from the spec
    python codegen/generate.py --check   # validate the spec; show a diff if generated/ is stale

The generator writes into a fresh temporary folder that then replaces the old package: its own
`--overwrite` keeps stale top-level files, which would make the output depend on history.
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
PACKAGE = "tinker_api_client"
TARGET = ROOT / "generated" / PACKAGE


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
        "--output-path",
        str(dest),
    ]
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONHASHSEED": "0", "NO_COLOR": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=out_dir)
    if proc.returncode != 0 or "Error" in proc.stdout or "Warning" in proc.stdout:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit("openapi-python-client failed or warned; see above")
    (dest / "py.typed").touch()
    return dest


def _files(folder: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(folder)): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def diff_trees(expected: Path, actual: Path) -> list[str]:
    """Unified diff lines turning `actual` (committed) into `expected` (fresh)."""
    want, have = _files(expected), _files(actual)
    lines: list[str] = []
    for rel in sorted(set(want) | set(have)):
        if rel in want and rel in have and filecmp.cmp(want[rel], have[rel], shallow=False):
            continue
        old = have[rel].read_text().splitlines(keepends=True) if rel in have else []
        new = want[rel].read_text().splitlines(keepends=True) if rel in want else []
        lines += difflib.unified_diff(
            old, new, f"committed/{PACKAGE}/{rel}", f"from-spec/{PACKAGE}/{rel}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if generated/ is stale")
    args = parser.parse_args()
    validate_spec()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate_into(Path(tmp))
        if args.check:
            if not TARGET.exists():
                print(f"{TARGET.relative_to(ROOT)} is missing: run `make generate`")
                return 1
            diff = diff_trees(fresh, TARGET)
            if diff:
                sys.stdout.writelines(diff[:400])
                print(
                    "\ngenerated/ differs from what openapi.yaml yields. Never edit generated/ "
                    "by hand: change openapi.yaml and run `make generate`."
                )
                return 1
            print("generated/ matches openapi.yaml")
            return 0
        TARGET.parent.mkdir(exist_ok=True)
        staged = TARGET.parent / f".{PACKAGE}.new"
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(fresh, staged)
        shutil.rmtree(TARGET, ignore_errors=True)
        staged.rename(TARGET)
        print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
