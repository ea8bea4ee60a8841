"""The batch decoder's KV cache: layers that grow in place, and merging or trimming rows.

transformers' `DynamicLayer` appends each decode step's keys and values with `torch.cat`,
which copies the whole cache of every layer at every step: a step's cost grows with the
sequence (128 rows of 2,000 tokens copy tens of MB per layer per step). `GrowingLayer` keeps
its keys and values in buffers with room to spare along the sequence axis (grown by half
again when full), so a step writes only its own token; the model sees a view of the filled
part, with the same values `DynamicLayer` would hold. Measured (tiny-llama, one request of
128 samples x 900 tokens, CPU): 0.95x of `model.generate`'s tokens/s before, 1.5x after.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

# Spare room when a buffer (re)grows: half its filled length, at least this many positions.
MIN_SPARE = 16


class _Growing:
    """A [batch, heads, seq, head_dim] tensor stored in a buffer with spare seq capacity."""

    __slots__ = ("buffer", "length")

    def __init__(self) -> None:
        self.buffer: torch.Tensor | None = None
        self.length = 0

    def get(self) -> torch.Tensor | None:
        buffer = self.buffer
        if buffer is None or buffer.dim() != 4 or buffer.shape[-2] == self.length:
            return buffer
        return buffer[..., : self.length, :]

    def set(self, tensor: torch.Tensor | None) -> None:
        """Hold exactly `tensor` (no spare room: the next append moves it to a buffer)."""
        self.buffer = tensor
        self.length = tensor.shape[-2] if tensor is not None and tensor.dim() == 4 else 0

    def append(self, new: torch.Tensor) -> torch.Tensor:
        n, buffer, length = new.shape[-2], self.buffer, self.length
        if buffer is None or buffer.dim() != 4 or length == 0:
            # The first write (a prefill) is held at its size: a request may decode few
            # tokens, and its rows may be merged (copied) into the batch's cache anyway.
            self.set(new.clone(memory_format=torch.contiguous_format))
            return self.buffer  # type: ignore[return-value]
        if length + n > buffer.shape[-2]:
            capacity = length + n + max(MIN_SPARE, (length + n) // 2)
            grown = new.new_empty((*new.shape[:2], capacity, new.shape[-1]))
            grown[..., :length, :] = buffer[..., :length, :]
            buffer = self.buffer = grown
        buffer[..., length : length + n, :] = new
        self.length = length + n
        return buffer[..., : self.length, :]


class GrowingLayer(DynamicLayer):
    """A `DynamicLayer` whose `update` writes into spare room instead of concatenating.
    `keys`/`values` read as the filled part; assigning them (as the cache's batch operations
    and `merge_rows` do) replaces the buffer."""

    def __init__(self) -> None:
        self._keys, self._values = _Growing(), _Growing()
        super().__init__()

    @property
    def keys(self) -> torch.Tensor | None:
        return self._keys.get()

    @keys.setter
    def keys(self, tensor: torch.Tensor | None) -> None:
        self._keys.set(tensor)

    @property
    def values(self) -> torch.Tensor | None:
        return self._values.get()

    @values.setter
    def values(self, tensor: torch.Tensor | None) -> None:
        self._values.set(tensor)

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        return self._keys.append(key_states), self._values.append(value_states)


def shares_rows(model: Any) -> bool:
    """Whether rows of different requests can share one cache for `model`: when its every
    layer keeps keys and values (full or sliding-window attention). The decoder keeps them
    whole in `GrowingLayer`s (a sliding-window layer's mask ignores what its own cache would
    drop; each row's positions stay consecutive after its left padding, so the window is the
    same). Linear-attention and convolution layers keep a state we cannot left-pad."""
    try:
        layers = DynamicCache(config=model.config).layers
    except Exception:  # an unusual config: decode its requests one at a time
        return False
    return all(type(layer) in (DynamicLayer, DynamicSlidingWindowLayer) for layer in layers)


def new_cache(config: Any = None) -> Any:
    """An empty cache. Without a config, for models whose rows share a cache: layers (created
    as the model first writes them) that grow in place. With the model's config: the layers it
    asks for (linear attention, say), for one request at a time."""
    if config is not None:
        return DynamicCache(config=config)
    cache = DynamicCache()
    cache.layer_class_to_replicate = GrowingLayer  # appended for each new layer index
    return cache


def _layer_kv(layer: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    if not getattr(layer, "is_initialized", False) or layer.keys is None or not layer.keys.numel():
        return None
    return layer.keys, layer.values


def _left_pad(t: torch.Tensor, width: int) -> torch.Tensor:
    pad = width - t.shape[-2]
    return t if pad == 0 else F.pad(t, (0, 0, pad, 0))


def merge_rows(parts: list[tuple[Any, torch.Tensor]]) -> tuple[Any, torch.Tensor]:
    """Stack the rows of several caches (each with its [rows, T] mask), left-padded to the
    longest, into the first one: one concatenation per layer, however many parts."""
    width = max(mask.shape[1] for _, mask in parts)
    merged_mask = torch.cat([F.pad(mask, (width - mask.shape[1], 0)) for _, mask in parts])
    target = parts[0][0]
    n_layers = max(len(cache.layers) for cache, _ in parts)
    for i in range(n_layers):
        kvs = [_layer_kv(cache.layers[i]) if i < len(cache.layers) else None for cache, _ in parts]
        like = next((kv for kv in kvs if kv is not None), None)
        if like is None:
            continue  # nothing cached in this layer yet in any part
        k_like, v_like = like

        def empty(b: int, t: torch.Tensor) -> torch.Tensor:
            return t.new_zeros((b, t.shape[1], 0, t.shape[3]))

        keys, values = [], []
        for (_, mask), kv in zip(parts, kvs, strict=True):
            k, v = (
                kv
                if kv is not None
                else (empty(mask.shape[0], k_like), empty(mask.shape[0], v_like))
            )
            keys.append(_left_pad(k, width))
            values.append(_left_pad(v, width))
        if i >= len(target.layers):  # the first part's rows never ran a layer (one-token prompts)
            donor = next(c for c, _ in parts if i < len(c.layers) and _layer_kv(c.layers[i]))
            target.layers.append(donor.layers[i])
        layer = target.layers[i]
        if not getattr(layer, "is_initialized", False):
            layer.lazy_initialization(k_like, v_like)
        layer.keys = torch.cat(keys)
        layer.values = torch.cat(values)
    return target, merged_mask


def trim_leading_columns(cache: Any, first: int) -> None:
    """Drop the first `first` positions of every layer (padding in every row)."""
    for layer in cache.layers:
        if _layer_kv(layer) is not None:
            layer.keys = layer.keys[..., first:, :]
            layer.values = layer.values[..., first:, :]
