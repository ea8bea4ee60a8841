"""Done when: a script written for the official 0.7.0 SDK, one that copies, mutates and re-uses
its lists the way research code does, gives the same losses through `install_as_tinker()` as
through the official SDK, against the same local backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .script_runner import VIA_TINKER_HL, run_script

pytest.importorskip("tinker")  # the official SDK, installed by `make install`

SCRIPT = Path(__file__).parent / "scripts" / "official_style_training.py"


def _run(
    local_server: Any,
    owner_key: str,
    *prefix: str,
    script: Path = SCRIPT,
    path: Path | None = None,
) -> dict[str, Any]:
    return run_script(local_server, owner_key, script, *prefix, path=[path] if path else [])


def test_an_official_sdk_script_gives_the_same_losses_through_install_as_tinker(
    local_server: Any, owner_key: str
) -> None:
    official = _run(local_server, owner_key)
    ours = _run(local_server, owner_key, "-c", VIA_TINKER_HL)
    assert len(official["losses"]) == 3
    assert ours["losses"] == pytest.approx(official["losses"], rel=1e-6)
    assert ours["prompt_logprobs"] == pytest.approx(official["prompt_logprobs"], rel=1e-5)
    # The script's mutations after each call changed nothing that was sent: the weights grew
    # with each step (1.0, 1.5, 2.0), so the weighted loss sums must not be those of zeros.
    assert all(loss > 0 for loss in ours["losses"])


CURRENT_SCRIPT = Path(__file__).parent / "scripts" / "current_style_training.py"
SDK_038 = Path(__file__).resolve().parents[2] / ".sdk" / "tinker-0.38.0"


def test_a_038_style_script_gives_the_same_results_through_install_as_tinker(
    local_server: Any, owner_key: str
) -> None:
    official = _run(local_server, owner_key, script=CURRENT_SCRIPT, path=SDK_038)
    ours = _run(local_server, owner_key, "-c", VIA_TINKER_HL, script=CURRENT_SCRIPT)
    assert len(official["losses"]) == 3
    assert ours["losses"] == pytest.approx(official["losses"], rel=1e-6)
    assert ours["prompt_logprobs"] == pytest.approx(official["prompt_logprobs"], rel=1e-5)
    assert ours["saved"] == official["saved"] == "current-style"
    assert ours["base_model"] == official["base_model"] == "local/tiny-llama"
