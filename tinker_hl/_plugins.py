"""Commands and helpers that other installed packages add to `tinker-hl`, found through entry
points, so the client never imports them by name (the local backend registers `serve`).

- group `tinker_hl.commands`: click commands added to the root group (name: the command's);
- group `tinker_hl.checkpoint_exporters`: `export` -> a function
  `(archive: Path, out: Path, *, merge: bool) -> Path` that raises ValueError for a source it
  cannot export (used by `tinker-hl checkpoints export`).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

COMMANDS_GROUP = "tinker_hl.commands"
EXPORTERS_GROUP = "tinker_hl.checkpoint_exporters"


def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def command_names() -> list[str]:
    return sorted(_entry_points(COMMANDS_GROUP))


def load_command(name: str) -> Any | None:
    """The click command registered as `name`, or None."""
    ep = _entry_points(COMMANDS_GROUP).get(name)
    return None if ep is None else ep.load()


def load_exporter() -> Callable[..., Any] | None:
    ep = _entry_points(EXPORTERS_GROUP).get("export")
    return None if ep is None else ep.load()
