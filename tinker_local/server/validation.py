"""Request validation against the component schemas of openapi.yaml (JSON Schema 2020-12).

Two deliberate deviations from strict JSON Schema, both following the spec's own prose:
* `oneOf` is checked with first-match ("variants are tried in order") semantics: several of
  the spec's unions overlap (e.g. every SessionEndEvent also matches SessionStartEvent, and an
  empty stop list matches both list variants), which strict `oneOf` would reject.
* Arrays of plain integers/numbers are checked with a fast loop; the full (slow) validator only
  runs to describe the error when that check fails.

For speed, component `$ref`s are inlined once (the spec has no recursive schemas; a cycle would
be left as a `$ref` and resolved through the registry), and union variants whose `required`
properties are absent are skipped without building errors.

Fast path: when `jsonschema_rs` (a compiled validator) is installed, every body is first checked
with it against the same inlined schema; only a body it rejects goes through the Python validator
above, which then either accepts it (first-match unions, which strict `oneOf` rejects) or
describes the error. The compiled check is never looser than the Python one on this spec (no
`pattern`/`format` keywords; unions are strict there), so the answers are unchanged, only cheaper:
a training body with thousands of token ids takes tens of microseconds instead of about a
millisecond.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .errors import bad_request

_rs: Any
try:  # optional accelerator (the `local` extra installs it)
    import jsonschema_rs as _rs
except ImportError:  # pragma: no cover - depends on the environment
    _rs = None

SPEC_URI = "urn:tinker:openapi"
_MAX_SHOWN = 60


def spec_path() -> Path:
    """openapi.yaml: shipped beside the package if present, else at the repository root."""
    here = Path(__file__).resolve()
    for candidate in (here.parent.parent / "openapi.yaml", here.parents[2] / "openapi.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("openapi.yaml not found next to tinker_local or at the repo root")


@functools.cache
def load_spec() -> dict[str, Any]:
    with spec_path().open() as f:
        spec: dict[str, Any] = yaml.safe_load(f)
    return spec


_default_items = Draft202012Validator.VALIDATORS["items"]


def _fast_items(
    validator: Any, items: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[Any]:
    if (
        isinstance(items, dict)
        and set(items) == {"type"}
        and isinstance(instance, list)
        and "prefixItems" not in schema
    ):
        kind = items["type"]
        if kind == "integer" and all(type(x) is int for x in instance):
            return
        if kind == "number" and all(type(x) is int or type(x) is float for x in instance):
            return
    yield from _default_items(validator, items, instance, schema)


_any_of = Draft202012Validator.VALIDATORS["anyOf"]


def _first_match(
    validator: Any, variants: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[Any]:
    """oneOf/anyOf with "the first variant that matches wins" semantics."""
    for variant in variants:
        required = variant.get("required") if isinstance(variant, dict) else None
        if required and isinstance(instance, dict) and any(k not in instance for k in required):
            continue  # cannot match: skip it without building errors
        if validator.evolve(schema=variant).is_valid(instance):
            return
    tagged = _tagged_variant(variants, instance)
    if tagged is not None:  # the variant the instance names: its own error is the useful one
        yield from validator.evolve(schema=tagged).iter_errors(instance)
        return
    yield from _any_of(validator, variants, instance, schema)  # describe the failure


def _tagged_variant(variants: Any, instance: Any) -> Any:
    """The one object variant whose `type` literal the instance carries, if any."""
    tag = instance.get("type") if isinstance(instance, dict) else None
    if not isinstance(tag, str):
        return None
    named = [
        v
        for v in variants
        if isinstance(v, dict)
        and tag in ((v.get("properties") or {}).get("type") or {}).get("enum", ())
    ]
    return named[0] if len(named) == 1 else None


_SpecValidator = validators.extend(
    Draft202012Validator,
    {"oneOf": _first_match, "anyOf": _first_match, "items": _fast_items},
)


def _inline(node: Any, components: Mapping[str, Any], stack: tuple[str, ...] = ()) -> Any:
    """Replace `#/components/schemas/X` refs by the schemas themselves (cycles stay refs)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name in stack:
                return {**node, "$ref": f"{SPEC_URI}{ref}"}
            target = _inline(components[name], components, (*stack, name))
            rest = {k: _inline(v, components, stack) for k, v in node.items() if k != "$ref"}
            return {**target, **rest} if rest else target
        return {k: _inline(v, components, stack) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, components, stack) for v in node]
    return node


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


@functools.cache
def _inlined_schema(schema_name: str) -> dict[str, Any]:
    components = load_spec()["components"]["schemas"]
    if schema_name not in components:
        raise KeyError(f"no component schema named {schema_name!r} in openapi.yaml")
    schema: dict[str, Any] = _inline(components[schema_name], components, (schema_name,))
    return schema


@functools.cache
def validator_for(schema_name: str) -> Any:
    return _SpecValidator(_inlined_schema(schema_name), registry=_registry())


@functools.cache
def fast_check_for(schema_name: str) -> Callable[[Any], bool] | None:
    """The compiled `is_valid` of the named schema, or None (no jsonschema_rs, or a schema it
    cannot compile, e.g. one with a `$ref` cycle left in)."""
    if _rs is None:
        return None
    schema = _inlined_schema(schema_name)
    try:
        compiled = _rs.Draft202012Validator(schema)
    except Exception:  # pragma: no cover - every schema of the spec compiles
        return None
    is_valid: Callable[[Any], bool] = compiled.is_valid
    return is_valid


def _fast_accepts(schema_name: str, instance: Any) -> bool:
    """True when the compiled validator accepts `instance` (False: ask the Python one)."""
    check = fast_check_for(schema_name)
    if check is None:
        return False
    try:
        return bool(check(instance))
    except Exception:  # a value it cannot represent (e.g. a huge integer): no shortcut
        return False


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _describe(error: ValidationError) -> tuple[str, str]:
    """(field path, message) for the most relevant error."""
    path = [str(p) for p in error.absolute_path]
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "required" and isinstance(value, dict):
        missing = [name for name in expected if name not in value]
        name = missing[0] if missing else "?"
        return ".".join([*path, name]), "required property is missing"
    if kind == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return ".".join(path), f"expected {wanted}, got {_json_type(value)}"
    if kind == "enum":
        return ".".join(path), f"expected one of {list(expected)}, got {_short(value)}"
    if kind == "const":
        return ".".join(path), f"expected {expected!r}, got {_short(value)}"
    if kind in ("oneOf", "anyOf"):
        return ".".join(path), f"does not match any accepted form (got {_json_type(value)})"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
        return ".".join(path), f"expected a value {op[str(kind)]} {expected}, got {_short(value)}"
    if kind in ("minItems", "maxItems"):
        return ".".join(path), f"expected {kind} {expected}, got {len(value)} item(s)"
    message = error.message
    if len(message) > 200:
        message = message[:197] + "..."
    return ".".join(path), message


def validate(schema_name: str, instance: Any, prefix: str = "") -> None:
    """Raise a 400 ApiError naming the offending field if `instance` doesn't match."""
    if _fast_accepts(schema_name, instance):
        return
    validator = validator_for(schema_name)
    error = best_match(validator.iter_errors(instance))
    if error is None:
        return
    field, message = _describe(error)
    if prefix:
        field = f"{prefix}.{field}" if field else prefix
    where = field or "request body"
    raise bad_request(f"{where}: {message}", field or None)
