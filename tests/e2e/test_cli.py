"""The `tinker-hl` CLI end to end against a real local backend: every command as a table and as
JSON, exit codes (0 success, 1 API/user error, 2 usage error), and the API key never shown."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import tinker_hl as tinker
from tinker_hl.cli import cli

OWNER_KEY = "tml-cli-owner-secret"
OTHER_KEY = "tml-cli-other-secret"
MODEL = "local/tiny-llama"
README = Path(__file__).resolve().parents[2] / "README.md"
# The README's "RestClient and CLI" section: its examples are run here.
DOCS_TEXT = (
    README.read_text().split("<!-- rest-and-cli:begin -->")[1].split("<!-- rest-and-cli:end -->")[0]
)
SCRIPT = Path(sys.executable).parent / "tinker-hl"
SECRETS = (OWNER_KEY, OTHER_KEY, "tml-wrong-secret")


@dataclass
class World:
    url: str
    owner: tinker.ServiceClient
    training: tinker.TrainingClient
    run_id: str
    checkpoint: str  # tinker://<run_id>/weights/cli-first
    sampler_path: str
    sampler_id: str
    foreign: str  # the other user's private checkpoint


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from tinker_local.launcher import serve_local

    with serve_local(
        tmp_path_factory.mktemp("cli-backend"), api_keys=[OWNER_KEY, OTHER_KEY]
    ) as server:
        owner = tinker.ServiceClient(api_key=OWNER_KEY, base_url=server.url)
        other = tinker.ServiceClient(api_key=OTHER_KEY, base_url=server.url)
        training = owner.create_lora_training_client(MODEL, rank=4)
        checkpoint = training.save_state("cli-first").result().path
        sampler_path = training.save_weights_for_sampler("cli-sampler").result().path
        sampler = owner.create_sampling_client(model_path=sampler_path)
        foreign = other.create_lora_training_client(MODEL, rank=4).save_state("mine").result()
        other.close()
        yield World(
            url=server.url,
            owner=owner,
            training=training,
            run_id=training.model_id,
            checkpoint=checkpoint,
            sampler_path=sampler_path,
            sampler_id=sampler.sampling_session_id,
            foreign=foreign.path,
        )
        owner.close()


def run_cli(
    world: World | None,
    *args: str,
    key: str | None = OWNER_KEY,
    input: str | None = None,
    env: dict[str, str | None] | None = None,
) -> Result:
    """`tinker-hl [--base-url URL --api-key KEY] ARGS...` in-process; checks that no key leaks."""
    prefix: list[str] = []
    if world is not None:
        prefix += ["--base-url", world.url]
    if key is not None:
        prefix += ["--api-key", key]
    result = CliRunner(env={"TINKER_API_KEY": None, **(env or {})}).invoke(
        cli, [*prefix, *args], input=input
    )
    for secret in SECRETS:
        assert secret not in result.output + result.stderr, f"API key leaked by {args}"
    if result.exit_code == 1 and input is None:  # an error: one line on stderr, no traceback
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.output
    return result


def ok(world: World | None, *args: str, **kwargs: Any) -> Result:
    result = run_cli(world, *args, **kwargs)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def ok_json(world: World | None, *args: str, **kwargs: Any) -> Any:
    return json.loads(ok(world, "--json", *args, **kwargs).stdout)


def fails(world: World | None, *args: str, code: int = 1, **kwargs: Any) -> str:
    result = run_cli(world, *args, **kwargs)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result.stderr


# ----- the console script ---------------------------------------------------------------------
def test_console_script_version_and_help() -> None:
    env = {**os.environ, "TINKER_API_KEY": OWNER_KEY}
    version = subprocess.run(
        [str(SCRIPT), "version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip().startswith(f"tinker-hl {tinker.__version__}")
    helped = subprocess.run(
        [str(SCRIPT), "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert helped.returncode == 0, helped.stderr
    for command in ("serve", "runs", "checkpoints", "sessions", "samplers", "capabilities"):
        assert command in helped.stdout
    assert OWNER_KEY not in helped.stdout + helped.stderr + version.stdout + version.stderr


def test_version_and_help_offline() -> None:
    data = ok_json(None, "version", key=None)
    assert data["tinker_hl"] == tinker.__version__
    assert ok(None, "--version", key=None).stdout.startswith("tinker-hl")
    assert "--yes" in ok(None, "checkpoints", "delete", "--help").stdout
    help_text = ok(None, "--help", env={"TINKER_API_KEY": OWNER_KEY}).stdout
    assert "--api-key" in help_text


# ----- reads ----------------------------------------------------------------------------------
def test_capabilities(world: World) -> None:
    assert MODEL in ok(world, "capabilities").stdout
    names = [m["model_name"] for m in ok_json(world, "capabilities")["supported_models"]]
    assert MODEL in names


def test_runs_list_and_info(world: World) -> None:
    assert world.run_id in ok(world, "runs", "list").stdout
    data = ok_json(world, "runs", "list")
    assert [r["training_run_id"] for r in data["training_runs"]] == [world.run_id]
    assert data["total_count"] == 1
    assert ok_json(world, "runs", "list", "--limit", "0")["training_runs"] == data["training_runs"]
    # --json also works after the command.
    assert json.loads(ok(world, "runs", "list", "--json").stdout) == data

    table = ok(world, "runs", "info", world.run_id).stdout
    assert world.run_id in table and MODEL in table and "rank 4" in table
    info = ok_json(world, "runs", "info", world.run_id)
    assert (info["training_run_id"], info["lora_rank"]) == (world.run_id, 4)
    assert info["last_checkpoint"]["tinker_path"] == world.checkpoint


def test_checkpoints_list(world: World) -> None:
    table = ok(world, "checkpoints", "list").stdout
    assert world.checkpoint in table and world.sampler_path in table
    everything = ok_json(world, "checkpoints", "list")["checkpoints"]
    assert {c["tinker_path"] for c in everything} >= {world.checkpoint, world.sampler_path}
    assert world.foreign not in {c["tinker_path"] for c in everything}
    one = ok_json(world, "checkpoints", "list", "--limit", "1")
    assert len(one["checkpoints"]) == 1 and one["total_count"] == len(everything)
    assert "more; use --limit 0" in ok(world, "checkpoints", "list", "--limit", "1").stdout
    of_run = ok_json(world, "checkpoints", "list", "--run", world.run_id)["checkpoints"]
    assert {c["checkpoint_id"] for c in of_run} >= {
        "weights/cli-first",
        "sampler_weights/cli-sampler",
    }
    assert world.run_id in ok(world, "checkpoints", "list", "--run", world.run_id).stdout


def test_checkpoints_info(world: World) -> None:
    table = ok(world, "checkpoints", "info", world.checkpoint).stdout
    assert MODEL in table and "weights/cli-first" in table
    info = ok_json(world, "checkpoints", "info", world.checkpoint)
    assert info["tinker_path"] == world.checkpoint and info["lora_rank"] == 4
    assert info["public"] is False and info["size_bytes"] > 0
    assert "NotFoundError" in fails(world, "checkpoints", "info", world.foreign)
    assert "ValidationError" in fails(world, "checkpoints", "info", "tinker://run/bad")


def test_sessions_and_samplers(world: World) -> None:
    session_id = world.owner.session_id
    assert session_id in ok(world, "sessions", "list").stdout
    assert session_id in ok_json(world, "sessions", "list", "--limit", "0")["sessions"]
    info = ok_json(world, "sessions", "info", session_id)
    assert world.run_id in info["training_run_ids"] and world.sampler_id in info["sampler_ids"]
    assert world.run_id in ok(world, "sessions", "info", session_id).stdout

    sampler = ok_json(world, "samplers", "info", world.sampler_id)
    assert (sampler["base_model"], sampler["model_path"]) == (MODEL, world.sampler_path)
    assert world.sampler_path in ok(world, "samplers", "info", world.sampler_id).stdout
    assert "NotFoundError" in fails(world, "samplers", "info", world.sampler_id, key=OTHER_KEY)


# ----- changes --------------------------------------------------------------------------------
def test_publish_and_unpublish(world: World) -> None:
    path = world.checkpoint
    assert "NotFoundError" in fails(world, "checkpoints", "info", path, key=OTHER_KEY)
    assert ok(world, "checkpoints", "publish", path).stdout.strip() == f"Published {path}"
    try:
        assert ok_json(world, "checkpoints", "info", path, key=OTHER_KEY)["base_model"] == MODEL
        assert "ConflictError" in fails(world, "checkpoints", "publish", path)
    finally:
        assert ok_json(world, "checkpoints", "unpublish", path) == {
            "tinker_path": path,
            "public": False,
        }
    assert "ConflictError" in fails(world, "checkpoints", "unpublish", path)
    assert "NotFoundError" in fails(world, "checkpoints", "publish", world.foreign)


def test_delete(world: World) -> None:
    paths = [world.training.save_state(f"cli-doomed-{i}").result().path for i in range(3)]

    def exists(path: str) -> bool:
        listed = ok_json(world, "checkpoints", "list", "--run", world.run_id)["checkpoints"]
        return path in {c["tinker_path"] for c in listed}

    # Asks first; "no" (or no terminal) aborts with status 1 and deletes nothing.
    assert run_cli(world, "checkpoints", "delete", paths[0], input="n\n").exit_code == 1
    assert exists(paths[0])
    # A malformed path anywhere in the list: nothing is deleted.
    assert "ValidationError" in fails(world, "checkpoints", "delete", paths[0], "bad", "--yes")
    assert exists(paths[0])

    confirmed = ok(world, "checkpoints", "delete", paths[0], input="y\n")
    assert f"Deleted {paths[0]}" in confirmed.stdout
    assert ok_json(world, "checkpoints", "delete", "--yes", *paths[1:]) == {"deleted": paths[1:]}
    assert not any(exists(p) for p in paths)
    assert "NotFoundError" in fails(world, "checkpoints", "delete", paths[0], "-y")


def test_download(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = f"{world.run_id}_weights_cli-first"
    saved = ok(world, "checkpoints", "download", world.checkpoint)
    assert f"Saved {world.checkpoint}" in saved.stdout
    assert tarfile.is_tarfile(tmp_path / f"{name}.tar")
    # An existing file is kept unless --force.
    assert "already exists" in fails(world, "checkpoints", "download", world.checkpoint)

    data = ok_json(
        world, "checkpoints", "download", world.checkpoint, "-o", "out", "--extract", "--force"
    )
    archive, unpacked = Path(data["path"]), Path(data["extracted_to"])
    assert archive == tmp_path / "out" / f"{name}.tar" and data["size_bytes"] > 0
    assert unpacked == tmp_path / "out" / name and any(unpacked.rglob("*"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [name, f"{name}.tar"]

    assert "NotFoundError" in fails(world, "checkpoints", "download", world.foreign, "-o", "x")
    assert "ValidationError" in fails(world, "checkpoints", "download", "tinker://x/weights")


# ----- errors and exit codes ------------------------------------------------------------------
def test_api_errors_exit_1_with_one_line(world: World) -> None:
    assert "NotFoundError" in fails(world, "runs", "info", "no-such-run")
    assert "NotFoundError" in fails(world, "sessions", "info", "no-such-session")
    assert "NotFoundError" in fails(world, "checkpoints", "list", "--run", "no-such-run")
    assert "AuthenticationError" in fails(world, "runs", "list", key="tml-wrong-secret")
    assert "no API key" in fails(world, "runs", "list", key=None)


def test_environment_configures_the_cli(world: World) -> None:
    env = {"TINKER_API_KEY": OWNER_KEY, "TINKER_BASE_URL": world.url}
    data = ok_json(None, "runs", "list", key=None, env=env)
    assert [r["training_run_id"] for r in data["training_runs"]] == [world.run_id]


def test_connection_errors_exit_1() -> None:
    error = fails(None, "--base-url", "http://127.0.0.1:9", "--timeout", "0.5", "runs", "list")
    assert "APIConnectionError" in error or "APITimeoutError" in error


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-command"],
        ["runs", "info"],  # missing argument
        ["runs", "list", "--limit", "-1"],
        ["--timeout", "0", "version"],
        ["checkpoints", "delete"],
        ["serve", "--port", "70000"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert run_cli(None, *args).exit_code == 2


# ----- serve ----------------------------------------------------------------------------------
def test_serve_passes_its_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import tinker_local.launcher

    calls: list[tuple[Any, ...]] = []

    def fake_run_server(*args: Any, **kwargs: Any) -> None:
        calls.append((*args, kwargs))

    monkeypatch.setattr(tinker_local.launcher, "run_server", fake_run_server)
    ok(None, "serve", "--port", "0", "--data-dir", str(tmp_path), "--api-key", "tml-a",
       "--api-key", "tml-b")  # fmt: skip
    assert calls == [("127.0.0.1", 0, tmp_path, ["tml-a", "tml-b"], {"log_level": "info"})]

    def bad_key(*args: Any, **kwargs: Any) -> None:
        raise ValueError("api key 'x' must start with tml-")

    monkeypatch.setattr(tinker_local.launcher, "run_server", bad_key)
    assert "tml-" in fails(None, "serve", "--api-key", "x")


def test_serve_runs_a_real_backend(tmp_path: Path) -> None:
    """`tinker-hl serve` as a real process: it listens, the other commands talk to it."""
    key = "tml-serve-secret"
    process = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", "0", "--data-dir", str(tmp_path), "--api-key", key],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "tinker-hl serve exited early"
            match = re.search(r"listening on (http://\S+)", line)
            url = match.group(1) if match else None
        assert url is not None
        env = {"TINKER_API_KEY": key, "TINKER_BASE_URL": url}
        assert ok_json(None, "runs", "list", key=None, env=env) == {
            "training_runs": [],
            "total_count": 0,
        }
        assert key not in line
    finally:
        process.terminate()
        process.wait(timeout=30)


# ----- the documentation's examples -----------------------------------------------------------
def _doc_commands() -> list[str]:
    commands = []
    for block in re.findall(r"```console\n(.*?)```", DOCS_TEXT, flags=re.S):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("$ tinker-hl ") and " serve" not in line:
                commands.append(line.removeprefix("$ tinker-hl ").split(" | ")[0])
    return commands


def test_docs_cli_examples_run(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every `$ tinker-hl ...` line of the README's CLI section (but serve) exits with 0."""
    monkeypatch.chdir(tmp_path)
    checkpoint = world.training.save_state("from-the-docs").result().path
    values = {
        "$RUN_ID": world.run_id,
        "$CHECKPOINT": checkpoint,
        "$SESSION_ID": world.owner.session_id,
        "$SAMPLER_ID": world.sampler_id,
    }
    env: dict[str, str | None] = {"TINKER_API_KEY": OWNER_KEY, "TINKER_BASE_URL": world.url}
    commands = _doc_commands()
    assert len(commands) >= 12
    for command in commands:
        for name, value in values.items():
            command = command.replace(name, value)
        args: Sequence[str] = shlex.split(command)
        ok(None, *args, key=None, env=env)
    assert not (tmp_path / "downloads").exists() or any((tmp_path / "downloads").iterdir())
