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
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from .kv_cache import merge_rows, new_cache, shares_rows, trim_leading_columns
from .models import LoraSpec, cache_kwarg, peft_lora_config, private_base_model
from .runtime import current as current_runtime
from .token_choice import Sampling, choose_tokens

# Rows decoded together at most (memory bound: one KV cache row each). A request that does not
# fit waits for rows to free up; a request alone in the decoder is always admitted.
MAX_BATCH_ROWS = 256
# Prompt tokens prefilled per decode step at most (beyond the first request), so that one step
# stays a bounded slice of the compute turn.
MAX_ADMIT_TOKENS_PER_STEP = 8192
# A burst of requests (many arriving within GATHER_QUIET_S of each other, as an RL step sends
# them) joins the batch together: the driver waits while the burst is still arriving, at most
# GATHER_MAX_S after its first request. (Decoding the first arrivals alone while the rest
# arrive costs a whole step each time: one step costs about as much for 4 rows as for 256.)
# A request arriving alone is decoded at once.
GATHER_QUIET_S = 0.004
GATHER_MAX_S = 0.25
# A finished row stays in the batch (fed its last token at its last position, its outputs
# unread) until finished rows are this fraction of the batch, or rows join: removing rows
# re-indexes every layer's cache, which at every step where a row finished cost ~1.4 ms of a
# ~9 ms step (256 rows, tiny-llama), while a finished row costs next to nothing in the forward.
COMPACT_FINISHED_FRACTION = 0.25
# LoRA adapters kept loaded in a base model's decoder (least recently used dropped first).
MAX_LOADED_ADAPTERS = 16
BASE_ADAPTER = "__base__"


class Turns(Protocol):
    """How a decoding thread shares the compute with other work (see the server scheduler)."""

    def yield_turn(self) -> None: ...

    def released(self) -> contextlib.AbstractContextManager[None]: ...

    def release_turn(self) -> None: ...

    def take_turn(self) -> None: ...


class NoTurns:
    """Single-threaded use: nothing to share with."""

    def yield_turn(self) -> None:
        pass

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        yield

    def release_turn(self) -> None:
        pass

    def take_turn(self) -> None:
        pass


@dataclass
class Row:
    request: DecodeRequest
    seq_index: int
    next_token: int
    position: int
    finished: bool = False  # kept in the batch until the next compaction


