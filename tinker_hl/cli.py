"""`tinker-hl`: the command line for the local backend and the REST endpoints.

    tinker-hl serve                                  # the local backend
    tinker-hl runs list | runs info RUN_ID
    tinker-hl checkpoints list [--run RUN_ID] | info | publish | unpublish | delete | download
    tinker-hl sessions list | sessions info SESSION_ID
    tinker-hl samplers info SAMPLER_ID
    tinker-hl capabilities | version

Global options: `--api-key` (else TINKER_API_KEY), `--base-url` (else TINKER_BASE_URL), `--json`
(machine-readable output), `--timeout`. Exit codes: 0 success, 1 an API or user error (one line on
stderr), 2 a usage error. REST commands use a standalone RestClient, which opens no session.
Heavy imports (rich, the local backend) happen only in the commands that need them.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__

if TYPE_CHECKING:
    from ._rest_client import RestClient

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TIMEOUT_S = 30.0


# ----- shared state and errors --------------------------------------------------------------
@dataclass
class _State:
    """What the global options configure; the RestClient is made on first use."""

    api_key: str | None
    base_url: str | None
    json: bool
    timeout: float
    _rest: RestClient | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # never shows the API key
        return f"_State(base_url={self.base_url!r}, json={self.json})"

    def rest(self, ctx: click.Context) -> RestClient:
        if self._rest is None:
            if not self.api_key:
                raise click.ClickException(
                    "no API key: pass --api-key or set TINKER_API_KEY "
                    "(`tinker-hl serve` prints one for the local backend)"
                )
            from ._rest_client import RestClient
            from ._retry import RetryConfig

            self._rest = RestClient.from_env(
                api_key=self.api_key,
                base_url=self.base_url,
                timeout=self.timeout,
                retry_config=RetryConfig(progress_timeout=self.timeout),
            )
            ctx.call_on_close(self._rest.close)
        return self._rest


def _state(ctx: click.Context) -> _State:
    state = ctx.find_object(_State)
    if state is None:  # a subcommand invoked on its own (tests); use the environment
        state = _State(
            os.environ.get("TINKER_API_KEY"), os.environ.get("TINKER_BASE_URL"), False, 30.0
        )
        ctx.obj = state
    return state


def _one_line(message: str, secret: str | None) -> str:
    text = " ".join(message.split())
    if secret:
        text = text.replace(secret, "***")
    return text


class _Group(click.Group):
    """The root group: expected errors become one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        from ._exceptions import TinkerError

        try:
            return super().invoke(ctx)
        except click.UsageError:
            raise
        except click.ClickException as exc:
            message = _one_line(exc.message, _secret(ctx))
            if message == exc.message:
                raise
            raise click.ClickException(message) from None
        except TinkerError as exc:
            raise click.ClickException(
                _one_line(f"{type(exc).__name__}: {exc}", _secret(ctx))
            ) from None
        except OSError as exc:  # the file system (download destination, data folder)
            raise click.ClickException(_one_line(str(exc), _secret(ctx))) from None


def _secret(ctx: click.Context) -> str | None:
    state = ctx.find_object(_State)
    return state.api_key if state is not None else None


# ----- output -------------------------------------------------------------------------------
def _json_flag(f: F) -> F:
    """`--json` on a command too (same as the global option)."""

    def mark(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            _state(ctx).json = True
        return value

    return click.option(
        "--json",
        "json_output",
        is_flag=True,
        expose_value=False,
        callback=mark,
        help="Print JSON instead of a table.",
    )(f)


def _print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, default=_json_default))


def _json_default(value: object) -> str:
    # Timestamps are datetimes in the client's results (as in the official SDK): RFC 3339 here.
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat()) if callable(isoformat) else str(value)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output keeps whole ids and paths on one line instead of wrapping at 80 columns.
    width = None if stream.isatty() else 250
    return Console(file=stream, width=width, soft_wrap=False)


