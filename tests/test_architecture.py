"""Which way imports point (docs/architecture.md): layers, services' wings, and no cycles.

Read with ``ast`` from the source, function-local imports included, so an import hidden in
a function body counts as much as one at the top of the file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Folders whose code is not the service's (or, for migrations, frozen in time).
OUTSIDE = {"tests", "bench", "tools", "migrations", "deploy", "docs", "static", "templates"}

# Each layer may import the layers below it, never one above. Entry points (the app
# factory, the CLI and the worker process) sit on top: nothing of the service imports them.
LAYERS: dict[str, int] = {
    "app": 5,
    "cli": 5,
    "worker": 5,
    "blueprints": 4,
    "hooks": 3,
    "services": 2,
    "scim": 1,
    "models": 1,
    # Infrastructure every layer may use.
    "config": 0,
    "database": 0,
    "row_writes": 0,
    "extensions": 0,
    "limiter_storage": 0,
    "logs": 0,
    "query_deadline": 0,
    "security": 0,
}

# services' wings: which other wings each may import (services.errors is open to all).
WINGS: dict[str, set[str]] = {
    "admin": {"integrations", "groups", "users", "email", "okta", "resources", "platform"},
    "integrations": {"users", "email", "resources", "platform"},
    "groups": {"users", "resources", "platform"},
    "users": {"email", "okta", "resources", "platform"},
    "email": {"platform"},
    "okta": {"platform"},
    "resources": {"platform"},
    "platform": set(),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in OUTSIDE or relative.parts[0].startswith("."):
            continue
        if relative.parts[0] not in LAYERS:
            continue
        found[_module_name(path)] = path
    return found


SOURCES = _sources()


def _imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every module of ours that ``name`` imports, with the line, wherever the import is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _ours(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield from _ours(candidate if candidate in SOURCES else base, node.lineno)


def _ours(module: str, line: int) -> Iterator[tuple[str, int]]:
    while module and module not in SOURCES:
        module = module.rpartition(".")[0]
    if module:
        yield module, line


GRAPH = {name: sorted(set(_imports(name, path))) for name, path in SOURCES.items()}


def test_the_reader_sees_local_and_relative_imports(tmp_path: Path) -> None:
    # The rules below are only as good as this reader: an import in a function body and a
    # relative one count like any other.
    source = tmp_path / "probe.py"
    source.write_text(
        "def later():\n"
        "    from services.okta import group_sync\n"
        "    from .client import OktaClient\n"
        "    import scim.filter\n"
    )
    found = {target for target, _ in _imports("services.okta.probe", source)}
    assert found == {"services.okta.group_sync", "services.okta.client", "scim.filter"}
    assert len(SOURCES) > 100


def _layer(module: str) -> str:
    return module.split(".")[0]


def test_imports_point_down_the_layers() -> None:
    wrong = [
        f"{source}:{line} imports {target}"
        for source, targets in GRAPH.items()
        for target, line in targets
        if _layer(target) != _layer(source) and LAYERS[_layer(target)] >= LAYERS[_layer(source)]
    ]
    assert wrong == []


def test_scim_is_protocol_only() -> None:
    # scim/ is the SCIM protocol without Flask or storage: it imports nothing else of ours.
    wrong = [
        f"{source}:{line} imports {target}"
        for source, targets in GRAPH.items()
        if _layer(source) == "scim"
        for target, line in targets
        if _layer(target) != "scim"
    ]
    assert wrong == []


def _wing(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "services" and len(parts) > 2 else None


def test_every_services_module_lives_in_a_wing() -> None:
    loose = sorted(m for m in SOURCES if _layer(m) == "services" and m.count(".") == 1)
    assert [m for m in loose if not (ROOT / m.replace(".", "/")).is_dir()] == ["services.errors"]
    assert {_wing(m) for m in SOURCES if _wing(m)} == set(WINGS)


def test_wings_import_only_the_wings_they_name() -> None:
    wrong = [
        f"{source}:{line} imports {target}"
        for source, targets in GRAPH.items()
        if _wing(source)
        for target, line in targets
        if _wing(target) not in (None, _wing(source))
        and _wing(target) not in WINGS[str(_wing(source))]
    ]
    assert wrong == []


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert _cycles({"a": ["b"], "b": []}) == []


def test_no_import_cycles() -> None:
    graph = {source: [target for target, _ in targets] for source, targets in GRAPH.items()}
    assert _cycles(graph) == []


@pytest.mark.parametrize("wing", sorted(WINGS))
def test_each_wing_says_what_it_owns(wing: str) -> None:
    docstring = ast.get_docstring(ast.parse((ROOT / "services" / wing / "__init__.py").read_text()))
    assert docstring and ("import" in docstring.lower())


def test_no_module_of_the_service_is_over_500_lines() -> None:
    # scim/ holds whole RFC grammars (filters, PATCH paths, schemas) and stays exempt.
    long = {
        name: lines
        for name, path in SOURCES.items()
        if _layer(name) != "scim" and (lines := len(path.read_text().splitlines())) > 500
    }
    assert long == {}


def test_services_never_read_the_request() -> None:
    # The HTTP edge passes values (an If-Match as EntityTags, a body as a dict): no service
    # imports Flask's request, or anything else of Flask beyond the app and its config.
    wrong = []
    for name, path in SOURCES.items():
        if _layer(name) != "services":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flask"):
                wrong += [
                    f"{name}:{node.lineno} {a.name}"
                    for a in node.names
                    if a.name not in {"current_app", "Flask"}
                ]
    assert wrong == []


def _imported_roots(paths: list[Path]) -> set[tuple[str, str]]:
    """(file, first part of each module it imports), function-local imports included."""
    found = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            found |= {(path.relative_to(ROOT).as_posix(), n.split(".")[0]) for n in names}
    return found


def test_benchmarks_do_not_import_the_tests() -> None:
    imported = _imported_roots(list((ROOT / "bench").rglob("*.py")))
    assert [file for file, root in imported if root == "tests"] == []
    assert ("bench/reconcile.py", "testkit") in imported


def test_the_service_does_not_import_the_testkit() -> None:
    imported = _imported_roots(list(SOURCES.values()))
    assert [file for file, root in imported if root in {"testkit", "tests"}] == []
