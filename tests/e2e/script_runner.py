"""Running a user's script in a subprocess against the local backend, with the official SDK (a
folder of `.sdk/`) or tinker_hl through `install_as_tinker()` as `tinker`: the script prints
one JSON line of results, which is returned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

VIA_TINKER_HL = (
    "import runpy, sys, tinker_hl\n"
    "tinker_hl.install_as_tinker()\n"
    "runpy.run_path(sys.argv[1], run_name='__main__')\n"
)
"""`python -c VIA_TINKER_HL script.py`: the script, unmodified, with tinker_hl as `tinker`."""


def run_script(
    local_server: Any,
    owner_key: str,
    script: Path,
    *prefix: str,
    path: Sequence[Path] = (),
) -> dict[str, Any]:
    """The JSON the script's last line prints; `path`: folders first on PYTHONPATH (each
    installed by `make install`, with its `.installed` stamp)."""
    for folder in path:
        if not (folder / ".installed").exists():
            pytest.fail(f"{folder} is missing: `make install` installs it")
    env = {
        **os.environ,
        "TINKER_API_KEY": owner_key,
        "TINKER_BASE_URL": local_server.url,
        "TINKER_TELEMETRY": "0",
        "OMP_NUM_THREADS": "1",
    }
    if path:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in path)
    out = subprocess.run(
        [sys.executable, *prefix, str(script)], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr[-4000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
