"""The package's import graph, drawn from the code, held against its layers.

    core (approx/*.py, approx/data/)  <-  keras/  <-  experiments/  <-  plots/  <-  cli/
                                                            bench/ (times experiments and plots as users run them)

A module may import its own layer and the layers below it, never one above; the
graph has no cycles; and no module imports another approx module inside a
function (a lazy import that would hide an upward edge or a cycle).
``approx/__init__.py`` (the public API) and ``approx/__main__.py`` sit on top.
"""

from __future__ import annotations

import ast
from pathlib import Path


PACKAGE = Path(__file__).resolve().parents[1] / "approx"
RANK = {"core": 0, "keras": 1, "experiments": 2, "plots": 3, "bench": 4, "cli": 5, "api": 6}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return "api"
    return parts[1] if parts[1] in RANK else "core"


def _imports(tree: ast.Module, module: str):
    """(imported approx module, line, at module level?) for every import."""
    top = {id(n) for n in tree.body}
    for node in tree.body:  # `if TYPE_CHECKING:` blocks count as top level
        if isinstance(node, ast.If):
            top |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from approx.x import f` needs approx.x; `from approx import keras` needs approx.keras.
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name == "approx" or name.startswith("approx."):
                yield name, node.lineno, id(node) in top


def _graph():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges, lazy = {}, []
    for module, path in modules.items():
        edges[module] = set()
        for name, line, top in _imports(ast.parse(path.read_text()), module):
            while name not in modules and "." in name:  # `from approx.x import f`: the module approx.x
                name = name.rsplit(".", 1)[0]
            if name == module:
                continue
            edges[module].add(name)
            if not top:
                lazy.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name} inside a function")
    return edges, lazy


def test_layers_import_downwards_only():
    edges, _ = _graph()
    upward = [
        f"{a} ({_layer(a)}) imports {b} ({_layer(b)})"
        for a, targets in edges.items()
        for b in targets
        if RANK[_layer(b)] > RANK[_layer(a)]
    ]
    assert not upward, "\n".join(sorted(upward))


def test_no_import_cycles():
    edges, _ = _graph()
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
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
                cycles.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    # A package's __init__ importing its own submodules is not a cycle of meaning.
    cycles = [c for c in cycles if not _package_and_its_children(c)]
    assert not cycles, cycles


def _package_and_its_children(component) -> bool:
    roots = [m for m in component if all(o == m or o.startswith(m + ".") for o in component)]
    return bool(roots)


def test_no_lazy_imports_of_approx_modules():
    _, lazy = _graph()
    assert not lazy, "\n".join(lazy)


def test_modules_and_functions_stay_small():
    """One owner each: no module over 500 lines, no function over 60."""
    modules, functions = {}, {}
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text()
        name = str(path.relative_to(PACKAGE.parent))
        modules[name] = len(source.splitlines())
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions[f"{name}:{node.lineno} {node.name}"] = node.end_lineno - node.lineno + 1
    assert max(modules.values()) <= 500, sorted(modules.items(), key=lambda kv: -kv[1])[:3]
    assert max(functions.values()) <= 60, sorted(functions.items(), key=lambda kv: -kv[1])[:3]
