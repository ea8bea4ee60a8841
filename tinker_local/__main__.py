"""`python -m tinker_local [serve] [--host H] [--port P] [--data-dir D] [--api-key K ...]`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from tinker_local.launcher import run_server
from tinker_local.server.config import ServerConfig

# ServerConfig fields settable from the command line (besides host/port/data_dir/api_keys).
_OPTIONS = {
    f.name: f
    for f in dataclasses.fields(ServerConfig)
    if f.name not in ("host", "port", "data_dir", "api_keys")
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tinker_local", description="Run the local Tinker-compatible backend."
    )
    p.add_argument("command", nargs="?", default="serve", choices=["serve"])
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (0 picks a free one)")
    p.add_argument("--data-dir", default=None, help="data folder (default ~/.tinker-local)")
    p.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        default=None,
        help="an accepted API key (tml-...); repeat for several users. Default: a dev key",
    )
    p.add_argument("--log-level", default="info")
    p.add_argument(
        "--model",
        action="append",
        dest="models",
        default=None,
        metavar="NAME[=PATH]",
        help="serve a real model too: NAME from the Hugging Face cache (offline), or "
        "NAME=PATH from a save_pretrained folder; repeatable. The presets are always served",
    )
    for name, f in _OPTIONS.items():
        if name == "models":
            continue
        flag = f"--{name.replace('_', '-')}"
        if str(f.type) == "bool":  # a switch (e.g. --jwt)
            p.add_argument(flag, action="store_const", const=True, default=None, dest=name)
            continue
        kind = {"float": float, "int": int, "int | None": int}.get(str(f.type), str)
        p.add_argument(flag, type=kind, default=None, dest=name)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = {name: getattr(args, name) for name in _OPTIONS if getattr(args, name) is not None}
    try:
        run_server(
            args.host,
            args.port,
            args.data_dir,
            args.api_keys,
            log_level=args.log_level,
            **config,
        )
    except KeyboardInterrupt:
        pass
    except ValueError as e:  # a bad option value (e.g. a key without the tml- prefix)
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
