"""Continuous batching: concurrent sample requests on one base model decoded together.

One `BatchDecoder` per base model holds the rows (one per sample) of every request being
decoded, in one left-padded KV cache. Between decode steps, requests join (their prompt is
prefilled alone, exactly as a one-request sampler would, then its cache rows are appended) and
finished rows leave. Every row keeps its own stop conditions; every request its own seed
(a `torch.Generator` drawn only for that request's rows, in row order, so the draws do not
depend on what else is in the batch) and its own LoRA adapter: adapters of one base model are
loaded side by side into one peft model and applied per row (peft's mixed-adapter batches).

Threads: the requests' threads take turns through a `Turns` object (the server's fair
scheduler; `NoTurns` when used directly). Exactly one thread drives the decoder at a time and
only while it holds the turn; the others wait with their turn released.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from .models import LoraSpec, cache_kwarg, peft_lora_config, private_base_model
from .runtime import current as current_runtime

# Rows decoded together at most (memory bound: one KV cache row each). A request that does not
# fit waits for rows to free up; a request alone in the decoder is always admitted.
MAX_BATCH_ROWS = 256
# Prompts prefilled per decode step at most, so that one step stays a bounded slice.
MAX_ADMIT_PER_STEP = 32
# LoRA adapters kept loaded in a base model's decoder (least recently used dropped first).
MAX_LOADED_ADAPTERS = 16
BASE_ADAPTER = "__base__"


class Turns(Protocol):
    """How a decoding thread shares the compute with other work (see the server scheduler)."""

    def yield_turn(self) -> None: ...

    def released(self) -> contextlib.AbstractContextManager[None]: ...


class NoTurns:
    """Single-threaded use: nothing to share with."""

    def yield_turn(self) -> None:
        pass

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        yield


@dataclass
class Row:
    request: DecodeRequest
    seq_index: int
    next_token: int
    position: int


@dataclass
class DecodeRequest:
    """One sampling request: what to decode, and (once `done`) the sequences."""

    prompt: list[int]
    num_samples: int
    max_new: int
    choose: Callable[[torch.Tensor], torch.Tensor]  # logits [k, V] (float32, CPU) -> ids [k]
    is_stop: Callable[[list[int], int], bool]  # (tokens so far, new token) -> stop here?
    adapter_key: str | None = None
    adapter: tuple[LoraSpec, dict[str, torch.Tensor]] | None = None
    prompt_logprobs: torch.Tensor | None = None  # [L-1, V] float32, set at prefill
    topk: int = 0  # per sampled token, the k most likely (token, logprob) too
    tokens: list[list[int]] = field(default_factory=list)
    logprobs: list[list[float]] = field(default_factory=list)
    topk_logprobs: list[list[list[tuple[int, float]]]] = field(default_factory=list)
    stopped: list[bool] = field(default_factory=list)
    done: bool = False
    error: BaseException | None = None


_adapter_ids = itertools.count()


def new_adapter_key() -> str:
    """A decoder-wide unique adapter name (a valid module attribute name for peft)."""
    return f"a{next(_adapter_ids)}"


class BatchDecoder:
    def __init__(self, base_model: str, base: Any) -> None:
        self.base_model = base_model
        self.base = base  # the shared frozen base model (read-only)
        self.peft: Any = None  # a private copy with the loaded adapters, once one is needed
        self.adapters: OrderedDict[str, None] = OrderedDict()
        self.cache_arg = cache_kwarg(base_model)
        self.pending: deque[DecodeRequest] = deque()
        self.rows: list[Row] = []
        self.cache: Any = None
        self.mask: torch.Tensor | None = None  # [B, T] 1 = real token, 0 = left padding
        self.cond = threading.Condition()
        self.driver: DecodeRequest | None = None
        # Whether rows of different requests can share the cache: only plain growing layers
        # (sliding-window or linear-attention layers keep state we cannot left-pad).
        self.mergeable = _plain_cache_layers(base)
        self.steps = 0  # decode steps run (tests and benchmarks read it)
        self.max_rows_seen = 0

    # -- entry point -------------------------------------------------------------------------
    def run(self, request: DecodeRequest, turns: Turns) -> None:
        """Decode `request` (the caller holds its turn on entry and on return)."""
        self.pending.append(request)
        while not request.done:
            if self.driver is None:
                self.driver = request
                try:
                    while not request.done:
                        self._step()
                        if not request.done:
                            turns.yield_turn()
                finally:
                    self.driver = None
                    with self.cond:
                        self.cond.notify_all()
            else:
                with turns.released(), self.cond:
                    self.cond.wait_for(lambda: request.done or self.driver is None)
        if request.error is not None:
            raise request.error

    # -- one step ----------------------------------------------------------------------------
    def _step(self) -> None:
        admitted = 0
        while self.pending and admitted < MAX_ADMIT_PER_STEP:
            request = self.pending[0]
            if self.rows and (
                not self.mergeable or len(self.rows) + request.num_samples > MAX_BATCH_ROWS
            ):
                break
            self.pending.popleft()
            admitted += 1
            try:
                self._admit(request)
            except BaseException as e:  # this request's fault (e.g. memory): it alone fails
                self._finish(request, e)
        if self.rows:
            try:
                self._decode()
            except BaseException as e:  # e.g. out of memory: fail every request in the batch
                failed = {id(r.request): r.request for r in self.rows}
                self.rows, self.cache, self.mask = [], None, None
                for request in failed.values():
                    self._finish(request, e)

    def _finish(self, request: DecodeRequest, error: BaseException | None = None) -> None:
        request.error = error
        request.done = True
        with self.cond:
            self.cond.notify_all()

    def _model_for(self, adapter_keys: list[str]) -> tuple[Any, dict[str, Any]]:
        if self.peft is None:
            return self.base, {}
        return self.peft, {"adapter_names": adapter_keys}

    def _load_adapter(self, request: DecodeRequest) -> None:
        from peft import get_peft_model

        assert request.adapter is not None and request.adapter_key is not None
        key = request.adapter_key
        if key in self.adapters:
            self.adapters.move_to_end(key)
            return
        spec, tensors = request.adapter
        config = peft_lora_config(spec)
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*tie_word_embeddings.*")
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
            if self.peft is None:
                self.peft = get_peft_model(
                    private_base_model(self.base_model), config, adapter_name=key
                )
                self.peft.eval()
            else:
                self.peft.add_adapter(key, config)
        marker = f".{key}."
        params = {n.replace(marker, "."): p for n, p in self.peft.named_parameters() if marker in n}
        from .models import load_adapter_into

        load_adapter_into(params, tensors, "adapter")
        for p in params.values():
            p.requires_grad_(False)
        self.adapters[key] = None
        self._drop_unused_adapters()

    def _drop_unused_adapters(self) -> None:
        in_use = {r.request.adapter_key for r in self.rows} | {p.adapter_key for p in self.pending}
        for key in list(self.adapters):
            if len(self.adapters) <= MAX_LOADED_ADAPTERS:
                break
            if key not in in_use:
                self.peft.delete_adapter(key)
                del self.adapters[key]

    def prefill(self, request: DecodeRequest) -> Any:
        """Run all prompt tokens but the last; set `request.prompt_logprobs`; return the cache.

        Stopping one token short makes the shapes identical to the trainer's forward on a datum
        whose input is prompt[:-1] (hence bit-identical logprobs); the last prompt token is then
        fed as the first decoding step, which yields the first sampled token's distribution.
        """
        from transformers import DynamicCache

        if request.adapter is not None:
            self._load_adapter(request)
        cache = DynamicCache()
        prompt = request.prompt
        if len(prompt) > 1:
            device = current_runtime().device
            ids = torch.tensor([prompt[:-1]], dtype=torch.long, device=device)
            model, extra = self._model_for([request.adapter_key or BASE_ADAPTER])
            out = model(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                use_cache=True,
                **{self.cache_arg: cache},
                **extra,
            )
            request.prompt_logprobs = torch.log_softmax(out.logits[0].float(), dim=-1)
        return cache

    def _admit(self, request: DecodeRequest) -> None:
        cache = self.prefill(request)
        n = request.num_samples
        request.tokens = [[] for _ in range(n)]
        request.logprobs = [[] for _ in range(n)]
        request.topk_logprobs = [[] for _ in range(n)]
        request.stopped = [False] * n
        if request.max_new == 0:
            self._finish(request)
            return
        if n > 1:
            cache.batch_repeat_interleave(n)
        length = len(request.prompt) - 1
        device = current_runtime().device
        mask = torch.ones((n, length), dtype=torch.long, device=device)
        rows = [Row(request, i, request.prompt[-1], length) for i in range(n)]
        if not self.rows:
            self.cache, self.mask, self.rows = cache, mask, rows
        else:
            assert self.mask is not None
            self.cache, self.mask = _merge(self.cache, self.mask, cache, mask)
            self.rows += rows
        self.max_rows_seen = max(self.max_rows_seen, len(self.rows))

    def _decode(self) -> None:
        assert self.mask is not None
        device = current_runtime().device
        b = len(self.rows)
        ids = torch.tensor([[r.next_token] for r in self.rows], dtype=torch.long, device=device)
        positions = torch.tensor([[r.position] for r in self.rows], dtype=torch.long, device=device)
        mask = torch.cat([self.mask, torch.ones((b, 1), dtype=torch.long, device=device)], dim=1)
        model, extra = self._model_for([r.request.adapter_key or BASE_ADAPTER for r in self.rows])
        with torch.no_grad():
            out = model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                use_cache=True,
                **{self.cache_arg: self.cache},
                **extra,
            )
        self.steps += 1
        self.mask = mask
        logits = out.logits[:, -1, :].float().cpu()  # sampled on the CPU: seeds portable
        by_request: dict[int, tuple[DecodeRequest, list[int]]] = {}
        for i, row in enumerate(self.rows):
            by_request.setdefault(id(row.request), (row.request, []))[1].append(i)
        if len(by_request) == 1:  # one request (the common single-user case): no scatter
            ((request, _),) = by_request.values()
            chosen = request.choose(logits)
        else:
            chosen = torch.empty(b, dtype=torch.long)
            for request, idx in by_request.values():
                chosen[idx] = request.choose(logits[idx])
        all_logprobs = torch.log_softmax(logits, dim=-1)
        logprobs = all_logprobs.gather(-1, chosen[:, None])[:, 0]
        top = _top_rows(all_logprobs, by_request.values())
        # One conversion per step, not one tensor read per row: this loop runs every step.
        tokens, values = chosen.tolist(), logprobs.tolist()
        keep: list[int] = []
        for i, row in enumerate(self.rows):
            request, s = row.request, row.seq_index
            token = tokens[i]
            request.tokens[s].append(token)
            request.logprobs[s].append(values[i])
            if i in top:
                request.topk_logprobs[s].append(top[i])
            if request.is_stop(request.tokens[s], token):
                request.stopped[s] = True
            elif len(request.tokens[s]) < request.max_new:
                row.next_token, row.position = token, row.position + 1
                keep.append(i)
        if len(keep) < b:
            finished = {id(r.request): r.request for r in self.rows}
            self.rows = [self.rows[i] for i in keep]
            for r in self.rows:
                finished.pop(id(r.request), None)
            if not self.rows:
                self.cache, self.mask = None, None
            else:
                index = torch.tensor(keep, device=device)
                self.cache.batch_select_indices(index)
                self.mask = self.mask[index]
                self._trim_padding()
            for request in finished.values():
                self._finish(request)

    def _trim_padding(self) -> None:
        """Drop leading cache columns that are padding in every row (after long rows left)."""
        assert self.mask is not None
        used = self.mask.any(dim=0).nonzero()
        first = int(used[0]) if used.numel() else self.mask.shape[1]
        if first == 0:
            return
        self.mask = self.mask[:, first:]
        for layer in self.cache.layers:
            if getattr(layer, "is_initialized", False) and layer.keys.numel():
                layer.keys = layer.keys[..., first:, :]
                layer.values = layer.values[..., first:, :]


def _top_rows(logprobs: torch.Tensor, groups: Any) -> dict[int, list[tuple[int, float]]]:
    """Batch row -> its k most likely (token, logprob), most likely first, for the rows of
    requests that asked for top-k sample logprobs (one topk call per request)."""
    out: dict[int, list[tuple[int, float]]] = {}
    for request, idx in groups:
        if request.topk <= 0:
            continue
        values, ids = torch.topk(logprobs[idx], request.topk, dim=-1)
        for i, row_ids, row_values in zip(idx, ids.tolist(), values.tolist(), strict=True):
            out[i] = list(zip(row_ids, row_values, strict=True))
    return out


def _plain_cache_layers(model: Any) -> bool:
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    try:
        layers = DynamicCache(config=model.config).layers
    except Exception:  # an unusual config: decode its requests one at a time
        return False
    return all(type(layer) is DynamicLayer for layer in layers)


def _layer_kv(layer: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    if not getattr(layer, "is_initialized", False) or layer.keys is None or not layer.keys.numel():
        return None
    return layer.keys, layer.values


def _left_pad(t: torch.Tensor, width: int) -> torch.Tensor:
    pad = width - t.shape[-2]
    return t if pad == 0 else F.pad(t, (0, 0, pad, 0))


def _merge(
    cache: Any, mask: torch.Tensor, new_cache: Any, new_mask: torch.Tensor
) -> tuple[Any, torch.Tensor]:
    """Append `new_cache`'s rows to `cache` (both left-padded to the longer one)."""
    width = max(mask.shape[1], new_mask.shape[1])
    b_old, b_new = mask.shape[0], new_mask.shape[0]
    merged_mask = torch.cat(
        [F.pad(mask, (width - mask.shape[1], 0)), F.pad(new_mask, (width - new_mask.shape[1], 0))]
    )
    n_layers = max(len(cache.layers), len(new_cache.layers))
    for i in range(n_layers):
        old = _layer_kv(cache.layers[i]) if i < len(cache.layers) else None
        new = _layer_kv(new_cache.layers[i]) if i < len(new_cache.layers) else None
        like = old or new
        if like is None:
            continue  # nothing cached in this layer yet on either side
        k_like, v_like = like

        def empty(b: int, t: torch.Tensor) -> torch.Tensor:
            return t.new_zeros((b, t.shape[1], 0, t.shape[3]))

        ok, ov = old if old is not None else (empty(b_old, k_like), empty(b_old, v_like))
        nk, nv = new if new is not None else (empty(b_new, k_like), empty(b_new, v_like))
        if i >= len(cache.layers):  # the old rows never ran a layer (one-token prompts)
            cache.layers.append(new_cache.layers[i])
        layer = cache.layers[i]
        if not getattr(layer, "is_initialized", False):
            layer.lazy_initialization(nk, nv)
        layer.keys = torch.cat([_left_pad(ok, width), _left_pad(nk, width)])
        layer.values = torch.cat([_left_pad(ov, width), _left_pad(nv, width)])
    return cache, merged_mask


_decoders: dict[str, BatchDecoder] = {}
_decoders_lock = threading.Lock()


def decoder_for(base_model: str) -> BatchDecoder:
    """The (process-wide) decoder of `base_model`."""
    from .models import build_base_model

    with _decoders_lock:
        decoder = _decoders.get(base_model)
        base = build_base_model(base_model)
        if decoder is None or decoder.base is not base:  # new, or the runtime changed
            decoder = _decoders[base_model] = BatchDecoder(base_model, base)
        return decoder
