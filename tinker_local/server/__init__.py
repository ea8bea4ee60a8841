"""HTTP server of the local Tinker-compatible backend (the JSON protocol of openapi.yaml).

The names below are loaded on first use, so that a light module of this package (the
configuration, read by the command line to build its options) does not pull in the whole
server and torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .config import ServerConfig, generate_dev_key, user_id_for_key
    from .state import Backend
    from .store import Store

_HOMES = {
    "create_app": ".app",
    "ServerConfig": ".config",
    "generate_dev_key": ".config",
    "user_id_for_key": ".config",
    "Backend": ".state",
    "Store": ".store",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name], __name__), name)


__all__ = ["Backend", "ServerConfig", "Store", "create_app", "generate_dev_key", "user_id_for_key"]
