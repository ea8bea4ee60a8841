"""The local backend's one command line, `serve`: every ServerConfig field is an option of it.

Reachable as `tinker-hl serve` (this package registers the command in the `tinker_hl.commands`
entry point group, which the client's CLI reads; the client never imports the backend) and as
`python -m tinker_local [serve]`. The options are derived from ServerConfig's fields (type,
default, and the comment above the field as the help text), so a new field is a new option.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from pathlib import Path
from typing import Any

import click

from .server.config import ServerConfig

# Fields with an option written out below (their names and defaults read better by hand).
_EXPLICIT = ("host", "port", "data_dir", "api_keys")


def _field_comments() -> dict[str, str]:
    """The `# ...` comment lines right above each field of ServerConfig, joined."""
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(ServerConfig).splitlines():
        text = line.strip()
        if text.startswith("#"):
            pending.append(text.lstrip("#").strip())
            continue
        match = re.match(r"(\w+)\s*:", text)
        if match and pending:
            comments[match.group(1)] = " ".join(pending)
        pending = []
    return comments


def _param_type(hint: Any) -> tuple[Any, bool]:
    """(click type, is a bool flag) for a field's type hint."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (types.UnionType, typing.Union) and len(args) == 1:
        hint = args[0]  # an optional value: None is the unset default
    if hint is bool:
        return None, True
    if typing.get_origin(hint) is typing.Literal:
        return click.Choice([str(a) for a in typing.get_args(hint)]), False
    if hint in (int, float):
        return hint, False
    if hint is Path:
        return click.Path(path_type=Path), False
    return str, False


def _config_options() -> list[click.Option]:
    hints = typing.get_type_hints(ServerConfig)
    comments = _field_comments()
    options = []
    for f in dataclasses.fields(ServerConfig):
        if f.name in _EXPLICIT or not f.init:
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        help_text = f.metadata.get("help") or comments.get(f.name) or f"ServerConfig.{f.name}"
        hint = hints[f.name]
        if typing.get_origin(hint) is list:  # repeatable, in the singular: --model A --model B
            item_type, _ = _param_type(typing.get_args(hint)[0])
            flag = f"--{f.name.removesuffix('s').replace('_', '-')}"
            options.append(
                click.Option([flag, f.name], type=item_type, multiple=True, help=help_text)
            )
            continue
        click_type, is_flag = _param_type(hint)
        flag = f"--{f.name.replace('_', '-')}"
        decl = f"{flag}/--no-{f.name.replace('_', '-')}" if is_flag else flag
        options.append(
            click.Option(
                [decl, f.name],
                type=click_type,
                default=None,  # unset: ServerConfig's own default applies
                help=f"{help_text} [default: {default}]",
            )
        )
    return options


def _run(
    host: str,
    port: int,
    data_dir: Path | None,
    api_keys: tuple[str, ...],
    log_level: str,
    **config: Any,
) -> None:
    try:
        from . import launcher
    except ImportError as exc:  # the core install, without the `local` extra
        raise click.ClickException(
            f"the local backend's dependencies are not installed ({exc}); "
            "pip install 'tinker-hl[local]'"
        ) from None
    given = {name: value for name, value in config.items() if value not in (None, ())}
    try:
        launcher.run_server(
            host, port, data_dir, list(api_keys) or None, log_level=log_level, **given
        )
    except KeyboardInterrupt:
        pass
    except ValueError as exc:  # a bad option value (e.g. a key without the tml- prefix)
        raise click.ClickException(str(exc)) from None


serve = click.Command(
    "serve",
    callback=_run,
    help="Run the local Tinker-compatible backend (real LoRA training on small models).",
    params=[
        click.Option(["--host"], default="127.0.0.1", show_default=True, help="Bind address."),
        click.Option(
            ["--port"],
            type=click.IntRange(0, 65535),
            default=8000,
            show_default=True,
            help="Port (0: any free one).",
        ),
        click.Option(
            ["--data-dir"],
            type=click.Path(path_type=Path),
            default=None,
            help="Data folder (default: $TINKER_LOCAL_DATA_DIR, else ~/.tinker-local).",
        ),
        click.Option(
            ["--api-key", "api_keys"],
            multiple=True,
            metavar="KEY",
            help="An accepted API key (tml-...); repeat for several users. Default: a "
            "development key, stored in the data folder and printed.",
        ),
        click.Option(["--log-level"], default="info", show_default=True, help="uvicorn's."),
        *_config_options(),
    ],
)


def main(argv: list[str] | None = None) -> None:
    """`python -m tinker_local [serve] [OPTIONS]`."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["serve"]:
        args = args[1:]
    try:
        serve.main(args=args, prog_name="python -m tinker_local serve", standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # as before: `error: ...` and status 2 for bad settings
        print(f"error: {exc.format_message()}", file=sys.stderr)
        sys.exit(2)


__all__ = ["main", "serve"]
