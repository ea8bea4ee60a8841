"""One serve command line: `tinker-hl serve` (the backend's command, found through an entry
point), `python -m tinker_local [serve]` and `python -m tinker_hl serve` are the same command,
with an option for every ServerConfig field."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from tinker_hl._version import __version__
from tinker_hl.cli import cli
from tinker_local.cli import _param_type, serve
from tinker_local.server.config import ServerConfig

ROOT = Path(__file__).resolve().parents[2]


def _option_names(command: click.Command) -> set[str]:
    return {p.name for p in command.params if isinstance(p, click.Option) and p.name}


def test_serve_is_the_backends_command_registered_through_an_entry_point() -> None:
    assert "serve" not in cli.commands  # not a command of the client's own
    ctx = click.Context(cli)
    assert "serve" in cli.list_commands(ctx)
    assert cli.get_command(ctx, "serve") is serve


def test_every_server_config_field_is_a_serve_option() -> None:
    fields = {f.name for f in dataclasses.fields(ServerConfig)}
    assert fields <= _option_names(serve)
    assert _option_names(serve) - fields == {"log_level"}


def test_bool_and_literal_fields_get_flags_and_choices() -> None:
    from typing import Literal

    assert _param_type(bool) == (None, True)
    choice, is_flag = _param_type(Literal["torch", "none"])
    assert isinstance(choice, click.Choice) and list(choice.choices) == ["torch", "none"]
    assert not is_flag


def test_serve_options_reach_the_server_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import tinker_local.launcher

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(tinker_local.launcher, "run_server", lambda *a, **kw: calls.append(kw))
    args = ["serve", "--data-dir", str(tmp_path), "--compute", "none", "--long-poll-s", "0.5"]
    result = CliRunner().invoke(cli, [*args, "--fault-kinds", "503"])
    assert result.exit_code == 0, result.output
    assert calls == [
        {"log_level": "info", "compute": "none", "long_poll_s": 0.5, "fault_kinds": "503"}
    ]
    # The options build a valid ServerConfig (unset ones keep the dataclass defaults).
    options = {k: v for k, v in calls[0].items() if k != "log_level"}
    assert ServerConfig(data_dir=tmp_path, **options).long_poll_s == 0.5
    bad = CliRunner().invoke(cli, ["serve", "--compute", "gpu"])
    assert bad.exit_code == 2 and "gpu" in bad.output


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "tinker_local", "--help"],
        ["-m", "tinker_local", "serve", "--help"],
        ["-m", "tinker_hl", "serve", "--help"],
    ],
)
def test_module_entry_points_show_the_same_serve_options(argv: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    flags = {p.name: p.opts[0] for p in serve.params if isinstance(p, click.Option)}
    for f in dataclasses.fields(ServerConfig):
        assert flags[f.name] in out, f.name


def test_python_m_tinker_hl_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tinker_hl", "version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith(f"tinker-hl {__version__} ")
