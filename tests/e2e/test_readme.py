"""The README's quick starts (0.7.0 style, then 0.38 style) run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _quick_start_blocks() -> list[str]:
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_quick_start_runs(capsys: object) -> None:
    blocks = _quick_start_blocks()
    assert blocks
    exec(compile(blocks[0], str(README), "exec"), {})


def test_the_038_style_quick_start_runs(capsys: object) -> None:
    blocks = _quick_start_blocks()
    assert len(blocks) == 2
    exec(compile(blocks[1], str(README), "exec"), {})
