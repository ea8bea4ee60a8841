"""Tinker's built-in loss functions, computed per datum.

Each loss takes `target_logprobs` (float32 [N]: log p(target_tokens[i]) at position i under the
model being trained), the datum's other `loss_fn_inputs` as tensors, and the resolved config.
It returns (scalar loss, elementwise loss [N]); the scalar is always the *sum* of the
elementwise loss, as in Tinker (so gradients add up across datums and across calls).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch

from .errors import UserInputError

LossResult = tuple[torch.Tensor, torch.Tensor]
LossImpl = Callable[[torch.Tensor, Mapping[str, torch.Tensor], Mapping[str, float]], LossResult]


def cross_entropy(
    target_logprobs: torch.Tensor, inputs: Mapping[str, torch.Tensor], config: Mapping[str, float]
) -> LossResult:
    """Weighted negative log-likelihood: sum(-logp * weights); weights default to ones."""
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


def ppo(
    target_logprobs: torch.Tensor, inputs: Mapping[str, torch.Tensor], config: Mapping[str, float]
) -> LossResult:
    """Clipped surrogate: -sum(min(ratio * A, clip(ratio, low, high) * A))."""
    ratio = torch.exp(target_logprobs - inputs["logprobs"])
    advantages = inputs["advantages"]
    clipped = torch.clamp(ratio, config["clip_low_threshold"], config["clip_high_threshold"])
    elementwise = -torch.minimum(ratio * advantages, clipped * advantages)
    return elementwise.sum(), elementwise


@dataclass(frozen=True)
class LossSpec:
    """A loss function plus the inputs and config keys it accepts."""

    name: str
    impl: LossImpl
    required_inputs: tuple[str, ...]
    optional_inputs: tuple[str, ...] = ()
    config_defaults: Mapping[str, float] = field(default_factory=dict)

    @property
    def all_inputs(self) -> tuple[str, ...]:
        return self.required_inputs + self.optional_inputs


LOSS_FNS: dict[str, LossSpec] = {
    s.name: s
    for s in [
        LossSpec("cross_entropy", cross_entropy, ("target_tokens",), ("weights",)),
        LossSpec(
            "importance_sampling",
            importance_sampling,
            ("target_tokens", "logprobs", "advantages"),
        ),
        LossSpec(
            "ppo",
            ppo,
            ("target_tokens", "logprobs", "advantages"),
            config_defaults={"clip_low_threshold": 0.8, "clip_high_threshold": 1.2},
        ),
    ]
}


def get_loss_fn(name: str) -> LossSpec:
    try:
        return LOSS_FNS[name]
    except KeyError:
        known = ", ".join(sorted(LOSS_FNS))
        raise UserInputError(
            f"loss_fn: unknown loss function {name!r}; expected one of: {known}"
        ) from None


def resolve_loss_config(spec: LossSpec, config: Mapping[str, float] | None) -> dict[str, float]:
    """Merge the caller's loss_fn_config over the defaults, rejecting unknown keys and values."""
    given = dict(config or {})
    unknown = sorted(set(given) - set(spec.config_defaults))
    if unknown:
        accepted = ", ".join(sorted(spec.config_defaults)) or "none"
        raise UserInputError(
            f"loss_fn_config: unknown key(s) {unknown} for loss_fn {spec.name!r}; "
            f"accepted keys: {accepted}"
        )
    resolved = dict(spec.config_defaults)
    for key, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UserInputError(f"loss_fn_config.{key}: expected a number, got {value!r}")
        resolved[key] = float(value)
    if spec.name == "ppo":
        low, high = resolved["clip_low_threshold"], resolved["clip_high_threshold"]
        if not 0.0 <= low <= 1.0 <= high:
            raise UserInputError(
                "loss_fn_config: expected 0 <= clip_low_threshold <= 1 <= clip_high_threshold, "
                f"got clip_low_threshold={low}, clip_high_threshold={high}"
            )
    return resolved
