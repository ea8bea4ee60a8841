"""Tinker's built-in loss functions, computed per datum.

Each loss takes `target_logprobs` (float32 [N]: log p(target_tokens[i]) at position i under the
model being trained; [N, K] for a loss that takes K targets per position, as cross_entropy does
for top-K distillation), the datum's other `loss_fn_inputs` as tensors, and the resolved config.
It returns (scalar loss, elementwise loss [N]); the scalar is always the *sum* of the
elementwise loss, as in Tinker (so gradients add up across datums and across calls).
The formulas are the ones the Tinker documentation gives on its loss pages; `logprobs` is
the sampler's log-probability q(x) of each target token.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch

from .errors import UserInputError

LossResult = tuple[torch.Tensor, torch.Tensor]
LossImpl = Callable[[torch.Tensor, Mapping[str, torch.Tensor], Mapping[str, float]], LossResult]
InputCheck = Callable[[Mapping[str, torch.Tensor], str], None]
ConfigCheck = Callable[[Mapping[str, float]], None]


def cross_entropy(
    target_logprobs: torch.Tensor, inputs: Mapping[str, torch.Tensor], config: Mapping[str, float]
) -> LossResult:
    """Weighted negative log-likelihood: sum(-logp * weights); weights default to ones. With
    [N, K] targets and weights, the docs' top-K form: -sum_t sum_k w[t, k] * log p(x[t, k])."""
    weights = inputs.get("weights")
    elementwise = -target_logprobs if weights is None else -target_logprobs * weights
    return elementwise.sum(), elementwise


def importance_sampling(
    target_logprobs: torch.Tensor, inputs: Mapping[str, torch.Tensor], config: Mapping[str, float]
) -> LossResult:
    """Off-policy policy gradient: -sum(p_theta / q_sampler * advantages)."""
    ratio = torch.exp(target_logprobs - inputs["logprobs"])
    elementwise = -(ratio * inputs["advantages"])
    return elementwise.sum(), elementwise


def _clipped_surrogate(
    ratio: torch.Tensor, advantages: torch.Tensor, config: Mapping[str, float]
) -> torch.Tensor:
    """-min(ratio * A, clip(ratio, low, high) * A), elementwise (PPO's and GSPO's objective)."""
    clipped = torch.clamp(ratio, config["clip_low_threshold"], config["clip_high_threshold"])
    return -torch.minimum(ratio * advantages, clipped * advantages)


def ppo(
    target_logprobs: torch.Tensor, inputs: Mapping[str, torch.Tensor], config: Mapping[str, float]
) -> LossResult:
    """Clipped surrogate: -sum(min(ratio * A, clip(ratio, low, high) * A))."""
    ratio = torch.exp(target_logprobs - inputs["logprobs"])
    elementwise = _clipped_surrogate(ratio, inputs["advantages"], config)
    return elementwise.sum(), elementwise


def cispo(
    target_logprobs: torch.Tensor, inputs: Mapping[str, torch.Tensor], config: Mapping[str, float]
) -> LossResult:
    """CISPO: the clipped ratio, without its gradient, weights log p * A:
    -sum(sg(clip(ratio, low, high)) * logp * A)."""
    ratio = torch.exp(target_logprobs - inputs["logprobs"])
    weight = torch.clamp(ratio, config["clip_low_threshold"], config["clip_high_threshold"])
    elementwise = -(weight.detach() * target_logprobs * inputs["advantages"])
    return elementwise.sum(), elementwise


def dro(
    target_logprobs: torch.Tensor, inputs: Mapping[str, torch.Tensor], config: Mapping[str, float]
) -> LossResult:
    """DRO: -sum(logp * A - beta / 2 * (logp - logq)^2)."""
    quadratic = (target_logprobs - inputs["logprobs"]) ** 2
    elementwise = -(target_logprobs * inputs["advantages"] - 0.5 * config["beta"] * quadratic)
    return elementwise.sum(), elementwise


def gspo(
    target_logprobs: torch.Tensor, inputs: Mapping[str, torch.Tensor], config: Mapping[str, float]
) -> LossResult:
    """GSPO-token: every token's ratio has the value of the sequence ratio (the geometric mean
    of the token ratios over the tokens `sequence_ratio_mask` marks) and the gradient of its own
    log-probability; then PPO's clipped surrogate, summed over all tokens."""
    in_ratio = inputs["sequence_ratio_mask"] != 0
    log_ratio = (target_logprobs.detach() - inputs["logprobs"])[in_ratio].mean()
    ratio = torch.exp(log_ratio + target_logprobs - target_logprobs.detach())
    elementwise = _clipped_surrogate(ratio, inputs["advantages"], config)
    return elementwise.sum(), elementwise


def _some_sequence_ratio_token(inputs: Mapping[str, torch.Tensor], where: str) -> None:
    # The sequence ratio is a mean over the marked tokens: none marked has no ratio at all.
    if not bool((inputs["sequence_ratio_mask"] != 0).any()):
        raise UserInputError(
            f"{where}.loss_fn_inputs.sequence_ratio_mask: expected at least one nonzero value "
            "(the tokens whose log-ratios form the sequence ratio), got none"
        )


