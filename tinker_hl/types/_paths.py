"""Tinker checkpoint paths, parsed in one place.

A checkpoint is addressed as `tinker://<training_run_id>/<weights|sampler_weights>/<name>`. Its
checkpoint id is `<kind>/<name>` (one slash); REST paths carry that id as two segments,
`.../checkpoints/{checkpoint_kind}/{checkpoint_name}`.
"""

from __future__ import annotations

from tinker_api_client.models import ParsedCheckpointTinkerPath

from .._exceptions import ValidationError

__all__ = [
    "CHECKPOINT_KINDS",
    "SCHEME",
    "checkpoint_type_for_kind",
    "make_tinker_path",
    "parse_tinker_path",
    "split_checkpoint_id",
]

SCHEME = "tinker://"
CHECKPOINT_KINDS: dict[str, str] = {"weights": "training", "sampler_weights": "sampler"}
"""Checkpoint kind (path segment) -> checkpoint type (as in Checkpoint.checkpoint_type)."""

_SHAPE = f"{SCHEME}<training_run_id>/<weights|sampler_weights>/<name>"


def checkpoint_type_for_kind(kind: str, field: str = "checkpoint_kind") -> str:
    try:
        return CHECKPOINT_KINDS[kind]
    except KeyError:
        raise ValidationError(
            field, f"unknown checkpoint kind {kind!r}: expected 'weights' or 'sampler_weights'"
        ) from None


def split_checkpoint_id(checkpoint_id: str, field: str = "checkpoint_id") -> tuple[str, str]:
    """`"weights/step-10"` -> `("weights", "step-10")`."""
    if not isinstance(checkpoint_id, str):
        raise ValidationError(field, f"expected a string, got {type(checkpoint_id).__name__}")
    parts = checkpoint_id.split("/")
    if len(parts) != 2:
        raise ValidationError(
            field,
            f"expected '<weights|sampler_weights>/<name>' with exactly one '/', "
            f"got {checkpoint_id!r}",
        )
    kind, name = parts
    checkpoint_type_for_kind(kind, field)
    if not name:
        raise ValidationError(field, f"the checkpoint name is empty in {checkpoint_id!r}")
    return kind, name


def parse_tinker_path(path: str, field: str = "tinker_path") -> ParsedCheckpointTinkerPath:
    """Parse `tinker://<training_run_id>/<weights|sampler_weights>/<name>`."""
    if not isinstance(path, str):
        raise ValidationError(field, f"expected a {_SHAPE} string, got {type(path).__name__}")
    if not path.startswith(SCHEME):
        raise ValidationError(field, f"expected {_SHAPE}; {path!r} lacks the tinker:// scheme")
    parts = path[len(SCHEME) :].split("/")
    if len(parts) != 3:
        what = "too many" if len(parts) > 3 else "too few"
        raise ValidationError(
            field, f"expected {_SHAPE}; {path!r} has {what} segments ({len(parts)}, not 3)"
        )
    run_id, kind, name = parts
    if not run_id:
        raise ValidationError(field, f"expected {_SHAPE}; the training run id is empty in {path!r}")
    if kind not in CHECKPOINT_KINDS:
        raise ValidationError(
            field,
            f"expected {_SHAPE}; {kind!r} in {path!r} is not 'weights' or 'sampler_weights'",
        )
    if not name:
        raise ValidationError(field, f"expected {_SHAPE}; the checkpoint name is empty in {path!r}")
    return ParsedCheckpointTinkerPath(
        tinker_path=path,
        training_run_id=run_id,
        checkpoint_type=CHECKPOINT_KINDS[kind],
        checkpoint_id=f"{kind}/{name}",
    )


def require_path(path: object, field: str = "path") -> str:
    """A path the client only passes on (to a server that knows its own layout): any non-empty
    string is used as given, as the official SDK does; `parse_tinker_path` is for paths the
    client must take apart."""
    if not isinstance(path, str) or not path.strip():
        raise ValidationError(field, f"expected a non-empty path string, got {path!r}")
    return path


def make_tinker_path(training_run_id: str, kind: str, name: str) -> str:
    """The inverse of `parse_tinker_path` (validated)."""
    path = f"{SCHEME}{training_run_id}/{kind}/{name}"
    parse_tinker_path(path)
    return path
