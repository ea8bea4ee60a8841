"""Start the local backend: in this process (a uvicorn thread) or as a subprocess, or as the CLI.

with serve_local(api_keys=["tml-a", "tml-b"]) as server:
    client = tinker.ServiceClient(api_key=server.api_key, base_url=server.url)
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tinker_local.server.config import ServerConfig, generate_dev_key

if TYPE_CHECKING:
    from tinker_local.server.faults import FaultInjector
    from tinker_local.server.state import Backend
    from tinker_local.server.store import Store

DEV_KEY_FILE = "dev_api_key"
# Idle connections stay open longer than clients keep them (tinker_hl: 4 s), so a client never
# sends a request on a connection the server is closing.
KEEP_ALIVE_S = 30
_START_TIMEOUT_S = 120.0


@dataclass
class LocalServer:
    """A running local backend. `api_key` is the first of `api_keys`."""

    url: str
    api_key: str
    api_keys: list[str]
    data_dir: Path
    config: ServerConfig
    process: subprocess.Popen[bytes] | None = None
    backend: Backend | None = field(default=None, repr=False)
    # The fault injector (in-process servers only): counts of injected faults, reconfigurable.
    faults: FaultInjector | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        """The server's metadata store (in-process servers only)."""
        if self.backend is None:
            raise RuntimeError("store access needs an in-process server (in_process=True)")
        return self.backend.store


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto says TCP, and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _wait_healthy(url: str, alive: Any, timeout_s: float = _START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the local backend exited during start-up")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/api/v1/healthz", timeout=2.0).status_code == 200:
                return
        time.sleep(0.05)
    raise TimeoutError(f"the local backend at {url} did not become healthy in {timeout_s:.0f} s")


def _make_config(
    data_dir: Path, api_keys: list[str], host: str, port: int, config: dict[str, Any]
) -> ServerConfig:
    known = {f.name for f in dataclasses.fields(ServerConfig)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise TypeError(f"unknown server option(s): {unknown}; known: {sorted(known)}")
    return ServerConfig(data_dir=data_dir, api_keys=api_keys, host=host, port=port, **config)


@contextlib.contextmanager
def serve_local(
    data_dir: str | Path | None = None,
    *,
    api_keys: Sequence[str] | None = None,
    port: int = 0,
    in_process: bool = True,
    host: str = "127.0.0.1",
    **config: Any,
) -> Iterator[LocalServer]:
    """Run a local backend for the duration of the `with` block.

    data_dir None uses a temporary folder (deleted afterwards). Without api_keys a fresh
    `tml-dev-...` key is generated. port 0 picks a free port. Extra keyword arguments are
    ServerConfig fields (long_poll_s, compute, session_ttl_s, result_ttl_s, ...).
    """
    keys = list(api_keys) if api_keys else [generate_dev_key()]
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="tinker-local-"))
        folder = Path(data_dir)
        if in_process:
            yield stack.enter_context(_serve_in_process(folder, keys, host, port, config))
        else:
            yield stack.enter_context(_serve_subprocess(folder, keys, host, port, config))