def _print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    from rich.table import Table

    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, style="bright_cyan" if i == 0 else None, no_wrap=i == 0)
    for row in rows:
        table.add_row(*(_cell(value) for value in row))
    _console().print(table)


def _print_properties(title: str, properties: Iterable[tuple[str, Any]]) -> None:
    _print_table(title, ["Property", "Value"], properties)


def _cell(value: Any) -> str:
    from tinker_api_client.types import Unset

    if value is None or isinstance(value, Unset):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def _size(num: Any) -> str:
    if not isinstance(num, int) or isinstance(num, bool):
        return "-"
    size = float(num)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(num)


def _emit(state: _State, data: dict[str, Any], table: Callable[[], None]) -> None:
    if state.json:
        _print_json(data)
    else:
        table()


def _limit_option(default: int) -> Callable[[F], F]:
    return click.option(
        "--limit",
        type=click.IntRange(min=0),
        default=default,
        show_default=True,
        help="How many to show (0: all).",
    )


def _take(
    limit: int,
    first_page: Callable[[int], tuple[list[Any], int | None]],
    iterate: Callable[[int], Iterable[Any]],
) -> tuple[list[Any], int | None]:
    """Up to `limit` items (0: all) and the total count when the service says it: one request
    when a single page holds them, else the pagination helper."""
    from ._rest_client import MAX_PAGE_SIZE

    if 0 < limit <= MAX_PAGE_SIZE:
        return first_page(limit)
    items = list(islice(iterate(MAX_PAGE_SIZE), limit or None))
    return items, None if limit else len(items)


def _count_title(noun: str, shown: int, total: int | None) -> str:
    title = f"{shown} {noun}{'' if shown == 1 else 's'}"
    if total is not None and total > shown:
        title += f" ({total - shown} more; use --limit 0 to show all)"
    return title


