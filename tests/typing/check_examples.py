"""`make typecheck`: `mypy --strict` over the README's Python examples and `examples/`, as a user
of the package would check their own code.

Every ```python block of README.md is checked as a program of its own, except a fragment that
continues the examples above it (it uses their names): such a block follows a line
`<!-- fragment -->`, and this script lists the fragments it leaves out.

    .venv/bin/python tests/typing/check_examples.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).resolve().parent / "mypy-examples.ini"
FRAGMENT = "<!-- fragment -->"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def readme_blocks(text: str) -> tuple[list[tuple[int, str]], list[int]]:
    """(line, code) of each block to check, and the lines of the fragments left out."""
    checked: list[tuple[int, str]] = []
    fragments: list[int] = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        if before == FRAGMENT:
            fragments.append(line)
        else:
            checked.append((line, match.group(1)))
    return checked, fragments


def main() -> int:
    checked, fragments = readme_blocks((ROOT / "README.md").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for line, code in checked:
            path = Path(tmp) / f"README_md_line_{line}.py"
            path.write_text(code)
            files.append(str(path))
        files += sorted(str(p) for p in (ROOT / "examples").glob("*.py"))
        print(
            f"mypy --strict: {len(checked)} README examples, {len(files) - len(checked)} files "
            f"of examples/; README fragments not checked (lines): {fragments or 'none'}"
        )
        mypy = Path(sys.executable).parent / "mypy"
        cmd = [str(mypy), "--config-file", str(CONFIG), "--no-incremental", *files]
        return subprocess.run(cmd, cwd=ROOT).returncode


if __name__ == "__main__":
    raise SystemExit(main())