@contextlib.contextmanager
def _serve_in_process(
    data_dir: Path, keys: list[str], host: str, port: int, config: dict[str, Any]
) -> Iterator[LocalServer]:
    import uvicorn

    from tinker_local.server.app import create_app

    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    cfg = _make_config(data_dir, keys, host, actual_port, config)
    try:
        app = create_app(cfg)
    except BaseException:
        sock.close()
        raise
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=10,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="tinker-local-server", daemon=True
    )
    thread.start()
    url = _url(host, actual_port)
    try:
        _wait_healthy(url, thread.is_alive)
        yield LocalServer(
            url=url,
            api_key=keys[0],
            api_keys=keys,
            data_dir=data_dir,
            config=cfg,
            backend=app.state.backend,
            faults=app.state.faults,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()


# A port chosen free can be taken by another process before the server binds it: a server
# that exits during start-up on a port it was not given is started again on another one.
_PORT_ATTEMPTS = 3


@contextlib.contextmanager
def _serve_subprocess(
    data_dir: Path, keys: list[str], host: str, port: int, config: dict[str, Any]
) -> Iterator[LocalServer]:
    data_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        chosen = port or _free_port(host)
        process = _start_subprocess(data_dir, keys, host, chosen, config)
        try:
            _wait_healthy(_url(host, chosen), lambda p=process: p.poll() is None)
            break
        except RuntimeError:
            if port or attempt == _PORT_ATTEMPTS:
                raise RuntimeError(
                    f"the local backend exited during start-up; its log "
                    f"({data_dir / 'server.log'}) ends with: {_log_tail(data_dir)}"
                ) from None
        except BaseException:
            _stop(process)
            raise
    try:
        yield LocalServer(
            url=_url(host, chosen),
            api_key=keys[0],
            api_keys=keys,
            data_dir=data_dir,
            config=_make_config(data_dir, keys, host, chosen, config),
            process=process,
        )
    finally:
        _stop(process)


def _free_port(host: str) -> int:
    probe = _bind(host, 0)
    port: int = probe.getsockname()[1]
    probe.close()
    return port


def _start_subprocess(
    data_dir: Path, keys: list[str], host: str, port: int, config: dict[str, Any]
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "tinker_local", "serve", "--host", host, "--port", str(port)]
    cmd += ["--log-level", "warning"]  # no access-log line per request in tests and benches
    cmd += ["--data-dir", str(data_dir)]
    for key in keys:
        cmd += ["--api-key", key]
    for name, value in config.items():  # the `serve` options derived from ServerConfig
        flag = name.replace("_", "-")
        if isinstance(value, list | tuple):  # a list field: its option once per item
            cmd += [arg for item in value for arg in (f"--{flag.removesuffix('s')}", str(item))]
        elif isinstance(value, bool):
            cmd.append(f"--{flag}" if value else f"--no-{flag}")
        elif value is not None:
            cmd += [f"--{flag}", str(value)]
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(repo), str(repo / "generated"), env.get("PYTHONPATH", "")) if p
    )
    with (data_dir / "server.log").open("ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


def _log_tail(data_dir: Path, chars: int = 1500) -> str:
    try:
        return (data_dir / "server.log").read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def default_data_dir() -> Path:
    return Path(os.environ.get("TINKER_LOCAL_DATA_DIR", Path.home() / ".tinker-local"))


def _dev_key(data_dir: Path) -> str:
    """The data folder's development key (created once, so restarts keep ownership)."""
    path = data_dir / DEV_KEY_FILE
    if path.is_file():
        key = path.read_text().strip()
        if key.startswith("tml-"):
            return key
    key = generate_dev_key()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(key + "\n")
        path.chmod(0o600)
    except OSError as e:  # a read-only or unusable data folder: say so, without a traceback
        from tinker_local.server.state import DataDirError

        raise DataDirError(
            f"data folder {data_dir} is not writable ({e.strerror or e}); choose another "
            "--data-dir or fix its permissions"
        ) from None
    return key


def _freeze_startup_objects() -> None:
    """Keep what the start-up created (torch, transformers, peft: ~400k objects, alive as long
    as the process) out of the cyclic garbage collector's full collections. Measured: each full
    collection walked them all for ~175 ms, finding nothing, a pause that stopped every request
    of the server about every other RL rollout round. Later objects (models, requests) are
    collected as usual. Only in a server process of its own: frozen objects that later become
    cyclic garbage are never freed, which a process hosting many in-process servers (tests)
    would accumulate."""
    gc.collect()
    gc.freeze()


def run_server(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: str | Path | None = None,
    api_keys: Sequence[str] | None = None,
    *,
    log_level: str = "info",
    **config: Any,
) -> None:
    """Serve until interrupted (the CLI). Prints the URL, and the development key if the
    key was generated (stored in the data folder so a restart keeps the same owner)."""
    import uvicorn

    from tinker_local.server.app import create_app

    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    keys = list(api_keys) if api_keys else [_dev_key(folder)]
    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    cfg = _make_config(folder, keys, host, actual_port, config)
    app = create_app(cfg)
    _freeze_startup_objects()
    url = _url(host, actual_port)
    print(f"Tinker local backend listening on {url} (data: {folder})", flush=True)
    if not api_keys:
        print(f"Development API key: {keys[0]}", flush=True)
        print(f"  export TINKER_BASE_URL={url} TINKER_API_KEY={keys[0]}", flush=True)
    # Access-log lines are INFO: below that level, skip building them for every request.
    access_log = log_level.lower() in ("trace", "debug", "info")
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=log_level,
            access_log=access_log,
            lifespan="on",
            timeout_keep_alive=KEEP_ALIVE_S,
        )
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


__all__ = ["LocalServer", "default_data_dir", "run_server", "serve_local"]
