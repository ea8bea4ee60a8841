"""Where the engine computes: device, parameter dtype and torch's CPU thread count.

Set once at server start (`configure`), before any model is built; every model, LoRA adapter
and input tensor then lives on `current().device`. Log-probabilities are always returned in
float32 whatever the parameter dtype.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .errors import UserInputError

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def default_threads() -> int:
    """Half the cores, at most 8. Measured on the 2-core development machine under load from
    other processes: a sample took 0.63 s with 2 torch threads and 0.057 s with 1 (threads
    spinning against each other), so oversubscribing costs far more than one idle core."""
    return max(1, min(8, (os.cpu_count() or 2) // 2))


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    dtype: torch.dtype
    threads: int


def _pick_device(device: str) -> torch.device:
    if device not in DEVICES:
        raise UserInputError(f"device: expected one of {', '.join(DEVICES)}, got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserInputError("device: cuda requested but torch sees no CUDA device")
    if device == "mps" and not torch.backends.mps.is_available():
        raise UserInputError("device: mps requested but torch sees no MPS device")
    return torch.device(device)


def _pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        # bfloat16 where the hardware has it (CUDA); float32 elsewhere (CPU bf16 matmuls are
        # slow on most CPUs, and the tiny presets gain nothing from it).
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if dtype not in DTYPES:
        raise UserInputError(f"dtype: expected one of auto, {', '.join(DTYPES)}, got {dtype!r}")
    return DTYPES[dtype]


_current = Runtime(torch.device("cpu"), torch.float32, 0)


def configure(device: str = "auto", dtype: str = "auto", threads: int | None = None) -> Runtime:
    """Choose device/dtype/threads for everything built afterwards; returns the choice."""
    global _current
    dev = _pick_device(device)
    n = default_threads() if threads is None else threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UserInputError(f"threads: expected an integer >= 1, got {threads!r}")
    torch.set_num_threads(n)
    previous, _current = _current, Runtime(dev, _pick_dtype(dtype, dev), n)
    if (previous.device, previous.dtype) != (_current.device, _current.dtype):
        for forget in _on_change:  # models built for the earlier choice sit on the wrong device
            forget()
    return _current


# Caches of things built for the current device/dtype (registered by their owners, so this
# module imports none of them).
_on_change: list[Callable[[], None]] = []


def on_change(forget: Callable[[], None]) -> None:
    """Call `forget` whenever configure() changes the device or dtype."""
    _on_change.append(forget)


def current() -> Runtime:
    return _current