@dataclass
class DecodeRequest:
    """One sampling request: what to decode, and (once `done`) the sequences."""

    prompt: list[int]
    num_samples: int
    max_new: int
    sampling: Sampling
    is_stop: Callable[[list[int], int], bool]  # (tokens so far, new token) -> stop here?
    # Whether the prompt's logprobs are asked for: then its prompt is prefilled alone, exactly
    # like the trainer's forward (bit-identical logprobs); otherwise together with the other
    # prompts of its length admitted in the same step, computing no prompt logits.
    wants_prompt_logprobs: bool = True
    adapter_key: str | None = None
    adapter: tuple[LoraSpec, dict[str, torch.Tensor]] | None = None
    prompt_logprobs: torch.Tensor | None = None  # [L-1, V] float32, set at prefill
    topk: int = 0  # per sampled token, the k most likely (token, logprob) too
    tokens: list[list[int]] = field(default_factory=list)
    logprobs: list[list[float]] = field(default_factory=list)
    topk_logprobs: list[list[list[tuple[int, float]]]] = field(default_factory=list)
    stopped: list[bool] = field(default_factory=list)
    rows_left: int = 0  # rows still decoding; the request is done when none is left
    done: bool = False
    error: BaseException | None = None
    # Set when `done`, or when its thread is to drive the decoder (see BatchDecoder.run).
    wake: threading.Event = field(default_factory=threading.Event)


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
        self.rows: list[Row] = []  # finished ones included, until compacted
        self.finished_rows = 0
        self.cache: Any = None
        self.mask: torch.Tensor | None = None  # [B, T] 1 = real token, 0 = left padding
        self.lock = threading.Lock()  # guards `pending`, `driver` and requests' `done`
        self.driver: DecodeRequest | None = None
        self.admitting: list[DecodeRequest] = []  # taken off `pending`, not yet rows
        self.mergeable = shares_rows(base)  # else its requests decode one at a time
        self.arrived = threading.Event()  # set when a request joins `pending`
        self.burst_start = 0.0  # when the current burst's first request arrived
        self.burst_last = 0.0  # when its latest one did
        self.burst_size = 0
        self.steps = 0  # decode steps run (tests and benchmarks read it)
        self.prefills = 0  # prefill forwards run (idem)
        self.max_rows_seen = 0

    # -- entry point -------------------------------------------------------------------------
    def run(self, request: DecodeRequest, turns: Turns) -> None:
        """Decode `request`. The caller holds its turn on entry; on return it may not: a
        request decoded by another thread's steps returns with its turn given up (what is left
        of its job, reading the results, needs no compute turn; taking it again would make the
        driver wait for every finished request's thread, one after another, at every step).

        The first request's thread drives the decoder (its steps decode every row); the others
        sleep on their own `wake` event, set when their request is done or when the driver
        leaves and hands the driving to them. (One condition shared by all woke every waiting
        thread at every finished request: quadratic in the number of concurrent requests.)
        """
        with self.lock:
            self._note_arrival()
            self.pending.append(request)
        holding = True
        while True:
            with self.lock:
                if request.done:
                    break
                drive = self.driver is None
                if drive:
                    self.driver = request
                else:
                    request.wake.clear()
            if drive:
                if not holding:
                    turns.take_turn()
                    holding = True
                try:
                    while not request.done:
                        self._gather(turns)
                        self._step()
                        if not request.done:
                            turns.yield_turn()
                finally:
                    with self.lock:
                        self.driver = None
                        successor = self._successor()
                    if successor is not None:
                        successor.wake.set()
            else:
                if holding:
                    turns.release_turn()
                    holding = False
                request.wake.wait()
        if request.error is not None:
            raise request.error

    def _note_arrival(self) -> None:
        """(Under `lock`.) A request joins `pending`: it starts a burst if the decoder is idle
        or the last arrival is long past."""
        now = time.monotonic()
        if (not self.rows and not self.pending) or now - self.burst_last > GATHER_QUIET_S:
            self.burst_start, self.burst_size = now, 0
        self.burst_last = now
        self.burst_size += 1
        self.arrived.set()

    def _gather(self, turns: Turns) -> None:
        """Wait (with the turn released) while a burst of requests is still arriving."""
        while True:
            with self.lock:
                now = time.monotonic()
                arriving = (
                    self.mergeable
                    and self.burst_size > 1
                    and now - self.burst_last < GATHER_QUIET_S
                    and now - self.burst_start < GATHER_MAX_S
                )
                if not arriving:
                    return
                self.arrived.clear()
                quiet_for = self.burst_last + GATHER_QUIET_S - now
            with turns.released():
                self.arrived.wait(quiet_for)

    def _successor(self) -> DecodeRequest | None:
        """A request still being decoded or waiting to be, whose thread can drive next."""
        for row in self.rows:
            if not row.request.done:
                return row.request
        for waiting in self.pending:
            if not waiting.done:
                return waiting
        return None

    # -- one step ----------------------------------------------------------------------------
    def _step(self) -> None:
        admitted = self._take_admissions()
        if admitted:
            self._admit(admitted)
        if self.rows:
            try:
                self._decode()
            except BaseException as e:  # e.g. out of memory: fail every request in the batch
                failed = {id(r.request): r.request for r in self.rows if not r.finished}
                self._clear_batch()
                for request in failed.values():
                    self._finish(request, e)

    def _take_admissions(self) -> list[DecodeRequest]:
        """The waiting requests that join at this step, oldest first: while rows are free (a
        request alone in the decoder always joins) and the step's prefill stays bounded."""
        taken: list[DecodeRequest] = []
        rows, prompt_tokens = len(self.rows) - self.finished_rows, 0  # (joining compacts)
        with self.lock:
            while self.pending:
                request = self.pending[0]
                n = request.num_samples if request.max_new > 0 else 0
                if rows and (not self.mergeable or rows + n > MAX_BATCH_ROWS):
                    break
                if taken and prompt_tokens + len(request.prompt) > MAX_ADMIT_TOKENS_PER_STEP:
                    break
                taken.append(self.pending.popleft())
                rows += n
                prompt_tokens += len(request.prompt)
        return taken

    def _finish(self, request: DecodeRequest, error: BaseException | None = None) -> None:
        with self.lock:
            request.error = error
            request.done = True
        request.wake.set()

    def _new_cache(self) -> Any:
        return new_cache(None if self.mergeable else self.base.config)

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
        in_use = {r.request.adapter_key for r in self.rows} | {
            p.adapter_key for p in [*self.pending, *self.admitting]
        }
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
        if request.adapter is not None:
            self._load_adapter(request)
        cache = self._new_cache()
        prompt = request.prompt
        if len(prompt) > 1:
            device = current_runtime().device
            ids = torch.tensor([prompt[:-1]], dtype=torch.long, device=device)
            model, extra = self._model_for([request.adapter_key or BASE_ADAPTER])
            self.prefills += 1
            out = model(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                use_cache=True,
                **{self.cache_arg: cache},
                **extra,
            )
            request.prompt_logprobs = torch.log_softmax(out.logits[0].float(), dim=-1)
        return cache

    def _prefill_together(self, group: list[DecodeRequest]) -> Any:
        """Prefill prompts of one length (all tokens but the last) in one forward; no logits
        beyond the last position are computed. Returns the cache (one row per request)."""
        cache = self._new_cache()
        length = len(group[0].prompt) - 1
        if length > 0:
            device = current_runtime().device
            ids = torch.tensor([r.prompt[:-1] for r in group], dtype=torch.long, device=device)
            model, extra = self._model_for([r.adapter_key or BASE_ADAPTER for r in group])
            self.prefills += 1
            model(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                use_cache=True,
                logits_to_keep=1,
                **{self.cache_arg: cache},
                **extra,
            )
        return cache

    def _admit(self, requests: list[DecodeRequest]) -> None:
        """Prefill the requests joining at this step and append their rows (one cache merge)."""
        self.admitting = requests
        parts: list[tuple[Any, list[DecodeRequest]]] = []
        by_length: dict[int, list[DecodeRequest]] = {}
        try:
            for request in requests:
                n = request.num_samples
                request.tokens = [[] for _ in range(n)]
                request.logprobs = [[] for _ in range(n)]
                request.topk_logprobs = [[] for _ in range(n)]
                request.stopped = [False] * n
                try:
                    if request.wants_prompt_logprobs:
                        cache = self.prefill(request)
                        if request.max_new > 0:
                            parts.append((cache, [request]))
                    elif request.max_new > 0:
                        if request.adapter is not None:
                            self._load_adapter(request)
                        by_length.setdefault(len(request.prompt), []).append(request)
                except BaseException as e:  # this request's fault (e.g. memory): it alone fails
                    self._finish(request, e)
                    continue
                if request.max_new == 0:
                    self._finish(request)
            for group in by_length.values():
                try:
                    parts.append((self._prefill_together(group), group))
                except BaseException as e:  # e.g. memory: this group fails
                    for request in group:
                        self._finish(request, e)
            if parts:
                self._append_rows(parts)
        finally:
            self.admitting = []

    def _append_rows(self, parts: list[tuple[Any, list[DecodeRequest]]]) -> None:
        """Add each part's requests (one cache row per request, in order) as decoder rows."""
        device = current_runtime().device
        if self.finished_rows:
            self._compact()  # the merge below copies the cache anyway
        caches: list[tuple[Any, torch.Tensor]] = []
        if self.rows:
            assert self.mask is not None
            caches.append((self.cache, self.mask))
        for cache, group in parts:
            counts = [r.num_samples for r in group]
            if any(c > 1 for c in counts):
                index = torch.repeat_interleave(torch.arange(len(group)), torch.tensor(counts))
                # Row selection that every kind of cache layer implements (beam search's):
                # linear-attention layers have no batch_repeat_interleave/batch_select_indices.
                cache.reorder_cache(index.to(device))
            length = len(group[0].prompt) - 1
            caches.append(
                (cache, torch.ones((sum(counts), length), dtype=torch.long, device=device))
            )
            self.rows += [
                Row(r, i, r.prompt[-1], length) for r in group for i in range(r.num_samples)
            ]
            for r in group:
                r.rows_left = r.num_samples
        self.cache, self.mask = merge_rows(caches) if len(caches) > 1 else caches[0]
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
        logits = out.logits[:, -1, :].float()  # chosen where computed; [B] values come back
        if logits.device.type == "mps":  # no float64 there (the inverse CDF's sums)
            logits = logits.cpu()
        rows = self.rows
        if self.finished_rows:  # only the unfinished rows' outputs are read
            live = [i for i, r in enumerate(rows) if not r.finished]
            logits = logits[torch.tensor(live, device=logits.device)]
            rows = [rows[i] for i in live]
        chosen = choose_tokens(logits, [r.request.sampling for r in rows])
        all_logprobs = torch.log_softmax(logits, dim=-1)
        logprobs = all_logprobs.gather(-1, chosen[:, None])[:, 0]
        top = _top_rows(all_logprobs, rows)
        # One conversion per step, not one tensor read per row: this loop runs every step.
        tokens, values = chosen.tolist(), logprobs.tolist()
        done: list[DecodeRequest] = []
        for i, row in enumerate(rows):
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
                continue
            row.finished = True
            self.finished_rows += 1
            request.rows_left -= 1
            if request.rows_left == 0:
                done.append(request)
        if self.finished_rows == len(self.rows):
            self._clear_batch()
        elif self.finished_rows >= COMPACT_FINISHED_FRACTION * len(self.rows):
            self._compact()
        for request in done:  # answered at once, compacted or not
            self._finish(request)

    def _clear_batch(self) -> None:
        self.rows, self.cache, self.mask, self.finished_rows = [], None, None, 0

    def _compact(self) -> None:
        """Drop the finished rows from the batch and its cache."""
        assert self.mask is not None
        keep = [i for i, r in enumerate(self.rows) if not r.finished]
        index = torch.tensor(keep, device=self.mask.device)
        self.rows = [self.rows[i] for i in keep]
        self.finished_rows = 0
        self.cache.reorder_cache(index)
        self.mask = self.mask[index]
        self._trim_padding()

    def _trim_padding(self) -> None:
        """Drop leading cache columns that are padding in every row (after long rows left)."""
        assert self.mask is not None
        used = self.mask.any(dim=0).nonzero()
        first = int(used[0]) if used.numel() else self.mask.shape[1]
        if first == 0:
            return
        self.mask = self.mask[:, first:]
        trim_leading_columns(self.cache, first)


def _top_rows(logprobs: torch.Tensor, rows: list[Row]) -> dict[int, list[tuple[int, float]]]:
    """Batch row -> its k most likely (token, logprob), most likely first, for the rows of
    requests that asked for top-k sample logprobs (one topk call per request: its rows are
    consecutive)."""
    out: dict[int, list[tuple[int, float]]] = {}
    start = 0
    while start < len(rows):
        request = rows[start].request
        stop = start + 1
        while stop < len(rows) and rows[stop].request is request:
            stop += 1
        if request.topk > 0:
            values, ids = torch.topk(logprobs[start:stop], request.topk, dim=-1)
            for i, row_ids, row_values in zip(
                range(start, stop), ids.tolist(), values.tolist(), strict=True
            ):
                out[i] = list(zip(row_ids, row_values, strict=True))
        start = stop
    return out


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
