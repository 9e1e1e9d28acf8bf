"""Imports only go down: no module of dipkb imports, even lazily inside a function, one that imports it back,
and no wing imports a wing above it."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The dipkb modules ``path`` imports anywhere in its body (TYPE_CHECKING blocks and functions
    included): ``from dipkb.x import y`` counts as x, and as x.y when y is a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    importing = module_name(path)
    # Importing a.b.c runs a/__init__ and a/b/__init__ too, unless the importer lives in that package
    # (its __init__ has run already): that is how dipkb.drafts -> dipkb.importers.reconcile once ran
    # the importers' pipeline, before the wings.
    own = {".".join(importing.split(".")[:i]) for i in range(1, importing.count(".") + 2)}
    with_packages = {".".join(name.split(".")[:i]) for name in found for i in range(1, name.count(".") + 2)}
    return (with_packages & known) - own


def import_graph() -> dict[str, set[str]]:
    paths = sorted(SRC.rglob("*.py"))
    known = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, known) for p in paths}


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph as the list of modules along it, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = "open", path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state and (circle := visit(target)):
                return circle
        state[node], _ = "done", path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (circle := visit(node)):
            return circle
    return None


def test_the_package_has_no_import_circle():
    graph = import_graph()
    assert len(graph) > 30 and "dipkb.cli" in graph
    circle = find_circle(graph)
    assert circle is None, "import circle: " + " -> ".join(circle)


def test_a_lazy_import_back_is_a_circle():
    """The check sees what a function-local import hides."""
    graph = import_graph()
    graph["dipkb.model.namespaces"] = graph["dipkb.model.namespaces"] | {"dipkb.cli"}
    assert find_circle(graph) is not None
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


# The wings from the bottom up; a module may import its own wing and those below. cli and web are the
# two faces over the same library, side by side at the top.
WINGS = ("errors", "util", "model", "sparql", "store", "shacl", "views", "publish", "authoring")
FACES = ("cli", "web", "__main__")


def wing_of(module: str) -> int:
    part = module.split(".")[1]
    return len(WINGS) if part in FACES else WINGS.index(part)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{module} -> {target}" for module, targets in graph.items() if module != "dipkb"
                  for target in targets if target != "dipkb" and wing_of(target) > wing_of(module))


def test_every_module_is_in_a_wing():
    assert all(module == "dipkb" or module.split(".")[1] in WINGS + FACES for module in import_graph())


def test_imports_only_go_down_the_wings():
    assert upward_imports(import_graph()) == []


def test_an_import_up_a_wing_is_found():
    graph = import_graph()
    graph["dipkb.store.kb"] = graph["dipkb.store.kb"] | {"dipkb.views.timeline"}
    assert upward_imports(graph) == ["dipkb.store.kb -> dipkb.views.timeline"]