# ----- the root group -----------------------------------------------------------------------
@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--api-key",
    metavar="KEY",
    default=None,
    show_default=False,
    help="API key (default: $TINKER_API_KEY). Never printed.",
)
@click.option(
    "--base-url",
    metavar="URL",
    default=None,
    help="Service URL (default: $TINKER_BASE_URL, else the Tinker service).",
)
@click.option("--json", "json_output", is_flag=True, help="Print JSON instead of tables.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds to wait for the service (per request, retries included).",
)
@click.version_option(__version__, "--version", prog_name="tinker-hl")
@click.pass_context
def cli(
    ctx: click.Context,
    api_key: str | None,
    base_url: str | None,
    json_output: bool,
    timeout: float,
) -> None:
    """Manage Tinker training runs, checkpoints and sessions; run the local backend."""
    ctx.obj = _State(
        api_key=api_key or os.environ.get("TINKER_API_KEY") or None,
        base_url=base_url or os.environ.get("TINKER_BASE_URL") or None,
        json=json_output,
        timeout=timeout,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """The `tinker-hl` console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="tinker-hl")


# ----- version, capabilities, serve ---------------------------------------------------------
@cli.command()
@_json_flag
@click.pass_context
def version(ctx: click.Context) -> None:
    """Print the tinker-hl version (no network)."""
    state = _state(ctx)
    data = {"tinker_hl": __version__, "python": platform.python_version()}
    if state.json:
        _print_json(data)
    else:
        click.echo(f"tinker-hl {__version__} (Python {data['python']})")


@cli.command()
@_json_flag
@click.pass_context
def capabilities(ctx: click.Context) -> None:
    """List the models the service supports."""
    state = _state(ctx)
    caps = state.rest(ctx).get_server_capabilities().result()
    names = [m.model_name for m in caps.supported_models]
    _emit(
        state,
        caps.to_dict(),
        lambda: _print_table("Supported models", ["Model"], [[n] for n in names]),
    )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any."
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data folder (default: $TINKER_LOCAL_DATA_DIR, else ~/.tinker-local).",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="KEY",
    help="An accepted API key (tml-...); repeat for several users. Default: a development "
    "key, stored in the data folder and printed.",
)
@click.option("--log-level", default="info", show_default=True)
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="NAME[=PATH]",
    help="Serve a real causal LM too: NAME from the Hugging Face cache (offline, never "
    "downloaded), or NAME=PATH from a save_pretrained folder. Repeatable; the built-in "
    "presets are always served.",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda", "mps"]),
    default="auto",
    show_default=True,
    help="auto: CUDA if torch sees it, else the CPU.",
)
@click.option(
    "--dtype",
    type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
    default="auto",
    show_default=True,
    help="Parameter dtype. auto: bfloat16 on CUDA, else float32. Logprobs are float32.",
)
@click.option(
    "--threads",
    type=click.IntRange(1),
    default=None,
    help="torch CPU threads (default: half the cores, at most 8).",
)
@click.option(
    "--jwt",
    is_flag=True,
    default=False,
    help="JWT mode: clients exchange their API key at /api/v1/auth/token for short-lived "
    "signed tokens (SDK 0.18+ does this by itself).",
)
def serve(
    host: str,
    port: int,
    data_dir: Path | None,
    api_keys: tuple[str, ...],
    log_level: str,
    models: tuple[str, ...],
    device: str,
    dtype: str,
    threads: int | None,
    jwt: bool,
) -> None:
    """Run the local Tinker-compatible backend (real LoRA training on presets or real models)."""
    try:
        from tinker_local.launcher import run_server
    except ImportError as exc:
        raise click.ClickException(
            f"the local backend is not installed ({exc}); install tinker-hl[local]"
        ) from None
    try:
        # Only what was given: the server's own defaults apply otherwise.
        engine: dict[str, object] = {"models": list(models)} if models else {}
        engine |= {k: v for k, v in (("device", device), ("dtype", dtype)) if v != "auto"}
        if threads is not None:
            engine["threads"] = threads
        if jwt:
            engine["jwt"] = True
        run_server(host, port, data_dir, list(api_keys) or None, log_level=log_level, **engine)
    except KeyboardInterrupt:
        pass
    except ValueError as exc:  # e.g. a key without the tml- prefix
        raise click.ClickException(str(exc)) from None


# ----- runs ---------------------------------------------------------------------------------
@cli.group()
def runs() -> None:
    """Training runs."""


def _lora(run: Any) -> str:
    if not run.is_lora:
        return "no"
    rank = run.lora_rank
    return f"rank {rank}" if isinstance(rank, int) else "yes"


@runs.command("list")
@_limit_option(20)
@_json_flag
@click.pass_context
def runs_list(ctx: click.Context, limit: int) -> None:
    """List your training runs, newest first."""
    state = _state(ctx)
    rest = state.rest(ctx)

    def first_page(n: int) -> tuple[list[Any], int | None]:
        page = rest.list_training_runs(limit=n).result()
        return list(page.training_runs), page.cursor.total_count

    items, total = _take(limit, first_page, lambda size: rest.iter_training_runs(size))
    rows = [
        [
            r.training_run_id,
            r.base_model,
            _lora(r),
            r.last_request_time,
            getattr(r.last_checkpoint, "checkpoint_id", None),
            "corrupted" if r.corrupted is True else "ok",
        ]
        for r in items
    ]
    columns = ["Run ID", "Base model", "LoRA", "Last request", "Last checkpoint", "Status"]
    _emit(
        state,
        {"training_runs": [r.to_dict() for r in items], "total_count": total},
        lambda: _print_table(_count_title("training run", len(items), total), columns, rows),
    )


@runs.command("info")
@click.argument("run_id")
@_json_flag
@click.pass_context
def runs_info(ctx: click.Context, run_id: str) -> None:
    """Show one training run."""
    state = _state(ctx)
    run = state.rest(ctx).get_training_run(run_id).result()

    def table() -> None:
        props: list[tuple[str, Any]] = [
            ("Run ID", run.training_run_id),
            ("Base model", run.base_model),
            ("Owner", run.model_owner),
            ("LoRA", _lora(run)),
            ("Last request", run.last_request_time),
            ("Status", "corrupted" if run.corrupted is True else "ok"),
        ]
        for label, ckpt in (
            ("Last checkpoint", run.last_checkpoint),
            ("Last sampler checkpoint", run.last_sampler_checkpoint),
        ):
            path = getattr(ckpt, "tinker_path", None)
            if path:
                props.append((label, path))
        metadata = run.user_metadata
        if metadata is not None and hasattr(metadata, "to_dict"):
            props += [(f"metadata.{k}", v) for k, v in metadata.to_dict().items()]
        _print_properties(f"Training run {run.training_run_id}", props)

    _emit(state, run.to_dict(), table)


# ----- checkpoints --------------------------------------------------------------------------
@cli.group()
def checkpoints() -> None:
    """Checkpoints: list, inspect, publish, delete, download."""


def _checkpoint_row(c: Any) -> list[Any]:
    return [c.tinker_path, c.checkpoint_type, _size(c.size_bytes), c.public, c.time]


_CHECKPOINT_COLUMNS = ["Checkpoint", "Type", "Size", "Public", "Created"]


@checkpoints.command("list")
@click.option("--run", "run_id", metavar="RUN_ID", default=None, help="Only this training run.")
@_limit_option(20)
@_json_flag
@click.pass_context
def checkpoints_list(ctx: click.Context, run_id: str | None, limit: int) -> None:
    """List your checkpoints (all runs, newest first; or one run's with --run)."""
    state = _state(ctx)
    rest = state.rest(ctx)
    total: int | None
    if run_id is not None:
        items = list(rest.list_checkpoints(run_id).result().checkpoints)
        total = len(items)
        if limit:
            items = items[:limit]
        title = f"Checkpoints of {run_id}: " + _count_title("checkpoint", len(items), total)
    else:

        def first_page(n: int) -> tuple[list[Any], int | None]:
            page = rest.list_user_checkpoints(limit=n).result()
            count = getattr(page.cursor, "total_count", None)
            return list(page.checkpoints), count if isinstance(count, int) else None

        items, total = _take(limit, first_page, lambda size: rest.iter_user_checkpoints(size))
        title = _count_title("checkpoint", len(items), total)
    rows = [_checkpoint_row(c) for c in items]
    _emit(
        state,
        {"checkpoints": [c.to_dict() for c in items], "total_count": total},
        lambda: _print_table(title, _CHECKPOINT_COLUMNS, rows),
    )


@checkpoints.command("info")
@click.argument("tinker_path")
@_json_flag
@click.pass_context
def checkpoints_info(ctx: click.Context, tinker_path: str) -> None:
    """Show a checkpoint (yours, or anyone's published one)."""
    from ._exceptions import NotFoundError
    from .types import parse_tinker_path

    state = _state(ctx)
    parsed = parse_tinker_path(tinker_path)
    rest = state.rest(ctx)
    weights = rest.get_weights_info_by_tinker_path(tinker_path).result()
    data: dict[str, Any] = parsed.to_dict()
    data.update(weights.to_dict())
    try:  # details (time, size, public) are listed for the owner only
        for c in rest.list_checkpoints(parsed.training_run_id).result().checkpoints:
            if c.tinker_path == tinker_path:
                data.update(c.to_dict())
    except NotFoundError:
        pass
    labels = {
        "tinker_path": "Path",
        "training_run_id": "Training run",
        "checkpoint_id": "Checkpoint id",
        "checkpoint_type": "Type",
        "base_model": "Base model",
        "is_lora": "LoRA",
        "lora_rank": "LoRA rank",
        "time": "Created",
        "size_bytes": "Size",
        "public": "Public",
    }

    def table() -> None:
        props = [
            (label, _size(data[key]) if key == "size_bytes" else data[key])
            for key, label in labels.items()
            if key in data
        ]
        _print_properties(f"Checkpoint {tinker_path}", props)

    _emit(state, data, table)


def _set_public(ctx: click.Context, tinker_path: str, public: bool) -> None:
    state = _state(ctx)
    rest = state.rest(ctx)
    if public:
        rest.publish_checkpoint_from_tinker_path(tinker_path).result()
    else:
        rest.unpublish_checkpoint_from_tinker_path(tinker_path).result()
    if state.json:
        _print_json({"tinker_path": tinker_path, "public": public})
    else:
        click.echo(f"{'Published' if public else 'Unpublished'} {tinker_path}")


@checkpoints.command("publish")
@click.argument("tinker_path")
@_json_flag
@click.pass_context
def checkpoints_publish(ctx: click.Context, tinker_path: str) -> None:
    """Make one of your checkpoints readable by every user."""
    _set_public(ctx, tinker_path, True)


@checkpoints.command("unpublish")
@click.argument("tinker_path")
@_json_flag
@click.pass_context
def checkpoints_unpublish(ctx: click.Context, tinker_path: str) -> None:
    """Make a published checkpoint private again."""
    _set_public(ctx, tinker_path, False)


@checkpoints.command("delete")
@click.argument("tinker_paths", metavar="TINKER_PATH...", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@_json_flag
@click.pass_context
def checkpoints_delete(ctx: click.Context, tinker_paths: tuple[str, ...], yes: bool) -> None:
    """Delete checkpoints permanently (asks first unless --yes)."""
    from .types import parse_tinker_path

    state = _state(ctx)
    for path in tinker_paths:  # all paths are checked before anything is deleted
        parse_tinker_path(path)
    if not yes:
        for path in tinker_paths:
            click.echo(f"  {path}", err=True)
        click.confirm(
            f"Delete {len(tinker_paths)} checkpoint(s) permanently?", abort=True, err=True
        )
    rest = state.rest(ctx)
    deleted: list[str] = []
    for path in tinker_paths:
        rest.delete_checkpoint_from_tinker_path(path).result()
        deleted.append(path)
        if not state.json:
            click.echo(f"Deleted {path}")
    if state.json:
        _print_json({"deleted": deleted})


@checkpoints.command("download")
@click.argument("tinker_path")
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to save into (default: the current folder; created if missing).",
)
@click.option("--extract", is_flag=True, help="Also unpack the archive into a folder.")
@click.option("--force", is_flag=True, help="Replace an existing file or folder.")
@_json_flag
@click.pass_context
def checkpoints_download(
    ctx: click.Context, tinker_path: str, output: Path | None, extract: bool, force: bool
) -> None:
    """Download a checkpoint as a verified tar archive (<run>_<kind>_<name>.tar)."""
    import shutil
    import tarfile

    from ._rest_client import archive_file_name

    state = _state(ctx)
    folder = (output if output is not None else Path.cwd()).absolute()
    name = archive_file_name(tinker_path)  # validates the path before any request
    unpacked = folder / name.removesuffix(".tar")
    if extract and unpacked.exists() and not force:
        raise click.ClickException(f"{unpacked} already exists (use --force to replace it)")
    if (folder / name).exists() and not force:
        raise click.ClickException(f"{folder / name} already exists (use --force to replace it)")
    folder.mkdir(parents=True, exist_ok=True)
    rest = state.rest(ctx)
    archive = _download_with_progress(rest, tinker_path, folder, show=not state.json)
    data: dict[str, Any] = {
        "tinker_path": tinker_path,
        "path": str(archive),
        "size_bytes": archive.stat().st_size,
    }
    if extract:
        if unpacked.exists():
            shutil.rmtree(unpacked)
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
        data["extracted_to"] = str(unpacked)
    if state.json:
        _print_json(data)
    else:
        click.echo(f"Saved {tinker_path} to {archive} ({_size(data['size_bytes'])})")
        if extract:
            click.echo(f"Extracted into {unpacked}")


@checkpoints.command("export")
@click.argument("tinker_path")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--merge",
    is_flag=True,
    help="Write a merged transformers model instead of a peft adapter folder.",
)
@_json_flag
@click.pass_context
def checkpoints_export(ctx: click.Context, tinker_path: str, out: Path, merge: bool) -> None:
    """Export a checkpoint of a local-backend model as a peft adapter folder (or, with
    --merge, a merged model that AutoModelForCausalLM.from_pretrained loads)."""
    import tempfile

    from ._rest_client import archive_file_name

    archive_file_name(tinker_path)  # validates the path before any request
    if out.exists() and any(out.iterdir()):
        raise click.ClickException(f"{out} exists and is not empty")
    try:
        from tinker_local.export import ExportError, export_checkpoint
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise click.ClickException(
            f"export needs the local backend's dependencies (pip install 'tinker-hl[local]'): {exc}"
        ) from exc
    state = _state(ctx)
    rest = state.rest(ctx)
    with tempfile.TemporaryDirectory() as tmp:
        archive = _download_with_progress(rest, tinker_path, Path(tmp), show=not state.json)
        try:
            written = export_checkpoint(archive, out, merge=merge)
        except ExportError as exc:
            raise click.ClickException(str(exc)) from exc
    data = {"tinker_path": tinker_path, "path": str(written), "merged": merge}
    if state.json:
        _print_json(data)
    else:
        kind = "merged model" if merge else "peft adapter"
        click.echo(f"Exported {tinker_path} as a {kind} to {written}")


def _download_with_progress(rest: RestClient, tinker_path: str, folder: Path, show: bool) -> Path:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    console = _console(stderr=True)
    with Progress(
        TextColumn("Downloading"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
        disable=not (show and console.is_terminal),
    ) as progress:
        task = progress.add_task("download", total=None)

        def advance(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        return rest.download_checkpoint_archive(tinker_path, folder, advance, overwrite=True)


# ----- sessions and samplers ----------------------------------------------------------------
@cli.group()
def sessions() -> None:
    """Sessions (one per ServiceClient)."""


@sessions.command("list")
@_limit_option(20)
@_json_flag
@click.pass_context
def sessions_list(ctx: click.Context, limit: int) -> None:
    """List your session ids, newest first."""
    state = _state(ctx)
    rest = state.rest(ctx)

    def first_page(n: int) -> tuple[list[Any], int | None]:
        return list(rest.list_sessions(limit=n).result().sessions), None

    items, _ = _take(limit, first_page, lambda size: rest.iter_sessions(size))
    _emit(
        state,
        {"sessions": items},
        lambda: _print_table(
            _count_title("session", len(items), None), ["Session ID"], [[s] for s in items]
        ),
    )


@sessions.command("info")
@click.argument("session_id")
@_json_flag
@click.pass_context
def sessions_info(ctx: click.Context, session_id: str) -> None:
    """Show the training runs and samplers of a session."""
    state = _state(ctx)
    info = state.rest(ctx).get_session(session_id).result()
    data = info.to_dict()

    def table() -> None:
        props: list[tuple[str, Any]] = [
            ("Session ID", session_id),
            ("Training runs", list(info.training_run_ids)),
            ("Samplers", list(info.sampler_ids)),
        ]
        props += [(k, v) for k, v in info.additional_properties.items()]
        _print_properties(f"Session {session_id}", props)

    _emit(state, data, table)


@cli.group()
def samplers() -> None:
    """Samplers (sampling sessions)."""


@samplers.command("info")
@click.argument("sampler_id")
@_json_flag
@click.pass_context
def samplers_info(ctx: click.Context, sampler_id: str) -> None:
    """Show a sampler: its base model and the weights it samples from."""
    state = _state(ctx)
    info = state.rest(ctx).get_sampler(sampler_id).result()
    _emit(
        state,
        info.to_dict(),
        lambda: _print_properties(
            f"Sampler {sampler_id}",
            [
                ("Sampler ID", info.sampler_id),
                ("Base model", info.base_model),
                ("Model path", info.model_path),
            ],
        ),
    )


__all__ = ["cli", "main"]

if __name__ == "__main__":
    main()
