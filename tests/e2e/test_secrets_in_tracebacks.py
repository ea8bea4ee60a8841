"""No secret in a failing test's output: a subprocess runs pytest (default options, default
verbosity) on tests that fail while using the client with a canary key (a server error inside
the HTTP layer, a failed construction, an assertion on client objects), and the whole output
is searched for the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CANARY = "tml-canary-traceback-7d41c0ffee"

FAILING_TESTS = f'''
import tinker_hl as tinker
from tinker_local.launcher import serve_local

CANARY = "{CANARY}"


def test_a_server_error_inside_the_http_layer(tmp_path):
    with serve_local(tmp_path, api_keys=[CANARY]) as server:
        service = tinker.ServiceClient(api_key=CANARY, base_url=server.url)
        rest = service.create_rest_client()
        rest.get_training_run("no-such-run").result()


def test_a_constructor_that_fails():
    no_retries = tinker.RetryConfig(enable_retry_logic=False)
    tinker.ServiceClient(api_key=CANARY, base_url="http://127.0.0.1:9", retry_config=no_retries)


def test_an_assertion_on_client_objects(tmp_path):
    with serve_local(tmp_path, api_keys=[CANARY]) as server:
        service = tinker.ServiceClient(api_key=CANARY, base_url=server.url)
        holder = service.holder
        http = holder.connection.client
        assert (service, holder, holder.options, http, http.get_async_httpx_client()) is None
'''


def test_a_failing_pytest_run_never_prints_the_key(tmp_path: Path) -> None:
    test_file = tmp_path / "test_canary_failures.py"
    test_file.write_text(FAILING_TESTS)
    env = {**os.environ, "TINKER_TELEMETRY": "0", "OMP_NUM_THREADS": "1"}
    env.pop("TINKER_API_KEY", None)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(test_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    output = out.stdout + out.stderr
    assert "3 failed" in output, output[-3000:]  # the failures really happened
    assert "NotFoundError" in output and "APIConnectionError" in output
    assert "AuthenticatedClient(base_url=" in output  # the client objects were printed
    assert CANARY not in output
