"""No silent wait: with no logging configuration at all, a wait that makes no progress prints
a warning to stderr naming what it waits for and why; configured logging keeps full control.
(The warning delay, 30 s by default, is shortened in the child process.)"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import asyncio, logging, socket, sys
import tinker_hl
import tinker_hl._waiting as waiting

waiting.WARN_AFTER_S = 0.3
if sys.argv[1] == "configured":
    logging.basicConfig(level=logging.ERROR)

hung = socket.socket()  # connections are accepted by the kernel, never answered
hung.bind(("127.0.0.1", 0))
hung.listen(16)
hung_url = f"http://127.0.0.1:{hung.getsockname()[1]}"
rest = tinker_hl.RestClient.from_env(api_key="tml-k", base_url=hung_url)
try:
    rest.get_training_run("run-hung").result(timeout=1.5)
except TimeoutError:
    print("hung: timed out as asked")


async def awaited():
    try:
        await rest.get_training_run("run-hung-async").result_async(timeout=1.5)
    except TimeoutError:
        print("hung async: timed out as asked")

asyncio.run(awaited())

with socket.socket() as closed:
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
fast = tinker_hl.RetryConfig(retry_delay_base=0.1, retry_delay_max=0.1)
dead_url = f"http://127.0.0.1:{port}"
dead = tinker_hl.RestClient.from_env(api_key="tml-k", base_url=dead_url, retry_config=fast)
try:
    dead.get_training_run("run-dead").result(timeout=1.5)
except TimeoutError:
    print("dead: timed out as asked")
"""


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=120,
        env={"TINKER_TELEMETRY": "0", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    for case in ("hung", "hung async", "dead"):
        assert f"{case}: timed out as asked" in out.stdout
    return out


def test_a_stalled_wait_warns_on_stderr_without_any_logging_configuration() -> None:
    err = _run("unconfigured").stderr
    assert err.count("still waiting for RestClient.get_training_run") >= 3  # sync, async, dead
    assert "no answer yet; no retries so far" in err  # the hung server: nothing came back
    assert "retries so far: {'APIConnectionError':" in err  # the dead one: why it waits
    assert "retrying get_training_run after APIConnectionError" in err


def test_configured_logging_keeps_full_control() -> None:
    assert "still waiting" not in _run("configured").stderr
