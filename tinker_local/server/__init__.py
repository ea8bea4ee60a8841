"""HTTP server of the local Tinker-compatible backend (the JSON protocol of openapi.yaml)."""

from .app import create_app
from .config import ServerConfig, generate_dev_key, user_id_for_key
from .state import Backend
from .store import Store

__all__ = ["Backend", "ServerConfig", "Store", "create_app", "generate_dev_key", "user_id_for_key"]
