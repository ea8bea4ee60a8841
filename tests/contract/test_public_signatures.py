"""Scripts written for the official SDK run with `import tinker_hl as tinker`: every public
method of tinker 0.7.0's clients exists here with compatible parameters."""

from __future__ import annotations

import inspect

import pytest

import tinker_hl

official = pytest.importorskip("tinker")  # installed in the dev environment by `make install`

PAIRS = [
    ("ServiceClient", "ServiceClient"),
    ("TrainingClient", "TrainingClient"),
    ("SamplingClient", "SamplingClient"),
    ("RestClient", "RestClient"),
    ("APIFuture", "APIFuture"),
]


def _official_class(name: str) -> type:
    if name == "RestClient":
        from tinker.lib.public_interfaces.rest_client import RestClient

        return RestClient
    return getattr(official, name)  # type: ignore[no-any-return]


def _public_methods(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in inspect.getmembers(cls)
        if callable(member)
        and (not name.startswith("_") or name == "__init__")
        and not (name == "__init__" and cls.__init__ is object.__init__)
    }


def _compatible(theirs: inspect.Signature, ours: inspect.Signature) -> list[str]:
    problems = []
    our_params = ours.parameters
    has_var_kw = any(p.kind is p.VAR_KEYWORD for p in our_params.values())
    positional_theirs = [
        p.name
        for p in theirs.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    positional_ours = [
        p.name
        for p in our_params.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if positional_ours[: len(positional_theirs)] != positional_theirs:
        problems.append(f"positional parameters {positional_ours} != {positional_theirs}")
    for name, param in theirs.parameters.items():
        if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        mine = our_params.get(name)
        if mine is None:
            if not has_var_kw:
                problems.append(f"missing parameter {name!r}")
            continue
        if param.default is not param.empty and mine.default != param.default:
            problems.append(f"{name!r} default {mine.default!r} != {param.default!r}")
        if param.default is param.empty and mine.default is not mine.empty:
            pass  # ours optional where theirs is required: callers still work
    for name, mine in our_params.items():
        if (
            name not in theirs.parameters
            and mine.default is mine.empty
            and mine.kind
            not in (
                mine.VAR_KEYWORD,
                mine.VAR_POSITIONAL,
            )
        ):
            problems.append(f"extra required parameter {name!r}")
    return problems


@pytest.mark.parametrize(("ours_name", "theirs_name"), PAIRS)
def test_every_official_method_exists_with_compatible_parameters(
    ours_name: str, theirs_name: str
) -> None:
    ours = getattr(tinker_hl, ours_name)
    theirs = _official_class(theirs_name)
    failures = []
    for name, member in _public_methods(theirs).items():
        mine = getattr(ours, name, None)
        if mine is None:
            failures.append(f"{ours_name}.{name} is missing")
            continue
        if inspect.iscoroutinefunction(member) and not inspect.iscoroutinefunction(mine):
            failures.append(f"{ours_name}.{name} must be `async def` like the official one")
        for problem in _compatible(inspect.signature(member), inspect.signature(mine)):  # type: ignore[arg-type]
            failures.append(f"{ours_name}.{name}: {problem}")
    assert not failures, "\n".join(failures)


def test_exception_names_match() -> None:
    for name in [
        "TinkerError",
        "APIError",
        "APIStatusError",
        "APITimeoutError",
        "APIConnectionError",
        "APIResponseValidationError",
        "RequestFailedError",
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "ConflictError",
        "UnprocessableEntityError",
        "RateLimitError",
        "InternalServerError",
    ]:
        assert issubclass(getattr(tinker_hl, name), Exception), name


def test_types_research_code_uses_exist() -> None:
    names = [n for n in dir(official.types) if n[:1].isupper()]
    missing = [name for name in names if not hasattr(tinker_hl.types, name)]
    assert not missing, missing
