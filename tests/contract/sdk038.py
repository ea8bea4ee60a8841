"""Running a script against the installed official SDK 0.38 in a subprocess: that wheel cannot
share a process with our generated protobuf module (both register the same protobuf package)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SDK = Path(__file__).resolve().parents[2] / ".sdk" / "tinker-0.38.0"


def run_with_038(script: str, *args: str) -> Any:
    """The JSON that `script` prints, run with the 0.38 wheel importable as `tinker`."""
    if not (SDK / ".installed").exists():
        pytest.fail(f"{SDK} is missing: `make install` installs every tested SDK version")
    env = {**os.environ, "PYTHONPATH": str(SDK), "TINKER_TELEMETRY": "0"}
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=SDK,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)
