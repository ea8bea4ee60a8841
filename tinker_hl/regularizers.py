"""Structured custom losses: a base loss plus named, weighted regularizer terms, with metrics.

    from tinker_hl.regularizers import RegularizedLoss, RegularizerTerm, cross_entropy, entropy

    loss = RegularizedLoss(
        base=cross_entropy(),
        terms=[RegularizerTerm("entropy", entropy(), weight=-0.01)],  # negative: a bonus
    )
    result = training_client.forward_backward_custom(data, loss).result()
    result.metrics["entropy/value"], result.metrics["entropy/grad_norm"]

A `RegularizedLoss` is itself a custom loss function (`CustomLossFnV1`): it returns
`base + sum(weight_i * term_i)` and, per term, the metrics

- `<name>/value`: the term's value;
- `<name>/contribution`: `weight * value`, what it adds to the loss;
- `<name>/grad_norm` (with `track_grad_norms=True`): the L2 norm, over all the batch's
  logprobs, of the gradient of the contribution `weight * value` with respect to the logprobs
  (so norms of different terms and of the base are directly comparable);

and `base/value` (and `base/grad_norm`) for the base loss, plus the base's own metrics when it
returns `(loss, metrics)`.

Terms are functions `term(data, logprobs) -> scalar tensor` over the per-datum logprob tensors
of the target tokens (see `forward_backward_custom`). The library terms here take two common
options:

- `use_weights=True`: each token's contribution is multiplied by the datum's
  `loss_fn_inputs["weights"]` (1 where a datum has none), so prompt tokens with weight 0 are
  left out, as in `cross_entropy`;
- `reduction="sum"` (sum over tokens and datums, like the server's `cross_entropy`) or `"mean"`
  (that sum divided by the total token weight of the batch; 0 when the total is 0).

torch is needed (imported when this module is imported).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeAlias

import torch
from tinker_api_client.models import Datum, TensorData

__all__ = [
    "RegularizedLoss",
    "RegularizerTerm",
    "TermFn",
    "cross_entropy",
    "elastic_net",
    "entropy",
    "kl_to_reference",
    "l1",
    "l2",
    "token_weights",
]

TermFn: TypeAlias = Callable[[list[Datum], list[torch.Tensor]], torch.Tensor]
"""`term(data, logprobs) -> scalar tensor`, differentiable in the logprobs."""

Reduction: TypeAlias = Literal["sum", "mean"]
BASE = "base"


@dataclass(frozen=True)
class RegularizerTerm:
    """One named, weighted term of a `RegularizedLoss`: it adds `weight * fn(data, logprobs)`."""

    name: str
    fn: TermFn
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or self.name == BASE:
            raise ValueError(
                f"a term needs a non-empty name other than {BASE!r}, got {self.name!r}"
            )
        if not callable(self.fn):
            raise TypeError(f"term {self.name!r}: fn must be callable, got {self.fn!r}")
        if isinstance(self.weight, bool) or not isinstance(self.weight, int | float):
            raise TypeError(f"term {self.name!r}: weight must be a number, got {self.weight!r}")
        if not math.isfinite(self.weight):
            raise ValueError(f"term {self.name!r}: weight must be finite, got {self.weight!r}")


_Computed: TypeAlias = tuple[torch.Tensor, dict[str, float], float | None]


class RegularizedLoss:
    """`base + sum(weight_i * term_i)` as a custom loss, with per-term metrics.

    `base` is a custom loss `(data, logprobs) -> (loss, metrics)`, a term function
    `(data, logprobs) -> loss`, or None (the loss is the sum of the terms). Term names must be
    unique. With `max_workers > 1` the base and the terms (values and gradient norms) are
    computed in a thread pool: they only read the shared logprob tensors, and torch releases
    the GIL in its kernels, so large batches gain; results are the same either way.
    """

    def __init__(
        self,
        base: Callable[[list[Datum], list[torch.Tensor]], Any] | None = None,
        terms: Sequence[RegularizerTerm] = (),
        *,
        track_grad_norms: bool = True,
        max_workers: int = 1,
    ) -> None:
        if base is not None and not callable(base):
            raise TypeError(f"base must be a loss function or None, got {base!r}")
        terms = list(terms)
        for term in terms:
            if not isinstance(term, RegularizerTerm):
                raise TypeError(f"terms must be RegularizerTerm objects, got {term!r}")
        names = [t.name for t in terms]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"term names must be unique; repeated: {duplicates}")
        if base is None and not terms:
            raise ValueError("a RegularizedLoss needs a base loss or at least one term")
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers must be an int >= 1, got {max_workers!r}")
        self.base = base
        self.terms = terms
        self.track_grad_norms = track_grad_norms
        self.max_workers = max_workers

    def __repr__(self) -> str:
        terms = ", ".join(f"{t.name}*{t.weight:g}" for t in self.terms)
        return f"RegularizedLoss(base={self.base!r}, terms=[{terms}])"

    def __call__(
        self, data: list[Datum], logprobs: list[torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        jobs: list[tuple[str, Callable[[], _Computed]]] = []
        if self.base is not None:
            jobs.append((BASE, partial(self._run_base, self.base, data, logprobs)))
        for term in self.terms:
            jobs.append((term.name, partial(self._run_term, term, data, logprobs)))

        if self.max_workers > 1 and len(jobs) > 1:
            with ThreadPoolExecutor(
                max_workers=min(self.max_workers, len(jobs)), thread_name_prefix="tinker-reg"
            ) as pool:
                futures = [pool.submit(fn) for _, fn in jobs]
                computed = [f.result() for f in futures]
        else:
            computed = [fn() for _, fn in jobs]

        metrics: dict[str, float] = {}
        total: torch.Tensor | None = None
        for (name, _), (contribution, job_metrics, grad_norm) in zip(jobs, computed, strict=True):
            total = contribution if total is None else total + contribution
            metrics.update(job_metrics)
            if grad_norm is not None:
                metrics[f"{name}/grad_norm"] = grad_norm
        assert total is not None
        return total, metrics

    def _grad_norm(self, value: torch.Tensor, logprobs: list[torch.Tensor]) -> float | None:
        if not self.track_grad_norms:
            return None
        if not value.requires_grad:
            return 0.0
        grads = torch.autograd.grad(value, logprobs, retain_graph=True, allow_unused=True)
        squares = [g.detach().double().pow(2).sum() for g in grads if g is not None]
        return float(torch.stack(squares).sum().sqrt()) if squares else 0.0

    def _run_base(
        self,
        base: Callable[[list[Datum], list[torch.Tensor]], Any],
        data: list[Datum],
        logprobs: list[torch.Tensor],
    ) -> _Computed:
        result = base(data, logprobs)
        metrics: dict[str, float] = {}
        if isinstance(result, tuple):
            if len(result) != 2 or not isinstance(result[1], Mapping):
                raise TypeError("the base loss must return a tensor or a (loss, metrics) tuple")
            result, base_metrics = result
            metrics.update({str(k): _to_float(v, str(k)) for k, v in base_metrics.items()})
        value = _check_scalar(result, BASE)
        metrics[f"{BASE}/value"] = float(value.detach())
        return value, metrics, self._grad_norm(value, logprobs)

    def _run_term(
        self, term: RegularizerTerm, data: list[Datum], logprobs: list[torch.Tensor]
    ) -> _Computed:
        value = _check_scalar(term.fn(data, logprobs), term.name)
        contribution = value * float(term.weight)
        metrics = {
            f"{term.name}/value": float(value.detach()),
            f"{term.name}/contribution": float(contribution.detach()),
        }
        return contribution, metrics, self._grad_norm(contribution, logprobs)


def _check_scalar(value: object, name: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise TypeError(f"{name}: expected a scalar tensor, got {shape}")
    return value.reshape(())


def _to_float(value: object, name: str) -> float:
    if isinstance(value, torch.Tensor):
        return float(value.detach())
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"metric {name!r}: expected a float, got {type(value).__name__}")


# ----- helpers -----------------------------------------------------------------------------------
def token_weights(
    data: Sequence[Datum], logprobs: Sequence[torch.Tensor], use_weights: bool = True
) -> list[torch.Tensor]:
    """Per-datum token weights shaped like the logprobs: the datum's `weights` loss input when
    `use_weights` and present, else ones."""
    out: list[torch.Tensor] = []
    for i, lp in enumerate(logprobs):
        inputs = data[i].loss_fn_inputs if i < len(data) else None
        td = inputs.additional_properties.get("weights") if inputs is not None else None
        if use_weights and isinstance(td, TensorData):
            w = torch.tensor(td.data, dtype=lp.dtype, device=lp.device)
            if w.numel() != lp.numel():
                raise ValueError(f"datum {i}: {w.numel()} weights for {lp.numel()} logprobs")
            out.append(w.reshape(lp.shape))
        else:
            out.append(torch.ones_like(lp, requires_grad=False).detach())
    return out


def _reduce(
    per_token: list[torch.Tensor], weights: list[torch.Tensor], reduction: Reduction
) -> torch.Tensor:
    if not per_token:
        raise ValueError("no logprobs")
    total = torch.stack([(x * w).sum() for x, w in zip(per_token, weights, strict=True)]).sum()
    if reduction == "sum":
        return total
    if reduction == "mean":
        denom = torch.stack([w.sum() for w in weights]).sum()
        return total / denom if float(denom) != 0.0 else total * 0.0
    raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")


def _check_reduction(reduction: str) -> None:
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")


def _as_tensor(value: object, like: torch.Tensor, what: str) -> torch.Tensor:
    if isinstance(value, TensorData):
        t = torch.tensor(value.data, dtype=like.dtype)
    elif isinstance(value, torch.Tensor):
        t = value.detach().to(dtype=like.dtype)
    else:
        t = torch.as_tensor(value, dtype=like.dtype)
    if t.numel() != like.numel():
        raise ValueError(f"{what}: {t.numel()} values for {like.numel()} logprobs")
    return t.reshape(like.shape).to(like.device)


# ----- the standard terms ------------------------------------------------------------------------
def cross_entropy(*, use_weights: bool = True, reduction: Reduction = "sum") -> TermFn:
    """Negative log-likelihood of the target tokens: `sum(-logprob * weight)`.

    With the defaults this is exactly the server's `cross_entropy` loss (its `loss:sum`), which
    makes it the usual `base` of a regularized supervised loss.
    """
    _check_reduction(reduction)

    def term(data: list[Datum], logprobs: list[torch.Tensor]) -> torch.Tensor:
        return _reduce(
            [-lp for lp in logprobs], token_weights(data, logprobs, use_weights), reduction
        )

    return term


def l1(center: float = 0.0, *, use_weights: bool = True, reduction: Reduction = "sum") -> TermFn:
    """L1 penalty on the logprobs: `sum(|logprob - center| * weight)`.

    With `center=0` this is the total negative log-likelihood (logprobs are <= 0); a negative
    `center` (e.g. -2.0) penalizes tokens whose logprob moves away from it in either direction.
    Gradient: `sign(logprob - center) * weight` (0 at the kink).
    """
    _check_reduction(reduction)

    def term(data: list[Datum], logprobs: list[torch.Tensor]) -> torch.Tensor:
        per_token = [(lp - center).abs() for lp in logprobs]
        return _reduce(per_token, token_weights(data, logprobs, use_weights), reduction)

    return term


def l2(center: float = 0.0, *, use_weights: bool = True, reduction: Reduction = "sum") -> TermFn:
    """Squared L2 penalty on the logprobs: `sum((logprob - center)**2 * weight)` (no 1/2).

    Gradient: `2 * (logprob - center) * weight`. Pulls confident predictions less than
    unconfident ones (compare cross-entropy's constant slope).
    """
    _check_reduction(reduction)

    def term(data: list[Datum], logprobs: list[torch.Tensor]) -> torch.Tensor:
        per_token = [(lp - center).pow(2) for lp in logprobs]
        return _reduce(per_token, token_weights(data, logprobs, use_weights), reduction)

    return term


def elastic_net(
    alpha: float = 1.0,
    l1_ratio: float = 0.5,
    center: float = 0.0,
    *,
    use_weights: bool = True,
    reduction: Reduction = "sum",
) -> TermFn:
    """Elastic net on the logprobs (the scikit-learn / glmnet convention):

    `alpha * (l1_ratio * L1 + (1 - l1_ratio) / 2 * L2)` with `L1 = sum(|x| * weight)`,
    `L2 = sum(x**2 * weight)` and `x = logprob - center`. `l1_ratio=1` is `alpha * l1()`,
    `l1_ratio=0` is `alpha / 2 * l2()`.
    """
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio!r}")
    if not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    _check_reduction(reduction)

    def term(data: list[Datum], logprobs: list[torch.Tensor]) -> torch.Tensor:
        per_token = [
            alpha * (l1_ratio * (lp - center).abs() + (1 - l1_ratio) / 2 * (lp - center).pow(2))
            for lp in logprobs
        ]
        return _reduce(per_token, token_weights(data, logprobs, use_weights), reduction)

    return term


def entropy(
    *,
    gradient: Literal["score_function", "pathwise"] = "score_function",
    use_weights: bool = True,
    reduction: Reduction = "sum",
) -> TermFn:
    """Entropy of the model's next-token distributions, estimated from the target tokens.

    Only the logprob of the target token is known at each position, not the whole distribution,
    so the entropy is estimated by Monte Carlo: when the target tokens were *sampled from the
    model being trained* (on-policy RL data), `-logprob(token)` is an unbiased estimate of the
    entropy H at that position. The value is `sum(-logprob * weight)` (or its mean). For data the
    model did not sample (e.g. supervised data) it is the cross-entropy to that data instead.

    The gradient:

    - `"score_function"` (default): the unbiased score-function (REINFORCE) estimate of dH,
      `-logprob.detach() * d logprob` per token (from dH = -E[log p * d log p]). The term is
      written `-lp0 - lp0 * (lp - lp0)` with `lp0 = lp.detach()`: value -lp0, that gradient.
      Each position's own distribution only: effects on later positions are ignored.
    - `"pathwise"`: the derivative of `-logprob` itself (`-weight` per token), which lowers the
      sampled tokens' probability; cheaper to reason about, but biased as an entropy gradient.

    The value is the entropy (a positive number): give the term a NEGATIVE weight for an entropy
    bonus (minimizing the loss raises entropy), a positive weight for an entropy penalty.
    """
    if gradient not in ("score_function", "pathwise"):
        raise ValueError(f"gradient must be 'score_function' or 'pathwise', got {gradient!r}")
    _check_reduction(reduction)

    def term(data: list[Datum], logprobs: list[torch.Tensor]) -> torch.Tensor:
        if gradient == "pathwise":
            per_token = [-lp for lp in logprobs]
        else:
            per_token = []
            for lp in logprobs:
                lp0 = lp.detach()
                per_token.append(-lp0 - lp0 * (lp - lp0))
        return _reduce(per_token, token_weights(data, logprobs, use_weights), reduction)

    return term


def kl_to_reference(
    reference_logprobs: Sequence[Any],
    *,
    estimator: Literal["k1", "k2", "k3"] = "k3",
    use_weights: bool = True,
    reduction: Reduction = "sum",
) -> TermFn:
    """KL(model || reference), estimated per token from the target tokens' logprobs.

    `reference_logprobs[i]` holds datum i's reference logprobs of the same target tokens (a
    list, numpy array, torch tensor or TensorData; e.g. from a base-model SamplingClient's
    `compute_logprobs`, aligned with the target tokens). With `r = logprob - ref` (the log ratio
    log p/q) and tokens sampled from the model p, the estimators (Schulman, "Approximating KL
    divergence") are:

    - `"k1"`: `r`. Unbiased, high variance, can be negative per token.
    - `"k2"`: `r**2 / 2`. Biased (low bias when p ~ q), never negative.
    - `"k3"` (default): `exp(-r) - 1 + r`, i.e. `(q/p - 1) - log(q/p)`. Unbiased, never
      negative, low variance; the estimator of GRPO's KL penalty.

    The term's gradient is the derivative of the estimator with respect to the logprobs (as
    GRPO does), not an exact gradient of the KL. Reference logprobs are constants.
    """
    if estimator not in ("k1", "k2", "k3"):
        raise ValueError(f"estimator must be 'k1', 'k2' or 'k3', got {estimator!r}")
    _check_reduction(reduction)
    references = list(reference_logprobs)

    def term(data: list[Datum], logprobs: list[torch.Tensor]) -> torch.Tensor:
        if len(references) != len(logprobs):
            raise ValueError(
                f"kl_to_reference: {len(references)} reference sequences for {len(logprobs)} datums"
            )
        per_token: list[torch.Tensor] = []
        for i, lp in enumerate(logprobs):
            ref = _as_tensor(references[i], lp, f"kl_to_reference: datum {i}")
            r = lp - ref
            if estimator == "k1":
                per_token.append(r)
            elif estimator == "k2":
                per_token.append(r.pow(2) / 2)
            else:
                per_token.append(torch.exp(-r) - 1 + r)
        return _reduce(per_token, token_weights(data, logprobs, use_weights), reduction)

    return term
