"""The checked arguments of a training client made from a checkpoint
(`create_training_client_from_state` and its `_with_optimizer` twin), shared by the two ways of
making one (weights_info + create_model + load_weights, or load_weights creating the model)."""

from __future__ import annotations

import attrs

from ._exceptions import ValidationError
from ._training_client import check_access_token
from .types import OptimizerConfig
from .types._optimizer import optimizer_config
from .types._paths import require_path


@attrs.frozen
class FromState:
    """The checked arguments of a training client made from a checkpoint."""

    path: str
    base_model: str | None
    user_metadata: dict[str, str] | None
    access_token: str | None
    optimizer: OptimizerConfig | None
    restore_optimizer: bool

    @classmethod
    def checked(
        cls,
        path: str,
        user_metadata: object,
        base_model: object,
        weights_access_token: object,
        optimizer: object,
        restore_optimizer: bool,
    ) -> FromState:
        require_path(path)
        # 0.7.0's second parameter is `user_metadata`, 0.38's is `base_model`: a positional
        # model name (or a metadata dict third) is taken in 0.38's order, so both eras' calls work.
        if isinstance(user_metadata, str) and (base_model is None or isinstance(base_model, dict)):
            user_metadata, base_model = base_model, user_metadata
        if base_model is not None and (not isinstance(base_model, str) or not base_model):
            raise ValidationError("base_model", f"expected a model name, got {base_model!r}")
        if user_metadata is not None and not isinstance(user_metadata, dict):
            raise ValidationError("user_metadata", "expected a dict of strings")
        return cls(
            path,
            base_model,
            user_metadata,
            check_access_token(weights_access_token),
            optimizer_config(optimizer),
            restore_optimizer,
        )