def _clip_range(config: Mapping[str, float]) -> None:
    low, high = config["clip_low_threshold"], config["clip_high_threshold"]
    if not 0.0 <= low <= 1.0 <= high:
        raise UserInputError(
            "loss_fn_config: expected 0 <= clip_low_threshold <= 1 <= clip_high_threshold, "
            f"got clip_low_threshold={low}, clip_high_threshold={high}"
        )


def _non_negative_beta(config: Mapping[str, float]) -> None:
    if config["beta"] < 0.0:
        raise UserInputError(f"loss_fn_config.beta: expected a number >= 0, got {config['beta']}")


@dataclass(frozen=True)
class LossSpec:
    """A loss function plus the inputs and config keys it accepts."""

    name: str
    impl: LossImpl
    required_inputs: tuple[str, ...]
    optional_inputs: tuple[str, ...] = ()
    config_defaults: Mapping[str, float] = field(default_factory=dict)
    # Config keys without a default: the caller must give them.
    required_config: tuple[str, ...] = ()
    check_config: ConfigCheck | None = None
    check_inputs: InputCheck | None = None
    # Whether target_tokens (and the optional inputs with them) may be [N, K]: K targets per
    # position, each scored (the docs' top-K distillation form of cross_entropy).
    top_k_targets: bool = False

    @property
    def all_inputs(self) -> tuple[str, ...]:
        return self.required_inputs + self.optional_inputs

    @property
    def config_keys(self) -> tuple[str, ...]:
        return tuple(sorted({*self.config_defaults, *self.required_config}))


_RL_INPUTS = ("target_tokens", "logprobs", "advantages")
# PPO's defaults (ratio clipped to [1 - 0.2, 1 + 0.2]); the docs give CISPO's and GSPO's
# thresholds under the same names.
_CLIP_DEFAULTS = {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2}

LOSS_FNS: dict[str, LossSpec] = {
    s.name: s
    for s in [
        LossSpec(
            "cross_entropy", cross_entropy, ("target_tokens",), ("weights",), top_k_targets=True
        ),
        LossSpec("importance_sampling", importance_sampling, _RL_INPUTS),
        LossSpec("ppo", ppo, _RL_INPUTS, config_defaults=_CLIP_DEFAULTS, check_config=_clip_range),
        LossSpec(
            "cispo", cispo, _RL_INPUTS, config_defaults=_CLIP_DEFAULTS, check_config=_clip_range
        ),
        # The docs give beta no default (their example passes 0.05): the caller chooses it.
        LossSpec(
            "dro", dro, _RL_INPUTS, required_config=("beta",), check_config=_non_negative_beta
        ),
        LossSpec(
            "gspo",
            gspo,
            (*_RL_INPUTS, "sequence_ratio_mask"),
            config_defaults=_CLIP_DEFAULTS,
            check_config=_clip_range,
            check_inputs=_some_sequence_ratio_token,
        ),
    ]
}

UNSUPPORTED_LOSS_FNS: dict[str, str] = {
    "stable_reinforce": (
        "it needs stability information recorded by the service's sampler "
        "(record_stability_info), which the local backend does not record"
    ),
    "custom": "server-side custom losses are not offered; use forward_backward_custom",
}
"""Names in the protocol's LossFnType that the local backend rejects, with the reason
(tests/backend/test_losses.py checks that these and LOSS_FNS cover the enum exactly)."""


def get_loss_fn(name: str) -> LossSpec:
    if name in LOSS_FNS:
        return LOSS_FNS[name]
    known = ", ".join(sorted(LOSS_FNS))
    if name in UNSUPPORTED_LOSS_FNS:
        raise UserInputError(
            f"loss_fn: {name!r} is not supported by the local backend: "
            f"{UNSUPPORTED_LOSS_FNS[name]}; supported: {known}"
        )
    raise UserInputError(f"loss_fn: unknown loss function {name!r}; expected one of: {known}")


def resolve_loss_config(spec: LossSpec, config: Mapping[str, object] | None) -> dict[str, float]:
    """Merge the caller's loss_fn_config over the defaults, rejecting unknown keys and values."""
    given = dict(config or {})
    accepted = ", ".join(spec.config_keys) or "none"
    unknown = sorted(set(given) - set(spec.config_keys))
    if unknown:
        raise UserInputError(
            f"loss_fn_config: unknown key(s) {unknown} for loss_fn {spec.name!r}; "
            f"accepted keys: {accepted}"
        )
    missing = [k for k in spec.required_config if k not in given]
    if missing:
        raise UserInputError(
            f"loss_fn_config: missing required key(s) {missing} for loss_fn {spec.name!r}"
        )
    resolved = dict(spec.config_defaults)
    for key, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UserInputError(f"loss_fn_config.{key}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise UserInputError(f"loss_fn_config.{key}: expected a finite number, got {value!r}")
        resolved[key] = float(value)
    if spec.check_config is not None:
        spec.check_config(resolved)
    return resolved
