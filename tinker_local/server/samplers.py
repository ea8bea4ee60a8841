"""Sampler targets (what a sampling request samples from) and an LRU cache of built samplers."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SamplerTarget:
    """A base model, optionally with LoRA weights from a checkpoint/ephemeral folder."""

    cache_key: str
    base_model: str
    weights_dir: Path | None = None


class SamplerCache:
    """Built samplers by target, least recently used evicted first. Thread-safe."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        sampler = build()  # outside the lock: building can take a while
        with self._lock:
            self._items[key] = sampler
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return sampler

    def evict(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items
