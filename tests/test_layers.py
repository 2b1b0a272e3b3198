"""srcgrad's modules import only downward, through no cycle, and only at the top of a module
(docs/architecture.md shows the layers)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "srcgrad"

#: Each module's layer (a package's entry covers its modules): a module imports its own layer
#: or those below it, never one above.
LAYERS = {
    # L0: what generated code and every layer use
    "srcgrad.errors": 0, "srcgrad.runtime": 0,
    # L1: syntax, names, the rule table
    "srcgrad.cstwalk": 1, "srcgrad.printer": 1, "srcgrad.naming": 1, "srcgrad.rules": 1,
    "srcgrad.template": 1, "srcgrad.objects": 1, "srcgrad.twins": 1, "srcgrad.twins_linalg": 1,
    # ... and the layers users build models with: NumPy code srcgrad differentiates
    "srcgrad.nn": 1, "srcgrad.optim": 1, "srcgrad.data": 1, "srcgrad.saving": 1,
    # L2: the core form, the passes' context, custom rules, parsing
    "srcgrad.ir": 2, "srcgrad.context": 2, "srcgrad.custom": 2, "srcgrad.parse": 2,
    # L3: the passes
    "srcgrad.normalize": 3, "srcgrad.analyze": 3, "srcgrad.build": 3, "srcgrad.reverse": 3,
    "srcgrad.forward": 3, "srcgrad.optimize": 3, "srcgrad.emit": 3, "srcgrad.boundary": 3,
    # L4: backends and the pass order
    "srcgrad.backends": 4, "srcgrad.pipeline": 4,
    # L5: the user's front ends
    "srcgrad.api": 5, "srcgrad.derivatives": 5, "srcgrad.check": 5, "srcgrad.train": 5,
    "srcgrad.cli": 5, "srcgrad.__main__": 5,
    "srcgrad": 5,
}

#: Packages a module may import inside a function: optional dependencies only.
OPTIONAL = ("jax", "scipy")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in sorted(ROOT.rglob("*.py"))}


def _layer(module: str) -> int:
    while module not in LAYERS:
        assert "." in module, f"{module} is in no layer: add it to LAYERS"
        module = module.rsplit(".", 1)[0]
    return LAYERS[module]


def _imports(module: str) -> list[tuple[str, int, bool]]:
    """The srcgrad modules ``module`` imports: (name, line, whether at the top)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1],
                                 *([base] if base else [])])
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names]
        else:
            continue
        found += [(n, node.lineno, id(node) in top) for n in names]
    return found


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_its_layer_and_those_below(module):
    for name, line, _ in _imports(module):
        if name.split(".")[0] != "srcgrad" or name == module:
            continue
        assert _layer(name) <= _layer(module), (
            f"{module} (layer {_layer(module)}) imports {name} (layer {_layer(name)}) at line "
            f"{line}")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_only_optional_packages_are_imported_inside_functions(module):
    for name, line, at_top in _imports(module):
        if not at_top and not name.startswith("__future__"):
            assert name.split(".")[0] in OPTIONAL, f"{module} imports {name} at line {line}"


def test_the_import_graph_has_no_cycle():
    graph = {m: {n for n, _, _ in _imports(m) if n in MODULES and n != m} for m in MODULES}
    state: dict[str, str] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = "open"
        for n in sorted(graph[m]):
            assert state.get(n) != "open", " -> ".join([*path, m, n])
            if n not in state:
                visit(n, [*path, m])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
