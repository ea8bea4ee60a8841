"""The packages' import structure, read from the source (nothing is imported):

- no import cycles among the modules of tinker_hl or of tinker_local: imports inside functions
  count (a lazy import only hides a cycle), and so do `if TYPE_CHECKING:` imports;
- the client never imports the backend (tinker_hl -> tinker_local is forbidden; the backend
  may use the client);
- every third-party package a module imports is declared in pyproject.toml, in the
  dependencies its package may rely on, and every declared dependency is imported somewhere.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tinker_hl", "tinker_local")
FIRST_PARTY = (*PACKAGES, "tinker_api_client", "tinker_proto")


def _module_files(package: str, folder: Path = ROOT) -> dict[str, Path]:
    files = {}
    for path in sorted((folder / package).rglob("*.py")):
        parts = list(path.relative_to(folder).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


MODULES: dict[str, Path] = {m: p for pkg in PACKAGES for m, p in _module_files(pkg).items()}
# The generated client ships in the same distribution: its imports need declaring too.
GENERATED: dict[str, Path] = {
    **_module_files("tinker_api_client", ROOT / "generated"),
    **_module_files("tinker_proto", ROOT / "generated"),
}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, type_only: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement; those under `if TYPE_CHECKING:` only with `type_only`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if not type_only and isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = {**MODULES, **GENERATED}[module].name == "__init__.py"
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_names(module: str, type_only: bool = False) -> set[str]:
    """The modules `module` imports: a first-party module where the import names one (`from
    . import x` with x a submodule counts as x), else the top-level name."""
    tree = ast.parse({**MODULES, **GENERATED}[module].read_text())
    names: set[str] = set()
    for node in _imports(tree, type_only):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        target = _resolve(module, node)
        subs = {f"{target}.{a.name}" for a in node.names} & set(MODULES)
        names.update(subs or {target})
    return names


def _edges(type_only: bool = True) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        deps = set()
        for name in imported_names(module, type_only=type_only):
            # `import a.b.c` depends on the deepest first-party module it names.
            while name and name not in MODULES and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in MODULES and name != module:
                deps.add(name)
        graph[module] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# Type-only cycles known and not yet removed (each a runtime-lazy import one way, a
# TYPE_CHECKING import back): session_reaper annotates with state's Backend.
_KNOWN_TYPE_ONLY_CYCLES = [["tinker_local.server.session_reaper", "tinker_local.server.state"]]


def test_no_import_cycles() -> None:
    assert [c for c in _cycles(_edges()) if c not in _KNOWN_TYPE_ONLY_CYCLES] == []
    assert _cycles(_edges(type_only=False)) == []  # at run time: none at all


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_the_client_never_imports_the_backend() -> None:
    offenders = {
        module: sorted(n for n in imported_names(module) if n.split(".")[0] == "tinker_local")
        for module in MODULES
        if module.split(".")[0] == "tinker_hl"
    }
    assert {m: names for m, names in offenders.items() if names} == {}


# pyproject names -> the import names they provide (where the two differ).
_IMPORT_NAMES = {
    "python-dateutil": "dateutil",
    "pyyaml": "yaml",
    "jsonschema-rs": "jsonschema_rs",
    "opentelemetry-api": "opentelemetry",
    "protobuf": "google",  # google.protobuf
}
# Declared for what they do without being imported by our code.
_NOT_IMPORTED = {
    "httptools": "uvicorn's compiled HTTP parser, picked up by uvicorn itself",
}


def _declared() -> dict[str, set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements: list[str]) -> set[str]:
        out = set()
        for requirement in requirements:
            dist = requirement.split(";")[0]
            for sep in "<>=!~[ ":
                dist = dist.split(sep)[0]
            dist = dist.strip().lower()
            out.add(_IMPORT_NAMES.get(dist, dist.replace("-", "_")))
        return out

    extras = project["optional-dependencies"]
    return {
        "core": names(project["dependencies"]),
        "torch": names(extras["torch"]),
        "local": names(extras["local"]),
        "otel": names(extras["otel"]),
    }


def _third_party(package: str) -> set[str]:
    stdlib = set(sys.stdlib_module_names)
    found = set()
    for module in {**MODULES, **GENERATED}:
        if module.split(".")[0] != package:
            continue
        for name in imported_names(module):
            top = name.split(".")[0]
            if top and top not in stdlib and top not in FIRST_PARTY:
                found.add(top)
    return found


def test_imports_are_declared_dependencies() -> None:
    declared = _declared()
    # The client may use its core dependencies and, lazily, the `torch` and `otel` extras'.
    optional = declared["torch"] | declared["otel"]
    assert _third_party("tinker_hl") - declared["core"] - optional == set()
    assert _third_party("tinker_api_client") - declared["core"] == set()
    # The backend runs with the core and the `local` extra installed.
    assert _third_party("tinker_local") - declared["core"] - declared["local"] == set()


def test_every_declared_dependency_is_imported() -> None:
    used = set().union(*map(_third_party, FIRST_PARTY))
    runtime = set().union(*_declared().values())
    assert runtime - used - set(_NOT_IMPORTED) == set()
